// The SQL both usage stores share: one schema, one set of queries, so SQLite and PostgreSQL
// answer the Admin UI identically. Statements use '?' placeholders; the PostgreSQL store
// renumbers them to $1..$n. Internal to obs/.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "obs/usage_sink.h"

namespace tollgate::obs::usage_sql {

using Param = std::variant<std::monostate, int64_t, double, bool, std::string>;  // monostate: NULL

enum class Dialect { sqlite, postgres };

// CREATE TABLE and CREATE INDEX statements, in order.
std::vector<std::string> schema(Dialect d);
// Columns added after the first release, as (name, SQL type): a store opening an older table
// adds the ones it lacks.
std::vector<std::pair<std::string, std::string>> added_columns();
// Indexes over added columns, created after them.
std::vector<std::string> added_indexes(Dialect d);

constexpr int kColumns = 23;
// "INSERT INTO usage_records (...) VALUES (?,...),(?,...)" for `rows` rows.
std::string insert_sql(std::size_t rows);
void append_params(const UsageRecord& r, std::vector<Param>& out);  // kColumns params

// One statement that deletes up to `chunk` rows older than the cutoff (param 1).
std::string purge_sql(int chunk);

struct Statement {
  std::string sql;
  std::vector<Param> params;
};
// The cache columns read the `cache` JSON with each engine's own functions.
Statement aggregate_sql(const UsageQuery& q, Dialect d);
Statement requests_sql(const RequestLogQuery& q);
Statement request_sql(const std::string& request_id);

// A result row as either engine presents it.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool is_null(int col) const = 0;
  virtual int64_t get_int(int col) const = 0;
  virtual double get_double(int col) const = 0;
  virtual bool get_bool(int col) const = 0;
  virtual std::string get_text(int col) const = 0;
};

UsageRecord record_from_row(const Row& row);                  // requests_sql / request_sql rows
UsageBucket bucket_from_row(const Row& row, UsageGroup group);  // aggregate_sql rows

// '?' -> '$1', '$2', ... (outside string literals; the statements here have none with '?').
std::string number_placeholders(const std::string& sql);

}  // namespace tollgate::obs::usage_sql
