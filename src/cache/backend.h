// Where entries live: in process (lru_store.cc) or in Redis (redis_store.cc), behind one
// small interface. Values are encoded entries (entry.h); keys are exact_key() hashes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tollgate::cache {

class Backend {
 public:
  virtual ~Backend() = default;
  // nullopt: absent or expired (a backend that cannot be reached answers absent).
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, std::string value, std::chrono::seconds ttl) = 0;
  virtual void erase(const std::string& key) = 0;

  // Semantic entries (semantic.h): a log per partition of the keys stored in it, numbered in
  // order, so an index in another process (or after a restart) learns them; it keeps the
  // `max_entries` newest unexpired keys. A backend private to its process needs none (its
  // index sees every put): these do nothing.
  virtual void log_add(const std::string& partition, const std::string& key, std::chrono::seconds ttl,
                       int64_t max_entries) {}
  // (key, number) logged after number `after`, oldest first, a bounded batch.
  virtual std::vector<std::pair<std::string, int64_t>> log_since(const std::string& partition, int64_t after) {
    return {};
  }
};

// An LRU in process, bounded by bytes (keys + values + bookkeeping), sharded by key so
// worker threads rarely meet on one lock.
class LruStore final : public Backend {
 public:
  explicit LruStore(int64_t max_bytes);
  ~LruStore() override;
  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, std::string value, std::chrono::seconds ttl) override;
  void erase(const std::string& key) override;
  int64_t bytes() const;
  std::size_t size() const;
  // Per-entry bookkeeping counted against the cap (list node, hash node, expiry).
  static constexpr int64_t kOverhead = 96;

 private:
  struct Shard;
  std::vector<std::unique_ptr<Shard>> shards_;
  Shard& shard(const std::string& key);
};

// Redis (hiredis, synchronous on the calling thread with short timeouts, as the limiter):
// values compressed with zlib, expiry by Redis itself, keys under "<prefix>cache:".
std::unique_ptr<Backend> redis_store(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace tollgate::cache
