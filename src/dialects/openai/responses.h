// The OpenAI Responses API (POST /v1/responses) through the canonical form, for every provider
// that is not reached on the fast path (dialects/openai/fast_path.h):
//   responses_inbound.cc   a Responses request (+ the items of the turns it continues) ->
//                          a canonical chat request
//   responses_outbound.cc  a canonical chat.completion -> a Responses `response` object, and
//                          canonical chunks -> the Responses stream events, in the order the
//                          official SDKs parse them
//
// What the translation decides:
// - `instructions` becomes the first system message; `developer` messages stay developer
//   (every codec folds them into its system prompt).
// - `function_call` items become an assistant message's tool_calls (consecutive calls, and an
//   assistant message just before them, are one assistant turn); `function_call_output` a tool
//   message. Item ids and statuses are the client's and are not sent upstream.
// - Codex's `namespace` tool is flattened: its function tools are offered as `<ns>__<name>`, and
//   a call to one comes back as a function_call named `<name>` with `namespace: <ns>`.
// - Tools with no function equivalent (web_search, file_search, custom, ...) and parameters that
//   only steer (prompt_cache_key, truncation, text.verbosity, ...) are dropped and named in
//   Turn::dropped; the gateway drops and names them as for every translation (x-tollgate-dropped
//   and the access log), or refuses them for a strict model (gateway/params.h).
// - Reasoning: a provider's signed thinking (Anthropic, Bedrock) comes back as a `reasoning`
//   item whose summary is the thinking text and whose encrypted_content is the signed blocks
//   sealed with the gateway's key (store/secret_box.h). Replayed, it is opened and the blocks
//   ride on the next assistant turn (canonical `thinking_blocks`), which is what Anthropic
//   needs to continue a tool loop with thinking on. Reasoning sealed by someone else (OpenAI's
//   own) is dropped and named (kUnverifiedReasoning): no other provider could read it. Gemini's
//   signed function calls (extra_content.google.thought_signature) ride the same way: a
//   reasoning item just before the call seals {call_id: signature}, and the replayed call gets
//   its signature back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "core/error.h"
#include "core/usage.h"

namespace tollgate::store {
class SecretBox;
}

namespace tollgate::dialects::openai::responses {

// Ids the gateway mints for the responses it serves (so a later previous_response_id is known
// to be the gateway's, not an OpenAI one to pass through).
constexpr std::string_view kIdPrefix = "resp_tg";
bool is_gateway_id(std::string_view id);
std::string new_id(std::string_view prefix);  // prefix + 32 random hex digits
// The ids of a gateway response's output items say whose they are ("rs_tg<hex>_2" is item 2 of
// "resp_tg<hex>"), so an `item_reference` (what the AI SDK sends for stored items) finds its
// response without an index of items. Another response id: a random one.
std::string item_id(std::string_view prefix, std::string_view response_id, std::size_t index);
// The gateway response an item id belongs to; empty for any other id.
std::string response_of_item(std::string_view item_id);

// The name under which reasoning the gateway did not seal (OpenAI's own, a forged or foreign
// seal) is dropped: no provider here could verify it. Named even for a strict model (it is the
// provider's state the client replays, not a parameter it chose).
inline constexpr std::string_view kUnverifiedReasoning = "input[].reasoning.encrypted_content";

// One Responses request, translated.
struct Turn {
  boost::json::object chat;         // the canonical chat request (model left as the caller's)
  boost::json::array input_items;   // this request's input as items
  std::vector<std::string> dropped; // what has no equivalent here, by its Responses name
  // namespace__name -> (namespace, name), to name calls as the caller declared them.
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> flattened;
  bool include_encrypted = false;   // include: ["reasoning.encrypted_content"]
  bool store = true;
  bool stream = false;
  std::string previous_response_id;
  // Request fields the response object repeats (instructions, tools, tool_choice, metadata...).
  boost::json::object echo;
};

// This request's `input` as items (a string is one user message); empty when absent or not a
// string or an array. What a stored response keeps as its input.
boost::json::array input_items(const boost::json::object& request);

// `request` -> `out`. `history`: the input and output items of the responses this one
// continues (previous_response_id), oldest first. A malformed item is a 400 naming it.
std::optional<core::GatewayError> to_chat(const boost::json::object& request,
                                          const boost::json::array& history,
                                          const store::SecretBox* seal, Turn& out);

// The response object for a whole canonical answer.
boost::json::object to_response(const boost::json::object& completion, const Turn& turn,
                                std::string_view id, int64_t created_at, std::string_view model,
                                const core::Usage& usage, const store::SecretBox* seal);

// POST /v1/responses/input_tokens where the provider cannot count: a documented estimate of the
// request's input (instructions, input items, tools): about 4 bytes of text a token, 4 a
// message, 1,600 an image or file; sealed reasoning counts nothing.
int64_t input_tokens_estimate(const boost::json::object& request);

// Responses usage from the gateway's usage.
boost::json::object responses_usage(const core::Usage& u);

// Canonical chat.completion.chunk documents in, Responses SSE events out (each with its
// sequence_number): response.created and response.in_progress first, then per output item
// output_item.added, its parts and deltas, output_item.done, and response.completed (or
// response.incomplete when the answer was cut by max_output_tokens) with usage last.
class StreamEncoder {
 public:
  StreamEncoder(const Turn& turn, std::string id, int64_t created_at, std::string model,
                const store::SecretBox* seal);
  // One canonical chunk (a parsed chat.completion.chunk).
  void on_chunk(const boost::json::object& chunk, std::string& out);
  // The answer ended: close what is open, then response.completed with `usage`.
  void finish(const core::Usage& usage, std::string& out);
  // A failure after the first event: `error` then response.failed.
  void fail(const core::GatewayError& e, std::string& out);
  // The response as response.completed carried it; empty before finish.
  const boost::json::object& response() const { return final_; }
  bool started() const { return started_; }

 private:
  enum class Open { none, reasoning, message, call };
  void start(std::string& out);
  void event(std::string_view type, boost::json::object data, std::string& out);
  void open_reasoning(std::string& out);
  void open_message(std::string& out);
  void close_item(std::string& out);
  boost::json::object base_response(std::string_view status) const;

  const Turn& turn_;
  std::string id_, model_;
  int64_t created_at_;
  const store::SecretBox* seal_;
  int64_t seq_ = 0;
  bool started_ = false;
  std::string finish_reason_;
  Open open_ = Open::none;
  boost::json::array output_;  // items done so far
  // The open item.
  std::string item_id_;
  std::string text_;                     // message text, or reasoning text of the open item
  std::string pending_thinking_;         // reasoning text not yet closed by a signature
  boost::json::array thinking_blocks_;   // signed blocks of the open reasoning item
  boost::json::object call_signatures_;  // call_id -> Gemini thought signature, same item
  std::string call_id_, call_name_, call_args_;
  int64_t call_index_ = -1;              // the canonical tool_calls index of the open call
  boost::json::object final_;
};

}  // namespace tollgate::dialects::openai::responses
