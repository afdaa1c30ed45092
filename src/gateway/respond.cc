// Answers the gateway makes itself (errors, model lists): every one carries x-request-id, and
// errors come in the dialect of the route the caller used.
#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "gateway/params.h"
#include "gateway/phases.h"
#include "dialects/gemini/inbound.h"

namespace tollgate::gateway {
namespace {

// Each thread's spare header list (recycle_headers()): its strings keep their buffers from one
// answer to the next, so the names longer than a string's short buffer (the six
// x-ratelimit-* ones), the request id and the content type are not allocated and freed on every
// answer (nine allocations an answer under limits, issue 18).
thread_local http::Headers spare_headers;

// `s` = `v`, a copy over the bytes already there when the length is the same (the usual case
// for a recycled list: the same field at the same place; assign() costs several times more).
// `v` must not point into `s`. Inlined, so a literal name's copy is a few moves, not a call.
[[gnu::always_inline]] inline void overwrite(std::string& s, std::string_view v) {
  if (s.size() == v.size()) {
    if (!v.empty()) std::memcpy(s.data(), v.data(), v.size());
  } else {
    s.assign(v);
  }
}

// Writes header `n` of `h`, into the strings already there when there is one.
[[gnu::always_inline]] inline void put(http::Headers& h, std::size_t& n, std::string_view name,
                                      std::string_view value) {
  if (n < h.size()) {
    overwrite(h[n].first, name);
    overwrite(h[n].second, value);
  } else {
    h.emplace_back(std::string(name), std::string(value));
  }
  ++n;
}

// A header's number, formatted in place (six of these per answer with rate limits).
[[gnu::always_inline]] inline void put_number(http::Headers& h, std::size_t& n, std::string_view name, int64_t v) {
  char digits[24];
  put(h, n, name, std::string_view(digits, std::to_chars(digits, digits + sizeof digits, v).ptr - digits));
}

// A number that is most often the one written at the same place last time (a window's limit):
// its digits are kept per thread and formatted again only when it changes (issue 18: four
// numbers a governed answer, ~170 instructions each).
struct KeptNumber {
  int64_t value = 0;
  uint8_t size = 0;  // 0: nothing kept yet
  char digits[23];
};
[[gnu::always_inline]] inline void put_kept_number(http::Headers& h, std::size_t& n, std::string_view name, int64_t v,
                                                  KeptNumber& kept) {
  if (kept.size == 0 || kept.value != v) {
    kept.value = v;
    kept.size = static_cast<uint8_t>(std::to_chars(kept.digits, kept.digits + sizeof kept.digits, v).ptr - kept.digits);
  }
  put(h, n, name, std::string_view(kept.digits, kept.size));
}
thread_local KeptNumber kept_request_limit, kept_token_limit;

}  // namespace

void rate_limit_headers(const limits::Decision& d, http::Headers& h, std::size_t& n) {
  // OpenAI's rate-limit headers, from the tightest window that applies.
  if (d.requests) {
    put_kept_number(h, n, "x-ratelimit-limit-requests", d.requests->limit, kept_request_limit);
    put_number(h, n, "x-ratelimit-remaining-requests", d.requests->remaining);
    put(h, n, "x-ratelimit-reset-requests", limits::format_reset(d.requests->reset));
  }
  if (d.tokens) {
    put_kept_number(h, n, "x-ratelimit-limit-tokens", d.tokens->limit, kept_token_limit);
    put_number(h, n, "x-ratelimit-remaining-tokens", d.tokens->remaining);
    put(h, n, "x-ratelimit-reset-tokens", limits::format_reset(d.tokens->reset));
  }
  // No Retry-After where waiting cannot help: a total budget spent, or a request larger than a whole window.
  if (!d.admitted && !d.too_large && !(d.reason == limits::Decision::Reason::budget && d.retry_after.count() == 0))
    put_number(h, n, "retry-after", limits::retry_after_seconds(d.retry_after));
}

http::Headers base_headers(const RequestContext& ctx, std::string_view content_type) {
  http::Headers h = std::move(spare_headers);  // leaves the spare empty
  if (h.capacity() < 14) h.reserve(14);  // room for the rate limits, the target's and the upstream's
  std::size_t n = 0;
  put(h, n, "content-type", content_type);
  put(h, n, "x-request-id", ctx.request_id);
  if (ctx.limit_decision) rate_limit_headers(*ctx.limit_decision, h, n);
  if (!ctx.cache.status.empty()) put(h, n, "x-tollgate-cache", ctx.cache.status);
  if (ctx.cache.similarity >= 0) put(h, n, "x-tollgate-cache-similarity", fmt::format("{:.4f}", ctx.cache.similarity));
  if (ctx.target && ctx.attempts > 0) {
    // Which target served (or last failed), and how many attempts it took.
    put(h, n, "x-tollgate-target", ctx.target->stats->name);
    put_number(h, n, "x-tollgate-attempts", ctx.attempts);
  }
  // What the target could not honour and the gateway left out (gateway/params.h).
  if (!ctx.dropped.empty()) put(h, n, "x-tollgate-dropped", dropped_header(ctx));
  h.erase(h.begin() + static_cast<std::ptrdiff_t>(n), h.end());  // a recycled list's extra fields
  return h;
}

void recycle_headers(http::Headers&& headers) {
  if (headers.capacity() >= spare_headers.capacity()) spare_headers = std::move(headers);
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
