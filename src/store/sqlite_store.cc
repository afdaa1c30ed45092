#include "store/sqlite_store.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <functional>
#include <optional>

#include <spdlog/spdlog.h>

#include "cache/policy_config.h"
#include "core/env_interpolate.h"
#include "mcp/config.h"
#include "core/schema.h"
#include "store/resources_file.h"

namespace tollgate::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS providers (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS models (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS guardrails (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS mcp_servers (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY,
  name TEXT UNIQUE NOT NULL,
  hash TEXT UNIQUE NOT NULL,
  prefix TEXT,
  models TEXT,
  expires_at INTEGER,
  created_at INTEGER,
  revoked_at INTEGER,
  settings TEXT,
  version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS documents (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  doc TEXT NOT NULL,
  updated_at INTEGER,
  version INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (kind, name)
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  status INTEGER,
  kind TEXT,
  name TEXT,
  before TEXT,
  after TEXT
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

// PRAGMA user_version of the store. 0: a store from before versions (keys may lack settings);
// 1: keys.settings, the documents and audit tables, and the meta table (the secret key check
// value); 2: a version column on every resource row (If-Match). Bump it with a migration
// step in migrate().
constexpr int64_t kSchemaVersion = 2;
constexpr std::string_view kKeyCheck = "tollgate secret key check";
constexpr const char* kVersionedTables[] = {"providers", "models", "guardrails", "mcp_servers", "keys", "documents"};

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

// True when `table` has the column (a fresh store's tables were made with it; an older
// store's may lack it). Asked rather than tried: a failing ALTER throws, and a throw pages in
// the unwinder and its tables (~0.4 MB of an idle gateway's RSS, issue 18).
bool has_column(SqlDb& db, const std::string& table, const std::string& column) {
  Statement q(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
  return q.bind(1, table).bind(2, column).step();
}

// Every committed write of a resource row, by any connection or process (another gateway on
// the file, `tollgate keys`, the sqlite3 shell), moves meta's generation: the reload poller
// compares it (SqliteDb::generation) instead of reading data_version on a connection it would
// have to keep open. Usage records and the audit log, written to the same file, leave it.
// Made at every open (IF NOT EXISTS), not by a schema version: older binaries still open the
// store, and their writes move the generation too.
std::string generation_triggers() {
  std::string sql;
  for (const char* table : kVersionedTables)
    for (const char* event : {"INSERT", "UPDATE", "DELETE"})
      sql += std::string("CREATE TRIGGER IF NOT EXISTS ") + table + "_generation_" + event + " AFTER " + event +
             " ON " + table +
             " BEGIN INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT (key) DO UPDATE SET "
             "value = CAST(value AS INTEGER) + 1; END;\n";
  return sql;
}

// Brings the store to kSchemaVersion, inside the caller's write transaction (so two processes
// opening an old store migrate it once). A newer store is refused: this binary cannot know
// what the newer one changed.
void migrate(SqlDb& db) {
  Statement v(db, "PRAGMA user_version");
  const int64_t version = v.step() ? v.integer(0) : 0;
  if (version > kSchemaVersion) {
    throw std::runtime_error("the store " + db.describe() + " has schema version " +
                             std::to_string(version) + ", newer than this tollgate knows (" +
                             std::to_string(kSchemaVersion) +
                             "): a newer tollgate wrote it; run that version (or newer) against it");
  }
  if (version == kSchemaVersion) return;
  db.exec(kSchema);
  // Version 0 stores created before keys had settings get the column; version 1 stores the
  // resource versions.
  if (!has_column(db, "keys", "settings")) db.exec("ALTER TABLE keys ADD COLUMN settings TEXT");
  for (const char* table : kVersionedTables)
    if (!has_column(db, table, "version"))
      db.exec(std::string("ALTER TABLE ") + table + " ADD COLUMN version INTEGER NOT NULL DEFAULT 1");
  db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
  if (version > 0 || Statement(db, "SELECT 1 FROM providers UNION ALL SELECT 1 FROM keys").step())
    spdlog::info("migrated the store {} from schema version {} to {}", db.describe(), version, kSchemaVersion);
}

// The key check value: a constant sealed with the store's key when it is first needed.
// Replicas sharing a store must share TOLLGATE_SECRET_KEY; one with another key is refused
// here, before it could send credentials it cannot open. Stores sealed before the check value
// existed are checked against one of their sealed credentials first.
void check_secret_key(SqlDb& db, const SecretBox& box) {
  auto mismatch = [&] {
    return std::runtime_error(
        "the store " + db.describe() +
        " was sealed with another secret key: start every replica with the same "
        "TOLLGATE_SECRET_KEY (or the same secret.key file) as the one that sealed it");
  };
  auto stored = [&]() -> std::optional<std::string> {
    Statement q(db, "SELECT value FROM meta WHERE key = 'secret_check'");
    if (q.step()) return q.text(0);
    return std::nullopt;
  };
  if (auto kcv = stored()) {
    if (box.open(*kcv) != std::string(kKeyCheck)) throw mismatch();
    return;
  }
  Statement sealed(db, "SELECT doc FROM providers WHERE doc LIKE '%enc:v1:%' LIMIT 1");
  if (sealed.step()) {
    std::string doc = sealed.text(0);
    auto at = doc.find(SecretBox::kPrefix);
    auto end = doc.find('"', at);
    if (!box.open(doc.substr(at, end == std::string::npos ? end : end - at))) throw mismatch();
  }
  Statement(db, "INSERT INTO meta (key, value) VALUES ('secret_check', ?1) ON CONFLICT DO NOTHING")
      .bind(1, box.seal(kKeyCheck))
      .step();
  // Another process may have written its own first.
  if (auto kcv = stored(); !kcv || box.open(*kcv) != std::string(kKeyCheck)) throw mismatch();
}

// A credential value that is written out, not a ${ENV} reference and not sealed yet.
bool is_literal_secret(std::string_view v) {
  return !v.empty() && v.find("${") == std::string_view::npos && !SecretBox::is_sealed(v);
}

// Where a finding is: "sqlite:providers/NAME" (or "postgres:...").
std::string row_source(std::string_view table, std::string_view name, std::string_view engine = "sqlite") {
  return std::string(engine) + ":" + std::string(table) + "/" + std::string(name);
}

void throw_if_invalid(std::vector<core::ConfigError> errors) {
  if (!errors.empty()) throw InvalidResource(std::move(errors));
}

// A resource written through the API must be able to load: its `${ENV}` references resolve
// here and now, and its values pass the same validation as a loaded document.
core::Provider resolved_for_validation(const core::Provider& p, std::vector<core::ConfigError>& errors) {
  core::Provider out = p;
  std::string source = "provider " + p.name;
  auto resolve = [&](std::string& value, const std::string& field) {
    core::Interpolated v = core::interpolate_env(value);
    if (v.ok()) {
      value = std::move(v.value);
    } else {
      errors.push_back({source, 0, 0, field, v.error});
    }
  };
  resolve(out.base_url, "base_url");
  resolve(out.api_key, "api_key");
  resolve(out.api_version, "api_version");
  for (auto& [name, value] : out.headers) resolve(value, "headers." + name);
  return out;
}

// Keeps the findings about `section` only, renamed to `source` and relative fields: the
// placeholders a single resource is validated against have nothing to report.
std::vector<core::ConfigError> findings_about(std::vector<core::ConfigError> all,
                                              std::string_view section, const std::string& source) {
  std::vector<core::ConfigError> out;
  std::string prefix = std::string(section) + "[0]";
  for (core::ConfigError& e : all) {
    if (!e.field.starts_with(prefix)) continue;
    e.field.erase(0, prefix.size());
    if (e.field.starts_with(".")) e.field.erase(0, 1);
    e.source = source;
    out.push_back(std::move(e));
  }
  return out;
}

// Stands for a stored provider when validating one new resource against what is stored: only
// its name matters, and kind demo needs nothing else to be valid.
core::Provider stand_in_provider(std::string name) {
  core::Provider p;
  p.name = std::move(name);
  p.kind = core::ProviderKind::demo;
  return p;
}

boost::json::object limits_object(const core::Limits& l) {
  boost::json::object o;
  if (l.rpm) o["rpm"] = *l.rpm;
  if (l.rpd) o["rpd"] = *l.rpd;
  if (l.tpm) o["tpm"] = *l.tpm;
  if (l.tpd) o["tpd"] = *l.tpd;
  if (l.concurrency) o["concurrency"] = *l.concurrency;
  return o;
}

boost::json::object budget_object(const core::Budget& b) {
  boost::json::object o;
  if (b.usd_per_day) o["usd_per_day"] = *b.usd_per_day;
  if (b.usd_per_month) o["usd_per_month"] = *b.usd_per_month;
  if (b.usd_total) o["usd_total"] = *b.usd_total;
  if (b.warn_only) o["mode"] = "warn";
  return o;
}

// A key row as the document a resources file would hold, with the hash given, read by the same
// parse_key(); nullopt (with errors appended) when the row does not read.
std::optional<core::Key> key_from_row(const std::string& id, const std::string& name,
                                      const std::string& hash, const std::string& prefix,
                                      const std::optional<std::string>& models,
                                      std::optional<int64_t> expires_at,
                                      const std::optional<std::string>& settings,
                                      std::vector<core::ConfigError>& errors,
                                      std::string_view engine = "sqlite") {
  std::string source = row_source("keys", name, engine);
  boost::json::object doc;
  doc["name"] = name;
  doc["key_hash"] = hash;
  if (models) {
    boost::system::error_code ec;
    boost::json::value allowed = boost::json::parse(*models, ec);
    if (ec) {
      errors.push_back({source, 0, 0, "models", "is not a JSON array: " + ec.message()});
      return std::nullopt;
    }
    doc["models"] = std::move(allowed);
  }
  if (expires_at) doc["expires_at"] = *expires_at;
  // settings: the key's limits, budget and model_limits, as the resources document has them.
  if (settings) {
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(*settings, ec);
    if (ec || !parsed.is_object()) {
      errors.push_back({source, 0, 0, "settings", "is not a JSON object"});
      return std::nullopt;
    }
    for (auto& [k, v] : parsed.as_object()) doc[k] = v;
  }
  auto k = core::parse_key(boost::json::serialize(doc), source, errors);
  if (k) {
    k->id = id;
    k->prefix = prefix;
  }
  return k;
}

constexpr const char* kKeyColumns =
    "id, name, hash, prefix, models, expires_at, settings, created_at, revoked_at";

std::optional<std::string> text_or_null(const Statement& q, int col) {
  if (q.is_null(col)) return std::nullopt;
  return q.text(col);
}
std::optional<int64_t> integer_or_null(const Statement& q, int col) {
  if (q.is_null(col)) return std::nullopt;
  return q.integer(col);
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string join_errors(const std::vector<core::ConfigError>& errors) {
  std::string out;
  for (const core::ConfigError& e : errors) out += (out.empty() ? "" : "; ") + e.to_string();
  return out;
}

}  // namespace

InvalidResource::InvalidResource(std::vector<core::ConfigError> errs)
    : std::runtime_error(join_errors(errs)), errors(std::move(errs)) {}

std::string provider_document(const core::Provider& p) {
  boost::json::object doc;
  doc["name"] = p.name;
  doc["kind"] = std::string(core::to_string(p.kind));
  if (!p.base_url.empty()) doc["base_url"] = p.base_url;
  // Written as given: a "${ENV}" reference, or a credential SqlStore::put_provider() has
  // already sealed ("enc:v1:...").
  if (!p.api_key.empty()) doc["api_key"] = p.api_key;
  if (!p.api_version.empty()) doc["api_version"] = p.api_version;
  if (!p.headers.empty()) {
    boost::json::object headers;
    for (const auto& [name, value] : p.headers) headers[name] = value;
    doc["headers"] = std::move(headers);
  }
  const core::Timeouts defaults;
  boost::json::object timeouts;
  if (p.timeouts.connect != defaults.connect) timeouts["connect_ms"] = p.timeouts.connect.count();
  if (p.timeouts.read != defaults.read) timeouts["read_ms"] = p.timeouts.read.count();
  if (p.timeouts.idle != defaults.idle) timeouts["idle_ms"] = p.timeouts.idle.count();
  if (!timeouts.empty()) doc["timeouts"] = std::move(timeouts);
  if (!p.verify_tls) doc["verify_tls"] = false;
  return boost::json::serialize(doc);
}

std::string model_document(const core::Model& m) {
  boost::json::object doc;
  doc["name"] = m.name;
  doc["strategy"] = m.strategy;
  if (!m.guardrails.empty()) {
    boost::json::array g;
    for (const auto& name : m.guardrails) g.push_back(boost::json::value(name));
    doc["guardrails"] = std::move(g);
  }
  boost::json::array targets;
  for (const core::Target& t : m.targets) {
    targets.push_back(boost::json::object{{"provider", t.provider},
                                          {"model", t.model},
                                          {"weight", t.weight},
                                          {"priority", t.priority}});
  }
  doc["targets"] = std::move(targets);
  if (!m.fallbacks.empty()) {
    boost::json::array fb;
    for (const auto& f : m.fallbacks) fb.push_back(boost::json::value(f));
    doc["fallbacks"] = std::move(fb);
  }
  boost::json::array on;
  for (const auto& c : m.retry.on) on.push_back(boost::json::value(c));
  doc["retry"] = boost::json::object{{"max_attempts", m.retry.max_attempts},
                                     {"backoff_ms", m.retry.backoff.count()},
                                     {"max_backoff_ms", m.retry.max_backoff.count()},
                                     {"on", std::move(on)}};
  doc["circuit"] = boost::json::object{{"failures", m.circuit.failures},
                                       {"cooldown_ms", m.circuit.cooldown.count()}};
  if (m.health_check.interval.count() > 0)
    doc["health_check"] = boost::json::object{{"interval_ms", m.health_check.interval.count()},
                                              {"timeout_ms", m.health_check.timeout.count()},
                                              {"probe", m.health_check.probe},
                                              {"failures", m.health_check.failures},
                                              {"successes", m.health_check.successes}};
  if (m.when_all_unavailable != "send") doc["when_all_unavailable"] = m.when_all_unavailable;
  if (m.timeout.count() > 0) doc["timeout_ms"] = m.timeout.count();
  if (!m.affinity.by.empty()) {
    boost::json::object a{{"by", m.affinity.by}};
    if (!m.affinity.header.empty()) a["header"] = m.affinity.header;
    doc["affinity"] = std::move(a);
  }
  auto pricing = [](const core::Pricing& p) {
    boost::json::object o;
    if (p.input) o["input"] = *p.input;
    if (p.output) o["output"] = *p.output;
    if (p.cached_input) o["cached_input"] = *p.cached_input;
    if (p.cache_creation) o["cache_creation"] = *p.cache_creation;
    if (p.reasoning) o["reasoning"] = *p.reasoning;
    return o;
  };
  if (!m.pricing.empty()) doc["pricing"] = pricing(m.pricing);
  for (std::size_t i = 0; i < m.targets.size(); ++i)
    if (!m.targets[i].pricing.empty())
      doc["targets"].as_array()[i].as_object()["pricing"] = pricing(m.targets[i].pricing);
  if (!m.limits.empty()) doc["limits"] = limits_object(m.limits);
  if (m.strict_params) doc["strict_params"] = true;
  if (m.max_output_tokens > 0) doc["max_output_tokens"] = m.max_output_tokens;
  if (m.context_window > 0) doc["context_window"] = m.context_window;
  if (!m.cache.empty()) doc["cache"] = m.cache;
  if (m.prompt_caching != "off") doc["prompt_caching"] = m.prompt_caching;
  return boost::json::serialize(doc);
}

std::string key_settings_document(const core::Key& key) {
  const core::KeyRules& k = key.rules();
  boost::json::object doc;
  if (!k.limits.empty()) doc["limits"] = limits_object(k.limits);
  if (!k.budget.empty() || k.budget.warn_only) doc["budget"] = budget_object(k.budget);
  if (!k.model_limits.empty()) {
    boost::json::object per_model;
    for (const auto& [alias, limits] : k.model_limits) per_model[alias] = limits_object(limits);
    doc["model_limits"] = std::move(per_model);
  }
  if (!k.guardrails.empty()) {
    boost::json::array g;
    for (const auto& name : k.guardrails) g.push_back(boost::json::value(name));
    doc["guardrails"] = std::move(g);
  }
  if (k.mcp) doc["mcp"] = mcp::grant_object(*k.mcp);
  if (!k.team.empty()) doc["team"] = k.team;
  if (!k.cache.empty()) doc["cache"] = k.cache;
  return boost::json::serialize(doc);
}

SqlStore::SqlStore(std::unique_ptr<SqlDb> db) : db_(std::move(db)) {}
SqlStore::~SqlStore() = default;

SqliteStore::SqliteStore(std::string path) : SqlStore(open_sqlite_db(path)) {
  Transaction tx(*db_, Transaction::write);
  migrate(*db_);
  db_->exec(generation_triggers());
  tx.commit();
  check_secret_key_at_open();
  seal_plaintext_credentials();
}

void SqlStore::check_secret_key_at_open() {
  if (Statement(*db_, "SELECT 1 FROM meta WHERE key = 'secret_check' UNION ALL "
                      "SELECT 1 FROM providers WHERE doc LIKE '%enc:v1:%'").step())
    secrets();
}

// Stores written before credentials were sealed (api_key) or before header values were hold
// them in plain text. Seal them now, with the old bytes zeroed (secure_delete) and the WAL
// checkpointed into the file, so the plain text leaves the disk at once, not at the next write.
// A store whose key cannot be made (a read-only directory) keeps serving as it did.
void SqlStore::seal_plaintext_credentials() {
  try {
    db_->exec("PRAGMA secure_delete=ON");
    Transaction tx(*db_, Transaction::write);
    std::vector<std::pair<std::string, std::string>> resealed;
    {
      Statement providers(*db_, "SELECT name, doc FROM providers");
      while (providers.step()) {
        boost::system::error_code ec;
        auto v = boost::json::parse(providers.text(1), ec);
        if (ec || !v.is_object()) continue;  // load() reports it
        bool changed = false;
        auto seal = [&](boost::json::value& field) {
          if (!field.is_string() || !is_literal_secret(field.get_string())) return;
          field = secrets().seal(field.get_string());
          changed = true;
        };
        auto& o = v.as_object();
        if (auto* k = o.if_contains("api_key")) seal(*k);
        if (auto* h = o.if_contains("headers"); h && h->is_object())
          for (auto& [name, value] : h->as_object()) seal(value);
        if (changed) resealed.emplace_back(providers.text(0), boost::json::serialize(v));
      }
    }
    for (const auto& [name, doc] : resealed)
      Statement(*db_, "UPDATE providers SET doc = ?1 WHERE name = ?2").bind(1, doc).bind(2, name).step();
    tx.commit();
    if (!resealed.empty()) {
      try {
        db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
      } catch (const std::runtime_error&) {
        // Busy: the next checkpoint moves it.
      }
      spdlog::info("sealed the plain-text credentials of {} provider(s) in {}", resealed.size(), describe());
    }
  } catch (const std::exception& e) {
    spdlog::warn("cannot seal the plain-text credentials in {}: {}", describe(), e.what());
  }
}

std::vector<std::string> SqlStore::names_in(const char* table) {
  Statement q(*db_, std::string("SELECT name FROM ") + table);
  std::vector<std::string> names;
  while (q.step()) names.push_back(q.text(0));
  return names;
}

core::ParseResult SqlStore::load() {
  std::lock_guard lock(mutex_);
  int64_t version = 0;
  core::ParseResult result = read_all(version);
  loaded_version_ = version;
  loaded_once_ = true;
  wrote_since_load_ = false;
  // Read until the next change: SQLite (the library too) is not kept for it (issue 18).
  db_->close_idle();
  return result;
}

void SqlStore::close_idle() {
  std::lock_guard lock(mutex_);
  db_->close_idle();
}

core::ParseResult SqlStore::read_all(int64_t& version) {
  std::lock_guard lock(mutex_);
  core::ParseResult result;
  core::Resources& r = result.resources;
  std::vector<core::ConfigError>& errors = result.errors;
  // The row each loaded resource came from, so validation findings name the row.
  std::vector<std::string> provider_rows, model_rows, key_rows, team_rows;

  Transaction tx(*db_, Transaction::read);  // one consistent read of all the tables
  version = db_->generation();
  const std::string engine = describe().substr(0, describe().find(':'));

  // The row's name is what the rest refers to; a document that disagrees is wrong.
  auto check_name = [&](std::string& doc_name, const std::string& row, const char* table) {
    if (doc_name == row) return;
    errors.push_back({row_source(table, row, engine), 0, 0, "name",
                      "is \"" + doc_name + "\" but the row is named \"" + row + "\""});
    doc_name = row;
  };

  Statement providers(*db_, "SELECT name, doc FROM providers ORDER BY name");
  while (providers.step()) {
    std::string row = providers.text(0);
    // Kept even with errors in it (see parse_provider), so models using it are not blamed.
    std::string doc = providers.text(1);
    if (doc.find(SecretBox::kPrefix) != std::string::npos) {
      // Unseal the credentials (api_key, header values) before parsing, so validation sees
      // what the gateway will send.
      boost::system::error_code ec;
      auto v = boost::json::parse(doc, ec);
      if (!ec && v.is_object()) {
        bool opened_all = true;
        auto unseal = [&](boost::json::value& field, const std::string& name) {
          if (!field.is_string() || !SecretBox::is_sealed(field.get_string())) return;
          auto opened = secrets().open(field.get_string());
          if (!opened) {
            errors.push_back({row_source("providers", row, engine), 0, 0, name,
                              "cannot be decrypted with this store's key (TOLLGATE_SECRET_KEY or secret.key changed?)"});
            opened_all = false;
            return;
          }
          // A secret holding "${" must not be read as an ${ENV} reference: "$${" is the escape.
          field = core::escape_references(*opened);
        };
        auto& o = v.as_object();
        if (auto* k = o.if_contains("api_key")) unseal(*k, "api_key");
        if (auto* h = o.if_contains("headers"); h && h->is_object())
          for (auto& [name, value] : h->as_object()) unseal(value, "headers." + std::string(name));
        if (!opened_all) continue;
        doc = boost::json::serialize(v);
      }
    }
    if (auto p = core::parse_provider(doc, row_source("providers", row, engine), errors)) {
      check_name(p->name, row, "providers");
      r.providers.push_back(std::move(*p));
      provider_rows.push_back(row);
    }
  }

  Statement mcp_servers(*db_, "SELECT name, doc FROM mcp_servers ORDER BY name");
  while (mcp_servers.step()) {
    std::string row = mcp_servers.text(0);
    std::string doc = mcp_servers.text(1);
    // Credentials were sealed like a provider's: header values, the bearer, the client secret.
    boost::system::error_code ec;
    auto v = boost::json::parse(doc, ec);
    bool opened_all = true;
    if (!ec && v.is_object() && doc.find(SecretBox::kPrefix) != std::string::npos) {
      auto unseal = [&](boost::json::value& field, const std::string& name) {
        if (!field.is_string() || !SecretBox::is_sealed(field.get_string())) return;
        auto opened = secrets().open(field.get_string());
        if (!opened) {
          errors.push_back({row_source("mcp_servers", row, engine), 0, 0, name,
                            "cannot be decrypted with this store's key (TOLLGATE_SECRET_KEY or secret.key changed?)"});
          opened_all = false;
          return;
        }
        field = *opened;
      };
      auto& o = v.as_object();
      if (auto* h = o.if_contains("headers"); h && h->is_object())
        for (auto& [name, value] : h->as_object()) unseal(value, "headers." + std::string(name));
      if (auto* a = o.if_contains("auth"); a && a->is_object()) {
        if (auto* b = a->as_object().if_contains("bearer")) unseal(*b, "auth.bearer");
        if (auto* oa = a->as_object().if_contains("oauth2"); oa && oa->is_object())
          if (auto* cs = oa->as_object().if_contains("client_secret")) unseal(*cs, "auth.oauth2.client_secret");
      }
      doc = boost::json::serialize(v);
    }
    if (!opened_all) continue;
    if (auto m = mcp::parse_server(doc, row_source("mcp_servers", row, engine), errors)) r.mcp_servers.push_back(std::move(*m));
  }

  Statement guardrails(*db_, "SELECT name, doc FROM guardrails ORDER BY name");
  while (guardrails.step()) {
    if (auto g = core::parse_guardrail(guardrails.text(1), row_source("guardrails", guardrails.text(0), engine), errors))
      r.guardrails.push_back(std::move(*g));
  }

  // Kinds kept as documents that the snapshot serves (core/schema.h).
  Statement policies(*db_, "SELECT name, doc FROM documents WHERE kind = 'cache_policies' ORDER BY name");
  while (policies.step())
    if (auto p = cache::parse_cache_policy(policies.text(1), row_source("cache_policies", policies.text(0), engine), errors))
      r.cache_policies.push_back(std::move(*p));

  Statement models(*db_, "SELECT name, doc FROM models ORDER BY name");
  while (models.step()) {
    std::string row = models.text(0);
    if (auto m = core::parse_model(models.text(1), row_source("models", row, engine), errors)) {
      check_name(m->name, row, "models");
      r.models.push_back(std::move(*m));
      model_rows.push_back(row);
    }
  }

  // Teams are kept as documents (their kind has no table of its own), read by their schema.
  Statement teams(*db_, "SELECT name, doc FROM documents WHERE kind = 'teams' ORDER BY name");
  while (teams.step()) {
    std::string row = teams.text(0);
    if (auto t = core::parse_team(teams.text(1), row_source("teams", row, engine), errors)) {
      check_name(t->name, row, "teams");
      r.teams.push_back(std::move(*t));
      team_rows.push_back(row);
    }
  }

  Statement keys(*db_,
                 "SELECT id, name, hash, prefix, models, expires_at, settings FROM keys "
                 "WHERE revoked_at IS NULL ORDER BY name");
  while (keys.step()) {
    std::string name = keys.text(1);
    if (auto k = key_from_row(keys.text(0), name, keys.text(2), keys.text(3), text_or_null(keys, 4),
                              integer_or_null(keys, 5), text_or_null(keys, 6), errors, engine)) {
      r.keys.push_back(std::move(*k));
      key_rows.push_back(name);
    }
  }
  tx.commit();

  core::validate_resources(
      r, errors, [&](std::string_view section, std::size_t index, std::string_view field) {
        const std::vector<std::string>* rows = section == "providers" ? &provider_rows
                                               : section == "models"  ? &model_rows
                                               : section == "teams"   ? &team_rows
                                               : section == "keys"    ? &key_rows
                                                                      : nullptr;
        // The other sections are read in row order, named by their resource's name.
        auto name_in = [&](const auto& list) { return index < list.size() ? list[index].name : std::to_string(index); };
        std::string row = rows ? (index < rows->size() ? (*rows)[index] : std::to_string(index))
                          : section == "guardrails"     ? name_in(r.guardrails)
                          : section == "mcp_servers"    ? name_in(r.mcp_servers)
                          : section == "cache_policies" ? name_in(r.cache_policies)
                                                        : std::to_string(index);
        return core::ConfigLocation{row_source(section, row, engine), std::string(field), 0, 0};
      });
  return result;
}

bool SqlStore::changed() {
  std::lock_guard lock(mutex_);
  if (wrote_since_load_ || !loaded_once_) return true;
  // Our own writes set the flag; the generation moves with everyone's.
  bool changed = db_->changed_since(loaded_version_);
  if (!changed) db_->close_idle();  // opened to look (or by an Admin API read): closed until needed
  return changed;
}

const SecretBox& SqlStore::secrets() {
  if (!secrets_) {
    SecretBox box = db_->secret_box();
    check_secret_key(*db_, box);
    secrets_ = box;
  }
  return *secrets_;
}

// --- versions ----------------------------------------------------------------------------------

namespace {
thread_local std::optional<int64_t> expected_version;

// The table a kind's resources live in, and how one is found: ?1 its name (or a key's id),
// ?2 the kind (documents).
struct VersionedRow {
  const char* table;
  const char* where;
};
VersionedRow row_of(const std::string& kind) {
  for (const char* table : {"providers", "models", "guardrails", "mcp_servers"})
    if (kind == table) return {table, "name = ?1"};
  if (kind == "keys") return {"keys", "id = ?1 OR name = ?1"};
  return {"documents", "kind = ?2 AND name = ?1"};
}
}  // namespace

ExpectVersion::ExpectVersion(std::optional<int64_t> version) : previous_(expected_version) {
  expected_version = version;
}
ExpectVersion::~ExpectVersion() { expected_version = previous_; }
std::optional<int64_t> ExpectVersion::current() { return expected_version; }

std::optional<int64_t> SqlStore::version_of(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mutex_);
  VersionedRow row = row_of(kind);
  return stored_version(row.table, row.where, name, kind);
}

std::optional<int64_t> SqlStore::stored_version(const char* table, const char* where, const std::string& key,
                                                const std::string& kind) {
  Statement q(*db_, std::string("SELECT version FROM ") + table + " WHERE " + where);
  q.bind(1, key);
  if (std::string_view(table) == "documents") q.bind(2, kind);
  if (!q.step()) return std::nullopt;
  return q.integer(0);
}

void SqlStore::check_expected_version(const char* table, const char* where, const std::string& key,
                                      const std::string& kind) {
  if (!expected_version) return;
  std::optional<int64_t> current = stored_version(table, where, key, kind);
  if (current == expected_version) return;
  throw StaleWrite(current ? "\"" + key + "\" changed since version " + std::to_string(*expected_version) +
                                 ": it is at version " + std::to_string(*current) +
                                 "; read it again and apply your change to that"
                           : "\"" + key + "\" is no longer stored (If-Match: version " +
                                 std::to_string(*expected_version) + ")",
                   current);
}

void SqlStore::put_provider(const core::Provider& p) {
  std::vector<core::ConfigError> errors;
  core::Resources one;
  one.providers.push_back(resolved_for_validation(p, errors));
  std::vector<core::ConfigError> found;
  core::validate_resources(one, found, "");
  for (auto& e : findings_about(std::move(found), "providers", "provider " + p.name)) {
    errors.push_back(std::move(e));
  }
  throw_if_invalid(std::move(errors));

  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("providers", "name = ?1", p.name);
  Statement upsert(*db_,
                   "INSERT INTO providers (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, "
                   "updated_at = excluded.updated_at, version = providers.version + 1");
  // Literal credentials are sealed before they touch the disk (the WAL included): the api_key
  // and every header value, since which headers carry one is only a guess (x-api-key,
  // Ocp-Apim-Subscription-Key, Authorization: Bearer ..., a gateway's own token header). A
  // ${ENV} reference is not a secret and is kept as written.
  core::Provider sealed = p;
  auto seal = [&](std::string& value) {
    if (is_literal_secret(value)) value = secrets().seal(value);
  };
  seal(sealed.api_key);
  for (auto& [name, value] : sealed.headers) seal(value);
  upsert.bind(1, p.name).bind(2, provider_document(sealed)).bind(3, now_seconds()).step();
  tx.commit();
  wrote_since_load_ = true;
}

void SqlStore::put_model(const core::Model& m) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);  // what it refers to cannot go before it commits
  check_expected_version("models", "name = ?1", m.name);
  // Validated against what is stored now, so a model never points at nothing.
  core::Resources context = stored_names(m.name);
  context.models.insert(context.models.begin(), m);  // models[0]: the one findings are about
  std::vector<core::ConfigError> found;
  core::validate_resources(context, found, "");
  throw_if_invalid(findings_about(std::move(found), "models", "model " + m.name));

  Statement upsert(*db_,
                   "INSERT INTO models (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, "
                   "updated_at = excluded.updated_at, version = models.version + 1");
  upsert.bind(1, m.name).bind(2, model_document(m)).bind(3, now_seconds()).step();
  tx.commit();
  wrote_since_load_ = true;
}

CreatedKey SqlStore::create_key(const std::string& name, const std::vector<std::string>& models) {
  core::Key spec;
  spec.name = name;
  spec.edit_rules().models = models;
  return create_key(spec);
}

// Stand-ins for what is stored now (names only), to check one new resource's references
// against; `except_model` is the model being written. The caller holds mutex_.
core::Resources SqlStore::stored_names(const std::string& except_model) {
  core::Resources context;
  for (std::string& p : names_in("providers")) {
    context.providers.push_back(stand_in_provider(std::move(p)));
  }
  for (std::string& m : names_in("models")) {
    if (m == except_model) continue;
    core::Model stored;
    stored.name = std::move(m);
    context.models.push_back(std::move(stored));
  }
  for (std::string& g : names_in("guardrails")) {
    core::Guardrail stored;
    stored.name = std::move(g);
    stored.kind = "keywords";
    context.guardrails.push_back(std::move(stored));
  }
  Statement teams(*db_, "SELECT name FROM documents WHERE kind = 'teams'");
  while (teams.step()) context.teams.push_back(core::Team{teams.text(0), {}, {}, {}, {}});
  Statement policies(*db_, "SELECT name FROM documents WHERE kind = 'cache_policies'");
  while (policies.step()) {
    core::CachePolicy stored;
    stored.name = policies.text(0);
    context.cache_policies.push_back(std::move(stored));
  }
  return context;
}

// The allowed models must name what is stored now (or "*", "PROVIDER/*", the built-in demo).
// The caller holds mutex_.
void SqlStore::check_key_models(const core::Key& k) {
  core::Resources context = stored_names("");
  context.keys.push_back(k);
  std::vector<core::ConfigError> found;
  core::validate_resources(context, found, "");
  throw_if_invalid(findings_about(std::move(found), "keys", "key " + k.name));
}

CreatedKey SqlStore::create_key(const core::Key& spec) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  const std::string& name = spec.name;
  {
    Statement taken(*db_, "SELECT revoked_at FROM keys WHERE name = ?1");
    taken.bind(1, name);
    if (taken.step()) {
      throw ResourceConflict("a key named \"" + name + "\" already exists" +
                             (taken.is_null(0) ? "" : " (revoked; the names of revoked keys stay taken)"));
    }
  }

  CreatedKey created;
  created.secret = generate_key_secret();
  created.key = key_for_secret(created.secret, name, {});
  created.key.expires_at = spec.expires_at;
  created.key.share_rules(spec.shared_rules());
  check_key_models(created.key);

  boost::json::array allowed;
  for (const std::string& m : spec.rules().models) allowed.emplace_back(m);
  Statement insert(*db_,
                   "INSERT INTO keys (id, name, hash, prefix, models, expires_at, created_at, settings) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  insert.bind(1, created.key.id)
      .bind(2, name)
      .bind(3, created.key.hash_hex)
      .bind(4, created.key.prefix)
      .bind(5, boost::json::serialize(allowed))
      .bind(7, now_seconds())
      .bind(8, key_settings_document(created.key));
  if (spec.expires_at) insert.bind(6, *spec.expires_at);
  else insert.bind_null(6);
  bool taken = false;
  insert.step(&taken);
  if (taken) throw ResourceConflict("a key named \"" + name + "\" already exists");
  tx.commit();
  wrote_since_load_ = true;
  return created;
}

void SqlStore::put_key(const core::Key& k) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("keys", "name = ?1", k.name);
  check_key_models(k);
  boost::json::array allowed;
  for (const std::string& m : k.rules().models) allowed.emplace_back(m);
  std::optional<std::string> id;
  {
    Statement found(*db_, "SELECT id, revoked_at FROM keys WHERE name = ?1");
    found.bind(1, k.name);
    if (found.step()) {
      if (!found.is_null(1))
        throw ResourceConflict("key \"" + k.name + "\" is revoked (the names of revoked keys stay taken)");
      id = found.text(0);
    }
  }
  // The id stays with the name: it names the key in usage rows, metrics and budget counters.
  Statement write(*db_, id ? "UPDATE keys SET hash = ?2, prefix = ?3, models = ?4, expires_at = ?5, settings = ?6, "
                             "version = version + 1 WHERE id = ?1"
                           : "INSERT INTO keys (id, hash, prefix, models, expires_at, settings, name, created_at) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  write.bind(1, id ? *id : (k.id.empty() ? core::key_id_for_hash(k.hash_hex) : k.id))
      .bind(2, k.hash_hex)
      .bind(3, k.prefix)
      .bind(4, boost::json::serialize(allowed))
      .bind(6, key_settings_document(k));
  if (k.expires_at) write.bind(5, *k.expires_at);
  else write.bind_null(5);
  if (!id) write.bind(7, k.name).bind(8, now_seconds());
  bool taken = false;
  write.step(&taken);
  if (taken) throw ResourceConflict("another key has the hash of key \"" + k.name + "\"");
  tx.commit();
  wrote_since_load_ = true;
}

std::vector<StoredKey> SqlStore::keys_where(const std::string& where, const std::string& arg) {
  Statement q(*db_, std::string("SELECT ") + kKeyColumns + " FROM keys " + where);
  if (!arg.empty()) q.bind(1, arg);
  std::vector<StoredKey> out;
  while (q.step()) {
    std::vector<core::ConfigError> errors;  // a row that does not read is left out here; load() reports it
    auto k = key_from_row(q.text(0), q.text(1), q.text(2), q.text(3), text_or_null(q, 4),
                          integer_or_null(q, 5), text_or_null(q, 6), errors);
    if (!k) continue;
    out.push_back({std::move(*k), integer_or_null(q, 7), integer_or_null(q, 8)});
  }
  return out;
}

std::vector<StoredKey> SqlStore::list_keys(bool include_revoked) {
  std::lock_guard lock(mutex_);
  return keys_where(include_revoked ? "ORDER BY created_at, name" : "WHERE revoked_at IS NULL ORDER BY created_at, name", "");
}

std::optional<StoredKey> SqlStore::find_key(const std::string& id_or_name) {
  std::lock_guard lock(mutex_);
  // An id first: a key may be named like another key's id.
  auto found = keys_where("WHERE id = ?1", id_or_name);
  if (found.empty()) found = keys_where("WHERE name = ?1", id_or_name);
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

bool SqlStore::update_key(const core::Key& spec) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("keys", "id = ?1", spec.id);
  auto found = keys_where("WHERE id = ?1", spec.id);
  if (found.empty()) return false;
  const StoredKey& stored = found.front();
  if (stored.revoked_at) throw ResourceConflict("key " + spec.id + " is revoked and cannot change");
  core::Key next = stored.key;
  next.expires_at = spec.expires_at;
  next.share_rules(spec.shared_rules());  // every rule is the spec's
  check_key_models(next);

  boost::json::array allowed;
  for (const std::string& m : next.rules().models) allowed.emplace_back(m);
  Statement update(*db_,
                   "UPDATE keys SET models = ?1, expires_at = ?2, settings = ?3, version = version + 1 WHERE id = ?4");
  update.bind(1, boost::json::serialize(allowed)).bind(3, key_settings_document(next)).bind(4, spec.id);
  if (next.expires_at) update.bind(2, *next.expires_at);
  else update.bind_null(2);
  update.step();
  tx.commit();
  wrote_since_load_ = true;
  return true;
}

std::optional<CreatedKey> SqlStore::rotate_key(const std::string& id_or_name) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("keys", "id = ?1 OR name = ?1", id_or_name);
  auto found = keys_where("WHERE (id = ?1 OR name = ?1) AND revoked_at IS NULL", id_or_name);
  if (found.empty()) return std::nullopt;
  CreatedKey rotated;
  rotated.secret = generate_key_secret();
  rotated.key = std::move(found.front().key);
  rotated.key.hash_hex = sha256_hex(rotated.secret);
  rotated.key.prefix = key_for_secret(rotated.secret, rotated.key.name, {}).prefix;
  // The id stays: it names the key in usage rows, metrics and budget counters.
  Statement update(*db_, "UPDATE keys SET hash = ?1, prefix = ?2, version = version + 1 WHERE id = ?3");
  update.bind(1, rotated.key.hash_hex).bind(2, rotated.key.prefix).bind(3, rotated.key.id).step();
  tx.commit();
  wrote_since_load_ = true;
  return rotated;
}

std::optional<std::string> SqlStore::document_in(const char* table, const std::string& name) {
  Statement q(*db_, std::string("SELECT doc FROM ") + table + " WHERE name = ?1");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

std::optional<std::string> SqlStore::stored_provider_document(const std::string& name) {
  std::lock_guard lock(mutex_);
  return document_in("providers", name);
}

std::optional<std::string> SqlStore::stored_model_document(const std::string& name) {
  std::lock_guard lock(mutex_);
  return document_in("models", name);
}

std::optional<std::string> SqlStore::stored_mcp_server_document(const std::string& name) {
  std::lock_guard lock(mutex_);
  return document_in("mcp_servers", name);
}

// Removing what another resource names through a reference of its schema (core/schema.h: a
// target's provider, a key's team, an allowlist's model or PROVIDER/*, ...) would make the next
// load fail as a whole, so it is refused, naming each referrer and the field that names it.
// Every stored row of every kind is read as its kind's document; revoked keys name nothing.
// The caller holds mutex_, inside the removal's transaction.
void SqlStore::refuse_if_referred(const std::string& kind, const std::string& name) {
  std::vector<std::string> users;
  auto note = [&](const core::schema::Kind& other, const std::string& other_name, boost::json::object doc) {
    core::schema::references(other.fields, doc, "", [&](const core::schema::Field& f, std::string_view ref,
                                                         const std::string& at) {
      if (f.kind == kind && ref == name && !(other.name == kind && other_name == name))
        users.push_back(other.singular + " " + other_name + " (" + at + ")");
    });
  };
  auto object_of = [](const std::string& text) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    return !ec && v.is_object() ? std::move(v.as_object()) : boost::json::object{};
  };
  for (const core::schema::Kind& other : core::schema::kinds()) {
    if (other.name == "keys") {  // a row of columns: the allowlist beside the settings document
      Statement keys(*db_, "SELECT name, models, settings FROM keys WHERE revoked_at IS NULL ORDER BY name");
      while (keys.step()) {
        boost::json::object doc = keys.is_null(2) ? boost::json::object{} : object_of(keys.text(2));
        if (!keys.is_null(1)) {
          boost::system::error_code ec;
          boost::json::value models = boost::json::parse(keys.text(1), ec);
          if (!ec) doc["models"] = std::move(models);
        }
        note(other, keys.text(0), std::move(doc));
      }
      continue;
    }
    bool own_table = other.name == "providers" || other.name == "models" || other.name == "guardrails" ||
                     other.name == "mcp_servers";
    Statement rows(*db_, own_table ? "SELECT name, doc FROM " + other.name + " ORDER BY name"
                                   : std::string("SELECT name, doc FROM documents WHERE kind = ?1 ORDER BY name"));
    if (!own_table) rows.bind(1, other.name);
    while (rows.step()) note(other, rows.text(0), object_of(rows.text(1)));
  }
  if (users.empty()) return;
  const core::schema::Kind* removed = core::schema::find_kind(kind);
  throw ResourceConflict((removed ? removed->singular : kind) + " \"" + name + "\" is used by " + join_names(users) +
                         "; change or delete them first");
}

bool SqlStore::remove_provider(const std::string& name) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("providers", "name = ?1", name);
  refuse_if_referred("providers", name);
  Statement del(*db_, "DELETE FROM providers WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = db_->changes() > 0;
  tx.commit();
  wrote_since_load_ = wrote_since_load_ || removed;
  return removed;
}

std::string guardrail_document(const core::Guardrail& g) {
  auto strings = [](const std::vector<std::string>& v) {
    boost::json::array a;
    for (const auto& s : v) a.push_back(boost::json::value(s));
    return a;
  };
  boost::json::object doc{{"name", g.name}, {"kind", g.kind}, {"mode", g.mode}};
  if (!g.entities.empty()) doc["entities"] = strings(g.entities);
  if (g.reversible) doc["reversible"] = true;
  if (!g.keywords.empty()) doc["keywords"] = strings(g.keywords);
  if (!g.patterns.empty()) doc["patterns"] = strings(g.patterns);
  if (g.kind == "prompt-injection" || g.threshold_given) doc["threshold"] = g.threshold;
  if (g.kind == "moderation") {
    doc["provider"] = g.provider;
    if (!g.model.empty()) doc["model"] = g.model;
    if (!g.categories.empty()) doc["categories"] = strings(g.categories);
    doc["timeout_ms"] = g.timeout_ms;
    doc["fail_open"] = g.fail_open;
  }
  return boost::json::serialize(doc);
}

void SqlStore::put_mcp_server(const core::McpServer& s) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("mcp_servers", "name = ?1", s.name);
  core::McpServer sealed = s;
  auto seal = [&](std::string& value) {
    if (is_literal_secret(value)) value = secrets().seal(value);
  };
  for (auto& [name, value] : sealed.headers) seal(value);
  seal(sealed.bearer);
  seal(sealed.oauth2.client_secret);
  Statement upsert(*db_,
                   "INSERT INTO mcp_servers (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at, "
                   "version = mcp_servers.version + 1");
  upsert.bind(1, s.name).bind(2, mcp::server_document(sealed)).bind(3, now_seconds()).step();
  tx.commit();
  wrote_since_load_ = true;
}

bool SqlStore::remove_mcp_server(const std::string& name) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("mcp_servers", "name = ?1", name);
  refuse_if_referred("mcp_servers", name);
  Statement del(*db_, "DELETE FROM mcp_servers WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = db_->changes() > 0;
  tx.commit();
  if (removed) wrote_since_load_ = true;
  return removed;
}

void SqlStore::put_guardrail(const core::Guardrail& g) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("guardrails", "name = ?1", g.name);
  Statement upsert(*db_,
                   "INSERT INTO guardrails (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at, "
                   "version = guardrails.version + 1");
  upsert.bind(1, g.name).bind(2, guardrail_document(g)).bind(3, now_seconds()).step();
  tx.commit();
  wrote_since_load_ = true;
}

bool SqlStore::remove_guardrail(const std::string& name) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("guardrails", "name = ?1", name);
  refuse_if_referred("guardrails", name);
  Statement del(*db_, "DELETE FROM guardrails WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = db_->changes() > 0;
  tx.commit();
  if (removed) wrote_since_load_ = true;
  return removed;
}

bool SqlStore::remove_model(const std::string& name) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("models", "name = ?1", name);
  refuse_if_referred("models", name);
  Statement del(*db_, "DELETE FROM models WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = db_->changes() > 0;
  tx.commit();
  wrote_since_load_ = wrote_since_load_ || removed;
  return removed;
}

bool SqlStore::revoke_key(const std::string& id_or_name) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("keys", "id = ?1 OR name = ?1", id_or_name);
  Statement revoke(*db_,
                   "UPDATE keys SET revoked_at = ?1, version = version + 1 "
                   "WHERE (id = ?2 OR name = ?2) AND revoked_at IS NULL");
  revoke.bind(1, now_seconds()).bind(2, id_or_name).step();
  bool revoked = db_->changes() > 0;
  tx.commit();
  wrote_since_load_ = wrote_since_load_ || revoked;
  return revoked;
}

// --- documents and the audit log -------------------------------------------------------------
// Documents of the kinds load() reads (teams) set wrote_since_load_; the others and the audit
// log do not change what it reads.
namespace {
bool loaded_kind(const std::string& kind) { return kind == "teams"; }
}  // namespace

// A document's literal secrets (its kind's secret fields, at any depth) sealed, or opened again.
std::string SqlStore::sealed_document(const std::string& kind, const std::string& doc, bool seal) {
  const core::schema::Kind* k = core::schema::find_kind(kind);
  if (!k) return doc;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(doc, ec);
  if (ec || !v.is_object()) return doc;
  bool changed = false;
  each_secret(k->fields, v.as_object(), [&](boost::json::value& field) {
    std::string_view value = field.get_string();
    if (seal && is_literal_secret(value)) {
      field = secrets().seal(value);
      changed = true;
    } else if (!seal && SecretBox::is_sealed(value)) {
      // Sealed under another key: kept sealed (an answer never shows secrets anyway).
      if (auto opened = secrets().open(value)) field = *opened;
      changed = true;
    }
  });
  return changed ? boost::json::serialize(v) : doc;
}

std::vector<std::pair<std::string, std::string>> SqlStore::list_documents(const std::string& kind) {
  std::lock_guard lock(mutex_);
  Statement q(*db_, "SELECT name, doc FROM documents WHERE kind = ?1 ORDER BY name");
  q.bind(1, kind);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.step()) out.emplace_back(q.text(0), sealed_document(kind, q.text(1), false));
  return out;
}

std::optional<std::string> SqlStore::get_document(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement q(*db_, "SELECT doc FROM documents WHERE kind = ?1 AND name = ?2");
  q.bind(1, kind).bind(2, name);
  if (!q.step()) return std::nullopt;
  return sealed_document(kind, q.text(0), false);
}

void SqlStore::put_document(const std::string& kind, const std::string& name, const std::string& doc) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("documents", "kind = ?2 AND name = ?1", name, kind);
  if (kind == "teams") {
    // What load() will ask of it, now: its allowlist names stored models and providers.
    std::vector<core::ConfigError> errors;
    auto team = core::parse_team(doc, "team " + name, errors);
    throw_if_invalid(std::move(errors));
    core::Resources context = stored_names("");
    std::erase_if(context.teams, [&](const core::Team& t) { return t.name == name; });
    if (team) context.teams.insert(context.teams.begin(), std::move(*team));
    std::vector<core::ConfigError> found;
    core::validate_resources(context, found, "");
    throw_if_invalid(findings_about(std::move(found), "teams", "team " + name));
  }
  Statement upsert(*db_,
                   "INSERT INTO documents (kind, name, doc, updated_at) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT(kind, name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at, "
                   "version = documents.version + 1");
  upsert.bind(1, kind).bind(2, name).bind(3, sealed_document(kind, doc, true)).bind(4, now_seconds()).step();
  tx.commit();
  wrote_since_load_ = wrote_since_load_ || loaded_kind(kind);
}

bool SqlStore::remove_document(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  check_expected_version("documents", "kind = ?2 AND name = ?1", name, kind);
  refuse_if_referred(kind, name);
  Statement del(*db_, "DELETE FROM documents WHERE kind = ?1 AND name = ?2");
  del.bind(1, kind).bind(2, name).step();
  bool removed = db_->changes() > 0;
  tx.commit();
  wrote_since_load_ = wrote_since_load_ || (removed && loaded_kind(kind));
  return removed;
}

void SqlStore::append_audit(const AuditEntry& e) {
  std::lock_guard lock(mutex_);
  Statement insert(*db_,
                   "INSERT INTO audit (ts_ms, actor, action, status, kind, name, before, after) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  insert.bind(1, e.ts_ms).bind(2, e.actor).bind(3, e.action).bind(4, int64_t{e.status}).bind(5, e.kind);
  insert.bind(6, e.name).bind(7, e.before).bind(8, e.after).step();
}

std::vector<AuditEntry> SqlStore::list_audit(int limit, int offset) {
  std::lock_guard lock(mutex_);
  Statement q(*db_,
              "SELECT ts_ms, actor, action, status, kind, name, before, after FROM audit "
              "ORDER BY id DESC LIMIT ?1 OFFSET ?2");
  q.bind(1, int64_t{limit}).bind(2, int64_t{offset});
  std::vector<AuditEntry> out;
  while (q.step())
    out.push_back({q.integer(0), q.text(1), q.text(2), static_cast<int>(q.integer(3)), q.text(4), q.text(5),
                   q.text(6), q.text(7)});
  return out;
}

// --- every kind alike: apply, export, the snapshot cache ---------------------------------------

namespace {

// The kinds with a table of their own; the others are rows of `documents`, and keys are rows
// of their own shape.
const char* table_of(const std::string& kind) {
  for (const char* table : {"providers", "models", "guardrails", "mcp_servers"})
    if (kind == table) return table;
  return nullptr;
}

// "${" written as "$${", so a reader that resolves references gives them back as written.
std::string unresolved(const std::string& doc) {
  if (doc.find("${") == std::string::npos) return doc;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(doc, ec);
  if (ec) return doc;
  std::function<void(boost::json::value&)> walk = [&](boost::json::value& x) {
    if (x.is_string()) {
      x = core::escape_references(x.get_string());
    } else if (x.is_array()) {
      for (auto& item : x.get_array()) walk(item);
    } else if (x.is_object()) {
      for (auto& entry : x.get_object()) walk(entry.value());
    }
  };
  walk(v);
  return boost::json::serialize(v);
}

std::optional<boost::json::object> object_of(const std::string& doc) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(doc, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::string name_in(const std::string& doc) {
  auto o = object_of(doc);
  const boost::json::value* n = o ? o->if_contains("name") : nullptr;
  return n && n->is_string() ? std::string(n->get_string()) : std::string();
}

// A key as a resources file holds it: by its hash, with its settings.
std::string key_document(const core::Key& k) {
  boost::json::object doc{{"name", k.name}, {"key_hash", k.hash_hex}};
  if (const auto& models = k.rules().models; !models.empty()) doc["models"] = boost::json::array(models.begin(), models.end());
  if (k.expires_at) doc["expires_at"] = *k.expires_at;
  boost::json::value settings = boost::json::parse(key_settings_document(k));  // named: the loop reads into it
  for (auto& [field, value] : settings.as_object()) doc[field] = value;
  return boost::json::serialize(doc);
}

// The typed form of a document of a kind that has one, read by the kind's own reader with its
// references kept. Throws InvalidResource when it does not read.
template <class T, class Parse>
T typed(const std::string& kind, const std::string& doc, Parse parse) {
  std::vector<core::ConfigError> errors;
  std::optional<T> out = parse(unresolved(doc), kind + " " + name_in(doc), errors);
  if (!out && errors.empty()) errors.push_back({kind, 0, 0, "", "is not a map"});
  throw_if_invalid(std::move(errors));
  return std::move(*out);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SqlStore::documents_of(const std::string& kind) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::string>> out;
  if (kind == "keys") {
    for (const StoredKey& k : keys_where("WHERE revoked_at IS NULL ORDER BY name", ""))
      out.emplace_back(k.key.name, key_document(k.key));
    return out;
  }
  const char* table = table_of(kind);
  Statement q(*db_, table ? std::string("SELECT name, doc FROM ") + table + " ORDER BY name"
                          : std::string("SELECT name, doc FROM documents WHERE kind = ?1 ORDER BY name"));
  if (!table) q.bind(1, kind);
  while (q.step()) out.emplace_back(q.text(0), q.text(1));
  return out;
}

std::string SqlStore::kept_form(const std::string& kind, const std::string& doc) {
  try {
    if (kind == "providers") return provider_document(typed<core::Provider>(kind, doc, core::parse_provider));
    if (kind == "models") return model_document(typed<core::Model>(kind, doc, core::parse_model));
    if (kind == "guardrails") return guardrail_document(typed<core::Guardrail>(kind, doc, core::parse_guardrail));
    if (kind == "keys") return key_document(typed<core::Key>(kind, doc, core::parse_key));
    if (kind == "mcp_servers") {
      auto o = object_of(doc);
      std::vector<core::ConfigError> errors;
      auto m = o ? mcp::parse_server_unresolved(*o, kind, errors) : std::nullopt;
      if (m) return mcp::server_document(*m);
    }
  } catch (const InvalidResource&) {
    // Compared as written: the write will say what is wrong with it.
  }
  return doc;
}

void SqlStore::put_resource(const std::string& kind, const std::string& doc) {
  if (kind == "providers") return put_provider(typed<core::Provider>(kind, doc, core::parse_provider));
  if (kind == "models") return put_model(typed<core::Model>(kind, doc, core::parse_model));
  if (kind == "guardrails") return put_guardrail(typed<core::Guardrail>(kind, doc, core::parse_guardrail));
  if (kind == "keys") return put_key(typed<core::Key>(kind, doc, core::parse_key));
  if (kind == "mcp_servers") {
    std::vector<core::ConfigError> errors;
    auto o = object_of(doc);
    auto m = o ? mcp::parse_server_unresolved(*o, "mcp_server " + name_in(doc), errors) : std::nullopt;
    if (!m && errors.empty()) errors.push_back({kind, 0, 0, "", "is not a map"});
    throw_if_invalid(std::move(errors));
    return put_mcp_server(*m);
  }
  auto o = object_of(doc);
  std::string name = name_in(doc);
  if (!o || name.empty()) throw InvalidResource({{kind, 0, 0, "name", "a map with a name is required"}});
  const core::schema::Kind* k = core::schema::find_kind(kind);
  {
    // What the store added that a file cannot say (an admin key's prefix, created_at) is kept.
    std::lock_guard lock(mutex_);
    Statement q(*db_, "SELECT doc FROM documents WHERE kind = ?1 AND name = ?2");
    q.bind(1, kind).bind(2, name);
    if (q.step())
      if (auto stored = object_of(q.text(0)))
        for (auto& [field, value] : *stored) {
          bool declared = k && std::any_of(k->fields.begin(), k->fields.end(),
                                           [&](const core::schema::Field& f) { return f.name == field; });
          if (!declared && !o->contains(field)) (*o)[field] = value;
        }
  }
  put_document(kind, name, boost::json::serialize(*o));
}

bool SqlStore::remove_resource(const std::string& kind, const std::string& name) {
  if (kind == "providers") return remove_provider(name);
  if (kind == "models") return remove_model(name);
  if (kind == "guardrails") return remove_guardrail(name);
  if (kind == "mcp_servers") return remove_mcp_server(name);
  if (kind == "keys") return revoke_key(name);
  return remove_document(kind, name);
}

void SqlStore::write_together(const std::function<void()>& writes, bool commit) {
  std::lock_guard lock(mutex_);
  Transaction tx(*db_, Transaction::write);
  writes();
  int64_t generation = 0;
  core::ParseResult whole = read_all(generation);
  // The kinds no snapshot reads (admin keys) must still name what is stored.
  for (const auto& kind : core::schema::kinds()) {
    if (read_into_snapshot(kind.name)) continue;
    for (const auto& [name, doc] : documents_of(kind.name)) {
      auto o = object_of(doc);
      if (!o) continue;
      core::schema::references(kind.fields, *o, "", [&](const core::schema::Field& f, std::string_view ref,
                                                        const std::string& at) {
        for (const auto& [stored, ignored] : documents_of(f.kind))
          if (stored == ref) return;
        whole.errors.push_back({row_source(kind.name, name, describe().substr(0, describe().find(':'))), 0, 0, at,
                                "\"" + std::string(ref) + "\" is not stored (" + f.kind + ")"});
      });
    }
  }
  if (!whole.ok()) throw InvalidResource(std::move(whole.errors));
  if (commit) tx.commit();
}

std::optional<std::string> SqlStore::opened(std::string_view value) {
  if (!SecretBox::is_sealed(value)) return std::nullopt;
  std::lock_guard lock(mutex_);
  return secrets().open(value);
}

}  // namespace tollgate::store
