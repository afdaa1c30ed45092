// The embedded usage store: the gateway's SQLite file, its own two connections (one for the
// writer thread, one for Admin API reads, so a long aggregate never holds up writes: WAL lets
// the reader see a snapshot while the writer commits).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <iterator>
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

// A number column as bound: nullopt is NULL. Doubles compare by their bits, so a value that
// reads back different (-0.0 after 0.0) is bound again.
std::optional<int64_t> tokens(const UsageRecord& r, int64_t core::Usage::*field) {
  if (!r.usage.known) return std::nullopt;
  return r.usage.*field;
}
std::optional<uint64_t> bits(const std::optional<double>& v) {
  if (!v) return std::nullopt;
  return std::bit_cast<uint64_t>(*v);
}

// Binds one record's kColumns values (the order of usage_sql's column list) from parameter
// `base` + 1 on, straight from the record (texts read in place: the batch outlives the step).
// A value equal to what `was` (the record bound at the same place before, in this batch)
// put there is left bound: a 23-column row costs ~4k instructions to bind in full, and most
// columns repeat from row to row (route, provider, status, the NULLs). Same values as
// usage_sql::append_params: an empty text is NULL, tokens are NULL when usage is unknown.
void bind_record(sqlite3* db, sqlite3_stmt* st, int base, const UsageRecord& r, const UsageRecord* was) {
  int rc = SQLITE_OK;
  int col = base;
  auto text = [&](const std::string UsageRecord::*field) {
    ++col;
    const std::string& v = r.*field;
    if (was && was->*field == v) return;
    rc |= v.empty() ? sqlite3_bind_null(st, col)
                    : sqlite3_bind_text(st, col, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  };
  auto integer = [&](std::optional<int64_t> v, std::optional<int64_t> old) {
    ++col;
    if (was && v == old) return;
    rc |= v ? sqlite3_bind_int64(st, col, *v) : sqlite3_bind_null(st, col);
  };
  auto real = [&](const std::optional<double>& v, const std::optional<double>& old) {
    ++col;
    if (was && bits(v) == bits(old)) return;
    rc |= v ? sqlite3_bind_double(st, col, *v) : sqlite3_bind_null(st, col);
  };
  auto tok = [&](int64_t core::Usage::*field) { integer(tokens(r, field), was ? tokens(*was, field) : std::nullopt); };
  text(&UsageRecord::request_id);
  integer(r.ts, was ? std::optional(was->ts) : std::nullopt);
  text(&UsageRecord::key_id);
  text(&UsageRecord::key_name);
  text(&UsageRecord::model);
  text(&UsageRecord::provider);
  text(&UsageRecord::upstream_model);
  text(&UsageRecord::route);
  integer(r.status, was ? std::optional<int64_t>(was->status) : std::nullopt);
  integer(r.stream ? 1 : 0, was ? std::optional<int64_t>(was->stream ? 1 : 0) : std::nullopt);
  tok(&core::Usage::input_tokens);
  tok(&core::Usage::output_tokens);
  tok(&core::Usage::cached_input_tokens);
  tok(&core::Usage::cache_creation_tokens);
  tok(&core::Usage::reasoning_tokens);
  real(r.cost_usd, was ? was->cost_usd : std::nullopt);
  real(r.latency_ms, was ? std::optional(was->latency_ms) : std::nullopt);
  real(r.ttft_ms, was ? was->ttft_ms : std::nullopt);
  integer(r.attempts, was ? std::optional<int64_t>(was->attempts) : std::nullopt);
  text(&UsageRecord::error);
  text(&UsageRecord::guardrails);
  text(&UsageRecord::cache);
  text(&UsageRecord::team);
  if (rc != SQLITE_OK) fail(db, "bind");
}

// One prepared INSERT of `rows` rows, reused across batches with its parameters bound in place.
class InsertStatement {
 public:
  InsertStatement(sqlite3* db, std::size_t rows) : db_(db), stmt_(db, insert_or_rollback(rows)), bound_(rows) {}
  std::size_t rows() const { return bound_.size(); }
  // The texts bound point into the batch: a new batch binds every value again.
  void forget_bound() { std::fill(bound_.begin(), bound_.end(), nullptr); }
  void write(const UsageRecord* first) {
    for (std::size_t j = 0; j < bound_.size(); ++j) {
      bind_record(db_, stmt_.get(), static_cast<int>(j) * sql::kColumns, first[j], bound_[j]);
      bound_[j] = &first[j];
    }
    stmt_.step();
    stmt_.reset_keeping_bindings();
  }
  void reset() { stmt_.reset(); }

 private:
  sqlite3* db_;
  Stmt stmt_;
  std::vector<const UsageRecord*> bound_;  // what each row's parameters hold, in this batch
};

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
    // Multi-row INSERTs, all in one transaction: a statement's start costs ~15k instructions
    // (more than a row), so rows go 32 at a time, and what is left in the largest statements
    // that fit (16, 8, ... 1: at most five more statements per batch, not 31).
    exec(writer_, "BEGIN IMMEDIATE");
    try {
      for (auto& st : inserts_)
        if (st) st->forget_bound();
      std::size_t i = 0;
      while (i < batch.size()) {
        std::size_t k = 0;
        while (kInsertRows[k] > batch.size() - i) ++k;
        if (!inserts_[k]) inserts_[k] = std::make_unique<InsertStatement>(writer_, kInsertRows[k]);
        inserts_[k]->write(&batch[i]);
        i += kInsertRows[k];
      }
      exec(writer_, "COMMIT");
    } catch (...) {
      for (auto& st : inserts_)
        if (st) st->reset();
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
    for (auto& st : inserts_) st.reset();
    sqlite3_close(reader_);
    sqlite3_close(writer_);  // the writer last: it checkpoints what it wrote if it is the last connection
    reader_ = writer_ = nullptr;
    opened_.store(false, std::memory_order_release);
  }

  // A table made by an older version lacks the columns added since (and has the indexes as
  // they were): bring it up to date.
  static void add_missing_columns(sqlite3* writer) {
    std::set<std::string> have;
    Stmt info(writer, "PRAGMA table_info(usage_records)");
    SqliteRow row(info.get());
    while (info.step()) have.insert(row.get_text(1));
    for (const auto& [name, type] : sql::added_columns())
      if (!have.contains(name)) exec(writer, "ALTER TABLE usage_records ADD COLUMN " + name + " " + type);
    // The team index was over every row before issue 18 (a partial one now): replaced once.
    {
      Stmt team(writer, "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'usage_records_team_ts'");
      SqliteRow idx(team.get());
      if (team.step() && idx.get_text(0).find(" WHERE ") == std::string::npos) {
        team.reset();
        exec(writer, "DROP INDEX usage_records_team_ts");
      }
    }
    for (const auto& s : sql::added_indexes(sql::Dialect::sqlite)) exec(writer, s);
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
  static constexpr std::size_t kInsertRows[] = {32, 16, 8, 4, 2, 1};
  std::unique_ptr<InsertStatement> inserts_[std::size(kInsertRows)];
};

}  // namespace

std::unique_ptr<UsageStore> open_sqlite_usage_store(const std::string& path) {
  return std::make_unique<SqliteUsageStore>(path);
}

}  // namespace tollgate::obs
