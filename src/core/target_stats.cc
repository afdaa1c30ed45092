#include "core/target_stats.h"

#include <map>
#include <mutex>

namespace tollgate::core {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, std::unique_ptr<TargetStats>, std::less<>> by_name;
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: snapshots on other threads point in
  return *r;
}

}  // namespace

TargetStats* target_stats_for(std::string_view provider, std::string_view upstream_model) {
  std::string name;
  name.reserve(provider.size() + upstream_model.size() + 1);
  name.append(provider).append("/").append(upstream_model);
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.by_name.find(name);
  if (it != r.by_name.end()) return it->second.get();
  auto stats = std::make_unique<TargetStats>();
  stats->name = name;
  auto* raw = stats.get();
  r.by_name.emplace(std::move(name), std::move(stats));
  return raw;
}

std::vector<TargetStats*> all_target_stats() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  std::vector<TargetStats*> out;
  out.reserve(r.by_name.size());
  for (auto& [k, v] : r.by_name) out.push_back(v.get());
  return out;
}

}  // namespace tollgate::core
