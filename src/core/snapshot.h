// The compiled, immutable view of the resources that the request path reads. Built once
// per reload from validated Resources; swapped atomically; requests never re-parse config.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/resources.h"
#include "core/secret_scrub.h"
#include "core/target_stats.h"

namespace tollgate::core {

// A provider's base URL taken apart once, so dispatch never parses a URL.
struct UpstreamEndpoint {
  std::string host;
  unsigned short port = 443;
  bool tls = true;
  std::string path_prefix;  // e.g. "/v1" (no trailing slash)
  std::string host_header;  // "host" or "host:port"
};

struct CompiledProvider {
  Provider spec;
  UpstreamEndpoint endpoint;
  std::string authorization;  // the ready "Bearer ..." value (empty: none)
};

struct CompiledTarget {
  const CompiledProvider* provider;
  std::string upstream_model;
  uint32_t weight;
  uint32_t priority;
  TargetStats* stats;  // never null; outlives every snapshot
  Pricing pricing;     // the effective price: override (target's, else model's) over the catalog
};

struct CompiledModel {
  Model spec;
  std::vector<CompiledTarget> targets;
};

}  // namespace tollgate::core
namespace tollgate::guardrails {
class CompiledPolicies;
}
namespace tollgate::core {

// Compiles the guardrail policies of a snapshot (guardrails/ does it; the runtime passes it in).
// Errors make the snapshot invalid.
using GuardrailCompiler = std::function<std::shared_ptr<const guardrails::CompiledPolicies>(
    const std::vector<Guardrail>& policies, std::vector<std::string>& errors)>;

// The effective price of a target: the configured override merged over the catalog's (the
// catalog lives in obs/; the runtime passes it in, keeping core free of it).
using PriceLookup = std::function<Pricing(ProviderKind kind, std::string_view upstream_model,
                                          const Pricing& override_price)>;

// A moderation guardrail (kind: moderation), resolved: the guard phase posts the request's
// texts to its provider's /moderations endpoint (gateway/moderate.cc).
struct ModerationPolicy {
  const Guardrail* spec;
  const CompiledProvider* provider;
};

class Snapshot {
 public:
  // The indexes point into the snapshot's own vectors: a copy would dangle.
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // Fails only on what validation cannot see (an unparsable base URL is a validation error):
  // throws std::invalid_argument for a target whose provider is not in `r` (the gateway adds
  // its built-in `demo` provider to `r` before building) or a base URL that does not parse.
  static std::shared_ptr<const Snapshot> build(Resources r, uint64_t version,
                                               const PriceLookup& price = {},
                                               const GuardrailCompiler& guardrails = {});

  // The compiled guardrail policies (null when none are declared).
  const std::shared_ptr<const guardrails::CompiledPolicies>& guardrails() const { return guardrails_; }

  // The moderation policy of that name, or nullptr (not declared, or another kind).
  const ModerationPolicy* moderation(std::string_view name) const;
  bool has_moderation() const { return !moderation_.empty(); }
  // Every provider's credentials (api keys, their parts, header values), to scrub from what
  // upstreams say before it is passed on.
  const SecretScrubber& secrets() const { return secrets_; }

  const CompiledProvider* provider(std::string_view name) const;
  const CompiledModel* model(std::string_view alias) const;
  const Key* key_by_hash(std::string_view hash_hex) const;
  const Team* team(std::string_view name) const;  // nullptr: none of that name

  const Resources& resources() const { return resources_; }
  const std::vector<CompiledProvider>& providers() const { return providers_; }
  const std::vector<CompiledModel>& models() const { return models_; }
  uint64_t version() const { return version_; }

 private:
  Resources resources_;
  std::vector<CompiledProvider> providers_;
  std::vector<CompiledModel> models_;
  std::unordered_map<std::string_view, const CompiledProvider*> provider_index_;
  std::unordered_map<std::string_view, const CompiledModel*> model_index_;
  // Keys by hash: open addressing over positions in resources_.keys (position + 1; 0 is an
  // empty slot), at most half full. 4 bytes a slot instead of a node per key; the hash is a
  // SHA-256, so its own first digits place it.
  std::vector<uint32_t> key_slots_;
  std::unordered_map<std::string_view, const Team*> team_index_;
  uint64_t version_ = 0;
  std::shared_ptr<const guardrails::CompiledPolicies> guardrails_;
  std::vector<ModerationPolicy> moderation_;
  SecretScrubber secrets_;

  Snapshot() = default;
  // Shares equal key rules and fills key_slots_.
  void index_keys();
};

// Parses a provider base URL ("https://host[:port]/prefix"). False when it does not parse.
bool parse_endpoint(std::string_view url, UpstreamEndpoint& out);

// Where the current snapshot lives. Publishing is rare (reloads); reading is per request, so
// each thread keeps its own shared_ptr and refreshes it only when the generation moves:
// the hot path reads one atomic and takes no lock.
class SnapshotHolder {
 public:
  void publish(std::shared_ptr<const Snapshot> s);
  // The calling thread's view, refreshed if a newer snapshot was published. The reference
  // stays valid until this thread calls current() or shared() again on any holder; code that
  // suspends (co_await) while it uses the snapshot must keep shared() instead. Before the
  // first publish() it is an empty snapshot (version 0).
  const Snapshot& current();
  // The latest published snapshot (nullptr before the first publish), to hold across
  // suspension points. Served from the thread's view too: no lock unless it moved.
  std::shared_ptr<const Snapshot> shared() const;

 private:
  const std::shared_ptr<const Snapshot>& thread_view() const;

  // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's version unlocks with relaxed
  // order, which ThreadSanitizer reports as a race. Taken only on publish and refresh.
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace tollgate::core
