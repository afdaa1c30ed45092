#include "cache/policy_config.h"

#include <set>

#include "core/yaml_reader.h"

namespace tollgate::cache {
using core::YamlReader;

// Read by its schema (core/kinds/cache_policy.cc, whose check_more holds the rules between
// fields), so the file, the store and the Admin API say the same.
std::optional<core::CachePolicy> read_cache_policy(YamlReader& in, const YAML::Node& n, const std::string& at) {
  auto doc = in.by_schema(n, at, *core::schema::find_kind("cache_policies"), true);
  if (!doc) return std::nullopt;
  core::CachePolicy p;
  using core::doc_fields::take;
  take(*doc, "name", p.name);
  take(*doc, "mode", p.mode);
  take(*doc, "ttl_s", p.ttl_s);
  take(*doc, "scope", p.scope);
  take(*doc, "backend", p.backend);
  take(*doc, "max_bytes", p.max_bytes);
  take(*doc, "embedding_model", p.embedding_model);
  take(*doc, "threshold", p.threshold);
  take(*doc, "max_entries", p.max_entries);
  take(*doc, "allow_tools", p.allow_tools);
  take(*doc, "max_temperature", p.max_temperature);
  return p;
}

std::optional<core::CachePolicy> parse_cache_policy(std::string_view doc, std::string_view source,
                                                    std::vector<core::ConfigError>& errors) {
  return core::read_document(doc, source, errors, read_cache_policy);
}

void validate_cache_policies(const core::Resources& r, const AddFinding& add) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < r.cache_policies.size(); ++i) {
    const auto& p = r.cache_policies[i];
    if (p.name.empty()) add("cache_policies", i, "name", "is required");
    else if (!names.insert(p.name).second)
      add("cache_policies", i, "name", "cache policy \"" + p.name + "\" is declared twice");
    if (p.mode == "semantic" && !p.embedding_model.empty()) {
      bool found = false;
      for (const auto& m : r.models) found = found || m.name == p.embedding_model;
      if (!found) add("cache_policies", i, "embedding_model", "model \"" + p.embedding_model + "\" is not declared");
    }
  }
  auto check = [&](const char* section, std::size_t i, const std::string& name) {
    if (!name.empty() && !names.contains(name))
      add(section, i, "cache", "cache policy \"" + name + "\" is not declared");
  };
  for (std::size_t i = 0; i < r.models.size(); ++i) check("models", i, r.models[i].cache);
  for (std::size_t i = 0; i < r.keys.size(); ++i) check("keys", i, r.keys[i].rules().cache);
  for (std::size_t i = 0; i < r.teams.size(); ++i) check("teams", i, r.teams[i].cache);
}

}  // namespace tollgate::cache
