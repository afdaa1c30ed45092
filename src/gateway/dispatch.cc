// Phase 7, dispatch: pick a target (routing/route_plan.h), encode for its provider, send; on a
// connect error, timeout, 429 or 5xx before the first byte reached the caller, back off and
// try the next target of the plan (retries, failover across providers and fallback models,
// translating when the dialect changes). Same dialect in and out is the fast path: the
// caller's body goes upstream with only the model spliced.
#include "gateway/dispatch.h"

#include <atomic>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dialects/codec.h"
#include "dialects/anthropic/prompt_caching.h"
#include "dialects/bedrock/event_stream.h"
#include "dialects/gemini/codec.h"
#include "dialects/openai/responses.h"
#include "gateway/params.h"
#include "gateway/phases.h"
#include "gateway/relay.h"
#include "gateway/stored_responses.h"
#include "providers/demo/demo_provider.h"
#include "routing/route_plan.h"

namespace tollgate::gateway {
namespace net = boost::asio;
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;
using dialects::openai::Endpoint;

namespace {

// Answers larger than this are refused rather than buffered (streams are never buffered).
constexpr std::size_t kMaxWholeAnswer = 64 * 1024 * 1024;
constexpr std::string_view kDefaultAzureApiVersion = "2024-10-21";


// Bedrock's ConverseStream answers in AWS's binary event stream: turned into SSE text here, so
// the relay and the codec's stream decoder see events like every other provider's.
class EventStreamSource final : public AnswerSource {
 public:
  explicit EventStreamSource(AnswerSource& inner) : inner_(inner) {}
  net::awaitable<http::UpstreamFailure> read_some(std::string_view& piece, bool& done) override {
    std::string_view raw;
    auto f = co_await inner_.read_some(raw, done);
    if (f != http::UpstreamFailure::none) co_return f;
    sse_ = adapter_.feed(raw);
    if (done) sse_ += adapter_.finish();
    piece = sse_;  // empty while a frame is incomplete; the relay waits for more
    co_return f;
  }
  void cancel() override { inner_.cancel(); }

 private:
  AnswerSource& inner_;
  dialects::bedrock::EventStreamToSse adapter_;
  std::string sse_;
};

Endpoint endpoint_of(Route r) {
  switch (r) {
    case Route::completions: return Endpoint::completions;
    case Route::embeddings: return Endpoint::embeddings;
    case Route::responses: return Endpoint::responses;
    default: return Endpoint::chat_completions;
  }
}

std::string_view path_of(Endpoint e) {
  switch (e) {
    case Endpoint::completions: return "/completions";
    case Endpoint::embeddings: return "/embeddings";
    case Endpoint::responses: return "/responses";
    case Endpoint::chat_completions: break;
  }
  return "/chat/completions";
}

bool speaks_openai(core::ProviderKind k) {
  return k == core::ProviderKind::openai || k == core::ProviderKind::openai_compatible ||
         k == core::ProviderKind::azure;
}

// Path and auth of the OpenAI wire: the same body, but Azure names the deployment in the URL
// and wants `api-key` (an Entra ID token goes in `headers: {Authorization: "Bearer ..."}`).
void openai_wire(const core::CompiledProvider& p, Endpoint e, std::string_view upstream_model,
                 http::OutgoingRequest& req) {
  if (p.spec.kind == core::ProviderKind::azure) {
    req.target = fmt::format("{}/openai/deployments/{}{}?api-version={}", p.endpoint.path_prefix,
                             upstream_model, path_of(e),
                             p.spec.api_version.empty() ? kDefaultAzureApiVersion : std::string_view(p.spec.api_version));
  } else {
    req.target = p.endpoint.path_prefix + std::string(path_of(e));
  }
  openai_headers(p, req);
}

// Retry-After as seconds (RFC 9110), or OpenAI's retry-after-ms.
std::optional<std::chrono::milliseconds> retry_after_of(const http::UpstreamCall& call) {
  if (auto ms = call.header("retry-after-ms"); !ms.empty()) {
    try {
      return std::chrono::milliseconds(static_cast<int64_t>(std::stod(std::string(ms))));
    } catch (...) {
    }
  }
  if (auto s = call.header("retry-after"); !s.empty()) {
    try {
      return std::chrono::milliseconds(static_cast<int64_t>(std::stod(std::string(s)) * 1000));
    } catch (...) {
    }
  }
  return std::nullopt;
}


// The fast path's request, built and sent. It (its body a copy of the caller's) lives only
// until the answer's head is in: held in openai_attempt's frame it stayed for a stream's whole
// length (issue 18: memory per open stream).
net::awaitable<std::optional<AttemptResult>> send_openai(RequestContext& ctx, Endpoint endpoint, bool ask_for_usage,
                                                         http::UpstreamCall& call) {
  http::OutgoingRequest req;
  openai_wire(*ctx.target->provider, endpoint, ctx.target->upstream_model, req);
  req.body = dialects::openai::splice_request(ctx.request_body(), ctx.doc, ctx.target->upstream_model, ask_for_usage);
  co_return co_await send_upstream(ctx, call, req);
}

// The fast path's whole (non-stream) answer. A coroutine of its own so that its locals are
// not in the frame an open stream holds.
net::awaitable<AttemptResult> openai_whole(RequestContext& ctx, http::UpstreamCall& call, Endpoint endpoint,
                                           http::Headers extra) {
  const int status = call.status();
  std::string body;
  if (auto failed = co_await read_whole(ctx, call, body)) co_return std::move(*failed);
  // Another OpenAI account (failover, routing) does not know the chain another one holds: the
  // turn is translated from the stored chain instead.
  if (status == 400 && endpoint == Endpoint::responses && body.find("previous_response_not_found") != std::string::npos &&
      responses_chain_stored(ctx))
    co_return co_await responses_attempt(ctx);
  if (status >= 400 || status < 200) {
    auto error = dialects::openai::upstream_error(status, body, call.media_type());
    std::string shaped = dialects::openai::upstream_error_body(status, body, call.media_type());
    co_return upstream_error_attempt(call, status, std::move(error), std::move(shaped));
  }
  dialects::openai::read_usage_from_body(body, ctx.usage);
  if (guards_output(ctx)) {
    if (auto blocked = guard_answer_body(ctx, body)) {
      co_await respond_error(ctx, *blocked);
      co_return AttemptResult::answered();
    }
  }
  auto content_type = call.header("content-type");
  if (content_type.empty()) content_type = "application/json";
  // A stored response is read from a copy once the caller has the bytes.
  std::string kept;
  if (endpoint == Endpoint::responses && keeps_responses(ctx)) kept = body;
  co_await relay_whole(ctx, status, content_type, std::move(body), std::move(extra));
  if (!kept.empty()) keep_response_body(ctx, kept);
  co_return AttemptResult::answered();
}

// OpenAI caller, OpenAI-speaking provider: the fast path. Its frame lives as long as a stream
// does, so it holds only what the stream needs; one result slot serves every outcome (each
// `co_return co_await` keeps an AttemptResult of its own in the frame).
net::awaitable<AttemptResult> openai_attempt(RequestContext& ctx, Endpoint endpoint) {
  // Ask for usage on a stream the caller did not ask it of, so accounting is exact; the
  // relay hides it again.
  // (The Responses API always reports usage in response.completed.)
  const bool ask_for_usage = ctx.facts.stream && !ctx.facts.caller_wants_usage &&
                             endpoint != Endpoint::embeddings && endpoint != Endpoint::responses;
  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  std::optional<AttemptResult> result = co_await send_openai(ctx, endpoint, ask_for_usage, call);
  if (!result) {
    const int status = call.status();
    if (status >= 200 && status < 300 && ctx.facts.stream && call.media_type() == "text/event-stream") {
      UpstreamSource source(call);
      // Chat and completions streams: nothing reads the request's document once the head is
      // out (usage, limits, the cache's key and tap, the output guardrails and the record keep
      // what they need apart). A Responses stream stores its input items at the end.
      ctx.doc_done_at_head = endpoint != Endpoint::responses;
      auto relay = endpoint == Endpoint::responses ? responses_fast_relay(ctx)
                                                   : guarded(openai_passthrough(ask_for_usage), ctx);
      result = co_await relay_stream(ctx, source, *relay, passthrough_headers(call));
      ctx.doc_done_at_head = false;
    } else {
      result = co_await openai_whole(ctx, call, endpoint, passthrough_headers(call));
    }
  }
  co_return std::move(*result);
}

// POST /v1/responses/input_tokens: OpenAI counts for its own models (the body goes through with
// the model spliced), Anthropic and Gemini for theirs (the request translated, this turn's input
// only); elsewhere (compatible servers, Azure, Bedrock) a documented estimate in OpenAI's shape.
net::awaitable<AttemptResult> input_tokens_attempt(RequestContext& ctx) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  if (provider.spec.kind != core::ProviderKind::openai) {
    std::optional<int64_t> counted;
    dialects::openai::responses::Turn turn;
    const store::SecretBox* seal = ctx.gateway.responses ? &ctx.gateway.responses->seal() : nullptr;
    if (!dialects::openai::responses::to_chat(ctx.doc.as_object(), {}, seal, turn)) {
      counted = co_await provider_count_tokens(ctx, std::move(turn.chat));
      if (ctx.ex.client_gone()) co_return AttemptResult::client_left();
    }
    const int64_t tokens = counted ? *counted : dialects::openai::responses::input_tokens_estimate(ctx.doc.as_object());
    co_await respond_json(ctx, 200, fmt::format(R"({{"object":"response.input_tokens","input_tokens":{}}})", tokens));
    co_return AttemptResult::answered();
  }
  http::OutgoingRequest req;
  req.target = provider.endpoint.path_prefix + "/responses/input_tokens";
  openai_headers(provider, req);
  req.body = dialects::openai::splice_request(ctx.request_body(), ctx.doc, ctx.target->upstream_model, false);
  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  if (auto failed = co_await send_upstream(ctx, call, req)) co_return std::move(*failed);
  const int status = call.status();
  std::string body;
  if (auto failed = co_await read_whole(ctx, call, body)) co_return std::move(*failed);
  if (status >= 400 || status < 200) {
    auto error = dialects::openai::upstream_error(status, body, call.media_type());
    std::string shaped = dialects::openai::upstream_error_body(status, body, call.media_type());
    co_return upstream_error_attempt(call, status, std::move(error), std::move(shaped));
  }
  co_await relay_whole(ctx, status, "application/json", std::move(body), passthrough_headers(call));
  co_return AttemptResult::answered();
}

net::awaitable<AttemptResult> attempt_failed(GatewayError e) {
  co_return AttemptResult::failed(std::move(e));
}

// The attempt for the current target, by the pair (caller dialect, provider dialect). Not a
// coroutine: it hands back the chosen attempt's awaitable, so an open stream holds no frame
// here (one with a `co_return co_await` per branch, an AttemptResult each: ~2 KB per stream).
net::awaitable<AttemptResult> attempt_on_target(RequestContext& ctx, const json::object* canonical,
                                                const std::optional<GatewayError>& translate_error) {
  if (dialect_of(ctx.route) == Dialect::anthropic) {
    if (!canonical && ctx.target->provider->spec.kind != core::ProviderKind::anthropic && translate_error)
      return attempt_failed(*translate_error);
    return anthropic_attempt(ctx, canonical);
  }
  if (dialect_of(ctx.route) == Dialect::gemini) return gemini_attempt(ctx, canonical, translate_error);
  if (ctx.route == Route::responses_input_tokens) return input_tokens_attempt(ctx);
  const Endpoint endpoint = endpoint_of(ctx.route);
  if (endpoint == Endpoint::responses &&
      (!speaks_openai(ctx.target->provider->spec.kind) || responses_needs_translation(ctx)))
    return responses_attempt(ctx);
  if (speaks_openai(ctx.target->provider->spec.kind)) return openai_attempt(ctx, endpoint);
  return translated_attempt(ctx, endpoint, ctx.doc.as_object(), Dialect::openai);
}

std::chrono::milliseconds backoff_for(const core::RetryPolicy& p, int retry) {
  // Exponential with full jitter in [50%, 100%]: retries from many callers spread out.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto base = p.backoff.count() * (int64_t{1} << std::min(retry - 1, 20));
  base = std::min<int64_t>(base, p.max_backoff.count());
  std::uniform_int_distribution<int64_t> jitter(base / 2, std::max<int64_t>(base / 2, base));
  return std::chrono::milliseconds(jitter(rng));
}

bool policy_allows(const core::RetryPolicy& p, std::string_view cls) {
  if (cls.empty()) return false;
  for (const auto& c : p.on)
    if (c == cls) return true;
  return false;
}

// What says a target is unwell: it could not be reached, timed out, or failed (5xx). A 429 is
// the provider saying "not now", not ill health: it cools the target only for the time its
// Retry-After names.
bool health_failure(const AttemptFailure& r) {
  if (r.retry_class == "429") return r.retry_after.has_value();
  return !r.retry_class.empty();
}

net::awaitable<void> respond_failure(RequestContext& ctx, AttemptFailure& r) {
  // The gateway's own words, in the caller's dialect.
  if (r.body.empty()) r.body = error_body(ctx.route, r.error);
  // An upstream's error may quote the credential it was sent (any provider's: the failure
  // kept may be an earlier attempt's).
  ctx.snapshot->secrets().scrub(r.body);
  settle(ctx);
  ctx.status = r.error.status;
  if (ctx.error.empty()) ctx.error = r.error.code.empty() ? fmt::format("upstream_{}", r.error.status) : r.error.code;
  auto headers = base_headers(ctx, "application/json");
  for (auto& h : r.extra) headers.push_back(std::move(h));
  co_await ctx.ex.respond(r.error.status, headers, std::move(r.body));
}

}  // namespace

void openai_headers(const core::CompiledProvider& p, http::OutgoingRequest& req) {
  req.headers.reserve(req.headers.size() + 4 + p.spec.headers.size());
  req.headers.emplace_back("content-type", "application/json");
  if (p.spec.kind == core::ProviderKind::azure) {
    if (!p.spec.api_key.empty()) req.headers.emplace_back("api-key", p.spec.api_key);
  } else if (!p.authorization.empty()) {
    req.headers.emplace_back("authorization", p.authorization);
  }
  req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION);
  for (const auto& [k, v] : p.spec.headers) req.headers.emplace_back(k, v);
}

core::Timeouts within(core::Timeouts t, std::chrono::milliseconds left) {
  t.connect = std::min(t.connect, left);
  t.read = std::min(t.read, left);
  t.idle = std::min(t.idle, left);
  return t;
}

http::Headers passthrough_headers(const http::UpstreamCall& call) {
  http::Headers h;
  if (auto v = call.header("retry-after"); !v.empty()) h.emplace_back("retry-after", std::string(v));
  if (auto v = call.header("x-request-id"); !v.empty())
    h.emplace_back("x-upstream-request-id", std::string(v));
  else if (auto r = call.header("request-id"); !r.empty())  // Anthropic's name for it
    h.emplace_back("x-upstream-request-id", std::string(r));
  return h;
}

AttemptResult upstream_error_attempt(const http::UpstreamCall& call, int status, GatewayError error,
                                     std::string body) {
  AttemptResult result;
  result.outcome = AttemptResult::Outcome::failed;
  AttemptFailure& r = result.failure();
  if (status < 200) status = 502;
  error.status = status;
  r.error = std::move(error);
  r.body = std::move(body);
  r.extra = passthrough_headers(call);
  if (status == 429) r.retry_class = "429";
  else if (status >= 500 || status == 408) r.retry_class = "5xx";
  if (status == 429 || status == 503) r.retry_after = retry_after_of(call);
  return result;
}

net::awaitable<std::optional<AttemptResult>> send_upstream(RequestContext& ctx, http::UpstreamCall& call,
                                                           http::OutgoingRequest& req) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  // The model's overall deadline caps this attempt's wait for a connection and an answer.
  // And the wait for each piece of the body (a first token that never comes), though not the
  // length of a stream that keeps flowing.
  core::Timeouts timeouts = provider.spec.timeouts;
  if (ctx.deadline != Clock::time_point::max()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.deadline - Clock::now());
    if (left.count() <= 0) co_return transport_failure(http::UpstreamFailure::response_timeout, provider.spec.name);
    timeouts = within(timeouts, left);
  }
  auto f = co_await call.send(provider.endpoint, timeouts, provider.spec.verify_tls, req);
  if (f == http::UpstreamFailure::none) co_return std::nullopt;
  if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
    ctx.status = 499;  // nginx's "client closed request"
    ctx.error = "client_closed";
    co_return AttemptResult::client_left();
  }
  if (f == http::UpstreamFailure::local) {
    // Counted and logged as the gateway's trouble, not the provider's (once a second at most).
    static std::atomic<int64_t> last_log_ms{0};
    int64_t now = routing::now_ms(), last = last_log_ms.load(std::memory_order_relaxed);
    if (now - last >= 1000 && last_log_ms.compare_exchange_strong(last, now))
      spdlog::warn("cannot reach provider '{}': {} (not counted against it)", provider.spec.name, http::describe(f));
    ctx.gateway.metrics.local_failures().fetch_add(1, std::memory_order_relaxed);
    co_return transport_failure(f, provider.spec.name);
  }
  ctx.gateway.metrics.upstream_failure(provider.spec.name, http::describe(f));
  co_return transport_failure(f, provider.spec.name);
}

net::awaitable<std::optional<AttemptResult>> read_whole(RequestContext& ctx, http::UpstreamCall& call,
                                                        std::string& body) {
  auto f = co_await call.read_all(body, kMaxWholeAnswer);
  if (f == http::UpstreamFailure::none) co_return std::nullopt;
  if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
    ctx.status = 499;
    ctx.error = "client_closed";
    co_return AttemptResult::client_left();
  }
  const auto& name = ctx.target->provider->spec.name;
  ctx.gateway.metrics.upstream_failure(name, http::describe(f));
  co_return transport_failure(f, name);
}

net::awaitable<AttemptResult> translated_attempt(RequestContext& ctx, Endpoint endpoint,
                                                 const json::object& canonical, Dialect caller,
                                                 ResponsesAnswer* responses) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  const std::string& upstream_model = ctx.target->upstream_model;
  const bool stream = ctx.facts.stream;
  const bool strip_usage = stream && !ctx.facts.caller_wants_usage;
  const dialects::ProviderCodec* codec = dialects::codec_for(provider.spec.kind);
  auto fail = [](GatewayError e) { return AttemptResult::failed(std::move(e)); };

  if (provider.spec.kind == core::ProviderKind::demo) {
    auto answer = providers::demo::answer(endpoint, json::value(canonical), upstream_model, stream);
    if (stream) {
      auto source = text_source(std::move(answer.body));
      if (responses) {
        auto relay = responses_relay(*responses, nullptr);
        co_return co_await relay_stream(ctx, *source, *relay, {});
      }
      auto relay = guarded(translated_relay(nullptr, caller, strip_usage, ctx.facts.model, ctx.prompt_estimate), ctx);
      co_return co_await relay_stream(ctx, *source, *relay, {});
    }
    if (endpoint == Endpoint::embeddings) {
      dialects::openai::read_usage_from_body(answer.body, ctx.usage);
      if (caller == Dialect::gemini) answer.body = gemini_embeddings_body(ctx, json::parse(answer.body).as_object());
      co_await relay_whole(ctx, answer.status, answer.content_type, std::move(answer.body), {});
      co_return AttemptResult::answered();
    }
    auto completion = json::parse(answer.body).as_object();
    dialects::openai::read_usage(completion["usage"], ctx.usage);
    if (responses) co_await respond_response(ctx, *responses, completion);
    else co_await respond_completion(ctx, completion, caller);
    co_return AttemptResult::answered();
  }

  http::OutgoingRequest req;
  if (codec && endpoint == Endpoint::completions) {
    co_return fail(GatewayError::make(
        ErrorKind::invalid_request,
        fmt::format("The legacy completions API is not available for provider kind '{}'; use chat completions.",
                    core::to_string(provider.spec.kind)),
        "unsupported_endpoint"));
  }
  if (codec) {
    dialects::EncodedRequest enc;
    // What the provider cannot honour is dropped and named, or a 400 for a strict model.
    auto opts = encode_options(ctx, upstream_model, stream);
    json::object clamp_storage, marked;
    const json::object* chat = &canonical;
    if (endpoint == Endpoint::chat_completions && places_cache_breakpoints(ctx) &&
        dialects::anthropic::add_canonical_cache_breakpoints(marked = canonical))
      chat = &marked;
    auto err = endpoint == Endpoint::embeddings
                   ? codec->encode_embeddings(canonical, opts, provider, enc)
                   : codec->encode_chat(within_output_limit(ctx, *chat, clamp_storage), opts, provider, enc);
    if (err) co_return fail(std::move(*err));
    req.target = provider.endpoint.path_prefix + enc.path;
    req.headers = std::move(enc.headers);
    req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION);
    req.body = std::move(enc.body);
  } else if (speaks_openai(provider.spec.kind)) {
    json::object body = canonical;
    body["model"] = upstream_model;
    if (stream) body["stream_options"] = json::object{{"include_usage", true}};
    openai_wire(provider, endpoint, upstream_model, req);
    req.body = json::serialize(body);
  } else {
    co_return fail(GatewayError::make(ErrorKind::not_implemented,
                                      fmt::format("Provider kind '{}' is not supported.",
                                                  core::to_string(provider.spec.kind)),
                                      "provider_kind_unsupported"));
  }

  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  if (auto failed = co_await send_upstream(ctx, call, req)) co_return std::move(*failed);
  const int status = call.status();
  auto extra = passthrough_headers(call);

  const bool event_stream = call.media_type() == "application/vnd.amazon.eventstream";
  if (status >= 200 && status < 300 && stream && (call.media_type() == "text/event-stream" || event_stream)) {
    UpstreamSource source(call);
    EventStreamSource binary(source);
    std::unique_ptr<dialects::ChatStreamDecoder> decoder = codec ? codec->stream_decoder(upstream_model) : nullptr;
    std::unique_ptr<StreamRelay> relay;
    if (responses) {
      relay = responses_relay(*responses, std::move(decoder));
    } else {
      relay = guarded(translated_relay(std::move(decoder), caller, strip_usage, ctx.facts.model, ctx.prompt_estimate), ctx);
    }
    if (event_stream) co_return co_await relay_stream(ctx, binary, *relay, std::move(extra));
    co_return co_await relay_stream(ctx, source, *relay, std::move(extra));
  }

  std::string body;
  if (auto failed = co_await read_whole(ctx, call, body)) co_return std::move(*failed);
  if (status < 200 || status >= 300) {
    GatewayError e;
    if (codec)
      e = codec->decode_error(status, body).error;
    else
      e = dialects::openai::upstream_error(status, body, call.media_type());
    // The caller's dialect differs from the provider's: the body is built from the error.
    auto r = upstream_error_attempt(call, status, std::move(e), {});
    r.failure().error.status = r.failure().error.status ? r.failure().error.status : status;
    co_return r;
  }

  json::object decoded;
  if (codec) {
    auto err = endpoint == Endpoint::embeddings
                   ? codec->decode_embeddings(body, upstream_model, decoded, ctx.usage)
                   : codec->decode_chat(body, upstream_model, decoded, ctx.usage);
    if (err) co_return fail(std::move(*err));
    // Gemini reports no embedding usage and knows nothing of encoding_format.
    if (endpoint == Endpoint::embeddings && provider.spec.kind == core::ProviderKind::gemini)
      dialects::gemini::complete_embeddings(canonical, decoded, ctx.usage);
  } else {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object())
      co_return fail(GatewayError::make(ErrorKind::upstream, "The provider's answer was not a JSON object.",
                                        "upstream_invalid_answer"));
    decoded = std::move(v.as_object());
    if (auto* u = decoded.if_contains("usage")) dialects::openai::read_usage(*u, ctx.usage);
  }
  if (endpoint == Endpoint::embeddings) {
    std::string answer = caller == Dialect::gemini ? gemini_embeddings_body(ctx, decoded) : json::serialize(decoded);
    co_await respond_json(ctx, 200, std::move(answer));
    co_return AttemptResult::answered();
  }
  if (responses) co_await respond_response(ctx, *responses, decoded);
  else co_await respond_completion(ctx, decoded, caller);
  co_return AttemptResult::answered();
}

namespace {

// The plan: the model's targets by tier and strategy, then its fallbacks; or the one target
// a "provider/model" name addressed (`direct`, which must outlive the plan). Out of dispatch's
// frame, which a stream holds for its length: the affinity value is needed only here.
routing::RoutePlan plan_for(RequestContext& ctx, const core::CompiledTarget* direct) {
  if (!ctx.model) return routing::RoutePlan(*direct);
  std::string affinity;
  if (!ctx.model->spec.affinity.by.empty()) {
    const auto& a = ctx.model->spec.affinity;
    if (a.by == "header") affinity = std::string(ctx.ex.header(a.header));
    else if (a.by == "key") affinity = ctx.key->id;
    else if (a.by == "user" && ctx.doc.is_object())
      if (auto* u = ctx.doc.as_object().if_contains("user"); u && u->is_string()) affinity = u->get_string().c_str();
  }
  return routing::RoutePlan(*ctx.snapshot, *ctx.model, affinity);
}

// The wait between two attempts, in a frame of its own (its timer is not in dispatch's).
net::awaitable<void> back_off(std::chrono::milliseconds delay) {
  net::steady_timer timer(co_await net::this_coro::executor, delay);
  co_await timer.async_wait(net::as_tuple(net::use_awaitable));
}

// Anthropic and Gemini callers' request, translated once for every attempt that needs it.
struct TranslatedRequest {
  json::object chat;
  std::optional<GatewayError> error;
};

}  // namespace

void judge_attempt_success(RequestContext& ctx) {
  if (!ctx.attempt_stats || ctx.attempt_judged) return;
  ctx.attempt_judged = true;
  auto until = ctx.first_byte ? *ctx.first_byte : Clock::now();
  routing::attempt_succeeded(*ctx.attempt_stats,
                             std::chrono::duration_cast<std::chrono::microseconds>(until - ctx.attempt_started));
}

net::awaitable<void> dispatch(RequestContext& ctx) {
  // dispatch's frame lasts as long as a stream (issue 18: memory per open stream): what only
  // some requests need is held out of line, what only the start needs is in helpers.
  // A "provider/model" target is copied out of ctx.target, which each attempt overwrites;
  // an alias's targets live in the snapshot, so the common case copies nothing.
  std::unique_ptr<core::CompiledTarget> direct;
  if (!ctx.model) direct = std::make_unique<core::CompiledTarget>(*ctx.target);
  routing::RoutePlan plan = plan_for(ctx, direct.get());
  static const core::Model defaults;
  const core::RetryPolicy& retry = ctx.model ? ctx.model->spec.retry : defaults.retry;
  const auto deadline = ctx.model && ctx.model->spec.timeout.count() > 0
                            ? ctx.started + ctx.model->spec.timeout
                            : Clock::time_point::max();
  ctx.deadline = deadline;

  // Anthropic callers on other providers: translate the request once, not per attempt.
  static const std::optional<GatewayError> kNoTranslateError;
  std::unique_ptr<TranslatedRequest> translated;
  const json::object* canonical = nullptr;
  if (dialect_of(ctx.route) == Dialect::anthropic && ctx.route == Route::messages) {
    translated = std::make_unique<TranslatedRequest>();
    translated->error = anthropic_canonical(ctx, translated->chat);
  } else if (ctx.route == Route::gemini_generate || ctx.route == Route::gemini_stream) {
    translated = std::make_unique<TranslatedRequest>();
    translated->error = gemini_canonical(ctx, translated->chat);
  }
  if (translated && !translated->error) canonical = &translated->chat;
  const std::optional<GatewayError>& translate_error = translated ? translated->error : kNoTranslateError;

  // The last attempt's outcome; no failure is made before one is needed (it would be a heap
  // block held for a stream's whole length).
  AttemptResult last;
  const core::TargetStats* previous = nullptr;
  for (uint32_t attempt = 0; attempt < retry.max_attempts; ++attempt) {
    if (ctx.ex.client_gone()) {
      // Nobody is waiting for this answer (the caller left while it queued or backed off).
      ctx.status = 499;
      ctx.error = "client_closed";
      co_return;
    }
    const core::CompiledTarget* target = plan.next();
    if (!target) {
      if (attempt == 0) {
        // Every target is cooling down: say when to come back.
        auto wait = plan.soonest_recovery();
        last.outcome = AttemptResult::Outcome::failed;
        if (plan.all_rate_limited())
          last.failure().error = GatewayError::make(ErrorKind::rate_limit,
                                                    "The provider's rate limit was reached for this model; retry after the time in Retry-After.",
                                                    "rate_limit_exceeded");
        else
          last.failure().error = GatewayError::make(ErrorKind::unavailable,
                                                    "Every target of this model is cooling down after failures; retry later.",
                                                    "targets_cooling_down");
        last.failure().extra.emplace_back("retry-after", std::to_string(std::max<int64_t>(1, (wait.count() + 999) / 1000)));
      }
      break;
    }
    if (attempt > 0) {
      // Back off before trying again; a Retry-After on the same target is honoured instead.
      auto delay = backoff_for(retry, static_cast<int>(attempt));
      if (target->stats == previous && last.failure().retry_after) delay = *last.failure().retry_after;
      if (Clock::now() + delay >= deadline) {
        // The next attempt could not finish in time: give the target back unused.
        target->stats->probing.store(false);
        break;
      }
      if (delay.count() > 0) co_await back_off(delay);
      if (ctx.ex.client_gone()) {
        target->stats->probing.store(false);
        ctx.status = 499;
        ctx.error = "client_closed";
        co_return;
      }
      target->stats->retries.fetch_add(1, std::memory_order_relaxed);
      if (target->stats != previous) target->stats->failovers.fetch_add(1, std::memory_order_relaxed);
    }

    ctx.target = *target;
    ctx.attempts = static_cast<int>(attempt) + 1;
    core::TargetStats& stats = *target->stats;
    previous = &stats;
    routing::attempt_started(stats);
    auto started = Clock::now();
    ctx.attempt_stats = &stats;
    ctx.attempt_started = started;
    ctx.attempt_judged = false;
    last = co_await attempt_on_target(ctx, canonical, translate_error);
    ctx.upstream_seconds = std::chrono::duration<double>(Clock::now() - started).count();

    if (last.outcome == AttemptResult::Outcome::answered) {
      if (ctx.attempt_judged) co_return;  // recorded before the last byte went out
      if (ctx.error == "upstream_idle_timeout" || ctx.error == "upstream_closed") {
        // The stream broke after its first byte: final for the caller, but ill health all
        // the same.
        const core::CircuitPolicy& circuit = ctx.model ? ctx.model->spec.circuit : defaults.circuit;
        routing::attempt_failed(stats, circuit, std::nullopt);
        co_return;
      }
      auto until = ctx.first_byte ? *ctx.first_byte : Clock::now();
      routing::attempt_succeeded(stats, std::chrono::duration_cast<std::chrono::microseconds>(until - started));
      co_return;
    }
    if (last.outcome == AttemptResult::Outcome::client_left) {
      routing::attempt_abandoned(stats);
      co_return;
    }
    if (last.failure().local) {
      routing::attempt_abandoned(stats);
      break;
    }
    const core::CircuitPolicy& circuit = ctx.model ? ctx.model->spec.circuit : defaults.circuit;
    if (health_failure(last.failure())) {
      routing::attempt_failed(stats, circuit, last.failure().retry_class == "429" ? last.failure().retry_after : std::nullopt);
    } else {
      routing::attempt_ended(stats);
    }
    if (!policy_allows(retry, last.failure().retry_class)) break;
  }
  if (last.outcome != AttemptResult::Outcome::failed)  // no attempt was made
    last = AttemptResult::failed(GatewayError::make(ErrorKind::unavailable, "No target is available for this model.",
                                                    "no_target_available"));
  co_await respond_failure(ctx, last.failure());
}

}  // namespace tollgate::gateway
