// The semantic cache: a request's text is embedded (through the policy's embedding alias, by
// gateway/cache_embed.cc) and the nearest stored request's answer serves it when it is similar
// enough. Only requests that are the same but for the last user message's wording may match:
// everything else (alias, scope, system prompt, earlier turns, tools, sampling parameters)
// makes the partition, and a search never leaves its partition.
//
// The index is in process (hnswlib, cosine similarity over unit vectors); the entries, each
// holding its vector, live in the policy's backend. A backend shared by replicas (Redis) also
// keeps a log per partition of the entries stored in it, which an index reads to learn what
// another process stored (or what it held before a restart).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "cache/backend.h"

namespace tollgate::cache {

struct SemanticQuery {
  std::string text;       // the last user message's text: what is embedded
  std::string partition;  // SHA-256 of everything else that determines the answer
};

// nullopt when the request has no text to compare: its last message is not a user's, or holds
// more than text (an image).
std::optional<SemanticQuery> semantic_query(std::string_view scope_tag, std::string_view alias,
                                            std::string_view embedding_alias, const boost::json::object& chat);

// Scales `v` to unit length; false for a zero or non-finite vector (it cannot be compared).
bool normalize(std::vector<float>& v);

// The index of one policy, bounded: an entry leaves it when its TTL passes, and past
// `max_entries` (all partitions together) the soonest to expire leaves first. What leaves is
// never matched again and its memory is given back: an emptied partition is dropped, and one
// holding more removed slots than live ones is rebuilt from the live ones.
//
// A partition holds its vectors flat and is scanned whole while it is small (most are: one
// per conversation prefix); from kGraphFrom entries it gets an HNSW graph (hnswlib), whose
// fixed cost (its lock table alone is ~2.5 MB) only a large partition repays. Times are unix
// milliseconds, passed in so tests can move them.
class SemanticIndex {
 public:
  static constexpr std::size_t kGraphFrom = 512;

  explicit SemanticIndex(std::size_t max_entries = 10'000);
  ~SemanticIndex();

  struct Match {
    std::string key;  // the entry's key in the backend
    double similarity = 0;
  };
  // Nearest live entries of `partition` at or above `threshold`, most similar first (a few:
  // the nearest may be gone from the backend). `v` is a unit vector.
  std::vector<Match> nearest(const std::string& partition, std::span<const float> v, double threshold, int64_t now_ms);
  // Adds an entry (a unit vector) that expires at `expires_ms`; a key already there is left alone.
  void add(const std::string& partition, const std::string& key, std::span<const float> v, int64_t expires_ms,
           int64_t now_ms);
  // The entry is gone from the backend (expired, evicted): never matched again.
  void forget(const std::string& partition, const std::string& key);
  // Learns the entries other processes logged in `partition` since the last call; each expires
  // `ttl` after it was stored.
  void catch_up(const std::string& partition, Backend& backend, std::chrono::seconds ttl, int64_t now_ms);
  // A reload may change the cap; the next add evicts down to it.
  void set_max_entries(std::size_t n);

  std::size_t size() const;        // live entries, all partitions
  std::size_t partitions() const;  // partitions held
  std::size_t bytes() const;       // memory held for vectors, graphs and keys (an estimate from sizes)

 private:
  struct Partition;
  // Expiry order over all partitions: when, and which slot of which partition.
  using Expiry = std::multimap<int64_t, std::pair<Partition*, std::size_t>>;
  Partition& partition(const std::string& name);
  void sweep(int64_t now_ms);
  void drop(Expiry::iterator at);
  void place(Partition& p, std::string key, std::span<const float> v, Expiry::iterator at);
  void compact(Partition& p);

  mutable std::mutex mu_;
  std::size_t max_entries_;
  std::map<std::string, std::unique_ptr<Partition>, std::less<>> partitions_;
  Expiry expiry_;
  // Per partition whose backend log had entries: the last number read and until when the log
  // may live (its newest entry's expiry). It outlives an emptied partition so the log is not
  // read again from the start; bounded like the entries (past the bound, forgotten: read again).
  struct Seen {
    int64_t number = 0, until_ms = 0;
  };
  std::map<std::string, Seen, std::less<>> log_seen_;
};

}  // namespace tollgate::cache
