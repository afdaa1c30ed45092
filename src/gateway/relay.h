// Phase 8, relay: the answer back to the caller, streamed event by event as it arrives or
// whole, with a usage tap reading token counts on the way. What happens to each provider
// event depends on the pair (provider dialect, caller dialect): a StreamRelay decides.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "core/error.h"
#include "core/usage.h"
#include "dialects/codec.h"
#include "gateway/attempt.h"
#include "gateway/context.h"
#include "http/client.h"
#include "http/sse.h"

namespace tollgate::gateway {

// Where the answer's bytes come from: an upstream connection, or the built-in demo provider.
class AnswerSource {
 public:
  virtual ~AnswerSource() = default;
  virtual boost::asio::awaitable<http::UpstreamFailure> read_some(std::string_view& piece,
                                                                  bool& done) = 0;
  virtual void cancel() = 0;
};

// A whole answer already in memory (the demo provider's, a cached one) read as one piece.
std::unique_ptr<AnswerSource> text_source(std::string text);

// Turns provider stream events into the bytes the caller receives.
class StreamRelay {
 public:
  virtual ~StreamRelay() = default;
  virtual void on_event(const http::SseEvent& ev, std::string& out) = 0;
  // The provider's stream ended normally.
  virtual void on_end(std::string& out) = 0;
  // Every byte of the answer reached the caller (its stream is not ended yet, so a caller that
  // reads to the end finds what is done here): work that must not delay the answer, such as
  // keeping a stored response. Not called when the caller left.
  virtual void on_sent() {}
  virtual core::Usage usage() const = 0;
  // An error event the provider sent mid-stream, once seen.
  virtual std::optional<core::GatewayError> provider_error() const { return std::nullopt; }
  // An error event in the caller's dialect (the head is sent, so the status cannot change).
  virtual std::string error_event(const core::GatewayError& e) const = 0;
  // What the caller receives: SSE, except a Gemini stream without alt=sse (one JSON array).
  virtual std::string_view content_type() const { return "text/event-stream; charset=utf-8"; }
};

// OpenAI provider, OpenAI caller: bytes forwarded as received. `strip_usage`: the gateway
// asked for usage on the caller's behalf, so the tap hides it again.
std::unique_ptr<StreamRelay> openai_passthrough(bool strip_usage);
// OpenAI Responses API, OpenAI provider: bytes forwarded; usage read from response.completed.
std::unique_ptr<StreamRelay> responses_passthrough();
// Anthropic provider, Anthropic caller: bytes forwarded as received; usage read on the way.
std::unique_ptr<StreamRelay> anthropic_passthrough();
// Everything else goes through canonical chunks: the provider's events are decoded by
// `decoder` (null when the provider already speaks OpenAI chunks), then encoded for `caller`.
// `prompt_estimate`: for Anthropic callers, message_start's input_tokens until the upstream counts.
std::unique_ptr<StreamRelay> translated_relay(std::unique_ptr<dialects::ChatStreamDecoder> decoder,
                                              Dialect caller, bool strip_usage,
                                              std::string caller_model, int64_t prompt_estimate = 0);

// For a Gemini caller without alt=sse, `relay` seen through a framing that makes its SSE one
// JSON array (dispatch_gemini.cc); null for every other caller. relay_stream applies it.
std::unique_ptr<StreamRelay> array_framing(StreamRelay& relay, const RequestContext& ctx);

// `relay` wrapped so the answer passes the request's output guardrails (guard.cc); `relay`
// itself when none apply.
std::unique_ptr<StreamRelay> guarded(std::unique_ptr<StreamRelay> relay, RequestContext& ctx);

// Streams an answer to the caller through `relay`. The head goes out with the first bytes of
// the answer, not before: a provider that fails before its first byte leaves the caller
// untouched, so the attempt can fail over (the result says failed). Once a byte is out the
// attempt is final, and a failure becomes an error event in the caller's dialect.
boost::asio::awaitable<AttemptResult> relay_stream(RequestContext& ctx, AnswerSource& source,
                                                   StreamRelay& relay, http::Headers extra);

// A failed attempt from a transport failure (connect, timeout, closed connection).
AttemptResult transport_failure(http::UpstreamFailure f, std::string_view provider);

// Sends a whole answer (usage already read into ctx.usage by the caller of this).
boost::asio::awaitable<void> relay_whole(RequestContext& ctx, int status,
                                         std::string_view content_type, std::string body,
                                         http::Headers extra);

}  // namespace tollgate::gateway
