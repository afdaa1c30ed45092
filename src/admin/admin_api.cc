#include "guardrails/guardrail.h"
#include "admin/admin_api.h"


#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "core/schema.h"
#include "mcp/config.h"
#include "mcp/stats.h"
#include "store/admin_keys.h"
#include "gateway/runtime.h"

namespace tollgate::admin {
namespace json = boost::json;

namespace {

constexpr std::string_view kPrefix = "/admin/v1";

// --- replies -------------------------------------------------------------------------------

AdminReply json_reply(int status, const json::value& body) {
  return {status, {{"content-type", "application/json"}, {"cache-control", "no-store"}},
          json::serialize(body)};
}

struct FieldError {
  std::string field;
  std::string message;
};

AdminReply error_reply(int status, std::string_view type, std::string_view code, std::string message,
                       const std::vector<FieldError>& errors = {}) {
  json::object e{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}};
  if (!errors.empty()) {
    json::array list;
    for (const auto& f : errors) list.push_back(json::object{{"field", f.field}, {"message", f.message}});
    e["errors"] = std::move(list);
    e["param"] = errors.front().field;
  }
  return json_reply(status, json::object{{"error", std::move(e)}});
}

AdminReply invalid(std::vector<FieldError> errors) {
  std::string message = "Invalid resource: ";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i) message += "; ";
    message += errors[i].field.empty() ? errors[i].message : errors[i].field + ": " + errors[i].message;
  }
  return error_reply(400, "invalid_request_error", "invalid_resource", std::move(message), errors);
}

AdminReply invalid(std::string field, std::string message) {
  return invalid(std::vector<FieldError>{{std::move(field), std::move(message)}});
}

AdminReply invalid(const std::vector<core::ConfigError>& errors) {
  std::vector<FieldError> out;
  for (const auto& e : errors) out.push_back({e.field, e.message});
  return invalid(std::move(out));
}

AdminReply not_found(std::string what) {
  return error_reply(404, "invalid_request_error", "not_found", std::move(what));
}

// A store that cannot be reached now (its database down): writes wait, traffic does not.
AdminReply store_unavailable(const std::exception& e) {
  return error_reply(503, "api_error", "store_unavailable",
                     std::string("The resource store is unavailable (") + e.what() +
                         "); the gateway keeps serving the last good snapshot. Retry the write when the store is back.");
}

// `"7"`, `W/"7"` or `7` as version 7; nullopt when absent. `bad` when it is not a version.
std::optional<int64_t> version_in_if_match(std::string_view v, bool& bad) {
  bad = false;
  if (v.empty() || v == "*") return std::nullopt;
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 0) {
    bad = true;
    return std::nullopt;
  }
  return n;
}

AdminReply conflict(std::string why, std::string_view code = "conflict") {
  return error_reply(409, "invalid_request_error", code, std::move(why));
}

AdminReply method_not_allowed(std::string_view allow) {
  AdminReply r = error_reply(405, "invalid_request_error", "method_not_allowed",
                             "Method not allowed here; allowed: " + std::string(allow) + ".");
  r.headers.emplace_back("allow", std::string(allow));
  return r;
}

// --- request parsing -----------------------------------------------------------------------

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    out[percent_decode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
  }
  return out;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "90", "90s", "5m", "1h", "1d" -> seconds.
std::optional<int64_t> parse_duration_seconds(std::string_view s) {
  if (s.empty()) return std::nullopt;
  int64_t unit = 1;
  switch (s.back()) {
    case 's': unit = 1; s.remove_suffix(1); break;
    case 'm': unit = 60; s.remove_suffix(1); break;
    case 'h': unit = 3600; s.remove_suffix(1); break;
    case 'd': unit = 86400; s.remove_suffix(1); break;
    default: break;
  }
  auto n = parse_int(s);
  if (!n || *n < 0) return std::nullopt;
  return *n * unit;
}

// A point in time as the Admin API takes it: unix milliseconds ("1767225600000"), RFC 3339
// ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00.5+02:00", "2026-03-01"), or relative to now
// ("-15m", "-24h", "-7d").
std::optional<int64_t> parse_time_ms(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s.front() == '-') {
    auto d = parse_duration_seconds(s.substr(1));
    if (!d) return std::nullopt;
    return now_ms() - *d * 1000;
  }
  if (auto n = parse_int(s)) return *n >= 0 ? std::optional<int64_t>(*n) : std::nullopt;
  std::string text(s);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) != 3 ||
      consumed != 10) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string_view rest = std::string_view(text).substr(10);
  int64_t millis = 0, offset_s = 0;
  if (!rest.empty()) {
    if (rest.front() != 'T' && rest.front() != 't' && rest.front() != ' ') return std::nullopt;
    std::string tail(rest.substr(1));
    int n = 0;
    if (std::sscanf(tail.c_str(), "%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 3 || n != 8) {
      return std::nullopt;
    }
    std::string_view zone = std::string_view(tail).substr(8);
    if (!zone.empty() && zone.front() == '.') {
      zone.remove_prefix(1);
      int64_t scale = 100;
      while (!zone.empty() && std::isdigit(static_cast<unsigned char>(zone.front()))) {
        millis += (zone.front() - '0') * scale;
        scale /= 10;
        zone.remove_prefix(1);
      }
    }
    if (zone == "Z" || zone == "z") {
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
      auto h = parse_int(zone.substr(1, 2)), m = parse_int(zone.substr(4, 2));
      if (!h || !m) return std::nullopt;
      offset_s = (*h * 3600 + *m * 60) * (zone[0] == '+' ? 1 : -1);
    } else {
      return std::nullopt;
    }
  }
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  time_t t = timegm(&tm);
  return (static_cast<int64_t>(t) - offset_s) * 1000 + millis;
}

// --- auth ------------------------------------------------------------------------------------

// The token of `Authorization: Bearer <token>` ("" for anything else).
std::string_view bearer_of(std::string_view authorization) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), authorization.begin(),
                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                             std::tolower(static_cast<unsigned char>(b)); })) {
    return authorization.substr(kBearer.size());
  }
  return {};
}

// Both sides are hashed first: how long comparing the two hashes takes tells a caller nothing
// usable about the key (a matching prefix of a SHA-256 says nothing of its input), whatever
// the lengths. (Not CRYPTO_memcmp: that would load libcrypto for every admin request, see
// http/openssl_loader.cc.)
bool admin_key_matches(std::string_view authorization, const std::string& admin_key) {
  std::string_view given = bearer_of(authorization);
  return !given.empty() && store::sha256_hex(given) == store::sha256_hex(admin_key);
}

// --- JSON views of resources ---------------------------------------------------------------

bool credential_header(std::string_view name) {
  std::string n(name);
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return n == "authorization" || n == "proxy-authorization" || n.find("key") != std::string::npos ||
         n.find("token") != std::string::npos || n.find("secret") != std::string::npos ||
         n.find("auth") != std::string::npos || n == "cookie";
}

// Write-only credentials: the api_key, and header values that look like credentials, are
// never part of an answer; "api_key_set" and "secret_headers" say that they are there.
json::object provider_json(const core::Provider& p, bool builtin) {
  json::object o;
  o["name"] = p.name;
  o["kind"] = std::string(core::to_string(p.kind));
  o["base_url"] = p.base_url.empty() ? std::string(core::default_base_url(p.kind)) : p.base_url;
  o["api_version"] = p.api_version.empty() ? json::value(nullptr) : json::value(p.api_version);
  o["api_key_set"] = !p.api_key.empty();
  json::object headers;
  json::array secret_headers;
  for (const auto& [name, value] : p.headers) {
    if (credential_header(name)) secret_headers.emplace_back(name);
    else headers[name] = value;
  }
  o["headers"] = std::move(headers);
  o["secret_headers"] = std::move(secret_headers);
  o["timeouts"] = json::object{{"connect_ms", p.timeouts.connect.count()},
                               {"read_ms", p.timeouts.read.count()},
                               {"idle_ms", p.timeouts.idle.count()}};
  o["verify_tls"] = p.verify_tls;
  o["builtin"] = builtin;
  return o;
}

json::object model_json(const core::Model& m, bool builtin) {
  json::object o = json::parse(store::model_document(m)).as_object();
  if (!o.contains("limits")) o["limits"] = json::object();
  if (!o.contains("pricing")) o["pricing"] = json::object();
  if (!o.contains("fallbacks")) o["fallbacks"] = json::array();
  o["builtin"] = builtin;
  return o;
}

json::value optional_int(const std::optional<int64_t>& v) { return v ? json::value(*v) : json::value(nullptr); }

// What usage says about keys: spend per budget period and the last request.
struct KeyActivity {
  double today = 0, month = 0, total = 0;
  std::optional<int64_t> last_used_ms;
};

json::object key_json(const core::Key& k, std::optional<int64_t> created_at, std::optional<int64_t> revoked_at,
                      const KeyActivity* activity) {
  json::object o;
  o["id"] = k.id;
  o["name"] = k.name;
  o["prefix"] = k.prefix;
  json::array models;
  for (const auto& m : k.rules().models) models.emplace_back(m);
  o["models"] = std::move(models);
  o["expires_at"] = optional_int(k.expires_at);
  json::object settings = json::parse(store::key_settings_document(k)).as_object();
  o["limits"] = settings.contains("limits") ? settings["limits"] : json::object();
  o["budget"] = settings.contains("budget") ? settings["budget"] : json::object();
  o["model_limits"] = settings.contains("model_limits") ? settings["model_limits"] : json::object();
  json::array guardrails;
  for (const auto& g : k.rules().guardrails) guardrails.emplace_back(g);
  o["guardrails"] = std::move(guardrails);
  if (auto* m = settings.if_contains("mcp")) o["mcp"] = *m;  // absent: no MCP access
  o["team"] = k.rules().team.empty() ? json::value(nullptr) : json::value(k.rules().team);
  if (!k.rules().cache.empty()) o["cache"] = k.rules().cache;
  o["created_at"] = optional_int(created_at);
  o["revoked"] = revoked_at.has_value();
  o["revoked_at"] = optional_int(revoked_at);
  if (activity) {
    o["spend"] = json::object{{"usd_today", activity->today},
                              {"usd_month", activity->month},
                              {"usd_total", activity->total}};
    o["last_used_at"] = activity->last_used_ms ? json::value(*activity->last_used_ms / 1000) : json::value(nullptr);
  } else {
    o["spend"] = nullptr;
    o["last_used_at"] = nullptr;
  }
  return o;
}

// Names the gateway adds on its own (demo, a provider from OPENAI_API_KEY).
struct Builtins {
  std::set<std::string> providers, models;
};
Builtins builtins_of(const core::ProcessConfig& config) {
  Builtins b;
  core::Resources added = gateway::with_builtins({}, config);
  for (const auto& p : added.providers) b.providers.insert(p.name);
  for (const auto& m : added.models) b.models.insert(m.name);
  return b;
}

}  // namespace

// One request on its way through the API.
struct AdminApi::Call {
  const AdminRequest& request;
  std::string path;                         // below /admin/v1, e.g. "/keys/key_abc/rotate"
  std::vector<std::string> segments;        // {"keys", "key_abc", "rotate"}
  std::map<std::string, std::string> query;
  Caller caller;
  const std::string& method() const { return request.method; }
  bool is(std::string_view m) const { return request.method == m; }
};

AdminApi::AdminApi(gateway::GatewayState& state, std::shared_ptr<store::ResourceStore> store,
                   std::function<bool()> reload_now)
    : state_(state), store_(std::move(store)), reload_now_(std::move(reload_now)) {}

store::ResourceStore* AdminApi::resource_store(std::string& why_not) {
  if (!store_) {
    try {
      // The gateway's own store object was not handed over: a connection of our own to the
      // same file (SQLite in WAL mode takes several); the runtime's poller sees our commits.
      store_ = store::open_store(state_.config.store);
    } catch (const std::exception& e) {
      why_not = e.what();
      return nullptr;
    }
  }
  return store_.get();
}

// After a write: make the new snapshot live before answering, so a client that reads back (or
// sends traffic) right after sees its change.
bool AdminApi::reload() {
  if (reload_now_) return reload_now_();
  std::lock_guard lock(gateway::reload_mutex());
  auto result = store_->load();
  if (!result.ok()) {
    for (const auto& e : result.errors) spdlog::error("resources: {}", e.to_string());
    spdlog::error("resources from {} rejected after an Admin API write; the last good snapshot keeps serving",
                  store_->describe());
    state_.metrics.config_reload(false);
    return false;
  }
  try {
    auto current = state_.snapshots.shared();
    uint64_t version = (current ? current->version() : 0) + 1;
    state_.snapshots.publish(gateway::build_snapshot(std::move(result.resources), state_.config, version));
  } catch (const std::exception& e) {
    spdlog::error("resources from {} rejected: {}; the last good snapshot keeps serving", store_->describe(), e.what());
    state_.metrics.config_reload(false);
    return false;
  }
  state_.metrics.config_reload(true);
  return true;
}

// Who is calling: the admin key in tollgate.yaml (the bootstrap admin), or a stored admin key.
std::optional<AdminApi::Caller> AdminApi::authenticate(const AdminRequest& request, bool& any_key) {
  any_key = !state_.config.admin_key.empty();
  if (any_key && admin_key_matches(request.authorization, state_.config.admin_key)) return Caller{"config", "admin", ""};
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  if (!st) return std::nullopt;
  any_key = any_key || !store::list_admin_keys(*st).empty();
  if (auto k = store::find_admin_key(*st, bearer_of(request.authorization)))
    return Caller{"admin_key:" + k->name, k->role, k->team};
  return std::nullopt;
}

namespace {
// What a team-admin may reach at all: its team's keys (checked key by key in keys()), usage and
// request log (narrowed to its team), its team (read-only), the models (names for allowlists,
// no secrets), the schema, and the config (without providers: the UI learns the caller's role
// there). Limits and budgets of the team stay with admins.
bool team_admin_may_route(const std::vector<std::string>& s, bool write) {
  if (s.empty()) return false;
  const std::string& top = s.front();
  if (top == "keys") return true;
  if (write) return false;
  return top == "usage" || top == "requests" || top == "teams" || top == "models" || top == "schema" ||
         top == "openapi.json" || top == "config";
}
}  // namespace

bool AdminApi::team_admin_may(const Call& call) const {
  return !call.caller.team.empty() && team_admin_may_route(call.segments, !call.is("GET") && !call.is("HEAD"));
}

void AdminApi::close_idle() noexcept {
  if (store_) store_->close_idle();
}

AdminReply AdminApi::handle(const AdminRequest& request) {
  bool any_key = false;
  std::optional<Caller> caller;
  try {
    caller = authenticate(request, any_key);
  } catch (const store::StoreUnavailable& e) {
    return store_unavailable(e);
  }
  if (!any_key) {
    return error_reply(403, "permission_error", "admin_api_disabled",
                       "The Admin API is disabled because no admin key is configured. Set one in "
                       "tollgate.yaml, e.g. `admin: { key: \"${TOLLGATE_ADMIN_KEY}\" }`, and restart "
                       "the gateway; then send `Authorization: Bearer <admin key>`.");
  }
  if (!caller) {
    AdminReply r = error_reply(401, "authentication_error", "invalid_admin_key",
                               request.authorization.empty()
                                   ? "Missing admin key: send `Authorization: Bearer <admin key>`."
                                   : "Incorrect admin key.");
    r.headers.emplace_back("www-authenticate", "Bearer realm=\"tollgate-admin\"");
    return r;
  }
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  Call call{request, std::string(target.substr(kPrefix.size(), q == std::string_view::npos ? q : q - kPrefix.size())),
            {}, q == std::string_view::npos ? std::map<std::string, std::string>{} : parse_query(target.substr(q + 1)),
            *caller};
  std::string_view rest = call.path;
  while (!rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    std::size_t slash = rest.find('/');
    call.segments.push_back(percent_decode(rest.substr(0, slash)));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  // POST /guardrails/try changes nothing: a read, for viewers too, and not audited.
  const bool tries = call.is("POST") && call.segments.size() == 2 && call.segments[0] == "guardrails" &&
                     call.segments[1] == "try";
  const bool write = !call.is("GET") && !call.is("HEAD") && !tries;
  if (caller->role == "team-admin" && !team_admin_may(call)) {
    return error_reply(403, "permission_error", "outside_team",
                       "This admin key has role team-admin for team \"" + caller->team +
                           "\": it may manage that team's keys and read its usage, budget and the models, nothing else.");
  }
  if (write && caller->role != "admin" && caller->role != "team-admin") {
    return error_reply(403, "permission_error", "read_only_role",
                       "This admin key has role " + caller->role + ": it may only read.");
  }
  bool bad_version = false;
  std::optional<int64_t> expected = version_in_if_match(request.if_match, bad_version);
  if (bad_version) return invalid("If-Match", "must be a resource version as its ETag gives it, e.g. \"3\"");
  try {
    if (!write) return with_version(call, route(call));
    json::value before = current_view(call);
    AdminReply reply;
    {
      // The resource this write is about must still be at the version the caller read.
      store::ExpectVersion expect(expected);
      reply = route(call);
    }
    audit(call, reply, std::move(before));
    return with_version(call, std::move(reply));
  } catch (const store::StoreUnavailable& e) {
    return store_unavailable(e);
  } catch (const std::exception& e) {
    spdlog::error("admin api: {} {}: {}", request.method, call.path, e.what());
    return error_reply(500, "api_error", "internal_error", std::string("Internal error: ") + e.what());
  }
}

// --- audit -------------------------------------------------------------------------------------

namespace {
// What the audit log keeps of an answer: secrets shown once (a created or rotated key's) masked.
json::value masked(json::value v) {
  if (auto* o = v.if_object()) {
    for (auto& [name, value] : *o) {
      if (name == "secret" && value.is_string()) value = "***";
      else value = masked(std::move(value));
    }
  } else if (auto* a = v.if_array()) {
    for (auto& item : *a) item = masked(std::move(item));
  }
  return v;
}

json::value parsed_or_null(const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  return ec ? json::value(nullptr) : v;
}
}  // namespace

// The stored version of the one resource an answer shows, as its ETag (what If-Match takes).
AdminReply AdminApi::with_version(const Call& call, AdminReply reply) {
  if (reply.status >= 300 || call.segments.empty() || call.segments.size() > 3 || call.is("DELETE")) return reply;
  std::string name = call.segments.size() >= 2 ? call.segments[1] : std::string();
  if (name.empty()) {
    if (!call.is("POST")) return reply;  // a list
    json::value v = parsed_or_null(reply.body);
    const json::value* n = v.is_object() ? v.as_object().if_contains("id") : nullptr;
    if (!n && v.is_object()) n = v.as_object().if_contains("name");
    if (!n || !n->is_string()) return reply;
    name = n->as_string();
  }
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  if (!st) return reply;
  try {
    if (auto v = st->version_of(call.segments[0], name)) reply.headers.emplace_back("etag", "\"" + std::to_string(*v) + "\"");
  } catch (const store::StoreUnavailable&) {
    // A read served from the snapshot still answers while the store is away, without a version.
  }
  return reply;
}

// The resource a write is about, as a GET of it shows it (so without secrets); null when none.
json::value AdminApi::current_view(const Call& call) {
  if (call.segments.size() < 2) return nullptr;
  AdminRequest get{"GET", std::string(kPrefix) + "/" + call.segments[0] + "/" + call.segments[1], "", ""};
  Call read{get, "/" + call.segments[0] + "/" + call.segments[1], {call.segments[0], call.segments[1]}, {}, call.caller};
  AdminReply reply = route(read);
  return reply.status == 200 ? masked(parsed_or_null(reply.body)) : json::value(nullptr);
}

void AdminApi::audit(const Call& call, const AdminReply& reply, json::value before) {
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  if (!st || call.segments.empty()) return;
  json::value after = reply.status < 400 ? masked(parsed_or_null(reply.body)) : json::value(nullptr);
  if (call.segments.size() >= 2 && call.is("DELETE")) after = nullptr;
  std::string name = call.segments.size() >= 2 ? call.segments[1] : std::string();
  if (name.empty() && after.is_object())
    if (const json::value* n = after.as_object().if_contains("name"); n && n->is_string()) name = n->as_string();
  store::AuditEntry entry{now_ms(), call.caller.actor, call.method() + " /admin/v1" + call.path, reply.status,
                          call.segments[0], name, json::serialize(before), json::serialize(after)};
  try {
    st->append_audit(entry);
  } catch (const std::exception& e) {
    spdlog::error("audit log: cannot record {} by {}: {}", entry.action, entry.actor, e.what());
  }
}

AdminReply AdminApi::audit_log(Call& call) {
  int limit = 100, offset = 0;
  if (auto v = parse_int(call.query["limit"]); v && *v >= 1 && *v <= 1000) limit = static_cast<int>(*v);
  if (auto v = parse_int(call.query["offset"]); v && *v >= 0) offset = static_cast<int>(*v);
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  json::array data;
  for (const auto& e : st ? st->list_audit(limit, offset) : std::vector<store::AuditEntry>{})
    data.push_back(json::object{{"ts", e.ts_ms}, {"actor", e.actor}, {"action", e.action}, {"status", e.status},
                                {"kind", e.kind}, {"name", e.name}, {"before", parsed_or_null(e.before)},
                                {"after", parsed_or_null(e.after)}});
  return json_reply(200, json::object{{"data", std::move(data)}, {"limit", limit}, {"offset", offset}});
}

AdminReply AdminApi::route(Call& call) {
  const auto& s = call.segments;
  if (s.empty()) return not_found("Unknown Admin API route; see GET /admin/v1/openapi.json.");
  const std::string& top = s.front();
  if (top == "providers") return providers(call);
  if (top == "models") return models(call);
  if (top == "keys") return keys(call);
  if (top == "usage" && s.size() == 1) return call.is("GET") ? usage(call) : method_not_allowed("GET");
  if (top == "requests" && s.size() <= 2) return call.is("GET") ? requests(call) : method_not_allowed("GET");
  if (top == "config" && s.size() == 1) return call.is("GET") ? config(call) : method_not_allowed("GET");
  if (top == "openapi.json" && s.size() == 1) {
    if (!call.is("GET")) return method_not_allowed("GET");
    return {200, {{"content-type", "application/json"}}, openapi_document()};
  }
  if (top == "schema" && s.size() == 1) {
    if (!call.is("GET")) return method_not_allowed("GET");
    return json_reply(200, core::schema::document());
  }
  if (top == "guardrails" && s.size() == 2 && s[1] == "try" && call.is("POST")) return guardrails_try(call);
  if (top == "guardrails") return guardrails(call);
  if (top == "mcp_servers" || (top == "mcp_status" && s.size() == 1)) return mcp_servers(call);
  if (top == "teams") return teams(call);
  if (top == "admin_keys") return admin_keys(call);
  if (top == "audit" && s.size() == 1) return call.is("GET") ? audit_log(call) : method_not_allowed("GET");
  if (const core::schema::Kind* kind = core::schema::find_kind(top); kind && kind->generic_routes)
    return documents(call, *kind);
  return not_found("Unknown Admin API route " + call.path + "; see GET /admin/v1/openapi.json.");
}

// --- providers -------------------------------------------------------------------------------

namespace {

// A write that the store refused, as an answer.
template <class F>
std::optional<AdminReply> store_write(store::ResourceStore& st, F&& write) {
  if (!st.writable()) {
    return conflict("The resources come from " + st.describe() +
                        ", which is read-only: edit that file and send SIGHUP (or let the gateway "
                        "see the change), or switch to the sqlite store (store: { kind: sqlite }) "
                        "to manage resources through the Admin API.",
                    "read_only_store");
  }
  try {
    write();
  } catch (const store::InvalidResource& e) {
    return invalid(e.errors);
  } catch (const store::StaleWrite& e) {
    AdminReply r = conflict(e.what(), "stale_version");
    json::value body = json::parse(r.body);
    body.as_object()["error"].as_object()["current_version"] =
        e.current ? json::value(*e.current) : json::value(nullptr);
    r.body = json::serialize(body);
    if (e.current) r.headers.emplace_back("etag", "\"" + std::to_string(*e.current) + "\"");
    return r;
  } catch (const store::ResourceConflict& e) {
    return conflict(e.what());
  } catch (const store::StoreUnavailable& e) {
    return store_unavailable(e);
  } catch (const std::runtime_error& e) {
    return conflict(e.what(), "read_only_store");
  }
  return std::nullopt;
}

std::optional<json::object> body_object(const std::string& body, std::optional<AdminReply>& error) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) {
    error = invalid("", "the body is not valid JSON: " + ec.message());
    return std::nullopt;
  }
  if (!v.is_object()) {
    error = invalid("", "the body must be a JSON object");
    return std::nullopt;
  }
  return std::move(v.as_object());
}

// The name in the path wins; a different one in the body is a mistake, not a rename.
std::optional<AdminReply> settle_name(json::object& doc, const std::string& path_name) {
  if (auto* n = doc.if_contains("name")) {
    if (!n->is_string() || n->as_string() != path_name) {
      return invalid("name", "must match the name in the path (\"" + path_name + "\"); renaming is not supported");
    }
  }
  doc["name"] = path_name;
  return std::nullopt;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Credentials are write-only, so a client that read a provider cannot send them back: a write
// that leaves out api_key (or a credential header) keeps the stored one; null clears it.
void keep_stored_credentials(json::object& doc, const std::optional<std::string>& stored_doc) {
  json::object stored;
  if (stored_doc) {
    boost::system::error_code ec;
    json::value v = json::parse(*stored_doc, ec);
    if (!ec && v.is_object()) stored = std::move(v.as_object());
  }
  if (auto* k = doc.if_contains("api_key"); k && k->is_null()) {
    doc.erase("api_key");
  } else if (!k && stored.contains("api_key")) {
    doc["api_key"] = stored["api_key"];
  }
  json::object* stored_headers = stored.contains("headers") && stored["headers"].is_object()
                                     ? &stored["headers"].as_object() : nullptr;
  json::value* given = doc.if_contains("headers");
  if (given && given->is_null()) {
    doc.erase("headers");
    return;
  }
  if (given && !given->is_object()) return;  // parse_provider names the field
  json::object headers = given ? given->as_object() : json::object();
  std::set<std::string> named;
  for (const auto& [name, value] : headers) named.insert(lowered(name));
  if (stored_headers) {
    for (const auto& [name, value] : *stored_headers) {
      if (credential_header(name) && !named.contains(lowered(name))) headers[name] = value;
    }
  }
  json::object kept;
  for (auto& [name, value] : headers)
    if (!value.is_null()) kept[name] = value;
  if (kept.empty()) doc.erase("headers");
  else doc["headers"] = std::move(kept);
}

const json::value* field_of(const json::object& o, std::string_view name) { return o.if_contains(name); }

}  // namespace

// --- every kind with generic routes ------------------------------------------------------------

// What the generic routes need of one kind; the rest (paths, methods, names, conflicts,
// answers) is the same for all of them.
struct AdminApi::KindOps {
  const core::schema::Kind& kind;
  std::function<json::array()> list;                                       // the live snapshot's
  std::function<std::optional<json::object>(const std::string&)> read;    // the live one
  std::function<bool(const std::string&)> builtin;  // added by the gateway, not stored
  std::function<bool(const std::string&)> stored;
  std::function<bool(store::ResourceStore&, const std::string&)> remove;
  // Validates `doc` (its name settled) and puts it; an error answer, or nullopt with `answer`
  // what to return should the new snapshot not be live.
  std::function<std::optional<AdminReply>(store::ResourceStore&, json::object& doc, const std::string& name,
                                           json::object& answer)>
      write;
};

namespace {
// KindOps' list and read over one section of the live snapshot (after a write: the snapshot it
// made), each item answered by `as_json`.
template <class Item, class AsJson>
std::pair<std::function<json::array()>, std::function<std::optional<json::object>(const std::string&)>> snapshot_views(
    const core::SnapshotHolder& snapshots, std::vector<Item> core::Resources::*section, AsJson as_json) {
  auto list = [&snapshots, section, as_json] {
    json::array data;
    if (auto snapshot = snapshots.shared())
      for (const Item& x : snapshot->resources().*section) data.push_back(as_json(x));
    return data;
  };
  auto read = [&snapshots, section, as_json](const std::string& name) -> std::optional<json::object> {
    if (auto snapshot = snapshots.shared())
      for (const Item& x : snapshot->resources().*section)
        if (x.name == name) return as_json(x);
    return std::nullopt;
  };
  return {list, read};
}
}  // namespace

AdminReply AdminApi::resources(Call& call, const KindOps& ops) {
  const auto& s = call.segments;
  const std::string& one = ops.kind.singular;
  std::string One = one;
  One[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(One[0])));
  if (s.size() > 2) return not_found("Unknown Admin API route " + call.path + ".");
  if (s.size() == 1) {
    if (call.is("GET")) return json_reply(200, json::object{{"data", ops.list()}});
    if (!call.is("POST")) return method_not_allowed("GET, POST");
  } else if (call.is("GET")) {
    auto found = ops.read(s[1]);
    if (!found) return not_found("No " + one + " named \"" + s[1] + "\".");
    return json_reply(200, *found);
  } else if (!call.is("PUT") && !call.is("DELETE")) {
    return method_not_allowed("GET, PUT, DELETE");
  }

  std::string why_not;
  store::ResourceStore* st = resource_store(why_not);
  if (!st) return error_reply(503, "api_error", "store_unavailable", "The resource store cannot be opened: " + why_not);

  if (call.is("DELETE")) {
    bool removed = false;
    if (auto refused = store_write(*st, [&] { removed = ops.remove(*st, s[1]); })) return *refused;
    if (!removed) {
      if (ops.read(s[1]) && ops.builtin(s[1]))
        return conflict(One + " \"" + s[1] + "\" is built in (not stored) and cannot be deleted.", "builtin_resource");
      return not_found("No " + one + " named \"" + s[1] + "\" is stored.");
    }
    reload();
    return json_reply(200, json::object{{"name", s[1]}, {"deleted", true}});
  }

  std::optional<AdminReply> error;
  auto doc = body_object(call.request.body, error);
  if (!doc) return *error;
  std::string name;
  if (s.size() == 2) {
    name = s[1];
    if (auto bad = settle_name(*doc, name)) return *bad;
  } else {
    const json::value* n = field_of(*doc, "name");
    if (!n || !n->is_string() || n->as_string().empty()) return invalid("name", "is required (a string)");
    name = std::string(n->as_string());
    if (ops.stored(name) || (ops.read(name) && !ops.builtin(name)))
      return conflict("A " + one + " named \"" + name + "\" already exists; use PUT /admin/v1/" + ops.kind.name + "/" +
                      name + " to change it.");
  }
  if (!st->writable()) return *store_write(*st, [] {});
  json::object answer;
  if (auto refused = ops.write(*st, *doc, name, answer)) return *refused;
  reload();
  auto live = ops.read(name);
  return json_reply(s.size() == 1 ? 201 : 200, live ? *live : answer);
}

AdminReply AdminApi::providers(Call& call) {
  Builtins builtin = builtins_of(state_.config);
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  auto stored = [&](const std::string& name) { return st && st->stored_provider_document(name).has_value(); };
  auto is_builtin = [&](const std::string& name) { return builtin.providers.contains(name) && !stored(name); };
  auto [list, read] = snapshot_views(state_.snapshots, &core::Resources::providers,
                                     [&](const core::Provider& p) { return provider_json(p, is_builtin(p.name)); });
  KindOps ops{
      *core::schema::find_kind("providers"), list, read,
      [&](const std::string& name) { return builtin.providers.contains(name); },
      stored,
      [](store::ResourceStore& st, const std::string& name) { return st.remove_provider(name); },
      [&](store::ResourceStore& st, json::object& doc, const std::string& name,
          json::object& answer) -> std::optional<AdminReply> {
        keep_stored_credentials(doc, st.stored_provider_document(name));
        // Strings are stored as written ("${OPENAI_API_KEY}" stays a reference); parsing
        // resolves them, so keep the raw ones to put back.
        auto raw = [&](const char* f) -> std::optional<std::string> {
          const json::value* v = field_of(doc, f);
          if (v && v->is_string()) return std::string(v->as_string());
          return std::nullopt;
        };
        auto raw_base_url = raw("base_url"), raw_api_key = raw("api_key"), raw_api_version = raw("api_version");
        std::map<std::string, std::string> raw_headers;
        if (const json::value* h = field_of(doc, "headers"); h && h->is_object())
          for (const auto& [k, v] : h->as_object())
            if (v.is_string()) raw_headers[std::string(k)] = std::string(v.as_string());

        std::vector<core::ConfigError> errors;
        auto parsed = core::parse_provider(json::serialize(doc), "provider " + name, errors);
        if (!errors.empty() || !parsed) return invalid(errors);
        core::Provider to_store = *parsed;
        if (raw_base_url) to_store.base_url = *raw_base_url;
        if (raw_api_key) to_store.api_key = *raw_api_key;
        if (raw_api_version) to_store.api_version = *raw_api_version;
        for (auto& [k, v] : to_store.headers)
          if (auto it = raw_headers.find(k); it != raw_headers.end()) v = it->second;
        if (auto refused = store_write(st, [&] { st.put_provider(to_store); })) return refused;
        answer = provider_json(*parsed, false);
        return std::nullopt;
      }};
  return resources(call, ops);
}

AdminReply AdminApi::models(Call& call) {
  Builtins builtin = builtins_of(state_.config);
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  auto stored = [&](const std::string& name) { return st && st->stored_model_document(name).has_value(); };
  auto is_builtin = [&](const std::string& name) { return builtin.models.contains(name) && !stored(name); };
  auto [list, read] = snapshot_views(state_.snapshots, &core::Resources::models,
                                     [&](const core::Model& m) { return model_json(m, is_builtin(m.name)); });
  KindOps ops{
      *core::schema::find_kind("models"), list, read,
      [&](const std::string& name) { return builtin.models.contains(name); },
      stored,
      [](store::ResourceStore& st, const std::string& name) { return st.remove_model(name); },
      [&](store::ResourceStore& st, json::object& doc, const std::string& name,
          json::object& answer) -> std::optional<AdminReply> {
        std::vector<core::ConfigError> errors;
        auto parsed = core::parse_model(json::serialize(doc), "model " + name, errors);
        if (!errors.empty() || !parsed) return invalid(errors);
        if (auto refused = store_write(st, [&] { st.put_model(*parsed); })) return refused;
        answer = model_json(*parsed, false);
        return std::nullopt;
      }};
  return resources(call, ops);
}

AdminReply AdminApi::guardrails(Call& call) {
  auto snapshot = state_.snapshots.shared();
  auto views = snapshot_views(state_.snapshots, &core::Resources::guardrails, [](const core::Guardrail& g) {
    return json::parse(store::guardrail_document(g)).as_object();
  });
  KindOps ops{
      *core::schema::find_kind("guardrails"), views.first, views.second,
      [](const std::string&) { return false; },
      [&](const std::string& name) { return views.second(name).has_value(); },
      [](store::ResourceStore& st, const std::string& name) { return st.remove_guardrail(name); },
      [&](store::ResourceStore& st, json::object& doc, const std::string& name,
          json::object& answer) -> std::optional<AdminReply> {
        std::vector<core::ConfigError> errors;
        auto parsed = core::parse_guardrail(json::serialize(doc), "guardrail " + name, errors);
        if (!errors.empty() || !parsed) return invalid(errors);
        if (parsed->kind == "moderation") {
          // Its provider must be live and speak the OpenAI wire (it serves /moderations).
          const core::CompiledProvider* p = snapshot ? snapshot->provider(parsed->provider) : nullptr;
          if (!p) return invalid("provider", "provider \"" + parsed->provider + "\" is not declared");
          if (p->spec.kind != core::ProviderKind::openai && p->spec.kind != core::ProviderKind::openai_compatible)
            return invalid("provider", "provider \"" + parsed->provider + "\" must be of kind openai or openai-compatible");
        }
        // Compiled now, so a bad pattern is a 400 naming it, not a rejected reload later.
        guardrails::PolicySpec spec = guardrails::policy_spec(*parsed);
        std::vector<std::string> compile_errors;
        if (parsed->kind != "moderation" && !guardrails::CompiledPolicies::compile({spec}, compile_errors)) {
          std::string msg;
          for (const auto& e : compile_errors) msg += (msg.empty() ? "" : "; ") + e;
          return invalid("patterns", msg);
        }
        if (auto refused = store_write(st, [&] { st.put_guardrail(*parsed); })) return refused;
        answer = json::parse(store::guardrail_document(*parsed)).as_object();
        return std::nullopt;
      }};
  return resources(call, ops);
}

// --- MCP servers -------------------------------------------------------------------------------

// The generic routes over the store's mcp_servers (credentials sealed there), read back from the
// live snapshot, which the MCP gateway serves from; and the runtime's status of each server.
AdminReply AdminApi::mcp_servers(Call& call) {
  if (call.segments.front() == "mcp_status") {
    if (!call.is("GET")) return method_not_allowed("GET");
    auto snapshot = state_.snapshots.shared();
    std::vector<std::string> names;
    if (snapshot)
      for (const auto& s : snapshot->resources().mcp_servers) names.push_back(s.name);
    return json_reply(200, json::object{{"data", mcp::status_json(names)}});
  }
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  auto [list, read] = snapshot_views(state_.snapshots, &core::Resources::mcp_servers, mcp::server_answer);
  KindOps ops{
      *core::schema::find_kind("mcp_servers"), list, read,
      [](const std::string&) { return false; },
      [&](const std::string& name) { return st && st->stored_mcp_server_document(name).has_value(); },
      [](store::ResourceStore& st, const std::string& name) { return st.remove_mcp_server(name); },
      [&](store::ResourceStore& st, json::object& doc, const std::string& name,
          json::object& answer) -> std::optional<AdminReply> {
        mcp::keep_stored_secrets(doc, st.stored_mcp_server_document(name));
        std::vector<core::ConfigError> errors;
        auto parsed = mcp::parse_server(json::serialize(doc), "MCP server " + name, errors);
        if (!errors.empty() || !parsed) return invalid(errors);
        // Names, URLs and prefix collisions among the servers as they would be.
        core::Resources all;
        if (auto snapshot = state_.snapshots.shared())
          for (const auto& s : snapshot->resources().mcp_servers)
            if (s.name != name) all.mcp_servers.push_back(s);
        all.mcp_servers.push_back(*parsed);
        const std::size_t mine = all.mcp_servers.size() - 1;
        mcp::validate(all, [&](std::string_view, std::size_t i, std::string_view field, std::string message) {
          if (i == mine) errors.push_back({"", 0, 0, std::string(field), std::move(message)});
        });
        if (!errors.empty()) return invalid(errors);
        auto to_store = mcp::parse_server_unresolved(doc, "MCP server " + name, errors);
        if (!to_store) return invalid(errors);
        if (auto refused = store_write(st, [&] { st.put_mcp_server(*to_store); })) return refused;
        answer = mcp::server_answer(*parsed);
        return std::nullopt;
      }};
  return resources(call, ops);
}

// What each policy would do to one prompt, as the guard phase does it (the live snapshot's
// compiled policies, one at a time). Moderation policies ask their provider, so they are not
// tried here.
AdminReply AdminApi::guardrails_try(Call& call) {
  constexpr std::size_t kMaxText = 64 * 1024;
  std::optional<AdminReply> error;
  auto body = body_object(call.request.body, error);
  if (!body) return *error;
  for (const auto& [field, value] : *body)
    if (field != "text" && field != "policies")
      return invalid(std::string(field), "unknown field (expected one of: text, policies)");
  const json::value* text = body->if_contains("text");
  if (!text || !text->is_string()) return invalid("text", "is required (a string)");
  if (text->as_string().size() > kMaxText) return invalid("text", "must be at most 65536 bytes");
  auto snapshot = state_.snapshots.shared();
  static const std::vector<core::Guardrail> kNone;
  const auto& declared = snapshot ? snapshot->resources().guardrails : kNone;
  std::vector<const core::Guardrail*> chosen;
  if (const json::value* names = body->if_contains("policies"); names && !names->is_null()) {
    if (!names->is_array()) return invalid("policies", "must be a list of guardrail names");
    for (std::size_t i = 0; i < names->as_array().size(); ++i) {
      const json::value& n = names->as_array()[i];
      std::string at = "policies[" + std::to_string(i) + "]";
      if (!n.is_string()) return invalid(at, "must be a string");
      auto it = std::find_if(declared.begin(), declared.end(), [&](const auto& g) { return g.name == n.as_string(); });
      if (it == declared.end()) return invalid(at, "guardrail \"" + std::string(n.as_string()) + "\" is not declared");
      chosen.push_back(&*it);
    }
  } else {
    for (const auto& g : declared) chosen.push_back(&g);
  }
  std::shared_ptr<const guardrails::CompiledPolicies> compiled = snapshot ? snapshot->guardrails() : nullptr;
  json::array results;
  for (const core::Guardrail* g : chosen) {
    json::object r{{"policy", g->name}, {"kind", g->kind}, {"mode", g->mode}};
    if (g->kind == "moderation" || !compiled) {
      r["outcome"] = "not_tried";
      r["reason"] = "A moderation policy asks its provider's /moderations endpoint; it is not tried here.";
      results.push_back(std::move(r));
      continue;
    }
    std::vector<guardrails::InputText> texts{{guardrails::Source::user, std::string(text->as_string())}};
    guardrails::RestoreMap restore;
    guardrails::InputVerdict v = compiled->scan_input(compiled->select({g->name}), texts, restore);
    json::array findings;
    for (const auto& f : v.findings)
      findings.push_back(json::object{{"entity", f.entity}, {"begin", f.begin}, {"end", f.end}, {"acted", f.acted}});
    if (v.blocked) {
      r["outcome"] = "block";
      r["reason"] = v.reason;
    } else if (v.redacted) {
      r["outcome"] = "redact";
      r["text"] = texts[0].text;
    } else {
      // Hits that did not act (below the injection threshold) let the text through as well.
      r["outcome"] = g->mode == "monitor" && !findings.empty() ? "monitor" : "allow";
    }
    if (g->kind == "prompt-injection") r["score"] = v.injection_score;
    r["findings"] = std::move(findings);
    results.push_back(std::move(r));
  }
  return json_reply(200, json::object{{"data", std::move(results)}});
}

// --- kinds kept as documents -------------------------------------------------------------------

namespace {
// A document as the API answers it: secret fields left out.
json::object without_secrets(const core::schema::Kind& kind, json::object doc) {
  for (const auto& f : kind.fields)
    if (f.type == core::schema::Type::secret) doc.erase(f.name);
  return doc;
}

std::optional<json::object> parsed_object(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}
}  // namespace

// A kind with no handler of its own (core::schema::register_kind): its documents in the store.
AdminReply AdminApi::documents(Call& call, const core::schema::Kind& kind,
                               const std::function<void(json::object&)>& decorate,
                               const std::function<bool(const std::string&)>& visible) {
  std::string why_not;
  store::ResourceStore* st = resource_store(why_not);
  if (!st) return error_reply(503, "api_error", "store_unavailable", "The resource store cannot be opened: " + why_not);
  // Whether `name` names a resource of `of`: the live snapshot's kinds, or stored documents.
  auto exists = [&](const std::string& of, std::string_view name) {
    auto snapshot = state_.snapshots.shared();
    std::string n(name);
    if (of == "providers") return snapshot && snapshot->provider(n);
    if (of == "models") return snapshot && snapshot->model(n);
    if (of == "guardrails") {
      if (snapshot)
        for (const auto& g : snapshot->resources().guardrails)
          if (g.name == n) return true;
      return false;
    }
    return st->get_document(of, n).has_value();
  };
  KindOps ops{
      kind,
      [&] {
        json::array data;
        for (auto& [name, doc] : st->list_documents(kind.name)) {
          if (visible && !visible(name)) continue;
          auto o = parsed_object(doc);
          if (!o) continue;
          json::object shown = without_secrets(kind, std::move(*o));
          if (decorate) decorate(shown);
          data.push_back(std::move(shown));
        }
        return data;
      },
      [&](const std::string& name) -> std::optional<json::object> {
        if (visible && !visible(name)) return std::nullopt;
        auto o = parsed_object(st->get_document(kind.name, name));
        if (!o) return std::nullopt;
        json::object shown = without_secrets(kind, std::move(*o));
        if (decorate) decorate(shown);
        return shown;
      },
      [](const std::string&) { return false; },
      [&](const std::string& name) { return st->get_document(kind.name, name).has_value(); },
      // Refused by the store while anything stored names it (SqlStore::refuse_if_referred).
      [&](store::ResourceStore& store, const std::string& name) {
        return store.remove_document(kind.name, name);
      },
      [&](store::ResourceStore& store, json::object& doc, const std::string& name,
          json::object& answer) -> std::optional<AdminReply> {
        // Secrets are write-only: left out, the stored one is kept; null clears it.
        auto stored = parsed_object(store.get_document(kind.name, name));
        for (const auto& f : kind.fields) {
          if (f.type != core::schema::Type::secret) continue;
          if (auto* v = doc.if_contains(f.name); v && v->is_null()) doc.erase(f.name);
          else if (!v && stored && stored->contains(f.name)) doc[f.name] = stored->at(f.name);
        }
        std::vector<core::ConfigError> errors;
        core::schema::check(kind, doc, errors);
        core::schema::references(kind.fields, doc, "", [&](const auto& f, std::string_view ref, const std::string& at) {
          if (f.allowlist) return;  // the store checks allowlists (PROVIDER/*, the built-in demo)
          const core::schema::Kind* target = core::schema::find_kind(f.kind);
          if (!exists(f.kind, ref))
            errors.push_back({"", 0, 0, at, (target ? target->singular : f.kind) + " \"" + std::string(ref) + "\" is not declared"});
        });
        if (!errors.empty()) return invalid(errors);
        if (auto refused = store_write(store, [&] { store.put_document(kind.name, name, json::serialize(doc)); }))
          return refused;
        answer = without_secrets(kind, doc);
        return std::nullopt;
      }};
  return resources(call, ops);
}

// --- teams -------------------------------------------------------------------------------------

namespace {
std::map<std::string, KeyActivity> team_spend(obs::UsageStore& usage);
}

// Teams are kept as documents; their answers add what they spent and which keys they hold. A
// team-admin sees its own team only.
AdminReply AdminApi::teams(Call& call) {
  std::map<std::string, KeyActivity> spend;
  bool spend_known = false;
  if (state_.usage_store && call.is("GET")) {
    try {
      spend = team_spend(*state_.usage_store);
      spend_known = true;
    } catch (const std::exception& e) {
      spdlog::warn("admin api: usage for teams: {}", e.what());
    }
  }
  auto snapshot = state_.snapshots.shared();
  auto decorate = [&](json::object& o) {
    std::string name = o.contains("name") && o["name"].is_string() ? std::string(o["name"].as_string()) : "";
    if (spend_known) {
      const KeyActivity& a = spend[name];
      o["spend"] = json::object{{"usd_today", a.today}, {"usd_month", a.month}, {"usd_total", a.total}};
    } else {
      o["spend"] = nullptr;
    }
    json::array keys;
    if (snapshot)
      for (const auto& k : snapshot->resources().keys)
        if (k.rules().team == name) keys.emplace_back(k.name);
    o["keys"] = std::move(keys);
  };
  std::function<bool(const std::string&)> visible;
  if (call.caller.role == "team-admin") visible = [&](const std::string& name) { return name == call.caller.team; };
  // A read-only store (the resources file) keeps no documents: its teams are the snapshot's.
  std::string ignored;
  store::ResourceStore* st = resource_store(ignored);
  if (st && !st->writable() && call.is("GET") && call.segments.size() <= 2) {
    json::array data;
    for (const core::Team& t : snapshot ? snapshot->resources().teams : std::vector<core::Team>{}) {
      if ((visible && !visible(t.name)) || (call.segments.size() == 2 && t.name != call.segments[1])) continue;
      core::Key settings;  // a key's limits and budget are written as a team's are
      settings.edit_rules().limits = t.limits;
      settings.edit_rules().budget = t.budget;
      json::object o = json::parse(store::key_settings_document(settings)).as_object();
      o["name"] = t.name;
      if (!t.models.empty()) o["models"] = json::array(t.models.begin(), t.models.end());
      if (!t.webhook_url.empty()) o["webhook"] = t.webhook_url;
      if (!t.cache.empty()) o["cache"] = t.cache;
      decorate(o);
      data.push_back(std::move(o));
    }
    if (call.segments.size() == 1) return json_reply(200, json::object{{"data", std::move(data)}});
    if (data.empty()) return not_found("No team named \"" + call.segments[1] + "\".");
    return json_reply(200, data.front());
  }
  return documents(call, *core::schema::find_kind("teams"), decorate, visible);
}

// --- admin keys --------------------------------------------------------------------------------

namespace {
json::object admin_key_json(const store::AdminKey& k) {
  json::object o{{"name", k.name}, {"role", k.role}, {"prefix", k.prefix}, {"created_at", k.created_at}};
  if (!k.team.empty()) o["team"] = k.team;
  return o;
}
}  // namespace

AdminReply AdminApi::admin_keys(Call& call) {
  const auto& s = call.segments;
  if (s.size() > 2) return not_found("Unknown Admin API route " + call.path + ".");
  std::string why_not;
  store::ResourceStore* st = resource_store(why_not);
  if (!st) return error_reply(503, "api_error", "store_unavailable", "The resource store cannot be opened: " + why_not);
  auto find = [&](const std::string& name) -> std::optional<store::AdminKey> {
    for (auto& k : store::list_admin_keys(*st))
      if (k.name == name) return k;
    return std::nullopt;
  };
  if (s.size() == 1 && call.is("GET")) {
    json::array data;
    for (const auto& k : store::list_admin_keys(*st)) data.push_back(admin_key_json(k));
    return json_reply(200, json::object{{"data", std::move(data)}});
  }
  if (s.size() == 1 && call.is("POST")) {
    std::optional<AdminReply> error;
    auto doc = body_object(call.request.body, error);
    if (!doc) return *error;
    std::vector<core::ConfigError> errors;
    core::schema::check(*core::schema::find_kind("admin_keys"), *doc, errors);
    if (!errors.empty()) return invalid(errors);
    std::string name(doc->at("name").as_string());
    const json::value* role = doc->if_contains("role");
    std::string role_name = role ? std::string(role->as_string()) : "viewer";
    const json::value* team = doc->if_contains("team");
    std::string team_name = team && team->is_string() ? std::string(team->as_string()) : "";
    if (role_name == "team-admin" && team_name.empty()) return invalid("team", "is required for role team-admin");
    if (role_name != "team-admin" && !team_name.empty()) return invalid("team", "applies to role: team-admin only");
    if (!team_name.empty() && !st->get_document("teams", team_name))
      return invalid("team", "team \"" + team_name + "\" is not declared");
    std::optional<store::CreatedAdminKey> created;
    if (auto refused = store_write(*st, [&] { created = store::create_admin_key(*st, name, role_name, team_name); }))
      return *refused;
    json::object out = admin_key_json(created->key);
    out["secret"] = created->secret;
    return json_reply(201, out);
  }
  if (s.size() == 1) return method_not_allowed("GET, POST");
  if (call.is("GET")) {
    auto k = find(s[1]);
    if (!k) return not_found("No admin key named \"" + s[1] + "\".");
    return json_reply(200, admin_key_json(*k));
  }
  if (call.is("DELETE")) {
    bool removed = false;
    if (auto refused = store_write(*st, [&] { removed = st->remove_document("admin_keys", s[1]); })) return *refused;
    if (!removed) return not_found("No admin key named \"" + s[1] + "\".");
    return json_reply(200, json::object{{"name", s[1]}, {"deleted", true}});
  }
  return method_not_allowed("GET, DELETE");
}

// --- keys ------------------------------------------------------------------------------------

namespace {

// Start of the UTC day and month of `ms`: the periods budgets count in.
std::pair<int64_t, int64_t> utc_day_and_month_start_ms(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  int64_t day = static_cast<int64_t>(timegm(&tm)) * 1000;
  tm.tm_mday = 1;
  int64_t month = static_cast<int64_t>(timegm(&tm)) * 1000;
  return {day, month};
}

std::map<std::string, KeyActivity> key_activity(obs::UsageStore& usage, const std::vector<std::string>& ids) {
  std::map<std::string, KeyActivity> out;
  int64_t now = now_ms();
  auto [day, month] = utc_day_and_month_start_ms(now);
  auto sum = [&](int64_t from, double KeyActivity::*into) {
    obs::UsageQuery q;
    q.from_ms = from;
    q.group_by = obs::UsageGroup::key;
    if (ids.size() == 1) q.key_id = ids.front();
    for (const auto& b : usage.aggregate(q)) out[b.group].*into = b.cost_usd;
  };
  sum(0, &KeyActivity::total);
  sum(month, &KeyActivity::month);
  sum(day, &KeyActivity::today);
  for (const auto& id : ids) {
    obs::RequestLogQuery q;
    q.key_id = id;
    q.limit = 1;
    auto rows = usage.requests(q);
    if (!rows.empty()) out[id].last_used_ms = rows.front().ts;
  }
  return out;
}

// What each team spent (UTC day, month, all time), from the usage records.
std::map<std::string, KeyActivity> team_spend(obs::UsageStore& usage) {
  std::map<std::string, KeyActivity> out;
  auto [day, month] = utc_day_and_month_start_ms(now_ms());
  auto sum = [&](int64_t from, double KeyActivity::*into) {
    obs::UsageQuery q;
    q.from_ms = from;
    q.group_by = obs::UsageGroup::team;
    for (const auto& b : usage.aggregate(q)) out[b.group].*into = b.cost_usd;
  };
  sum(0, &KeyActivity::total);
  sum(month, &KeyActivity::month);
  sum(day, &KeyActivity::today);
  return out;
}

// The fields a key's write may carry, read with the resources document's own rules: the body
// becomes a key document (with a stand-in hash) for core::parse_key.
std::optional<core::Key> read_key_settings(json::object doc, std::vector<core::ConfigError>& errors) {
  doc["key_hash"] = std::string(64, '0');
  return core::parse_key(json::serialize(doc), "key", errors);
}

}  // namespace

AdminReply AdminApi::keys(Call& call) {
  const auto& s = call.segments;
  if (s.size() > 3) return not_found("Unknown Admin API route " + call.path + ".");
  std::string why_not;
  store::ResourceStore* st = resource_store(why_not);
  if (!st) return error_reply(503, "api_error", "store_unavailable", "The resource store cannot be opened: " + why_not);
  auto snapshot = state_.snapshots.shared();
  // A team-admin reaches the keys of its own team, and no other.
  const std::string* only_team = call.caller.role == "team-admin" ? &call.caller.team : nullptr;
  auto outside = [&](const core::Key& k) { return only_team && k.rules().team != *only_team; };
  auto refuse_outside = [&] {
    return error_reply(403, "permission_error", "outside_team",
                       "This admin key manages the keys of team \"" + *only_team + "\" only.");
  };

  // Keys as stored; a read-only store has no more than what its snapshot holds.
  auto stored_keys = [&](bool include_revoked) {
    std::vector<store::StoredKey> out;
    if (st->writable()) out = st->list_keys(include_revoked);
    else if (snapshot)
      for (const auto& k : snapshot->resources().keys) out.push_back({k, std::nullopt, std::nullopt});
    std::erase_if(out, [&](const store::StoredKey& k) { return outside(k.key); });
    return out;
  };
  auto find_key = [&](const std::string& id) -> std::optional<store::StoredKey> {
    if (st->writable()) return st->find_key(id);
    for (auto& k : stored_keys(false))
      if (k.key.id == id || k.key.name == id) return k;
    return std::nullopt;
  };
  auto render = [&](const std::vector<store::StoredKey>& list) {
    std::map<std::string, KeyActivity> activity;
    if (state_.usage_store) {
      std::vector<std::string> ids;
      for (const auto& k : list) ids.push_back(k.key.id);
      try {
        activity = key_activity(*state_.usage_store, ids);
      } catch (const std::exception& e) {
        spdlog::warn("admin api: usage for keys: {}", e.what());
      }
    }
    json::array out;
    for (const auto& k : list) {
      auto it = activity.find(k.key.id);
      KeyActivity none;
      const KeyActivity* a = state_.usage_store ? (it != activity.end() ? &it->second : &none) : nullptr;
      out.push_back(key_json(k.key, k.created_at, k.revoked_at, a));
    }
    return out;
  };

  if (s.size() == 1) {
    if (call.is("GET")) {
      bool include_revoked = call.query["include_revoked"] == "true" || call.query["include_revoked"] == "1";
      return json_reply(200, json::object{{"data", render(stored_keys(include_revoked))}});
    }
    if (!call.is("POST")) return method_not_allowed("GET, POST");
    if (!st->writable()) return *store_write(*st, [] {});
    std::optional<AdminReply> error;
    auto doc = body_object(call.request.body, error);
    if (!doc) return *error;
    for (const char* secret_field : {"key", "key_env", "key_hash"}) {
      if (doc->contains(secret_field))
        return invalid(secret_field, "is not accepted: the gateway generates the secret and returns it once");
    }
    const json::value* n = doc->if_contains("name");
    if (!n || !n->is_string() || n->as_string().empty()) return invalid("name", "is required (a string)");
    if (only_team) {
      const json::value* t = doc->if_contains("team");
      if (!t || t->is_null()) (*doc)["team"] = *only_team;
      else if (!t->is_string() || t->as_string() != *only_team) return refuse_outside();
    }
    std::vector<core::ConfigError> errors;
    auto spec = read_key_settings(*doc, errors);
    if (!errors.empty() || !spec) return invalid(errors);
    store::CreatedKey created;
    if (auto refused = store_write(*st, [&] { created = st->create_key(*spec); })) return *refused;
    reload();
    auto stored = st->find_key(created.key.id);
    json::object out = key_json(created.key, stored ? stored->created_at : std::nullopt, std::nullopt, nullptr);
    out["secret"] = created.secret;
    return json_reply(201, out);
  }

  const std::string& id = s[1];
  if (s.size() == 3) {
    if (!call.is("POST")) return method_not_allowed("POST");
    if (s[2] == "revoke") {
      if (!st->writable()) return *store_write(*st, [] {});
      auto before = find_key(id);
      if (!before) return not_found("No key with id or name \"" + id + "\".");
      if (outside(before->key)) return refuse_outside();
      if (!before->revoked_at) {
        if (auto refused = store_write(*st, [&] { st->revoke_key(before->key.id); })) return *refused;
        reload();
      }
      auto after = find_key(before->key.id);
      return json_reply(200, render({after ? *after : *before}).at(0));
    }
    if (s[2] == "rotate") {
      if (!st->writable()) return *store_write(*st, [] {});
      auto before = find_key(id);
      if (!before) return not_found("No key with id or name \"" + id + "\".");
      if (outside(before->key)) return refuse_outside();
      if (before->revoked_at) return conflict("Key " + before->key.id + " is revoked; create a new key instead.");
      std::optional<store::CreatedKey> rotated;
      if (auto refused = store_write(*st, [&] { rotated = st->rotate_key(before->key.id); })) return *refused;
      if (!rotated) return not_found("No key with id or name \"" + id + "\".");
      reload();
      json::object out = render({{rotated->key, before->created_at, std::nullopt}}).at(0).as_object();
      out["secret"] = rotated->secret;
      return json_reply(200, out);
    }
    return not_found("Unknown Admin API route " + call.path + ".");
  }

  if (call.is("GET")) {
    auto k = find_key(id);
    if (!k) return not_found("No key with id or name \"" + id + "\".");
    if (outside(k->key)) return refuse_outside();
    return json_reply(200, render({*k}).at(0));
  }
  if (call.is("DELETE")) {
    return method_not_allowed("GET, PATCH (revoke with POST /admin/v1/keys/{id}/revoke)");
  }
  if (!call.is("PATCH")) return method_not_allowed("GET, PATCH");
  if (!st->writable()) return *store_write(*st, [] {});
  auto before = find_key(id);
  if (!before) return not_found("No key with id or name \"" + id + "\".");
  if (outside(before->key)) return refuse_outside();
  std::optional<AdminReply> error;
  auto patch = body_object(call.request.body, error);
  if (!patch) return *error;
  if (const json::value* t = patch->if_contains("team"); only_team && t && !(t->is_string() && t->as_string() == *only_team))
    return refuse_outside();
  // The key as it is, as a document; the patch replaces the fields it names (null removes).
  json::object doc = json::parse(store::key_settings_document(before->key)).as_object();
  doc["name"] = before->key.name;
  json::array models;
  for (const auto& m : before->key.rules().models) models.emplace_back(m);
  doc["models"] = std::move(models);
  if (before->key.expires_at) doc["expires_at"] = *before->key.expires_at;
  static const std::set<std::string> kPatchable{"models",     "expires_at", "limits", "budget", "model_limits",
                                                "guardrails", "team",       "cache",  "mcp"};
  std::vector<FieldError> refused_fields;
  for (const auto& [field, value] : *patch) {
    std::string f(field);
    if (f == "name" && value.is_string() && value.as_string() == before->key.name) continue;
    if (!kPatchable.contains(f)) {
      refused_fields.push_back({f, f == "name" ? "cannot change (create a new key instead)"
                                               : "cannot be changed (patchable: models, expires_at, limits, budget, model_limits, guardrails, team, cache, mcp)"});
      continue;
    }
    if (value.is_null()) doc.erase(f);
    else doc[f] = value;
  }
  if (!refused_fields.empty()) return invalid(std::move(refused_fields));
  std::vector<core::ConfigError> errors;
  auto spec = read_key_settings(doc, errors);
  if (!errors.empty() || !spec) return invalid(errors);
  spec->id = before->key.id;
  bool updated = false;
  if (auto refused = store_write(*st, [&] { updated = st->update_key(*spec); })) return *refused;
  if (!updated) return not_found("No key with id or name \"" + id + "\".");
  reload();
  auto after = find_key(before->key.id);
  return json_reply(200, render({after ? *after : *before}).at(0));
}

// --- usage and request log -------------------------------------------------------------------

namespace {

// A team-admin's queries are narrowed to its team; asking for another is an error, not an
// empty answer.
std::optional<std::string> team_scope(const AdminApi::Caller& caller, const std::string& asked,
                                      std::vector<FieldError>& bad) {
  if (caller.role != "team-admin") return std::nullopt;
  if (!asked.empty() && asked != caller.team)
    bad.push_back({"team", "this admin key may only read team \"" + caller.team + "\""});
  return caller.team;
}

AdminReply usage_disabled() {
  return error_reply(503, "api_error", "usage_disabled",
                     "Usage records are off (usage.backend: off); turn them on to query usage.");
}

// The key filter takes an id or a name.
std::string key_id_of(const std::string& key, const core::Snapshot* snapshot) {
  if (snapshot)
    for (const auto& k : snapshot->resources().keys)
      if (k.name == key) return k.id;
  return key;
}

}  // namespace

AdminReply AdminApi::usage(Call& call) {
  if (!state_.usage_store) return usage_disabled();
  auto& qp = call.query;
  std::vector<FieldError> bad;
  obs::UsageQuery q;
  int64_t now = now_ms();
  q.from_ms = now - 24 * 3600 * 1000;
  q.to_ms = now + 1;
  if (qp.contains("from")) {
    if (auto v = parse_time_ms(qp["from"])) q.from_ms = *v;
    else bad.push_back({"from", "must be unix milliseconds, RFC 3339 (2026-03-01T12:00:00Z) or relative (-24h)"});
  }
  if (qp.contains("to")) {
    if (auto v = parse_time_ms(qp["to"])) q.to_ms = *v;
    else bad.push_back({"to", "must be unix milliseconds, RFC 3339 (2026-03-01T12:00:00Z) or relative (-1h)"});
  }
  if (q.to_ms < q.from_ms) bad.push_back({"to", "is before from"});
  if (qp.contains("bucket") && !qp["bucket"].empty()) {
    auto b = parse_duration_seconds(qp["bucket"]);
    if (!b) bad.push_back({"bucket", "must be seconds or a duration like 60, 5m, 1h, 1d (0: one bucket)"});
    else q.bucket_seconds = *b;
    if (b && *b > 0 && (q.to_ms - q.from_ms) / (*b * 1000) > 10000)
      bad.push_back({"bucket", "makes more than 10000 buckets for this range; use a larger bucket"});
  }
  if (auto g = obs::usage_group_from_string(qp["group_by"])) q.group_by = *g;
  else bad.push_back({"group_by", "must be one of none, key, model, provider, team"});
  auto snapshot = state_.snapshots.shared();
  if (!qp["key"].empty()) q.key_id = key_id_of(qp["key"], snapshot.get());
  if (!qp["model"].empty()) q.model = qp["model"];
  if (!qp["provider"].empty()) q.provider = qp["provider"];
  if (!qp["team"].empty()) q.team = qp["team"];
  if (auto only = team_scope(call.caller, qp["team"], bad)) q.team = *only;
  if (!bad.empty()) return invalid(std::move(bad));

  json::array data;
  for (const auto& b : state_.usage_store->aggregate(q)) data.push_back(obs::to_json(b));
  obs::UsageQuery all = q;
  all.bucket_seconds = 0;
  all.group_by = obs::UsageGroup::none;
  json::value totals = nullptr;
  if (auto t = state_.usage_store->aggregate(all); !t.empty()) totals = obs::to_json(t.front());
  return json_reply(200, json::object{{"from", q.from_ms},
                                      {"to", q.to_ms},
                                      {"bucket_seconds", q.bucket_seconds},
                                      {"group_by", qp["group_by"].empty() ? "none" : qp["group_by"]},
                                      {"data", std::move(data)},
                                      {"totals", std::move(totals)}});
}

AdminReply AdminApi::requests(Call& call) {
  if (!state_.usage_store) return usage_disabled();
  if (call.segments.size() == 2) {
    auto r = state_.usage_store->request(call.segments[1]);
    if (r && call.caller.role == "team-admin" && r->team != call.caller.team) r.reset();
    if (!r) return not_found("No request with id \"" + call.segments[1] + "\" in the request log.");
    return json_reply(200, obs::to_json(*r));
  }
  auto& qp = call.query;
  std::vector<FieldError> bad;
  obs::RequestLogQuery q;
  if (qp.contains("from")) {
    if (auto v = parse_time_ms(qp["from"])) q.from_ms = *v;
    else bad.push_back({"from", "must be unix milliseconds, RFC 3339 or relative (-1h)"});
  }
  if (qp.contains("to")) {
    if (auto v = parse_time_ms(qp["to"])) q.to_ms = *v;
    else bad.push_back({"to", "must be unix milliseconds, RFC 3339 or relative (-1h)"});
  }
  auto snapshot = state_.snapshots.shared();
  if (!qp["key"].empty()) q.key_id = key_id_of(qp["key"], snapshot.get());
  if (!qp["model"].empty()) q.model = qp["model"];
  if (!qp["provider"].empty()) q.provider = qp["provider"];
  if (!qp["team"].empty()) q.team = qp["team"];
  if (auto only = team_scope(call.caller, qp["team"], bad)) q.team = *only;
  if (const std::string& st = qp["status"]; !st.empty()) {
    if (st == "error" || st == "errors") q.errors_only = true;
    else if (auto v = parse_int(st); v && *v >= 100 && *v <= 599) q.status = static_cast<int>(*v);
    else bad.push_back({"status", "must be an HTTP status (e.g. 429) or \"error\" (every status >= 400)"});
  }
  if (const std::string& l = qp["limit"]; !l.empty()) {
    auto v = parse_int(l);
    if (!v || *v < 1 || *v > 1000) bad.push_back({"limit", "must be between 1 and 1000"});
    else q.limit = static_cast<int>(*v);
  }
  if (const std::string& o = qp["offset"]; !o.empty()) {
    auto v = parse_int(o);
    if (!v || *v < 0 || *v > 100'000'000) bad.push_back({"offset", "must be a whole number >= 0"});
    else q.offset = static_cast<int>(*v);
  }
  if (!bad.empty()) return invalid(std::move(bad));
  int limit = q.limit;
  q.limit = std::min(limit + 1, 1000);  // one more tells whether there is a next page
  auto rows = state_.usage_store->requests(q);
  bool has_more = static_cast<int>(rows.size()) > limit;
  if (has_more) rows.resize(static_cast<std::size_t>(limit));
  json::array data;
  for (const auto& r : rows) data.push_back(obs::to_json(r));
  return json_reply(200, json::object{{"data", std::move(data)},
                                      {"limit", limit},
                                      {"offset", q.offset},
                                      {"has_more", has_more}});
}

// --- the snapshot ----------------------------------------------------------------------------

AdminReply AdminApi::config(Call& call) {
  auto snapshot = state_.snapshots.shared();
  std::string why_not;
  store::ResourceStore* st = resource_store(why_not);
  Builtins builtin = builtins_of(state_.config);
  json::array providers, models;
  std::size_t keys = 0;
  // A team-admin sees what its team may call, not the providers behind it.
  const bool team_admin = call.caller.role == "team-admin";
  if (snapshot) {
    for (const auto& p : snapshot->resources().providers) {
      if (team_admin) break;
      bool b = builtin.providers.contains(p.name) && !(st && st->stored_provider_document(p.name));
      providers.push_back(provider_json(p, b));
    }
    for (const auto& m : snapshot->resources().models) {
      bool b = builtin.models.contains(m.name) && !(st && st->stored_model_document(m.name));
      models.push_back(model_json(m, b));
    }
    keys = snapshot->resources().keys.size();
  }
  json::object store{{"kind", state_.config.store.kind},
                     {"path", state_.config.store.path},
                     {"writable", st ? st->writable() : false}};
  if (!st) store["error"] = why_not;
  return json_reply(200, json::object{{"version", snapshot ? snapshot->version() : 0},
                                      {"gateway_version", TOLLGATE_VERSION},
                                      {"started_at", state_.started_unix},
                                      {"store", std::move(store)},
                                      {"usage_enabled", state_.usage_store != nullptr},
                                      {"listen", json::object{{"proxy", state_.config.proxy_listen},
                                                              {"admin", state_.config.admin_listen}}},
                                      {"providers", std::move(providers)},
                                      {"models", std::move(models)},
                                      {"key_count", keys},
                                      // Who asks: the UI offers writes to admins only.
                                      {"caller", json::object{{"actor", call.caller.actor},
                                                              {"role", call.caller.role},
                                                              {"team", team_admin ? json::value(call.caller.team)
                                                                                  : json::value(nullptr)}}}});
}

}  // namespace tollgate::admin
