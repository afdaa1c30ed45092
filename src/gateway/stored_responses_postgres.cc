// The stored responses in PostgreSQL (stored_responses.h): the same table as SQLite's, in the
// database usage records go to, so every replica can continue every chain.
#include <chrono>

#include <boost/json/serialize.hpp>

#include "gateway/stored_responses.h"
#include "obs/pg_connection.h"

namespace tollgate::gateway {
namespace json = boost::json;
using obs::PgConnection;
using obs::usage_sql::Param;

namespace {

class PostgresResponseStore final : public ResponseStore {
 public:
  PostgresResponseStore(const std::string& conninfo, int retention_days, store::SecretBox seal)
      : ResponseStore(retention_days, std::move(seal)), conn_(conninfo, "stored responses (postgres)") {
    std::lock_guard lock(conn_.mutex());
    // Replicas starting together race on CREATE ... IF NOT EXISTS (not atomic in PostgreSQL):
    // one at a time, under an advisory lock held for the transaction.
    conn_.exec_plain("BEGIN");
    try {
      conn_.exec_plain("SELECT pg_advisory_xact_lock(7346128)");
      conn_.exec_plain(
          "CREATE TABLE IF NOT EXISTS stored_responses("
          " id TEXT PRIMARY KEY, key_id TEXT NOT NULL, created_at BIGINT NOT NULL,"
          " previous_id TEXT NOT NULL, response TEXT NOT NULL, input_items TEXT NOT NULL)");
      conn_.exec_plain("CREATE INDEX IF NOT EXISTS stored_responses_created ON stored_responses(created_at)");
      conn_.exec_plain("COMMIT");
    } catch (...) {
      try {
        conn_.exec_plain("ROLLBACK");
      } catch (...) {
      }
      throw;
    }
    conn_.exec("DELETE FROM stored_responses WHERE created_at < ?", {Param{oldest_kept()}});
  }

  void put(std::string_view id, std::string_view key_id, const json::object& response, const json::array& input_items,
           std::string_view previous_id) override {
    const int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::lock_guard lock(conn_.mutex());
    conn_.exec("INSERT INTO stored_responses(id, key_id, created_at, previous_id, response, input_items) "
               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET response = EXCLUDED.response",
               {Param{std::string(id)}, Param{std::string(key_id)}, Param{now}, Param{std::string(previous_id)},
                Param{json::serialize(response)}, Param{json::serialize(input_items)}});
    if (++puts_ % 1000 == 0) conn_.exec("DELETE FROM stored_responses WHERE created_at < ?", {Param{oldest_kept()}});
  }

  std::optional<Stored> get(std::string_view id, std::string_view key_id) override {
    std::lock_guard lock(conn_.mutex());
    auto r = conn_.exec("SELECT response, input_items, previous_id FROM stored_responses "
                        "WHERE id = ? AND key_id = ? AND created_at >= ?",
                        {Param{std::string(id)}, Param{std::string(key_id)}, Param{oldest_kept()}});
    if (PQntuples(r.get()) == 0) return std::nullopt;
    auto col = [&](int c) { return std::string_view(PQgetvalue(r.get(), 0, c), static_cast<std::size_t>(PQgetlength(r.get(), 0, c))); };
    return row(col(0), col(1), col(2));
  }

  bool remove(std::string_view id, std::string_view key_id) override {
    std::lock_guard lock(conn_.mutex());
    auto r = conn_.exec("DELETE FROM stored_responses WHERE id = ? AND key_id = ?",
                        {Param{std::string(id)}, Param{std::string(key_id)}});
    const char* n = PQcmdTuples(r.get());
    return n && *n && std::string_view(n) != "0";
  }

 private:
  PgConnection conn_;
  uint64_t puts_ = 0;
};

}  // namespace

std::shared_ptr<ResponseStore> ResponseStore::open_postgres(const std::string& conninfo, int retention_days,
                                                            store::SecretBox seal) {
  return std::make_shared<PostgresResponseStore>(conninfo, retention_days, std::move(seal));
}

}  // namespace tollgate::gateway
