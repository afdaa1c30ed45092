#include "gateway/relay.h"

#include "core/error.h"
#include "dialects/openai/fast_path.h"
#include "gateway/phases.h"
#include "http/sse.h"

namespace tollgate::gateway {
namespace net = boost::asio;

net::awaitable<void> relay_stream(RequestContext& ctx, AnswerSource& source, http::Headers extra,
                                  bool strip_usage) {
  auto headers = base_headers(ctx, "text/event-stream; charset=utf-8");
  headers.emplace_back("cache-control", "no-cache");
  for (auto& h : extra) headers.push_back(std::move(h));
  ctx.status = 200;
  if (!co_await ctx.ex.start_stream(200, headers)) {
    source.cancel();
    ctx.status = 499;
    ctx.error = "client_closed";
    co_return;
  }

  http::SseReader reader;
  dialects::openai::StreamTap tap(strip_usage);
  std::string out, replacement;
  http::SseEvent ev;
  bool client_left = false;
  for (;;) {
    std::string_view piece;
    bool done = false;
    auto f = co_await source.read_some(piece, done);
    if (f != http::UpstreamFailure::none) {
      if (f == http::UpstreamFailure::cancelled || ctx.ex.client_gone()) {
        client_left = true;
        break;
      }
      // The head is sent, so the status cannot change: end the stream with an error event,
      // which the OpenAI SDKs raise as an APIError.
      ctx.error = f == http::UpstreamFailure::idle_timeout ? "upstream_idle_timeout" : "upstream_closed";
      ctx.gateway.metrics.upstream_failure(ctx.target->provider->spec.name, ctx.error);
      auto err = core::GatewayError::make(core::ErrorKind::upstream,
                                          std::string(http::describe(f)) + " while streaming.",
                                          ctx.error);
      out = http::sse_data(core::to_openai_body(err));
      co_await ctx.ex.write_chunk(out);
      break;
    }
    reader.feed(piece);
    out.clear();
    while (reader.next(ev)) {
      switch (tap.on_event(ev, replacement)) {
        case dialects::openai::StreamTap::Action::forward: out.append(ev.raw); break;
        case dialects::openai::StreamTap::Action::replace: out.append(replacement); break;
        case dialects::openai::StreamTap::Action::drop: break;
      }
    }
    if (done) out.append(reader.pending());  // a last event without its blank line
    if (!out.empty()) {
      if (!ctx.first_byte) ctx.first_byte = Clock::now();
      if (!co_await ctx.ex.write_chunk(out)) {
        client_left = true;
        break;
      }
    }
    if (done) break;
  }
  ctx.usage = tap.usage();
  if (client_left) {
    source.cancel();
    ctx.status = 499;  // nginx's "client closed request"
    ctx.error = "client_closed";
    co_return;
  }
  co_await ctx.ex.end_stream();
}

net::awaitable<void> relay_whole(RequestContext& ctx, int status, std::string_view content_type,
                                 std::string body, http::Headers extra) {
  if (status >= 200 && status < 300) dialects::openai::read_usage_from_body(body, ctx.usage);
  ctx.status = status;
  auto headers = base_headers(ctx, content_type.empty() ? "application/json" : content_type);
  for (auto& h : extra) headers.push_back(std::move(h));
  co_await ctx.ex.respond(status, headers, std::move(body));
}

}  // namespace tollgate::gateway
