#include "core/resources.h"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "cache/policy_config.h"
#include "core/schema.h"
#include "core/snapshot.h"  // parse_endpoint: a base URL is valid when dispatch can use it
#include "core/yaml_reader.h"
#include "mcp/config.h"
#include "store/store.h"  // sha256_hex: a key is known by the hash of its secret

namespace tollgate::core {
namespace {
namespace json = boost::json;

constexpr std::array<std::pair<std::string_view, ProviderKind>, 7> kKinds{{
    {"openai", ProviderKind::openai},
    {"openai-compatible", ProviderKind::openai_compatible},
    {"azure", ProviderKind::azure},
    {"anthropic", ProviderKind::anthropic},
    {"gemini", ProviderKind::gemini},
    {"bedrock", ProviderKind::bedrock},
    {"demo", ProviderKind::demo},
}};

constexpr std::array<std::string_view, 6> kStrategies{
    "weighted", "least-latency", "least-busy", "lowest-cost", "fallback", "priority"};

// The built-in provider and model the gateway adds on its own (see validate_resources).
constexpr std::string_view kBuiltinDemo = "demo";


std::string strategies_list() {
  std::string out;
  for (std::string_view s : kStrategies) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_name_char(char c, std::string_view extra) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

bool all_name_chars(std::string_view s, std::string_view extra) {
  return std::all_of(s.begin(), s.end(), [&](char c) { return is_name_char(c, extra); });
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// RFC 9110 token characters: what a header name may be made of.
bool is_header_token(std::string_view s) {
  return !s.empty() && all_name_chars(s, "!#$%&'*+-.^_`|~");
}

// --- reading documents ---------------------------------------------------------------------
// Every item is read by its kind's schema (core/kinds/, YamlReader::by_schema): the file, the
// store's rows and the Admin API's bodies get the same checks and the same messages. What is
// left here is turning the checked document into the struct the gateway serves.

using doc_fields::object_at;
using doc_fields::take;

// Limits (and MCP limits: rpm, rpd, concurrency), budgets and prices.
Limits limits_of(const json::value* v) {
  Limits l;
  if (!v || !v->is_object()) return l;
  const json::object& o = v->as_object();
  take(o, "rpm", l.rpm);
  take(o, "rpd", l.rpd);
  take(o, "tpm", l.tpm);
  take(o, "tpd", l.tpd);
  take(o, "concurrency", l.concurrency);
  return l;
}

Budget budget_of(const json::value* v) {
  Budget b;
  if (!v || !v->is_object()) return b;
  const json::object& o = v->as_object();
  take(o, "usd_per_day", b.usd_per_day);
  take(o, "usd_per_month", b.usd_per_month);
  take(o, "usd_total", b.usd_total);
  if (auto* m = o.if_contains("mode"); m && m->is_string()) b.warn_only = m->as_string() == "warn";
  return b;
}

Pricing pricing_of(const json::value* v) {
  Pricing p;
  if (!v || !v->is_object()) return p;
  const json::object& o = v->as_object();
  take(o, "input", p.input);
  take(o, "output", p.output);
  take(o, "cached_input", p.cached_input);
  take(o, "cache_creation", p.cache_creation);
  take(o, "reasoning", p.reasoning);
  return p;
}

// Providers, models and guardrails are kept as far as they could be read, even with errors in
// them, so that what refers to them is not reported as well ("provider p is not declared"
// when p is declared with a typo would send the reader to the wrong place). nullopt: not a map.
std::optional<Provider> read_provider(YamlReader& in, const YAML::Node& n, const std::string& at) {
  auto doc = in.by_schema(n, at, *schema::find_kind("providers"), true);
  if (!doc) return std::nullopt;
  Provider p;
  take(*doc, "name", p.name);
  std::string kind;
  take(*doc, "kind", kind);
  if (auto k = provider_kind_from_string(kind)) p.kind = *k;
  take(*doc, "base_url", p.base_url);
  take(*doc, "api_key", p.api_key);
  take(*doc, "api_version", p.api_version);
  take(*doc, "headers", p.headers);
  if (auto* t = object_at(*doc, "timeouts")) {
    take(*t, "connect_ms", p.timeouts.connect);
    take(*t, "read_ms", p.timeouts.read);
    take(*t, "idle_ms", p.timeouts.idle);
  }
  take(*doc, "verify_tls", p.verify_tls);
  return p;
}

std::optional<Guardrail> read_guardrail(YamlReader& in, const YAML::Node& n, const std::string& at) {
  auto doc = in.by_schema(n, at, *schema::find_kind("guardrails"), true);
  if (!doc) return std::nullopt;
  Guardrail g;
  take(*doc, "name", g.name);
  take(*doc, "kind", g.kind);
  take(*doc, "mode", g.mode);
  take(*doc, "entities", g.entities);
  take(*doc, "reversible", g.reversible);
  take(*doc, "keywords", g.keywords);
  take(*doc, "patterns", g.patterns);
  if (auto* t = doc->if_contains("threshold"); t && t->is_number()) {
    g.threshold = t->to_number<double>();
    g.threshold_given = true;
  }
  take(*doc, "provider", g.provider);
  take(*doc, "model", g.model);
  take(*doc, "categories", g.categories);
  take(*doc, "timeout_ms", g.timeout_ms);
  take(*doc, "fail_open", g.fail_open);
  return g;
}

std::optional<Model> read_model(YamlReader& in, const YAML::Node& n, const std::string& at) {
  auto doc = in.by_schema(n, at, *schema::find_kind("models"), true);
  if (!doc) return std::nullopt;
  Model m;
  take(*doc, "name", m.name);
  take(*doc, "strategy", m.strategy);
  if (auto* targets = doc->if_contains("targets"); targets && targets->is_array())
    for (const auto& item : targets->as_array()) {
      if (!item.is_object()) continue;
      const json::object& o = item.as_object();
      Target t;
      take(o, "provider", t.provider);
      take(o, "model", t.model);
      take(o, "weight", t.weight);
      take(o, "priority", t.priority);
      t.pricing = pricing_of(o.if_contains("pricing"));
      m.targets.push_back(std::move(t));
    }
  take(*doc, "fallbacks", m.fallbacks);
  if (auto* r = object_at(*doc, "retry")) {
    take(*r, "max_attempts", m.retry.max_attempts);
    take(*r, "backoff_ms", m.retry.backoff);
    take(*r, "max_backoff_ms", m.retry.max_backoff);
    take(*r, "on", m.retry.on);
  }
  if (auto* c = object_at(*doc, "circuit")) {
    take(*c, "failures", m.circuit.failures);
    take(*c, "cooldown_ms", m.circuit.cooldown);
  }
  if (auto* h = object_at(*doc, "health_check")) {
    take(*h, "interval_ms", m.health_check.interval);
    take(*h, "timeout_ms", m.health_check.timeout);
    take(*h, "probe", m.health_check.probe);
    take(*h, "failures", m.health_check.failures);
    take(*h, "successes", m.health_check.successes);
  }
  take(*doc, "when_all_unavailable", m.when_all_unavailable);
  take(*doc, "timeout_ms", m.timeout);
  if (auto* a = object_at(*doc, "affinity")) {
    take(*a, "by", m.affinity.by);
    take(*a, "header", m.affinity.header);
  }
  m.pricing = pricing_of(doc->if_contains("pricing"));
  m.limits = limits_of(doc->if_contains("limits"));
  take(*doc, "guardrails", m.guardrails);
  take(*doc, "cache", m.cache);
  take(*doc, "prompt_caching", m.prompt_caching);
  take(*doc, "strict_params", m.strict_params);
  take(*doc, "max_output_tokens", m.max_output_tokens);
  take(*doc, "context_window", m.context_window);
  return m;
}

// Turns whichever of key / key_env / key_hash was given into the hash (and the prefix people
// recognise a secret by). The secret itself is dropped here: only its hash is kept. A key with
// any error is left out: nothing refers to a key, and a half-read one has no usable hash.
std::optional<Key> read_key(YamlReader& in, const YAML::Node& n, const std::string& at) {
  std::size_t errors_before = in.error_count();
  auto doc = in.by_schema(n, at, *schema::find_kind("keys"), true);
  if (!doc) return std::nullopt;
  Key k;
  take(*doc, "name", k.name);

  const json::value* secret_v = doc->if_contains("key");
  const json::value* env_v = doc->if_contains("key_env");
  const json::value* hash_v = doc->if_contains("key_hash");
  int given = (secret_v ? 1 : 0) + (env_v ? 1 : 0) + (hash_v ? 1 : 0);
  std::string key_field = YamlReader::child(at, "key");
  auto place = [&](const char* f) { return in.find_mark(YamlReader::child(at, f)); };
  if (given == 0) {
    in.error(n, key_field, "one of key, key_env or key_hash is required");
  } else if (given > 1) {
    in.error(n, key_field, "give only one of key, key_env or key_hash");
  } else if (secret_v || env_v) {
    std::optional<std::string> secret;
    if (secret_v && secret_v->is_string()) {
      if (secret_v->as_string().empty()) in.error(place("key"), key_field, "is empty");
      else secret = std::string(secret_v->as_string());
    } else if (env_v && env_v->is_string()) {
      std::string var(env_v->as_string());
      std::string env_field = YamlReader::child(at, "key_env");
      const char* value = std::getenv(var.c_str());
      bool name_like = !var.empty() && !std::isdigit(static_cast<unsigned char>(var[0]));
      for (char c : var) name_like = name_like && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
      if (var.empty()) {
        in.error(place("key_env"), env_field, "is empty: name the environment variable that holds the key");
      } else if (!name_like) {
        // Not quoted: a key pasted here by mistake would end up in logs.
        in.error(place("key_env"), env_field,
                 "is not an environment variable name (letters, digits and _); put the variable's name here, not the key");
      } else if (value == nullptr) {
        in.error(place("key_env"), env_field, "environment variable " + var + " is not set");
      } else if (*value == '\0') {
        in.error(place("key_env"), env_field, "environment variable " + var + " is empty");
      } else {
        secret = value;
      }
    }
    if (secret) {
      k.hash_hex = store::sha256_hex(*secret);
      k.prefix = secret->substr(0, 8);
    }
  } else if (hash_v->is_string()) {
    std::string_view digits = hash_v->as_string();  // the schema's pattern: [sha256:]64 hex digits
    if (digits.starts_with("sha256:")) digits.remove_prefix(7);
    if (digits.size() == 64 && is_hex(digits)) k.hash_hex = lower(std::string(digits));
  }
  if (!k.hash_hex.empty()) k.id = key_id_for_hash(k.hash_hex);

  take(*doc, "expires_at", k.expires_at);
  KeyRules rules;
  take(*doc, "models", rules.models);
  rules.limits = limits_of(doc->if_contains("limits"));
  rules.budget = budget_of(doc->if_contains("budget"));
  if (auto* ml = object_at(*doc, "model_limits"))
    for (const auto& [alias, limits] : *ml) rules.model_limits[std::string(alias)] = limits_of(&limits);
  take(*doc, "guardrails", rules.guardrails);
  if (auto* g = object_at(*doc, "mcp")) {
    McpGrant grant;
    take(*g, "allow", grant.allow);
    take(*g, "deny", grant.deny);
    take(*g, "read_only", grant.read_only);
    grant.limits = limits_of(g->if_contains("limits"));
    grant.tool_limits = limits_of(g->if_contains("tool_limits"));
    rules.mcp = std::move(grant);
  }
  take(*doc, "cache", rules.cache);
  take(*doc, "team", rules.team);
  k.set_rules(std::move(rules));
  if (in.error_count() != errors_before) return std::nullopt;
  return k;
}

// teams: a team with any error is left out (what names it is reported too, rightly).
std::optional<Team> read_team(YamlReader& in, const YAML::Node& n, const std::string& at) {
  auto doc = in.by_schema(n, at, *schema::find_kind("teams"));
  if (!doc) return std::nullopt;
  Team t;
  take(*doc, "name", t.name);
  take(*doc, "models", t.models);
  t.limits = limits_of(doc->if_contains("limits"));
  t.budget = budget_of(doc->if_contains("budget"));
  take(*doc, "webhook", t.webhook_url);
  take(*doc, "cache", t.cache);
  return t;
}

// --- validating values ---------------------------------------------------------------------

class Findings {
 public:
  Findings(std::vector<ConfigError>& errors, const ResourceLocator& where)
      : errors_(errors), where_(where) {}

  void add(std::string_view section, std::size_t index, std::string_view field,
           std::string message) {
    ConfigLocation at = where_(section, index, field);
    errors_.push_back({std::move(at.source), at.line, at.column, std::move(at.field),
                       std::move(message)});
  }

  // "(first at 3:5)" or "(first at providers[0])": where the earlier of two duplicates is.
  std::string first_at(std::string_view section, std::size_t index, std::string_view field) {
    ConfigLocation at = where_(section, index, field);
    if (at.line > 0) {
      return "(first at line " + std::to_string(at.line) + ")";
    }
    return "(first at " + at.source + (at.field.empty() ? "" : " " + at.field) + ")";
  }

 private:
  std::vector<ConfigError>& errors_;
  const ResourceLocator& where_;
};

void validate_providers(const Resources& r, Findings& found) {
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < r.providers.size(); ++i) {
    const Provider& p = r.providers[i];
    if (p.name.empty()) {
      found.add("providers", i, "name", "is required");
    } else if (!all_name_chars(p.name, "._-")) {
      found.add("providers", i, "name",
                "\"" + p.name + "\" may only contain letters, digits, '.', '_' and '-'");
    } else if (auto [it, fresh] = seen.emplace(p.name, i); !fresh) {
      found.add("providers", i, "name",
                "provider \"" + p.name + "\" is declared twice " +
                    found.first_at("providers", it->second, "name"));
    }

    if (!p.base_url.empty()) {
      UpstreamEndpoint endpoint;
      if (!parse_endpoint(p.base_url, endpoint)) {
        found.add("providers", i, "base_url",
                  "\"" + p.base_url + "\" is not a valid http:// or https:// URL");
      }
    } else if (p.kind != ProviderKind::demo && default_base_url(p.kind).empty()) {
      found.add("providers", i, "base_url",
                "is required for kind " + std::string(to_string(p.kind)));
    }
    // A line break in anything that becomes a header would let a value forge more headers.
    if (p.api_key.find_first_of("\r\n") != std::string::npos) {
      found.add("providers", i, "api_key", "must not contain line breaks");
    }
    if (has_control_char(p.api_version)) {
      found.add("providers", i, "api_version", "must not contain control characters");
    }
    for (const auto& [name, value] : p.headers) {
      std::string field = "headers." + name;
      std::string lowered = lower(name);
      if (!is_header_token(name)) {
        found.add("providers", i, field, "is not a valid header name");
      } else if (lowered == "host" || lowered == "content-length" ||
                 lowered == "transfer-encoding" || lowered == "connection") {
        found.add("providers", i, field, "is set by the gateway and cannot be overridden");
      } else if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
        found.add("providers", i, field, "must not contain line breaks");
      }
    }
    auto positive = [&](const char* field, std::chrono::milliseconds ms) {
      if (ms.count() <= 0) found.add("providers", i, field, "must be greater than 0");
    };
    positive("timeouts.connect_ms", p.timeouts.connect);
    positive("timeouts.read_ms", p.timeouts.read);
    positive("timeouts.idle_ms", p.timeouts.idle);
  }
}

void validate_models(const Resources& r, Findings& found) {
  std::unordered_map<std::string_view, const Provider*> providers;
  for (const Provider& p : r.providers) providers.emplace(p.name, &p);
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < r.models.size(); ++i) {
    const Model& m = r.models[i];
    if (m.name.empty()) {
      found.add("models", i, "name", "is required");
    } else if (!all_name_chars(m.name, "/.:_-*")) {
      // '*' makes the name a pattern (claude-*, gpt-5*, *): gateway/resolve.cc.
      found.add("models", i, "name",
                "\"" + m.name + "\" may only contain letters, digits, '/', '.', ':', '_', '-' and '*'");
    } else if (auto [it, fresh] = seen.emplace(m.name, i); !fresh) {
      found.add("models", i, "name",
                "model \"" + m.name + "\" is declared twice " +
                    found.first_at("models", it->second, "name"));
    }
    if (!is_known_strategy(m.strategy)) {
      found.add("models", i, "strategy",
                "unknown strategy \"" + m.strategy + "\" (expected one of: " + strategies_list() +
                    ")");
    }
    if (m.targets.empty()) {
      found.add("models", i, "targets", "needs at least one target");
    }
    for (std::size_t f = 0; f < m.fallbacks.size(); ++f) {
      const std::string& fb = m.fallbacks[f];
      std::string at = "fallbacks[" + std::to_string(f) + "]";
      bool declared = fb == kBuiltinDemo;
      for (const Model& other : r.models) declared = declared || other.name == fb;
      if (fb == m.name)
        found.add("models", i, at, "a model cannot fall back to itself");
      else if (!declared)
        found.add("models", i, at, "model \"" + fb + "\" is not declared");
    }
    for (std::size_t t = 0; t < m.targets.size(); ++t) {
      const Target& target = m.targets[t];
      std::string at = "targets[" + std::to_string(t) + "]";
      if (target.provider.empty()) {
        found.add("models", i, at + ".provider", "is required");
      } else if (!providers.contains(target.provider) && target.provider != kBuiltinDemo) {
        found.add("models", i, at + ".provider",
                  "provider \"" + target.provider + "\" is not declared");
      }
      if (target.model.empty()) {
        found.add("models", i, at + ".model", "is required (the upstream model name)");
      } else if (has_control_char(target.model)) {
        found.add("models", i, at + ".model", "must not contain control characters");
      }
    }
  }
}

void validate_guardrails(const Resources& r, Findings& found) {
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < r.guardrails.size(); ++i) {
    const Guardrail& g = r.guardrails[i];
    if (g.name.empty()) found.add("guardrails", i, "name", "is required");
    else if (auto [it, fresh] = seen.emplace(g.name, i); !fresh)
      found.add("guardrails", i, "name", "guardrail \"" + g.name + "\" is declared twice");
    if (g.kind == "moderation" && !g.provider.empty()) {
      const Provider* p = nullptr;
      for (const Provider& candidate : r.providers)
        if (candidate.name == g.provider) p = &candidate;
      if (!p)
        found.add("guardrails", i, "provider", "provider \"" + g.provider + "\" is not declared");
      else if (p->kind != ProviderKind::openai && p->kind != ProviderKind::openai_compatible)
        found.add("guardrails", i, "provider",
                  "provider \"" + g.provider + "\" must be of kind openai or openai-compatible (it serves /moderations)");
    }
  }
  auto check = [&](const char* section, std::size_t i, const std::vector<std::string>& names) {
    for (std::size_t j = 0; j < names.size(); ++j)
      if (!seen.contains(names[j]))
        found.add(section, i, "guardrails[" + std::to_string(j) + "]",
                  "guardrail \"" + names[j] + "\" is not declared");
  };
  for (std::size_t i = 0; i < r.models.size(); ++i) check("models", i, r.models[i].guardrails);
  for (std::size_t i = 0; i < r.keys.size(); ++i) check("keys", i, r.keys[i].rules().guardrails);
}

// A key's or a team's model allowlist: each entry names a model, "PROVIDER/*" or "*".
class AllowlistCheck {
 public:
  explicit AllowlistCheck(const Resources& r) {
    for (const Provider& p : r.providers) providers_.insert(p.name);
    for (const Model& m : r.models) models_.insert(m.name);
  }
  void operator()(Findings& found, const char* section, std::size_t i, const std::vector<std::string>& allowlist) const {
    for (std::size_t m = 0; m < allowlist.size(); ++m) {
      const std::string& allowed = allowlist[m];
      std::string field = "models[" + std::to_string(m) + "]";
      if (allowed == "*") continue;
      if (allowed.ends_with("/*")) {
        std::string_view provider = std::string_view(allowed).substr(0, allowed.size() - 2);
        if (!providers_.contains(provider) && provider != kBuiltinDemo)
          found.add(section, i, field, "\"" + allowed + "\": provider \"" + std::string(provider) + "\" is not declared");
      } else if (!models_.contains(allowed) && allowed != kBuiltinDemo) {
        found.add(section, i, field, "model \"" + allowed + "\" is not declared (name a model, \"PROVIDER/*\" or \"*\")");
      }
    }
  }

 private:
  std::unordered_set<std::string_view> providers_, models_;
};

void validate_teams(const Resources& r, Findings& found) {
  AllowlistCheck check_allowlist(r);
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < r.teams.size(); ++i) {
    const Team& t = r.teams[i];
    if (t.name.empty()) found.add("teams", i, "name", "is required");
    else if (auto [it, fresh] = seen.emplace(t.name, i); !fresh)
      found.add("teams", i, "name", "team \"" + t.name + "\" is declared twice " + found.first_at("teams", it->second, "name"));
    check_allowlist(found, "teams", i, t.models);
  }
  for (std::size_t i = 0; i < r.keys.size(); ++i)
    if (const std::string& team = r.keys[i].rules().team; !team.empty() && !seen.contains(team))
      found.add("keys", i, "team", "team \"" + team + "\" is not declared");
}

void validate_keys(const Resources& r, Findings& found) {
  AllowlistCheck check_allowlist(r);
  std::unordered_map<std::string_view, std::size_t> names;
  std::unordered_map<std::string_view, std::size_t> hashes;
  for (std::size_t i = 0; i < r.keys.size(); ++i) {
    const Key& k = r.keys[i];
    if (k.name.empty()) {
      found.add("keys", i, "name", "is required");
    } else if (has_control_char(k.name)) {
      found.add("keys", i, "name", "must not contain control characters");
    } else if (auto [it, fresh] = names.emplace(k.name, i); !fresh) {
      found.add("keys", i, "name",
                "key \"" + k.name + "\" is declared twice " +
                    found.first_at("keys", it->second, "name"));
    }
    if (k.hash_hex.size() != 64 || !is_hex(k.hash_hex) || lower(k.hash_hex) != k.hash_hex) {
      found.add("keys", i, "key_hash", "must be 64 lowercase hex digits (a SHA-256)");
    } else if (auto [it, fresh] = hashes.emplace(k.hash_hex, i); !fresh) {
      found.add("keys", i, "",
                "has the same secret as key \"" + r.keys[it->second].name + "\" " +
                    found.first_at("keys", it->second, ""));
    }
    check_allowlist(found, "keys", i, k.rules().models);
    if (k.expires_at && *k.expires_at < 0) {
      found.add("keys", i, "expires_at", "must be unix seconds (not negative)");
    }
  }
}

ParseResult parse_resources_or_throw(std::string_view text, std::string_view source) {
  ParseResult result;
  YamlReader in(std::string(source), result.errors);
  std::optional<YAML::Node> root = in.load(text);
  if (!root) return result;
  if (root->IsNull()) return result;  // an empty document declares nothing
  if (!in.fields(*root, "", {"providers", "models", "keys", "guardrails", "mcp_servers", "cache_policies", "teams"})) return result;

  // Every section is read whole even after an error, so one run reports every problem. An
  // item that fails to read is left out, so remember which document item each one came from.
  std::unordered_map<std::string_view, std::vector<std::size_t>> from_item;
  auto section = [&](const char* name, auto read, auto& into) {
    const YAML::Node list = (*root)[name];
    if (YamlReader::empty(list)) return;
    in.mark(name, list);
    if (!list.IsSequence()) {
      in.error(list, name, "must be a list");
      return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (auto item = read(in, list[i], YamlReader::item(name, i))) {
        into.push_back(std::move(*item));
        from_item[name].push_back(i);
      }
    }
  };
  section("providers", read_provider, result.resources.providers);
  section("models", read_model, result.resources.models);
  section("keys", read_key, result.resources.keys);
  section("guardrails", read_guardrail, result.resources.guardrails);
  section("mcp_servers", mcp::read_server, result.resources.mcp_servers);
  section("cache_policies", cache::read_cache_policy, result.resources.cache_policies);
  section("teams", read_team, result.resources.teams);

  // A field the reader already faulted is not blamed again by validation (a name the schema's
  // pattern refused, a strategy not in its list).
  std::unordered_set<std::string> read_faults;
  for (const ConfigError& e : result.errors) read_faults.insert(e.field);
  const std::size_t read_count = result.errors.size();
  validate_resources(result.resources, result.errors,
                     [&](std::string_view section_name, std::size_t index, std::string_view field) {
                       const auto& items = from_item[section_name];
                       std::size_t item = index < items.size() ? items[index] : index;
                       std::string at = YamlReader::item(std::string(section_name), item);
                       if (!field.empty()) at = YamlReader::child(at, field);
                       ConfigLocation loc{std::string(source), at, 0, 0};
                       YAML::Mark m = in.find_mark(at);
                       if (!m.is_null()) {
                         loc.line = m.line + 1;
                         loc.column = m.column + 1;
                       }
                       return loc;
                     });
  result.errors.erase(std::remove_if(result.errors.begin() + static_cast<std::ptrdiff_t>(read_count), result.errors.end(),
                                     [&](const ConfigError& e) { return read_faults.contains(e.field); }),
                      result.errors.end());
  // In document order, as an editor shows them.
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  return result;
}

}  // namespace

std::optional<ProviderKind> provider_kind_from_string(std::string_view s) {
  for (const auto& [name, kind] : kKinds) {
    if (name == s) return kind;
  }
  return std::nullopt;
}

std::string_view to_string(ProviderKind k) {
  for (const auto& [name, kind] : kKinds) {
    if (kind == k) return name;
  }
  return "unknown";
}

std::string_view default_base_url(ProviderKind k) {
  switch (k) {
    case ProviderKind::openai: return "https://api.openai.com/v1";
    case ProviderKind::anthropic: return "https://api.anthropic.com";
    case ProviderKind::gemini: return "https://generativelanguage.googleapis.com";
    case ProviderKind::openai_compatible:
    case ProviderKind::azure:
    case ProviderKind::bedrock:  // https://bedrock-runtime.<region>.amazonaws.com: the region is the user's
    case ProviderKind::demo: return "";
  }
  return "";
}

bool is_known_strategy(std::string_view s) {
  return std::find(kStrategies.begin(), kStrategies.end(), s) != kStrategies.end();
}

std::string key_id_for_hash(std::string_view hash_hex) {
  return "key_" + std::string(hash_hex.substr(0, 12));
}

KeyRules& Key::edit_rules() {
  // Written through only when no other key holds it. Every rules object is made by
  // make_shared<KeyRules> (here and in set_rules; share_rules passes those on), never as a const
  // object, so the cast is sound.
  if (!rules_ || rules_.use_count() > 1) rules_ = std::make_shared<KeyRules>(rules());
  return const_cast<KeyRules&>(*rules_);
}

void Key::set_rules(KeyRules r) {
  // The default rules take no allocation: most keys of a large fleet have none of their own.
  if (r == no_rules()) rules_.reset();
  else rules_ = std::make_shared<KeyRules>(std::move(r));
}

std::string ConfigError::to_string() const {
  std::string out = source;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!field.empty()) out += field + ": ";
  out += message;
  return out;
}

ParseResult parse_resources(std::string_view text, std::string_view source) {
  try {
    return parse_resources_or_throw(text, source);
  } catch (const std::exception& e) {
    // yaml-cpp throws for shapes the reader did not foresee; report, never take the caller down.
    ParseResult result;
    result.errors.push_back({std::string(source), 0, 0, "", std::string("cannot read: ") + e.what()});
    return result;
  }
}


void validate_resources(const Resources& r, std::vector<ConfigError>& errors,
                        std::string_view source) {
  validate_resources(r, errors,
                     [&](std::string_view section, std::size_t index, std::string_view field) {
                       std::string at = YamlReader::item(std::string(section), index);
                       if (!field.empty()) at = YamlReader::child(at, field);
                       return ConfigLocation{std::string(source), std::move(at), 0, 0};
                     });
}

void validate_resources(const Resources& r, std::vector<ConfigError>& errors,
                        const ResourceLocator& where) {
  Findings found(errors, where);
  validate_providers(r, found);
  validate_models(r, found);
  validate_keys(r, found);
  validate_guardrails(r, found);
  validate_teams(r, found);
  mcp::validate(r, [&](std::string_view section, std::size_t i, std::string_view field, std::string message) {
    found.add(section, i, field, std::move(message));
  });
  cache::validate_cache_policies(r, [&](std::string_view section, std::size_t i, std::string_view field, std::string m) {
    found.add(section, i, field, std::move(m));
  });
}

std::optional<Provider> parse_provider(std::string_view doc, std::string_view source,
                                       std::vector<ConfigError>& errors) {
  return read_document(doc, source, errors, read_provider, true);
}

std::optional<Guardrail> parse_guardrail(std::string_view doc, std::string_view source,
                                        std::vector<ConfigError>& errors) {
  return read_document(doc, source, errors, read_guardrail, true);
}

std::optional<Model> parse_model(std::string_view doc, std::string_view source,
                                 std::vector<ConfigError>& errors) {
  return read_document(doc, source, errors, read_model, true);
}

std::optional<Key> parse_key(std::string_view doc, std::string_view source,
                             std::vector<ConfigError>& errors) {
  return read_document(doc, source, errors, read_key, true);
}

std::optional<Team> parse_team(std::string_view doc, std::string_view source,
                               std::vector<ConfigError>& errors) {
  return read_document(doc, source, errors, read_team, true);
}

}  // namespace tollgate::core
