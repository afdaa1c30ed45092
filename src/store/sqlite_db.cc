// SqlDb on a SQLite file (the embedded default).
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include "store/sql_db.h"

namespace tollgate::store {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

class SqliteRows final : public SqlRows {
 public:
  SqliteRows(sqlite3* db, sqlite3_stmt* stmt, int& live) : db_(db), stmt_(stmt), live_(live) { ++live_; }
  ~SqliteRows() override {
    sqlite3_finalize(stmt_);
    --live_;
  }

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
  int& live_;  // the connection's count of statements not finalized yet
};

// What a commit to the file changes, seen without SQLite: each file's identity, size and
// modification time, and its first 32 bytes (the WAL's header holds salts that change when a
// writer starts the log over, so a commit that rewrites it at the same size is seen too; the
// database's holds its change counter). Equal states: nothing was committed in between.
struct FileState {
  struct One {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    std::array<char, 32> head{};
    bool operator==(const One&) const = default;
  };
  One db, wal;
  bool operator==(const FileState&) const = default;
};

FileState::One file_state_of(const std::string& path) {
  FileState::One s;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return s;
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    s.exists = true;
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.size = st.st_size;
    s.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (::pread(fd, s.head.data(), s.head.size(), 0) < 0) s.head.fill(0);
  }
  ::close(fd);
  return s;
}

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
  // Opens the connection now, so a bad path stops the caller here (the store's migration then
  // reads the file: one that is not a database stops it too). close_idle() lets it go; the
  // next statement opens it again.
  explicit SqliteDb(std::string path) : path_(std::move(path)) {
    std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) throw std::runtime_error("cannot create the directory " + parent.string() + " for the sqlite store: " + ec.message());
    }
    connect();
  }
  ~SqliteDb() override { disconnect(); }

  std::string describe() const override { return "sqlite:" + path_; }

  void exec(std::string_view sql) override {
    connect();
    std::string text(sql);
    char* message = nullptr;
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      throw std::runtime_error("sqlite: " + why);
    }
  }

  std::unique_ptr<SqlRows> query(std::string_view sql, const std::vector<SqlParam>& params) override {
    connect();
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
      fail(db_, "sqlite prepare");
    auto rows = std::make_unique<SqliteRows>(db_, stmt, live_rows_);
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

  int64_t changes() override { return db_ ? sqlite3_changes(db_) : 0; }

  void begin_read() override { exec("BEGIN"); }
  // IMMEDIATE: the file's write lock at once, so what the transaction reads stays true.
  void begin_write() override {
    exec("BEGIN IMMEDIATE");
    wrote_ = true;
  }
  void rollback() noexcept override {
    if (db_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  // The resources' generation: a counter the store's triggers move with every committed write
  // of a resource row, by any connection or process (sqlite_store.cc), so it means the same
  // across connections, unlike data_version. Usage records written to the same file leave it.
  int64_t generation() override {
    connect();        // first: opening makes the WAL file if it was not there
    seen_ = files();  // before the read: a commit after it changes the files again
    auto rows = query("SELECT value FROM meta WHERE key = 'generation'", {});
    return rows->next() ? rows->integer(0) : 0;
  }
  // Polled every second: while the files are as they were at the last look, nothing was
  // committed and SQLite is not needed (nor loaded). Otherwise the generation says whether
  // it was a resource (usage records land in the same file under traffic).
  bool changed_since(int64_t loaded) override {
    if (files() == seen_) return false;
    return generation() != loaded;
  }

  SecretBox secret_box() override { return SecretBox::for_store(path_); }

  void close_idle() override {
    if (open_transactions == 0 && live_rows_ == 0) disconnect();
  }

 private:
  void connect() {
    if (db_) return;
    int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      db_ = nullptr;
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
      db_ = nullptr;
      throw;
    }
    wrote_ = false;
  }

  // A connection that only read leaves the files as they are: no checkpoint at close (which
  // would rewrite the database and delete the WAL when it is the last one, a change the next
  // look would have to open SQLite again to rule out). One that wrote checkpoints as usual,
  // so what it wrote is in the database file once the last connection is gone.
  void disconnect() {
    if (!db_) return;
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, wrote_ ? 0 : 1, nullptr);
    if (sqlite3_close(db_) == SQLITE_OK) db_ = nullptr;
  }

  FileState files() const { return {file_state_of(path_), file_state_of(path_ + "-wal")}; }

  std::string path_;
  sqlite3* db_ = nullptr;
  int live_rows_ = 0;
  bool wrote_ = false;  // since connect()
  FileState seen_;      // the files when generation() was last read
};

}  // namespace

std::unique_ptr<SqlDb> open_sqlite_db(const std::string& path) { return std::make_unique<SqliteDb>(path); }

}  // namespace tollgate::store
