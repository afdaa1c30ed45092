// Phase 7, dispatch: encode for the target's provider and send. Same dialect in and out is the
// fast path: the caller's body goes upstream with only the model spliced.
#include <fmt/format.h>

#include "gateway/phases.h"
#include "gateway/relay.h"
#include "http/client.h"
#include "providers/demo/demo_provider.h"

namespace tollgate::gateway {
namespace net = boost::asio;
using core::ErrorKind;
using core::GatewayError;
using dialects::openai::Endpoint;

namespace {

// Answers larger than this are refused rather than buffered (streams are never buffered).
constexpr std::size_t kMaxWholeAnswer = 64 * 1024 * 1024;

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

GatewayError failure_error(http::UpstreamFailure f, std::string_view provider) {
  bool timeout = f == http::UpstreamFailure::connect_timeout ||
                 f == http::UpstreamFailure::response_timeout ||
                 f == http::UpstreamFailure::idle_timeout;
  return GatewayError::make(timeout ? ErrorKind::timeout : ErrorKind::upstream,
                            fmt::format("Provider '{}': {}.", provider, http::describe(f)),
                            timeout ? "upstream_timeout" : "upstream_unavailable");
}

// Upstream headers worth showing the caller.
http::Headers passthrough_headers(const http::UpstreamCall& call) {
  http::Headers h;
  if (auto v = call.header("retry-after"); !v.empty()) h.emplace_back("retry-after", std::string(v));
  if (auto v = call.header("x-request-id"); !v.empty())
    h.emplace_back("x-upstream-request-id", std::string(v));
  return h;
}

// Detaches the client-gone callback before the call it points at goes away.
struct CancelOnClientGone {
  CancelOnClientGone(http::Exchange& ex, http::UpstreamCall& call) : ex(ex) {
    ex.on_client_gone([&call] { call.cancel(); });
  }
  ~CancelOnClientGone() { ex.on_client_gone(nullptr); }
  http::Exchange& ex;
};

}  // namespace

net::awaitable<void> dispatch(RequestContext& ctx) {
  const core::CompiledTarget& target = *ctx.target;
  const core::CompiledProvider& provider = *target.provider;
  const Endpoint endpoint = endpoint_of(ctx.route);
  // Ask for usage on a stream the caller did not ask it of, so accounting is exact; the
  // relay hides it again.
  const bool ask_for_usage = ctx.facts.stream && !ctx.facts.caller_wants_usage &&
                             endpoint != Endpoint::embeddings;
  ctx.attempts = 1;

  switch (provider.spec.kind) {
    case core::ProviderKind::demo: {
      auto answer = providers::demo::answer(endpoint, ctx.doc, target.upstream_model, ctx.facts.stream);
      if (ctx.facts.stream) {
        TextSource source(std::move(answer.body));
        co_await relay_stream(ctx, source, {}, !ctx.facts.caller_wants_usage);
      } else {
        co_await relay_whole(ctx, answer.status, answer.content_type, std::move(answer.body), {});
      }
      co_return;
    }
    case core::ProviderKind::openai:
    case core::ProviderKind::openai_compatible:
      break;
    default:
      co_await respond_error(
          ctx, GatewayError::make(ErrorKind::not_implemented,
                                  fmt::format("Provider kind '{}' is not supported yet.",
                                              core::to_string(provider.spec.kind)),
                                  "provider_kind_unsupported"));
      co_return;
  }

  http::OutgoingRequest req;
  req.target = provider.endpoint.path_prefix + std::string(path_of(endpoint));
  req.headers.reserve(4 + provider.spec.headers.size());
  req.headers.emplace_back("content-type", "application/json");
  if (!provider.authorization.empty()) req.headers.emplace_back("authorization", provider.authorization);
  req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION);
  for (const auto& [k, v] : provider.spec.headers) req.headers.emplace_back(k, v);
  req.body = dialects::openai::splice_request(ctx.ex.body(), ctx.doc, target.upstream_model, ask_for_usage);

  http::UpstreamCall call;
  CancelOnClientGone guard(ctx.ex, call);
  auto f = co_await call.send(provider.endpoint, provider.spec.timeouts, provider.spec.verify_tls, req);
  if (f != http::UpstreamFailure::none) {
    if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
      ctx.status = 499;
      ctx.error = "client_closed";
      co_return;
    }
    ctx.gateway.metrics.upstream_failure(provider.spec.name, http::describe(f));
    co_await respond_error(ctx, failure_error(f, provider.spec.name));
    co_return;
  }

  const int status = call.status();
  auto extra = passthrough_headers(call);
  if (status >= 200 && status < 300 && ctx.facts.stream && call.media_type() == "text/event-stream") {
    UpstreamSource source(call);
    co_await relay_stream(ctx, source, std::move(extra), ask_for_usage);
    co_return;
  }

  std::string body;
  f = co_await call.read_all(body, kMaxWholeAnswer);
  if (f != http::UpstreamFailure::none) {
    if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
      ctx.status = 499;
      ctx.error = "client_closed";
      co_return;
    }
    ctx.gateway.metrics.upstream_failure(provider.spec.name, http::describe(f));
    co_await respond_error(ctx, failure_error(f, provider.spec.name));
    co_return;
  }
  if (status >= 400 || status < 200) {
    ctx.error = fmt::format("upstream_{}", status);
    int shown = status < 200 ? 502 : status;
    co_await relay_whole(ctx, shown, "application/json",
                         dialects::openai::upstream_error_body(status, body, call.media_type()),
                         std::move(extra));
    co_return;
  }
  co_await relay_whole(ctx, status, call.media_type().empty() ? "application/json" : call.header("content-type"),
                       std::move(body), std::move(extra));
}

}  // namespace tollgate::gateway
