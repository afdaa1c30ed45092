// The Redis backend: entries shared by every replica. Synchronous on the calling worker thread
// with short timeouts, like the limiter (a loopback/LAN round trip costs less than an async
// hop); connections are pooled; after a failure Redis is left alone for a second (the cache
// answers absent: a miss, never an error) instead of every request waiting on a timeout.
// Values are zlib-compressed (answers are text; 3-5x smaller), prefixed by their length.
#include <hiredis/hiredis.h>
#include <zlib.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>
#include <vector>

#include <spdlog/spdlog.h>

#include "cache/backend.h"

namespace tollgate::cache {
namespace {

using std::chrono::milliseconds;
constexpr std::string_view kPrefix = "tollgate:cache:";

struct Endpoint {
  std::string host = "127.0.0.1", password;
  int port = 6379, db = 0;
};

// redis://[[user]:password@]host[:port][/db], the limiter's form (IPv6 hosts not needed here).
Endpoint parse(std::string url) {
  Endpoint e;
  if (url.starts_with("redis://")) url.erase(0, 8);
  if (auto at = url.rfind('@'); at != std::string::npos) {
    std::string cred = url.substr(0, at);
    e.password = cred.substr(cred.find(':') == std::string::npos ? 0 : cred.find(':') + 1);
    url.erase(0, at + 1);
  }
  if (auto slash = url.find('/'); slash != std::string::npos) {
    std::from_chars(url.data() + slash + 1, url.data() + url.size(), e.db);
    url.resize(slash);
  }
  if (auto colon = url.rfind(':'); colon != std::string::npos) {
    std::from_chars(url.data() + colon + 1, url.data() + url.size(), e.port);
    url.resize(colon);
  }
  if (!url.empty()) e.host = url;
  return e;
}

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

std::string compress(std::string_view in) {
  uLongf bound = compressBound(in.size());
  std::string out(4 + bound, '\0');
  uint32_t n = static_cast<uint32_t>(in.size());
  std::memcpy(out.data(), &n, 4);
  if (compress2(reinterpret_cast<Bytef*>(out.data() + 4), &bound, reinterpret_cast<const Bytef*>(in.data()), in.size(), 6) != Z_OK)
    return {};
  out.resize(4 + bound);
  return out;
}

std::optional<std::string> decompress(std::string_view in) {
  if (in.size() < 4) return std::nullopt;
  uint32_t n;
  std::memcpy(&n, in.data(), 4);
  if (n > (256u << 20)) return std::nullopt;
  std::string out(n, '\0');
  uLongf len = n;
  if (uncompress(reinterpret_cast<Bytef*>(out.data()), &len, reinterpret_cast<const Bytef*>(in.data() + 4), in.size() - 4) != Z_OK || len != n)
    return std::nullopt;
  return out;
}

class RedisStore final : public Backend {
 public:
  RedisStore(const std::string& url, milliseconds timeout) : at_(parse(url)), timeout_(timeout) {}

  std::optional<std::string> get(const std::string& key) override {
    std::string k = std::string(kPrefix) + key;
    const char* argv[] = {"GET", k.c_str()};
    size_t lens[] = {3, k.size()};
    auto r = run(2, argv, lens);
    if (!r || r->type != REDIS_REPLY_STRING) return std::nullopt;
    return decompress(std::string_view(r->str, r->len));
  }
  void put(const std::string& key, std::string value, std::chrono::seconds ttl) override {
    std::string k = std::string(kPrefix) + key, v = compress(value), secs = std::to_string(ttl.count());
    if (v.empty()) return;
    const char* argv[] = {"SET", k.c_str(), v.data(), "EX", secs.c_str()};
    size_t lens[] = {3, k.size(), v.size(), 2, secs.size()};
    run(5, argv, lens);
  }
  void erase(const std::string& key) override {
    std::string k = std::string(kPrefix) + key;
    const char* argv[] = {"DEL", k.c_str()};
    size_t lens[] = {3, k.size()};
    run(2, argv, lens);
  }

  // The log is a sorted set scored by a counter of its own, bumped in the same script, so
  // numbers follow the order of the writes whatever the replicas' clocks say. A second set
  // scores the same keys by expiry in unix ms (the writer's clock: a second off matters little): keys
  // past it leave both, and past `max_entries` the oldest leave, so a busy partition's log
  // stays as small as the entries it can still serve.
  void log_add(const std::string& partition, const std::string& key, std::chrono::seconds ttl,
               int64_t max_entries) override {
    static constexpr std::string_view kScript =
        "local function rem(list) for i = 1, #list, 1000 do local part = {unpack(list, i, math.min(i + 999, #list))} "
        "redis.call('ZREM', KEYS[1], unpack(part)) redis.call('ZREM', KEYS[3], unpack(part)) end end "
        "local n = redis.call('INCR', KEYS[2]) "
        "redis.call('ZADD', KEYS[1], n, ARGV[1]) redis.call('ZADD', KEYS[3], ARGV[3] + 1000 * ARGV[2], ARGV[1]) "
        "rem(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])) "
        "local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4]) "
        "if over > 0 then rem(redis.call('ZRANGE', KEYS[1], 0, over - 1)) end "
        "for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end return n";
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string log = std::string(kPrefix) + "log:" + partition, seq = log + ":seq", expiry = log + ":exp",
                secs = std::to_string(ttl.count()), at = std::to_string(now_ms), cap = std::to_string(std::max<int64_t>(max_entries, 1));
    const char* argv[] = {"EVAL", kScript.data(), "3", log.c_str(), seq.c_str(), expiry.c_str(), key.c_str(),
                          secs.c_str(), at.c_str(), cap.c_str()};
    size_t lens[] = {4, kScript.size(), 1, log.size(), seq.size(), expiry.size(), key.size(), secs.size(), at.size(), cap.size()};
    run(10, argv, lens);
  }
  std::vector<std::pair<std::string, int64_t>> log_since(const std::string& partition, int64_t after) override {
    std::string log = std::string(kPrefix) + "log:" + partition, from = "(" + std::to_string(after);
    const char* argv[] = {"ZRANGEBYSCORE", log.c_str(), from.c_str(), "+inf", "WITHSCORES", "LIMIT", "0", "1000"};
    size_t lens[] = {13, log.size(), from.size(), 4, 10, 5, 1, 4};
    auto r = run(8, argv, lens);
    std::vector<std::pair<std::string, int64_t>> out;
    if (!r || r->type != REDIS_REPLY_ARRAY) return out;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      const redisReply* member = r->element[i];
      const redisReply* score = r->element[i + 1];
      if (member->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING) continue;
      int64_t n = 0;
      std::from_chars(score->str, score->str + score->len, n);
      out.emplace_back(std::string(member->str, member->len), n);
    }
    return out;
  }

 private:
  Context connect() {
    timeval tv{timeout_.count() / 1000, static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
    Context c(redisConnectWithTimeout(at_.host.c_str(), at_.port, tv));
    if (!c || c->err) return nullptr;
    redisSetTimeout(c.get(), tv);
    if (!at_.password.empty()) {
      Reply r(static_cast<redisReply*>(redisCommand(c.get(), "AUTH %s", at_.password.c_str())));
      if (!r || r->type == REDIS_REPLY_ERROR) return nullptr;
    }
    if (at_.db) {
      Reply r(static_cast<redisReply*>(redisCommand(c.get(), "SELECT %d", at_.db)));
      if (!r || r->type == REDIS_REPLY_ERROR) return nullptr;
    }
    return c;
  }

  Reply run(int argc, const char** argv, const size_t* lens) {
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    if (now < resting_until_.load(std::memory_order_relaxed)) return nullptr;
    Context c;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!c) c = connect();
    Reply r;
    if (c) r.reset(static_cast<redisReply*>(redisCommandArgv(c.get(), argc, argv, lens)));
    if (!r) {
      if (!warned_.exchange(true)) spdlog::warn("cache: redis at {}:{} unreachable; answering misses for now", at_.host, at_.port);
      resting_until_.store(now + std::chrono::steady_clock::duration(std::chrono::seconds(1)).count());
      return nullptr;
    }
    warned_.store(false);
    std::lock_guard lock(mu_);
    if (idle_.size() < 16) idle_.push_back(std::move(c));
    return r;
  }

  Endpoint at_;
  milliseconds timeout_;
  std::mutex mu_;
  std::vector<Context> idle_;
  std::atomic<int64_t> resting_until_{0};
  std::atomic<bool> warned_{false};
};

}  // namespace

std::unique_ptr<Backend> redis_store(const std::string& url, milliseconds timeout) {
  return std::make_unique<RedisStore>(url, timeout);
}

}  // namespace tollgate::cache
