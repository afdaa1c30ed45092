// Phase 10, record: metrics and the access log line. The log line is handed to spdlog's async
// logger, which formats and writes it on its own thread, off the request path.
#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/json_scan.h"
#include "gateway/phases.h"

namespace tollgate::gateway {

void record(RequestContext& ctx) {
  auto now = Clock::now();
  double duration = std::chrono::duration<double>(now - ctx.started).count();
  double ttft = ctx.first_byte ? std::chrono::duration<double>(*ctx.first_byte - ctx.started).count() : -1;
  std::string_view provider = ctx.target ? std::string_view(ctx.target->provider->spec.name) : "";
  // The model label is set only once resolved, so unknown names cannot grow the series.
  std::string_view model = ctx.target ? std::string_view(ctx.facts.model) : "";

  obs::RequestSample s;
  s.route = route_name(ctx.route);
  s.model = model;
  s.provider = provider;
  s.status = ctx.status;
  s.duration_seconds = duration;
  s.ttft_seconds = ttft;
  s.usage = ctx.usage;
  ctx.gateway.metrics.record(s);

  if (auto& log = ctx.gateway.access_log) {
    auto wall = std::chrono::system_clock::now();
    std::time_t secs = std::chrono::system_clock::to_time_t(wall);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%FT%T", &tm);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count() % 1000;
    log->info(
        R"({{"ts":"{}.{:03d}Z","request_id":{},"route":"{}","key":{},"model":{},"provider":{},"upstream_model":{},"status":{},"stream":{},"input_tokens":{},"output_tokens":{},"cached_tokens":{},"latency_ms":{:.3f},"ttft_ms":{},"attempts":{},"error":{}}})",
        ts, static_cast<int>(millis), core::json_quote(ctx.request_id),
        route_name(ctx.route), ctx.key ? core::json_quote(ctx.key->name) : "null",
        ctx.facts.model.empty() ? "null" : core::json_quote(ctx.facts.model),
        provider.empty() ? "null" : core::json_quote(provider),
        ctx.target ? core::json_quote(ctx.target->upstream_model) : "null", ctx.status,
        ctx.facts.stream, ctx.usage.known ? fmt::to_string(ctx.usage.input_tokens) : "null",
        ctx.usage.known ? fmt::to_string(ctx.usage.output_tokens) : "null",
        ctx.usage.known ? fmt::to_string(ctx.usage.cached_input_tokens) : "null", duration * 1000,
        ttft >= 0 ? fmt::format("{:.3f}", ttft * 1000) : "null", ctx.attempts,
        ctx.error.empty() ? "null" : core::json_quote(ctx.error));
  }
}

}  // namespace tollgate::gateway
