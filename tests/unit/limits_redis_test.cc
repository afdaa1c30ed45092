// The Redis limiter against a real redis-server started on a free loopback port: replicas
// (limiter instances, and separate processes) share limits exactly; outages take the
// configured fail-open or fail-closed path, are counted, and heal without a restart.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "limits/rate_limiter.h"
#include "loopback.h"

namespace tollgate::limits {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

std::string find_redis_server() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
    std::string p = std::string(dir) + "/redis-server";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}


// Polls `ok` until it holds or `limit` passes.
bool eventually(const std::function<bool()>& ok, std::chrono::milliseconds limit = 3s) {
  auto end = Steady::now() + limit;
  while (Steady::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ok();
}

// One redis-server child: no persistence, loopback only, dies with the test process.
class RedisServer {
 public:
  explicit RedisServer(std::string binary) : binary_(std::move(binary)), port_(test_support::free_loopback_port()) {}
  ~RedisServer() { stop(); }

  bool start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::string port = std::to_string(port_);
      ::execl(binary_.c_str(), "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel",
              "warning", "--dir", "/tmp", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid_ > 0 && eventually([&] { return ping(); }, 5s);
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  bool ping() const { return command("PING") == "PONG"; }

  // One command's string/status reply (or its integer as text); "" on failure.
  std::string command(const std::string& cmd) const {
    timeval tv{0, 200'000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    std::string out;
    if (c && !c->err) {
      redisSetTimeout(c, tv);
      auto* r = static_cast<redisReply*>(redisCommand(c, cmd.c_str()));
      if (r) {
        if (r->type == REDIS_REPLY_INTEGER) out = std::to_string(r->integer);
        else if (r->str) out = std::string(r->str, r->len);
        freeReplyObject(r);
      }
    }
    if (c) redisFree(c);
    return out;
  }

  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string binary_;
  int port_;
  pid_t pid_ = -1;
};

class RedisLimiter : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string bin = find_redis_server();
    if (bin.empty()) GTEST_SKIP() << "redis-server is not installed";
    ::signal(SIGPIPE, SIG_IGN);
    redis_ = std::make_unique<RedisServer>(bin);
    ASSERT_TRUE(redis_->start()) << "redis-server did not start";
  }
  void TearDown() override { redis_.reset(); }

  RedisOptions options(bool fail_open = true) {
    RedisOptions o;
    o.url = redis_->url();
    o.fail_open = fail_open;
    return o;
  }

  static AdmissionRequest request(LimitSpec key_limits, int64_t tokens = 0) {
    AdmissionRequest r;
    r.key_id = "team-a";
    r.model = "smart";
    r.key_limits = key_limits;
    r.estimated_tokens = tokens;
    return r;
  }

  // Admits from `threads` threads on each limiter, `per_thread` times each, until stop.
  static int hammer(const std::vector<RateLimiter*>& limiters, const AdmissionRequest& r,
                    int threads, int per_thread) {
    std::atomic<int> admitted{0};
    std::vector<std::thread> ts;
    for (RateLimiter* l : limiters)
      for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, l] {
          for (int i = 0; i < per_thread; ++i) {
            std::unique_ptr<Admission> a;
            Decision d = l->admit(r, a);
            EXPECT_FALSE(d.degraded);
            if (d.admitted) admitted.fetch_add(1);
          }
        });
    for (auto& t : ts) t.join();
    return admitted.load();
  }

  std::unique_ptr<RedisServer> redis_;
};

// Daily windows refill too slowly (N per 86,400 s) to add one admission during a test, so
// "exactly N" is exact, with a tolerance of 0.
TEST_F(RedisLimiter, TwoReplicasSharingRedisAdmitExactlyN) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  AdmissionRequest r = request({.rpd = 500});
  EXPECT_EQ(hammer({a.get(), b.get()}, r, 4, 200), 500);
  auto s = a->stats();
  EXPECT_EQ(s.redis_errors, 0u);
  EXPECT_EQ(a->stats().admitted + b->stats().admitted, 500u);
}

TEST_F(RedisLimiter, TwoProcessesSharingRedisAdmitExactlyN) {
  AdmissionRequest r = request({.rpd = 300});
  r.model_limits.rpd = 1000;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::vector<pid_t> kids;
  for (int p = 0; p < 2; ++p) {
    pid_t pid = ::fork();  // the test process has no other threads at this point
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      auto l = make_redis_limiter(options());
      int n = hammer({l.get()}, r, 4, 150);
      l.reset();
      [[maybe_unused]] auto w = ::write(fds[1], &n, sizeof n);
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  ::close(fds[1]);
  int total = 0, n = 0;
  while (::read(fds[0], &n, sizeof n) == sizeof n) total += n;
  ::close(fds[0]);
  for (pid_t k : kids) {
    int status = 0;
    ::waitpid(k, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(total, 300);
}

TEST_F(RedisLimiter, HeadersAndRetryAfterComeFromTheSharedWindow) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  AdmissionRequest r = request({.rpm = 10, .tpm = 10'000}, 1000);
  std::unique_ptr<Admission> h;
  Decision d = a->admit(r, h);
  ASSERT_TRUE(d.admitted);
  ASSERT_TRUE(d.requests && d.tokens);
  EXPECT_EQ(d.requests->limit, 10);
  EXPECT_EQ(d.requests->remaining, 9);
  EXPECT_NEAR(d.requests->reset.count(), 6000, 50);
  EXPECT_EQ(d.tokens->remaining, 9000);
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(b->admit(r, h).admitted);
  d = b->admit(r, h);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, Decision::Reason::requests);
  EXPECT_GT(d.retry_after.count(), 5000);
  EXPECT_LE(d.retry_after.count(), 6000);
  EXPECT_EQ(d.requests->remaining, 0);
}

TEST_F(RedisLimiter, TokensReconcileToActualUsageAcrossReplicas) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  AdmissionRequest r = request({.tpd = 10'000}, 8000);
  std::unique_ptr<Admission> first, second;
  ASSERT_TRUE(a->admit(r, first).admitted);
  EXPECT_FALSE(b->admit(r, second).admitted);
  first->settle(1500, 0);  // a stream that ended (or was abandoned) after 1500 tokens
  first.reset();
  ASSERT_TRUE(eventually([&] { return b->admit(r, second).admitted; }));
  // 1500 + 8000 used: 500 left.
  r.estimated_tokens = 500;
  std::unique_ptr<Admission> third;
  Decision d = a->admit(r, third);
  EXPECT_TRUE(d.admitted);
  EXPECT_EQ(d.tokens->remaining, 0);
  r.estimated_tokens = 1;
  EXPECT_FALSE(a->admit(r, third).admitted);
}

TEST_F(RedisLimiter, ConcurrencySlotsAreSharedAndReleased) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  AdmissionRequest r = request({.concurrency = 2});
  std::unique_ptr<Admission> x, y, z;
  ASSERT_TRUE(a->admit(r, x).admitted);
  ASSERT_TRUE(b->admit(r, y).admitted);
  Decision d = b->admit(r, z);
  EXPECT_FALSE(d.admitted);
  EXPECT_EQ(d.reason, Decision::Reason::concurrency);
  x.reset();  // released in the background
  EXPECT_TRUE(eventually([&] { return b->admit(r, z).admitted; }));
}

TEST_F(RedisLimiter, SlotsOfACrashedReplicaExpireWithTheirLease) {
  AdmissionRequest r = request({.concurrency = 1});
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    RedisOptions o = options();
    o.concurrency_lease = 600ms;
    auto l = make_redis_limiter(o);
    std::unique_ptr<Admission> held;
    ::_exit(l->admit(r, held).admitted ? 0 : 1);  // dies holding the slot
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto l = make_redis_limiter(options());
  std::unique_ptr<Admission> a;
  EXPECT_FALSE(l->admit(r, a).admitted);
  EXPECT_TRUE(eventually([&] { return l->admit(r, a).admitted; }, 3s));
}

TEST_F(RedisLimiter, LiveSlotsAreRenewedPastTheirLease) {
  RedisOptions o = options();
  o.concurrency_lease = 300ms;
  auto l = make_redis_limiter(o);
  AdmissionRequest r = request({.concurrency = 1});
  std::unique_ptr<Admission> stream, other;
  ASSERT_TRUE(l->admit(r, stream).admitted);
  for (int i = 0; i < 10; ++i) {  // a stream outliving its lease three times over
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(l->admit(r, other).admitted) << "after " << (i + 1) * 100 << " ms";
  }
  stream.reset();
  EXPECT_TRUE(eventually([&] { return l->admit(r, other).admitted; }));
}

TEST_F(RedisLimiter, BudgetsAreSharedAcrossReplicas) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  AdmissionRequest r = request({});
  r.key_budget.usd_total = 1.0;
  r.key_budget.usd_per_day = 100.0;
  std::unique_ptr<Admission> h;
  ASSERT_TRUE(a->admit(r, h).admitted);
  h->settle(1000, 1.25);
  h.reset();
  ASSERT_TRUE(eventually([&] { return !b->admit(r, h).admitted; }));
  Decision d = b->admit(r, h);
  EXPECT_EQ(d.reason, Decision::Reason::budget);
  EXPECT_EQ(d.retry_after.count(), 0);  // total: not before the budget is raised
  r.key_budget.warn_only = true;
  d = b->admit(r, h);
  EXPECT_TRUE(d.admitted);
  EXPECT_TRUE(d.budget_warning);
  // Spend is kept per UTC day as well, in nano-USD.
  EXPECT_EQ(redis_->command("GET tollgate:k:team-a:bt"), "1250000000");
}

// Three replicas, 8 threads each, holding what they admit: a budget with room for exactly
// 20 reservations admits exactly 20.
TEST_F(RedisLimiter, ConcurrentAdmitsAcrossReplicasReserveTheBudgetExactly) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  auto c = make_redis_limiter(options());
  AdmissionRequest r = request({});
  r.key_budget.usd_per_day = 2.0;
  r.estimated_cost_usd = 0.1;
  std::mutex mu;
  std::vector<std::unique_ptr<Admission>> held;
  std::vector<std::thread> ts;
  for (RateLimiter* l : {a.get(), b.get(), c.get()})
    for (int t = 0; t < 8; ++t)
      ts.emplace_back([&, l] {
        for (int i = 0; i < 5; ++i) {
          std::unique_ptr<Admission> h;
          Decision d = l->admit(r, h);
          EXPECT_FALSE(d.degraded);
          if (d.admitted) {
            std::lock_guard lock(mu);
            held.push_back(std::move(h));
          }
        }
      });
  for (auto& t : ts) t.join();
  EXPECT_EQ(held.size(), 20u);
  EXPECT_EQ(redis_->command("HGET tollgate:k:team-a:rv _sum"), "2000000000");
}

// A team's budget and limits are shared by its keys on every replica; the admit script keeps
// a reservation per budget group (the key's and the team's) in the same round trip.
TEST_F(RedisLimiter, TeamBudgetAndLimitsAreSharedAcrossReplicasAndKeys) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  AdmissionRequest ka = request({});
  ka.key_id = "key-a";
  ka.team = "red";
  ka.team_limits.rpd = 4;
  ka.team_budget.usd_total = 1.0;
  ka.key_budget.usd_total = 50.0;
  ka.estimated_cost_usd = 0.1;
  AdmissionRequest kb = ka;
  kb.key_id = "key-b";
  std::unique_ptr<Admission> h;
  ASSERT_TRUE(a->admit(ka, h).admitted);
  EXPECT_EQ(redis_->command("HGET tollgate:t:red:rv _sum"), "100000000") << "the team's reservation";
  EXPECT_EQ(redis_->command("HGET tollgate:k:key-a:rv _sum"), "100000000") << "and the key's";
  h->settle(10, 0.6);
  h.reset();
  ASSERT_TRUE(eventually([&] { return redis_->command("GET tollgate:t:red:bt") == "600000000"; }));
  ASSERT_TRUE(b->admit(kb, h).admitted);  // 0.6 + 0.1 reserved fits 1.0
  h->settle(10, 0.5);
  h.reset();
  ASSERT_TRUE(eventually([&] { return redis_->command("GET tollgate:t:red:bt") == "1100000000"; }));
  Decision d = b->admit(ka, h);
  EXPECT_FALSE(d.admitted) << "key-a's own budget has room; the team's is spent";
  EXPECT_EQ(d.reason, Decision::Reason::budget);
  EXPECT_TRUE(d.team_budget);
  EXPECT_EQ(redis_->command("GET tollgate:k:key-a:bt"), "600000000");
  // The team's daily request window counted both keys on both replicas: 2 of 4 used.
  AdmissionRequest free_a = ka, free_b = kb;
  free_a.team_budget = {};
  free_b.team_budget = {};
  EXPECT_EQ(hammer({a.get(), b.get()}, free_a, 1, 2) + hammer({b.get()}, free_b, 1, 2), 2);
}

TEST_F(RedisLimiter, WarnBudgetCrossingsAreReportedOnceAcrossReplicas) {
  std::mutex mu;
  std::vector<BudgetCrossing> seen;
  auto observe = [&](const BudgetCrossing& c) {
    std::lock_guard lock(mu);
    seen.push_back(c);
  };
  RedisOptions oa = options(), ob = options();
  oa.on_crossing = observe;
  ob.on_crossing = observe;
  auto a = make_redis_limiter(oa);
  auto b = make_redis_limiter(ob);
  AdmissionRequest r = request({});
  r.team = "red";
  r.team_budget.usd_per_month = 10.0;
  r.team_budget.warn_only = true;
  for (int i = 0; i < 6; ++i) {  // 2 USD each, alternating replicas: 4 -> 50% at 6, 80% at 8, 100% at 10
    std::unique_ptr<Admission> h;
    ASSERT_TRUE((i % 2 ? b : a)->admit(r, h).admitted);
    h->settle(1, 2.0);
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return seen.size() >= 3;
  }));
  std::this_thread::sleep_for(300ms);  // nothing more comes
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 3u);
  std::vector<int> pcts;
  for (const auto& c : seen) {
    pcts.push_back(c.percent);
    EXPECT_TRUE(c.team);
    EXPECT_EQ(c.id, "red");
    EXPECT_STREQ(c.period, "month");
  }
  std::sort(pcts.begin(), pcts.end());
  EXPECT_EQ(pcts, (std::vector<int>{50, 80, 100}));
}

TEST_F(RedisLimiter, SettleReplacesTheReservationOnceAcrossReplicas) {
  auto a = make_redis_limiter(options());
  auto b = make_redis_limiter(options());
  AdmissionRequest r = request({});
  r.key_budget.usd_total = 1.0;
  r.estimated_cost_usd = 0.5;
  std::unique_ptr<Admission> x, y, z;
  ASSERT_TRUE(a->admit(r, x).admitted);
  ASSERT_TRUE(b->admit(r, y).admitted);
  EXPECT_EQ(b->admit(r, z).reason, Decision::Reason::budget);
  x->settle(10, 0.1);
  x->settle(10, 0.9);  // ignored
  x.reset();
  // 0.1 spent + 0.5 reserved: 0.4 fits exactly once settled in the background.
  r.estimated_cost_usd = 0.4;
  ASSERT_TRUE(eventually([&] { return b->admit(r, z).admitted; }));
  EXPECT_EQ(redis_->command("GET tollgate:k:team-a:bt"), "100000000");
  EXPECT_EQ(redis_->command("HGET tollgate:k:team-a:rv _sum"), "900000000");
  r.estimated_cost_usd = 0.01;
  EXPECT_FALSE(a->admit(r, x).admitted);
  // Unsettled (no answer): released, no spend added.
  z.reset();
  y->settle(10, 0.2);
  y.reset();
  ASSERT_TRUE(eventually([&] { return redis_->command("EXISTS tollgate:k:team-a:rv") == "0"; }));
  EXPECT_EQ(redis_->command("GET tollgate:k:team-a:bt"), "300000000");
  EXPECT_EQ(redis_->command("ZCARD tollgate:k:team-a:r"), "0");
}

TEST_F(RedisLimiter, ReservationsOfACrashedReplicaExpireWithTheirLease) {
  AdmissionRequest r = request({});
  r.key_budget.usd_total = 1.0;
  r.estimated_cost_usd = 0.8;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    RedisOptions o = options();
    o.concurrency_lease = 600ms;
    auto l = make_redis_limiter(o);
    std::unique_ptr<Admission> held;
    ::_exit(l->admit(r, held).admitted ? 0 : 1);  // dies holding the reservation
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto l = make_redis_limiter(options());
  std::unique_ptr<Admission> a;
  EXPECT_EQ(l->admit(r, a).reason, Decision::Reason::budget);
  EXPECT_TRUE(eventually([&] { return l->admit(r, a).admitted; }, 3s));
}

TEST_F(RedisLimiter, LiveReservationsAreRenewedPastTheirLease) {
  RedisOptions o = options();
  o.concurrency_lease = 300ms;
  auto l = make_redis_limiter(o);
  AdmissionRequest r = request({});
  r.key_budget.usd_per_month = 1.0;
  r.estimated_cost_usd = 0.8;
  std::unique_ptr<Admission> stream, other;
  ASSERT_TRUE(l->admit(r, stream).admitted);
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(l->admit(r, other).admitted) << "after " << (i + 1) * 100 << " ms";
  }
  stream->settle(10, 0.1);
  EXPECT_TRUE(eventually([&] { return l->admit(r, other).admitted; }));
}

TEST_F(RedisLimiter, ScriptCacheLossFallsBackToEval) {
  auto l = make_redis_limiter(options());
  AdmissionRequest r = request({.rpm = 100});
  std::unique_ptr<Admission> h;
  ASSERT_TRUE(l->admit(r, h).admitted);
  ASSERT_EQ(redis_->command("SCRIPT FLUSH"), "OK");
  Decision d = l->admit(r, h);
  EXPECT_TRUE(d.admitted);
  EXPECT_FALSE(d.degraded);
  EXPECT_EQ(d.requests->remaining, 98);
  EXPECT_EQ(l->stats().redis_errors, 0u);
}

// Traffic from several threads while Redis is killed and started again on the same port.
struct OutageRun {
  std::atomic<bool> stop{false};
  std::atomic<int> degraded{0}, healthy{0};
  std::atomic<int64_t> slowest_us{0};
  std::vector<std::thread> threads;

  void start(RateLimiter& l, const AdmissionRequest& r) {
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < 200'000 && !stop; ++i) {  // bounded
          std::unique_ptr<Admission> a;
          auto t0 = Steady::now();
          Decision d = l.admit(r, a);
          int64_t us = std::chrono::duration_cast<std::chrono::microseconds>(Steady::now() - t0)
                           .count();
          int64_t s = slowest_us.load();
          while (us > s && !slowest_us.compare_exchange_weak(s, us)) {
          }
          (d.degraded ? degraded : healthy).fetch_add(1);
          if (d.degraded && !d.admitted) EXPECT_EQ(d.reason, Decision::Reason::unavailable);
          if (a) a->settle(10, 0.0001);
          std::this_thread::sleep_for(1ms);
        }
      });
  }
  void join() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

void outage_and_recovery(RedisServer& redis, RateLimiter& l, bool fail_open) {
  AdmissionRequest r;
  r.key_id = "team-a";
  r.model = "smart";
  r.key_limits.rpm = 1'000'000;
  r.key_limits.tpm = 10'000'000;
  r.key_limits.concurrency = 100;
  OutageRun run;
  run.start(l, r);
  std::this_thread::sleep_for(300ms);
  EXPECT_GT(run.healthy.load(), 0);
  EXPECT_EQ(run.degraded.load(), 0);

  redis.stop();
  EXPECT_TRUE(eventually([&] { return run.degraded.load() > 20; }));
  LimiterStats s = l.stats();
  EXPECT_GT(s.redis_errors, 0u);
  if (fail_open) {
    EXPECT_GT(s.fail_open_admits, 0u);
    EXPECT_EQ(s.fail_closed_rejects, 0u);
  } else {
    EXPECT_GT(s.fail_closed_rejects, 0u);
    EXPECT_EQ(s.fail_open_admits, 0u);
  }

  ASSERT_TRUE(redis.start());
  int healthy_before = run.healthy.load();
  EXPECT_TRUE(eventually([&] { return run.healthy.load() > healthy_before + 50; }, 5s))
      << "the limiter did not recover after Redis came back";
  int degraded_after = run.degraded.load();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(run.degraded.load(), degraded_after) << "still degraded after recovery";
  run.join();
  // Nobody waited on a dead Redis for long: connect and command timeouts are 50 ms.
  EXPECT_LT(run.slowest_us.load(), 250'000);
}

TEST_F(RedisLimiter, OutageFailsOpenIsCountedAndHeals) {
  auto l = make_redis_limiter(options(true));
  outage_and_recovery(*redis_, *l, true);
}

TEST_F(RedisLimiter, OutageFailsClosedIsCountedAndHeals) {
  auto l = make_redis_limiter(options(false));
  outage_and_recovery(*redis_, *l, false);
}

TEST_F(RedisLimiter, UnreachableAtStartIsAnOutageNotAnError) {
  redis_->stop();
  auto l = make_redis_limiter(options(true));
  AdmissionRequest r = request({.rpm = 5});
  std::unique_ptr<Admission> h;
  Decision d = l->admit(r, h);
  EXPECT_TRUE(d.admitted);
  EXPECT_TRUE(d.degraded);
  ASSERT_NE(h, nullptr);
  h->settle(10, 0);
  ASSERT_TRUE(redis_->start());
  EXPECT_TRUE(eventually([&] { return !l->admit(r, h).degraded; }, 5s));
}

TEST(RedisLimiterOptions, BadUrlIsRejected) {
  RedisOptions o;
  o.url = "http://127.0.0.1:6379";
  EXPECT_THROW(make_redis_limiter(o), std::invalid_argument);
  o.url = "redis://127.0.0.1:notaport";
  EXPECT_THROW(make_redis_limiter(o), std::invalid_argument);
  o.url = "redis://:secret@127.0.0.1:6390/2";
  EXPECT_NO_THROW(make_redis_limiter(o));
}

}  // namespace
}  // namespace tollgate::limits
