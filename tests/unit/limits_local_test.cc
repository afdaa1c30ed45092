// The in-process limiter: exact under concurrency, smooth windows, token reconcile,
// concurrency slots, budgets, and the values behind OpenAI's rate-limit headers.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "limits/rate_limiter.h"

namespace tollgate::limits {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// Time stands still until a test moves it.
class ManualClock final : public LimiterClock {
 public:
  std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns_.load()));
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point(milliseconds(wall_ms_.load()));
  }
  void advance(std::chrono::nanoseconds d) {
    ns_ += d.count();
    wall_ms_ += std::chrono::duration_cast<milliseconds>(d).count();
  }
  void set_wall(std::chrono::sys_days day, milliseconds into_day = 0ms) {
    wall_ms_ = std::chrono::duration_cast<milliseconds>(day.time_since_epoch() + into_day).count();
  }

 private:
  std::atomic<int64_t> ns_{1'000'000'000'000};
  // 2026-03-14 12:00 UTC
  std::atomic<int64_t> wall_ms_{1'773'489'600'000};
};

struct Fixture : ::testing::Test {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<RateLimiter> limiter = make_local_limiter({clock});

  AdmissionRequest request(LimitSpec key_limits, int64_t tokens = 0) {
    AdmissionRequest r;
    r.key_id = "team-a";
    r.model = "smart";
    r.key_limits = key_limits;
    r.estimated_tokens = tokens;
    return r;
  }
  // Admits `n` times, keeping nothing; returns how many were admitted.
  int admit_n(const AdmissionRequest& r, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      std::unique_ptr<Admission> a;
      if (limiter->admit(r, a).admitted) ++ok;
    }
    return ok;
  }
};

using LocalLimiter = Fixture;

TEST_F(LocalLimiter, ConcurrentAdmissionsAgainstNAdmitExactlyN) {
  AdmissionRequest r = request({.rpm = 1000});
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        std::unique_ptr<Admission> a;
        if (limiter->admit(r, a).admitted) admitted.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000);
  EXPECT_EQ(limiter->stats().admitted, 1000u);
  EXPECT_EQ(limiter->stats().rejected, 3000u);
}

TEST_F(LocalLimiter, ConcurrentAdmissionsAcrossScopesAdmitTheTightest) {
  // Threads alternate two models; the key's limit is shared, each model's is not.
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      AdmissionRequest r = request({.rpm = 300});
      r.model = t % 2 ? "smart" : "fast";
      r.model_limits.rpm = 200;
      for (int i = 0; i < 400; ++i) {
        std::unique_ptr<Admission> a;
        if (limiter->admit(r, a).admitted) admitted.fetch_add(1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 300);
}

TEST_F(LocalLimiter, RejectedRequestConsumesNothingInAnyScope) {
  AdmissionRequest r = request({.rpm = 10});
  r.model_limits.rpm = 5;
  EXPECT_EQ(admit_n(r, 8), 5);  // the model's limit binds
  r.model = "other";            // the key still has 5 of its 10
  r.model_limits = {};
  EXPECT_EQ(admit_n(r, 8), 5);
}

TEST_F(LocalLimiter, NoDoubleBurstAtAWindowEdge) {
  AdmissionRequest r = request({.rpm = 60});
  clock->advance(59s);
  EXPECT_EQ(admit_n(r, 60), 60);  // an idle key may use its whole minute at once
  clock->advance(1s);             // a fixed window would open a fresh 60 here
  EXPECT_EQ(admit_n(r, 60), 1);
  clock->advance(2s);
  EXPECT_EQ(admit_n(r, 60), 2);
  // Steady state: one per second, whatever the phase.
  int total = 0;
  for (int s = 0; s < 120; ++s) {
    clock->advance(500ms);
    total += admit_n(r, 10);
  }
  EXPECT_EQ(total, 60);
}

TEST_F(LocalLimiter, NeverMoreThanTheLimitPlusRefillOverAnySpan) {
  // Hammer at 10 ms steps for three minutes; in every span of t seconds at most
  // limit + limit * t / 60 are admitted (GCRA's bound), and never 2x the limit within a
  // few seconds of any point.
  AdmissionRequest r = request({.rpm = 120});
  std::vector<int> per_step;
  for (int i = 0; i < 18'000; ++i) {
    clock->advance(10ms);
    per_step.push_back(admit_n(r, 3));
  }
  for (size_t start = 0; start + 500 < per_step.size(); start += 50) {
    int in_5s = 0;
    for (size_t i = start; i < start + 500; ++i) in_5s += per_step[i];
    EXPECT_LE(in_5s, 120 + 10 + 1) << "at step " << start;
  }
}

TEST_F(LocalLimiter, RetryAfterIsTheTimeUntilTheRequestFits) {
  AdmissionRequest r = request({.rpm = 60});
  EXPECT_EQ(admit_n(r, 60), 60);
  std::unique_ptr<Admission> a;
  Decision d = limiter->admit(r, a);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(a, nullptr);
  EXPECT_EQ(d.reason, Decision::Reason::requests);
  EXPECT_NEAR(d.retry_after.count(), 1000, 1);
  clock->advance(d.retry_after);
  EXPECT_TRUE(limiter->admit(r, a).admitted);
}

TEST_F(LocalLimiter, HeadersShowTheTightestWindow) {
  AdmissionRequest r = request({.rpm = 100, .tpm = 10'000}, 1000);
  r.model_limits.rpm = 10;
  r.model_limits.tpd = 1'000'000;
  std::unique_ptr<Admission> a;
  Decision d = limiter->admit(r, a);
  ASSERT_TRUE(d.admitted);
  ASSERT_TRUE(d.requests && d.tokens);
  EXPECT_EQ(d.requests->limit, 10);
  EXPECT_EQ(d.requests->remaining, 9);
  EXPECT_EQ(d.requests->reset, 6000ms);  // one request refills in 60s/10
  EXPECT_EQ(d.tokens->limit, 10'000);
  EXPECT_EQ(d.tokens->remaining, 9'000);
  EXPECT_EQ(d.tokens->reset, 6000ms);
  clock->advance(3s);
  d = limiter->admit(r, a);
  EXPECT_EQ(d.requests->remaining, 8);  // half a request refilled: still 8 whole ones left
  EXPECT_EQ(d.requests->reset, 9000ms);
}

TEST_F(LocalLimiter, NoLimitsMeansNoHeadersAndAnAdmission) {
  std::unique_ptr<Admission> a;
  Decision d = limiter->admit(request({}), a);
  EXPECT_TRUE(d.admitted);
  EXPECT_FALSE(d.requests);
  EXPECT_FALSE(d.tokens);
  ASSERT_NE(a, nullptr);
  a->settle(100, 1.0);
}

TEST_F(LocalLimiter, TokensAdmitOnTheEstimateAndReconcileToActualUsage) {
  AdmissionRequest r = request({.tpm = 1000}, 800);
  std::unique_ptr<Admission> a;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  std::unique_ptr<Admission> b;
  Decision d = limiter->admit(r, b);
  EXPECT_FALSE(d.admitted);  // 800 + 800 > 1000
  EXPECT_EQ(d.reason, Decision::Reason::tokens);
  a->settle(100, 0);  // the answer was short: 700 back
  d = limiter->admit(r, b);
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.tokens->remaining, 100);
}

TEST_F(LocalLimiter, UsageBeyondTheEstimateIsChargedAndDelaysTheNextRequest) {
  AdmissionRequest r = request({.tpm = 6000}, 100);
  std::unique_ptr<Admission> a;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(7000, 0);  // a stream ran far past its estimate
  std::unique_ptr<Admission> b;
  Decision d = limiter->admit(r, b);
  EXPECT_FALSE(d.admitted);
  // 7000 used + 100 asked - 6000 capacity = 1100 tokens at 100 per second.
  EXPECT_NEAR(d.retry_after.count(), 11'000, 1);
  EXPECT_EQ(d.tokens->remaining, 0);
}

TEST_F(LocalLimiter, AbandonedStreamSettlesWithThePartialCount) {
  AdmissionRequest r = request({.tpm = 1000}, 1000);
  std::unique_ptr<Admission> a;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(250, 0);  // the client left after 250 tokens
  a.reset();
  r.estimated_tokens = 750;
  std::unique_ptr<Admission> b;
  EXPECT_TRUE(limiter->admit(r, b).admitted);
  r.estimated_tokens = 1;
  EXPECT_FALSE(limiter->admit(r, b).admitted);
}

TEST_F(LocalLimiter, OnlyTheFirstSettleCountsAndUnsettledKeepsTheEstimate) {
  AdmissionRequest r = request({.tpm = 1000}, 600);
  std::unique_ptr<Admission> a;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(600, 0);
  a->settle(0, 0);  // ignored
  a.reset();
  std::unique_ptr<Admission> b;
  EXPECT_FALSE(limiter->admit(r, b).admitted);
  clock->advance(60s);
  ASSERT_TRUE(limiter->admit(r, b).admitted);
  b.reset();  // never settled: the 600 stay charged
  EXPECT_FALSE(limiter->admit(r, b).admitted);
}

TEST_F(LocalLimiter, AnEstimateLargerThanTheWholeLimitIsTooLarge) {
  std::unique_ptr<Admission> a;
  Decision d = limiter->admit(request({.tpm = 1000}, 1500), a);
  EXPECT_FALSE(d.admitted);
  EXPECT_TRUE(d.too_large);
  EXPECT_EQ(d.reason, Decision::Reason::tokens);
}

TEST_F(LocalLimiter, ConcurrencySlotIsHeldUntilTheAdmissionIsDestroyed) {
  AdmissionRequest r = request({.concurrency = 2});
  std::unique_ptr<Admission> a, b, c;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  ASSERT_TRUE(limiter->admit(r, b).admitted);
  a->settle(10, 0);  // settling does not free the slot; the stream may still be closing
  Decision d = limiter->admit(r, c);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, Decision::Reason::concurrency);
  EXPECT_GT(d.retry_after.count(), 0);
  a.reset();
  EXPECT_TRUE(limiter->admit(r, c).admitted);
}

TEST_F(LocalLimiter, ConcurrencyCapHoldsUnderThreads) {
  AdmissionRequest r = request({.concurrency = 4});
  r.model_limits.concurrency = 3;
  std::atomic<int> in_flight{0}, peak{0}, admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        std::unique_ptr<Admission> a;
        if (!limiter->admit(r, a).admitted) continue;
        admitted.fetch_add(1);
        int now = in_flight.fetch_add(1) + 1;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::yield();
        in_flight.fetch_sub(1);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_GT(admitted.load(), 0);
  // Every slot came back.
  std::vector<std::unique_ptr<Admission>> held(3);
  for (auto& h : held) EXPECT_TRUE(limiter->admit(r, h).admitted);
}

TEST_F(LocalLimiter, HardBudgetStopsTheKeyUntilTheNextDay) {
  using namespace std::chrono;
  clock->set_wall(sys_days{2026y / March / 14}, hours{22});
  AdmissionRequest r = request({});
  r.key_budget.usd_per_day = 1.0;
  std::unique_ptr<Admission> a;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(1000, 0.6);
  ASSERT_TRUE(limiter->admit(r, a).admitted);  // 0.6 < 1.0: admitted, may overshoot
  a->settle(1000, 0.5);
  Decision d = limiter->admit(r, a);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, Decision::Reason::budget);
  EXPECT_EQ(d.retry_after, duration_cast<milliseconds>(hours{2}));
  clock->advance(hours{2});
  EXPECT_TRUE(limiter->admit(r, a).admitted);
}

TEST_F(LocalLimiter, MonthlyAndTotalBudgets) {
  using namespace std::chrono;
  clock->set_wall(sys_days{2026y / February / 28}, hours{12});
  AdmissionRequest r = request({});
  r.key_budget.usd_per_month = 5.0;
  r.key_budget.usd_total = 8.0;
  std::unique_ptr<Admission> a;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(0, 5.0);
  Decision d = limiter->admit(r, a);
  EXPECT_EQ(d.reason, Decision::Reason::budget);
  EXPECT_EQ(d.retry_after, duration_cast<milliseconds>(hours{12}));  // until March 1st
  clock->advance(hours{12});
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(0, 3.0);
  d = limiter->admit(r, a);
  EXPECT_EQ(d.reason, Decision::Reason::budget);
  EXPECT_EQ(d.retry_after, 0ms);  // a total budget never refills
}

TEST_F(LocalLimiter, WarnOnlyBudgetAdmitsWithAWarning) {
  AdmissionRequest r = request({});
  r.key_budget.usd_total = 0.01;
  r.key_budget.warn_only = true;
  std::unique_ptr<Admission> a;
  Decision d = limiter->admit(r, a);
  EXPECT_TRUE(d.admitted);
  EXPECT_FALSE(d.budget_warning);
  a->settle(10, 0.02);
  d = limiter->admit(r, a);
  EXPECT_TRUE(d.admitted);
  EXPECT_TRUE(d.budget_warning);
}

TEST_F(LocalLimiter, BudgetIsPerKey) {
  AdmissionRequest r = request({});
  r.key_budget.usd_total = 1.0;
  std::unique_ptr<Admission> a;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(0, 2.0);
  EXPECT_FALSE(limiter->admit(r, a).admitted);
  r.key_id = "team-b";
  EXPECT_TRUE(limiter->admit(r, a).admitted);
}

// Reservations: spend + live reservations + this estimate must fit, so concurrent requests
// cannot overshoot a budget together.
TEST_F(LocalLimiter, ConcurrentAdmitsReserveTheBudgetExactly) {
  AdmissionRequest r = request({});
  r.key_budget.usd_total = 1.0;
  r.estimated_cost_usd = 0.1;  // room for exactly 10 reservations
  std::mutex mu;
  std::vector<std::unique_ptr<Admission>> held;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        std::unique_ptr<Admission> a;
        if (limiter->admit(r, a).admitted) {
          std::lock_guard lock(mu);
          held.push_back(std::move(a));
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(held.size(), 10u);
}

TEST_F(LocalLimiter, SettleReplacesTheReservationOnce) {
  AdmissionRequest r = request({});
  r.key_budget.usd_total = 1.0;
  r.estimated_cost_usd = 0.5;
  std::unique_ptr<Admission> a, b, c;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  ASSERT_TRUE(limiter->admit(r, b).admitted);
  EXPECT_EQ(limiter->admit(r, c).reason, Decision::Reason::budget);  // 1.0 reserved
  a->settle(10, 0.1);
  a->settle(10, 0.9);  // ignored
  a.reset();
  // 0.1 spent + 0.5 reserved: 0.4 fits exactly, nothing more.
  r.estimated_cost_usd = 0.4;
  ASSERT_TRUE(limiter->admit(r, c).admitted);
  r.estimated_cost_usd = 0.01;
  EXPECT_FALSE(limiter->admit(r, a).admitted);
  // Unsettled (the answer never came): the reservation goes, no spend is added.
  c.reset();
  EXPECT_TRUE(limiter->admit(r, a).admitted);
}

TEST_F(LocalLimiter, BudgetPeriodsStillRollWithReservations) {
  using namespace std::chrono;
  clock->set_wall(sys_days{2026y / March / 14}, hours{23});
  AdmissionRequest r = request({});
  r.key_budget.usd_per_day = 1.0;
  r.estimated_cost_usd = 0.6;
  std::unique_ptr<Admission> a, b;
  ASSERT_TRUE(limiter->admit(r, a).admitted);
  a->settle(10, 0.6);
  Decision d = limiter->admit(r, b);
  EXPECT_EQ(d.reason, Decision::Reason::budget);  // 0.6 + 0.6 > 1.0
  EXPECT_EQ(d.retry_after, duration_cast<milliseconds>(hours{1}));
  clock->advance(hours{1});
  EXPECT_TRUE(limiter->admit(r, b).admitted);
}

TEST_F(LocalLimiter, DailyWindowsRefillOverTheDay) {
  AdmissionRequest r = request({.rpd = 24});
  EXPECT_EQ(admit_n(r, 30), 24);
  clock->advance(std::chrono::hours{1});
  EXPECT_EQ(admit_n(r, 30), 1);
  std::unique_ptr<Admission> a;
  Decision d = limiter->admit(r, a);
  EXPECT_EQ(d.reason, Decision::Reason::requests);
  EXPECT_NEAR(d.retry_after.count(), 3'600'000, 1);
}

TEST_F(LocalLimiter, ScopeNamesDoNotCollide) {
  // "a:b" on model "c" and "a" on model "b:c" are different key-model scopes.
  AdmissionRequest r1 = request({});
  r1.key_id = "a:b";
  r1.model = "c";
  r1.key_model_limits.rpm = 1;
  AdmissionRequest r2 = r1;
  r2.key_id = "a";
  r2.model = "b:c";
  EXPECT_EQ(admit_n(r1, 2), 1);
  EXPECT_EQ(admit_n(r2, 2), 1);
}

// Scope states are resolved once per thread and (key, team, model) (issue 18): what a request
// brings (its limits, budgets) must still count on every call, and the resolution must never
// hand one scope's state to another.
TEST_F(LocalLimiter, LimitsChangedByAReloadTakeEffectAndKeepTheUse) {
  AdmissionRequest r = request({.rpm = 5});
  EXPECT_EQ(admit_n(r, 3), 3);
  r.key_limits.rpm = 3;  // lowered: the 3 already used fill it
  EXPECT_EQ(admit_n(r, 1), 0);
  r.key_limits.rpm = 10;  // raised: 7 more
  EXPECT_EQ(admit_n(r, 10), 7);
  // A scope that had no limit gets one: it is looked up then, and counts from there.
  r.model_limits.rpm = 2;
  EXPECT_EQ(admit_n(r, 5), 0);  // the key's window is full
  r.key_limits = {};
  EXPECT_EQ(admit_n(r, 5), 2);
  r.key_model_limits.concurrency = 1;
  r.model_limits = {};
  std::unique_ptr<Admission> held;
  EXPECT_TRUE(limiter->admit(r, held).admitted);
  EXPECT_EQ(admit_n(r, 1), 0);
  // The key's limit back: its window kept its use and has refilled nothing (time stands still).
  r.key_limits.rpm = 10;
  held.reset();
  EXPECT_EQ(admit_n(r, 1), 0);
}

TEST_F(LocalLimiter, ANewLimiterOnTheSameThreadStartsEmpty) {
  AdmissionRequest r = request({.rpm = 1});
  for (int round = 0; round < 3; ++round) {  // the allocator likely reuses the same address
    limiter = make_local_limiter({clock});
    EXPECT_EQ(admit_n(r, 2), 1) << round;
  }
}

TEST_F(LocalLimiter, ManyKeysOnOneThreadKeepTheirOwnScopes) {
  // More keys than the per-thread table has slots, in turn: every lookup collides sometimes.
  AdmissionRequest r = request({.rpm = 2});
  for (int pass = 0; pass < 3; ++pass)
    for (int k = 0; k < 2000; ++k) {
      r.key_id = "key_" + std::to_string(k);
      r.team = k % 3 == 0 ? "t" + std::to_string(k % 7) : "";
      std::unique_ptr<Admission> a;
      EXPECT_EQ(limiter->admit(r, a).admitted, pass < 2) << pass << " " << k;
    }
}

// Teams (issue 16): a team's limits and budget are drawn from by all its keys together, on top
// of each key's own; the decision says whose budget refused.
TEST_F(LocalLimiter, TeamLimitsAreSharedByItsKeysOnTopOfTheirOwn) {
  AdmissionRequest a = request({});
  a.key_id = "key-a";
  a.team = "red";
  a.team_limits.rpm = 3;
  AdmissionRequest b = a;
  b.key_id = "key-b";
  b.key_limits.rpm = 5;
  EXPECT_EQ(admit_n(a, 2), 2);
  EXPECT_EQ(admit_n(b, 2), 1) << "the team has one request left for both keys";
  std::unique_ptr<Admission> h;
  Decision d = limiter->admit(a, h);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, Decision::Reason::requests);
  AdmissionRequest other = a;
  other.key_id = "key-c";
  other.team = "blue";
  EXPECT_EQ(admit_n(other, 3), 3) << "another team's keys are untouched";
}

TEST_F(LocalLimiter, TeamBudgetIsSharedAndNamedInTheDecision) {
  AdmissionRequest a = request({});
  a.key_id = "key-a";
  a.team = "red";
  a.team_budget.usd_total = 1.0;
  a.key_budget.usd_total = 100.0;
  AdmissionRequest b = a;
  b.key_id = "key-b";
  std::unique_ptr<Admission> h;
  ASSERT_TRUE(limiter->admit(a, h).admitted);
  h->settle(10, 1.0);
  h.reset();
  Decision d = limiter->admit(b, h);
  EXPECT_FALSE(d.admitted) << "key-b spent nothing, but its team spent everything";
  EXPECT_EQ(d.reason, Decision::Reason::budget);
  EXPECT_TRUE(d.team_budget);
  a.key_budget.usd_total = 0.5;  // the key's own, spent too: either may be named, refused all the same
  a.team_budget.usd_total = 10.0;
  b.key_budget = a.key_budget;
  b.team_budget = a.team_budget;
  EXPECT_FALSE(limiter->admit(a, h).admitted);
  d = limiter->admit(b, h);
  EXPECT_TRUE(d.admitted) << "key-b's own budget is untouched and the team has room";
}

TEST_F(LocalLimiter, WarnBudgetCrossingsAreReportedOncePerThresholdAndPeriod) {
  std::vector<BudgetCrossing> seen;
  std::mutex mu;
  LocalOptions o{clock, [&](const BudgetCrossing& c) {
                   std::lock_guard lock(mu);
                   seen.push_back(c);
                 }};
  auto l = make_local_limiter(o);
  AdmissionRequest r = request({});
  r.team = "red";
  r.key_budget.usd_per_day = 10.0;
  r.key_budget.warn_only = true;
  r.team_budget.usd_total = 100.0;  // hard: never reported
  auto spend = [&](double usd) {
    std::unique_ptr<Admission> h;
    ASSERT_TRUE(l->admit(r, h).admitted);
    h->settle(1, usd);
  };
  for (int i = 0; i < 5; ++i) spend(3.0);  // 3, 6, 9, 12, 15: 50% at 6, 80% at 9, 100% at 12
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].percent, 50);
  EXPECT_EQ(seen[1].percent, 80);
  EXPECT_EQ(seen[2].percent, 100);
  for (const auto& c : seen) {
    EXPECT_FALSE(c.team);
    EXPECT_EQ(c.id, "team-a");
    EXPECT_STREQ(c.period, "day");
    EXPECT_DOUBLE_EQ(c.cap_usd, 10.0);
  }
  EXPECT_DOUBLE_EQ(seen[1].spent_usd, 9.0);
  clock->advance(std::chrono::hours(24));  // a new UTC day: the thresholds are due again
  spend(6.0);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[3].percent, 50);
}

TEST(LimitsFormat, ResetLooksLikeOpenAIs) {
  EXPECT_EQ(format_reset(0ms), "0s");
  EXPECT_EQ(format_reset(20ms), "20ms");
  EXPECT_EQ(format_reset(1000ms), "1s");
  EXPECT_EQ(format_reset(1500ms), "1.5s");
  EXPECT_EQ(format_reset(360'000ms), "6m0s");
  EXPECT_EQ(format_reset(3'723'250ms), "1h2m3.25s");
  EXPECT_EQ(retry_after_seconds(0ms), 1);
  EXPECT_EQ(retry_after_seconds(1001ms), 2);
  EXPECT_EQ(retry_after_seconds(3000ms), 3);
}

}  // namespace
}  // namespace tollgate::limits
