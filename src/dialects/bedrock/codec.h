// AWS Bedrock Runtime, Converse and ConverseStream: the canonical OpenAI-chat-shaped form <->
// Bedrock's own messages, signed with SigV4 (sigv4.h). Streams arrive as the binary AWS event
// stream; event_stream.h turns them into SSE events for stream_decoder().
//
// Provider configuration:
// - base_url: https://bedrock-runtime.<region>.amazonaws.com (a proxy or mock URL works too).
// - api_key: "ACCESS_KEY_ID:SECRET_ACCESS_KEY" or "ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN".
// - api_version: the region (e.g. "us-east-1"). Optional when the host names it
//   (bedrock-runtime[-fips].<region>.amazonaws.com[.cn]); required otherwise. Wins over the host.
//
// Choices a caller can observe (the rest is in NOTES.md beside this file):
// - Paths: /model/{model id, URL-encoded}/converse and /converse-stream.
// - System and developer messages, wherever they appear, become `system`. Consecutive turns of
//   one role are merged; tool messages become toolResult blocks in a user turn.
// - Images only as base64 data URLs (png, jpeg, gif, webp): Bedrock cannot fetch URLs, so an
//   http(s) image is a 400 naming the part. PDFs and other documents as `file` parts with
//   base64 file_data.
// - tool_choice "none" leaves the tools out (Converse has no "none"); with tool calls in the
//   history that is impossible (Bedrock then requires the tools), so it is a 400.
// - reasoning_effort and top_k go to Anthropic models as additionalModelRequestFields
//   (thinking.budget_tokens, top_k); other models answer 400 naming them.
// - cache_control on parts, messages and tools becomes a cachePoint block after them.
// - Usage: Bedrock's inputTokens excludes cache reads and writes; prompt_tokens adds them back.
// - Embeddings: not served through Converse; 400.
#pragma once

#include <string_view>

#include "dialects/codec.h"

namespace tollgate::dialects::bedrock {

// The one (stateless, thread-safe) Bedrock codec.
const ProviderCodec& bedrock_codec();

// A Bedrock error -> the caller's error and its class. `type` is the error's name in any of
// its spellings ("ValidationException", "validationException", the x-amzn-ErrorType value
// "ValidationException:http://...", "com.amazon...#ValidationException"), "" when unknown;
// `status` is 0 for an exception event inside a stream (the type decides then).
ClassifiedError classify_error(int status, std::string_view type, std::string_view message);

}  // namespace tollgate::dialects::bedrock
