// The stored responses: what both backends share (the chain walk, row parsing), and the SQLite
// backend. The PostgreSQL backend is in stored_responses_postgres.cc.
#include "gateway/stored_responses.h"

#include <sqlite3.h>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "store/sqlite_file.h"

namespace tollgate::gateway {
namespace json = boost::json;

namespace {

// The longest chain followed by previous_response_id (a loop in bad data cannot spin).
constexpr int kMaxChain = 10'000;

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One prepared statement for the life of a call.
class Stmt {
 public:
  Stmt(sqlite3* db, std::string_view sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st_, nullptr) != SQLITE_OK)
      throw std::runtime_error(fmt::format("stored responses: {}", sqlite3_errmsg(db)));
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt& text(int i, std::string_view v) {
    // An empty view may have no data pointer, which SQLite would bind as NULL.
    sqlite3_bind_text(st_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& integer(int i, int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw std::runtime_error(fmt::format("stored responses: {}", sqlite3_errmsg(db_)));
    return false;
  }
  std::string_view column(int i) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, i));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, i))) : std::string_view{};
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

// The connection is opened on the first put or get, not at start (store/sqlite_file.h: an idle
// gateway does not page in SQLite); the path is checked at start.
class SqliteResponseStore final : public ResponseStore {
 public:
  SqliteResponseStore(const std::string& path, int retention_days, store::SecretBox seal)
      : ResponseStore(retention_days, std::move(seal)), path_(path) {
    // A new file holds nothing to expire; an existing one is opened now for the expiry at start.
    if (!store::check_sqlite_file(path_, "stored responses")) {
      std::lock_guard lock(mu_);
      open();
    }
  }
  ~SqliteResponseStore() override { sqlite3_close(db_); }

  void put(std::string_view id, std::string_view key_id, const json::object& response, const json::array& input_items,
           std::string_view previous_id) override {
    std::lock_guard lock(mu_);
    open();
    Stmt(db_, "INSERT OR REPLACE INTO stored_responses(id, key_id, created_at, previous_id, response, input_items) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .text(1, id).text(2, key_id).integer(3, now_unix()).text(4, previous_id)
        .text(5, json::serialize(response)).text(6, json::serialize(input_items))
        .step();
    if (++puts_ % 1000 == 0) expire();
  }

  std::optional<Stored> get(std::string_view id, std::string_view key_id) override {
    std::lock_guard lock(mu_);
    open();
    Stmt st(db_, "SELECT response, input_items, previous_id FROM stored_responses WHERE id = ?1 AND key_id = ?2 AND created_at >= ?3");
    st.text(1, id).text(2, key_id).integer(3, oldest_kept());
    if (!st.step()) return std::nullopt;
    return row(st.column(0), st.column(1), st.column(2));
  }

  bool remove(std::string_view id, std::string_view key_id) override {
    std::lock_guard lock(mu_);
    open();
    Stmt(db_, "DELETE FROM stored_responses WHERE id = ?1 AND key_id = ?2").text(1, id).text(2, key_id).step();
    return sqlite3_changes(db_) > 0;
  }

 private:
  // The connection and the table, then rows past the retention dropped; with mu_ held. A
  // failure leaves nothing open and is retried by the next call.
  void open() {
    if (db_) return;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      throw std::runtime_error(fmt::format("stored responses: cannot open {}: {}", path_, msg));
    }
    sqlite3_busy_timeout(db, 2000);
    char* err = nullptr;
    const char* schema =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE IF NOT EXISTS stored_responses("
        " id TEXT PRIMARY KEY, key_id TEXT NOT NULL, created_at INTEGER NOT NULL,"
        " previous_id TEXT NOT NULL, response TEXT NOT NULL, input_items TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS stored_responses_created ON stored_responses(created_at);";
    if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "error";
      sqlite3_free(err);
      sqlite3_close(db);
      throw std::runtime_error("stored responses: " + msg);
    }
    db_ = db;
    expire();
  }

  void expire() { Stmt(db_, "DELETE FROM stored_responses WHERE created_at < ?1").integer(1, oldest_kept()).step(); }

  std::string path_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  uint64_t puts_ = 0;
};

}  // namespace

std::shared_ptr<ResponseStore> ResponseStore::open_sqlite(const std::string& path, int retention_days,
                                                          store::SecretBox seal) {
  return std::make_shared<SqliteResponseStore>(path, retention_days, std::move(seal));
}

int64_t ResponseStore::oldest_kept() const { return now_unix() - int64_t{retention_days_} * 86400; }

std::optional<ResponseStore::Stored> ResponseStore::row(std::string_view response, std::string_view input_items,
                                                        std::string_view previous_id) {
  boost::system::error_code ec1, ec2;
  auto r = json::parse(response, ec1);
  auto in = json::parse(input_items, ec2);
  if (ec1 || ec2 || !r.is_object() || !in.is_array()) return std::nullopt;
  return Stored{std::move(r.as_object()), std::move(in.as_array()), std::string(previous_id)};
}

bool ResponseStore::history(std::string_view id, std::string_view key_id, json::array& items) {
  std::vector<Stored> chain;
  std::string next(id);
  for (int i = 0; !next.empty() && i < kMaxChain; ++i) {
    auto s = get(next, key_id);
    if (!s) return false;
    next = s->previous_id;
    chain.push_back(std::move(*s));
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (auto& v : it->input_items) items.push_back(std::move(v));
    if (auto* out = it->response.if_contains("output"); out && out->is_array())
      for (auto& v : out->as_array()) items.push_back(std::move(v));
  }
  return true;
}

}  // namespace tollgate::gateway
