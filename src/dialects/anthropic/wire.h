// Anthropic Messages API wire facts shared by the codec (canonical -> Anthropic), the inbound
// (Anthropic -> canonical) and the fast path: usage fields, stop reasons, error types.
//
// Two usage conventions meet here. Anthropic's `input_tokens` counts only the prompt tokens
// that were neither read from nor written to the prompt cache; OpenAI's `prompt_tokens` (and
// core::Usage::input_tokens) count all of them. So
//   prompt_tokens = input_tokens + cache_read_input_tokens + cache_creation_input_tokens
// and the reverse subtracts. Getting this wrong under-bills every cached request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/usage.h"

namespace tollgate::dialects::anthropic {

inline constexpr std::string_view kDefaultApiVersion = "2023-06-01";
inline constexpr std::string_view kMessagesPath = "/v1/messages";

// An Anthropic `usage` object as the wire reports it, merged across stream events:
// message_start carries the input side, message_delta the (cumulative) output side and, in
// newer API versions, the input side again. A field present in a later object wins.
struct WireUsage {
  bool known = false;
  int64_t input_tokens = 0;  // uncached prompt tokens only
  int64_t output_tokens = 0;
  int64_t cache_read_input_tokens = 0;
  int64_t cache_creation_input_tokens = 0;

  void merge(const boost::json::value& usage);
  core::Usage canonical() const;
  static WireUsage from_canonical(const core::Usage& u);
  // {"input_tokens","output_tokens","cache_creation_input_tokens","cache_read_input_tokens"}
  boost::json::object to_json() const;
};

// core::Usage as an OpenAI chat `usage` object. Besides the standard fields it carries
// `cache_read_input_tokens` and `cache_creation_input_tokens` (OpenAI has no field for cache
// writes), so cache counts survive every path; OpenAI SDKs ignore the extra members.
boost::json::object openai_usage(const core::Usage& u);
// The reverse, for chunks and completions in the canonical form.
void read_openai_usage(const boost::json::value& usage, core::Usage& out);

// Anthropic stop_reason -> OpenAI finish_reason (end_turn/stop_sequence/pause_turn -> stop,
// max_tokens/model_context_window_exceeded -> length, tool_use -> tool_calls,
// refusal -> content_filter).
std::string_view finish_reason_for(std::string_view stop_reason);
// OpenAI finish_reason -> Anthropic stop_reason (stop -> end_turn, length -> max_tokens,
// tool_calls/function_call -> tool_use, content_filter -> refusal; unknown -> end_turn).
std::string_view stop_reason_for(std::string_view finish_reason);

// Anthropic error `type` for an HTTP status (used when a body does not say).
std::string_view error_type_for_status(int status);
// The HTTP status Anthropic documents for an error `type` (overloaded_error -> 529).
int status_for_error_type(std::string_view type);

// int64 of a JSON number (int, uint or double); `fallback` otherwise.
int64_t json_int(const boost::json::value* v, int64_t fallback = 0);
// The string of a JSON string member, or "" when absent or not a string.
std::string_view json_str(const boost::json::object& o, std::string_view key);

}  // namespace tollgate::dialects::anthropic
