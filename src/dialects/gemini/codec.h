// Google Gemini (generativelanguage v1beta): the canonical OpenAI-chat-shaped form <-> Gemini's
// generateContent / streamGenerateContent?alt=sse / embedContent / batchEmbedContents.
//
// Choices a caller can observe (the rest is in NOTES.md beside this file):
// - System and developer messages, wherever they appear, become `systemInstruction`.
// - Tool results are answered in one user turn per assistant turn; every tool call of an
//   assistant message must have its tool message (as OpenAI itself requires), because Gemini
//   rejects a turn whose function-response count differs from the call count.
// - A prompt Gemini blocks (promptFeedback.blockReason, no candidates) is an answer, not an
//   error: finish_reason "content_filter", content null, the prompt tokens in usage. Stream and
//   non-stream behave the same.
// - reasoning_effort -> generationConfig.thinkingConfig: thinkingLevel on gemini-3 models,
//   thinkingBudget elsewhere (none 0, minimal 512, low 1024, medium 8192, high/xhigh 24576),
//   with includeThoughts so the thoughts come back as `reasoning_content`.
// - Embeddings: Gemini reports no token usage, and decode_embeddings cannot see the request;
//   complete_embeddings() applies encoding_format (base64) and estimates usage.
#pragma once

#include <boost/json/object.hpp>

#include "core/usage.h"
#include "dialects/codec.h"

namespace tollgate::dialects::gemini {

// The headers of every request to `provider`: its own `headers` first (an operator may override
// ours), content type, and its key as `x-goog-api-key`.
void provider_headers(const core::CompiledProvider& provider, http::Headers& headers);

// errors.cc: a Google error object ({code, message, status, details}) -> the caller's error.
// `http_status` is the HTTP status of the answer (0 when the error came inside a stream: the
// object's own `code` is used then).
ClassifiedError classify_google_error(int http_status, const boost::json::object* error);

// The one (stateless, thread-safe) Gemini codec.
const ProviderCodec& gemini_codec();

// After gemini_codec().decode_embeddings(): `request` is the caller's canonical embeddings
// request. Turns each data[i].embedding into base64 (float32 little-endian) when the request
// asked for encoding_format "base64" (the openai SDKs ask for it by default), and, when
// `usage` is not known (Gemini does not report it), fills response.usage and `usage` with an
// estimate: ceil(UTF-8 bytes / 4) per input string, at least 1.
void complete_embeddings(const boost::json::object& request, boost::json::object& response,
                         core::Usage& usage);

}  // namespace tollgate::dialects::gemini
