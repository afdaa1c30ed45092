// What the gateway has seen of one target (a provider and an upstream model): requests in
// flight, latency, and the state of its circuit breaker. Lives across reloads (a snapshot
// points at it; the registry keeps it), shared by all worker threads through atomics only.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::core {

struct TargetStats {
  std::string name;  // "provider/upstream-model", the label in metrics and x-tollgate-target

  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> ewma_latency_us{0};  // time to first byte (streams) or answer; 0: unknown
  std::atomic<uint32_t> consecutive_failures{0};
  std::atomic<int64_t> open_until_ms{0};    // steady-clock ms; 0: circuit closed
  std::atomic<bool> probing{false};         // a half-open probe is in flight
  std::atomic<bool> rate_limited{false};    // the cooldown came from a 429, not from failures

  // Counters for metrics.
  std::atomic<uint64_t> attempts{0}, retries{0}, failovers{0}, failures{0}, cooldowns{0};
  // Requests sent here while it was cooling, because no other target of the plan was left.
  std::atomic<uint64_t> routed_to_cooling{0};
  // Active health checks (routing/health_check.h): probes by outcome, apart from attempts.
  std::atomic<uint64_t> probes_ok{0}, probes_failed{0};
};

// The stats of a target, created on first use and kept for the life of the process (bounded
// by the targets ever configured). Takes a lock: call when building a snapshot, not per request.
TargetStats* target_stats_for(std::string_view provider, std::string_view upstream_model);

// Every target's stats, for a metrics scrape.
std::vector<TargetStats*> all_target_stats();

}  // namespace tollgate::core
