#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <ctime>
#include <filesystem>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/env_interpolate.h"
#include "mcp/config.h"
#include "core/schema.h"

namespace tollgate::store {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS providers (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER
);
CREATE TABLE IF NOT EXISTS models (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER
);
CREATE TABLE IF NOT EXISTS guardrails (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER
);
CREATE TABLE IF NOT EXISTS mcp_servers (
  name TEXT PRIMARY KEY,
  doc TEXT NOT NULL,
  updated_at INTEGER
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
  settings TEXT
);
CREATE TABLE IF NOT EXISTS documents (
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  doc TEXT NOT NULL,
  updated_at INTEGER,
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
// value). Bump it with a migration
// step in migrate().
constexpr int64_t kSchemaVersion = 1;
constexpr std::string_view kKeyCheck = "tollgate secret key check";

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

void exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw std::runtime_error(std::string("sqlite: ") + text);
  }
}

class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) !=
        SQLITE_OK) {
      fail(db, "sqlite prepare");
    }
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, int64_t value) {
    sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // True while there is a row; returns the SQLite result code through `code` for callers that
  // tell a constraint violation from other failures.
  bool step(int* code = nullptr) {
    int rc = sqlite3_step(stmt_);
    if (code) *code = rc;
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (code) return false;
    fail(db_, "sqlite step");
  }

  std::string text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// A read or write transaction that rolls back unless committed.
class Transaction {
 public:
  Transaction(sqlite3* db, const char* begin) : db_(db) { exec(db_, begin); }
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, "COMMIT");
    open_ = false;
  }

 private:
  sqlite3* db_;
  bool open_ = true;
};

// Brings the store to kSchemaVersion, inside the caller's write transaction (so two processes
// opening an old store migrate it once). A newer store is refused: this binary cannot know
// what the newer one changed.
void migrate(sqlite3* db, const std::string& path) {
  Statement v(db, "PRAGMA user_version");
  const int64_t version = v.step() ? v.integer(0) : 0;
  if (version > kSchemaVersion) {
    throw std::runtime_error("the sqlite store " + path + " has schema version " +
                             std::to_string(version) + ", newer than this tollgate knows (" +
                             std::to_string(kSchemaVersion) +
                             "): a newer tollgate wrote it; run that version (or newer) against it");
  }
  if (version == kSchemaVersion) return;
  exec(db, kSchema);
  // Version 0 stores created before keys had settings get the column (an error: it is there).
  sqlite3_exec(db, "ALTER TABLE keys ADD COLUMN settings TEXT", nullptr, nullptr, nullptr);
  exec(db, ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  if (version > 0 || Statement(db, "SELECT 1 FROM providers UNION ALL SELECT 1 FROM keys").step())
    spdlog::info("migrated the sqlite store {} from schema version {} to {}", path, version,
                 kSchemaVersion);
}

// The key check value: a constant sealed with the store's key when it is first needed.
// Replicas sharing a store must share TOLLGATE_SECRET_KEY; one with another key is refused
// here, before it could send credentials it cannot open. Stores sealed before the check value
// existed are checked against one of their sealed credentials first.
void check_secret_key(sqlite3* db, const SecretBox& box, const std::string& path) {
  auto mismatch = [&] {
    return std::runtime_error(
        "the sqlite store " + path +
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
  Statement(db, "INSERT OR IGNORE INTO meta (key, value) VALUES ('secret_check', ?)")
      .bind(1, box.seal(kKeyCheck))
      .step();
  // Another process may have written its own first.
  if (auto kcv = stored(); !kcv || box.open(*kcv) != std::string(kKeyCheck)) throw mismatch();
}

// A credential value that is written out, not a ${ENV} reference and not sealed yet.
bool is_literal_secret(std::string_view v) {
  return !v.empty() && v.find("${") == std::string_view::npos && !SecretBox::is_sealed(v);
}

std::string row_source(std::string_view table, std::string_view name) {
  return "sqlite:" + std::string(table) + "/" + std::string(name);
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
                                      std::vector<core::ConfigError>& errors) {
  std::string source = row_source("keys", name);
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
  // Written as given: a "${ENV}" reference, or a credential SqliteStore::put_provider() has
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
  return boost::json::serialize(doc);
}

std::string key_settings_document(const core::Key& k) {
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
  return boost::json::serialize(doc);
}

SqliteStore::SqliteStore(std::string path) : path_(std::move(path)) {
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw std::runtime_error("cannot create the directory " + parent.string() +
                               " for the sqlite store: " + ec.message());
    }
  }
  int rc = sqlite3_open_v2(path_.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open the sqlite store " + path_ + ": " + message);
  }
  try {
    // Several gateway processes (and `tollgate keys`) may share the file: wait for a writer
    // rather than fail, and let readers proceed during writes (WAL).
    sqlite3_busy_timeout(db_, 5000);
    exec(db_, "PRAGMA journal_mode=WAL");
    exec(db_, "PRAGMA synchronous=NORMAL");
    Transaction tx(db_, "BEGIN IMMEDIATE");
    migrate(db_, path_);
    tx.commit();
    // A store with a key check value or sealed credentials: refuse to start with another key.
    if (Statement(db_, "SELECT 1 FROM meta WHERE key = 'secret_check' UNION ALL "
                       "SELECT 1 FROM providers WHERE doc LIKE '%enc:v1:%'").step())
      secrets();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
  seal_plaintext_credentials();
}

// Stores written before credentials were sealed (api_key) or before header values were hold
// them in plain text. Seal them now, with the old bytes zeroed (secure_delete) and the WAL
// checkpointed into the file, so the plain text leaves the disk at once, not at the next write.
// A store whose key cannot be made (a read-only directory) keeps serving as it did.
void SqliteStore::seal_plaintext_credentials() {
  try {
    exec(db_, "PRAGMA secure_delete=ON");
    Transaction tx(db_, "BEGIN IMMEDIATE");
    std::vector<std::pair<std::string, std::string>> resealed;
    {
      Statement providers(db_, "SELECT name, doc FROM providers");
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
      Statement(db_, "UPDATE providers SET doc = ?1 WHERE name = ?2").bind(1, doc).bind(2, name).step();
    tx.commit();
    if (!resealed.empty()) {
      sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
      spdlog::info("sealed the plain-text credentials of {} provider(s) in {}", resealed.size(), path_);
    }
  } catch (const std::exception& e) {
    spdlog::warn("cannot seal the plain-text credentials in {}: {}", path_, e.what());
  }
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

int64_t SqliteStore::data_version() {
  Statement q(db_, "PRAGMA data_version");
  q.step();
  return q.integer(0);
}

std::vector<std::string> SqliteStore::names_in(const char* table) {
  Statement q(db_, std::string("SELECT name FROM ") + table);
  std::vector<std::string> names;
  while (q.step()) names.push_back(q.text(0));
  return names;
}

core::ParseResult SqliteStore::load() {
  std::lock_guard lock(mutex_);
  core::ParseResult result;
  core::Resources& r = result.resources;
  std::vector<core::ConfigError>& errors = result.errors;
  // The row each loaded resource came from, so validation findings name the row.
  std::vector<std::string> provider_rows, model_rows, key_rows, team_rows;

  Transaction tx(db_, "BEGIN");  // one consistent read of all three tables
  int64_t version = data_version();

  // The row's name is what the rest refers to; a document that disagrees is wrong.
  auto check_name = [&](std::string& doc_name, const std::string& row, const char* table) {
    if (doc_name == row) return;
    errors.push_back({row_source(table, row), 0, 0, "name",
                      "is \"" + doc_name + "\" but the row is named \"" + row + "\""});
    doc_name = row;
  };

  Statement providers(db_, "SELECT name, doc FROM providers ORDER BY name");
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
            errors.push_back({row_source("providers", row), 0, 0, name,
                              "cannot be decrypted with this store's key (TOLLGATE_SECRET_KEY or secret.key changed?)"});
            opened_all = false;
            return;
          }
          // A secret holding "${" must not be read as an ${ENV} reference: "$${" is the escape.
          std::string escaped;
          for (std::size_t i = 0; i < opened->size(); ++i) {
            if (opened->compare(i, 2, "${") == 0) escaped += "$";
            escaped.push_back((*opened)[i]);
          }
          field = escaped;
        };
        auto& o = v.as_object();
        if (auto* k = o.if_contains("api_key")) unseal(*k, "api_key");
        if (auto* h = o.if_contains("headers"); h && h->is_object())
          for (auto& [name, value] : h->as_object()) unseal(value, "headers." + std::string(name));
        if (!opened_all) continue;
        doc = boost::json::serialize(v);
      }
    }
    if (auto p = core::parse_provider(doc, row_source("providers", row), errors)) {
      check_name(p->name, row, "providers");
      r.providers.push_back(std::move(*p));
      provider_rows.push_back(row);
    }
  }

  Statement mcp_servers(db_, "SELECT name, doc FROM mcp_servers ORDER BY name");
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
          errors.push_back({row_source("mcp_servers", row), 0, 0, name,
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
    if (auto m = mcp::parse_server(doc, row_source("mcp_servers", row), errors)) r.mcp_servers.push_back(std::move(*m));
  }

  Statement guardrails(db_, "SELECT name, doc FROM guardrails ORDER BY name");
  while (guardrails.step()) {
    if (auto g = core::parse_guardrail(guardrails.text(1), row_source("guardrails", guardrails.text(0)), errors))
      r.guardrails.push_back(std::move(*g));
  }

  Statement models(db_, "SELECT name, doc FROM models ORDER BY name");
  while (models.step()) {
    std::string row = models.text(0);
    if (auto m = core::parse_model(models.text(1), row_source("models", row), errors)) {
      check_name(m->name, row, "models");
      r.models.push_back(std::move(*m));
      model_rows.push_back(row);
    }
  }

  // Teams are kept as documents (their kind has no table of its own), read by their schema.
  Statement teams(db_, "SELECT name, doc FROM documents WHERE kind = 'teams' ORDER BY name");
  while (teams.step()) {
    std::string row = teams.text(0);
    if (auto t = core::parse_team(teams.text(1), row_source("teams", row), errors)) {
      check_name(t->name, row, "teams");
      r.teams.push_back(std::move(*t));
      team_rows.push_back(row);
    }
  }

  Statement keys(db_,
                 "SELECT id, name, hash, prefix, models, expires_at, settings FROM keys "
                 "WHERE revoked_at IS NULL ORDER BY name");
  while (keys.step()) {
    std::string name = keys.text(1);
    if (auto k = key_from_row(keys.text(0), name, keys.text(2), keys.text(3), text_or_null(keys, 4),
                              integer_or_null(keys, 5), text_or_null(keys, 6), errors)) {
      r.keys.push_back(std::move(*k));
      key_rows.push_back(name);
    }
  }
  tx.commit();

  core::validate_resources(
      r, errors, [&](std::string_view section, std::size_t index, std::string_view field) {
        const std::vector<std::string>& rows = section == "providers" ? provider_rows
                                               : section == "models"  ? model_rows
                                               : section == "teams"   ? team_rows
                                                                      : key_rows;
        return core::ConfigLocation{row_source(section, rows.at(index)), std::string(field), 0, 0};
      });

  loaded_version_ = version;
  wrote_since_load_ = false;
  return result;
}

bool SqliteStore::changed() {
  std::lock_guard lock(mutex_);
  if (wrote_since_load_ || loaded_version_ < 0) return true;
  // data_version moves only for commits by other connections; our own writes set the flag.
  return data_version() != loaded_version_;
}

const SecretBox& SqliteStore::secrets() {
  if (!secrets_) {
    SecretBox box = SecretBox::for_store(path_);
    check_secret_key(db_, box, path_);
    secrets_ = box;
  }
  return *secrets_;
}

void SqliteStore::put_provider(const core::Provider& p) {
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
  Statement upsert(db_,
                   "INSERT INTO providers (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, "
                   "updated_at = excluded.updated_at");
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
  wrote_since_load_ = true;
}

void SqliteStore::put_model(const core::Model& m) {
  std::lock_guard lock(mutex_);
  // Validated against what is stored now, so a model never points at nothing.
  core::Resources context = stored_names(m.name);
  context.models.insert(context.models.begin(), m);  // models[0]: the one findings are about
  std::vector<core::ConfigError> found;
  core::validate_resources(context, found, "");
  throw_if_invalid(findings_about(std::move(found), "models", "model " + m.name));

  Statement upsert(db_,
                   "INSERT INTO models (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, "
                   "updated_at = excluded.updated_at");
  upsert.bind(1, m.name).bind(2, model_document(m)).bind(3, now_seconds()).step();
  wrote_since_load_ = true;
}

CreatedKey SqliteStore::create_key(const std::string& name, const std::vector<std::string>& models) {
  core::Key spec;
  spec.name = name;
  spec.models = models;
  return create_key(spec);
}

// Stand-ins for what is stored now (names only), to check one new resource's references
// against; `except_model` is the model being written. The caller holds mutex_.
core::Resources SqliteStore::stored_names(const std::string& except_model) {
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
  Statement teams(db_, "SELECT name FROM documents WHERE kind = 'teams'");
  while (teams.step()) context.teams.push_back(core::Team{teams.text(0), {}, {}, {}, {}});
  return context;
}

// The allowed models must name what is stored now (or "*", "PROVIDER/*", the built-in demo).
// The caller holds mutex_.
void SqliteStore::check_key_models(const core::Key& k) {
  core::Resources context = stored_names("");
  context.keys.push_back(k);
  std::vector<core::ConfigError> found;
  core::validate_resources(context, found, "");
  throw_if_invalid(findings_about(std::move(found), "keys", "key " + k.name));
}

CreatedKey SqliteStore::create_key(const core::Key& spec) {
  std::lock_guard lock(mutex_);
  const std::string& name = spec.name;
  {
    Statement taken(db_, "SELECT revoked_at FROM keys WHERE name = ?1");
    taken.bind(1, name);
    if (taken.step()) {
      throw ResourceConflict("a key named \"" + name + "\" already exists" +
                             (taken.is_null(0) ? "" : " (revoked; the names of revoked keys stay taken)"));
    }
  }

  CreatedKey created;
  created.secret = generate_key_secret();
  created.key = key_for_secret(created.secret, name, spec.models);
  created.key.expires_at = spec.expires_at;
  created.key.limits = spec.limits;
  created.key.budget = spec.budget;
  created.key.model_limits = spec.model_limits;
  created.key.guardrails = spec.guardrails;
  created.key.team = spec.team;
  check_key_models(created.key);

  boost::json::array allowed;
  for (const std::string& m : spec.models) allowed.emplace_back(m);
  Statement insert(db_,
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
  int rc = SQLITE_OK;
  insert.step(&rc);
  if ((rc & 0xff) == SQLITE_CONSTRAINT) {
    throw ResourceConflict("a key named \"" + name + "\" already exists");
  }
  if (rc != SQLITE_DONE) fail(db_, "cannot store key " + name);
  wrote_since_load_ = true;
  return created;
}

std::vector<StoredKey> SqliteStore::keys_where(const std::string& where, const std::string& arg) {
  Statement q(db_, std::string("SELECT ") + kKeyColumns + " FROM keys " + where);
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

std::vector<StoredKey> SqliteStore::list_keys(bool include_revoked) {
  std::lock_guard lock(mutex_);
  return keys_where(include_revoked ? "ORDER BY created_at, name" : "WHERE revoked_at IS NULL ORDER BY created_at, name", "");
}

std::optional<StoredKey> SqliteStore::find_key(const std::string& id_or_name) {
  std::lock_guard lock(mutex_);
  // An id first: a key may be named like another key's id.
  auto found = keys_where("WHERE id = ?1", id_or_name);
  if (found.empty()) found = keys_where("WHERE name = ?1", id_or_name);
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

bool SqliteStore::update_key(const core::Key& spec) {
  std::lock_guard lock(mutex_);
  auto found = keys_where("WHERE id = ?1", spec.id);
  if (found.empty()) return false;
  const StoredKey& stored = found.front();
  if (stored.revoked_at) throw ResourceConflict("key " + spec.id + " is revoked and cannot change");
  core::Key next = stored.key;
  next.models = spec.models;
  next.expires_at = spec.expires_at;
  next.limits = spec.limits;
  next.budget = spec.budget;
  next.model_limits = spec.model_limits;
  next.guardrails = spec.guardrails;
  next.team = spec.team;
  check_key_models(next);

  boost::json::array allowed;
  for (const std::string& m : next.models) allowed.emplace_back(m);
  Statement update(db_, "UPDATE keys SET models = ?1, expires_at = ?2, settings = ?3 WHERE id = ?4");
  update.bind(1, boost::json::serialize(allowed)).bind(3, key_settings_document(next)).bind(4, spec.id);
  if (next.expires_at) update.bind(2, *next.expires_at);
  else update.bind_null(2);
  update.step();
  wrote_since_load_ = true;
  return true;
}

std::optional<CreatedKey> SqliteStore::rotate_key(const std::string& id_or_name) {
  std::lock_guard lock(mutex_);
  auto found = keys_where("WHERE (id = ?1 OR name = ?1) AND revoked_at IS NULL", id_or_name);
  if (found.empty()) return std::nullopt;
  CreatedKey rotated;
  rotated.secret = generate_key_secret();
  rotated.key = std::move(found.front().key);
  rotated.key.hash_hex = sha256_hex(rotated.secret);
  rotated.key.prefix = key_for_secret(rotated.secret, rotated.key.name, {}).prefix;
  // The id stays: it names the key in usage rows, metrics and budget counters.
  Statement update(db_, "UPDATE keys SET hash = ?1, prefix = ?2 WHERE id = ?3");
  update.bind(1, rotated.key.hash_hex).bind(2, rotated.key.prefix).bind(3, rotated.key.id).step();
  wrote_since_load_ = true;
  return rotated;
}

std::optional<std::string> SqliteStore::document_in(const char* table, const std::string& name) {
  Statement q(db_, std::string("SELECT doc FROM ") + table + " WHERE name = ?1");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

std::optional<std::string> SqliteStore::stored_provider_document(const std::string& name) {
  std::lock_guard lock(mutex_);
  return document_in("providers", name);
}

std::optional<std::string> SqliteStore::stored_model_document(const std::string& name) {
  std::lock_guard lock(mutex_);
  return document_in("models", name);
}

// Removing what others refer to would make the next load fail as a whole, so refuse it and
// name the referrers.
bool SqliteStore::remove_provider(const std::string& name) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> users;
  {
    Statement models(db_, "SELECT name, doc FROM models ORDER BY name");
    while (models.step()) {
      std::vector<core::ConfigError> ignored;
      auto m = core::parse_model(models.text(1), "", ignored);
      if (!m) continue;
      for (const auto& t : m->targets) {
        if (t.provider == name) {
          users.push_back("model " + models.text(0));
          break;
        }
      }
    }
    Statement keys(db_, "SELECT name, models FROM keys WHERE revoked_at IS NULL ORDER BY name");
    while (keys.step()) {
      boost::system::error_code ec;
      auto allowed = boost::json::parse(keys.text(1), ec);
      if (ec || !allowed.is_array()) continue;
      for (const auto& a : allowed.as_array())
        if (a.is_string() && a.as_string() == name + "/*") users.push_back("key " + keys.text(0));
    }
  }
  if (!users.empty()) {
    throw ResourceConflict("provider \"" + name + "\" is used by " + join_names(users) +
                           "; change or delete them first");
  }
  Statement del(db_, "DELETE FROM providers WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = sqlite3_changes(db_) > 0;
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

void SqliteStore::put_mcp_server(const core::McpServer& s) {
  std::lock_guard lock(mutex_);
  core::McpServer sealed = s;
  auto seal = [&](std::string& value) {
    if (is_literal_secret(value)) value = secrets().seal(value);
  };
  for (auto& [name, value] : sealed.headers) seal(value);
  seal(sealed.bearer);
  seal(sealed.oauth2.client_secret);
  Statement upsert(db_,
                   "INSERT INTO mcp_servers (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at");
  upsert.bind(1, s.name).bind(2, mcp::server_document(sealed)).bind(3, now_seconds()).step();
  wrote_since_load_ = true;
}

bool SqliteStore::remove_mcp_server(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement del(db_, "DELETE FROM mcp_servers WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = sqlite3_changes(db_) > 0;
  if (removed) wrote_since_load_ = true;
  return removed;
}

void SqliteStore::put_guardrail(const core::Guardrail& g) {
  std::lock_guard lock(mutex_);
  Statement upsert(db_,
                   "INSERT INTO guardrails (name, doc, updated_at) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT(name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at");
  upsert.bind(1, g.name).bind(2, guardrail_document(g)).bind(3, now_seconds()).step();
  wrote_since_load_ = true;
}

bool SqliteStore::remove_guardrail(const std::string& name) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> users;
  auto uses = [&](const std::string& json_list) {
    boost::system::error_code ec;
    auto v = boost::json::parse(json_list, ec);
    if (ec || !v.is_object()) return false;
    auto* g = v.as_object().if_contains("guardrails");
    if (!g || !g->is_array()) return false;
    for (const auto& x : g->as_array())
      if (x.is_string() && x.as_string() == name) return true;
    return false;
  };
  {
    Statement models(db_, "SELECT name, doc FROM models ORDER BY name");
    while (models.step())
      if (uses(models.text(1))) users.push_back("model " + models.text(0));
    Statement keys(db_, "SELECT name, settings FROM keys WHERE revoked_at IS NULL AND settings IS NOT NULL ORDER BY name");
    while (keys.step())
      if (uses(keys.text(1))) users.push_back("key " + keys.text(0));
  }
  if (!users.empty())
    throw ResourceConflict("guardrail \"" + name + "\" is used by " + join_names(users) + "; change or delete them first");
  Statement del(db_, "DELETE FROM guardrails WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = sqlite3_changes(db_) > 0;
  if (removed) wrote_since_load_ = true;
  return removed;
}

bool SqliteStore::remove_model(const std::string& name) {
  std::lock_guard lock(mutex_);
  std::vector<std::string> users;
  {
    Statement models(db_, "SELECT name, doc FROM models WHERE name <> ?1 ORDER BY name");
    models.bind(1, name);
    while (models.step()) {
      std::vector<core::ConfigError> ignored;
      auto m = core::parse_model(models.text(1), "", ignored);
      if (!m) continue;
      for (const auto& f : m->fallbacks) {
        if (f == name) {
          users.push_back("model " + models.text(0) + " (fallback)");
          break;
        }
      }
    }
    Statement keys(db_, "SELECT name, models FROM keys WHERE revoked_at IS NULL ORDER BY name");
    while (keys.step()) {
      boost::system::error_code ec;
      auto allowed = boost::json::parse(keys.text(1), ec);
      if (ec || !allowed.is_array()) continue;
      for (const auto& a : allowed.as_array())
        if (a.is_string() && a.as_string() == name) users.push_back("key " + keys.text(0));
    }
  }
  if (!users.empty()) {
    throw ResourceConflict("model \"" + name + "\" is used by " + join_names(users) +
                           "; change or delete them first");
  }
  Statement del(db_, "DELETE FROM models WHERE name = ?1");
  del.bind(1, name).step();
  bool removed = sqlite3_changes(db_) > 0;
  wrote_since_load_ = wrote_since_load_ || removed;
  return removed;
}

bool SqliteStore::revoke_key(const std::string& id_or_name) {
  std::lock_guard lock(mutex_);
  Statement revoke(db_,
                   "UPDATE keys SET revoked_at = ?1 "
                   "WHERE (id = ?2 OR name = ?2) AND revoked_at IS NULL");
  revoke.bind(1, now_seconds()).bind(2, id_or_name).step();
  bool revoked = sqlite3_changes(db_) > 0;
  wrote_since_load_ = wrote_since_load_ || revoked;
  return revoked;
}

// --- documents and the audit log -------------------------------------------------------------
// Documents of the kinds load() reads (teams) set wrote_since_load_; the others and the audit
// log do not change what it reads.
namespace {
bool loaded_kind(const std::string& kind) { return kind == "teams"; }
}  // namespace

// A document's literal secrets (its kind's top-level secret fields) sealed, or opened again.
std::string SqliteStore::sealed_document(const std::string& kind, const std::string& doc, bool seal) {
  const core::schema::Kind* k = core::schema::find_kind(kind);
  if (!k) return doc;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(doc, ec);
  if (ec || !v.is_object()) return doc;
  bool changed = false;
  for (const auto& f : k->fields) {
    auto* field = f.type == core::schema::Type::secret ? v.as_object().if_contains(f.name) : nullptr;
    if (!field || !field->is_string()) continue;
    std::string_view value = field->get_string();
    if (seal && is_literal_secret(value)) {
      *field = secrets().seal(value);
      changed = true;
    } else if (!seal && SecretBox::is_sealed(value)) {
      // Sealed under another key: kept sealed (an answer never shows secrets anyway).
      if (auto opened = secrets().open(value)) *field = *opened;
      changed = true;
    }
  }
  return changed ? boost::json::serialize(v) : doc;
}

std::vector<std::pair<std::string, std::string>> SqliteStore::list_documents(const std::string& kind) {
  std::lock_guard lock(mutex_);
  Statement q(db_, "SELECT name, doc FROM documents WHERE kind = ?1 ORDER BY name");
  q.bind(1, kind);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.step()) out.emplace_back(q.text(0), sealed_document(kind, q.text(1), false));
  return out;
}

std::optional<std::string> SqliteStore::get_document(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement q(db_, "SELECT doc FROM documents WHERE kind = ?1 AND name = ?2");
  q.bind(1, kind).bind(2, name);
  if (!q.step()) return std::nullopt;
  return sealed_document(kind, q.text(0), false);
}

void SqliteStore::put_document(const std::string& kind, const std::string& name, const std::string& doc) {
  std::lock_guard lock(mutex_);
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
  Statement upsert(db_,
                   "INSERT INTO documents (kind, name, doc, updated_at) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT(kind, name) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at");
  upsert.bind(1, kind).bind(2, name).bind(3, sealed_document(kind, doc, true)).bind(4, now_seconds()).step();
  wrote_since_load_ = wrote_since_load_ || loaded_kind(kind);
}

bool SqliteStore::remove_document(const std::string& kind, const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement del(db_, "DELETE FROM documents WHERE kind = ?1 AND name = ?2");
  del.bind(1, kind).bind(2, name).step();
  bool removed = sqlite3_changes(db_) > 0;
  wrote_since_load_ = wrote_since_load_ || (removed && loaded_kind(kind));
  return removed;
}

void SqliteStore::append_audit(const AuditEntry& e) {
  std::lock_guard lock(mutex_);
  Statement insert(db_,
                   "INSERT INTO audit (ts_ms, actor, action, status, kind, name, before, after) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  insert.bind(1, e.ts_ms).bind(2, e.actor).bind(3, e.action).bind(4, int64_t{e.status}).bind(5, e.kind);
  insert.bind(6, e.name).bind(7, e.before).bind(8, e.after).step();
}

std::vector<AuditEntry> SqliteStore::list_audit(int limit, int offset) {
  std::lock_guard lock(mutex_);
  Statement q(db_,
              "SELECT ts_ms, actor, action, status, kind, name, before, after FROM audit "
              "ORDER BY id DESC LIMIT ?1 OFFSET ?2");
  q.bind(1, int64_t{limit}).bind(2, int64_t{offset});
  std::vector<AuditEntry> out;
  while (q.step())
    out.push_back({q.integer(0), q.text(1), q.text(2), static_cast<int>(q.integer(3)), q.text(4), q.text(5),
                   q.text(6), q.text(7)});
  return out;
}

}  // namespace tollgate::store
