// Prometheus metrics. Each worker thread records into its own shard; a scrape merges the
// shards. The set of metrics is declared here, in one place, so what the gateway emits is
// visible at a glance.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <optional>
#include <string_view>

#include "core/usage.h"

namespace tollgate::obs {

// What one finished request contributes.
struct RequestSample {
  std::string_view route;     // "chat.completions", "embeddings", ...
  std::string_view model;     // the alias the caller named ("" when none was resolved)
  std::string_view provider;  // "" when no upstream was reached
  std::string_view provider_kind;  // openai, anthropic, ... (gen_ai.provider.name)
  std::string_view key;       // the key's name (bounded: keys are configured), never the secret
  std::string_view team;      // the key's team (bounded: teams are configured), "" when none
  std::string_view upstream_model;  // gen_ai.request.model: the model the request was made to
  int status = 0;
  double duration_seconds = 0;
  double ttft_seconds = -1;   // time to first byte of the answer body; < 0 when not streamed
  double upstream_seconds = -1;  // the answering attempt, send to last byte; < 0: none
  core::Usage usage;
  std::optional<double> cost_usd;
};

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void record(const RequestSample& s);
  void upstream_failure(std::string_view provider, std::string_view reason);
  void config_reload(bool ok);
  // A request refused (or flagged) by traffic control: requests, tokens, concurrency,
  // budget, unavailable, budget_warning.
  void limit_event(std::string_view reason);
  // A guardrail hit: the policy, what it found (an entity or rule, never the value), and
  // whether it acted (false: monitor mode, or below an injection threshold).
  void guardrail_hit(std::string_view policy, std::string_view entity, bool acted);
  // A call to a moderation policy's endpoint: outcome "ok" or "error", and how long it took.
  void moderation_call(std::string_view policy, std::string_view outcome, double seconds);
  // The response cache's verdict on a request under a cache policy (hit or miss), by model,
  // key and team; a hit adds the tokens and USD it saved, or counts as unpriced when the price
  // is unknown (its USD is not a zero).
  void cache_result(std::string_view model, std::string_view key, std::string_view team, bool hit,
                    const core::Usage& saved, std::optional<double> saved_usd);

  std::atomic<int64_t>& in_flight() { return in_flight_; }
  // Upstream calls that failed for the gateway's own want (descriptors, memory), kept apart
  // from the providers' failures.
  std::atomic<uint64_t>& local_failures() { return local_failures_; }

  // The Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct Shards;
  std::unique_ptr<Shards> shards_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<uint64_t> local_failures_{0};
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
  std::array<std::atomic<uint64_t>, 6> limit_events_{};
};

}  // namespace tollgate::obs
