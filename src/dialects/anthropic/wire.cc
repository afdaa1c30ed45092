#include "core/numbers.h"
#include "dialects/anthropic/wire.h"

#include <algorithm>

namespace tollgate::dialects::anthropic {
namespace json = boost::json;

int64_t json_int(const json::value* v, int64_t fallback) {
  if (!v) return fallback;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return core::double_to_int64(v->get_double());
  return fallback;
}

std::string_view json_str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return {};
  return v->get_string();
}

void WireUsage::merge(const json::value& usage) {
  auto* u = usage.if_object();
  if (!u) return;
  known = true;
  auto take = [&](std::string_view key, int64_t& field) {
    auto* v = u->if_contains(key);
    if (v && !v->is_null()) field = json_int(v, field);
  };
  take("input_tokens", input_tokens);
  take("output_tokens", output_tokens);
  take("cache_read_input_tokens", cache_read_input_tokens);
  take("cache_creation_input_tokens", cache_creation_input_tokens);
}

core::Usage WireUsage::canonical() const {
  core::Usage u;
  u.known = known;
  u.input_tokens = input_tokens + cache_read_input_tokens + cache_creation_input_tokens;
  u.output_tokens = output_tokens;
  u.cached_input_tokens = cache_read_input_tokens;
  u.cache_creation_tokens = cache_creation_input_tokens;
  return u;
}

WireUsage WireUsage::from_canonical(const core::Usage& u) {
  WireUsage w;
  w.known = u.known;
  w.cache_read_input_tokens = u.cached_input_tokens;
  w.cache_creation_input_tokens = u.cache_creation_tokens;
  w.input_tokens = std::max<int64_t>(0, u.input_tokens - u.cached_input_tokens - u.cache_creation_tokens);
  w.output_tokens = u.output_tokens;
  return w;
}

json::object WireUsage::to_json() const {
  json::object o;
  o["input_tokens"] = input_tokens;
  o["cache_creation_input_tokens"] = cache_creation_input_tokens;
  o["cache_read_input_tokens"] = cache_read_input_tokens;
  o["output_tokens"] = output_tokens;
  return o;
}

json::object openai_usage(const core::Usage& u) {
  json::object o;
  o["prompt_tokens"] = u.input_tokens;
  o["completion_tokens"] = u.output_tokens;
  o["total_tokens"] = u.input_tokens + u.output_tokens;
  json::object details;
  details["cached_tokens"] = u.cached_input_tokens;
  o["prompt_tokens_details"] = std::move(details);
  o["cache_read_input_tokens"] = u.cached_input_tokens;
  o["cache_creation_input_tokens"] = u.cache_creation_tokens;
  return o;
}

void read_openai_usage(const json::value& usage, core::Usage& out) {
  auto* u = usage.if_object();
  if (!u) return;
  out.known = true;
  out.input_tokens = json_int(u->if_contains("prompt_tokens"));
  out.output_tokens = json_int(u->if_contains("completion_tokens"));
  out.cached_input_tokens = 0;
  if (auto* d = u->if_contains("prompt_tokens_details"); d && d->is_object())
    out.cached_input_tokens = json_int(d->get_object().if_contains("cached_tokens"));
  if (!out.cached_input_tokens) out.cached_input_tokens = json_int(u->if_contains("cache_read_input_tokens"));
  out.cache_creation_tokens = json_int(u->if_contains("cache_creation_input_tokens"));
  if (auto* d = u->if_contains("completion_tokens_details"); d && d->is_object())
    out.reasoning_tokens = json_int(d->get_object().if_contains("reasoning_tokens"));
}

std::string_view finish_reason_for(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn, and anything newer
}

std::string_view stop_reason_for(std::string_view finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

std::string_view error_type_for_status(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503:
    case 529: return "overloaded_error";
    case 504: return "timeout_error";
    default: return status >= 500 || status < 400 ? "api_error" : "invalid_request_error";
  }
}

int status_for_error_type(std::string_view type) {
  if (type == "invalid_request_error") return 400;
  if (type == "authentication_error") return 401;
  if (type == "billing_error") return 402;
  if (type == "permission_error") return 403;
  if (type == "not_found_error") return 404;
  if (type == "request_too_large") return 413;
  if (type == "rate_limit_error") return 429;
  if (type == "timeout_error") return 504;
  if (type == "overloaded_error") return 529;
  return 500;  // api_error and anything newer
}

}  // namespace tollgate::dialects::anthropic
