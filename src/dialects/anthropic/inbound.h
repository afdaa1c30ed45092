// The Anthropic Messages API as an inbound dialect (POST /v1/messages, /v1/messages/count_tokens):
// Anthropic-speaking clients (the Anthropic SDK, Claude Code, agents) reach ANY provider
// through the canonical form. To an `anthropic` provider the gateway takes the fast path
// instead (fast_path.h); this file is for every other target.
//
// What the translation decides:
// - The canonical request it builds is a valid OpenAI chat request: Anthropic-only fields
//   with no OpenAI meaning are dropped, and said so here: `top_k` (no OpenAI equivalent),
//   `cache_control` (OpenAI caches prompts automatically), thinking/redacted_thinking blocks
//   in assistant history (their signatures mean nothing elsewhere), `service_tier`,
//   `context_management`. Fields a non-Anthropic target cannot honour are a 400 naming
//   them: `mcp_servers`, `container`, server tools (web search, bash, ...), and unknown
//   top-level fields (as Anthropic itself answers: "X: Extra inputs are not permitted").
// - max_tokens -> max_completion_tokens (the name every current OpenAI model accepts).
// - thinking {enabled, budget_tokens} -> reasoning_effort: < 4096 low, < 16384 medium,
//   else high; {adaptive} -> medium; disabled -> none sent.
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

namespace tollgate::dialects::anthropic {

// Anthropic request -> canonical chat request. `model` and `stream` are the caller's.
std::optional<core::GatewayError> messages_to_chat(const boost::json::value& req,
                                                   boost::json::object& chat, std::string& model,
                                                   bool& stream);

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
  explicit MessagesStreamEncoder(std::string model) : model_(std::move(model)) {}

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
