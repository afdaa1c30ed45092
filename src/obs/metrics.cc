#include "obs/metrics.h"

#include <array>
#include <map>
#include <mutex>
#include <tuple>

#include <fmt/format.h>

#include "core/target_stats.h"
#include "http/server.h"
#include "obs/otlp.h"

namespace tollgate::obs {
namespace {

constexpr std::array<double, 15> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                              2.5,   5,    10,    30,   60,  120, 300};
constexpr std::size_t kShards = 32;

struct Histogram {
  std::array<uint64_t, kBuckets.size()> buckets{};
  uint64_t count = 0;
  double sum = 0;
  void observe(double v) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      if (v <= kBuckets[i]) ++buckets[i];
    ++count;
    sum += v;
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < kBuckets.size(); ++i) buckets[i] += o.buckets[i];
    count += o.count;
    sum += o.sum;
  }
};

using RequestKey = std::tuple<std::string, std::string, std::string, std::string, std::string, int>;  // route model provider key team status
using CostKey = std::tuple<std::string, std::string, std::string, std::string>;  // model provider key team
using GenAiKey = std::tuple<std::string, std::string, std::string>;  // operation provider_kind model
using ModelKey = std::tuple<std::string, std::string>;                       // route model
using TokenKey = std::tuple<std::string, std::string, std::string>;          // model provider type
using FailureKey = std::tuple<std::string, std::string>;                     // provider reason

struct Shard {
  std::mutex mu;  // uncontended but for scrapes: each thread writes its own shard
  std::map<RequestKey, uint64_t> requests;
  std::map<ModelKey, Histogram> duration;
  std::map<ModelKey, Histogram> ttft;
  std::map<TokenKey, uint64_t> tokens;
  std::map<FailureKey, uint64_t> failures;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> guardrail_hits;
  std::map<std::tuple<std::string, std::string>, uint64_t> moderation_calls;  // policy outcome
  std::map<std::string, Histogram> moderation_duration;                       // policy
  std::map<ModelKey, Histogram> tpot;       // time per output token
  std::map<ModelKey, Histogram> upstream;   // the answering attempt
  std::map<ModelKey, Histogram> overhead;   // end to end minus upstream: the gateway's own time
  std::map<CostKey, double> cost;
  std::map<GenAiKey, Histogram> genai_duration;
  struct CacheCounts {
    uint64_t hits = 0, misses = 0, saved_input = 0, saved_output = 0, priced = 0, unpriced = 0;
    double saved_usd = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, CacheCounts> cache;  // model key team
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Histogram> genai_tokens;  // + token type

  // The series the last request recorded here went to. Most requests repeat the one before
  // (same route, model, key, status), and then skip a dozen map lookups, each building
  // string keys. Map entries are never erased, so the pointers stay valid; each is filled on
  // first use, so a series still appears only once something is observed in it.
  struct Recent {
    std::string route, model, provider, key, team, provider_kind, upstream_model;
    int status = -1;
    uint64_t* requests = nullptr;
    Histogram *duration = nullptr, *ttft = nullptr, *upstream = nullptr, *overhead = nullptr, *tpot = nullptr;
    Histogram *genai_duration = nullptr, *genai_input = nullptr, *genai_output = nullptr;
    uint64_t *tokens_input = nullptr, *tokens_output = nullptr, *tokens_cached = nullptr;
    double* cost = nullptr;
  } recent;
};

// Buckets for token counts (gen_ai.client.token.usage).
constexpr std::array<double, 14> kTokenBuckets = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536,
                                                  262144, 1048576, 4194304, 16777216, 67108864};
struct TokenHistogram {
  std::array<uint64_t, kTokenBuckets.size()> buckets{};
  uint64_t count = 0;
  double sum = 0;
};

std::size_t shard_index() {
  static std::atomic<std::size_t> next{0};
  thread_local std::size_t idx = next++ % kShards;
  return idx;
}

std::string escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void render_histogram(std::string& out, std::string_view name, std::string_view labels,
                      const Histogram& h) {
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, kBuckets[i], h.buckets[i]);
  out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, h.count);
  out += fmt::format("{}_sum{{{}}} {}\n", name, labels, h.sum);
  out += fmt::format("{}_count{{{}}} {}\n", name, labels, h.count);
}

}  // namespace

struct Metrics::Shards {
  std::array<Shard, kShards> shard;
};

Metrics::Metrics() : shards_(std::make_unique<Shards>()) {}
Metrics::~Metrics() = default;

void Metrics::record(const RequestSample& s) {
  Shard& sh = shards_->shard[shard_index()];
  std::lock_guard lock(sh.mu);
  Shard::Recent& r = sh.recent;
  if (r.status != s.status || r.route != s.route || r.model != s.model || r.provider != s.provider ||
      r.key != s.key || r.team != s.team || r.provider_kind != s.provider_kind || r.upstream_model != s.upstream_model) {
    r = Shard::Recent{};
    r.route = s.route;
    r.model = s.model;
    r.provider = s.provider;
    r.key = s.key;
    r.team = s.team;
    r.provider_kind = s.provider_kind;
    r.upstream_model = s.upstream_model;
    r.status = s.status;
  }
  // The series' entry, looked up (and created) only the first time this series needs it.
  auto slot = [](auto*& cached, auto& map, auto&& make_key) -> auto& {
    if (!cached) cached = &map[make_key()];
    return *cached;
  };
  ++slot(r.requests, sh.requests, [&] { return RequestKey{r.route, r.model, r.provider, r.key, r.team, r.status}; });
  slot(r.duration, sh.duration, [&] { return ModelKey{r.route, r.model}; }).observe(s.duration_seconds);
  if (s.ttft_seconds >= 0) slot(r.ttft, sh.ttft, [&] { return ModelKey{r.route, r.model}; }).observe(s.ttft_seconds);
  if (s.upstream_seconds >= 0) {
    slot(r.upstream, sh.upstream, [&] { return ModelKey{r.route, r.model}; }).observe(s.upstream_seconds);
    slot(r.overhead, sh.overhead, [&] { return ModelKey{r.route, r.model}; }).observe(std::max(0.0, s.duration_seconds - s.upstream_seconds));
  }
  if (s.ttft_seconds >= 0 && s.usage.known && s.usage.output_tokens > 1)
    slot(r.tpot, sh.tpot, [&] { return ModelKey{r.route, r.model}; })
        .observe((s.duration_seconds - s.ttft_seconds) / double(s.usage.output_tokens - 1));
  if (s.cost_usd) slot(r.cost, sh.cost, [&] { return CostKey{r.model, r.provider, r.key, r.team}; }) += *s.cost_usd;
  if (!s.provider_kind.empty()) {
    const std::string_view op = s.route == "embeddings" ? "embeddings" : s.route == "completions" ? "text_completion" : "chat";
    const std::string_view kind = genai_provider_name(s.provider_kind);
    slot(r.genai_duration, sh.genai_duration, [&] { return GenAiKey{std::string(op), std::string(kind), r.upstream_model}; }).observe(s.duration_seconds);
    if (s.usage.known) {
      // Token counts go in a seconds-bucketed Histogram's sum/count only; buckets below are token-sized.
      auto& in = slot(r.genai_input, sh.genai_tokens, [&] { return std::tuple{std::string(op), std::string(kind), r.upstream_model, std::string("input")}; });
      auto& outh = slot(r.genai_output, sh.genai_tokens, [&] { return std::tuple{std::string(op), std::string(kind), r.upstream_model, std::string("output")}; });
      auto observe_tokens = [](Histogram& h, int64_t n) {
        for (std::size_t i = 0; i < kTokenBuckets.size() && i < h.buckets.size(); ++i)
          if (double(n) <= kTokenBuckets[i]) ++h.buckets[i];
        ++h.count;
        h.sum += double(n);
      };
      observe_tokens(in, s.usage.input_tokens);
      observe_tokens(outh, s.usage.output_tokens);
    }
  }
  if (s.usage.known) {
    slot(r.tokens_input, sh.tokens, [&] { return TokenKey{r.model, r.provider, "input"}; }) += s.usage.input_tokens;
    slot(r.tokens_output, sh.tokens, [&] { return TokenKey{r.model, r.provider, "output"}; }) += s.usage.output_tokens;
    if (s.usage.cached_input_tokens)
      slot(r.tokens_cached, sh.tokens, [&] { return TokenKey{r.model, r.provider, "cached_input"}; }) += s.usage.cached_input_tokens;
    if (s.usage.cache_creation_tokens)
      sh.tokens[TokenKey{r.model, r.provider, "cache_creation"}] += s.usage.cache_creation_tokens;
  }
}

void Metrics::upstream_failure(std::string_view provider, std::string_view reason) {
  Shard& sh = shards_->shard[shard_index()];
  std::lock_guard lock(sh.mu);
  ++sh.failures[FailureKey{provider, reason}];
}

void Metrics::config_reload(bool ok) { (ok ? reloads_ok_ : reloads_failed_)++; }

namespace {
constexpr std::array<std::string_view, 6> kLimitReasons{"requests", "tokens", "concurrency",
                                                       "budget", "unavailable", "budget_warning"};
}

void Metrics::guardrail_hit(std::string_view policy, std::string_view entity, bool acted) {
  Shard& sh = shards_->shard[shard_index()];
  std::lock_guard lock(sh.mu);
  ++sh.guardrail_hits[{std::string(policy), std::string(entity), acted ? "true" : "false"}];
}

void Metrics::moderation_call(std::string_view policy, std::string_view outcome, double seconds) {
  Shard& sh = shards_->shard[shard_index()];
  std::lock_guard lock(sh.mu);
  ++sh.moderation_calls[{std::string(policy), std::string(outcome)}];
  sh.moderation_duration[std::string(policy)].observe(seconds);
}

void Metrics::cache_result(std::string_view model, std::string_view key, std::string_view team, bool hit,
                           const core::Usage& saved, std::optional<double> saved_usd) {
  Shard& sh = shards_->shard[shard_index()];
  std::lock_guard lock(sh.mu);
  auto& c = sh.cache[{std::string(model), std::string(key), std::string(team)}];
  if (!hit) {
    ++c.misses;
    return;
  }
  ++c.hits;
  c.saved_input += static_cast<uint64_t>(std::max<int64_t>(saved.input_tokens, 0));
  c.saved_output += static_cast<uint64_t>(std::max<int64_t>(saved.output_tokens, 0));
  if (saved_usd) {
    ++c.priced;
    c.saved_usd += *saved_usd;
  } else {
    ++c.unpriced;
  }
}

void Metrics::limit_event(std::string_view reason) {
  for (std::size_t i = 0; i < kLimitReasons.size(); ++i)
    if (kLimitReasons[i] == reason) limit_events_[i]++;
}

std::string Metrics::render() const {
  Shard all;
  for (auto& sh : shards_->shard) {
    std::lock_guard lock(sh.mu);
    for (auto& [k, v] : sh.requests) all.requests[k] += v;
    for (auto& [k, v] : sh.duration) all.duration[k].merge(v);
    for (auto& [k, v] : sh.ttft) all.ttft[k].merge(v);
    for (auto& [k, v] : sh.tokens) all.tokens[k] += v;
    for (auto& [k, v] : sh.failures) all.failures[k] += v;
    for (auto& [k, v] : sh.tpot) all.tpot[k].merge(v);
    for (auto& [k, v] : sh.guardrail_hits) all.guardrail_hits[k] += v;
    for (auto& [k, v] : sh.moderation_calls) all.moderation_calls[k] += v;
    for (auto& [k, v] : sh.moderation_duration) all.moderation_duration[k].merge(v);
    for (auto& [k, v] : sh.upstream) all.upstream[k].merge(v);
    for (auto& [k, v] : sh.overhead) all.overhead[k].merge(v);
    for (auto& [k, v] : sh.cost) all.cost[k] += v;
    for (auto& [k, v] : sh.genai_duration) all.genai_duration[k].merge(v);
    for (auto& [k, v] : sh.genai_tokens) all.genai_tokens[k].merge(v);
    for (auto& [k, v] : sh.cache) {
      auto& c = all.cache[k];
      c.hits += v.hits;
      c.misses += v.misses;
      c.saved_input += v.saved_input;
      c.saved_output += v.saved_output;
      c.saved_usd += v.saved_usd;
      c.priced += v.priced;
      c.unpriced += v.unpriced;
    }
  }

  std::string out;
  out.reserve(4096);
  out += "# HELP tollgate_requests_total Requests answered, by route, model alias, provider, key, team and status.\n";
  out += "# TYPE tollgate_requests_total counter\n";
  for (auto& [k, v] : all.requests) {
    auto& [route, model, provider, key, team, status] = k;
    out += fmt::format(
        "tollgate_requests_total{{route=\"{}\",model=\"{}\",provider=\"{}\",key=\"{}\",team=\"{}\",status=\"{}\"}} {}\n",
        route, escape(model), escape(provider), escape(key), escape(team), status, v);
  }
  auto model_histograms = [&](std::string_view name, std::string_view help, const std::map<ModelKey, Histogram>& m) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    for (auto& [k, h] : m)
      render_histogram(out, name, fmt::format("route=\"{}\",model=\"{}\"", std::get<0>(k), escape(std::get<1>(k))), h);
  };
  model_histograms("tollgate_time_per_output_token_seconds", "Time per output token after the first (streams).", all.tpot);
  model_histograms("tollgate_upstream_duration_seconds", "The answering attempt: request sent to answer complete.", all.upstream);
  model_histograms("tollgate_gateway_overhead_seconds", "End-to-end latency minus the answering upstream attempt.", all.overhead);
  out += "# HELP tollgate_cost_usd_total Cost of actual usage in USD (requests with a known price only).\n";
  out += "# TYPE tollgate_cost_usd_total counter\n";
  for (auto& [k, v] : all.cost)
    out += fmt::format("tollgate_cost_usd_total{{model=\"{}\",provider=\"{}\",key=\"{}\",team=\"{}\"}} {:.10f}\n",
                       escape(std::get<0>(k)), escape(std::get<1>(k)), escape(std::get<2>(k)),
                       escape(std::get<3>(k)), v);
  // OpenTelemetry GenAI semantic conventions, in Prometheus naming.
  out += "# HELP gen_ai_client_operation_duration_seconds GenAI operation duration (OpenTelemetry GenAI semconv).\n";
  out += "# TYPE gen_ai_client_operation_duration_seconds histogram\n";
  for (auto& [k, h] : all.genai_duration)
    render_histogram(out, "gen_ai_client_operation_duration_seconds",
                     fmt::format("gen_ai_operation_name=\"{}\",gen_ai_provider_name=\"{}\",gen_ai_request_model=\"{}\"",
                                 std::get<0>(k), std::get<1>(k), escape(std::get<2>(k))), h);
  out += "# HELP gen_ai_client_token_usage Tokens used per operation (OpenTelemetry GenAI semconv).\n";
  out += "# TYPE gen_ai_client_token_usage histogram\n";
  for (auto& [k, h] : all.genai_tokens) {
    std::string labels = fmt::format("gen_ai_operation_name=\"{}\",gen_ai_provider_name=\"{}\",gen_ai_request_model=\"{}\",gen_ai_token_type=\"{}\"",
                                     std::get<0>(k), std::get<1>(k), escape(std::get<2>(k)), std::get<3>(k));
    for (std::size_t i = 0; i < kTokenBuckets.size(); ++i)
      out += fmt::format("gen_ai_client_token_usage_bucket{{{},le=\"{}\"}} {}\n", labels, kTokenBuckets[i], h.buckets[i]);
    out += fmt::format("gen_ai_client_token_usage_bucket{{{},le=\"+Inf\"}} {}\n", labels, h.count);
    out += fmt::format("gen_ai_client_token_usage_sum{{{}}} {}\n", labels, h.sum);
    out += fmt::format("gen_ai_client_token_usage_count{{{}}} {}\n", labels, h.count);
  }
  out += "# HELP tollgate_request_duration_seconds End-to-end request latency as the caller sees it.\n";
  out += "# TYPE tollgate_request_duration_seconds histogram\n";
  for (auto& [k, h] : all.duration)
    render_histogram(out, "tollgate_request_duration_seconds",
                     fmt::format("route=\"{}\",model=\"{}\"", std::get<0>(k), escape(std::get<1>(k))), h);
  out += "# HELP tollgate_time_to_first_token_seconds Time from request to the first streamed byte of the answer.\n";
  out += "# TYPE tollgate_time_to_first_token_seconds histogram\n";
  for (auto& [k, h] : all.ttft)
    render_histogram(out, "tollgate_time_to_first_token_seconds",
                     fmt::format("route=\"{}\",model=\"{}\"", std::get<0>(k), escape(std::get<1>(k))), h);
  out += "# HELP tollgate_tokens_total Tokens reported by providers, by type.\n";
  out += "# TYPE tollgate_tokens_total counter\n";
  for (auto& [k, v] : all.tokens) {
    auto& [model, provider, type] = k;
    out += fmt::format("tollgate_tokens_total{{model=\"{}\",provider=\"{}\",type=\"{}\"}} {}\n",
                       escape(model), escape(provider), type, v);
  }
  out += "# HELP tollgate_upstream_failures_total Upstream calls that failed before an HTTP answer.\n";
  out += "# TYPE tollgate_upstream_failures_total counter\n";
  for (auto& [k, v] : all.failures)
    out += fmt::format("tollgate_upstream_failures_total{{provider=\"{}\",reason=\"{}\"}} {}\n",
                       escape(std::get<0>(k)), std::get<1>(k), v);
  // Routing: per target (provider/upstream model), from the stats routing keeps anyway.
  auto targets = core::all_target_stats();
  auto counter = [&](std::string_view name, std::string_view help, auto field) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (auto* t : targets) out += fmt::format("{}{{target=\"{}\"}} {}\n", name, escape(t->name), (t->*field).load());
  };
  counter("tollgate_target_attempts_total", "Attempts sent to a target.", &core::TargetStats::attempts);
  counter("tollgate_target_retries_total", "Attempts that were retries of an earlier failed attempt.", &core::TargetStats::retries);
  counter("tollgate_target_failovers_total", "Retries that moved to this target from another one.", &core::TargetStats::failovers);
  counter("tollgate_target_failures_total", "Attempts that failed (connect, timeout, 429, 5xx).", &core::TargetStats::failures);
  counter("tollgate_target_cooldowns_total", "Times the target's circuit opened (or a 429 cooled it).", &core::TargetStats::cooldowns);
  counter("tollgate_routed_to_cooling_total", "Requests sent to a cooling target because no healthy one was left.", &core::TargetStats::routed_to_cooling);
  out += "# HELP tollgate_health_probes_total Active health-check probes per target, by outcome (never billed).\n# TYPE tollgate_health_probes_total counter\n";
  for (auto* t : targets) {
    out += fmt::format("tollgate_health_probes_total{{target=\"{}\",outcome=\"ok\"}} {}\n", escape(t->name), t->probes_ok.load());
    out += fmt::format("tollgate_health_probes_total{{target=\"{}\",outcome=\"failed\"}} {}\n", escape(t->name), t->probes_failed.load());
  }
  out += "# HELP tollgate_target_in_flight Attempts in progress per target.\n# TYPE tollgate_target_in_flight gauge\n";
  for (auto* t : targets) out += fmt::format("tollgate_target_in_flight{{target=\"{}\"}} {}\n", escape(t->name), t->in_flight.load());
  out += "# HELP tollgate_target_cooling Whether the target is cooling down now (circuit open).\n# TYPE tollgate_target_cooling gauge\n";
  {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    for (auto* t : targets) out += fmt::format("tollgate_target_cooling{{target=\"{}\"}} {}\n", escape(t->name), t->open_until_ms.load() > now ? 1 : 0);
  }
  out += "# HELP tollgate_target_latency_ewma_seconds Recent time to first byte per target (EWMA).\n# TYPE tollgate_target_latency_ewma_seconds gauge\n";
  for (auto* t : targets) out += fmt::format("tollgate_target_latency_ewma_seconds{{target=\"{}\"}} {}\n", escape(t->name), t->ewma_latency_us.load() / 1e6);

  out += "# HELP tollgate_guardrail_hits_total Guardrail findings, by policy, entity or rule, and whether the policy acted.\n";
  out += "# TYPE tollgate_guardrail_hits_total counter\n";
  for (auto& [k, v] : all.guardrail_hits)
    out += fmt::format("tollgate_guardrail_hits_total{{policy=\"{}\",entity=\"{}\",acted=\"{}\"}} {}\n",
                       escape(std::get<0>(k)), escape(std::get<1>(k)), std::get<2>(k), v);
  if (!all.moderation_calls.empty()) {
    out += "# HELP tollgate_guardrail_moderation_calls_total Calls to moderation endpoints, by policy and outcome (ok, error).\n";
    out += "# TYPE tollgate_guardrail_moderation_calls_total counter\n";
    for (auto& [k, v] : all.moderation_calls)
      out += fmt::format("tollgate_guardrail_moderation_calls_total{{policy=\"{}\",outcome=\"{}\"}} {}\n",
                         escape(std::get<0>(k)), std::get<1>(k), v);
    out += "# HELP tollgate_guardrail_moderation_duration_seconds Time spent waiting for moderation endpoints, by policy.\n";
    out += "# TYPE tollgate_guardrail_moderation_duration_seconds histogram\n";
    for (auto& [k, h] : all.moderation_duration)
      render_histogram(out, "tollgate_guardrail_moderation_duration_seconds", fmt::format("policy=\"{}\"", escape(k)), h);
  }
  if (!all.cache.empty()) {
    // A series with no value (saved USD where no hit's price was known) is left out, not zero.
    auto family = [&](std::string_view name, std::string_view help, std::string_view type, auto value) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
      for (auto& [k, c] : all.cache)
        if (std::optional<std::string> v = value(c))
          out += fmt::format("{}{{model=\"{}\",key=\"{}\",team=\"{}\"}} {}\n", name, escape(std::get<0>(k)),
                             escape(std::get<1>(k)), escape(std::get<2>(k)), *v);
    };
    using Value = std::optional<std::string>;
    family("tollgate_cache_hits_total", "Requests answered from the response cache.", "counter", [](auto& c) -> Value { return fmt::to_string(c.hits); });
    family("tollgate_cache_misses_total", "Requests under a cache policy that the cache could not answer.", "counter", [](auto& c) -> Value { return fmt::to_string(c.misses); });
    family("tollgate_cache_saved_input_tokens_total", "Prompt tokens cache hits did not spend.", "counter", [](auto& c) -> Value { return fmt::to_string(c.saved_input); });
    family("tollgate_cache_saved_output_tokens_total", "Completion tokens cache hits did not spend.", "counter", [](auto& c) -> Value { return fmt::to_string(c.saved_output); });
    family("tollgate_cache_saved_usd_total", "What cache hits of a known price would have cost (absent until one hit's price is known; see tollgate_cache_unpriced_hits_total).", "counter",
           [](auto& c) -> Value { return c.priced ? Value(fmt::format("{:.8f}", c.saved_usd)) : std::nullopt; });
    family("tollgate_cache_unpriced_hits_total", "Cache hits whose saving is unknown: the model's price is not known.", "counter", [](auto& c) -> Value { return fmt::to_string(c.unpriced); });
  }
  out += "# HELP tollgate_local_failures_total Upstream calls that failed for the gateway's own want of descriptors or memory (not counted against providers).\n";
  out += fmt::format("# TYPE tollgate_local_failures_total counter\ntollgate_local_failures_total {}\n", local_failures_.load());
  {
    auto l = http::listener_counters();
    out += "# HELP tollgate_accept_errors_total Connections the listeners could not accept (out of descriptors and the like).\n";
    out += fmt::format("# TYPE tollgate_accept_errors_total counter\ntollgate_accept_errors_total {}\n", l.accept_errors);
    out += "# HELP tollgate_overload_refusals_total Callers answered 503 at once because the connection cap was reached.\n";
    out += fmt::format("# TYPE tollgate_overload_refusals_total counter\ntollgate_overload_refusals_total {}\n", l.refused);
    out += "# HELP tollgate_connections_open Caller connections open now.\n";
    out += fmt::format("# TYPE tollgate_connections_open gauge\ntollgate_connections_open {}\n", l.open);
  }
  out += "# HELP tollgate_requests_in_flight Requests being handled now.\n";
  out += "# TYPE tollgate_requests_in_flight gauge\n";
  out += fmt::format("tollgate_requests_in_flight {}\n", in_flight_.load());
  out += "# HELP tollgate_limit_rejections_total Requests refused by traffic control, by reason (budget_warning: admitted over a warn-only budget).\n";
  out += "# TYPE tollgate_limit_rejections_total counter\n";
  for (std::size_t i = 0; i < kLimitReasons.size(); ++i)
    out += fmt::format("tollgate_limit_rejections_total{{reason=\"{}\"}} {}\n", kLimitReasons[i], limit_events_[i].load());
  out += "# HELP tollgate_config_reloads_total Resource reloads, by result.\n";
  out += "# TYPE tollgate_config_reloads_total counter\n";
  out += fmt::format("tollgate_config_reloads_total{{result=\"ok\"}} {}\n", reloads_ok_.load());
  out += fmt::format("tollgate_config_reloads_total{{result=\"rejected\"}} {}\n", reloads_failed_.load());
  return out;
}

}  // namespace tollgate::obs
