// Pieces of dispatch (phase 7) shared by its files: dispatch.cc (the attempt loop, OpenAI
// callers, the translated path) and dispatch_anthropic.cc (Anthropic callers).
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "dialects/openai/fast_path.h"
#include "gateway/attempt.h"
#include "gateway/context.h"
#include "gateway/relay.h"
#include "http/client.h"

namespace tollgate::gateway {

// The body of an upstream answer, read as it arrives.
class UpstreamSource final : public AnswerSource {
 public:
  explicit UpstreamSource(http::UpstreamCall& call) : call_(call) {}
  // The call's own awaitable, not a coroutine around it: no frame of its own while a stream waits.
  boost::asio::awaitable<http::UpstreamFailure> read_some(std::string_view& piece, bool& done) override {
    return call_.read_some(piece, done);
  }
  void cancel() override { call_.cancel(); }

 private:
  http::UpstreamCall& call_;
};

// Cancels the upstream call the moment the client goes away; detaches before the call is
// destroyed (the callback points at it).
struct CancelOnClientGone {
  CancelOnClientGone(http::Exchange& ex, http::UpstreamCall& call) : ex(ex) {
    ex.on_client_gone([&call] { call.cancel(); });
  }
  ~CancelOnClientGone() { ex.on_client_gone(nullptr); }
  http::Exchange& ex;
};

// Sends `req` to the current target's provider and reads the response head. nullopt when
// that worked; else the failed attempt (or client_left).
boost::asio::awaitable<std::optional<AttemptResult>> send_upstream(RequestContext& ctx,
                                                                   http::UpstreamCall& call,
                                                                   http::OutgoingRequest& req);

// Reads a whole answer body; nullopt when that worked.
boost::asio::awaitable<std::optional<AttemptResult>> read_whole(RequestContext& ctx,
                                                                http::UpstreamCall& call,
                                                                std::string& body);

// Upstream headers worth showing the caller (retry-after, the provider's request id).
http::Headers passthrough_headers(const http::UpstreamCall& call);

// The OpenAI wire's headers for provider `p`: content type, its credential (Azure's api-key or
// a bearer token), user agent and its extra headers. Also used by moderation calls.
void openai_headers(const core::CompiledProvider& p, http::OutgoingRequest& req);
// `t` with every wait capped at `left` (an overall deadline's remainder).
core::Timeouts within(core::Timeouts t, std::chrono::milliseconds left);

// A failed attempt from an upstream's error answer (status >= 400): classified for retry,
// with Retry-After read. `body` is what the caller gets if this is the last attempt.
AttemptResult upstream_error_attempt(const http::UpstreamCall& call, int status,
                                     core::GatewayError error, std::string body);

// A Responses API caller on the translated path (dispatch_responses.cc): how its answer is
// shaped (Responses events and object) and kept (stored responses).
class ResponsesAnswer;

// One attempt on ctx.target through the canonical form (an OpenAI chat request): encode for
// the provider, decode its answer, encode that for the caller (`responses` set: as the
// Responses API).
boost::asio::awaitable<AttemptResult> translated_attempt(RequestContext& ctx,
                                                         dialects::openai::Endpoint endpoint,
                                                         const boost::json::object& canonical,
                                                         Dialect caller,
                                                         ResponsesAnswer* responses = nullptr);

// The Responses API on a target that is not reached on the fast path (a non-OpenAI provider,
// or a request continuing a response the gateway stored): through the canonical form.
boost::asio::awaitable<AttemptResult> responses_attempt(RequestContext& ctx);
// True when a Responses request must be translated even for an OpenAI-speaking target.
bool responses_needs_translation(const RequestContext& ctx);
// The store holds the response this request continues (for this key).
bool responses_chain_stored(RequestContext& ctx);
// The translated Responses stream for `answer`, and the fast path's (the upstream's events as
// they come): both through the output guardrails, and kept in the store when the caller asked.
std::unique_ptr<StreamRelay> responses_relay(ResponsesAnswer& answer,
                                             std::unique_ptr<dialects::ChatStreamDecoder> decoder);
std::unique_ptr<StreamRelay> responses_fast_relay(RequestContext& ctx);
// Storing is on and the caller did not say store: false.
bool keeps_responses(const RequestContext& ctx);
// The fast path's whole answer (a response object), kept under its own id.
void keep_response_body(RequestContext& ctx, std::string_view body);
boost::asio::awaitable<void> respond_response(RequestContext& ctx, ResponsesAnswer& answer,
                                              const boost::json::object& completion);
// The canonical chat request of a Responses request that continues nothing (the cache's key);
// false when it cannot be read, or continues a stored response.
bool responses_canonical(const RequestContext& ctx, boost::json::object& chat);

// The model asks for prompt-cache breakpoints (prompt_caching: auto) and ctx.target honours
// them: an Anthropic provider, or a Claude model on Bedrock (dispatch_anthropic.cc).
bool places_cache_breakpoints(const RequestContext& ctx);
// A cache hit answered to a Responses caller, whole or streamed, and kept as any answer is.
boost::asio::awaitable<void> respond_response_from(RequestContext& ctx, const boost::json::object& completion);


// One attempt for an Anthropic caller (dispatch_anthropic.cc). `canonical` is the request
// translated once for non-Anthropic targets (null when it failed to translate: `translate_error`).
boost::asio::awaitable<AttemptResult> anthropic_attempt(RequestContext& ctx,
                                                        const boost::json::object* canonical);
// Translates an Anthropic caller's request into the canonical form (once per request).
std::optional<core::GatewayError> anthropic_canonical(RequestContext& ctx, boost::json::object& out);

// The input tokens of canonical request `chat` as the current target's provider counts them
// (Anthropic's count_tokens, Gemini's countTokens; dispatch_anthropic.cc); nullopt for other
// kinds or when the count failed (callers then answer their documented estimate).
boost::asio::awaitable<std::optional<int64_t>> provider_count_tokens(RequestContext& ctx, boost::json::object chat);

// Reasoning effort reaches OpenAI-wire targets only where the model has reasoning (o1.., gpt-5..);
// others (gpt-4o, most compatible servers) reject the parameter (dispatch_anthropic.cc).
bool reasons(std::string_view model);

// Gemini callers (dispatch_gemini.cc): the decode phase for /v1beta/models/{m}:..., the
// canonical form of a generateContent request (once per request), one attempt, and an OpenAI
// embeddings list as the caller's EmbedContent(s)Response.
std::optional<core::GatewayError> decode_gemini(RequestContext& ctx);
std::optional<core::GatewayError> gemini_canonical(RequestContext& ctx, boost::json::object& out);
boost::asio::awaitable<AttemptResult> gemini_attempt(RequestContext& ctx, const boost::json::object* canonical,
                                                     const std::optional<core::GatewayError>& translate_error);
std::string gemini_embeddings_body(const RequestContext& ctx, const boost::json::object& list);
// A canonical chat.completion as the caller's GenerateContentResponse.
std::string gemini_generate_body(const RequestContext& ctx, const boost::json::object& completion);

// A whole canonical answer (chat.completion) in the caller's dialect.
boost::asio::awaitable<void> respond_completion(RequestContext& ctx,
                                                const boost::json::object& completion,
                                                Dialect caller);

}  // namespace tollgate::gateway
