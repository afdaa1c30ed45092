// The in-process backend: one state object per scope, shared by every worker thread.
//
// Why a lock per scope and not lock-free atomics: an admission must check the key, its team, the
// model and the key-on-model scope together and consume from all or none. Compare-and-swap per
// window cannot do that without a rollback that lets a concurrent request see (and be refused
// by) use that is about to be undone, so "N concurrent admissions against N admit exactly N"
// would not hold. Each scope has its own mutex, the critical section is a few integer
// operations, and the (at most four) scopes are locked in address order, so requests on
// different keys never contend and there is no deadlock.
#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "limits/plan.h"
#include "limits/rate_limiter.h"

namespace tollgate::limits {
namespace {

using namespace detail;
using i128 = __int128;

class RealClock final : public LimiterClock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
};

// A GCRA window in integer form. `debt` is the use not yet refilled, in units scaled by the
// window length: one unit (a request or a token) adds window_ns, the window holds
// limit * window_ns, and it drains by `limit` per elapsed ns. The debt does not depend on the
// limit, so a reload that changes a limit keeps the use already counted.
struct WindowState {
  i128 debt = 0;
  int64_t last_ns = 0;  // when `debt` was last written
};

i128 drained(const WindowState& w, int64_t limit, int64_t now_ns) {
  if (w.debt <= 0) return 0;
  int64_t dt = now_ns - w.last_ns;
  if (dt <= 0) return w.debt;
  i128 d = w.debt - static_cast<i128>(limit) * dt;
  return d < 0 ? 0 : d;
}

int64_t ceil_div_ms(i128 ns) {  // ns -> ms, rounded up
  return ns <= 0 ? 0 : static_cast<int64_t>((ns + 999'999) / 1'000'000);
}

int window_index(const PlannedWindow& w) {
  return (w.kind == WindowKind::tokens ? 2 : 0) + (w.per_day ? 1 : 0);
}

struct Scope {
  std::mutex mu;
  std::array<WindowState, 4> windows;  // rm, rd, tm, td
  int64_t in_flight = 0;
  // Budget spend in nano-USD, per UTC period (key and team scopes only).
  int64_t day = -1, day_spend = 0;
  int64_t month = -1, month_spend = 0;
  int64_t total_spend = 0;
  int64_t reserved = 0;  // estimated costs of admitted, unsettled requests

  void roll_budget(const BudgetPeriods& p) {
    if (day != p.day) day = p.day, day_spend = 0;
    if (month != p.month) month = p.month, month_spend = 0;
  }
};

// Scope states by id, sharded so lookups on different keys rarely share a lock. States live
// as long as the limiter: their number is bounded by keys x models in the configuration.
class ScopeTable {
 public:
  std::shared_ptr<Scope> get(const std::string& id) {
    Shard& s = shards_[std::hash<std::string>{}(id) % kShards];
    std::lock_guard lock(s.mu);
    auto& slot = s.map[id];
    if (!slot) slot = std::make_shared<Scope>();
    return slot;
  }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::shared_ptr<Scope>> map;
  };
  std::array<Shard, kShards> shards_;
};

struct Core {
  std::shared_ptr<const LimiterClock> clock;
  BudgetObserver on_crossing;
  ScopeTable scopes;
  std::atomic<uint64_t> admitted{0}, rejected{0};

  int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               clock->now().time_since_epoch())
        .count();
  }
};

class NoLimitAdmission final : public Admission {
 public:
  void settle(int64_t, double) override {}
};

class LocalAdmission final : public Admission {
 public:
  struct Charged {  // a token window charged with the estimate
    uint8_t scope, window;
    int64_t limit;
    int64_t window_ns;
  };

  std::shared_ptr<Core> core;
  std::array<std::shared_ptr<Scope>, 4> scopes;
  uint8_t n_scopes = 0;
  std::array<bool, 4> holds_slot{};
  std::array<Charged, 8> charged;
  uint8_t n_charged = 0;
  std::array<PlannedBudget, 2> budgets;  // the key's and the team's; each holds a reservation
  uint8_t n_budgets = 0;
  int64_t estimate = 0;
  bool settled = false;

  ~LocalAdmission() override {
    if (!settled) settle(estimate, 0);  // releases the reservation, adds no spend
    for (uint8_t i = 0; i < n_scopes; ++i) {
      if (!holds_slot[i]) continue;
      std::lock_guard lock(scopes[i]->mu);
      --scopes[i]->in_flight;
    }
  }

  void settle(int64_t actual_tokens, double cost_usd) override {
    if (settled) return;
    settled = true;
    int64_t delta = std::max<int64_t>(actual_tokens, 0) - estimate;
    if (delta != 0 && n_charged > 0) {
      int64_t now = core->now_ns();
      for (uint8_t i = 0; i < n_charged; ++i) {
        const Charged& c = charged[i];
        Scope& s = *scopes[c.scope];
        std::lock_guard lock(s.mu);
        WindowState& w = s.windows[c.window];
        i128 d = drained(w, c.limit, now) + static_cast<i128>(delta) * c.window_ns;
        w.debt = d < 0 ? 0 : d;
        w.last_ns = now;
      }
    }
    int64_t nano = usd_to_nano(cost_usd);
    std::vector<BudgetCrossing> crossed;
    for (uint8_t i = 0; i < n_budgets; ++i) {
      const PlannedBudget& b = budgets[i];
      if (nano <= 0 && b.reserve <= 0) continue;
      BudgetPeriods p = budget_periods(core->clock->wall());
      Scope& s = *scopes[b.scope];
      std::lock_guard lock(s.mu);
      s.reserved -= b.reserve;  // replaced by the actual cost in the same lock
      s.roll_budget(p);
      std::array<int64_t, 3> before{s.day_spend, s.month_spend, s.total_spend};
      s.day_spend += nano;
      s.month_spend += nano;
      s.total_spend += nano;
      if (core->on_crossing) budget_crossings(b, before, {s.day_spend, s.month_spend, s.total_spend}, crossed);
    }
    for (const auto& c : crossed) core->on_crossing(c);  // no lock held
  }
};

class LocalLimiter final : public RateLimiter {
 public:
  explicit LocalLimiter(LocalOptions o) : core_(std::make_shared<Core>()) {
    core_->clock = o.clock ? std::move(o.clock) : std::make_shared<RealClock>();
    core_->on_crossing = std::move(o.on_crossing);
  }

  Decision admit(const AdmissionRequest& req, std::unique_ptr<Admission>& out) override;

  LimiterStats stats() const override {
    LimiterStats s;
    s.admitted = core_->admitted.load(std::memory_order_relaxed);
    s.rejected = core_->rejected.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::shared_ptr<Core> core_;
};

Decision LocalLimiter::admit(const AdmissionRequest& req, std::unique_ptr<Admission>& out) {
  out.reset();
  Decision d;
  Plan plan = make_plan(req);
  if (plan.empty()) {
    core_->admitted.fetch_add(1, std::memory_order_relaxed);
    out = std::make_unique<NoLimitAdmission>();
    return d;
  }

  auto adm = std::make_unique<LocalAdmission>();
  adm->core = core_;
  adm->n_scopes = plan.n_scopes;
  adm->estimate = plan.estimated_tokens;
  for (uint8_t i = 0; i < plan.n_scopes; ++i) adm->scopes[i] = core_->scopes.get(plan.scopes[i].id);

  // Lock every scope, in address order.
  std::array<Scope*, 4> order{};
  for (uint8_t i = 0; i < plan.n_scopes; ++i) order[i] = adm->scopes[i].get();
  std::sort(order.begin(), order.begin() + plan.n_scopes);
  std::array<std::unique_lock<std::mutex>, 4> locks;
  for (uint8_t i = 0; i < plan.n_scopes; ++i) locks[i] = std::unique_lock(order[i]->mu);

  const int64_t now = core_->now_ns();
  std::array<i128, 16> before{}, after{};
  std::chrono::milliseconds window_retry{0};
  Decision::Reason window_reason = Decision::Reason::none;

  for (uint8_t i = 0; i < plan.n_windows; ++i) {
    const PlannedWindow& w = plan.windows[i];
    const int64_t window_ns = w.length().count() * 1'000'000;
    const int64_t cost = w.kind == WindowKind::requests ? 1 : plan.estimated_tokens;
    before[i] = drained(adm->scopes[w.scope]->windows[window_index(w)], w.limit, now);
    after[i] = before[i] + static_cast<i128>(cost) * window_ns;
    const i128 capacity = static_cast<i128>(w.limit) * window_ns;
    if (after[i] > capacity) {
      if (cost > w.limit) d.too_large = true;
      std::chrono::milliseconds wait{ceil_div_ms((after[i] - capacity) / w.limit + 1)};
      if (window_reason == Decision::Reason::none || wait > window_retry) {
        window_retry = wait;
        window_reason = w.kind == WindowKind::requests ? Decision::Reason::requests
                                                       : Decision::Reason::tokens;
      }
    }
  }

  bool concurrency_full = false;
  for (uint8_t i = 0; i < plan.n_scopes; ++i) {
    const PlannedScope& s = plan.scopes[i];
    if (s.concurrency > 0 && adm->scopes[i]->in_flight >= s.concurrency) concurrency_full = true;
  }

  // Each budget (the key's, its team's) on its own, as bits for decide_budgets().
  int64_t over_hard = 0, over_warn = 0;
  BudgetPeriods periods{};
  if (plan.n_budgets > 0) periods = budget_periods(core_->clock->wall());
  for (uint8_t g = 0; g < plan.n_budgets; ++g) {
    const PlannedBudget& b = plan.budgets[g];
    Scope& s = *adm->scopes[b.scope];
    s.roll_budget(periods);
    int64_t over = (over_cap(b.day, s.day_spend + s.reserved, b.reserve) ? budget_bit(g, 1) : 0) |
                   (over_cap(b.month, s.month_spend + s.reserved, b.reserve) ? budget_bit(g, 2) : 0) |
                   (over_cap(b.total, s.total_spend + s.reserved, b.reserve) ? budget_bit(g, 4) : 0);
    (b.warn_only ? over_warn : over_hard) |= over;
  }

  if (decide_budgets(plan, over_hard, over_warn, periods, d)) {
    d.admitted = false;
    d.reason = Decision::Reason::budget;
  } else if (window_reason != Decision::Reason::none) {
    d.admitted = false;
    d.reason = window_reason;
    d.retry_after = window_retry;
  } else if (concurrency_full) {
    d.admitted = false;
    d.reason = Decision::Reason::concurrency;
    d.retry_after = std::chrono::seconds(1);  // unknowable: when some stream ends
  }

  for (uint8_t i = 0; i < plan.n_windows; ++i) {
    const PlannedWindow& w = plan.windows[i];
    const int64_t window_ns = w.length().count() * 1'000'000;
    const i128 used = d.admitted ? after[i] : before[i];
    const i128 capacity = static_cast<i128>(w.limit) * window_ns;
    WindowStatus st;
    st.limit = w.limit;
    st.remaining = used >= capacity ? 0 : static_cast<int64_t>((capacity - used) / window_ns);
    st.reset = std::chrono::milliseconds{ceil_div_ms((used + w.limit - 1) / w.limit)};
    keep_tightest(w.kind == WindowKind::requests ? d.requests : d.tokens, st);

    if (d.admitted) {
      WindowState& ws = adm->scopes[w.scope]->windows[window_index(w)];
      ws.debt = after[i];
      ws.last_ns = now;
      if (w.kind == WindowKind::tokens)
        adm->charged[adm->n_charged++] = {w.scope, static_cast<uint8_t>(window_index(w)),
                                          w.limit, window_ns};
    }
  }

  if (!d.admitted) {
    core_->rejected.fetch_add(1, std::memory_order_relaxed);
    return d;
  }
  for (uint8_t i = 0; i < plan.n_scopes; ++i) {
    if (plan.scopes[i].concurrency > 0) {
      ++adm->scopes[i]->in_flight;
      adm->holds_slot[i] = true;
    }
  }
  for (uint8_t i = 0; i < plan.n_budgets; ++i) {
    adm->budgets[adm->n_budgets++] = plan.budgets[i];
    adm->scopes[plan.budgets[i].scope]->reserved += plan.budgets[i].reserve;
  }
  for (auto& l : locks) if (l.owns_lock()) l.unlock();
  core_->admitted.fetch_add(1, std::memory_order_relaxed);
  out = std::move(adm);
  return d;
}

}  // namespace

std::unique_ptr<RateLimiter> make_local_limiter(LocalOptions options) {
  return std::make_unique<LocalLimiter>(std::move(options));
}

}  // namespace tollgate::limits
