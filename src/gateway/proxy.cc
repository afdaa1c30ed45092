#include "gateway/proxy.h"

#include <random>

#include <fmt/format.h>

#include "gateway/phases.h"
#include "mcp/endpoint.h"

namespace tollgate::gateway {
namespace net = boost::asio;
using core::ErrorKind;
using core::GatewayError;

namespace {

// Keeps the in-flight gauge exact whichever way the request ends; the runtime's drain waits
// for it to reach zero.
struct InFlight {
  explicit InFlight(std::atomic<int64_t>& g) : g(g) { g.fetch_add(1, std::memory_order_relaxed); }
  ~InFlight() { g.fetch_sub(1, std::memory_order_relaxed); }
  std::atomic<int64_t>& g;
};

// The routes answered without the phases (probes, MCP, an unknown route): apart from
// run_until_dispatch, whose frame would otherwise be larger for every request.
net::awaitable<void> serve_phaseless(RequestContext& ctx) {
  switch (ctx.route) {
    case Route::livez:
      co_await respond_json(ctx, 200, R"({"status":"ok"})");
      co_return;
    case Route::readyz: {
      auto [status, body] = readiness(ctx.gateway);
      co_await respond_json(ctx, status, std::move(body));
      co_return;
    }
    case Route::mcp:
      co_await mcp::serve(ctx);
      co_return;
    default: {
      auto e = GatewayError::make(ErrorKind::not_found,
                                  fmt::format("Unknown route: {} {}", ctx.ex.method(), ctx.ex.target().substr(0, 200)),
                                  "unknown_route");
      co_await respond_error(ctx, e);
      co_return;
    }
  }
}

// The phases before dispatch, and the routes answered without it: true when the request goes
// on to dispatch, false when it was answered here. Done before the stream starts, so that no
// open stream holds this frame (its error slot and the phases' awaitables; issue 18: memory
// per open stream). One error slot for every phase: each `if (auto e = ...)` kept its own.
net::awaitable<bool> run_until_dispatch(RequestContext& ctx) {
  if (ctx.route == Route::livez || ctx.route == Route::readyz || ctx.route == Route::mcp ||
      ctx.route == Route::not_found) {
    co_await serve_phaseless(ctx);
    co_return false;
  }

  ctx.snapshot = ctx.gateway.snapshots.shared();
  std::optional<GatewayError> e = authenticate(ctx);
  if (!e) {
    if (ctx.route == Route::models) {
      co_await list_models(ctx);
      co_return false;
    }
    if (ctx.route == Route::stored_response) {
      co_await stored_response(ctx);
      co_return false;
    }
    if (ctx.route == Route::gemini_models || ctx.route == Route::gemini_model) {
      co_await list_gemini_models(ctx);
      co_return false;
    }
    e = decode(ctx);
  }
  if (!e) e = resolve(ctx);
  if (!e) e = guard(ctx);
  if (!e) e = co_await moderate(ctx);
  if (!e) e = admit(ctx);
  if (e) {
    co_await respond_error(ctx, *e);
    co_return false;
  }
  co_return !co_await serve_from_cache(ctx);
}

}  // namespace

net::awaitable<void> handle_proxy_request(GatewayState& state, http::Exchange& ex) {
  InFlight in_flight(state.metrics.in_flight());
  RequestContext ctx(state, ex);
  ctx.request_id = request_id_for(ex.header("x-request-id"));
  ctx.route = match_route(ex.method(), ex.target());
  if (state.capture_log && state.config.capture_sample_rate > 0) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    ctx.capture = std::uniform_real_distribution<double>(0, 1)(rng) < state.config.capture_sample_rate;
  }
  if (co_await run_until_dispatch(ctx)) {
    co_await dispatch(ctx);
    settle(ctx);
  }
  if (ctx.route != Route::livez && ctx.route != Route::readyz) record(ctx);
}

net::awaitable<void> handle_overloaded(http::Exchange& ex) {
  auto e = GatewayError::make(ErrorKind::unavailable,
                              "The gateway is at its connection limit; retry after the time in Retry-After.",
                              "gateway_overloaded");
  std::string body = dialect_of(match_route(ex.method(), ex.target())) == Dialect::anthropic
                         ? core::to_anthropic_body(e)
                         : core::to_openai_body(e);
  http::Headers headers{{"content-type", "application/json"},
                        {"retry-after", "1"},
                        {"x-request-id", request_id_for(ex.header("x-request-id"))}};
  co_await ex.respond(503, headers, std::move(body));
}

}  // namespace tollgate::gateway
