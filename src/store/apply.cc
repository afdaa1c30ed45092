#include "store/apply.h"

#include <yaml-cpp/yaml.h>

#include "store/secret_box.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <map>
#include <set>

namespace tollgate::store {
namespace {
namespace json = boost::json;

// A key as compared: what a file can say about it.
std::string key_fingerprint(const core::Key& k) {
  json::array models;
  for (const auto& m : k.models) models.emplace_back(m);
  return k.hash_hex + "|" + json::serialize(models) + "|" + (k.expires_at ? std::to_string(*k.expires_at) : "") + "|" +
         key_settings_document(k);
}

// `desired_doc` and `current_doc` say what is compared of each side.
template <class T, class DesiredDoc, class CurrentDoc>
void diff(const std::vector<T>& desired, const std::vector<T>& current, const char* kind, bool prune,
          DesiredDoc desired_doc, CurrentDoc current_doc, std::vector<ResourceChange>& out) {
  std::map<std::string, std::string> now;
  for (const T& c : current) now[c.name] = current_doc(c);
  std::set<std::string> named;
  for (std::size_t i = 0; i < desired.size(); ++i) {
    const T& d = desired[i];
    named.insert(d.name);
    auto it = now.find(d.name);
    if (it == now.end()) out.push_back({'+', kind, d.name});
    else if (it->second != desired_doc(i)) out.push_back({'~', kind, d.name});
  }
  if (prune)
    for (const auto& [name, _] : now)
      if (!named.contains(name)) out.push_back({'-', kind, name});
}

// The strings of a provider as the file wrote them (before `${ENV}` was resolved).
void keep_references(core::Provider& p, const YAML::Node& n) {
  auto raw = [&](const char* field, std::string& into) {
    if (n[field] && n[field].IsScalar()) into = n[field].as<std::string>();
  };
  raw("base_url", p.base_url);
  raw("api_key", p.api_key);
  raw("api_version", p.api_version);
  if (n["headers"] && n["headers"].IsMap())
    for (auto& [name, value] : p.headers)
      if (n["headers"][name] && n["headers"][name].IsScalar()) value = n["headers"][name].as<std::string>();
}

YAML::Node to_yaml(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [k, x] : v.get_object()) n[std::string(k)] = to_yaml(x);
      return n;
    }
    case json::kind::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const auto& x : v.get_array()) n.push_back(to_yaml(x));
      return n;
    }
    case json::kind::string: return YAML::Node(std::string(v.get_string()));
    case json::kind::int64: return YAML::Node(v.get_int64());
    case json::kind::uint64: return YAML::Node(v.get_uint64());
    case json::kind::double_: return YAML::Node(v.get_double());
    case json::kind::bool_: return YAML::Node(v.get_bool());
    case json::kind::null: return YAML::Node(YAML::NodeType::Null);
  }
  return {};
}

json::value parsed(const std::string& doc) { return json::parse(doc); }

}  // namespace

ApplyPlan plan_apply(ResourceStore& store, std::string_view text, const std::string& source, bool prune) {
  ApplyPlan plan;
  core::ParseResult parsed_file = core::parse_resources(text, source);
  plan.errors = std::move(parsed_file.errors);
  if (!plan.errors.empty()) return plan;
  plan.desired = std::move(parsed_file.resources);
  if (!plan.desired.mcp_servers.empty() || !plan.desired.cache_policies.empty())
    plan.errors.push_back({source, 0, 0, plan.desired.mcp_servers.empty() ? "cache_policies" : "mcp_servers",
                           "cannot be applied to a store yet (declare them in a resources file served as the store)"});
  if (!plan.errors.empty()) return plan;

  YAML::Node root = YAML::Load(std::string(text));
  for (std::size_t i = 0; i < plan.desired.providers.size(); ++i) {
    core::Provider p = plan.desired.providers[i];
    if (root["providers"] && root["providers"][i]) keep_references(p, root["providers"][i]);
    plan.providers_to_store.push_back(std::move(p));
  }

  core::ParseResult current = store.load();
  const core::Resources& now = current.resources;
  // What is compared of a provider: a `${ENV}` reference as written (the file may turn a
  // literal into a reference of the same value), anything else as resolved and opened; and a
  // credential the file gives sealed (an export's) as stored, still sealed.
  std::set<std::string> sealed;
  for (const auto& p : plan.providers_to_store)
    if (provider_document(p).find(SecretBox::kPrefix) != std::string::npos) sealed.insert(p.name);
  auto with_references = [](core::Provider resolved, const core::Provider& raw) {
    auto keep = [](std::string& value, const std::string& written) {
      if (written.find("${") != std::string::npos) value = written;
    };
    keep(resolved.base_url, raw.base_url);
    keep(resolved.api_key, raw.api_key);
    keep(resolved.api_version, raw.api_version);
    for (auto& [name, value] : resolved.headers)
      if (auto it = raw.headers.find(name); it != raw.headers.end()) keep(value, it->second);
    return provider_document(resolved);
  };
  diff(plan.desired.providers, now.providers, "provider", prune,
       [&](std::size_t i) {
         const core::Provider& raw = plan.providers_to_store[i];
         return sealed.contains(raw.name) ? provider_document(raw) : with_references(plan.desired.providers[i], raw);
       },
       [&](const core::Provider& p) {
         std::string stored = store.stored_provider_document(p.name).value_or("");
         if (sealed.contains(p.name)) return stored;
         core::Provider raw;  // the stored strings: references as written
         boost::system::error_code ec;
         json::value v = json::parse(stored, ec);
         if (!ec && v.is_object()) {
           auto text = [&](const char* f, std::string& into) {
             if (auto* x = v.as_object().if_contains(f); x && x->is_string()) into = x->as_string();
           };
           text("base_url", raw.base_url);
           text("api_key", raw.api_key);
           text("api_version", raw.api_version);
           if (auto* h = v.as_object().if_contains("headers"); h && h->is_object())
             for (const auto& [name, value] : h->as_object())
               if (value.is_string()) raw.headers[std::string(name)] = value.as_string();
         }
         return with_references(p, raw);
       },
       plan.changes);
  auto same = [](auto doc, const auto& list) { return [doc, &list](std::size_t i) { return doc(list[i]); }; };
  diff(plan.desired.guardrails, now.guardrails, "guardrail", prune, same(guardrail_document, plan.desired.guardrails),
       guardrail_document, plan.changes);
  diff(plan.desired.models, now.models, "model", prune, same(model_document, plan.desired.models), model_document,
       plan.changes);
  diff(plan.desired.keys, now.keys, "key", prune, same(key_fingerprint, plan.desired.keys), key_fingerprint,
       plan.changes);
  return plan;
}

void apply_plan(ResourceStore& store, const ApplyPlan& plan) {
  auto changing = [&](char op, std::string_view kind) {
    std::set<std::string> names;
    for (const auto& c : plan.changes)
      if (c.op == op && c.kind == kind) names.insert(c.name);
    return names;
  };
  auto named = [](auto& list, const std::set<std::string>& names) {
    std::vector<std::remove_cvref_t<decltype(list.front())>> out;
    for (const auto& x : list)
      if (names.contains(x.name)) out.push_back(x);
    return out;
  };
  auto put = [](const std::string& what, auto&& write) {
    try {
      write();
    } catch (const std::exception& e) {
      throw std::runtime_error(what + ": " + e.what());
    }
  };
  std::set<std::string> puts;
  auto writes = [&](std::string_view kind) {
    auto s = changing('+', kind);
    for (auto& n : changing('~', kind)) s.insert(n);
    return s;
  };

  for (const auto& p : named(plan.providers_to_store, writes("provider"))) put("provider " + p.name, [&] { store.put_provider(p); });
  for (const auto& g : named(plan.desired.guardrails, writes("guardrail"))) put("guardrail " + g.name, [&] { store.put_guardrail(g); });
  // A model's fallbacks name other models: each pass puts those whose fallbacks are stored.
  auto models = named(plan.desired.models, writes("model"));
  std::set<std::string> pending;
  for (const auto& m : models) pending.insert(m.name);
  while (!pending.empty()) {
    bool progress = false;
    for (const auto& m : models) {
      if (!pending.contains(m.name)) continue;
      bool ready = true;
      for (const auto& f : m.fallbacks) ready = ready && !pending.contains(f);
      if (!ready) continue;
      put("model " + m.name, [&] { store.put_model(m); });
      pending.erase(m.name);
      progress = true;
    }
    if (!progress) throw std::runtime_error("models whose fallbacks name each other in a cycle: " + *pending.begin());
  }
  for (const auto& k : named(plan.desired.keys, writes("key"))) put("key " + k.name, [&] { store.put_key(k); });

  // Removals, referrers first.
  for (const auto& n : changing('-', "key")) put("key " + n, [&] { store.revoke_key(n); });
  auto doomed = changing('-', "model");
  for (std::size_t round = 0; !doomed.empty() && round <= doomed.size(); ++round) {
    for (auto it = doomed.begin(); it != doomed.end();) {
      try {
        store.remove_model(*it);
        it = doomed.erase(it);
      } catch (const ResourceConflict&) {
        ++it;  // another doomed model still names it as a fallback
      }
    }
  }
  for (const auto& n : doomed) put("model " + n, [&] { store.remove_model(n); });
  for (const auto& n : changing('-', "guardrail")) put("guardrail " + n, [&] { store.remove_guardrail(n); });
  for (const auto& n : changing('-', "provider")) put("provider " + n, [&] { store.remove_provider(n); });
}

std::string export_resources(ResourceStore& store) {
  core::ParseResult current = store.load();
  if (!current.ok()) {
    std::string why;
    for (const auto& e : current.errors) why += "\n  " + e.to_string();
    throw std::runtime_error("the store " + store.describe() + " does not load:" + why);
  }
  const core::Resources& r = current.resources;
  YAML::Node root(YAML::NodeType::Map);
  auto section = [&](const char* name) -> YAML::Node {
    root[name] = YAML::Node(YAML::NodeType::Sequence);
    return root[name];
  };
  if (!r.providers.empty()) {
    YAML::Node list = section("providers");
    // As stored: a reference stays one, a literal credential stays sealed.
    for (const auto& p : r.providers) list.push_back(to_yaml(parsed(store.stored_provider_document(p.name).value_or(provider_document(p)))));
  }
  if (!r.guardrails.empty()) {
    YAML::Node list = section("guardrails");
    for (const auto& g : r.guardrails) list.push_back(to_yaml(parsed(guardrail_document(g))));
  }
  if (!r.models.empty()) {
    YAML::Node list = section("models");
    for (const auto& m : r.models) list.push_back(to_yaml(parsed(store.stored_model_document(m.name).value_or(model_document(m)))));
  }
  if (!r.keys.empty()) {
    YAML::Node list = section("keys");
    for (const auto& k : r.keys) {
      json::object doc{{"name", k.name}, {"key_hash", k.hash_hex}};
      if (!k.models.empty()) {
        json::array models;
        for (const auto& m : k.models) models.emplace_back(m);
        doc["models"] = std::move(models);
      }
      if (k.expires_at) doc["expires_at"] = *k.expires_at;
      json::value settings = parsed(key_settings_document(k));  // named: the loop reads into it
      for (auto& [field, value] : settings.as_object()) doc[field] = value;
      list.push_back(to_yaml(doc));
    }
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace tollgate::store
