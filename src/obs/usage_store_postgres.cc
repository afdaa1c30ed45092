// The shared usage store for several replicas: PostgreSQL through libpq. The same schema and
// queries as SQLite (obs/usage_sql.h). A batch is one multi-row INSERT (one statement, so
// all or nothing); a failed statement on a broken connection drops the connection, and the
// next call connects again, so a restarted server is picked up without restarting the gateway.
//
// Built only when libpq's header is visible (CMake links PostgreSQL::PostgreSQL, which adds
// its include directory); otherwise open_postgres_usage_store() says the build lacks it.
#include "obs/usage_sink.h"

#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "obs/pg_connection.h"
#include "obs/usage_sql.h"

namespace tollgate::obs {

namespace {

namespace sql = usage_sql;

class PgRow final : public sql::Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  bool is_null(int c) const override { return PQgetisnull(r_, row_, c) != 0; }
  int64_t get_int(int c) const override {
    if (is_null(c)) return 0;
    return std::strtoll(PQgetvalue(r_, row_, c), nullptr, 10);
  }
  double get_double(int c) const override {
    if (is_null(c)) return 0;
    return std::strtod(PQgetvalue(r_, row_, c), nullptr);
  }
  bool get_bool(int c) const override {
    const char* v = PQgetvalue(r_, row_, c);
    return v && (v[0] == 't' || v[0] == '1');
  }
  std::string get_text(int c) const override {
    return std::string(PQgetvalue(r_, row_, c), static_cast<std::size_t>(PQgetlength(r_, row_, c)));
  }

 private:
  const PGresult* r_;
  int row_;
};


// Bump with the migration step that goes with it (the columns of sql::added_columns() are
// version 1; 2 adds team and its index).
constexpr int64_t kUsageSchemaVersion = 2;

class PostgresUsageStore final : public UsageStore {
 public:
  explicit PostgresUsageStore(const std::string& conninfo) : writer_(conninfo), reader_(conninfo) {
    std::lock_guard lock(writer_.mutex());
    // Replicas starting together race on CREATE ... IF NOT EXISTS (it is not atomic in
    // PostgreSQL): serialise them on an advisory lock held for the transaction.
    writer_.exec_plain("BEGIN");
    try {
      writer_.exec_plain("SELECT pg_advisory_xact_lock(7346127)");
      // The schema version of the usage table: migrated once by a newer binary, refused by an
      // older one (it cannot know what a newer one changed). 0: a table from before versions.
      writer_.exec_plain(
          "CREATE TABLE IF NOT EXISTS tollgate_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)");
      Result v = writer_.exec("SELECT version FROM tollgate_schema WHERE component = 'usage'", {});
      const int64_t version = PQntuples(v.get()) > 0 ? PgRow(v.get(), 0).get_int(0) : 0;
      if (version > kUsageSchemaVersion)
        throw std::runtime_error(fmt::format(
            "usage store (postgres): the usage table has schema version {}, newer than this tollgate "
            "knows ({}): a newer tollgate wrote it; run that version (or newer) against it",
            version, kUsageSchemaVersion));
      if (version < kUsageSchemaVersion) {
        for (const auto& s : sql::schema(sql::Dialect::postgres)) writer_.exec_plain(s);
        for (const auto& [name, type] : sql::added_columns())
          writer_.exec_plain("ALTER TABLE usage_records ADD COLUMN IF NOT EXISTS " + name + " " + type);
        for (const auto& s : sql::added_indexes(sql::Dialect::postgres)) writer_.exec_plain(s);
        writer_.exec_plain(fmt::format(
            "INSERT INTO tollgate_schema (component, version) VALUES ('usage', {0}) "
            "ON CONFLICT (component) DO UPDATE SET version = {0}",
            kUsageSchemaVersion));
      }
      writer_.exec_plain("COMMIT");
    } catch (...) {
      try {
        writer_.exec_plain("ROLLBACK");
      } catch (...) {
      }
      throw;
    }
  }

  void write_batch(const std::vector<UsageRecord>& batch) override {
    if (batch.empty()) return;
    std::vector<sql::Param> params;
    params.reserve(batch.size() * sql::kColumns);
    for (const auto& r : batch) sql::append_params(r, params);
    std::lock_guard lock(writer_.mutex());
    writer_.exec(sql::insert_sql(batch.size()), params);  // one statement: atomic
  }

  int64_t purge_before(int64_t cutoff_ms) override {
    constexpr int kChunk = 5000;
    int64_t total = 0;
    std::lock_guard lock(writer_.mutex());
    for (;;) {
      Result r = writer_.exec(sql::purge_sql(kChunk), {sql::Param{cutoff_ms}});
      int64_t n = std::strtoll(PQcmdTuples(r.get()), nullptr, 10);
      total += n;
      if (n < kChunk) return total;
    }
  }

  std::vector<UsageBucket> aggregate(const UsageQuery& q) override {
    auto s = sql::aggregate_sql(q, sql::Dialect::postgres);
    std::vector<UsageBucket> out;
    std::lock_guard lock(reader_.mutex());
    Result r = reader_.exec(s.sql, s.params);
    for (int i = 0, n = PQntuples(r.get()); i < n; ++i) out.push_back(sql::bucket_from_row(PgRow(r.get(), i), q.group_by));
    return out;
  }

  std::vector<UsageRecord> requests(const RequestLogQuery& q) override { return select(sql::requests_sql(q)); }

  std::optional<UsageRecord> request(const std::string& request_id) override {
    auto rows = select(sql::request_sql(request_id));
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
  }

  std::string describe() const override { return const_cast<PgConnection&>(writer_).describe(); }

 private:
  std::vector<UsageRecord> select(const sql::Statement& s) {
    std::vector<UsageRecord> out;
    std::lock_guard lock(reader_.mutex());
    Result r = reader_.exec(s.sql, s.params);
    for (int i = 0, n = PQntuples(r.get()); i < n; ++i) out.push_back(sql::record_from_row(PgRow(r.get(), i)));
    return out;
  }

  PgConnection writer_;
  PgConnection reader_;
};

}  // namespace

bool postgres_usage_store_available() { return true; }

std::unique_ptr<UsageStore> open_postgres_usage_store(const std::string& conninfo) {
  return std::make_unique<PostgresUsageStore>(conninfo);
}

}  // namespace tollgate::obs

#else  // no libpq in this build

#include <stdexcept>

namespace tollgate::obs {

bool postgres_usage_store_available() { return false; }

std::unique_ptr<UsageStore> open_postgres_usage_store(const std::string&) {
  throw std::runtime_error("usage store: this build has no PostgreSQL support (libpq)");
}

}  // namespace tollgate::obs

#endif
