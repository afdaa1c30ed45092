// The in-process backend: one state object per scope, shared by every worker thread.
//
// Why a lock per scope and not lock-free atomics: an admission must check the key, its team, the
// model and the key-on-model scope together and consume from all or none. Compare-and-swap per
// window cannot do that without a rollback that lets a concurrent request see (and be refused
// by) use that is about to be undone, so "N concurrent admissions against N admit exactly N"
// would not hold. Each scope has its own lock (ScopeLock), the critical section is a few integer
// operations, and the (at most four) scopes are locked in address order, so requests on
// different keys never contend and there is no deadlock.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

// a / b for b > 0: most operands fit 64 bits, where the division is one instruction rather
// than a call to __divti3 (same truncation either way).
i128 div(i128 a, int64_t b) {
  if (static_cast<int64_t>(a) == a) return static_cast<int64_t>(a) / b;  // fits: one compare
  return a / b;
}

int64_t ceil_div_ms(i128 ns) {  // ns -> ms, rounded up
  return ns <= 0 ? 0 : static_cast<int64_t>(div(ns + 999'999, 1'000'000));
}

int window_index(const PlannedWindow& w) {
  return (w.kind == WindowKind::tokens ? 2 : 0) + (w.per_day ? 1 : 0);
}

// A scope's lock: one atomic exchange to take, one store to give back. Held for a few integer
// operations, never across a call that waits, so a thread that finds it taken spins briefly and
// then yields its core (a holder descheduled mid-section is let run). std::mutex cost ~110
// instructions a lock and unlock, and a request takes up to nine: three scopes at admit, again
// at settle, and the concurrency release (issue 18). BasicLockable, for lock_guard/unique_lock.
class ScopeLock {
 public:
  void lock() {
    while (held_.exchange(true, std::memory_order_acquire))
      for (int spins = 0; held_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) pause();
        else std::this_thread::yield();
      }
  }
  void unlock() { held_.store(false, std::memory_order_release); }

 private:
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  std::atomic<bool> held_{false};
};

struct Scope {
  ScopeLock mu;
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
// as long as the limiter (pointers to them stay valid): their number is bounded by keys x
// models in the configuration.
class ScopeTable {
 public:
  Scope* get(const std::string& id) {
    Shard& s = shards_[std::hash<std::string>{}(id) % kShards];
    std::lock_guard lock(s.mu);
    auto& slot = s.map[id];
    if (!slot) slot = std::make_unique<Scope>();
    return slot.get();
  }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::unique_ptr<Scope>> map;
  };
  std::array<Shard, kShards> shards_;
};

// The scope states of one (key, team, model), kept per thread, so that a request builds,
// hashes and looks up no scope id and takes no table lock (~3k instructions, issue 18). An
// entry is matched on the names themselves, which are all a scope id is made of, so it is
// exact whatever the configuration: limits and budgets come with every request, and a reload
// that changes them takes effect at once. A direct-mapped table of a fixed size: with many
// keys, a collision costs one table lookup, as before. `limiter` is a serial, never reused,
// so a thread's entries for a destroyed limiter are never matched.
struct ResolvedScopes {
  uint64_t limiter = 0;
  std::string key_id, team, model;
  std::array<Scope*, 4> by_kind{};  // by ScopeKind; null: not looked up yet
};

std::atomic<uint64_t> next_limiter_serial{1};

ResolvedScopes& resolved_for(uint64_t limiter, const AdmissionRequest& req) {
  static constexpr size_t kSlots = 256;
  thread_local std::vector<ResolvedScopes> table;
  if (table.empty()) table.resize(kSlots);
  // Slot from the names' lengths and last bytes: constant work whatever their length.
  auto tail = [](const std::string& s) {
    uint64_t v = 0;
    size_t n = std::min<size_t>(s.size(), 8);
    std::memcpy(&v, s.data() + s.size() - n, n);
    return v ^ s.size();
  };
  uint64_t h = tail(req.key_id) * 0x9E3779B97F4A7C15ull ^ tail(req.model) * 0xC2B2AE3D27D4EB4Full ^
               tail(req.team) * 0x165667B19E3779F9ull ^ limiter;
  ResolvedScopes& e = table[(h ^ h >> 29) % kSlots];
  if (e.limiter != limiter || e.key_id != req.key_id || e.model != req.model || e.team != req.team) {
    e.limiter = limiter;
    e.key_id = req.key_id;
    e.team = req.team;
    e.model = req.model;
    e.by_kind = {};
  }
  return e;
}

struct Core {
  uint64_t serial = next_limiter_serial.fetch_add(1, std::memory_order_relaxed);
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

  std::shared_ptr<Core> core;  // keeps the scope states alive
  std::array<Scope*, 4> scopes{};
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
      const BudgetPeriods& p = budget_periods(core->clock->wall());
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
  Plan plan = make_plan(req, /*with_ids=*/false);
  if (plan.empty()) {
    core_->admitted.fetch_add(1, std::memory_order_relaxed);
    out = std::make_unique<NoLimitAdmission>();
    return d;
  }

  auto adm = std::make_unique<LocalAdmission>();
  adm->core = core_;
  adm->n_scopes = plan.n_scopes;
  adm->estimate = plan.estimated_tokens;
  ResolvedScopes& resolved = resolved_for(core_->serial, req);
  for (uint8_t i = 0; i < plan.n_scopes; ++i) {
    const ScopeKind kind = plan.scopes[i].kind;
    Scope*& state = resolved.by_kind[static_cast<size_t>(kind)];
    if (!state) state = core_->scopes.get(scope_id(kind, req));
    adm->scopes[i] = state;
  }

  // Lock every scope, in address order.
  std::array<Scope*, 4> order = adm->scopes;
  for (uint8_t i = 1; i < plan.n_scopes; ++i)  // at most four: an insertion sort
    for (uint8_t j = i; j > 0 && std::less<>{}(order[j], order[j - 1]); --j) std::swap(order[j], order[j - 1]);
  std::array<std::unique_lock<ScopeLock>, 4> locks;
  for (uint8_t i = 0; i < plan.n_scopes; ++i) locks[i] = std::unique_lock(order[i]->mu);

  const int64_t now = core_->now_ns();
  std::array<i128, 16> before, after;  // [0, n_windows) written before read
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
      std::chrono::milliseconds wait{ceil_div_ms(div(after[i] - capacity, w.limit) + 1)};
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
  static const BudgetPeriods kNoPeriods{};
  const BudgetPeriods& periods = plan.n_budgets > 0 ? budget_periods(core_->clock->wall()) : kNoPeriods;
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
    st.remaining = used >= capacity ? 0 : static_cast<int64_t>(div(capacity - used, window_ns));
    st.reset = std::chrono::milliseconds{ceil_div_ms(div(used + w.limit - 1, w.limit))};
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
