#include "cache/policy_config.h"

#include <set>

#include "core/yaml_reader.h"

namespace tollgate::cache {
using core::YamlReader;

std::optional<core::CachePolicy> read_cache_policy(YamlReader& in, const YAML::Node& n, const std::string& at) {
  if (!in.fields(n, at, {"name", "mode", "ttl_s", "scope", "backend", "max_bytes", "embedding_model",
                         "threshold", "max_entries", "allow_tools", "max_temperature"}))
    return std::nullopt;
  core::CachePolicy p;
  auto field = [&](const char* f) { return YamlReader::child(at, f); };
  if (auto v = in.string(n["name"], field("name"))) p.name = *v;
  if (auto v = in.string(n["mode"], field("mode"))) {
    if (*v != "exact" && *v != "semantic") in.error(n["mode"], field("mode"), "must be exact or semantic");
    p.mode = *v;
  }
  if (n["ttl_s"])
    if (auto v = in.integer(n["ttl_s"], field("ttl_s"), 1, int64_t{10} * 365 * 86400)) p.ttl_s = *v;
  if (auto v = in.string(n["scope"], field("scope"))) {
    if (*v != "key" && *v != "team" && *v != "global") in.error(n["scope"], field("scope"), "must be key, team or global");
    p.scope = *v;
  }
  if (auto v = in.string(n["backend"], field("backend"))) {
    if (*v != "local" && *v != "redis") in.error(n["backend"], field("backend"), "must be local or redis");
    p.backend = *v;
  }
  if (n["max_bytes"])
    if (auto v = in.integer(n["max_bytes"], field("max_bytes"), 1024, int64_t{1} << 40)) p.max_bytes = *v;
  if (auto v = in.string(n["embedding_model"], field("embedding_model"))) p.embedding_model = *v;
  if (n["threshold"])
    if (auto v = in.number(n["threshold"], field("threshold"), 0.5, 1)) p.threshold = *v;
  if (n["max_entries"])
    if (auto v = in.integer(n["max_entries"], field("max_entries"), 1, 100'000'000)) p.max_entries = *v;
  if (auto v = in.boolean(n["allow_tools"], field("allow_tools"))) p.allow_tools = *v;
  if (n["max_temperature"])
    if (auto v = in.number(n["max_temperature"], field("max_temperature"), 0, 2)) p.max_temperature = *v;
  if (p.mode == "semantic" && p.embedding_model.empty() && !n["embedding_model"])
    in.error(n, field("embedding_model"), "is required for a semantic policy (an embeddings model alias)");
  if (p.mode != "semantic") {
    for (const char* f : {"embedding_model", "threshold", "max_entries"})
      if (n[f]) in.error(n[f], field(f), "applies to mode: semantic only");
  }
  return p;
}

std::optional<core::CachePolicy> parse_cache_policy(std::string_view doc, std::string_view source,
                                                    std::vector<core::ConfigError>& errors) {
  YamlReader in(std::string(source), errors);
  auto root = in.load(doc);
  if (!root || !root->IsMap()) {
    if (root) in.error(*root, "", "must be a map");
    return std::nullopt;
  }
  std::size_t before = in.error_count();
  auto p = read_cache_policy(in, *root, "");
  if (in.error_count() != before) return std::nullopt;
  return p;
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
  for (std::size_t i = 0; i < r.keys.size(); ++i) check("keys", i, r.keys[i].cache);
  for (std::size_t i = 0; i < r.teams.size(); ++i) check("teams", i, r.teams[i].cache);
}

}  // namespace tollgate::cache
