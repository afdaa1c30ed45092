#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>

#include "cache/backend.h"

namespace tollgate::cache {

namespace {
constexpr std::size_t kShards = 16;
int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

struct LruStore::Shard {
  struct Item {
    std::string key, value;
    int64_t expires_ms;
  };
  std::mutex mu;
  std::list<Item> order;  // most recently used first
  std::unordered_map<std::string_view, std::list<Item>::iterator> index;
  int64_t bytes = 0, cap = 0;

  static int64_t cost(const Item& i) { return static_cast<int64_t>(i.key.size() + i.value.size()) + kOverhead; }
  void drop(std::list<Item>::iterator it) {
    bytes -= cost(*it);
    index.erase(it->key);
    order.erase(it);
  }
};

LruStore::LruStore(int64_t max_bytes) {
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->cap = std::max<int64_t>(max_bytes / static_cast<int64_t>(kShards), 1);
  }
}
LruStore::~LruStore() = default;

LruStore::Shard& LruStore::shard(const std::string& key) {
  return *shards_[std::hash<std::string>{}(key) % kShards];
}

std::optional<std::string> LruStore::get(const std::string& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(key);
  if (it == s.index.end()) return std::nullopt;
  if (it->second->expires_ms <= now_ms()) {
    s.drop(it->second);
    return std::nullopt;
  }
  s.order.splice(s.order.begin(), s.order, it->second);
  return it->second->value;
}

void LruStore::put(const std::string& key, std::string value, std::chrono::seconds ttl) {
  Shard& s = shard(key);
  Shard::Item item{key, std::move(value), now_ms() + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count()};
  const int64_t cost = Shard::cost(item);
  if (cost > s.cap) return;  // larger than the shard: never fits, and would empty it
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) s.drop(it->second);
  while (s.bytes + cost > s.cap && !s.order.empty()) s.drop(std::prev(s.order.end()));
  s.order.push_front(std::move(item));
  s.index.emplace(s.order.front().key, s.order.begin());
  s.bytes += cost;
}

void LruStore::erase(const std::string& key) {
  Shard& s = shard(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) s.drop(it->second);
}

int64_t LruStore::bytes() const {
  int64_t b = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    b += s->bytes;
  }
  return b;
}

std::size_t LruStore::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    n += s->order.size();
  }
  return n;
}

}  // namespace tollgate::cache
