// The SQL store's connection, whichever engine holds it: SQLite (the embedded default) or
// PostgreSQL (a cluster). SqlStore (sqlite_store.h) writes its statements once, with `?N`
// placeholders, and runs them through this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/secret_box.h"

namespace tollgate::store {

using SqlParam = std::variant<std::monostate, int64_t, std::string>;  // monostate: NULL

// A unique or primary key constraint refused the statement.
class SqlConstraint : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The rows of one statement, read forward once.
class SqlRows {
 public:
  virtual ~SqlRows() = default;
  virtual bool next() = 0;  // false when there are no more rows (or the statement had none)
  virtual std::string text(int col) const = 0;
  virtual int64_t integer(int col) const = 0;
  virtual bool is_null(int col) const = 0;
};

class SqlDb {
 public:
  virtual ~SqlDb() = default;
  virtual std::string describe() const = 0;
  // Runs statements without parameters or rows (DDL, BEGIN, COMMIT).
  virtual void exec(std::string_view sql) = 0;
  // Runs one statement; `?N` names params[N-1]. Throws SqlConstraint, StoreUnavailable (the
  // database cannot be reached) or std::runtime_error.
  virtual std::unique_ptr<SqlRows> query(std::string_view sql, const std::vector<SqlParam>& params) = 0;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  virtual int64_t changes() = 0;

  // Transactions. A write transaction is serialised with every other writer of the store,
  // across processes, so what it checks still holds when it commits.
  virtual void begin_read() = 0;
  virtual void begin_write() = 0;
  // Commits a write transaction, telling the other replicas where they can hear it.
  virtual void commit_write() { exec("COMMIT"); }
  virtual void commit() { exec("COMMIT"); }
  virtual void rollback() noexcept = 0;

  // Moves whenever another connection commits; read inside load()'s transaction.
  virtual int64_t generation() = 0;
  // True when the store may have changed since the load that saw `loaded` (cheap; polled).
  virtual bool changed_since(int64_t loaded) { return generation() != loaded; }

  // The key that seals credentials in this store.
  virtual SecretBox secret_box() = 0;

  // Closes the connection if nothing uses it now (no transaction, no rows being read); the
  // next statement opens it again. SQLite: an idle gateway keeps no connection, nor the
  // library, mapped (issue 18: idle RSS). A no-op where the connection is kept.
  virtual void close_idle() {}

  // Transactions open on this connection (class Transaction): an inner one joins the outer.
  int open_transactions = 0;
};

// A statement: bind, then step through its rows. It runs at the first step().
class Statement {
 public:
  Statement(SqlDb& db, std::string_view sql) : db_(db), sql_(sql) {}

  Statement& bind(int i, std::string_view text) { return set(i, std::string(text)); }
  Statement& bind(int i, int64_t value) { return set(i, value); }
  Statement& bind_null(int i) { return set(i, std::monostate{}); }

  // True while there is a row. With `constraint`, a key constraint that refuses the statement
  // sets it and returns false instead of throwing.
  bool step(bool* constraint = nullptr) {
    if (!rows_) {
      try {
        rows_ = db_.query(sql_, params_);
      } catch (const SqlConstraint&) {
        if (!constraint) throw;
        *constraint = true;
        return false;
      }
    }
    return rows_->next();
  }

  std::string text(int col) const { return rows_->text(col); }
  int64_t integer(int col) const { return rows_->integer(col); }
  bool is_null(int col) const { return rows_->is_null(col); }

 private:
  Statement& set(int i, SqlParam v) {
    if (params_.size() < static_cast<std::size_t>(i)) params_.resize(static_cast<std::size_t>(i));
    params_[static_cast<std::size_t>(i - 1)] = std::move(v);
    return *this;
  }

  SqlDb& db_;
  std::string sql_;
  std::vector<SqlParam> params_;
  std::unique_ptr<SqlRows> rows_;
};

// A transaction that rolls back unless committed. One opened inside another joins it: the
// outer one commits or rolls back the lot (SqlStore::write_together). An inner one that is
// left by a throw does not roll back; the throw that leaves the outer one does, so a write
// that throws after writing must let its throw through.
class Transaction {
 public:
  enum Mode { read, write };
  Transaction(SqlDb& db, Mode mode) : db_(db), mode_(mode), nested_(db.open_transactions > 0) {
    if (!nested_) {
      if (mode == write) db_.begin_write();
      else db_.begin_read();
    }
    ++db_.open_transactions;
  }
  ~Transaction() {
    if (!open_) return;
    --db_.open_transactions;
    if (!nested_) db_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    if (!nested_) {
      if (mode_ == write) db_.commit_write();
      else db_.commit();
    }
    open_ = false;
    --db_.open_transactions;
  }

 private:
  SqlDb& db_;
  Mode mode_;
  bool nested_;
  bool open_ = true;
};

// The SQLite file at `path`, opened (its directory created) but not migrated.
std::unique_ptr<SqlDb> open_sqlite_db(const std::string& path);

}  // namespace tollgate::store
