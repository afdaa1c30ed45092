// Answers the gateway makes itself (errors, model lists): every one carries x-request-id, and
// errors come in the dialect of the route the caller used.
#include <fmt/format.h>

#include <charconv>

#include "gateway/params.h"
#include "gateway/phases.h"
#include "dialects/gemini/inbound.h"

namespace tollgate::gateway {
namespace {

// A header's number: to_chars into the string's own short buffer (std::to_string measures the
// number first; six of these per answer with rate limits, issue 18).
std::string decimal(int64_t v) {
  char digits[24];
  return std::string(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
}

}  // namespace

http::Headers base_headers(const RequestContext& ctx, std::string_view content_type) {
  http::Headers h;
  h.reserve(ctx.limit_decision ? 14 : 7);  // room for the target's and the upstream's too
  h.emplace_back("content-type", std::string(content_type));
  h.emplace_back("x-request-id", ctx.request_id);
  if (ctx.limit_decision) {
    // OpenAI's rate-limit headers, from the tightest window that applies.
    const auto& d = *ctx.limit_decision;
    if (d.requests) {
      h.emplace_back("x-ratelimit-limit-requests", decimal(d.requests->limit));
      h.emplace_back("x-ratelimit-remaining-requests", decimal(d.requests->remaining));
      h.emplace_back("x-ratelimit-reset-requests", limits::format_reset(d.requests->reset));
    }
    if (d.tokens) {
      h.emplace_back("x-ratelimit-limit-tokens", decimal(d.tokens->limit));
      h.emplace_back("x-ratelimit-remaining-tokens", decimal(d.tokens->remaining));
      h.emplace_back("x-ratelimit-reset-tokens", limits::format_reset(d.tokens->reset));
    }
    // No Retry-After where waiting cannot help: a total budget spent, or a request larger than a whole window.
    if (!d.admitted && !d.too_large && !(d.reason == limits::Decision::Reason::budget && d.retry_after.count() == 0))
      h.emplace_back("retry-after", std::to_string(limits::retry_after_seconds(d.retry_after)));
  }
  if (!ctx.cache.status.empty()) h.emplace_back("x-tollgate-cache", std::string(ctx.cache.status));
  if (ctx.cache.similarity >= 0) h.emplace_back("x-tollgate-cache-similarity", fmt::format("{:.4f}", ctx.cache.similarity));
  if (ctx.target && ctx.attempts > 0) {
    // Which target served (or last failed), and how many attempts it took.
    h.emplace_back("x-tollgate-target", ctx.target->stats->name);
    h.emplace_back("x-tollgate-attempts", std::to_string(ctx.attempts));
  }
  // What the target could not honour and the gateway left out (gateway/params.h).
  if (!ctx.dropped.empty()) h.emplace_back("x-tollgate-dropped", dropped_header(ctx));
  return h;
}

std::string error_body(Route route, const core::GatewayError& e) {
  switch (dialect_of(route)) {
    case Dialect::anthropic: return core::to_anthropic_body(e);
    case Dialect::gemini: return dialects::gemini::error_body(e);
    case Dialect::openai: break;
  }
  return core::to_openai_body(e);
}

boost::asio::awaitable<void> respond_error(RequestContext& ctx, const core::GatewayError& e) {
  settle(ctx);
  ctx.status = e.status;
  if (ctx.error.empty()) ctx.error = e.code.empty() ? "error" : e.code;
  auto headers = base_headers(ctx, "application/json");
  if (e.status == 401) headers.emplace_back("www-authenticate", "Bearer");
  std::string body = error_body(ctx.route, e);
  co_await ctx.ex.respond(e.status, headers, std::move(body));
}

boost::asio::awaitable<void> respond_json(RequestContext& ctx, int status, std::string body) {
  settle(ctx);
  ctx.status = status;
  co_await ctx.ex.respond(status, base_headers(ctx, "application/json"), std::move(body));
}

}  // namespace tollgate::gateway
