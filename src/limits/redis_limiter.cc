// The Redis backend: every replica shares its windows, concurrency slots and budgets through
// one Redis (standalone or a primary behind Sentinel; not Cluster: one admission touches keys
// of several scopes, which Cluster would put in different slots).
//
// Admission: one EVALSHA (EVAL when Redis answers NOSCRIPT, e.g. after a restart) on the
// calling worker thread, over a connection owned by that thread (thread_local), with short
// connect and command timeouts. Why synchronous and not async: on loopback or a LAN the round
// trip is tens of microseconds, less than an async hop through the io_context would cost, and
// a thread-owned connection needs no locks. What keeps it from blocking long is the breaker:
// after one failure no thread touches Redis (each admit takes the fail_open/fail_closed path
// at once) until a backoff passes; then exactly one thread probes, and its success lets every
// thread reconnect (the epoch tells them their old connection is stale).
//
// Settle and release are fire-and-forget: a background thread with its own connection sends
// them pipelined, keeps them queued through an outage (bounded; the oldest dropped and
// counted), and renews the leases of live concurrency slots, so a crashed replica's slots
// expire after RedisOptions::concurrency_lease instead of leaking forever.
//
// Key layout (prefix "tollgate:" by default; <scope> is k:<key>, t:<team>, m:<model> or
// km:<key>:<model>, names with ':' and '%' escaped):
//   <prefix><scope>:rm|rd|tm|td   hash {d, t}: a GCRA window; expires when fully refilled
//   <prefix><scope>:c             zset member -> lease deadline (ms); expires after the lease
//   <prefix><scope>:bd:<YYYYMMDD> spend (nano-USD) of a UTC day; expires after 2 days
//   <prefix><scope>:bm:<YYYYMM>   spend of a UTC month; expires after 62 days
//   <prefix><scope>:bt            total spend; never expires
//   <prefix><scope>:r             zset reservation member -> lease deadline (ms), renewed like
//                                 the concurrency leases
//   <prefix><scope>:rv            hash reservation member -> estimated cost (nano-USD), and
//                                 '_sum'; budgets count spend + '_sum'
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "limits/plan.h"
#include "limits/rate_limiter.h"
#include "limits/redis_scripts.h"

namespace tollgate::limits {
namespace {

using namespace detail;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

constexpr milliseconds kDayTtl{2 * 86'400'000};
constexpr milliseconds kMonthTtl{62LL * 86'400'000};

int64_t steady_ms() {
  return std::chrono::duration_cast<milliseconds>(Steady::now().time_since_epoch()).count();
}

std::string sha1_hex(const char* text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(text, std::strlen(text), md, &n, EVP_sha1(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

struct Script {
  const char* body;
  std::string sha;
  explicit Script(const char* b) : body(b), sha(sha1_hex(b)) {}
};

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user, password;
  int db = 0;
};

// redis://[[user]:password@]host[:port][/db]
Endpoint parse_url(const std::string& url) {
  const std::string scheme = "redis://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::invalid_argument("redis url must start with redis:// : " + url);
  Endpoint e;
  std::string rest = url.substr(scheme.size());
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (auto colon = cred.find(':'); colon != std::string::npos) {
      e.user = cred.substr(0, colon);
      e.password = cred.substr(colon + 1);
    } else {
      e.password = cred;
    }
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), e.db);
      if (ec != std::errc() || p != db.data() + db.size())
        throw std::invalid_argument("bad redis db in url: " + url);
    }
  }
  std::string host = rest, port;
  if (!rest.empty() && rest.front() == '[') {  // [::1]:6379
    auto close = rest.find(']');
    if (close == std::string::npos) throw std::invalid_argument("bad redis host: " + url);
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port = rest.substr(close + 2);
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (!port.empty()) {
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || p != port.data() + port.size() || e.port <= 0 || e.port > 65535)
      throw std::invalid_argument("bad redis port: " + url);
  }
  if (!host.empty()) e.host = host;
  return e;
}

timeval to_timeval(milliseconds d) {
  timeval tv;
  tv.tv_sec = d.count() / 1000;
  tv.tv_usec = (d.count() % 1000) * 1000;
  return tv;
}

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;

bool is_noscript(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR && r->str && std::strncmp(r->str, "NOSCRIPT", 8) == 0;
}

// A command as argv; `args[1]` is the SHA for EVALSHA commands.
struct Command {
  std::vector<std::string> args;
  const Script* script = nullptr;  // set for EVALSHA: resent as EVAL on NOSCRIPT
  std::function<void(const redisReply&)> on_reply;  // the background thread hands it the answer
};

Reply run(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return Reply(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

// EVALSHA, and EVAL when the script is not cached. Null on an I/O error (the context is then
// unusable).
Reply run_script(redisContext* c, Command& cmd) {
  Reply r = run(c, cmd.args);
  if (is_noscript(r.get())) {
    cmd.args[0] = "EVAL";
    cmd.args[1] = cmd.script->body;
    r = run(c, cmd.args);
    cmd.args[0] = "EVALSHA";
    cmd.args[1] = cmd.script->sha;
  }
  return r;
}

class RedisCore;

// One live concurrency slot set, for lease renewal.
struct Lease {
  std::vector<std::string> keys;
};

class RedisCore : public std::enable_shared_from_this<RedisCore> {
 public:
  explicit RedisCore(const RedisOptions& o)
      : opt(o), endpoint(parse_url(o.url)), admit_script(kAdmitScript),
        settle_script(kSettleScript), renew_script(kRenewScript) {
    std::random_device rd;
    char buf[24];
    std::snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
    replica_id = buf;
    backoff.store(opt.backoff_min.count());
  }

  // --- connections ---

  // A new connection with timeouts, AUTH and SELECT done; null on failure.
  Context connect() const {
    timeval ct = to_timeval(opt.connect_timeout);
    Context c(redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ct));
    if (!c || c->err) return nullptr;
    timeval tv = to_timeval(opt.command_timeout);
    if (redisSetTimeout(c.get(), tv) != REDIS_OK) return nullptr;
    if (!endpoint.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!endpoint.user.empty()) auth.push_back(endpoint.user);
      auth.push_back(endpoint.password);
      Reply r = run(c.get(), auth);
      if (!r || r->type == REDIS_REPLY_ERROR) return nullptr;
    }
    if (endpoint.db != 0) {
      Reply r = run(c.get(), {"SELECT", std::to_string(endpoint.db)});
      if (!r || r->type == REDIS_REPLY_ERROR) return nullptr;
    }
    return c;
  }

  // --- the breaker shared by request threads ---

  // True when this thread may talk to Redis now. While down, only the one thread that claims
  // the probe after the backoff may.
  bool may_try() {
    int64_t at = retry_at.load(std::memory_order_acquire);
    if (at == 0) return true;
    int64_t now = steady_ms();
    if (now < at) return false;
    return retry_at.compare_exchange_strong(at, now + backoff.load());
  }

  void on_failure() {
    redis_errors.fetch_add(1, std::memory_order_relaxed);
    epoch.fetch_add(1, std::memory_order_acq_rel);  // every thread's connection is suspect
    int64_t b = backoff.load();
    if (retry_at.load() != 0) b = std::min<int64_t>(b * 2, opt.backoff_max.count());
    else b = opt.backoff_min.count();
    backoff.store(b);
    retry_at.store(steady_ms() + b, std::memory_order_release);
  }

  void on_success() {
    if (retry_at.load(std::memory_order_relaxed) != 0) {
      retry_at.store(0, std::memory_order_release);
      backoff.store(opt.backoff_min.count());
    }
  }

  // --- the background queue ---

  void enqueue(Command cmd) {
    {
      std::lock_guard lock(mu);
      if (stopping) {
        settle_dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (queue.size() >= opt.settle_queue_max) {
        queue.pop_front();
        settle_dropped.fetch_add(1, std::memory_order_relaxed);
      }
      queue.push_back(std::move(cmd));
    }
    cv.notify_one();
  }

  void add_lease(const std::string& member, std::vector<std::string> keys) {
    std::lock_guard lock(leases_mu);
    leases.emplace(member, Lease{std::move(keys)});
  }

  void drop_lease(const std::string& member) {
    std::lock_guard lock(leases_mu);
    leases.erase(member);
  }

  void start_worker() { worker = std::thread([self = shared_from_this()] { self->work(); }); }

  void stop_worker() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    cv.notify_all();
    if (worker.joinable()) worker.join();
  }

  std::string next_member() {
    return replica_id + ":" + std::to_string(member_seq.fetch_add(1, std::memory_order_relaxed));
  }

  std::string key(const PlannedScope& s, std::string_view suffix) const {
    std::string k = opt.key_prefix;
    k += s.id;
    k += ':';
    k += suffix;
    return k;
  }

  const RedisOptions opt;
  const Endpoint endpoint;
  const Script admit_script, settle_script, renew_script;
  std::string replica_id;

  std::atomic<uint64_t> admitted{0}, rejected{0}, redis_errors{0}, fail_open_admits{0},
      fail_closed_rejects{0}, settle_dropped{0};
  std::atomic<uint64_t> epoch{0};

  // Renewals of every live concurrency slot (after a reconnect, Redis may have lost them).
  std::vector<Command> renewals();

 private:
  void work();
  bool send_batch(redisContext* c, std::vector<Command>& batch, size_t& done);

  std::atomic<int64_t> retry_at{0};  // steady ms; 0: healthy
  std::atomic<int64_t> backoff{0};
  std::atomic<uint64_t> member_seq{0};

  std::mutex mu;
  std::condition_variable cv;
  std::deque<Command> queue;
  bool stopping = false;
  std::thread worker;

  std::mutex leases_mu;
  std::unordered_map<std::string, Lease> leases;
};

std::vector<Command> RedisCore::renewals() {
  std::unordered_map<std::string, std::vector<std::string>> by_key;
  {
    std::lock_guard lock(leases_mu);
    for (const auto& [member, lease] : leases)
      for (const auto& k : lease.keys) by_key[k].push_back(member);
  }
  std::vector<Command> out;
  for (auto& [k, members] : by_key) {
    Command c{{"EVALSHA", renew_script.sha, "1", k, std::to_string(opt.concurrency_lease.count())},
              &renew_script, {}};
    for (auto& m : members) c.args.push_back(std::move(m));
    out.push_back(std::move(c));
  }
  return out;
}

// Sends the batch pipelined; `done` counts the commands whose replies came back. False on an
// I/O error (the connection is then unusable).
bool RedisCore::send_batch(redisContext* c, std::vector<Command>& batch, size_t& done) {
  done = 0;
  for (auto& cmd : batch) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : cmd.args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
        REDIS_OK)
      return false;
  }
  std::vector<Command*> noscript;
  for (auto& cmd : batch) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) return false;
    Reply r(static_cast<redisReply*>(raw));
    if (is_noscript(r.get()) && cmd.script) noscript.push_back(&cmd);
    else if (r->type == REDIS_REPLY_ERROR) redis_errors.fetch_add(1, std::memory_order_relaxed);
    else if (cmd.on_reply) cmd.on_reply(*r);
    ++done;
  }
  // Scripts Redis no longer had (SCRIPT FLUSH): resent as EVAL once the pipeline is drained.
  // Out of order is safe: settles commute, and a renewal never names a member whose release
  // is in the same batch (the lease is dropped before the release is queued).
  for (Command* cmd : noscript) {
    Reply r = run_script(c, *cmd);
    if (!r) return false;
    if (r->type == REDIS_REPLY_ERROR) redis_errors.fetch_add(1, std::memory_order_relaxed);
    else if (cmd->on_reply) cmd->on_reply(*r);
  }
  return true;
}

void RedisCore::work() {
  Context c;
  int64_t wait_ms = opt.backoff_min.count();
  const milliseconds renew_every = std::max(opt.concurrency_lease / 3, milliseconds{10});
  auto next_renew = Steady::now() + renew_every;
  std::optional<Steady::time_point> flush_deadline;

  for (;;) {
    std::vector<Command> batch;
    {
      std::unique_lock lock(mu);
      cv.wait_until(lock, next_renew, [&] { return stopping || !queue.empty(); });
      if (stopping && !flush_deadline) flush_deadline = Steady::now() + milliseconds{500};
      if (stopping && (queue.empty() || Steady::now() >= *flush_deadline)) return;
      size_t n = std::min<size_t>(queue.size(), 512);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    // Renewals go first, in the same pipeline: a release queued after a renewal snapshot
    // is then applied after it (a renewal re-adds members, so the order matters).
    if (Steady::now() >= next_renew) {
      next_renew = Steady::now() + renew_every;
      std::vector<Command> renew = renewals();
      if (!renew.empty()) {
        for (auto& b : batch) renew.push_back(std::move(b));
        batch = std::move(renew);
      }
    }
    if (batch.empty()) continue;

    if (!c) {
      c = connect();
      if (c) {
        // Off the request path: a pipelined batch may take longer than one admission.
        timeval tv = to_timeval(std::max(opt.command_timeout, milliseconds{1000}));
        redisSetTimeout(c.get(), tv);
        for (const Script* s : {&admit_script, &settle_script, &renew_script})
          run(c.get(), {"SCRIPT", "LOAD", s->body});
        // A (re)connection may be to a Redis that restarted empty: renew the live slots now.
        std::vector<Command> renew = renewals();
        for (auto& b : batch) renew.push_back(std::move(b));
        batch = std::move(renew);
      }
    }
    size_t done = 0;
    if (c && send_batch(c.get(), batch, done)) {
      wait_ms = opt.backoff_min.count();
      continue;
    }
    // Outage: keep what was not acknowledged, at the front, and wait before trying again.
    redis_errors.fetch_add(1, std::memory_order_relaxed);
    c.reset();
    {
      std::unique_lock lock(mu);
      for (size_t i = batch.size(); i > done; --i) {
        if (batch[i - 1].script == &renew_script) continue;  // rebuilt next time anyway
        if (queue.size() >= opt.settle_queue_max) {
          settle_dropped.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        queue.push_front(std::move(batch[i - 1]));
      }
      if (stopping) {
        settle_dropped.fetch_add(queue.size(), std::memory_order_relaxed);
        return;
      }
      cv.wait_for(lock, milliseconds{wait_ms}, [&] { return stopping; });
    }
    wait_ms = std::min<int64_t>(wait_ms * 2, opt.backoff_max.count());
  }
}

// Connections owned by this thread, one per live limiter.
struct ThreadConnection {
  std::weak_ptr<RedisCore> owner;
  const RedisCore* key = nullptr;
  Context ctx;
  uint64_t epoch = 0;
};

ThreadConnection& thread_connection(const std::shared_ptr<RedisCore>& core) {
  thread_local std::vector<ThreadConnection> conns;
  std::erase_if(conns, [](const ThreadConnection& c) { return c.owner.expired(); });
  for (auto& c : conns)
    if (c.key == core.get()) return c;
  conns.push_back(ThreadConnection{core, core.get(), nullptr, 0});
  return conns.back();
}

class RedisAdmission final : public Admission {
 public:
  struct TokenWindow {
    std::string key;
    int64_t limit;
    int64_t window_ms;
  };
  struct HeldBudget {
    PlannedBudget plan;
    PlannedScope scope;
    std::string res_member;  // set when it holds a reservation
  };

  std::shared_ptr<RedisCore> core;
  std::string member;                  // set when it holds concurrency slots
  std::vector<std::string> slot_keys;
  std::vector<TokenWindow> token_windows;
  std::vector<HeldBudget> budgets;     // the key's, the team's
  int64_t charged = 0;                 // tokens charged at admit (0 when admitted degraded)
  bool settled = false;

  bool holds_reservation() const {
    return std::any_of(budgets.begin(), budgets.end(), [](const HeldBudget& b) { return !b.res_member.empty(); });
  }

  ~RedisAdmission() override {
    if (!settled && holds_reservation()) settle(charged, 0);  // releases them, adds no spend
    if (member.empty()) return;
    core->drop_lease(member);
    for (const auto& k : slot_keys) core->enqueue(Command{{"ZREM", k, member}, nullptr, {}});
  }

  void settle(int64_t actual_tokens, double cost_usd) override {
    if (settled) return;
    settled = true;
    int64_t delta = std::max<int64_t>(actual_tokens, 0) - charged;
    int64_t nano = budgets.empty() ? 0 : usd_to_nano(cost_usd);
    if (delta == 0) token_windows.clear();
    if (token_windows.empty() && nano <= 0 && !holds_reservation()) return;
    // No renewal may re-add a reservation after the settle below removes it.
    for (const auto& b : budgets)
      if (!b.res_member.empty()) core->drop_lease(b.res_member);

    Command cmd{{"EVALSHA", core->settle_script.sha, ""}, &core->settle_script, {}};
    std::vector<std::string> argv{std::to_string(token_windows.size()), std::to_string(budgets.size()),
                                  std::to_string(kDayTtl.count()), std::to_string(kMonthTtl.count())};
    for (const auto& w : token_windows) {
      cmd.args.push_back(w.key);
      argv.push_back(std::to_string(w.limit));
      argv.push_back(std::to_string(w.window_ms));
      argv.push_back(std::to_string(delta));
    }
    BudgetPeriods p = budget_periods(core->opt.clock ? core->opt.clock->wall() : std::chrono::system_clock::now());
    for (const auto& b : budgets) {
      cmd.args.push_back(core->key(b.scope, "bd:" + p.day_tag));
      cmd.args.push_back(core->key(b.scope, "bm:" + p.month_tag));
      cmd.args.push_back(core->key(b.scope, "bt"));
      cmd.args.push_back(core->key(b.scope, "r"));
      cmd.args.push_back(core->key(b.scope, "rv"));
      argv.push_back(std::to_string(std::max<int64_t>(nano, 0)));
      argv.push_back(b.res_member);
    }
    cmd.args[2] = std::to_string(cmd.args.size() - 3);
    for (auto& a : argv) cmd.args.push_back(std::move(a));
    if (nano > 0 && core->opt.on_crossing) {
      // The counters after this spend, from the script: a threshold between before and after
      // was crossed by this settle alone (INCRBY is atomic), so every replica reports it once.
      std::vector<PlannedBudget> plans;
      for (const auto& b : budgets) plans.push_back(b.plan);
      cmd.on_reply = [plans = std::move(plans), nano, observer = core->opt.on_crossing](const redisReply& r) {
        if (r.type != REDIS_REPLY_ARRAY || r.elements < 3 * plans.size()) return;
        std::vector<BudgetCrossing> crossed;
        for (std::size_t g = 0; g < plans.size(); ++g) {
          std::array<int64_t, 3> after{}, before{};
          for (std::size_t i = 0; i < 3; ++i) {
            const redisReply* e = r.element[3 * g + i];
            after[i] = e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
            before[i] = after[i] - nano;
          }
          budget_crossings(plans[g], before, after, crossed);
        }
        for (const auto& c : crossed) observer(c);
      };
    }
    core->enqueue(std::move(cmd));
  }
};

class NoLimitAdmission final : public Admission {
 public:
  void settle(int64_t, double) override {}
};

class RedisLimiter final : public RateLimiter {
 public:
  explicit RedisLimiter(const RedisOptions& o) : core_(std::make_shared<RedisCore>(o)) {
    core_->start_worker();
  }
  ~RedisLimiter() override { core_->stop_worker(); }

  Decision admit(const AdmissionRequest& req, std::unique_ptr<Admission>& out) override;

  LimiterStats stats() const override {
    LimiterStats s;
    s.admitted = core_->admitted.load(std::memory_order_relaxed);
    s.rejected = core_->rejected.load(std::memory_order_relaxed);
    s.redis_errors = core_->redis_errors.load(std::memory_order_relaxed);
    s.fail_open_admits = core_->fail_open_admits.load(std::memory_order_relaxed);
    s.fail_closed_rejects = core_->fail_closed_rejects.load(std::memory_order_relaxed);
    s.settle_dropped = core_->settle_dropped.load(std::memory_order_relaxed);
    return s;
  }

 private:
  Decision degraded(const Plan& plan, std::unique_ptr<Admission>& out);
  // The admit script's reply, or null when Redis could not be reached.
  Reply call(Command& cmd);

  std::shared_ptr<RedisCore> core_;
};

Reply RedisLimiter::call(Command& cmd) {
  if (!core_->may_try()) return nullptr;
  ThreadConnection& tc = thread_connection(core_);
  const uint64_t epoch = core_->epoch.load(std::memory_order_acquire);
  // A connection from before the last failure may be dead without knowing it yet; one that
  // fails on first use may be, too (Redis restarted between two admissions): retry once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool fresh = false;
    if (!tc.ctx || tc.epoch != epoch) {
      tc.ctx = core_->connect();
      tc.epoch = epoch;
      fresh = true;
      if (!tc.ctx) break;
      // The old connection broke: Redis may have restarted empty. Put the live concurrency
      // slots back before admitting anything, or a restart would free slots that running
      // streams still hold until the next periodic renewal.
      if (attempt > 0)
        for (auto& renewal : core_->renewals()) run_script(tc.ctx.get(), renewal);
    }
    Reply r = run_script(tc.ctx.get(), cmd);
    if (r && r->type != REDIS_REPLY_ERROR) {
      core_->on_success();
      return r;
    }
    if (r) {  // an error reply: Redis is there, but the script failed (OOM, busy, ...)
      tc.ctx.reset();
      break;
    }
    tc.ctx.reset();
    if (fresh) break;
  }
  core_->on_failure();
  return nullptr;
}

Decision RedisLimiter::degraded(const Plan& plan, std::unique_ptr<Admission>& out) {
  Decision d;
  d.degraded = true;
  if (!core_->opt.fail_open) {
    core_->fail_closed_rejects.fetch_add(1, std::memory_order_relaxed);
    d.admitted = false;
    d.reason = Decision::Reason::unavailable;
    d.retry_after = std::chrono::seconds(1);
    return d;
  }
  core_->fail_open_admits.fetch_add(1, std::memory_order_relaxed);
  // Nothing was charged, so settle later charges the whole actual use and spend.
  auto adm = std::make_unique<RedisAdmission>();
  adm->core = core_;
  for (uint8_t i = 0; i < plan.n_windows; ++i) {
    const PlannedWindow& w = plan.windows[i];
    if (w.kind == WindowKind::tokens)
      adm->token_windows.push_back(
          {core_->key(plan.scopes[w.scope], w.suffix()), w.limit, w.length().count()});
  }
  for (uint8_t i = 0; i < plan.n_budgets; ++i)
    adm->budgets.push_back({plan.budgets[i], plan.scopes[plan.budgets[i].scope], {}});
  out = std::move(adm);
  return d;
}

Decision RedisLimiter::admit(const AdmissionRequest& req, std::unique_ptr<Admission>& out) {
  out.reset();
  Plan plan = make_plan(req);
  if (plan.empty()) {
    core_->admitted.fetch_add(1, std::memory_order_relaxed);
    out = std::make_unique<NoLimitAdmission>();
    return Decision{};
  }

  auto adm = std::make_unique<RedisAdmission>();
  adm->core = core_;
  adm->charged = plan.estimated_tokens;

  std::vector<std::string> keys, args;
  int n_slots = 0;
  for (uint8_t i = 0; i < plan.n_windows; ++i) {
    const PlannedWindow& w = plan.windows[i];
    keys.push_back(core_->key(plan.scopes[w.scope], w.suffix()));
    args.push_back(std::to_string(w.limit));
    args.push_back(std::to_string(w.length().count()));
    args.push_back(std::to_string(w.kind == WindowKind::requests ? 1 : plan.estimated_tokens));
    args.push_back(w.kind == WindowKind::requests ? "1" : "2");
    if (w.kind == WindowKind::tokens)
      adm->token_windows.push_back({keys.back(), w.limit, w.length().count()});
  }
  for (uint8_t i = 0; i < plan.n_scopes; ++i) {
    if (plan.scopes[i].concurrency <= 0) continue;
    keys.push_back(core_->key(plan.scopes[i], "c"));
    args.push_back(std::to_string(plan.scopes[i].concurrency));
    adm->slot_keys.push_back(keys.back());
    ++n_slots;
  }
  // Budget groups: group g's caps answer in bits (1, 2, 4) << 3g: day, month, total.
  std::optional<BudgetPeriods> periods;
  if (plan.n_budgets > 0)
    periods = budget_periods(core_->opt.clock ? core_->opt.clock->wall() : std::chrono::system_clock::now());
  const int64_t reserve = plan.n_budgets > 0 ? plan.budgets[0].reserve : 0;  // one estimate for all
  for (uint8_t g = 0; g < plan.n_budgets; ++g) {
    const PlannedBudget& b = plan.budgets[g];
    const PlannedScope& scope = plan.scopes[b.scope];
    RedisAdmission::HeldBudget held{b, scope, reserve > 0 ? core_->next_member() : std::string()};
    std::vector<std::string> caps;
    auto add = [&](int64_t cap, const std::string& suffix, int bit) {
      if (cap <= 0) return;
      keys.push_back(core_->key(scope, suffix));
      caps.push_back(std::to_string(cap));
      caps.push_back(std::to_string(budget_bit(g, bit)));
    };
    add(b.day, "bd:" + periods->day_tag, 1);
    add(b.month, "bm:" + periods->month_tag, 2);
    add(b.total, "bt", 4);
    keys.push_back(core_->key(scope, "r"));
    keys.push_back(core_->key(scope, "rv"));
    args.push_back(std::to_string(caps.size() / 2));
    args.push_back(b.warn_only ? "1" : "0");
    args.push_back(held.res_member);
    for (auto& c : caps) args.push_back(std::move(c));
    adm->budgets.push_back(std::move(held));
  }
  if (n_slots > 0) adm->member = core_->next_member();

  Command cmd{{"EVALSHA", core_->admit_script.sha, std::to_string(keys.size())}, &core_->admit_script, {}};
  for (auto& k : keys) cmd.args.push_back(std::move(k));
  for (const std::string& a :
       {std::to_string(plan.n_windows), std::to_string(n_slots), std::to_string(plan.n_budgets), adm->member,
        std::to_string(core_->opt.concurrency_lease.count()), std::to_string(reserve)})
    cmd.args.push_back(a);
  for (auto& a : args) cmd.args.push_back(std::move(a));

  auto forget_holds = [&] {
    adm->member.clear();  // nothing to release
    for (auto& b : adm->budgets) b.res_member.clear();
  };
  Reply r = call(cmd);
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 6 + 2 * size_t{plan.n_windows}) {
    forget_holds();
    return degraded(plan, out);
  }
  auto num = [&](size_t i) -> int64_t {
    const redisReply* e = r->element[i];
    return e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
  };

  Decision d;
  d.admitted = num(0) == 1;
  d.reason = static_cast<Decision::Reason>(std::clamp<int64_t>(num(1), 0, 4));
  d.retry_after = milliseconds{num(2)};
  d.too_large = num(3) == 1;
  if (periods) decide_budgets(plan, num(4), num(5), *periods, d);
  for (uint8_t i = 0; i < plan.n_windows; ++i) {
    const PlannedWindow& w = plan.windows[i];
    WindowStatus st{w.limit, num(6 + 2 * i), milliseconds{num(7 + 2 * i)}};
    keep_tightest(w.kind == WindowKind::requests ? d.requests : d.tokens, st);
  }

  if (!d.admitted) {
    core_->rejected.fetch_add(1, std::memory_order_relaxed);
    forget_holds();
    return d;
  }
  core_->admitted.fetch_add(1, std::memory_order_relaxed);
  if (!adm->member.empty()) core_->add_lease(adm->member, adm->slot_keys);
  for (const auto& b : adm->budgets)
    if (!b.res_member.empty()) core_->add_lease(b.res_member, {core_->key(b.scope, "r")});
  out = std::move(adm);
  return d;
}

}  // namespace

std::unique_ptr<RateLimiter> make_redis_limiter(const RedisOptions& options) {
  // hiredis writes with plain send(): a dead Redis would raise SIGPIPE. The gateway ignores it
  // already (gateway/runtime.cc); make sure of it for any other host process too.
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
    std::signal(SIGPIPE, SIG_IGN);
  return std::make_unique<RedisLimiter>(options);
}

}  // namespace tollgate::limits
