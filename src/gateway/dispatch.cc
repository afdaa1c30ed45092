// Phase 7, dispatch: encode for the target's provider and send. Same dialect in and out is the
// fast path: the caller's body goes upstream with only the model spliced. Any other pair goes
// through the canonical form (translated_path).
#include "gateway/dispatch.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/codec.h"
#include "dialects/gemini/codec.h"
#include "gateway/phases.h"
#include "gateway/relay.h"
#include "providers/demo/demo_provider.h"

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

class UpstreamSource final : public AnswerSource {
 public:
  explicit UpstreamSource(http::UpstreamCall& call) : call_(call) {}
  net::awaitable<http::UpstreamFailure> read_some(std::string_view& piece, bool& done) override {
    co_return co_await call_.read_some(piece, done);
  }
  void cancel() override { call_.cancel(); }

 private:
  http::UpstreamCall& call_;
};

class TextSource final : public AnswerSource {
 public:
  explicit TextSource(std::string text) : text_(std::move(text)) {}
  net::awaitable<http::UpstreamFailure> read_some(std::string_view& piece, bool& done) override {
    piece = text_;
    done = true;
    co_return http::UpstreamFailure::none;
  }
  void cancel() override {}

 private:
  std::string text_;
};

Endpoint endpoint_of(Route r) {
  switch (r) {
    case Route::completions: return Endpoint::completions;
    case Route::embeddings: return Endpoint::embeddings;
    default: return Endpoint::chat_completions;
  }
}

std::string_view path_of(Endpoint e) {
  switch (e) {
    case Endpoint::completions: return "/completions";
    case Endpoint::embeddings: return "/embeddings";
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
  req.headers.reserve(4 + p.spec.headers.size());
  req.headers.emplace_back("content-type", "application/json");
  if (p.spec.kind == core::ProviderKind::azure) {
    req.target = fmt::format("{}/openai/deployments/{}{}?api-version={}", p.endpoint.path_prefix,
                             upstream_model, path_of(e),
                             p.spec.api_version.empty() ? kDefaultAzureApiVersion : std::string_view(p.spec.api_version));
    if (!p.spec.api_key.empty()) req.headers.emplace_back("api-key", p.spec.api_key);
  } else {
    req.target = p.endpoint.path_prefix + std::string(path_of(e));
    if (!p.authorization.empty()) req.headers.emplace_back("authorization", p.authorization);
  }
  req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION);
  for (const auto& [k, v] : p.spec.headers) req.headers.emplace_back(k, v);
}

GatewayError failure_error(http::UpstreamFailure f, std::string_view provider) {
  bool timeout = f == http::UpstreamFailure::connect_timeout ||
                 f == http::UpstreamFailure::response_timeout ||
                 f == http::UpstreamFailure::idle_timeout;
  return GatewayError::make(timeout ? ErrorKind::timeout : ErrorKind::upstream,
                            fmt::format("Provider '{}': {}.", provider, http::describe(f)),
                            timeout ? "upstream_timeout" : "upstream_unavailable");
}

// Detaches the client-gone callback before the call it points at goes away.
struct CancelOnClientGone {
  CancelOnClientGone(http::Exchange& ex, http::UpstreamCall& call) : ex(ex) {
    ex.on_client_gone([&call] { call.cancel(); });
  }
  ~CancelOnClientGone() { ex.on_client_gone(nullptr); }
  http::Exchange& ex;
};

void note_client_left(RequestContext& ctx) {
  ctx.status = 499;  // nginx's "client closed request"
  ctx.error = "client_closed";
}

// OpenAI caller, OpenAI-speaking provider: the fast path.
net::awaitable<void> openai_fast_path(RequestContext& ctx, Endpoint endpoint) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  // Ask for usage on a stream the caller did not ask it of, so accounting is exact; the
  // relay hides it again.
  const bool ask_for_usage = ctx.facts.stream && !ctx.facts.caller_wants_usage &&
                             endpoint != Endpoint::embeddings;
  http::OutgoingRequest req;
  openai_wire(provider, endpoint, ctx.target->upstream_model, req);
  req.body = dialects::openai::splice_request(ctx.ex.body(), ctx.doc, ctx.target->upstream_model, ask_for_usage);

  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  if (!co_await send_upstream(ctx, call, req)) co_return;

  const int status = call.status();
  auto extra = passthrough_headers(call);
  if (status >= 200 && status < 300 && ctx.facts.stream && call.media_type() == "text/event-stream") {
    UpstreamSource source(call);
    auto relay = openai_passthrough(ask_for_usage);
    co_await relay_stream(ctx, source, *relay, std::move(extra));
    co_return;
  }

  std::string body;
  if (!co_await read_whole(ctx, call, body)) co_return;
  if (status >= 400 || status < 200) {
    ctx.error = fmt::format("upstream_{}", status);
    co_await relay_whole(ctx, status < 200 ? 502 : status, "application/json",
                         dialects::openai::upstream_error_body(status, body, call.media_type()),
                         std::move(extra));
    co_return;
  }
  dialects::openai::read_usage_from_body(body, ctx.usage);
  auto content_type = call.header("content-type");
  if (content_type.empty()) content_type = "application/json";
  co_await relay_whole(ctx, status, content_type, std::move(body), std::move(extra));
}

}  // namespace

http::Headers passthrough_headers(const http::UpstreamCall& call) {
  http::Headers h;
  if (auto v = call.header("retry-after"); !v.empty()) h.emplace_back("retry-after", std::string(v));
  if (auto v = call.header("x-request-id"); !v.empty())
    h.emplace_back("x-upstream-request-id", std::string(v));
  else if (auto r = call.header("request-id"); !r.empty())  // Anthropic's name for it
    h.emplace_back("x-upstream-request-id", std::string(r));
  return h;
}

net::awaitable<bool> send_upstream(RequestContext& ctx, http::UpstreamCall& call,
                                   http::OutgoingRequest& req) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  ctx.attempts += 1;
  auto f = co_await call.send(provider.endpoint, provider.spec.timeouts, provider.spec.verify_tls, req);
  if (f == http::UpstreamFailure::none) co_return true;
  if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
    note_client_left(ctx);
    co_return false;
  }
  ctx.gateway.metrics.upstream_failure(provider.spec.name, http::describe(f));
  co_await respond_error(ctx, failure_error(f, provider.spec.name));
  co_return false;
}

net::awaitable<bool> read_whole(RequestContext& ctx, http::UpstreamCall& call, std::string& body) {
  auto f = co_await call.read_all(body, kMaxWholeAnswer);
  if (f == http::UpstreamFailure::none) co_return true;
  if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
    note_client_left(ctx);
    co_return false;
  }
  const auto& name = ctx.target->provider->spec.name;
  ctx.gateway.metrics.upstream_failure(name, http::describe(f));
  co_await respond_error(ctx, failure_error(f, name));
  co_return false;
}

net::awaitable<void> respond_completion(RequestContext& ctx, const json::object& completion,
                                        Dialect caller);

net::awaitable<void> translated_path(RequestContext& ctx, Endpoint endpoint,
                                     const json::object& canonical, Dialect caller) {
  const core::CompiledProvider& provider = *ctx.target->provider;
  const std::string& upstream_model = ctx.target->upstream_model;
  const bool stream = ctx.facts.stream;
  const bool strip_usage = stream && !ctx.facts.caller_wants_usage;
  const dialects::ProviderCodec* codec = dialects::codec_for(provider.spec.kind);

  if (provider.spec.kind == core::ProviderKind::demo) {
    ctx.attempts = 1;
    auto answer = providers::demo::answer(endpoint, json::value(canonical), upstream_model, stream);
    if (stream) {
      TextSource source(std::move(answer.body));
      auto relay = translated_relay(nullptr, caller, strip_usage, ctx.facts.model);
      co_await relay_stream(ctx, source, *relay, {});
    } else if (endpoint == Endpoint::embeddings) {
      dialects::openai::read_usage_from_body(answer.body, ctx.usage);
      co_await relay_whole(ctx, answer.status, answer.content_type, std::move(answer.body), {});
    } else {
      auto completion = json::parse(answer.body).as_object();
      dialects::openai::read_usage(completion["usage"], ctx.usage);
      co_await respond_completion(ctx, completion, caller);
    }
    co_return;
  }

  http::OutgoingRequest req;
  if (codec && endpoint == Endpoint::completions) {
    co_await respond_error(ctx, GatewayError::make(
                                    ErrorKind::invalid_request,
                                    fmt::format("The legacy completions API is not available for provider kind '{}'; use chat completions.",
                                                core::to_string(provider.spec.kind)),
                                    "unsupported_endpoint"));
    co_return;
  }
  if (codec) {
    dialects::EncodedRequest enc;
    // A caller may opt in to dropping parameters the provider cannot honour (else a 400 names them).
    auto drop = ctx.ex.header("x-tollgate-drop-unsupported");
    dialects::EncodeOptions opts{upstream_model, stream, drop == "true" || drop == "1"};
    auto err = endpoint == Endpoint::embeddings ? codec->encode_embeddings(canonical, opts, provider, enc)
                                                : codec->encode_chat(canonical, opts, provider, enc);
    if (err) {
      co_await respond_error(ctx, *err);
      co_return;
    }
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
    co_await respond_error(ctx, GatewayError::make(ErrorKind::not_implemented,
                                                   fmt::format("Provider kind '{}' is not supported.",
                                                               core::to_string(provider.spec.kind)),
                                                   "provider_kind_unsupported"));
    co_return;
  }

  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  if (!co_await send_upstream(ctx, call, req)) co_return;
  const int status = call.status();
  auto extra = passthrough_headers(call);

  if (status >= 200 && status < 300 && stream && call.media_type() == "text/event-stream") {
    UpstreamSource source(call);
    auto relay = translated_relay(codec ? codec->stream_decoder(upstream_model) : nullptr, caller,
                                  strip_usage, ctx.facts.model);
    co_await relay_stream(ctx, source, *relay, std::move(extra));
    co_return;
  }

  std::string body;
  if (!co_await read_whole(ctx, call, body)) co_return;
  if (status < 200 || status >= 300) {
    ctx.error = fmt::format("upstream_{}", status);
    GatewayError e;
    if (codec)
      e = codec->decode_error(status, body).error;
    else
      e = dialects::openai::upstream_error(status, body, call.media_type());
    co_await respond_error(ctx, e);
    co_return;
  }

  json::object decoded;
  if (codec) {
    auto err = endpoint == Endpoint::embeddings
                   ? codec->decode_embeddings(body, upstream_model, decoded, ctx.usage)
                   : codec->decode_chat(body, upstream_model, decoded, ctx.usage);
    if (err) {
      co_await respond_error(ctx, *err);
      co_return;
    }
    // Gemini reports no embedding usage and knows nothing of encoding_format.
    if (endpoint == Endpoint::embeddings && provider.spec.kind == core::ProviderKind::gemini)
      dialects::gemini::complete_embeddings(canonical, decoded, ctx.usage);
  } else {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object()) {
      co_await respond_error(ctx, GatewayError::make(ErrorKind::upstream,
                                                     "The provider's answer was not a JSON object.",
                                                     "upstream_invalid_answer"));
      co_return;
    }
    decoded = std::move(v.as_object());
    if (auto* u = decoded.if_contains("usage")) dialects::openai::read_usage(*u, ctx.usage);
  }
  if (endpoint == Endpoint::embeddings) {
    co_await respond_json(ctx, 200, json::serialize(decoded));
    co_return;
  }
  co_await respond_completion(ctx, decoded, caller);
}

net::awaitable<void> dispatch(RequestContext& ctx) {
  if (dialect_of(ctx.route) == Dialect::anthropic) {
    co_await dispatch_anthropic(ctx);
    co_return;
  }
  const Endpoint endpoint = endpoint_of(ctx.route);
  if (speaks_openai(ctx.target->provider->spec.kind)) {
    co_await openai_fast_path(ctx, endpoint);
    co_return;
  }
  co_await translated_path(ctx, endpoint, ctx.doc.as_object(), Dialect::openai);
}

}  // namespace tollgate::gateway
