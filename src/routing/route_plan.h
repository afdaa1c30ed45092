// Which targets a request tries, in which order: the model's priority tiers (a tier is used
// only when the whole tier above is unavailable), ordered within a tier by the model's
// strategy, then the fallback models' targets. Cooling is a preference, not a refusal: cooled
// targets (open circuit, a 429's Retry-After) are passed over while a healthy one is left, and a
// target whose cooldown has passed gets one half-open probe at a time; when none is healthy the
// plan still offers the one recovering first (unless the model says when_all_unavailable: fail).
#pragma once

#include <chrono>
#include <optional>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/snapshot.h"

namespace tollgate::routing {

int64_t now_ms();  // the steady clock, in the unit TargetStats keeps

class RoutePlan {
 public:
  // `affinity` is the value session affinity hashes (a header, the key id, the user field);
  // empty for none.
  RoutePlan(const core::Snapshot& snapshot, const core::CompiledModel& model, std::string_view affinity);
  // A plan of one target (a model addressed directly as provider/model).
  explicit RoutePlan(const core::CompiledTarget& target);

  // The next target to try. Past the end of the order it starts again from the top (retries
  // on a pool smaller than max_attempts). When every target is cooling: the one recovering
  // first that this request has not tried yet, or nullptr (all tried, or the model refuses).
  const core::CompiledTarget* next();

  // True when the target next() returned last came from a fallback model.
  bool last_was_fallback() const { return last_fallback_; }
  // When every target is cooling: how long until the first one may be probed.
  std::chrono::milliseconds soonest_recovery() const;
  // True when every target is cooling because its provider rate-limited it (429), so the
  // caller should hear 429 rather than "unavailable".
  bool all_rate_limited() const;

 private:
  struct Entry {
    const core::CompiledTarget* target;
    bool fallback;
  };
  std::vector<Entry> order_;
  std::vector<const core::TargetStats*> tried_;  // by this request
  std::size_t pos_ = 0;
  bool last_fallback_ = false;
  bool send_when_all_cooling_ = true;
};

// Passive health. Call start before an attempt and exactly one of the others after it.
void attempt_started(core::TargetStats& s);
void attempt_succeeded(core::TargetStats& s, std::chrono::microseconds latency);
// A failure that says something about the target's health (connect, timeout, 429, 5xx).
// `cool_for` (a 429's Retry-After) cools the target that long at once. Returns true when this
// failure opened the circuit.
bool attempt_failed(core::TargetStats& s, const core::CircuitPolicy& policy,
                    std::optional<std::chrono::milliseconds> cool_for);
// An attempt answered with a 4xx: the target is up (a half-open probe closes the circuit).
void attempt_ended(core::TargetStats& s);
// The caller left mid-attempt: nothing learned; a half-open probe is given back unjudged.
void attempt_abandoned(core::TargetStats& s);

// The order of one tier under a strategy (exposed for tests).
std::vector<const core::CompiledTarget*> order_tier(std::vector<const core::CompiledTarget*> tier,
                                                    std::string_view strategy,
                                                    std::string_view model_key,
                                                    std::string_view affinity);

}  // namespace tollgate::routing
