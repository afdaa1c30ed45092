#include "cache/policy.h"

#include <fmt/format.h>

#include "cache/semantic.h"

namespace tollgate::cache {
namespace json = boost::json;

Directive directive_of(std::string_view cache_control, std::string_view x_tollgate_cache) {
  if (x_tollgate_cache == "bypass") return Directive::bypass;
  if (x_tollgate_cache == "refresh") return Directive::refresh;
  if (cache_control.find("no-store") != std::string_view::npos ||
      cache_control.find("no-cache") != std::string_view::npos)
    return Directive::bypass;
  return Directive::use;
}

const core::CachePolicy* policy_for(const core::Resources& r, const core::Key& key, const core::Team* team,
                                    const core::Model* model) {
  std::string_view name = key.rules().cache;
  if (name.empty() && team) name = team->cache;
  if (name.empty() && model) name = model->cache;
  if (name.empty()) return nullptr;
  for (const auto& p : r.cache_policies)
    if (p.name == name) return &p;
  return nullptr;
}

std::string_view ineligible(const core::CachePolicy& p, const json::object& chat) {
  const bool semantic = p.mode == "semantic";
  const bool allow_tools = p.allow_tools.value_or(!semantic);
  if (!allow_tools)
    if (auto* t = chat.if_contains("tools"); t && t->is_array() && !t->get_array().empty()) return "tools";
  std::optional<double> max_t = p.max_temperature;
  if (!max_t && semantic) max_t = 0;
  if (max_t)
    if (auto* t = chat.if_contains("temperature"); t && t->is_number() && t->to_number<double>() > *max_t)
      return "temperature";
  return {};
}

std::string scope_tag(const core::CachePolicy& p, const core::Key& key) {
  if (p.scope == "global") return "g";
  if (p.scope == "team" && !key.rules().team.empty()) return "t:" + key.rules().team;
  return "k:" + key.id;
}

std::string Backends::id_of(const core::CachePolicy& p) {
  return fmt::format("{}\n{}\n{}", p.name, p.backend, p.max_bytes);
}

SemanticIndex& Backends::index_for(const core::CachePolicy& p) {
  std::lock_guard lock(mu_);
  auto& index = indexes_[id_of(p)];
  if (!index) index = std::make_shared<SemanticIndex>(p.max_entries);
  else index->set_max_entries(p.max_entries);
  return *index;
}

Backend& Backends::for_policy(const core::CachePolicy& p) {
  std::string id = id_of(p);
  std::lock_guard lock(mu_);
  auto& b = by_policy_[id];
  if (!b) {
    if (p.backend == "redis") b = redis_store(redis_url_, redis_timeout_);
    else b = std::make_shared<LruStore>(p.max_bytes);
  }
  return *b;
}

}  // namespace tollgate::cache
