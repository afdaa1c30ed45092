// Budget alerts: a warn budget (a key's or a team's) crossing 50, 80 or 100% of a cap is POSTed
// as JSON to a webhook, signed, and retried with backoff, off the request path.
//
// The limiter reports each crossing once (limits::BudgetCrossing); the runtime turns it into
// an alert and submit() only queues it. A thread of the alerts' own posts them: a receiver that
// answers 5xx or cannot be reached is tried again after a doubling backoff, up to
// max_attempts; a full queue drops (counted) rather than block whoever reported.
//
// The signature: `x-tollgate-signature: sha256=<hex HMAC-SHA256 of the body under the secret>`
// (as GitHub and Stripe sign theirs), so a receiver can check the body came from the gateway.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace tollgate::obs {

struct BudgetAlertsOptions {
  std::size_t queue_capacity = 4096;
  int max_attempts = 6;                            // in all, the first included
  std::chrono::milliseconds backoff_min{500};      // after the first failure; doubled each time
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds timeout{5'000};        // connect, then the answer
};

struct BudgetAlertsStats {
  uint64_t submitted = 0, delivered = 0, retried = 0, failed = 0, dropped = 0;
};

class BudgetAlerts {
 public:
  explicit BudgetAlerts(BudgetAlertsOptions options = {});
  ~BudgetAlerts();  // stop()
  BudgetAlerts(const BudgetAlerts&) = delete;
  BudgetAlerts& operator=(const BudgetAlerts&) = delete;

  // Queues one POST of `body` to `url` (http:// or https://), signed with `secret` when it is
  // not empty. Never blocks; false when the queue is full or the URL does not parse.
  bool submit(const std::string& url, const std::string& secret, std::string body);

  BudgetAlertsStats stats() const;
  // Ends the thread; what is still queued is given up (counted as failed). Idempotent.
  void stop();

 private:
  struct Pending;
  struct Target;
  void run();
  bool post(const Pending& p);
  void insert(Pending p);

  const BudgetAlertsOptions options_;
  std::unique_ptr<Target> target_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;  // by due time, earliest first
  bool stopping_ = false;
  BudgetAlertsStats stats_;
  std::thread thread_;
};

// "sha256=" + the lowercase hex HMAC-SHA256 of `body` under `secret`.
std::string budget_alert_signature(const std::string& secret, const std::string& body);

}  // namespace tollgate::obs
