#include "obs/usage_sql.h"

#include <algorithm>

#include <fmt/format.h>

namespace tollgate::obs::usage_sql {

namespace {

constexpr const char* kColumnList =
    "request_id, ts, key_id, key_name, model, provider, upstream_model, route, status, stream, "
    "input_tokens, output_tokens, cached_tokens, cache_creation_tokens, reasoning_tokens, "
    "cost_usd, latency_ms, ttft_ms, attempts, error, guardrails, cache, team";

Param text_or_null(const std::string& s) {
  if (s.empty()) return std::monostate{};
  return s;
}

Param tokens(const core::Usage& u, int64_t v) {
  if (!u.known) return std::monostate{};
  return v;
}

// WHERE clause over the filters both queries share.
void where(int64_t from_ms, int64_t to_ms, const std::optional<std::string>& key_id,
           const std::optional<std::string>& model, const std::optional<std::string>& provider,
           const std::optional<std::string>& team, std::string& sql, std::vector<Param>& params) {
  sql += " WHERE ts >= ? AND ts < ?";
  params.emplace_back(from_ms);
  params.emplace_back(to_ms);
  auto eq = [&](const char* col, const std::optional<std::string>& v) {
    if (!v) return;
    if (v->empty()) {
      sql += fmt::format(" AND {} IS NULL", col);
    } else {
      sql += fmt::format(" AND {} = ?", col);
      params.emplace_back(*v);
    }
  };
  eq("key_id", key_id);
  eq("model", model);
  eq("provider", provider);
  eq("team", team);
}

}  // namespace

std::vector<std::string> schema(Dialect d) {
  const char* id = d == Dialect::sqlite ? "id INTEGER PRIMARY KEY"
                                        : "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY";
  return {
      fmt::format(
          "CREATE TABLE IF NOT EXISTS usage_records ("
          "{}, "
          "request_id TEXT NOT NULL, "
          "ts BIGINT NOT NULL, "  // unix ms
          "key_id TEXT, key_name TEXT, model TEXT, provider TEXT, upstream_model TEXT, route TEXT, "
          "status INTEGER NOT NULL, "
          "stream BOOLEAN NOT NULL, "
          "input_tokens BIGINT, output_tokens BIGINT, cached_tokens BIGINT, "  // NULL: usage unknown
          "cache_creation_tokens BIGINT, reasoning_tokens BIGINT, "
          "cost_usd DOUBLE PRECISION, "  // NULL: price unknown
          "latency_ms DOUBLE PRECISION NOT NULL, "
          "ttft_ms DOUBLE PRECISION, "
          "attempts INTEGER NOT NULL, "
          "error TEXT, "
          "guardrails TEXT, "  // JSON array of hits; NULL: none
          "cache TEXT, "       // JSON object (the cache's verdict); NULL: no cache policy
          "team TEXT)",        // the key's team; NULL: none
          id),
      "CREATE INDEX IF NOT EXISTS usage_records_ts ON usage_records (ts)",
      "CREATE INDEX IF NOT EXISTS usage_records_key_ts ON usage_records (key_id, ts)",
      "CREATE INDEX IF NOT EXISTS usage_records_model_ts ON usage_records (model, ts)",
      "CREATE INDEX IF NOT EXISTS usage_records_request_id ON usage_records (request_id)",
  };
}

std::vector<std::pair<std::string, std::string>> added_columns() {
  return {{"guardrails", "TEXT"}, {"cache", "TEXT"}, {"team", "TEXT"}};
}

std::vector<std::string> added_indexes(Dialect d) {
  // SQLite: only the rows of keys in a team are indexed. Most rows have none, and each one
  // cost the writer an index insert (~2k instructions, issue 18). `team = ?` implies `team IS
  // NOT NULL`, so every team filter still uses it (usage_store_bench reads, EXPLAIN QUERY PLAN).
  if (d == Dialect::sqlite)
    return {"CREATE INDEX IF NOT EXISTS usage_records_team_ts ON usage_records (team, ts) WHERE team IS NOT NULL"};
  return {"CREATE INDEX IF NOT EXISTS usage_records_team_ts ON usage_records (team, ts)"};
}

std::string insert_sql(std::size_t rows) {
  std::string row = "(?";
  for (int i = 1; i < kColumns; ++i) row += ",?";
  row += ")";
  std::string sql = fmt::format("INSERT INTO usage_records ({}) VALUES ", kColumnList);
  for (std::size_t i = 0; i < rows; ++i) {
    if (i) sql += ',';
    sql += row;
  }
  return sql;
}

void append_params(const UsageRecord& r, std::vector<Param>& out) {
  out.emplace_back(r.request_id);
  out.emplace_back(r.ts);
  out.push_back(text_or_null(r.key_id));
  out.push_back(text_or_null(r.key_name));
  out.push_back(text_or_null(r.model));
  out.push_back(text_or_null(r.provider));
  out.push_back(text_or_null(r.upstream_model));
  out.push_back(text_or_null(r.route));
  out.emplace_back(int64_t{r.status});
  out.emplace_back(r.stream);
  out.push_back(tokens(r.usage, r.usage.input_tokens));
  out.push_back(tokens(r.usage, r.usage.output_tokens));
  out.push_back(tokens(r.usage, r.usage.cached_input_tokens));
  out.push_back(tokens(r.usage, r.usage.cache_creation_tokens));
  out.push_back(tokens(r.usage, r.usage.reasoning_tokens));
  if (r.cost_usd) out.emplace_back(*r.cost_usd);
  else out.emplace_back(std::monostate{});
  out.emplace_back(r.latency_ms);
  if (r.ttft_ms) out.emplace_back(*r.ttft_ms);
  else out.emplace_back(std::monostate{});
  out.emplace_back(int64_t{r.attempts});
  out.push_back(text_or_null(r.error));
  out.push_back(text_or_null(r.guardrails));
  out.push_back(text_or_null(r.cache));
  out.push_back(text_or_null(r.team));
}

std::string purge_sql(int chunk) {
  // In chunks, so a large purge never holds the write lock for long.
  return fmt::format(
      "DELETE FROM usage_records WHERE id IN (SELECT id FROM usage_records WHERE ts < ? LIMIT {})", chunk);
}

Statement aggregate_sql(const UsageQuery& q, Dialect d) {
  Statement st;
  // The cache verdict's fields ({"status","saved_input_tokens","saved_output_tokens",
  // "saved_usd"}, NULL when no policy applied or, for saved_usd, when the price is unknown).
  auto field = [d](std::string_view name, std::string_view pg_type) {
    return d == Dialect::sqlite ? fmt::format("json_extract(cache, '$.{}')", name)
                                : fmt::format("(cache::jsonb->>'{}')::{}", name, pg_type);
  };
  const std::string status = field("status", "text"), saved_usd = field("saved_usd", "float8");
  std::string bucket;
  if (q.bucket_seconds > 0) {
    int64_t b = q.bucket_seconds * 1000;
    bucket = fmt::format("((ts / {0}) * {0})", b);  // integer division in both engines
  } else {
    bucket = fmt::format("{}", q.from_ms);
  }
  std::string group, label;
  switch (q.group_by) {
    case UsageGroup::none: group = "''"; label = "''"; break;
    case UsageGroup::key: group = "COALESCE(key_id, '')"; label = "COALESCE(MAX(key_name), '')"; break;
    case UsageGroup::model: group = "COALESCE(model, '')"; label = "''"; break;
    case UsageGroup::provider: group = "COALESCE(provider, '')"; label = "''"; break;
    case UsageGroup::team: group = "COALESCE(team, '')"; label = "''"; break;
  }
  st.sql = fmt::format(
      "SELECT {0} AS bucket, {1} AS grp, {2} AS label, COUNT(*), "
      "SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), "
      "COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cached_tokens), 0), "
      "COALESCE(SUM(cache_creation_tokens), 0), COALESCE(SUM(reasoning_tokens), 0), "
      "COALESCE(SUM(cost_usd), 0), "
      "SUM(CASE WHEN input_tokens IS NOT NULL AND cost_usd IS NULL THEN 1 ELSE 0 END), "
      "AVG(latency_ms), MAX(latency_ms), AVG(ttft_ms), "
      "SUM(CASE WHEN {3} = 'hit' THEN 1 ELSE 0 END), SUM(CASE WHEN {3} = 'miss' THEN 1 ELSE 0 END), "
      "COALESCE(SUM({4} + {5}), 0), COALESCE(SUM({6}), 0), "
      "SUM(CASE WHEN {3} = 'hit' AND {6} IS NULL THEN 1 ELSE 0 END) "
      "FROM usage_records",
      bucket, group, label, status, field("saved_input_tokens", "bigint"), field("saved_output_tokens", "bigint"),
      saved_usd);
  where(q.from_ms, q.to_ms, q.key_id, q.model, q.provider, q.team, st.sql, st.params);
  // Positions, not expressions: PostgreSQL would read a literal bucket (one-bucket queries) in
  // GROUP BY as a column position.
  st.sql += " GROUP BY 1, 2 ORDER BY 1, 2";
  return st;
}

Statement requests_sql(const RequestLogQuery& q) {
  Statement st;
  st.sql = fmt::format("SELECT {} FROM usage_records", kColumnList);
  where(q.from_ms, q.to_ms, q.key_id, q.model, q.provider, q.team, st.sql, st.params);
  if (q.status) {
    st.sql += " AND status = ?";
    st.params.emplace_back(int64_t{*q.status});
  }
  if (q.errors_only) st.sql += " AND status >= 400";
  st.sql += fmt::format(" ORDER BY ts DESC, id DESC LIMIT {} OFFSET {}", std::clamp(q.limit, 0, 1000),
                        std::max(q.offset, 0));
  return st;
}

Statement request_sql(const std::string& request_id) {
  Statement st;
  st.sql = fmt::format("SELECT {} FROM usage_records WHERE request_id = ? ORDER BY id DESC LIMIT 1", kColumnList);
  st.params.emplace_back(request_id);
  return st;
}

UsageRecord record_from_row(const Row& row) {
  UsageRecord r;
  auto text = [&](int c) { return row.is_null(c) ? std::string() : row.get_text(c); };
  r.request_id = text(0);
  r.ts = row.get_int(1);
  r.key_id = text(2);
  r.key_name = text(3);
  r.model = text(4);
  r.provider = text(5);
  r.upstream_model = text(6);
  r.route = text(7);
  r.status = static_cast<int>(row.get_int(8));
  r.stream = row.get_bool(9);
  if (!row.is_null(10)) {
    r.usage.known = true;
    r.usage.input_tokens = row.get_int(10);
    r.usage.output_tokens = row.is_null(11) ? 0 : row.get_int(11);
    r.usage.cached_input_tokens = row.is_null(12) ? 0 : row.get_int(12);
    r.usage.cache_creation_tokens = row.is_null(13) ? 0 : row.get_int(13);
    r.usage.reasoning_tokens = row.is_null(14) ? 0 : row.get_int(14);
  }
  if (!row.is_null(15)) r.cost_usd = row.get_double(15);
  r.latency_ms = row.get_double(16);
  if (!row.is_null(17)) r.ttft_ms = row.get_double(17);
  r.attempts = static_cast<int>(row.get_int(18));
  r.error = text(19);
  r.guardrails = text(20);
  r.cache = text(21);
  r.team = text(22);
  return r;
}

UsageBucket bucket_from_row(const Row& row, UsageGroup group) {
  UsageBucket b;
  b.start_ms = row.get_int(0);
  b.group = row.get_text(1);
  b.label = group == UsageGroup::key ? row.get_text(2) : b.group;
  b.requests = row.get_int(3);
  b.errors = row.get_int(4);
  b.input_tokens = row.get_int(5);
  b.output_tokens = row.get_int(6);
  b.cached_tokens = row.get_int(7);
  b.cache_creation_tokens = row.get_int(8);
  b.reasoning_tokens = row.get_int(9);
  b.cost_usd = row.get_double(10);
  b.unpriced = row.get_int(11);
  b.avg_latency_ms = row.is_null(12) ? 0 : row.get_double(12);
  b.max_latency_ms = row.is_null(13) ? 0 : row.get_double(13);
  if (!row.is_null(14)) b.avg_ttft_ms = row.get_double(14);
  b.cache_hits = row.get_int(15);
  b.cache_misses = row.get_int(16);
  b.cache_saved_tokens = row.get_int(17);
  b.cache_saved_usd = row.get_double(18);
  b.cache_unpriced_hits = row.get_int(19);
  return b;
}

std::string number_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (char c : sql) {
    if (c == '?') out += fmt::format("${}", ++n);
    else out += c;
  }
  return out;
}

}  // namespace tollgate::obs::usage_sql
