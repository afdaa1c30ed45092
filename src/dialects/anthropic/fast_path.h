// Anthropic in, Anthropic provider out: the fast path. The request body goes upstream with
// only the model name spliced (unknown fields, cache_control, thinking signatures: every other
// byte untouched), and the answer comes back as received while a tap reads its usage.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/usage.h"
#include "dialects/anthropic/wire.h"
#include "http/sse.h"

namespace tollgate::dialects::anthropic {

struct RequestFacts {
  std::string model;
  bool stream = false;
};

enum class Endpoint { messages, count_tokens };

// Parses `body` and checks what the gateway relies on, as Anthropic would: a JSON object with
// a non-empty string model, a non-empty messages array of user/assistant/system entries whose content
// is a string or an array, max_tokens (messages only; a positive integer) and a boolean
// stream. Unknown fields are the provider's business and pass. `doc` keeps the parsed body
// (the inbound translation and the token estimate read it).
std::optional<core::GatewayError> read_request(std::string_view body, Endpoint endpoint,
                                               boost::json::value& doc, RequestFacts& facts);

// `body` with "model" set to `upstream_model`; every other byte unchanged.
std::string splice_request(std::string_view body, const boost::json::value& doc,
                           std::string_view upstream_model);

// Usage of a whole (non-streamed) message body; leaves `out` unknown if absent.
void read_usage_from_body(std::string_view body, core::Usage& out);

// Watches an Anthropic stream event by event; events are forwarded untouched. Usage comes
// from message_start (input side) and message_delta (output side, cumulative).
class StreamTap {
 public:
  void on_event(const http::SseEvent& ev);
  const core::Usage& usage() const { return usage_; }
  bool saw_message_stop() const { return saw_stop_; }
  bool saw_error() const { return saw_error_; }

 private:
  WireUsage wire_;
  core::Usage usage_;
  bool saw_stop_ = false;
  bool saw_error_ = false;
};

// An upstream error answer as an Anthropic error body: Anthropic-shaped bodies pass through
// untouched; OpenAI-shaped ones, HTML pages and anything else are wrapped, with the type
// Anthropic documents for `status`, so the caller always gets {"type":"error","error":{...}}.
std::string upstream_error_body(int status, std::string_view body, std::string_view media_type);

}  // namespace tollgate::dialects::anthropic
