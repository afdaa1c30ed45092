// The Anthropic Messages API as an inbound dialect (POST /v1/messages, /v1/messages/count_tokens):
// Anthropic-speaking clients (the Anthropic SDK, Claude Code, agents) reach ANY provider
// through the canonical form. To an `anthropic` provider the gateway takes the fast path
// instead (fast_path.h); this file is for every other target.
//
// What the translation decides:
// - The canonical request it builds is a valid OpenAI chat request. What has an equivalent is
//   mapped; what only steers and has none is dropped and named through `drops` (the request's
//   x-tollgate-dropped list), or refused with a 400 naming it when the model asks for strict
//   parameters (drops.drop() says no): `cache_control` (wherever it sits), `context_management`,
//   `service_tier`, `mcp_servers`, `container`, tools with `defer_loading` (the tool is kept),
//   server tools (web search, bash, ...: the tool is removed), content blocks with no OpenAI
//   form, and top-level fields this file does not know. Thinking/redacted_thinking blocks in
//   assistant history are left out silently (their signatures mean nothing elsewhere).
// - `top_k` stays in the canonical form as an extension (Gemini and Bedrock codecs take it; the
//   OpenAI wire drops it).
// - max_tokens -> max_completion_tokens (the name every current OpenAI model accepts).
// - thinking {enabled, budget_tokens} -> reasoning_effort: < 4096 low, < 16384 medium,
//   else high; {adaptive} -> medium; disabled -> none sent. output_config.effort (low, medium,
//   high, max -> high) wins over thinking; output_config.format (json_schema) ->
//   response_format json_schema, strict.
// - `role: "system"` entries of `messages` become system messages in place (Claude Code puts
//   them between turns and last).
// - metadata.user_id -> user. Documents by URL become a text part naming the URL.
// - tool_result blocks -> `tool` messages placed before the rest of the user turn; a
//   tool_result with is_error is prefixed "Error: "; images inside a tool_result (OpenAI
//   tool messages carry text only) follow in a user message.
// - stream -> stream + stream_options.include_usage, so usage always arrives.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/usage.h"
#include "dialects/codec.h"

namespace tollgate::dialects::anthropic {

// Anthropic request -> canonical chat request. `model` and `stream` are the caller's. Only
// `drops.drop()` of the options is used (default: drop without naming).
std::optional<core::GatewayError> messages_to_chat(const boost::json::value& req,
                                                   boost::json::object& chat, std::string& model,
                                                   bool& stream,
                                                   const EncodeOptions& drops = EncodeOptions{{}, false, true});

// A canonical chat.completion -> an Anthropic message answer, `model` being the name to show
// the caller. Tool-call arguments that are not a JSON object become input {}.
boost::json::object chat_to_message(const boost::json::object& completion, std::string_view model);

// Turns canonical chat.completion.chunk objects into Anthropic's stream, event by event:
//   message_start, (content_block_start, content_block_delta*, content_block_stop)*,
//   message_delta (stop_reason, usage), message_stop.
// Text, thinking (from reasoning_content) and each tool call (a new tool index closes the
// previous block) get their own content block. message_delta waits for finish(), because
// OpenAI-shaped streams report usage only in their last chunk (choices: []).
class MessagesStreamEncoder {
 public:
  // `input_estimate`: message_start's input_tokens when the upstream has not reported usage
  // by its first chunk (OpenAI-shaped streams report it last); message_delta carries the count.
  explicit MessagesStreamEncoder(std::string model, int64_t input_estimate = 0)
      : model_(std::move(model)), input_estimate_(input_estimate) {}

  void on_chunk(const boost::json::object& chunk, std::string& out);
  // The upstream stream ended well: emits what is still missing (message_start when nothing
  // came, the open block's stop, message_delta, message_stop). `usage` is the relay's tap;
  // when it is unknown the usage seen in chunks is used.
  void finish(const core::Usage& usage, std::string& out);
  bool finished() const { return finished_; }

 private:
  enum class Block { none, text, thinking, tool };
  void start(const boost::json::object* chunk, std::string& out);
  void open(Block kind, boost::json::object content_block, std::string& out);
  void close(std::string& out);
  void delta(boost::json::object d, std::string& out);

  std::string model_;
  int64_t input_estimate_ = 0;
  std::string id_;
  bool started_ = false;
  bool finished_ = false;
  Block block_ = Block::none;
  int64_t block_index_ = -1;  // index of the open (or last) content block
  int64_t tool_index_ = -1;   // OpenAI tool_calls index of the open tool block
  std::string stop_reason_;
  core::Usage chunk_usage_;
};

// An `error` event for a stream that fails after it started (Anthropic's envelope).
std::string stream_error_event(const core::GatewayError& e);

// Estimated input tokens of a /v1/messages (or count_tokens) request, for targets that cannot
// count: ceil(bytes of all text, tool inputs and tool definitions / 4), plus 4 per message
// and 1,600 per image or document (Anthropic's size for a ~1.15-megapixel image). An
// estimate, not a tokenizer: use it for admission and for count_tokens on non-Anthropic
// targets, never for billing.
int64_t count_tokens_estimate(const boost::json::value& req);

}  // namespace tollgate::dialects::anthropic
