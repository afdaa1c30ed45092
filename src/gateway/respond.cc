// Answers the gateway makes itself (errors, model lists): every one carries x-request-id, and
// errors come in the dialect of the route the caller used.
#include "gateway/phases.h"

namespace tollgate::gateway {

http::Headers base_headers(const RequestContext& ctx, std::string_view content_type) {
  http::Headers h;
  h.reserve(4);
  h.emplace_back("content-type", std::string(content_type));
  h.emplace_back("x-request-id", ctx.request_id);
  if (ctx.target && ctx.attempts > 0) {
    // Which target served (or last failed), and how many attempts it took.
    h.emplace_back("x-tollgate-target", ctx.target->stats->name);
    h.emplace_back("x-tollgate-attempts", std::to_string(ctx.attempts));
  }
  return h;
}

boost::asio::awaitable<void> respond_error(RequestContext& ctx, const core::GatewayError& e) {
  ctx.status = e.status;
  if (ctx.error.empty()) ctx.error = e.code.empty() ? "error" : e.code;
  auto headers = base_headers(ctx, "application/json");
  if (e.status == 401) headers.emplace_back("www-authenticate", "Bearer");
  std::string body;
  if (dialect_of(ctx.route) == Dialect::anthropic)
    body = core::to_anthropic_body(e);
  else
    body = core::to_openai_body(e);
  co_await ctx.ex.respond(e.status, headers, std::move(body));
}

boost::asio::awaitable<void> respond_json(RequestContext& ctx, int status, std::string body) {
  ctx.status = status;
  co_await ctx.ex.respond(status, base_headers(ctx, "application/json"), std::move(body));
}

}  // namespace tollgate::gateway
