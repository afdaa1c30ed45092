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

class SemanticIndex {
 public:
  SemanticIndex();
  ~SemanticIndex();

  struct Match {
    std::string key;  // the entry's key in the backend
    double similarity = 0;
  };
  // Nearest entries of `partition` at or above `threshold`, most similar first (a few: the
  // nearest may have expired from the backend). `v` is a unit vector.
  std::vector<Match> nearest(const std::string& partition, std::span<const float> v, double threshold);
  // Adds an entry (a unit vector); a key already there is left alone.
  void add(const std::string& partition, const std::string& key, std::span<const float> v);
  // The entry is gone from the backend (expired, evicted): never matched again.
  void forget(const std::string& partition, const std::string& key);
  // Learns the entries other processes logged in `partition` since the last call.
  void catch_up(const std::string& partition, Backend& backend);
  // Vectors held, all partitions.
  std::size_t size() const;

 private:
  struct Partition;
  Partition& partition(const std::string& name);
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Partition>, std::less<>> partitions_;
};

}  // namespace tollgate::cache
