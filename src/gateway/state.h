// What every worker thread shares: the process config, the current resources snapshot, the
// metrics and the access log. Built once by the runtime; read by every request.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "core/process_config.h"
#include "core/snapshot.h"
#include "limits/rate_limiter.h"
#include "obs/access_log.h"
#include "obs/metrics.h"
#include "obs/otlp.h"
#include "obs/usage_sink.h"

namespace tollgate::guardrails {
class CompiledPolicies;
}
namespace tollgate::cache {
class Backends;
}

namespace tollgate::gateway {
class ResponseStore;
}
namespace tollgate::obs {
class BudgetAlerts;
}

namespace spdlog {
class logger;
}

namespace tollgate::gateway {

// Why the resource store cannot be read now ("" while it can). Set by the runtime's poller;
// read by /readyz.
class StoreHealth {
 public:
  void set(std::string problem) {
    std::lock_guard lock(mutex_);
    problem_ = std::move(problem);
  }
  std::string problem() const {
    std::lock_guard lock(mutex_);
    return problem_;
  }

 private:
  mutable std::mutex mutex_;
  std::string problem_;
};

// Where the limiter's budget crossings go: a log line and a webhook alert (budget_alert.cc).
struct GatewayState;
limits::BudgetObserver budget_observer(GatewayState& state);

struct GatewayState {
  core::ProcessConfig config;
  core::SnapshotHolder snapshots;
  obs::Metrics metrics;
  std::unique_ptr<obs::AccessLog> access_log;  // null: access log off
  // Before the limiter: it reports budget crossings here until it is destroyed.
  std::shared_ptr<obs::BudgetAlerts> budget_alerts;
  std::unique_ptr<limits::RateLimiter> limiter;  // shared by every worker thread
  std::unique_ptr<obs::UsageSink> usage;         // null: usage records off
  std::shared_ptr<obs::UsageStore> usage_store;  // the same store, for queries
  std::unique_ptr<obs::OtlpExporter> traces;     // null: tracing off
  // Stored Responses API answers and the key that seals reasoning (stored_responses.h);
  // null: responses.store off.
  std::shared_ptr<ResponseStore> responses;
  // Body capture (opt-in): its log and the redaction every captured body goes through.
  std::shared_ptr<spdlog::logger> capture_log;
  std::shared_ptr<const guardrails::CompiledPolicies> capture_redaction;
  std::shared_ptr<cache::Backends> cache;        // the response cache's stores, by policy
  std::atomic<bool> ready{false};
  std::atomic<bool> draining{false};
  int64_t started_unix = 0;
  StoreHealth store_health;
};

// What /readyz answers (status, JSON body), on both listeners.
std::pair<int, std::string> readiness(const GatewayState& state);

}  // namespace tollgate::gateway
