// The cache policy at run time: which policy a request falls under, whether it may use it,
// whom an answer is shared with (scope), and the backends the policies store into.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "cache/backend.h"
#include "core/resources.h"

namespace tollgate::cache {

class SemanticIndex;

// What the caller asked of the cache for this request: `Cache-Control: no-cache|no-store` or
// `x-tollgate-cache: bypass` skip it (no lookup, no store); `x-tollgate-cache: refresh` skips
// the lookup but stores the fresh answer.
enum class Directive { use, bypass, refresh };
Directive directive_of(std::string_view cache_control, std::string_view x_tollgate_cache);

// The policy for a key calling a model: the key's, else its team's, else the model's (the most
// particular caller first: a team sets its keys' default, a model only the fallback); nullptr
// when none names one.
const core::CachePolicy* policy_for(const core::Resources& r, const core::Key& key, const core::Team* team,
                                    const core::Model* model);

// "" when `chat` (canonical) may use `p`; else why not (for the access log): tools offered
// where the policy does not allow them, or a temperature above its limit.
std::string_view ineligible(const core::CachePolicy& p, const boost::json::object& chat);

// Who shares an entry: the key ("k:<id>"), its team ("t:<team>", the key alone when it has
// none) or everyone ("g").
std::string scope_tag(const core::CachePolicy& p, const core::Key& key);

// The backends, one per policy (by name, backend and size), kept across reloads so a reload
// does not empty the cache; and the semantic policies' indexes.
class Backends {
 public:
  Backends(std::string redis_url, std::chrono::milliseconds redis_timeout)
      : redis_url_(std::move(redis_url)), redis_timeout_(redis_timeout) {}
  Backend& for_policy(const core::CachePolicy& p);
  // A semantic policy's index, kept beside its backend.
  SemanticIndex& index_for(const core::CachePolicy& p);

 private:
  static std::string id_of(const core::CachePolicy& p);
  std::string redis_url_;
  std::chrono::milliseconds redis_timeout_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Backend>> by_policy_;
  std::map<std::string, std::shared_ptr<SemanticIndex>> indexes_;
};

}  // namespace tollgate::cache
