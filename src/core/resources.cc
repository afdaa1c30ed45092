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

constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

std::string kinds_list() {
  std::string out;
  for (const auto& [name, kind] : kKinds) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

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

// Providers and models are kept as far as they could be read, even with errors in them, so
// that what refers to them is not reported as well ("provider p is not declared" when p is
// declared with a typo would send the reader to the wrong place). nullopt: not a map at all.
std::optional<Provider> read_provider(YamlReader& in, const YAML::Node& n, const std::string& at) {
  if (!in.fields(n, at, {"name", "kind", "base_url", "api_key", "api_version", "headers",
                         "timeouts", "verify_tls"})) {
    return std::nullopt;
  }
  Provider p;
  auto take = [&](const char* field, std::string& into) {
    if (auto v = in.string(n[field], YamlReader::child(at, field))) into = std::move(*v);
  };
  take("name", p.name);
  take("base_url", p.base_url);
  take("api_key", p.api_key);
  take("api_version", p.api_version);

  std::string kind_field = YamlReader::child(at, "kind");
  if (!n["kind"]) {
    in.error(n, kind_field, "is required (one of: " + kinds_list() + ")");
  } else if (auto kind = in.string(n["kind"], kind_field)) {
    if (auto k = provider_kind_from_string(*kind)) {
      p.kind = *k;
    } else {
      in.error(n["kind"], kind_field,
               "unknown kind \"" + *kind + "\" (expected one of: " + kinds_list() + ")");
    }
  }

  const YAML::Node headers = n["headers"];
  std::string headers_field = YamlReader::child(at, "headers");
  if (!YamlReader::empty(headers)) {
    in.mark(headers_field, headers);
    if (!headers.IsMap()) {
      in.error(headers, headers_field, "must be a map of header names to values");
    } else {
      for (const auto& entry : headers) {
        const YAML::Node name_node = entry.first;  // by value: the iterator's pair is a temporary
        const YAML::Node value_node = entry.second;
        std::string name = name_node.IsScalar() ? name_node.Scalar() : "";
        if (auto value = in.string(value_node, YamlReader::child(headers_field, name))) {
          p.headers[name] = std::move(*value);
        }
      }
    }
  }

  const YAML::Node timeouts = n["timeouts"];
  std::string timeouts_field = YamlReader::child(at, "timeouts");
  if (!YamlReader::empty(timeouts) &&
      in.fields(timeouts, timeouts_field, {"connect_ms", "read_ms", "idle_ms"})) {
    auto take_ms = [&](const char* field, std::chrono::milliseconds& into) {
      if (auto v = in.integer(timeouts[field], YamlReader::child(timeouts_field, field), 1,
                              kMaxTimeoutMs)) {
        into = std::chrono::milliseconds(*v);
      }
    };
    take_ms("connect_ms", p.timeouts.connect);
    take_ms("read_ms", p.timeouts.read);
    take_ms("idle_ms", p.timeouts.idle);
  }

  if (auto v = in.boolean(n["verify_tls"], YamlReader::child(at, "verify_tls"))) p.verify_tls = *v;
  return p;
}

// limits: { rpm, rpd, tpm, tpd, concurrency }
void read_limits(YamlReader& in, const YAML::Node& n, const std::string& at, Limits& out) {
  if (YamlReader::empty(n)) return;
  if (!in.fields(n, at, {"rpm", "rpd", "tpm", "tpd", "concurrency"})) return;
  auto take = [&](const char* f, std::optional<int64_t>& into) {
    if (n[f]) into = in.integer(n[f], YamlReader::child(at, f), 1, int64_t{1} << 50);
  };
  take("rpm", out.rpm);
  take("rpd", out.rpd);
  take("tpm", out.tpm);
  take("tpd", out.tpd);
  take("concurrency", out.concurrency);
}

// budget: { usd_per_day, usd_per_month, usd_total, mode: hard | warn }
void read_budget(YamlReader& in, const YAML::Node& n, const std::string& at, Budget& out) {
  if (YamlReader::empty(n)) return;
  if (!in.fields(n, at, {"usd_per_day", "usd_per_month", "usd_total", "mode"})) return;
  auto take = [&](const char* f, std::optional<double>& into) {
    if (n[f]) into = in.number(n[f], YamlReader::child(at, f), 0, 1e12);
  };
  take("usd_per_day", out.usd_per_day);
  take("usd_per_month", out.usd_per_month);
  take("usd_total", out.usd_total);
  if (auto m = in.string(n["mode"], YamlReader::child(at, "mode"))) {
    if (*m == "warn") out.warn_only = true;
    else if (*m != "hard") in.error(n["mode"], YamlReader::child(at, "mode"), "must be hard or warn");
  }
}

// pricing: { input, output, cached_input, cache_creation, reasoning } in USD per 1M tokens.
void read_pricing(YamlReader& in, const YAML::Node& n, const std::string& at, Pricing& out) {
  if (YamlReader::empty(n)) return;
  if (!in.fields(n, at, {"input", "output", "cached_input", "cache_creation", "reasoning"})) return;
  auto take = [&](const char* f, std::optional<double>& into) {
    if (n[f]) into = in.number(n[f], YamlReader::child(at, f), 0, 1e6);
  };
  take("input", out.input);
  take("output", out.output);
  take("cached_input", out.cached_input);
  take("cache_creation", out.cache_creation);
  take("reasoning", out.reasoning);
}

std::optional<Target> read_target(YamlReader& in, const YAML::Node& n, const std::string& at) {
  if (!in.fields(n, at, {"provider", "model", "weight", "priority", "pricing"})) return std::nullopt;
  Target t;
  if (auto v = in.string(n["provider"], YamlReader::child(at, "provider"))) t.provider = std::move(*v);
  if (auto v = in.string(n["model"], YamlReader::child(at, "model"))) t.model = std::move(*v);
  if (auto v = in.integer(n["weight"], YamlReader::child(at, "weight"), 0, kMaxU32)) {
    t.weight = static_cast<uint32_t>(*v);
  }
  if (auto v = in.integer(n["priority"], YamlReader::child(at, "priority"), 0, kMaxU32)) {
    t.priority = static_cast<uint32_t>(*v);
  }
  read_pricing(in, n["pricing"], YamlReader::child(at, "pricing"), t.pricing);
  return t;
}

void read_routing(YamlReader& in, const YAML::Node& n, const std::string& at, Model& m) {
  using ms = std::chrono::milliseconds;
  if (auto f = n["fallbacks"]; !YamlReader::empty(f)) {
    if (auto v = in.strings(f, YamlReader::child(at, "fallbacks"))) m.fallbacks = std::move(*v);
  }
  if (auto r = n["retry"]; !YamlReader::empty(r)) {
    std::string rf = YamlReader::child(at, "retry");
    if (in.fields(r, rf, {"max_attempts", "backoff_ms", "max_backoff_ms", "on"})) {
      if (auto v = in.integer(r["max_attempts"], YamlReader::child(rf, "max_attempts"), 1, 20))
        m.retry.max_attempts = static_cast<uint32_t>(*v);
      if (auto v = in.integer(r["backoff_ms"], YamlReader::child(rf, "backoff_ms"), 0, 60'000))
        m.retry.backoff = ms(*v);
      if (auto v = in.integer(r["max_backoff_ms"], YamlReader::child(rf, "max_backoff_ms"), 0, 600'000))
        m.retry.max_backoff = ms(*v);
      if (r["on"]) {
        std::string of = YamlReader::child(rf, "on");
        if (auto v = in.strings(r["on"], of)) {
          for (const auto& c : *v)
            if (c != "connect" && c != "timeout" && c != "429" && c != "5xx")
              in.error(r["on"], of, "unknown failure class \"" + c + "\" (expected connect, timeout, 429, 5xx)");
          m.retry.on = std::move(*v);
        }
      }
    }
  }
  if (auto c = n["circuit"]; !YamlReader::empty(c)) {
    std::string cf = YamlReader::child(at, "circuit");
    if (in.fields(c, cf, {"failures", "cooldown_ms"})) {
      if (auto v = in.integer(c["failures"], YamlReader::child(cf, "failures"), 1, 1000))
        m.circuit.failures = static_cast<uint32_t>(*v);
      if (auto v = in.integer(c["cooldown_ms"], YamlReader::child(cf, "cooldown_ms"), 1, 86'400'000))
        m.circuit.cooldown = ms(*v);
    }
  }
  if (auto h = n["health_check"]; !YamlReader::empty(h)) {
    std::string hf = YamlReader::child(at, "health_check");
    if (in.fields(h, hf, {"interval_ms", "timeout_ms", "probe", "failures", "successes"})) {
      if (auto v = in.integer(h["interval_ms"], YamlReader::child(hf, "interval_ms"), 100, 86'400'000))
        m.health_check.interval = ms(*v);
      if (auto v = in.integer(h["timeout_ms"], YamlReader::child(hf, "timeout_ms"), 1, 600'000))
        m.health_check.timeout = ms(*v);
      if (auto v = in.string(h["probe"], YamlReader::child(hf, "probe"))) {
        if (*v != "models" && *v != "request")
          in.error(h["probe"], YamlReader::child(hf, "probe"), "must be models or request");
        else
          m.health_check.probe = *v;
      }
      if (auto v = in.integer(h["failures"], YamlReader::child(hf, "failures"), 1, 1000))
        m.health_check.failures = static_cast<uint32_t>(*v);
      if (auto v = in.integer(h["successes"], YamlReader::child(hf, "successes"), 1, 1000))
        m.health_check.successes = static_cast<uint32_t>(*v);
    }
  }
  if (auto v = in.string(n["when_all_unavailable"], YamlReader::child(at, "when_all_unavailable"))) {
    if (*v != "send" && *v != "fail")
      in.error(n["when_all_unavailable"], YamlReader::child(at, "when_all_unavailable"), "must be send or fail");
    else
      m.when_all_unavailable = *v;
  }
  if (auto v = in.integer(n["timeout_ms"], YamlReader::child(at, "timeout_ms"), 0, 86'400'000))
    m.timeout = ms(*v);
  if (auto a = n["affinity"]; !YamlReader::empty(a)) {
    std::string af = YamlReader::child(at, "affinity");
    if (in.fields(a, af, {"by", "header"})) {
      if (auto v = in.string(a["by"], YamlReader::child(af, "by"))) {
        if (*v != "header" && *v != "key" && *v != "user")
          in.error(a["by"], YamlReader::child(af, "by"), "must be header, key or user");
        else
          m.affinity.by = *v;
      }
      if (auto v = in.string(a["header"], YamlReader::child(af, "header"))) m.affinity.header = *v;
      if (m.affinity.by == "header" && m.affinity.header.empty())
        in.error(a, YamlReader::child(af, "header"), "is required with by: header");
    }
  }
  read_pricing(in, n["pricing"], YamlReader::child(at, "pricing"), m.pricing);
}

std::optional<Guardrail> read_guardrail(YamlReader& in, const YAML::Node& n, const std::string& at) {
  if (!in.fields(n, at, {"name", "kind", "mode", "entities", "reversible", "keywords", "patterns", "threshold",
                         "provider", "model", "categories", "timeout_ms", "fail_open"}))
    return std::nullopt;
  Guardrail g;
  if (auto v = in.string(n["name"], YamlReader::child(at, "name"))) g.name = *v;
  if (auto v = in.string(n["kind"], YamlReader::child(at, "kind"))) {
    if (*v != "pii" && *v != "prompt-injection" && *v != "keywords" && *v != "moderation")
      in.error(n["kind"], YamlReader::child(at, "kind"), "must be pii, prompt-injection, keywords or moderation");
    g.kind = *v;
  } else {
    in.error(n, YamlReader::child(at, "kind"), "is required (pii, prompt-injection, keywords or moderation)");
  }
  if (auto v = in.string(n["mode"], YamlReader::child(at, "mode"))) {
    if (*v != "block" && *v != "redact" && *v != "monitor")
      in.error(n["mode"], YamlReader::child(at, "mode"), "must be block, redact or monitor");
    else if (g.kind == "moderation" && *v == "redact")
      in.error(n["mode"], YamlReader::child(at, "mode"), "must be block or monitor for a moderation policy");
    g.mode = *v;
  }
  if (auto v = in.strings(n["entities"], YamlReader::child(at, "entities"))) g.entities = std::move(*v);
  if (auto v = in.boolean(n["reversible"], YamlReader::child(at, "reversible"))) g.reversible = *v;
  if (auto v = in.strings(n["keywords"], YamlReader::child(at, "keywords"))) g.keywords = std::move(*v);
  if (auto v = in.strings(n["patterns"], YamlReader::child(at, "patterns"))) g.patterns = std::move(*v);
  if (n["threshold"]) {
    if (auto v = in.number(n["threshold"], YamlReader::child(at, "threshold"), 0.01, 1)) {
      g.threshold = *v;
      g.threshold_given = true;
    }
  }
  // moderation
  const bool moderation = g.kind == "moderation";
  for (const char* f : {"provider", "model", "categories", "timeout_ms", "fail_open"})
    if (!moderation && n[f]) in.error(n[f], YamlReader::child(at, f), "applies to kind: moderation only");
  if (auto v = in.string(n["provider"], YamlReader::child(at, "provider"))) g.provider = *v;
  if (moderation && g.provider.empty() && !n["provider"])
    in.error(n, YamlReader::child(at, "provider"), "is required for a moderation policy (an openai or openai-compatible provider)");
  if (auto v = in.string(n["model"], YamlReader::child(at, "model"))) g.model = *v;
  if (auto v = in.strings(n["categories"], YamlReader::child(at, "categories"))) g.categories = std::move(*v);
  if (n["timeout_ms"]) {
    if (auto v = in.integer(n["timeout_ms"], YamlReader::child(at, "timeout_ms"), 1, 600000)) g.timeout_ms = *v;
  }
  if (auto v = in.boolean(n["fail_open"], YamlReader::child(at, "fail_open"))) g.fail_open = *v;
  return g;
}

std::optional<Model> read_model(YamlReader& in, const YAML::Node& n, const std::string& at) {
  if (!in.fields(n, at, {"name", "strategy", "targets", "fallbacks", "retry", "circuit",
                         "health_check", "when_all_unavailable", "timeout_ms", "affinity", "pricing",
                         "limits", "guardrails", "strict_params", "max_output_tokens", "context_window", "cache",
                         "prompt_caching"}))
    return std::nullopt;
  Model m;
  if (auto v = in.string(n["prompt_caching"], YamlReader::child(at, "prompt_caching"))) {
    if (*v != "off" && *v != "auto") in.error(n["prompt_caching"], YamlReader::child(at, "prompt_caching"), "must be one of: off, auto");
    m.prompt_caching = std::move(*v);
  }
  if (auto v = in.boolean(n["strict_params"], YamlReader::child(at, "strict_params"))) m.strict_params = *v;
  if (auto v = in.integer(n["max_output_tokens"], YamlReader::child(at, "max_output_tokens"), 1, int64_t{1} << 40))
    m.max_output_tokens = *v;
  if (auto v = in.integer(n["context_window"], YamlReader::child(at, "context_window"), 1, int64_t{1} << 40))
    m.context_window = *v;
  if (auto v = in.strings(n["guardrails"], YamlReader::child(at, "guardrails"))) m.guardrails = std::move(*v);
  if (auto v = in.string(n["cache"], YamlReader::child(at, "cache"))) m.cache = std::move(*v);
  read_limits(in, n["limits"], YamlReader::child(at, "limits"), m.limits);
  read_routing(in, n, at, m);
  if (auto v = in.string(n["name"], YamlReader::child(at, "name"))) m.name = std::move(*v);
  if (auto v = in.string(n["strategy"], YamlReader::child(at, "strategy"))) m.strategy = std::move(*v);
  const YAML::Node targets = n["targets"];
  std::string targets_field = YamlReader::child(at, "targets");
  if (!YamlReader::empty(targets)) {
    in.mark(targets_field, targets);
    if (!targets.IsSequence()) {
      in.error(targets, targets_field, "must be a list of targets");
    } else {
      for (std::size_t i = 0; i < targets.size(); ++i) {
        if (auto t = read_target(in, targets[i], YamlReader::item(targets_field, i))) {
          m.targets.push_back(std::move(*t));
        }
      }
    }
  }
  return m;
}

// Turns whichever of key / key_env / key_hash was given into the hash (and the prefix people
// recognise a secret by). The secret itself is dropped here: only its hash is kept. A key with
// any error is left out: nothing refers to a key, and a half-read one has no usable hash.
std::optional<Key> read_key(YamlReader& in, const YAML::Node& n, const std::string& at) {
  std::size_t errors_before = in.error_count();
  if (!in.fields(n, at, {"name", "key", "key_env", "key_hash", "models", "expires_at", "limits",
                         "budget", "model_limits", "guardrails", "mcp", "cache", "team"})) {
    return std::nullopt;
  }
  Key k;
  if (auto v = in.string(n["name"], YamlReader::child(at, "name"))) k.name = std::move(*v);

  int given = (n["key"] ? 1 : 0) + (n["key_env"] ? 1 : 0) + (n["key_hash"] ? 1 : 0);
  std::string key_field = YamlReader::child(at, "key");
  if (given == 0) {
    in.error(n, key_field, "one of key, key_env or key_hash is required");
  } else if (given > 1) {
    in.error(n, key_field, "give only one of key, key_env or key_hash");
  } else if (n["key"] || n["key_env"]) {
    std::optional<std::string> secret;
    if (n["key"]) {
      secret = in.string(n["key"], key_field);
      if (secret && secret->empty()) {
        in.error(n["key"], key_field, "is empty");
        secret.reset();
      }
    } else {
      std::string env_field = YamlReader::child(at, "key_env");
      if (auto var = in.string(n["key_env"], env_field)) {
        const char* value = std::getenv(var->c_str());
        bool name_like = !var->empty() && !std::isdigit(static_cast<unsigned char>((*var)[0]));
        for (char c : *var) name_like = name_like && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
        if (var->empty()) {
          in.error(n["key_env"], env_field, "is empty: name the environment variable that holds the key");
        } else if (!name_like) {
          // Not quoted: a key pasted here by mistake would end up in logs.
          in.error(n["key_env"], env_field,
                   "is not an environment variable name (letters, digits and _); put the variable's name here, not the key");
        } else if (value == nullptr) {
          in.error(n["key_env"], env_field, "environment variable " + *var + " is not set");
        } else if (*value == '\0') {
          in.error(n["key_env"], env_field, "environment variable " + *var + " is empty");
        } else {
          secret = value;
        }
      }
    }
    if (secret) {
      k.hash_hex = store::sha256_hex(*secret);
      k.prefix = secret->substr(0, 8);
    }
  } else {
    std::string hash_field = YamlReader::child(at, "key_hash");
    if (auto hash = in.string(n["key_hash"], hash_field)) {
      std::string_view digits = *hash;
      if (digits.starts_with("sha256:")) digits.remove_prefix(7);
      if (digits.size() != 64 || !is_hex(digits)) {
        in.error(n["key_hash"], hash_field,
                 "must be \"sha256:\" followed by 64 hex digits, or the 64 hex digits alone");
      } else {
        k.hash_hex = lower(std::string(digits));
      }
    }
  }
  if (!k.hash_hex.empty()) k.id = key_id_for_hash(k.hash_hex);

  if (auto v = in.strings(n["models"], YamlReader::child(at, "models"))) k.models = std::move(*v);
  if (auto v = in.integer(n["expires_at"], YamlReader::child(at, "expires_at"), 0,
                          std::numeric_limits<int64_t>::max())) {
    k.expires_at = *v;
  }
  read_limits(in, n["limits"], YamlReader::child(at, "limits"), k.limits);
  read_budget(in, n["budget"], YamlReader::child(at, "budget"), k.budget);
  if (auto v = in.strings(n["guardrails"], YamlReader::child(at, "guardrails"))) k.guardrails = std::move(*v);
  mcp::read_grant(in, n["mcp"], YamlReader::child(at, "mcp"), k.mcp);
  if (auto v = in.string(n["cache"], YamlReader::child(at, "cache"))) k.cache = std::move(*v);
  if (auto v = in.string(n["team"], YamlReader::child(at, "team"))) k.team = std::move(*v);
  if (auto ml = n["model_limits"]; !YamlReader::empty(ml)) {
    std::string mf = YamlReader::child(at, "model_limits");
    if (!ml.IsMap()) {
      in.error(ml, mf, "must map model aliases to limits");
    } else {
      for (auto it = ml.begin(); it != ml.end(); ++it) {
        std::string alias = it->first.as<std::string>();
        read_limits(in, it->second, YamlReader::child(mf, alias), k.model_limits[alias]);
      }
    }
  }
  if (in.error_count() != errors_before) return std::nullopt;
  return k;
}


Limits limits_of(const json::value* v) {
  Limits l;
  if (!v || !v->is_object()) return l;
  auto take = [&](const char* f, std::optional<int64_t>& into) {
    if (auto* x = v->as_object().if_contains(f); x && x->is_number()) into = x->to_number<int64_t>();
  };
  take("rpm", l.rpm);
  take("rpd", l.rpd);
  take("tpm", l.tpm);
  take("tpd", l.tpd);
  take("concurrency", l.concurrency);
  return l;
}

Budget budget_of(const json::value* v) {
  Budget b;
  if (!v || !v->is_object()) return b;
  auto take = [&](const char* f, std::optional<double>& into) {
    if (auto* x = v->as_object().if_contains(f); x && x->is_number()) into = x->to_number<double>();
  };
  take("usd_per_day", b.usd_per_day);
  take("usd_per_month", b.usd_per_month);
  take("usd_total", b.usd_total);
  if (auto* m = v->as_object().if_contains("mode"); m && m->is_string()) b.warn_only = m->as_string() == "warn";
  return b;
}

// teams: read by their schema (core/kinds/team.cc), so the file and the Admin API say the same.
std::optional<Team> read_team(YamlReader& in, const YAML::Node& n, const std::string& at) {
  auto doc = in.by_schema(n, at, *schema::find_kind("teams"));
  if (!doc) return std::nullopt;
  Team t;
  t.name = std::string(doc->at("name").as_string());
  if (auto* m = doc->if_contains("models"); m && m->is_array())
    for (const auto& x : m->as_array()) t.models.emplace_back(x.as_string());
  t.limits = limits_of(doc->if_contains("limits"));
  t.budget = budget_of(doc->if_contains("budget"));
  if (auto* w = doc->if_contains("webhook"); w && w->is_string()) t.webhook_url = std::string(w->as_string());
  if (auto* c = doc->if_contains("cache"); c && c->is_string()) t.cache = std::string(c->as_string());
  return t;
}

template <typename T, typename Read>
std::optional<T> parse_one(std::string_view doc, std::string_view source,
                           std::vector<ConfigError>& errors, Read read) {
  try {
    YamlReader in(std::string(source), errors);
    std::optional<YAML::Node> root = in.load(doc);
    if (!root) return std::nullopt;
    return read(in, *root, std::string());
  } catch (const std::exception& e) {
    errors.push_back({std::string(source), 0, 0, "", std::string("cannot read: ") + e.what()});
    return std::nullopt;
  }
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
  for (std::size_t i = 0; i < r.keys.size(); ++i) check("keys", i, r.keys[i].guardrails);
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
    if (!r.keys[i].team.empty() && !seen.contains(r.keys[i].team))
      found.add("keys", i, "team", "team \"" + r.keys[i].team + "\" is not declared");
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
    check_allowlist(found, "keys", i, k.models);
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
  return parse_one<Provider>(doc, source, errors, read_provider);
}

std::optional<Guardrail> parse_guardrail(std::string_view doc, std::string_view source,
                                        std::vector<ConfigError>& errors) {
  return parse_one<Guardrail>(doc, source, errors, read_guardrail);
}

std::optional<Model> parse_model(std::string_view doc, std::string_view source,
                                 std::vector<ConfigError>& errors) {
  return parse_one<Model>(doc, source, errors, read_model);
}

std::optional<Key> parse_key(std::string_view doc, std::string_view source,
                             std::vector<ConfigError>& errors) {
  return parse_one<Key>(doc, source, errors, read_key);
}

std::optional<Team> parse_team(std::string_view doc, std::string_view source,
                               std::vector<ConfigError>& errors) {
  return parse_one<Team>(doc, source, errors, read_team);
}

}  // namespace tollgate::core
