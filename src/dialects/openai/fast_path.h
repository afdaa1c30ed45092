// OpenAI in, OpenAI-shaped provider out: the fast path. The request body is forwarded with only
// the model name spliced (and stream_options.include_usage added when the caller did not ask
// for usage), and the answer is forwarded as received while a tap reads its token usage.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/usage.h"
#include "http/sse.h"

namespace tollgate::dialects::openai {

// What the gateway needs to know of an OpenAI request body, read once by the decode phase.
struct RequestFacts {
  std::string model;
  bool stream = false;
  bool caller_wants_usage = false;  // stream_options.include_usage was true
};

enum class Endpoint { chat_completions, completions, embeddings, responses };

// Parses `body` and checks the fields the gateway relies on. On success `doc` holds the
// parsed document (the demo provider and later translators read it).
std::optional<core::GatewayError> read_request(std::string_view body, Endpoint endpoint,
                                               boost::json::value& doc, RequestFacts& facts);

// The body to send upstream: `body` with "model" set to `upstream_model` and, when
// `ask_for_usage`, stream_options.include_usage set to true. Every other byte is unchanged.
std::string splice_request(std::string_view body, const boost::json::value& doc,
                           std::string_view upstream_model, bool ask_for_usage);

// Reads an OpenAI `usage` object.
void read_usage(const boost::json::value& usage, core::Usage& out);
// Reads `usage` from a whole (non-streamed) answer body; leaves `out` unknown if absent.
void read_usage_from_body(std::string_view body, core::Usage& out);

// Watches a chat/completions stream event by event. When the gateway asked for usage on the
// caller's behalf, it strips `"usage":null` from chunks and drops the usage-only chunk, so
// the caller sees exactly what it would have seen without the extra request.
class StreamTap {
 public:
  explicit StreamTap(bool strip_usage) : strip_usage_(strip_usage) {}

  enum class Action { forward, replace, drop };
  // Decides what to do with `ev`; for Action::replace the new event text is appended to `out`.
  Action on_event(const http::SseEvent& ev, std::string& out);

  const core::Usage& usage() const { return usage_; }
  bool saw_done() const { return saw_done_; }

 private:
  bool strip_usage_;
  bool saw_done_ = false;
  core::Usage usage_;
};

// An upstream error answer as an OpenAI error body: OpenAI-shaped bodies pass through; HTML
// pages, FastAPI `{"detail":...}` and other shapes are wrapped so the caller always gets
// {"error":{...}}.
std::string upstream_error_body(int status, std::string_view body, std::string_view media_type);

// The same upstream error as a GatewayError (status kept), for callers of another dialect.
core::GatewayError upstream_error(int status, std::string_view body, std::string_view media_type);

}  // namespace tollgate::dialects::openai
