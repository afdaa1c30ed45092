// The embedded usage store: the gateway's SQLite file, its own two connections (one for the
// writer thread, one for Admin API reads, so a long aggregate never holds up writes: WAL lets
// the reader see a snapshot while the writer commits).
#include <sqlite3.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "obs/usage_sink.h"
#include "obs/usage_sql.h"
#include "store/sqlite_file.h"

namespace tollgate::obs {

namespace {

namespace sql = usage_sql;

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  throw std::runtime_error(fmt::format("usage store: {}: {}", what, db ? sqlite3_errmsg(db) : "no connection"));
}

void exec(sqlite3* db, const std::string& s) {
  char* msg = nullptr;
  if (sqlite3_exec(db, s.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "error";
    sqlite3_free(msg);
    throw std::runtime_error("usage store: " + m + " in: " + s.substr(0, 80));
  }
}

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& s) : db_(db) {
    if (sqlite3_prepare_v2(db, s.c_str(), static_cast<int>(s.size()), &st_, nullptr) != SQLITE_OK)
      fail(db, "prepare");
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // `stable`: the texts outlive the step, so SQLite reads them in place instead of copying.
  void bind(const std::vector<sql::Param>& params, bool stable = false) {
    for (std::size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i + 1);
      const auto& p = params[i];
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(p)) rc = sqlite3_bind_null(st_, idx);
      else if (auto* v = std::get_if<int64_t>(&p)) rc = sqlite3_bind_int64(st_, idx, *v);
      else if (auto* d = std::get_if<double>(&p)) rc = sqlite3_bind_double(st_, idx, *d);
      else if (auto* b = std::get_if<bool>(&p)) rc = sqlite3_bind_int(st_, idx, *b ? 1 : 0);
      else {
        const auto& s = std::get<std::string>(p);
        rc = sqlite3_bind_text(st_, idx, s.data(), static_cast<int>(s.size()), stable ? SQLITE_STATIC : SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) fail(db_, "bind");
    }
  }
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "step");
  }
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  // Every parameter is bound again before the next step: no need to clear them.
  void reset_keeping_bindings() { sqlite3_reset(st_); }
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

class SqliteRow final : public sql::Row {
 public:
  explicit SqliteRow(sqlite3_stmt* st) : st_(st) {}
  bool is_null(int c) const override { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
  int64_t get_int(int c) const override { return sqlite3_column_int64(st_, c); }
  double get_double(int c) const override { return sqlite3_column_double(st_, c); }
  bool get_bool(int c) const override { return sqlite3_column_int(st_, c) != 0; }
  std::string get_text(int c) const override {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st_, c))) : std::string();
  }

 private:
  sqlite3_stmt* st_;
};

sqlite3* open_db(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("usage store: cannot open " + path + ": " + msg);
  }
  // The resource store and other processes share the file: wait for their locks rather than
  // failing at once.
  sqlite3_busy_timeout(db, 5000);
  return db;
}

// A multi-row INSERT into a table with NOT NULL columns may abort halfway, so SQLite keeps a
// statement journal for it (the pages as they were before the statement), spilled to a
// temporary file past 64 KiB: about 23 page writes per 32-row statement, more write syscalls
// than the WAL itself (issue 18: 0.8 of the 1.2 pwrite per request). OR ROLLBACK needs none: a
// failing row ends the whole transaction, which is what write_batch does on any error anyway.
std::string insert_or_rollback(std::size_t rows) {
  std::string sql = sql::insert_sql(rows);
  constexpr std::string_view kInsert = "INSERT INTO";
  if (sql.compare(0, kInsert.size(), kInsert) == 0) sql.replace(0, kInsert.size(), "INSERT OR ROLLBACK INTO");
  return sql;
}

// The connections are opened on first use (a record to write, an Admin API read) and closed
// when the writer has been idle a while (release_memory): an idle gateway keeps neither them
// nor the SQLite library (store/sqlite_loader.cc) mapped. The path is checked at start.
class SqliteUsageStore final : public UsageStore {
 public:
  explicit SqliteUsageStore(std::string path)
      : path_(std::move(path)), may_hold_rows_(!store::check_sqlite_file(path_, "usage store")) {}
  ~SqliteUsageStore() override { close(); }

  void write_batch(const std::vector<UsageRecord>& batch) override {
    if (batch.empty()) return;
    std::lock_guard lock(write_mutex_);
    open();
    // One multi-row INSERT per chunk of kChunk rows, all in one transaction.
    constexpr std::size_t kChunk = 32;
    if (!insert_one_) insert_one_ = std::make_unique<Stmt>(writer_, insert_or_rollback(1));
    if (!insert_many_) insert_many_ = std::make_unique<Stmt>(writer_, insert_or_rollback(kChunk));
    exec(writer_, "BEGIN IMMEDIATE");
    try {
      std::vector<sql::Param> params;
      std::size_t i = 0;
      while (i < batch.size()) {
        std::size_t n = batch.size() - i >= kChunk ? kChunk : 1;
        params.clear();
        for (std::size_t j = 0; j < n; ++j) sql::append_params(batch[i + j], params);
        Stmt& st = n == kChunk ? *insert_many_ : *insert_one_;
        st.bind(params, /*stable=*/true);
        st.step();
        st.reset_keeping_bindings();
        i += n;
      }
      exec(writer_, "COMMIT");
    } catch (...) {
      if (insert_one_) insert_one_->reset();
      if (insert_many_) insert_many_->reset();
      sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  // What a burst of writes leaves behind (SQLite's page caches, up to 2 MB per connection,
  // its code): the connections are closed, and opened again by the next write or read.
  void release_memory() override { close(); }

  int64_t purge_before(int64_t cutoff_ms) override {
    // A file new at start holds no rows until the first write opens it: the purge at start
    // need not open it.
    if (!may_hold_rows_.load(std::memory_order_acquire)) return 0;
    std::lock_guard lock(write_mutex_);
    open();
    constexpr int kChunk = 5000;
    Stmt st(writer_, sql::purge_sql(kChunk));
    int64_t total = 0;
    for (;;) {
      st.bind({sql::Param{cutoff_ms}});
      st.step();
      int n = sqlite3_changes(writer_);
      st.reset();
      total += n;
      if (n < kChunk) return total;
    }
  }

  std::vector<UsageBucket> aggregate(const UsageQuery& q) override {
    std::vector<UsageBucket> out;
    auto s = sql::aggregate_sql(q, sql::Dialect::sqlite);
    std::lock_guard lock(read_mutex_);
    open();
    Stmt st(reader_, s.sql);
    st.bind(s.params);
    SqliteRow row(st.get());
    while (st.step()) out.push_back(sql::bucket_from_row(row, q.group_by));
    return out;
  }

  std::vector<UsageRecord> requests(const RequestLogQuery& q) override {
    return select(sql::requests_sql(q));
  }

  std::optional<UsageRecord> request(const std::string& request_id) override {
    auto rows = select(sql::request_sql(request_id));
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
  }

  std::string describe() const override { return "sqlite:" + path_; }

 private:
  // Both connections, the schema made or brought up to date; by whichever thread comes first
  // while they are closed. A failure leaves nothing open and is retried by the next call.
  // The caller holds write_mutex_ or read_mutex_, so close() cannot run under its feet.
  void open() {
    if (opened_.load(std::memory_order_acquire)) return;
    std::lock_guard lock(open_mutex_);
    if (opened_.load(std::memory_order_relaxed)) return;
    sqlite3* writer = open_db(path_);
    sqlite3* reader = nullptr;
    try {
      exec(writer, "PRAGMA journal_mode=WAL");
      exec(writer, "PRAGMA synchronous=NORMAL");
      for (const auto& s : sql::schema(sql::Dialect::sqlite)) exec(writer, s);
      add_missing_columns(writer);
      reader = open_db(path_);
    } catch (...) {
      sqlite3_close(writer);
      throw;
    }
    writer_ = writer;
    reader_ = reader;
    may_hold_rows_.store(true, std::memory_order_release);
    opened_.store(true, std::memory_order_release);
  }

  void close() {
    std::scoped_lock lock(write_mutex_, read_mutex_, open_mutex_);
    if (!opened_.load(std::memory_order_relaxed)) return;
    insert_one_.reset();
    insert_many_.reset();
    sqlite3_close(reader_);
    sqlite3_close(writer_);  // the writer last: it checkpoints what it wrote if it is the last connection
    reader_ = writer_ = nullptr;
    opened_.store(false, std::memory_order_release);
  }

  // A table made by an older version lacks the columns added since: add them.
  static void add_missing_columns(sqlite3* writer) {
    std::set<std::string> have;
    Stmt info(writer, "PRAGMA table_info(usage_records)");
    SqliteRow row(info.get());
    while (info.step()) have.insert(row.get_text(1));
    for (const auto& [name, type] : sql::added_columns())
      if (!have.contains(name)) exec(writer, "ALTER TABLE usage_records ADD COLUMN " + name + " " + type);
    for (const auto& s : sql::added_indexes()) exec(writer, s);
  }

  std::vector<UsageRecord> select(const sql::Statement& s) {
    std::vector<UsageRecord> out;
    std::lock_guard lock(read_mutex_);
    open();
    Stmt st(reader_, s.sql);
    st.bind(s.params);
    SqliteRow row(st.get());
    while (st.step()) out.push_back(sql::record_from_row(row));
    return out;
  }

  std::string path_;
  std::atomic<bool> may_hold_rows_;  // false for a file new at start until the first open
  std::mutex open_mutex_;
  std::atomic<bool> opened_{false};
  std::mutex write_mutex_;
  std::mutex read_mutex_;
  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
  std::unique_ptr<Stmt> insert_one_, insert_many_;
};

}  // namespace

std::unique_ptr<UsageStore> open_sqlite_usage_store(const std::string& path) {
  return std::make_unique<SqliteUsageStore>(path);
}

}  // namespace tollgate::obs
