// Phase 10, record: metrics, the usage record and the access log line. The line is built in one
// pass and handed to the access log, whose own thread writes lines in batches (obs/access_log.h).
#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <re2/re2.h>
#include <spdlog/spdlog.h>

#include "core/decimal.h"
#include "core/json_scan.h"
#include "gateway/phases.h"
#include "guardrails/guardrail.h"
#include "obs/access_log.h"

namespace tollgate::gateway {
namespace {

// The request's guardrail hits as a JSON array, "" when there were none.
std::string guard_hits_json(const RequestContext& ctx) {
  if (ctx.guard_hits.empty()) return {};
  std::string out = "[";
  for (const auto& h : ctx.guard_hits) {
    if (out.size() > 1) out += ',';
    out += fmt::format(R"({{"policy":{},"entity":{},"stage":"{}","acted":{},"count":{}}})", core::json_quote(h.policy),
                       core::json_quote(h.entity), h.output ? "answer" : "request", h.acted, h.count);
  }
  out += ']';
  return out;
}

// Credentials a captured body may hold that no PII pattern recognises: every provider's, the
// caller's own key, the admin key, and anything shaped like a Tollgate virtual key.
void scrub_credentials(const RequestContext& ctx, std::string& text) {
  if (ctx.snapshot) ctx.snapshot->secrets().scrub(text);
  core::SecretScrubber own;
  std::string_view auth = ctx.ex.header("authorization");
  if (auto sp = auth.find(' '); sp != std::string_view::npos) own.add(auth.substr(sp + 1));
  own.add(auth);
  own.add(ctx.ex.header("x-api-key"));
  own.add(ctx.gateway.config.admin_key);
  own.scrub(text);
  static const RE2 virtual_key(R"(\btg-[A-Za-z0-9_\-]{16,})");
  RE2::GlobalReplace(&text, virtual_key, std::string(core::SecretScrubber::kMask));
}

// The cache's verdict as a JSON object, "" when no cache policy applied.
std::string cache_json(const RequestContext& ctx) {
  const auto& c = ctx.cache;
  if (c.status.empty()) return {};
  if (c.status != "hit") return fmt::format(R"({{"status":"{}"}})", c.status);
  return fmt::format(R"({{"status":"hit","saved_input_tokens":{},"saved_output_tokens":{},"saved_usd":{}{}}})",
                     c.saved.input_tokens, c.saved.output_tokens,
                     c.saved_usd ? fmt::format("{:.8f}", *c.saved_usd) : "null",
                     c.similarity >= 0 ? fmt::format(R"(,"similarity":{:.4f})", c.similarity) : "");
}

// `"cost_usd":` followed by what {:.8f} writes for `usd`.
void append_cost(std::string& line, double usd) {
  line += R"("cost_usd":)";
  core::append_fixed(line, usd, 8);
  line += ',';
}

// The access log line, built in one pass into a per-thread buffer (no temporary per field);
// the writer thread only copies finished lines out (obs/access_log.h).
std::string& access_line(const RequestContext& ctx, std::string_view provider, double duration, double ttft,
                         const std::string& guard_hits, const std::string& cache) {
  thread_local std::string line;
  thread_local int64_t stamp_secs = -1;
  thread_local char stamp[24];  // "YYYY-MM-DDTHH:MM:SS", formatted once a second
  using obs::append_json_string;
  auto wall = std::chrono::system_clock::now();
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  if (ms / 1000 != stamp_secs) {
    stamp_secs = ms / 1000;
    std::time_t secs = static_cast<std::time_t>(stamp_secs);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::strftime(stamp, sizeof stamp, "%FT%T", &tm);
  }
  auto str_or_null = [](std::string& out, std::string_view v, bool present) {
    if (present) append_json_string(out, v);
    else out += "null";
  };
  line.clear();
  const int milli = static_cast<int>(ms % 1000);
  const char ts_ms[] = {'.', static_cast<char>('0' + milli / 100), static_cast<char>('0' + milli / 10 % 10),
                        static_cast<char>('0' + milli % 10), 'Z', '"'};
  line += R"({"ts":")";
  line += stamp;
  line.append(ts_ms, sizeof ts_ms);
  line += R"(,"request_id":)";
  append_json_string(line, ctx.request_id);
  line += R"(,"route":")";
  line += route_name(ctx.route);
  line += R"(","key":)";
  str_or_null(line, ctx.key ? std::string_view(ctx.key->name) : std::string_view(), ctx.key != nullptr);
  line += R"(,"model":)";
  str_or_null(line, ctx.facts.model, !ctx.facts.model.empty());
  line += R"(,"provider":)";
  str_or_null(line, provider, !provider.empty());
  line += R"(,"upstream_model":)";
  str_or_null(line, ctx.target ? std::string_view(ctx.target->upstream_model) : std::string_view(), ctx.target.has_value());
  line += R"(,"status":)";
  core::append_int(line, ctx.status);
  line += ctx.facts.stream ? R"(,"stream":true,)" : R"(,"stream":false,)";
  if (ctx.usage.known) {
    line += R"("input_tokens":)";
    core::append_int(line, ctx.usage.input_tokens);
    line += R"(,"output_tokens":)";
    core::append_int(line, ctx.usage.output_tokens);
    line += R"(,"cached_tokens":)";
    core::append_int(line, ctx.usage.cached_input_tokens);
    line += R"(,"cache_creation_tokens":)";
    core::append_int(line, ctx.usage.cache_creation_tokens);
    line += ',';
  } else
    line += R"("input_tokens":null,"output_tokens":null,"cached_tokens":null,"cache_creation_tokens":null,)";
  if (ctx.cost_usd) append_cost(line, *ctx.cost_usd);
  else line += R"("cost_usd":null,)";
  line += R"("latency_ms":)";
  core::append_fixed(line, duration * 1000, 3);
  if (ttft >= 0) {
    line += R"(,"ttft_ms":)";
    core::append_fixed(line, ttft * 1000, 3);
    line += R"(,"attempts":)";
  } else {
    line += R"(,"ttft_ms":null,"attempts":)";
  }
  core::append_int(line, ctx.attempts);
  line += R"(,"error":)";
  str_or_null(line, ctx.error, !ctx.error.empty());
  line += R"(,"guardrails":)";
  line += guard_hits.empty() ? std::string_view("[]") : std::string_view(guard_hits);
  line += R"(,"dropped":[)";
  for (std::size_t i = 0; i < ctx.dropped.size(); ++i) {
    if (i) line += ',';
    append_json_string(line, ctx.dropped[i]);
  }
  line += R"(],"cache":)";
  line += cache.empty() ? std::string_view("null") : std::string_view(cache);
  if (ctx.route == Route::mcp) {
    line += R"(,"mcp":{"server":)";
    append_json_string(line, ctx.mcp_server);
    line += R"(,"method":)";
    append_json_string(line, ctx.mcp_method);
    line += R"(,"name":)";
    append_json_string(line, ctx.mcp_subject);
    line += R"(,"client":)";
    append_json_string(line, ctx.mcp_client);
    line += R"(,"request_bytes":)";
    core::append_int(line, static_cast<int64_t>(ctx.ex.body().size()));
    line += '}';
  }
  line += '}';
  return line;
}

}  // namespace

void record(RequestContext& ctx) {
  auto now = Clock::now();
  double duration = std::chrono::duration<double>(now - ctx.started).count();
  double ttft = ctx.first_byte ? std::chrono::duration<double>(*ctx.first_byte - ctx.started).count() : -1;
  // An MCP request names its server as the provider (configured names only).
  std::string_view provider = ctx.target ? std::string_view(ctx.target->provider->spec.name) : std::string_view(ctx.mcp_server);
  // The model label is set only once resolved, so unknown names cannot grow the series.
  // A pattern alias answers to any name: the alias, not the name, labels the series.
  std::string_view model = ctx.target ? ctx.alias() : "";

  obs::RequestSample s;
  s.route = route_name(ctx.route);
  s.model = model;
  s.provider = provider;
  s.status = ctx.status;
  s.duration_seconds = duration;
  s.ttft_seconds = ttft;
  s.usage = ctx.usage;
  s.cost_usd = ctx.cost_usd;
  if (ctx.key) s.key = ctx.key->name;
  if (ctx.team) s.team = ctx.team->name;
  if (ctx.target) {
    s.provider_kind = core::to_string(ctx.target->provider->spec.kind);
    s.upstream_model = ctx.target->upstream_model;
  }
  if (ctx.upstream_seconds >= 0) s.upstream_seconds = ctx.upstream_seconds;
  ctx.gateway.metrics.record(s);
  if (ctx.cache.status == "hit" || ctx.cache.status == "miss")
    ctx.gateway.metrics.cache_result(model, s.key, s.team, ctx.cache.status == "hit", ctx.cache.saved,
                                     ctx.cache.saved_usd);
  const std::string cache = cache_json(ctx);

  const double ttft_ms = ttft >= 0 ? ttft * 1000 : -1;
  const std::string guard_hits = guard_hits_json(ctx);
  if (auto* sink = ctx.gateway.usage.get()) {
    obs::UsageRecord r;
    r.request_id = ctx.request_id;
    r.ts = std::chrono::duration_cast<std::chrono::milliseconds>(ctx.started_wall.time_since_epoch()).count();
    if (ctx.key) {
      r.key_id = ctx.key->id;
      r.key_name = ctx.key->name;
      r.team = ctx.key->rules().team;
    }
    r.model = std::string(model);
    r.provider = std::string(provider);
    if (ctx.target) r.upstream_model = ctx.target->upstream_model;
    r.route = std::string(route_name(ctx.route));
    if (ctx.route == Route::mcp) {  // method and tool or URI, in the model columns
      r.model = ctx.mcp_method;
      r.upstream_model = ctx.mcp_subject;
    }
    r.status = ctx.status;
    r.stream = ctx.facts.stream;
    r.usage = ctx.usage;
    r.cost_usd = ctx.cost_usd;
    r.latency_ms = duration * 1000;
    if (ttft_ms >= 0) r.ttft_ms = ttft_ms;
    r.attempts = ctx.attempts;
    r.error = ctx.error;
    r.guardrails = guard_hits;
    r.cache = cache;
    sink->submit(std::move(r));  // never blocks: a full queue drops and counts
  }
  if (auto* traces = ctx.gateway.traces.get(); traces && ctx.target && ctx.attempts > 0) {
    auto nanos = [](std::chrono::system_clock::time_point t) {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    };
    obs::GenAiCall call;
    call.request_id = ctx.request_id;
    call.route = std::string(route_name(ctx.route));
    call.provider_kind = std::string(core::to_string(ctx.target->provider->spec.kind));
    call.provider = ctx.target->provider->spec.name;
    call.model_alias = ctx.facts.model;
    call.request_model = ctx.target->upstream_model;
    if (ctx.key) call.key_id = ctx.key->id;
    call.server_address = ctx.target->provider->endpoint.host;
    call.server_port = ctx.target->provider->endpoint.port;
    call.stream = ctx.facts.stream;
    call.status = ctx.status;
    call.error = ctx.error;
    call.attempts = ctx.attempts;
    call.usage = ctx.usage;
    call.cost_usd = ctx.cost_usd;
    call.start_unix_nano = nanos(ctx.started_wall);
    call.end_unix_nano = call.start_unix_nano + static_cast<int64_t>(duration * 1e9);
    if (ttft >= 0) call.first_token_unix_nano = call.start_unix_nano + static_cast<int64_t>(ttft * 1e9);
    call.parent = obs::parse_traceparent(ctx.ex.header("traceparent"));
    traces->submit(obs::genai_span(call));
  }

  if (ctx.capture && ctx.gateway.capture_log && ctx.gateway.capture_redaction) {
    // Bodies pass the built-in redaction (every PII kind and secret) before they are written.
    const auto& policies = *ctx.gateway.capture_redaction;
    static const std::vector<std::string> all{"capture-redaction"};
    auto sel = policies.select(all);
    std::string_view req = ctx.request_body();
    req = req.substr(0, ctx.gateway.config.capture_max_bytes);
    auto request = policies.scan_output(sel, req, nullptr).text;
    auto answer = policies.scan_output(sel, ctx.captured_answer, nullptr).text;
    // Then what no pattern knows: the gateway's own credentials, literally.
    scrub_credentials(ctx, request);
    scrub_credentials(ctx, answer);
    ctx.gateway.capture_log->info(R"({{"request_id":{},"route":"{}","key":{},"model":{},"status":{},"request":{},"answer":{}}})",
                                  core::json_quote(ctx.request_id), route_name(ctx.route),
                                  ctx.key ? core::json_quote(ctx.key->name) : "null",
                                  ctx.facts.model.empty() ? "null" : core::json_quote(ctx.facts.model), ctx.status,
                                  core::json_quote(request), core::json_quote(answer));
  }

  if (auto* log = ctx.gateway.access_log.get()) {
    std::string& line = access_line(ctx, provider, duration, ttft, guard_hits, cache);
    log->write(line);
  }
}

}  // namespace tollgate::gateway
