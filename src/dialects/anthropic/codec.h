// OpenAI-canonical chat <-> Anthropic Messages API, for `anthropic` providers reached from a
// route that speaks another dialect (the Anthropic-in, Anthropic-out case is the fast path,
// dialects/anthropic/fast_path.h).
//
// What the translation decides (everything else maps one to one):
// - system and developer messages, wherever they appear, become the top-level `system`
//   (in order); consecutive same-role turns are merged and tool messages become tool_result
//   blocks in one user turn, tool_result blocks first, as Anthropic requires.
// - Empty text parts are dropped (Anthropic rejects them); a message left empty is dropped.
// - Tool ids outside Anthropic's ^[a-zA-Z0-9_-]+$ have the other bytes replaced by '_'
//   (the same way for tool_use and tool_result, so pairs still match).
// - max_tokens defaults to 4096 (Anthropic requires it); with thinking on, to budget + 4096.
// - reasoning_effort -> thinking.budget_tokens: minimal/low 1024, medium 4096, high 16384,
//   xhigh 32768; "none" leaves thinking off. An explicit Anthropic `thinking` object wins.
//   A caller's max tokens at or below the budget shrinks the budget to max - 1 (at least the
//   API's minimum 1024, else 400 naming reasoning_effort).
// - Parameters without an Anthropic meaning are a 400 naming them unless drop_unsupported:
//   n > 1, logprobs, top_logprobs, presence/frequency_penalty != 0, logit_bias, seed,
//   response_format other than text, audio, prediction, web_search_options, verbosity,
//   functions/function_call, non-text modalities, unknown parameters. temperature > 1 is a
//   400 too (clamped to 1 when dropping is allowed). Harmless ones are ignored: store,
//   metadata, service_tier, prompt_cache_key, prompt_cache_retention, stream_options
//   (Anthropic always reports usage), tools[].function.strict.
// - Extensions understood in the canonical request: `cache_control` on content parts, on
//   messages (applied to the message's last block) and on tools; `top_k`; `thinking`;
//   `thinking_blocks` on assistant messages (signed thinking replayed for tool use).
// - Errors: 529 overloaded -> 503 (kind unavailable, "overloaded_error" in the Anthropic
//   envelope; OpenAI SDKs retry 503 but not 529), retryable. 5xx -> 502 retryable,
//   "prompt is too long" -> 400 context_length_exceeded.
#pragma once

#include "dialects/codec.h"

namespace tollgate::dialects::anthropic {

const ProviderCodec& anthropic_codec();

// The same classification decode_error uses, for an Anthropic error object
// ({"type":"error","error":{...}} or its inner {"type","message"}) and the status it came
// with (a mid-stream `error` event has none: pass 0 and the type decides).
ClassifiedError classify_error(int status, const boost::json::value& body);

}  // namespace tollgate::dialects::anthropic
