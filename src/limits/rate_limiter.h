// Traffic control: request, token and concurrency limits and USD budgets, checked together at
// the "admit" phase and reconciled with the answer's real usage at the "settle" phase.
//
// One interface, two backends:
//   make_local_limiter()  in process, shared by every worker thread, exact (the default)
//   make_redis_limiter()  shared by every replica through one Redis, one round trip per admit
//
// The life of a request:
//   std::unique_ptr<Admission> hold;
//   Decision d = limiter.admit(req, hold);      // hold is set only when d.admitted
//   ... dispatch and relay; the concurrency slot stays held while `hold` lives ...
//   hold->settle(actual_tokens, cost_usd);      // once, at the end (also for abandoned streams,
//   hold.reset();                               //  with the usage counted so far)
//
// Windows are GCRA (a continuously refilled bucket, like OpenAI's and Anthropic's own limits):
// an idle scope may use its whole limit at once, then refills at limit/window. There is no
// window edge, so never 2x the limit around one. See src/limits/AGENTS.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tollgate::limits {

// The limits of one scope. An empty optional is "no limit". Values <= 0 are "no limit" too.
struct LimitSpec {
  std::optional<int64_t> rpm, rpd;   // requests per minute / per day
  std::optional<int64_t> tpm, tpd;   // tokens per minute / per day (input + output)
  std::optional<int64_t> concurrency;  // requests in flight (a stream counts until it ends)

  bool empty() const;
};

// A key's spend cap in USD, from the actual cost of settled requests. Day and month are UTC
// calendar periods; total never resets.
struct BudgetSpec {
  std::optional<double> usd_per_day, usd_per_month, usd_total;
  bool warn_only = false;  // over budget: admit, and set Decision::budget_warning

  bool empty() const;
};

// One request, checked against every scope at once (AND): the key, its team, the model, and
// the key on that model. Nothing is consumed unless every scope admits. An empty key_id, team
// or model skips the scopes that need it.
struct AdmissionRequest {
  std::string key_id;  // a stable key identity (its name or id, not the secret)
  std::string team;    // the key's team ("" : none); its limits and budget are shared by its keys
  std::string model;   // the public alias
  LimitSpec key_limits, team_limits, model_limits, key_model_limits;
  BudgetSpec key_budget, team_budget;
  int64_t estimated_tokens = 0;  // prompt estimate + max_tokens; charged now, reconciled at settle
  // The estimate priced at the model's known prices. With a budget it is reserved at admit
  // (spent + live reservations + this one must fit the cap) and replaced by the actual cost
  // at settle, so concurrent requests cannot overshoot the budget together.
  double estimated_cost_usd = 0;
};

// One rate window as OpenAI's headers show it (x-ratelimit-limit-*, -remaining-*, -reset-*).
struct WindowStatus {
  int64_t limit = 0;
  int64_t remaining = 0;             // after this request, when admitted
  std::chrono::milliseconds reset{0};  // until the window is fully refilled
};

struct Decision {
  // Why not admitted: budget -> 429 insufficient_quota; requests, tokens, concurrency ->
  // 429 rate_limit_exceeded; unavailable (Redis unreachable and fail_open off) -> the
  // gateway's choice, 429 rate_limit_exceeded with Retry-After is what clients retry best.
  enum class Reason { none, requests, tokens, concurrency, budget, unavailable };

  bool admitted = true;
  Reason reason = Reason::none;
  // Time until a retry can succeed (Retry-After, rounded up to seconds). Zero with
  // reason == budget means "not before the budget is raised" (a total budget).
  std::chrono::milliseconds retry_after{0};
  bool too_large = false;        // the estimate exceeds a whole token limit: waiting won't help
  bool budget_warning = false;   // admitted over a warn-only budget
  bool team_budget = false;      // the budget refused or warned about is the team's (else the key's)
  bool degraded = false;         // Redis unreachable: decided by RedisOptions::fail_open

  // The tightest request and token windows that apply (least remaining); empty when none.
  std::optional<WindowStatus> requests, tokens;
};

// What an admitted request holds. The destructor releases its concurrency slots. Settle
// before destroying it; an admission destroyed unsettled keeps its estimate as the charge and
// adds no spend. Not thread-safe: it belongs to one request.
class Admission {
 public:
  virtual ~Admission() = default;
  // Reconciles the token windows from the estimate to `actual_tokens` (input + output, the
  // partial count for an abandoned stream) and replaces the budget reservation by `cost_usd`.
  // Only the first call counts. Destroyed unsettled, the reservation is released and no
  // spend is added (the request's cost is unknown).
  virtual void settle(int64_t actual_tokens, double cost_usd) = 0;
};

// Counters for /metrics, all monotonic.
struct LimiterStats {
  uint64_t admitted = 0;
  uint64_t rejected = 0;             // by a limit or a budget (not by fail-closed)
  uint64_t redis_errors = 0;         // failed commands and connects (Redis backend)
  uint64_t fail_open_admits = 0;     // admitted without Redis because it was unreachable
  uint64_t fail_closed_rejects = 0;  // rejected because Redis was unreachable
  uint64_t settle_dropped = 0;       // settle/release updates lost (queue full at an outage)
};

class RateLimiter {
 public:
  virtual ~RateLimiter();
  // Thread-safe; call from any worker thread. `out` is set when admitted, reset otherwise.
  // The Redis backend does one short blocking round trip on the calling thread (see
  // RedisOptions); the local backend never waits on anything but a per-scope lock.
  virtual Decision admit(const AdmissionRequest& req, std::unique_ptr<Admission>& out) = 0;
  virtual LimiterStats stats() const = 0;
};

// A warn-only budget's spend crossed 50, 80 or 100% of one of its caps. Reported once per
// threshold and period: by the settle that crossed it (spend only grows within a period), on
// the limiter's own thread or the settling one, never while a lock is held.
struct BudgetCrossing {
  bool team = false;     // the team's budget, else the key's
  std::string id;        // the key id or the team name
  const char* period;    // "day", "month" or "total"
  int percent;           // 50, 80 or 100
  double spent_usd, cap_usd;
};
using BudgetObserver = std::function<void(const BudgetCrossing&)>;

// Time source, injectable for tests. Windows run on the monotonic clock; budget periods on the
// wall clock (UTC).
class LimiterClock {
 public:
  virtual ~LimiterClock() = default;
  virtual std::chrono::steady_clock::time_point now() const = 0;
  virtual std::chrono::system_clock::time_point wall() const = 0;
};

struct LocalOptions {
  std::shared_ptr<const LimiterClock> clock;  // null: the real clocks
  BudgetObserver on_crossing;                 // null: none
};

std::unique_ptr<RateLimiter> make_local_limiter(LocalOptions options = {});

struct RedisOptions {
  std::string url = "redis://127.0.0.1:6379";  // redis://[:password@]host[:port][/db]
  std::string key_prefix = "tollgate:";
  bool fail_open = true;  // Redis unreachable: admit (true) or reject with 429 (false)
  std::chrono::milliseconds connect_timeout{50};
  std::chrono::milliseconds command_timeout{50};
  // After a failure, Redis is not tried again (every admit takes the fail_open path at once)
  // for a backoff that doubles from min to max, and resets when a probe succeeds.
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{2'000};
  // Concurrency slots and budget reservations are leases renewed while their Admission
  // lives; a crashed replica's free themselves after this long.
  std::chrono::milliseconds concurrency_lease{60'000};
  std::size_t settle_queue_max = 100'000;  // pending settle/release updates before dropping
  std::shared_ptr<const LimiterClock> clock;  // wall clock for budget periods; null: real
  BudgetObserver on_crossing;  // called on the background thread from the settle script's answer
};

// Throws std::invalid_argument for a URL it cannot use. Does not connect: an unreachable Redis
// at start is an outage like any other.
std::unique_ptr<RateLimiter> make_redis_limiter(const RedisOptions& options);

// "20ms", "1s", "1.5s", "6m0s", "1h2m3s": the duration format of OpenAI's x-ratelimit-reset-*.
std::string format_reset(std::chrono::milliseconds d);

// Seconds for a Retry-After header: retry_after rounded up, at least 1.
int64_t retry_after_seconds(std::chrono::milliseconds d);

}  // namespace tollgate::limits
