// SqlDb on a SQLite file (the embedded default).
#include <sqlite3.h>

#include <filesystem>

#include "store/sql_db.h"

namespace tollgate::store {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

class SqliteRows final : public SqlRows {
 public:
  SqliteRows(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteRows() override { sqlite3_finalize(stmt_); }

  bool next() override {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) throw SqlConstraint(std::string("sqlite: ") + sqlite3_errmsg(db_));
    fail(db_, "sqlite step");
  }
  std::string text(int col) const override {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  int64_t integer(int col) const override { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// A statement whose first step already ran (so a constraint failure surfaces in query(), as
// on PostgreSQL): it hands that first answer back before stepping on.
class SteppedRows final : public SqlRows {
 public:
  SteppedRows(std::unique_ptr<SqliteRows> rows, bool first) : rows_(std::move(rows)), pending_(first), more_(first) {}
  bool next() override {
    if (pending_) {
      pending_ = false;
      return true;
    }
    return more_ && (more_ = rows_->next());
  }
  std::string text(int col) const override { return rows_->text(col); }
  int64_t integer(int col) const override { return rows_->integer(col); }
  bool is_null(int col) const override { return rows_->is_null(col); }

 private:
  std::unique_ptr<SqliteRows> rows_;
  bool pending_, more_;
};

class SqliteDb final : public SqlDb {
 public:
  explicit SqliteDb(std::string path) : path_(std::move(path)) {
    std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) throw std::runtime_error("cannot create the directory " + parent.string() + " for the sqlite store: " + ec.message());
    }
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("cannot open the sqlite store " + path_ + ": " + message);
    }
    try {
      // Several gateway processes (and `tollgate keys`) may share the file: wait for a writer
      // rather than fail, and let readers proceed during writes (WAL).
      sqlite3_busy_timeout(db_, 5000);
      exec("PRAGMA journal_mode=WAL");
      exec("PRAGMA synchronous=NORMAL");
    } catch (...) {
      sqlite3_close(db_);
      throw;
    }
  }
  ~SqliteDb() override { sqlite3_close(db_); }

  std::string describe() const override { return "sqlite:" + path_; }

  void exec(std::string_view sql) override {
    std::string text(sql);
    char* message = nullptr;
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      throw std::runtime_error("sqlite: " + why);
    }
  }

  std::unique_ptr<SqlRows> query(std::string_view sql, const std::vector<SqlParam>& params) override {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
      fail(db_, "sqlite prepare");
    auto rows = std::make_unique<SqliteRows>(db_, stmt);
    for (std::size_t i = 0; i < params.size(); ++i) {
      int at = static_cast<int>(i + 1);
      if (auto* v = std::get_if<int64_t>(&params[i])) sqlite3_bind_int64(stmt, at, *v);
      else if (auto* t = std::get_if<std::string>(&params[i]))
        sqlite3_bind_text(stmt, at, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      else sqlite3_bind_null(stmt, at);
    }
    bool first = rows->next();
    return std::make_unique<SteppedRows>(std::move(rows), first);
  }

  int64_t changes() override { return sqlite3_changes(db_); }

  void begin_read() override { exec("BEGIN"); }
  // IMMEDIATE: the file's write lock at once, so what the transaction reads stays true.
  void begin_write() override { exec("BEGIN IMMEDIATE"); }
  void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

  // Moves for commits by other connections only (the store flags its own writes).
  int64_t generation() override {
    auto rows = query("PRAGMA data_version", {});
    rows->next();
    return rows->integer(0);
  }

  SecretBox secret_box() override { return SecretBox::for_store(path_); }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlDb> open_sqlite_db(const std::string& path) { return std::make_unique<SqliteDb>(path); }

}  // namespace tollgate::store
