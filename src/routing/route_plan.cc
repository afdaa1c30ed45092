#include "routing/route_plan.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>

namespace tollgate::routing {
namespace {

using core::CompiledTarget;

// Smooth weighted round robin (nginx's): every pick adds each target's weight to its current
// score, takes the highest and subtracts the total from it. Over any window of `total` picks
// each target gets exactly its share, interleaved. State is per thread (no locks); with N
// threads the pool sees N interleaved sequences, each exact.
const CompiledTarget* smooth_pick(const std::vector<const CompiledTarget*>& tier, std::string_view key) {
  thread_local std::unordered_map<std::string, std::map<std::string, int64_t>> state;
  auto& current = state[std::string(key)];
  int64_t total = 0;
  const CompiledTarget* best = nullptr;
  int64_t best_score = std::numeric_limits<int64_t>::min();
  for (const auto* t : tier) {
    int64_t& c = current[t->stats->name];
    c += t->weight;
    total += t->weight;
    if (c > best_score) {
      best_score = c;
      best = t;
    }
  }
  if (best) current[best->stats->name] -= total;
  return best;
}

double blended_price(const CompiledTarget* t) {
  // Ranks by input + output price per 1M tokens; unknown prices rank last.
  if (!t->pricing.input || !t->pricing.output) return std::numeric_limits<double>::infinity();
  return *t->pricing.input + *t->pricing.output;
}

uint64_t fnv1a(std::string_view a, std::string_view b) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : a) h = (h ^ c) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull;
  for (unsigned char c : b) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

void append_model(std::vector<const CompiledTarget*>& out, const core::CompiledModel& model,
                  std::string_view affinity) {
  std::vector<const CompiledTarget*> targets;
  for (const auto& t : model.targets)
    if (t.weight > 0 || model.spec.strategy == "fallback") targets.push_back(&t);
  if (model.spec.strategy == "fallback") {
    // Declared order is the order: each target its own tier.
    out.insert(out.end(), targets.begin(), targets.end());
    return;
  }
  std::stable_sort(targets.begin(), targets.end(),
                   [](auto* a, auto* b) { return a->priority < b->priority; });
  std::string_view strategy = model.spec.strategy;
  if (!model.spec.affinity.by.empty() && !affinity.empty()) strategy = "affinity";
  for (std::size_t i = 0; i < targets.size();) {
    std::size_t j = i;
    while (j < targets.size() && targets[j]->priority == targets[i]->priority) ++j;
    std::vector<const CompiledTarget*> tier(targets.begin() + i, targets.begin() + j);
    std::string key = model.spec.name + "#" + std::to_string(targets[i]->priority);
    auto ordered = order_tier(std::move(tier), strategy, key, affinity);
    out.insert(out.end(), ordered.begin(), ordered.end());
    i = j;
  }
}

}  // namespace

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<const CompiledTarget*> order_tier(std::vector<const CompiledTarget*> tier,
                                              std::string_view strategy, std::string_view model_key,
                                              std::string_view affinity) {
  if (tier.size() <= 1) return tier;
  if (strategy == "least-latency") {
    // Unknown latency (0) first: a new target is measured before it is judged.
    std::stable_sort(tier.begin(), tier.end(), [](auto* a, auto* b) {
      return a->stats->ewma_latency_us.load(std::memory_order_relaxed) <
             b->stats->ewma_latency_us.load(std::memory_order_relaxed);
    });
  } else if (strategy == "least-busy") {
    std::stable_sort(tier.begin(), tier.end(), [](auto* a, auto* b) {
      return a->stats->in_flight.load(std::memory_order_relaxed) <
             b->stats->in_flight.load(std::memory_order_relaxed);
    });
  } else if (strategy == "lowest-cost") {
    std::stable_sort(tier.begin(), tier.end(),
                     [](auto* a, auto* b) { return blended_price(a) < blended_price(b); });
  } else if (strategy == "affinity") {
    // Rendezvous hashing: the same caller lands on the same target, and losing a target
    // moves only its own callers.
    std::stable_sort(tier.begin(), tier.end(), [&](auto* a, auto* b) {
      return fnv1a(affinity, a->stats->name) > fnv1a(affinity, b->stats->name);
    });
  } else {
    // weighted (and priority): the smooth pick first, the rest by weight.
    const CompiledTarget* first = smooth_pick(tier, model_key);
    std::stable_sort(tier.begin(), tier.end(), [](auto* a, auto* b) { return a->weight > b->weight; });
    auto it = std::find(tier.begin(), tier.end(), first);
    std::rotate(tier.begin(), it, it + 1);
  }
  return tier;
}

RoutePlan::RoutePlan(const core::Snapshot& snapshot, const core::CompiledModel& model,
                     std::string_view affinity)
    : send_when_all_cooling_(model.spec.when_all_unavailable != "fail") {
  std::vector<const CompiledTarget*> targets;
  append_model(targets, model, affinity);
  for (const auto* t : targets) order_.push_back({t, false});
  for (const auto& name : model.spec.fallbacks) {
    const auto* fb = snapshot.model(name);
    if (!fb) continue;
    targets.clear();
    append_model(targets, *fb, affinity);
    for (const auto* t : targets) order_.push_back({t, true});
  }
}

RoutePlan::RoutePlan(const core::CompiledTarget& target) { order_.push_back({&target, false}); }

const core::CompiledTarget* RoutePlan::next() {
  const int64_t now = now_ms();
  const Entry* pick = nullptr;
  for (std::size_t tried = 0; tried < order_.size() && !pick; ++tried) {
    const Entry& e = order_[pos_ % order_.size()];
    ++pos_;
    core::TargetStats& s = *e.target->stats;
    int64_t open_until = s.open_until_ms.load(std::memory_order_acquire);
    if (open_until != 0) {
      if (now < open_until) continue;  // cooling down
      // Half-open: one probe at a time decides whether the circuit closes.
      bool expected = false;
      if (!s.probing.compare_exchange_strong(expected, true)) continue;
    }
    pick = &e;
  }
  if (!pick && send_when_all_cooling_) {
    // Nothing healthy is left: the target recovering first (a half-open one has already
    // recovered), once per request, rather than a refusal the target might not have given.
    int64_t best = std::numeric_limits<int64_t>::max();
    for (const auto& e : order_) {
      const core::TargetStats* s = e.target->stats;
      if (std::find(tried_.begin(), tried_.end(), s) != tried_.end()) continue;
      int64_t until = s->open_until_ms.load(std::memory_order_acquire);
      if (until < best) {
        best = until;
        pick = &e;
      }
    }
    if (pick) pick->target->stats->routed_to_cooling.fetch_add(1, std::memory_order_relaxed);
  }
  if (!pick) return nullptr;
  if (std::find(tried_.begin(), tried_.end(), pick->target->stats) == tried_.end())
    tried_.push_back(pick->target->stats);
  last_fallback_ = pick->fallback;
  return pick->target;
}

std::chrono::milliseconds RoutePlan::soonest_recovery() const {
  const int64_t now = now_ms();
  int64_t best = std::numeric_limits<int64_t>::max();
  for (const auto& e : order_) best = std::min(best, e.target->stats->open_until_ms.load() - now);
  return std::chrono::milliseconds(std::max<int64_t>(best, 0));
}

bool RoutePlan::all_rate_limited() const {
  for (const auto& e : order_)
    if (!e.target->stats->rate_limited.load(std::memory_order_relaxed)) return false;
  return !order_.empty();
}

void attempt_started(core::TargetStats& s) {
  s.in_flight.fetch_add(1, std::memory_order_relaxed);
  s.attempts.fetch_add(1, std::memory_order_relaxed);
}

void attempt_succeeded(core::TargetStats& s, std::chrono::microseconds latency) {
  s.in_flight.fetch_sub(1, std::memory_order_relaxed);
  s.consecutive_failures.store(0, std::memory_order_relaxed);
  if (s.open_until_ms.load(std::memory_order_relaxed) != 0) s.open_until_ms.store(0, std::memory_order_release);
  s.probing.store(false, std::memory_order_release);
  // EWMA with weight 0.3 for the new sample; races between threads lose a sample at worst.
  int64_t sample = std::max<int64_t>(1, latency.count());
  int64_t old = s.ewma_latency_us.load(std::memory_order_relaxed);
  s.ewma_latency_us.store(old == 0 ? sample : (old * 7 + sample * 3) / 10, std::memory_order_relaxed);
}

bool attempt_failed(core::TargetStats& s, const core::CircuitPolicy& policy,
                    std::optional<std::chrono::milliseconds> cool_for) {
  s.in_flight.fetch_sub(1, std::memory_order_relaxed);
  s.failures.fetch_add(1, std::memory_order_relaxed);
  uint32_t n = s.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  bool was_probe = s.probing.exchange(false, std::memory_order_acq_rel);
  std::chrono::milliseconds cool{0};
  if (cool_for && cool_for->count() > 0) cool = *cool_for;
  else if (n >= policy.failures || was_probe) cool = policy.cooldown;
  if (cool.count() == 0) return false;
  s.rate_limited.store(cool_for && cool_for->count() > 0, std::memory_order_relaxed);
  s.open_until_ms.store(now_ms() + cool.count(), std::memory_order_release);
  s.cooldowns.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void attempt_abandoned(core::TargetStats& s) {
  s.in_flight.fetch_sub(1, std::memory_order_relaxed);
  s.probing.store(false, std::memory_order_release);
}

void attempt_ended(core::TargetStats& s) {
  s.in_flight.fetch_sub(1, std::memory_order_relaxed);
  // A 4xx answer means the target is up: a probe that got one closes the circuit.
  if (s.probing.exchange(false, std::memory_order_acq_rel)) {
    s.open_until_ms.store(0, std::memory_order_release);
    s.consecutive_failures.store(0, std::memory_order_relaxed);
  }
}

}  // namespace tollgate::routing
