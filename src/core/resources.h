// The resource model: what the gateway serves. One schema for the YAML file, the SQLite store
// and (later) etcd. These are plain values, parsed and validated as a whole by
// parse_resources(); the compiled, indexed form the request path reads is core::Snapshot.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::core {

enum class ProviderKind { openai, openai_compatible, azure, anthropic, gemini, bedrock, demo };

// "openai-compatible" -> ProviderKind::openai_compatible; nullopt for an unknown kind.
std::optional<ProviderKind> provider_kind_from_string(std::string_view s);
std::string_view to_string(ProviderKind k);

struct Timeouts {
  std::chrono::milliseconds connect{5'000};   // TCP + TLS handshake
  std::chrono::milliseconds read{120'000};    // request sent -> response head
  std::chrono::milliseconds idle{60'000};     // between two reads of the body (stream chunks)
};

struct Provider {
  std::string name;
  ProviderKind kind = ProviderKind::openai;
  std::string base_url;      // e.g. https://api.openai.com/v1 (kind default when empty)
  std::string api_key;       // the resolved secret; never logged, never returned
  std::string api_version;   // azure / anthropic
  std::map<std::string, std::string> headers;  // extra headers sent upstream
  Timeouts timeouts;
  bool verify_tls = true;
};

// Traffic limits for one scope (a key, a model, a key on one model). Absent: no limit.
struct Limits {
  std::optional<int64_t> rpm, rpd, tpm, tpd, concurrency;
  bool empty() const { return !rpm && !rpd && !tpm && !tpd && !concurrency; }
  bool operator==(const Limits&) const = default;
};

// A key's spending cap in USD, from the cost of actual usage.
struct Budget {
  std::optional<double> usd_per_day, usd_per_month, usd_total;
  bool warn_only = false;  // mode: warn (admit and flag) instead of hard (refuse)
  bool empty() const { return !usd_per_day && !usd_per_month && !usd_total; }
  bool operator==(const Budget&) const = default;
};

// USD per 1M tokens; an absent price is unknown, never zero.
struct Pricing {
  std::optional<double> input, output, cached_input, cache_creation, reasoning;
  bool empty() const { return !input && !output && !cached_input && !cache_creation && !reasoning; }
};

struct Target {
  std::string provider;  // Provider::name
  std::string model;     // the upstream model name
  uint32_t weight = 1;
  uint32_t priority = 0;  // lower is tried first; a tier is used only when the one above is down
  Pricing pricing;        // overrides the catalog for this target
};

// When and how often a failed attempt is tried again (on the next target of the plan).
struct RetryPolicy {
  uint32_t max_attempts = 3;  // attempts in all, across targets and fallbacks
  std::chrono::milliseconds backoff{100};       // doubled per retry, with jitter
  std::chrono::milliseconds max_backoff{2'000};
  // Failure classes worth another attempt: connect, timeout, 429, 5xx.
  std::vector<std::string> on{"connect", "timeout", "429", "5xx"};
};

// Passive health: a target that keeps failing is skipped for a while, then probed.
struct CircuitPolicy {
  uint32_t failures = 3;  // consecutive failures that open the circuit
  std::chrono::milliseconds cooldown{30'000};
};

// Active health checks: each target of the model is probed off the request path, and the
// probes alone open and close its circuit. Off unless interval is set.
struct HealthCheck {
  std::chrono::milliseconds interval{0};  // 0: off
  std::chrono::milliseconds timeout{5'000};
  std::string probe = "models";  // models (GET the provider's model list) | request (a 1-token chat)
  uint32_t failures = 2;   // consecutive failed probes that open the circuit
  uint32_t successes = 1;  // consecutive good probes that close it
};

// Session affinity: which request attribute pins a caller to a target.
struct Affinity {
  std::string by;      // "" (none) | header | key | user
  std::string header;  // for by: header
};

struct Model {
  std::string name;  // the alias callers send as "model"
  std::string strategy = "weighted";
  std::vector<Target> targets;
  std::vector<std::string> fallbacks;  // other aliases tried when every target here failed
  RetryPolicy retry;
  CircuitPolicy circuit;
  HealthCheck health_check;
  // Every target cooling or open: "send" to the one recovering first, or "fail" (503, or 429
  // when all were rate-limited, with Retry-After).
  std::string when_all_unavailable = "send";
  std::chrono::milliseconds timeout{0};  // overall deadline across attempts; 0: none
  Affinity affinity;
  Pricing pricing;  // overrides the catalog for every target of this alias
  Limits limits;    // for the model, all keys together
  std::vector<std::string> guardrails;  // policy names, for every key calling this alias
  // Parameters a target cannot honour: a 400 naming them (true), or dropped and named in
  // x-tollgate-dropped (false, the default).
  bool strict_params = false;
  // The targets' limits where the pricing catalog does not know them (or knows them wrong):
  // max_tokens above max_output_tokens is clamped. 0: the catalog's, else no limit.
  int64_t max_output_tokens = 0;
  int64_t context_window = 0;
  std::string cache;                    // a cache policy's name ("" = no response cache)
  // "auto": Anthropic prompt-cache breakpoints placed for callers that set none
  // (dialects/anthropic/prompt_caching.h); "off": requests go as sent.
  std::string prompt_caching = "off";
};

// A response cache policy, attachable to models and keys by name (`cache: NAME`); read and
// checked by cache/policy_config.cc, applied by gateway/cache.cc.
struct CachePolicy {
  std::string name;
  std::string mode = "exact";       // exact | semantic
  int64_t ttl_s = 3600;
  std::string scope = "key";        // key | team | global: who may share an answer
  std::string backend = "local";    // local (in process, LRU) | redis (the Redis of limits.url)
  int64_t max_bytes = 64 << 20;     // local backend: the LRU's byte cap
  std::string embedding_model;      // semantic: the alias that embeds request texts
  double threshold = 0.95;          // semantic: the least cosine similarity that is a hit
  int64_t max_entries = 10'000;     // semantic: vectors the index holds (and a partition's log keeps)
  std::optional<bool> allow_tools;  // requests with tools are cached (default: exact yes, semantic no)
  std::optional<double> max_temperature;  // only requests at or below (default: exact any, semantic 0)
};

// A guardrail policy, attachable to keys and models by name (guardrails/guardrail.h compiles it).
struct Guardrail {
  std::string name;
  std::string kind;                // pii | prompt-injection | keywords
  std::string mode = "block";      // block | redact | monitor
  std::vector<std::string> entities;   // pii: email, phone, credit_card, ssn, iban, ip, secret
  bool reversible = false;             // pii + redact: placeholders restored in the answer
  std::vector<std::string> keywords, patterns;  // keywords kind
  double threshold = 0.5;              // prompt-injection; moderation: a category counts at this score
  bool threshold_given = false;        //   (moderation without it: the endpoint's own flags decide)
  // moderation kind: an OpenAI moderation-compatible endpoint, reached through a provider
  std::string provider;                // its base_url and credential (openai or openai-compatible)
  std::string model;                   // sent as "model"; the endpoint's default when empty
  std::vector<std::string> categories; // only these count; every category when empty
  int64_t timeout_ms = 3000;
  bool fail_open = false;              // endpoint down: admit (true) or refuse with 503 (false)
};

// An MCP server the gateway fronts (mcp/config.cc reads and checks it).
struct McpServer {
  std::string name;
  std::string url;                             // its Streamable HTTP endpoint
  std::map<std::string, std::string> headers;  // sent upstream; values are secrets
  std::string bearer;                          // auth: { bearer: ... }
  struct OAuth2 {                              // auth: { oauth2: {...} } client credentials
    std::string token_url, client_id, client_secret;
    std::vector<std::string> scopes;
  } oauth2;
  std::vector<std::string> include{"*"}, exclude;  // tool name globs (upstream names)
  std::string era = "auto";                    // auto | 2026-07-28 | legacy
  std::optional<std::string> prefix;           // aggregate names: prefix + "__" + tool; default: name
  int64_t timeout_ms = 30'000;
  Limits limits;                               // the server, all keys together
  bool verify_tls = true;
  const std::string& name_prefix() const { return prefix ? *prefix : name; }
};

// A key's MCP grant: globs over aggregate names (server__tool, server__prompt, server URIs).
struct McpGrant {
  std::vector<std::string> allow, deny;  // deny wins; nothing allowed without a grant
  bool read_only = false;                // only tools annotated readOnlyHint
  Limits limits;                         // this key on each server
  Limits tool_limits;                    // this key on each tool
  bool operator==(const McpGrant&) const = default;
};

// What a key may do: its allowlist, limits, budget, guardrails, MCP grant, cache policy and
// team. Kept apart from the key's identity because keys minted from one template share it: a
// snapshot holds one copy per distinct set of rules (Snapshot::build interns them), so 100,000
// keys cost their identities, not 100,000 copies of the same limits.
struct KeyRules {
  std::vector<std::string> models;  // allowed aliases; empty means every model
  Limits limits;
  Budget budget;
  std::map<std::string, Limits> model_limits;  // this key on one model (alias -> limits)
  std::vector<std::string> guardrails;         // policy names
  std::optional<McpGrant> mcp;                 // MCP: none means no MCP access
  std::string cache;                           // a cache policy's name; wins over its team's and the model's
  std::string team;                            // its team (teams), "" for none; also a cache scope
  bool operator==(const KeyRules&) const = default;
};

struct Key {
  std::string id;         // stable public id, "key_..."; used in metrics and logs
  std::string name;
  std::string hash_hex;   // SHA-256 of the secret, lowercase hex
  std::string prefix;     // the first characters of the secret, for people to recognise it
  std::optional<int64_t> expires_at;  // unix seconds

  // The key's rules, shared with other keys that have the same (read-only here).
  const KeyRules& rules() const { return rules_ ? *rules_ : no_rules(); }
  // Rules to change: this key's own copy (copy on write, the others keep theirs).
  KeyRules& edit_rules();
  void set_rules(KeyRules r);
  // Another key's rules object (shared_rules() of a key), for keys whose rules are equal.
  void share_rules(std::shared_ptr<const KeyRules> r) { rules_ = std::move(r); }
  const std::shared_ptr<const KeyRules>& shared_rules() const { return rules_; }

 private:
  static const KeyRules& no_rules() {
    static const KeyRules none;
    return none;
  }
  std::shared_ptr<const KeyRules> rules_;  // null: the default rules (every model, no limits)
};

// A group of keys: its model allowlist narrows its keys' own (a key gets the intersection), and
// its limits and budget are drawn from by all its keys together, on top of each key's own.
struct Team {
  std::string name;
  std::vector<std::string> models;  // allowed aliases, PROVIDER/* or *; empty: every model
  Limits limits;
  Budget budget;
  std::string webhook_url;  // budget alerts of this team and its keys; "" : tollgate.yaml's
  std::string cache;        // a cache policy's name for its keys; a key's own wins, the model's yields
};

struct Resources {
  std::vector<Provider> providers;
  std::vector<Model> models;
  std::vector<Key> keys;
  std::vector<Guardrail> guardrails;
  std::vector<McpServer> mcp_servers;
  std::vector<CachePolicy> cache_policies;
  std::vector<Team> teams;
};

// One problem found while validating resources: where it is and what is wrong.
struct ConfigError {
  std::string source;  // file name or "sqlite:providers/NAME"
  int line = 0;        // 1-based; 0 when unknown
  int column = 0;
  std::string field;   // e.g. "models[0].targets[1].provider"
  std::string message;
  std::string to_string() const;
};

struct ParseResult {
  Resources resources;  // with errors: what could be read, for reporting; never serve it
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};

// Parses and validates a resources document (YAML, and so JSON too). `${ENV}` references
// in strings are interpolated; a missing variable is an error naming it. Cross-references
// (a target's provider, a key's models) are checked. Never throws.
ParseResult parse_resources(std::string_view text, std::string_view source);

// Checks every value (names, base URLs, strategies, key hashes, ...), cross-references and
// uniqueness across a whole set of resources, appending to `errors` with fields like
// "models[0].targets[1].provider". parse_resources() calls it; stores that assemble resources
// from rows call it too.
// The gateway adds a built-in provider `demo` and model `demo` by itself: a target whose
// provider is "demo", and a key allowed "demo" or "demo/*", are accepted even when nothing
// named so is declared.
void validate_resources(const Resources& r, std::vector<ConfigError>& errors,
                        std::string_view source);

// Where a finding about resource `section[index]` ("providers", "models" or "keys") is
// reported; `field` is relative to that resource ("name", "targets[1].provider"; "" for the
// resource as a whole). Lets a store name the row a problem is in.
struct ConfigLocation {
  std::string source;
  std::string field;
  int line = 0;
  int column = 0;
};
using ResourceLocator =
    std::function<ConfigLocation(std::string_view section, std::size_t index, std::string_view field)>;
void validate_resources(const Resources& r, std::vector<ConfigError>& errors,
                        const ResourceLocator& where);

// One resource as a document of its own (a store's row: JSON, which is YAML), read with the
// same rules as an item of parse_resources(). Fields in errors are relative to the document.
// Values and cross-references are left to validate_resources(). A provider or model comes
// back as far as it could be read even when errors were appended (so what refers to it is not
// reported too); nullopt when the document is not YAML or not a map. A key comes back only
// when it had no error.
std::optional<Provider> parse_provider(std::string_view doc, std::string_view source,
                                       std::vector<ConfigError>& errors);
std::optional<Guardrail> parse_guardrail(std::string_view doc, std::string_view source,
                                        std::vector<ConfigError>& errors);
std::optional<Model> parse_model(std::string_view doc, std::string_view source,
                                 std::vector<ConfigError>& errors);
std::optional<Key> parse_key(std::string_view doc, std::string_view source,
                             std::vector<ConfigError>& errors);
// A team comes back only when it had no error. Every kind is read by its schema (core/kinds/):
// the same messages for the resources file, the store and the Admin API.
std::optional<Team> parse_team(std::string_view doc, std::string_view source,
                               std::vector<ConfigError>& errors);

// The strategies a model may name.
bool is_known_strategy(std::string_view s);

// A key's public id: "key_" + the first 12 hex digits of its hash.
std::string key_id_for_hash(std::string_view hash_hex);

// The default base URL of a kind ("" when the kind has none and one must be given).
std::string_view default_base_url(ProviderKind k);

}  // namespace tollgate::core
