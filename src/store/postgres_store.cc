// The PostgreSQL store: every replica of a cluster reads and writes the same rows. A write
// commits under one advisory lock (so what it checked still holds), bumps the store's
// generation and NOTIFYs it; each replica LISTENs, and compares generations every second in
// case a notification was lost (a dropped connection).
#include <fcntl.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <spdlog/spdlog.h>

#include "obs/pg_connection.h"
#include "store/apply.h"
#include "store/sqlite_store.h"

namespace tollgate::store {
namespace {

// Resources live in a schema of their own, so the database can hold usage rows beside them.
constexpr const char* kPgSchema = R"sql(
CREATE TABLE IF NOT EXISTS providers (
  name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at BIGINT, version BIGINT NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS models (
  name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at BIGINT, version BIGINT NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS guardrails (
  name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at BIGINT, version BIGINT NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS mcp_servers (
  name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at BIGINT, version BIGINT NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS keys (
  id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, hash TEXT UNIQUE NOT NULL, prefix TEXT, models TEXT,
  expires_at BIGINT, created_at BIGINT, revoked_at BIGINT, settings TEXT, version BIGINT NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS documents (
  kind TEXT NOT NULL, name TEXT NOT NULL, doc TEXT NOT NULL, updated_at BIGINT,
  version BIGINT NOT NULL DEFAULT 1, PRIMARY KEY (kind, name));
CREATE TABLE IF NOT EXISTS audit (
  id BIGSERIAL PRIMARY KEY, ts_ms BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  status INTEGER, kind TEXT, name TEXT, before TEXT, after TEXT);
INSERT INTO meta (key, value) VALUES ('generation', '0') ON CONFLICT DO NOTHING;
)sql";

// meta.schema_version of the store. 1: the tables above. Bump it with a step in migrate().
constexpr int64_t kSchemaVersion = 1;
// Advisory lock ids ("tollgate" resources): migrations, and every write transaction.
constexpr int64_t kMigrationLock = 0x746f6c6c01;
constexpr int64_t kWriteLock = 0x746f6c6c02;
constexpr const char* kChannel = "tollgate_resources";
// The safety net under LISTEN/NOTIFY (a lost notification: a LISTEN connection that broke
// unnoticed): one small query a second per replica keeps even that case near the second.
constexpr auto kGenerationCheck = std::chrono::seconds(1);

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// "postgres:HOST:PORT/DB", never the password.
std::string where_of(const std::string& conninfo) {
  std::string host = "localhost", port = "5432", db;
  if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), nullptr)) {
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (!o->val || !*o->val) continue;
      std::string_view k = o->keyword;
      if (k == "host" || k == "hostaddr") host = o->val;
      else if (k == "port") port = o->val;
      else if (k == "dbname") db = o->val;
    }
    PQconninfoFree(opts);
  }
  return "postgres:" + host + ":" + port + "/" + db;
}

// `?N` placeholders as PostgreSQL's `$N`.
std::string numbered(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  for (char c : sql) out += c == '?' ? '$' : c;
  return out;
}

class PgRows final : public SqlRows {
 public:
  explicit PgRows(obs::Result r) : r_(std::move(r)), n_(PQntuples(r_.get())) {}
  bool next() override { return ++row_ < n_; }
  std::string text(int col) const override {
    return std::string(PQgetvalue(r_.get(), row_, col), static_cast<std::size_t>(PQgetlength(r_.get(), row_, col)));
  }
  int64_t integer(int col) const override { return std::strtoll(PQgetvalue(r_.get(), row_, col), nullptr, 10); }
  bool is_null(int col) const override { return PQgetisnull(r_.get(), row_, col) != 0; }

 private:
  obs::Result r_;
  int n_;
  int row_ = -1;
};

class PgDb final : public SqlDb {
 public:
  explicit PgDb(const std::string& url) : conninfo_(obs::with_connect_timeout(url)), where_(where_of(conninfo_)) {}
  ~PgDb() override {
    close(conn_);
    close(listen_);
  }

  std::string describe() const override { return where_; }

  void exec(std::string_view sql) override { run(std::string(sql), {}); }

  std::unique_ptr<SqlRows> query(std::string_view sql, const std::vector<SqlParam>& params) override {
    return std::make_unique<PgRows>(run(numbered(sql), params));
  }

  int64_t changes() override { return changes_; }

  void begin_read() override { begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
  void begin_write() override {
    begin("BEGIN");
    try {
      exec("SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLock) + ")");
    } catch (...) {
      rollback();  // no Transaction owns it yet
      throw;
    }
  }
  void commit_write() override {
    auto r = run("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation' RETURNING value", {});
    std::string generation = PQntuples(r.get()) ? PQgetvalue(r.get(), 0, 0) : "0";
    // Delivered when (and only if) the transaction commits.
    run(std::string("SELECT pg_notify('") + kChannel + "', $1)", {generation});
    commit();
  }
  void commit() override {
    exec("COMMIT");
    in_tx_ = false;
  }
  void rollback() noexcept override {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK && !broken_) PQclear(PQexec(conn_, "ROLLBACK"));
    in_tx_ = broken_ = false;
  }

  int64_t generation() override {
    auto r = run("SELECT value FROM meta WHERE key = 'generation'", {});
    return PQntuples(r.get()) ? std::strtoll(PQgetvalue(r.get(), 0, 0), nullptr, 10) : 0;
  }

  bool changed_since(int64_t loaded) override {
    auto now = std::chrono::steady_clock::now();
    bool check = now >= next_check_;
    if (!listening()) check = true;  // notifications may have been missed meanwhile
    bool notified = false;
    if (listen_) {
      if (!PQconsumeInput(listen_) || PQstatus(listen_) != CONNECTION_OK) {
        close(listen_);
        check = true;
      } else {
        while (PGnotify* n = PQnotifies(listen_)) {
          notified = true;
          spdlog::debug("resource store {}: notified of generation {}", where_, n->extra);
          PQfreemem(n);
        }
      }
    }
    if (notified) return true;
    if (!check) return false;
    bool moved = generation() != loaded;
    next_check_ = now + kGenerationCheck;
    return moved;
  }

  SecretBox secret_box() override {
    const char* env = std::getenv("TOLLGATE_SECRET_KEY");
    if (!env || !*env)
      throw std::runtime_error("the store " + where_ +
                               " seals credentials with TOLLGATE_SECRET_KEY, which every replica must share: set it "
                               "(64 hex digits, or a passphrase) on every replica");
    return SecretBox::for_store("");
  }

 private:
  static void close(PGconn*& c) {
    if (c) PQfinish(c);
    c = nullptr;
  }

  PGconn* connect() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
    close(conn_);
    conn_ = PQconnectdb(conninfo_.c_str());
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
      std::string why = conn_ ? trimmed(PQerrorMessage(conn_)) : "out of memory";
      close(conn_);
      throw StoreUnavailable("the resource store " + where_ + " cannot be reached: " + why);
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    PQclear(PQexec(conn_, "SET search_path TO tollgate"));
    if (setup && !in_setup_) {
      // Started from the snapshot cache: the schema is made or checked at the first connection.
      // Until that succeeds, every connection tries again.
      in_setup_ = true;
      try {
        setup();
      } catch (...) {
        in_setup_ = false;
        close(conn_);
        throw;
      }
      in_setup_ = false;
      setup = nullptr;
    }
    return conn_;
  }

 public:
  std::function<void()> setup;  // run once the database first answers (PostgresStore)

 private:
  // Connects the LISTEN connection when it is not; false while it cannot.
  bool listening() {
    if (listen_ && PQstatus(listen_) == CONNECTION_OK) return true;
    close(listen_);
    listen_ = PQconnectdb(conninfo_.c_str());
    if (!listen_ || PQstatus(listen_) != CONNECTION_OK) {
      close(listen_);
      return false;
    }
    PQsetNoticeProcessor(listen_, [](void*, const char*) {}, nullptr);
    obs::Result r(PQexec(listen_, (std::string("LISTEN ") + kChannel).c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      close(listen_);
      return false;
    }
    spdlog::debug("resource store {}: listening on {}", where_, kChannel);
    return true;
  }

  void begin(const char* sql) {
    in_tx_ = broken_ = false;
    exec(sql);
    in_tx_ = true;
  }

  obs::Result run(const std::string& sql, const std::vector<SqlParam>& params) {
    try {
      return run_once(sql, params);
    } catch (const StoreUnavailable&) {
      // An idle connection the server dropped (it restarted): the first statement finds out.
      // Outside a transaction nothing was lost: once more on a fresh connection.
      if (in_tx_) throw;
      return run_once(sql, params);
    }
  }

  obs::Result run_once(const std::string& sql, const std::vector<SqlParam>& params) {
    // A transaction whose connection broke is over: its statements must not run outside it.
    if (broken_) throw StoreUnavailable("the resource store " + where_ + " went away during a transaction");
    PGconn* c = connect();
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<std::string> storage(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (auto* v = std::get_if<int64_t>(&params[i])) storage[i] = std::to_string(*v);
      else if (auto* t = std::get_if<std::string>(&params[i])) storage[i] = *t;
      else continue;
      values[i] = storage[i].c_str();
    }
    obs::Result r(params.empty() ? PQexec(c, sql.c_str())
                                 : PQexecParams(c, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                                values.data(), nullptr, nullptr, 0));
    auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      if (const char* n = PQcmdTuples(r.get()); n && *n) changes_ = std::strtoll(n, nullptr, 10);
      return r;
    }
    std::string why = trimmed(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(c));
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    std::string_view code = state ? state : "";
    // Gone (connection lost, the server shutting down or starting up): unavailable, not wrong.
    if (PQstatus(c) != CONNECTION_OK || code.starts_with("08") || code.starts_with("57P")) {
      close(conn_);
      if (in_tx_) broken_ = true;
      throw StoreUnavailable("the resource store " + where_ + " is unavailable: " + why);
    }
    if (code == "23505") throw SqlConstraint("postgres: " + why);
    throw std::runtime_error("postgres: " + why);
  }

  std::string conninfo_;
  std::string where_;
  PGconn* conn_ = nullptr;
  PGconn* listen_ = nullptr;
  int64_t changes_ = 0;
  bool in_setup_ = false;
  bool in_tx_ = false;
  bool broken_ = false;
  std::chrono::steady_clock::time_point next_check_{};
};

// Creates or migrates the schema once, whichever replica gets the lock first; the others find
// it done. A newer store is refused: this binary cannot know what the newer one changed.
void migrate(SqlDb& db) {
  db.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")");
  struct Unlock {
    SqlDb& db;
    ~Unlock() {
      try {
        db.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
      } catch (const std::exception&) {  // a lost connection let go of it anyway
      }
    }
  } unlock{db};
  db.exec("CREATE SCHEMA IF NOT EXISTS tollgate; CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  int64_t version = 0;
  {
    Statement v(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (v.step()) version = std::strtoll(v.text(0).c_str(), nullptr, 10);
  }
  if (version > kSchemaVersion)
    throw std::runtime_error("the store " + db.describe() + " has schema version " + std::to_string(version) +
                             ", newer than this tollgate knows (" + std::to_string(kSchemaVersion) +
                             "): a newer tollgate migrated it; run that version (or newer) on every replica");
  if (version == kSchemaVersion) return;
  Transaction tx(db, Transaction::write);
  db.exec(kPgSchema);
  Statement(db, "INSERT INTO meta (key, value) VALUES ('schema_version', ?1) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
      .bind(1, std::to_string(kSchemaVersion))
      .step();
  tx.commit();
  spdlog::info("migrated the store {} from schema version {} to {}", db.describe(), version, kSchemaVersion);
}

// Written beside itself and renamed over it, so a reader never sees half a file; owner-only,
// though every credential in it is sealed.
void write_atomically(const std::string& path, const std::string& text) {
  std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw std::runtime_error("cannot replace " + path + ": " + std::strerror(err));
  }
}

}  // namespace

PostgresStore::PostgresStore(const std::string& url, std::string snapshot_cache)
    : SqlStore(std::make_unique<PgDb>(url)), snapshot_cache_(std::move(snapshot_cache)) {
  try {
    migrate(*db_);
  } catch (const StoreUnavailable& e) {
    if (snapshot_cache_.empty()) throw;
    if (!std::filesystem::exists(snapshot_cache_))
      throw StoreUnavailable(std::string(e.what()) + ", and there is no snapshot cache at " + snapshot_cache_ +
                             " yet (it is written after each good load from the database)");
    spdlog::warn("{}: starting from the snapshot cache {}; resource writes answer 503 until the database answers, "
                 "then it is read at once",
                 e.what(), snapshot_cache_);
    from_cache_ = true;
    static_cast<PgDb&>(*db_).setup = [this] { migrate(*db_); };
    return;
  }
  check_secret_key_at_open();
}

core::ParseResult PostgresStore::load() {
  try {
    std::lock_guard lock(mutex_);
    Transaction tx(*db_, Transaction::read);  // the snapshot and its cache from one read
    core::ParseResult result = SqlStore::load();
    std::string cache;
    if (result.ok() && !snapshot_cache_.empty()) {
      try {
        cache = export_resources(*this);
      } catch (const StoreUnavailable&) {
        throw;
      } catch (const std::exception& e) {
        spdlog::warn("snapshot cache {} not written: {}", snapshot_cache_, e.what());
      }
    }
    tx.commit();
    from_cache_ = false;
    if (!cache.empty()) {
      try {
        write_atomically(snapshot_cache_, cache);
      } catch (const std::exception& e) {
        spdlog::warn("snapshot cache not written: {}", e.what());
      }
    }
    return result;
  } catch (const StoreUnavailable& e) {
    // Only the first load of a start from the cache reads it; later, the last good snapshot
    // (the cache's, or newer) keeps serving as with any outage.
    if (!from_cache_ || served_cache_) throw;
    served_cache_ = true;
    std::ifstream in(snapshot_cache_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      core::ParseResult unreadable;
      unreadable.errors.push_back({snapshot_cache_, 0, 0, "", "the snapshot cache cannot be read"});
      return unreadable;
    }
    // The store's key check needs the database: a cache sealed with another key fails here,
    // where its credentials do not open.
    SecretBox box = db_->secret_box();
    spdlog::info("resources from the snapshot cache {} (the database {} cannot be reached)", snapshot_cache_,
                 describe());
    return read_export(text.str(), snapshot_cache_, [&](std::string_view sealed) { return box.open(sealed); });
  }
}

bool PostgresStore::changed() {
  if (!from_cache_) return SqlStore::changed();
  std::lock_guard lock(mutex_);
  db_->generation();  // throws StoreUnavailable while the database is away
  return true;
}

}  // namespace tollgate::store
