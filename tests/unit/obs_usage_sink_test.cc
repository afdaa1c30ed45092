// Usage records: the batched writer (never blocks; a full queue drops with a counter; a
// failing store is retried; what cannot be written at stop is counted as lost), and both
// stores — SQLite, and a real PostgreSQL server started here on loopback — round-tripping
// rows, answering the Admin UI's aggregates and request log, and purging past retention.
#include "obs/usage_sink.h"
#include "store/sqlite_loader.h"
#include "loopback.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace tollgate::obs {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test_support::TempDir;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

UsageRecord rec(std::string id, int64_t ts, std::string key, std::string model, std::string provider, int status,
                int64_t in, int64_t out, int64_t cached, std::optional<double> cost) {
  UsageRecord r;
  r.request_id = std::move(id);
  r.ts = ts;
  r.key_id = key;
  r.key_name = key.empty() ? "" : "name-" + key;
  r.model = std::move(model);
  r.provider = std::move(provider);
  r.upstream_model = "up-" + r.model;
  r.route = "chat.completions";
  r.status = status;
  r.stream = (in % 2) == 0;
  if (in >= 0) {
    r.usage.known = true;
    r.usage.input_tokens = in;
    r.usage.output_tokens = out;
    r.usage.cached_input_tokens = cached;
  }
  r.cost_usd = cost;
  r.latency_ms = 100.0 + static_cast<double>(ts % 7);
  if (status < 400) r.ttft_ms = 12.5;
  r.attempts = 1;
  if (status >= 400) r.error = "upstream_5xx";
  return r;
}

// --- shared store checks, run against SQLite and PostgreSQL ---------------------------------

void check_round_trip(UsageStore& store) {
  const int64_t t0 = 1'700'000'000'000;
  UsageRecord a = rec("req-a", t0, "key_1", "smart", "openai-main", 200, 1000, 500, 200, 0.0075);
  a.usage.cache_creation_tokens = 30;
  a.usage.reasoning_tokens = 100;
  UsageRecord b = rec("req-b", t0 + 1, "key_2", "fast", "claude", 502, -1, 0, 0, std::nullopt);  // no usage
  UsageRecord c = rec("req-c", t0 + 2, "", "", "", 401, -1, 0, 0, std::nullopt);              // not authenticated
  c.route = "messages";
  c.attempts = 0;
  UsageRecord d = rec("req-d", t0 + 3, "key_1", "smart", "openai-main", 200, 10, 5, 0, std::nullopt);  // unpriced
  d.error = "quote \"and\" unicode é";
  a.guardrails = R"([{"policy":"pii","entity":"email","stage":"request","acted":true,"count":2}])";
  store.write_batch({a, b, c, d});

  RequestLogQuery q;
  auto rows = store.requests(q);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0], d);  // newest first
  EXPECT_EQ(rows[1], c);
  EXPECT_EQ(rows[2], b);
  EXPECT_EQ(rows[3], a);
  EXPECT_FALSE(rows[2].usage.known);  // unknown usage reads back unknown, not zero
  EXPECT_FALSE(rows[0].cost_usd);     // unknown cost reads back unknown

  ASSERT_TRUE(store.request("req-a"));
  EXPECT_EQ(*store.request("req-a"), a);
  EXPECT_FALSE(store.request("nope"));

  q.key_id = "key_1";
  EXPECT_EQ(store.requests(q).size(), 2u);
  q = {};
  q.errors_only = true;
  EXPECT_EQ(store.requests(q).size(), 2u);
  q = {};
  q.status = 401;
  ASSERT_EQ(store.requests(q).size(), 1u);
  EXPECT_EQ(store.requests(q)[0].request_id, "req-c");
  q = {};
  q.key_id = "";  // the unauthenticated ones
  ASSERT_EQ(store.requests(q).size(), 1u);
  q = {};
  q.model = "smart";
  q.limit = 1;
  q.offset = 1;
  ASSERT_EQ(store.requests(q).size(), 1u);
  EXPECT_EQ(store.requests(q)[0].request_id, "req-a");
  q = {};
  q.from_ms = t0 + 1;
  q.to_ms = t0 + 3;
  EXPECT_EQ(store.requests(q).size(), 2u);  // [from, to)
}

void check_aggregates(UsageStore& store) {
  const int64_t hour = 3'600'000;
  const int64_t t0 = 1'700'000'000'000 / hour * hour + 10 * hour;  // on an hour boundary
  std::vector<UsageRecord> rows = {
      rec("g1", t0 + 1000, "key_1", "smart", "openai", 200, 1000, 100, 400, 0.25),
      rec("g2", t0 + 2000, "key_1", "smart", "openai", 200, 2000, 200, 0, 0.50),
      rec("g3", t0 + 3000, "key_2", "fast", "claude", 200, 300, 30, 0, std::nullopt),  // unpriced
      rec("g4", t0 + hour + 5, "key_2", "smart", "claude", 500, -1, 0, 0, std::nullopt),
      rec("g5", t0 + hour + 6, "key_1", "fast", "openai", 200, 10, 1, 0, 0.125),
      rec("outside", t0 + 5 * hour, "key_1", "fast", "openai", 200, 1, 1, 0, 1.0),
  };
  // The cache's verdicts as the gateway writes them (gateway/record.cc cache_json).
  rows[0].cache = R"({"status":"hit","saved_input_tokens":900,"saved_output_tokens":90,"saved_usd":0.20000000})";
  rows[1].cache = R"({"status":"miss"})";
  rows[2].cache = R"({"status":"hit","saved_input_tokens":300,"saved_output_tokens":30,"saved_usd":null,"similarity":0.9712})";
  rows[4].cache = R"({"status":"bypass"})";
  store.write_batch(rows);

  UsageQuery q;
  q.from_ms = t0;
  q.to_ms = t0 + 2 * hour;
  // One bucket over the whole range.
  auto all = store.aggregate(q);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].start_ms, t0);
  EXPECT_EQ(all[0].requests, 5);
  EXPECT_EQ(all[0].errors, 1);
  EXPECT_EQ(all[0].input_tokens, 3310);
  EXPECT_EQ(all[0].output_tokens, 331);
  EXPECT_EQ(all[0].cached_tokens, 400);
  EXPECT_DOUBLE_EQ(all[0].cost_usd, 0.875);
  EXPECT_EQ(all[0].unpriced, 1);
  ASSERT_TRUE(all[0].avg_ttft_ms);
  EXPECT_DOUBLE_EQ(*all[0].avg_ttft_ms, 12.5);
  EXPECT_EQ(all[0].cache_hits, 2);
  EXPECT_EQ(all[0].cache_misses, 1);  // a bypass is neither
  EXPECT_EQ(all[0].cache_saved_tokens, 1320);
  EXPECT_DOUBLE_EQ(all[0].cache_saved_usd, 0.2);  // the priced hit only
  EXPECT_EQ(all[0].cache_unpriced_hits, 1);       // counted, never a $0

  // Hourly buckets by key.
  q.bucket_seconds = 3600;
  q.group_by = UsageGroup::key;
  auto by_key = store.aggregate(q);
  ASSERT_EQ(by_key.size(), 4u);
  EXPECT_EQ(by_key[0].start_ms, t0);
  EXPECT_EQ(by_key[0].group, "key_1");
  EXPECT_EQ(by_key[0].label, "name-key_1");
  EXPECT_EQ(by_key[0].requests, 2);
  EXPECT_DOUBLE_EQ(by_key[0].cost_usd, 0.75);
  EXPECT_EQ(by_key[1].group, "key_2");
  EXPECT_EQ(by_key[1].unpriced, 1);
  EXPECT_EQ(by_key[2].start_ms, t0 + hour);
  EXPECT_EQ(by_key[2].group, "key_1");
  EXPECT_DOUBLE_EQ(by_key[2].cost_usd, 0.125);
  EXPECT_EQ(by_key[3].group, "key_2");
  EXPECT_EQ(by_key[3].errors, 1);
  EXPECT_EQ(by_key[3].input_tokens, 0);
  EXPECT_FALSE(by_key[3].avg_ttft_ms);

  // By model over the range, filtered to one provider.
  q.bucket_seconds = 0;
  q.group_by = UsageGroup::model;
  q.provider = "openai";
  auto by_model = store.aggregate(q);
  ASSERT_EQ(by_model.size(), 2u);
  EXPECT_EQ(by_model[0].group, "fast");
  EXPECT_EQ(by_model[0].requests, 1);
  EXPECT_EQ(by_model[1].group, "smart");
  EXPECT_EQ(by_model[1].requests, 2);
  EXPECT_EQ(by_model[1].label, "smart");
  EXPECT_EQ(by_model[1].cache_hits, 1);
  EXPECT_EQ(by_model[1].cache_misses, 1);
  EXPECT_EQ(by_model[0].cache_hits + by_model[0].cache_misses, 0);

  q.provider.reset();
  q.group_by = UsageGroup::provider;
  q.key_id = "key_2";
  auto by_provider = store.aggregate(q);
  ASSERT_EQ(by_provider.size(), 1u);
  EXPECT_EQ(by_provider[0].group, "claude");
  EXPECT_EQ(by_provider[0].requests, 2);
  EXPECT_DOUBLE_EQ(by_provider[0].max_latency_ms, std::max(rows[2].latency_ms, rows[3].latency_ms));

  q = {};
  q.from_ms = t0 + 10 * hour;
  EXPECT_TRUE(store.aggregate(q).empty());
}

void check_purge(UsageStore& store) {
  const int64_t now = now_ms();
  std::vector<UsageRecord> rows;
  for (int i = 0; i < 12; ++i) rows.push_back(rec(fmt::format("old-{}", i), now - 40LL * 86'400'000 + i, "k", "m", "p", 200, 1, 1, 0, 0.1));
  rows.push_back(rec("new", now - 1000, "k", "m", "p", 200, 1, 1, 0, 0.1));
  store.write_batch(rows);
  EXPECT_EQ(store.purge_before(now - 30LL * 86'400'000), 12);
  auto left = store.requests({});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].request_id, "new");
}

TEST(UsageJson, UnknownValuesAreNullNeverZero) {
  UsageRecord r = rec("j1", 5, "key_1", "smart", "openai", 502, -1, 0, 0, std::nullopt);
  auto o = to_json(r).as_object();
  EXPECT_TRUE(o.at("input_tokens").is_null());
  EXPECT_TRUE(o.at("cost_usd").is_null());
  EXPECT_TRUE(o.at("ttft_ms").is_null());
  EXPECT_EQ(o.at("status").as_int64(), 502);
  EXPECT_EQ(o.at("error").as_string(), "upstream_5xx");
  r = rec("j2", 5, "", "smart", "openai", 200, 10, 5, 0, 0.5);
  o = to_json(r).as_object();
  EXPECT_TRUE(o.at("key_id").is_null());
  EXPECT_EQ(o.at("input_tokens").as_int64(), 10);
  EXPECT_DOUBLE_EQ(o.at("cost_usd").as_double(), 0.5);
  UsageBucket b;
  b.group = "g";
  EXPECT_TRUE(to_json(b).as_object().at("avg_ttft_ms").is_null());
  EXPECT_EQ(usage_group_from_string("key"), UsageGroup::key);
  EXPECT_EQ(usage_group_from_string("provider"), UsageGroup::provider);
  EXPECT_EQ(usage_group_from_string("team"), UsageGroup::team);
  EXPECT_FALSE(usage_group_from_string("teams"));
}

// --- SQLite ------------------------------------------------------------------------------

TEST(UsageSqlite, RoundTripsRowsAndFiltersTheRequestLog) {
  TempDir dir;
  auto store = open_sqlite_usage_store((dir.path() / "data" / "tollgate.db").string());
  check_round_trip(*store);
}

// The usage table of the first release had no guardrails column: opening it adds the column,
// and old rows read back with no hits.
const char* kFirstReleaseTable =
    "CREATE TABLE usage_records (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, ts BIGINT NOT NULL, "
    "key_id TEXT, key_name TEXT, model TEXT, provider TEXT, upstream_model TEXT, route TEXT, "
    "status INTEGER NOT NULL, stream BOOLEAN NOT NULL, input_tokens BIGINT, output_tokens BIGINT, "
    "cached_tokens BIGINT, cache_creation_tokens BIGINT, reasoning_tokens BIGINT, cost_usd DOUBLE PRECISION, "
    "latency_ms DOUBLE PRECISION NOT NULL, ttft_ms DOUBLE PRECISION, attempts INTEGER NOT NULL, error TEXT)";
const char* kFirstReleaseRow =
    "INSERT INTO usage_records (request_id, ts, status, stream, latency_ms, attempts) VALUES ('old-1', 5, 200, false, 1.5, 1)";

void check_added_columns(UsageStore& store) {
  auto old = store.request("old-1");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->guardrails, "");
  UsageRecord r = rec("new-1", 6, "k", "m", "p", 400, -1, 0, 0, std::nullopt);
  r.guardrails = R"([{"policy":"deny","entity":"keywords[0]","stage":"request","acted":true,"count":1}])";
  r.cache = R"({"status":"hit","saved_input_tokens":4,"saved_output_tokens":5,"saved_usd":null})";
  r.team = "red";
  store.write_batch({r});
  ASSERT_TRUE(store.request("new-1"));
  EXPECT_EQ(*store.request("new-1"), r);
  auto j = to_json(*store.request("new-1")).as_object();
  ASSERT_TRUE(j["guardrails"].is_array());
  EXPECT_EQ(j["guardrails"].as_array()[0].as_object().at("policy"), "deny");
  EXPECT_TRUE(to_json(*old).as_object()["guardrails"].as_array().empty());
  EXPECT_EQ(j["cache"].as_object().at("status"), "hit");
  EXPECT_TRUE(to_json(*old).as_object()["cache"].is_null());
  // team (schema version 2): grouped and filtered by.
  EXPECT_EQ(j["team"], "red");
  EXPECT_TRUE(to_json(*old).as_object()["team"].is_null());
  UsageQuery q;
  q.group_by = UsageGroup::team;
  auto groups = store.aggregate(q);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].group, "");
  EXPECT_EQ(groups[1].group, "red");
  EXPECT_EQ(groups[1].requests, 1);
  q.team = "red";
  EXPECT_EQ(store.aggregate(q).size(), 1u);
  RequestLogQuery l;
  l.team = "red";
  ASSERT_EQ(store.requests(l).size(), 1u);
  EXPECT_EQ(store.requests(l)[0].request_id, "new-1");
}

TEST(UsageSqlite, AnOlderTableGainsTheColumnsAddedSince) {
  TempDir dir;
  const std::string path = (dir.path() / "tollgate.db").string();
  std::string cmd = fmt::format("sqlite3 '{}' \"{}; {};\"", path, kFirstReleaseTable, kFirstReleaseRow);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto store = open_sqlite_usage_store(path);
  check_added_columns(*store);
  auto again = open_sqlite_usage_store(path);  // a second open finds nothing to add
  EXPECT_TRUE(again->request("new-1"));
}

// The writer binds a row's values in place and leaves bound what the row before it at the same
// place in its statement had (issue 18): rows whose values change, repeat, turn NULL and back,
// across statements of every size and across batches, must read back exactly as written.
TEST(UsageSqlite, RowsReadBackExactlyWhateverTheRowsBeforeThemHeld) {
  TempDir dir;
  auto store = open_sqlite_usage_store((dir.path() / "tollgate.db").string());
  std::vector<UsageRecord> all;
  for (std::size_t size : {100u, 37u, 1u, 64u, 5u}) {
    std::vector<UsageRecord> batch;
    for (std::size_t i = 0; i < size; ++i) {
      const int n = static_cast<int>(all.size());
      UsageRecord r = rec(fmt::format("req-{}", n), 1'700'000'000'000 + n / 3, n % 3 ? "key_a" : "",
                          n % 4 ? "smart" : "fast", n % 5 ? "openai" : "", n % 11 ? 200 : 502, n % 7 ? n : -1,
                          n % 2, 0, n % 6 ? std::optional<double>(0.001 * (n % 4)) : std::nullopt);
      if (n % 9 == 0) r.team = "red";
      if (n % 13 == 0) r.latency_ms = n % 2 ? 0.0 : -0.0;
      if (n % 8 == 0) r.ttft_ms.reset();
      if (n % 10 == 0) r.cache = R"({"status":"miss"})";
      r.stream = n % 3 == 1;
      batch.push_back(r);
      all.push_back(std::move(r));
    }
    store->write_batch(batch);
  }
  for (const auto& r : all) {
    auto back = store->request(r.request_id);
    ASSERT_TRUE(back) << r.request_id;
    EXPECT_EQ(*back, r) << r.request_id;
  }
  UsageQuery q;
  q.team = "red";
  auto red = store->aggregate(q);
  ASSERT_EQ(red.size(), 1u);
  EXPECT_EQ(red[0].requests, static_cast<int64_t>((all.size() + 8) / 9));
}

// A file written by the schema before issue 18 (the team index over every row): opening it
// replaces that index with the partial one, and its rows, old and new, answer every query.
TEST(UsageSqlite, AFileWrittenBeforeIssue18IsMigrated) {
  TempDir dir;
  const std::string path = (dir.path() / "tollgate.db").string();
  const std::string before =
      "CREATE TABLE usage_records (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, ts BIGINT NOT NULL, "
      "key_id TEXT, key_name TEXT, model TEXT, provider TEXT, upstream_model TEXT, route TEXT, "
      "status INTEGER NOT NULL, stream BOOLEAN NOT NULL, input_tokens BIGINT, output_tokens BIGINT, "
      "cached_tokens BIGINT, cache_creation_tokens BIGINT, reasoning_tokens BIGINT, cost_usd DOUBLE PRECISION, "
      "latency_ms DOUBLE PRECISION NOT NULL, ttft_ms DOUBLE PRECISION, attempts INTEGER NOT NULL, error TEXT, "
      "guardrails TEXT, cache TEXT, team TEXT); "
      "CREATE INDEX usage_records_ts ON usage_records (ts); "
      "CREATE INDEX usage_records_key_ts ON usage_records (key_id, ts); "
      "CREATE INDEX usage_records_model_ts ON usage_records (model, ts); "
      "CREATE INDEX usage_records_request_id ON usage_records (request_id); "
      "CREATE INDEX usage_records_team_ts ON usage_records (team, ts); "
      "INSERT INTO usage_records (request_id, ts, key_id, model, status, stream, input_tokens, cost_usd, latency_ms, "
      "attempts, team) VALUES ('old-red', 5, 'k', 'm', 200, 0, 10, 0.5, 1.5, 1, 'red'), "
      "('old-none', 6, 'k', 'm', 200, 0, 20, 0.25, 1.5, 1, NULL)";
  std::string cmd = fmt::format("sqlite3 '{}' \"{};\"", path, before);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto index_sql = [&] {
    std::string out = (dir.path() / "index.txt").string();
    std::string q = fmt::format(
        "sqlite3 '{}' \"SELECT sql FROM sqlite_master WHERE name = 'usage_records_team_ts'\" > '{}'", path, out);
    EXPECT_EQ(std::system(q.c_str()), 0);
    std::ifstream in(out);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(index_sql().find("WHERE"), std::string::npos);

  auto store = open_sqlite_usage_store(path);
  UsageRecord r = rec("new-red", 7, "k", "m", "p", 200, 30, 0, 0, 0.125);
  r.team = "red";
  store->write_batch({r, rec("new-none", 8, "k", "m", "p", 200, 40, 0, 0, 1.0)});
  EXPECT_NE(index_sql().find("WHERE team IS NOT NULL"), std::string::npos) << index_sql();
  ASSERT_TRUE(store->request("old-red"));
  EXPECT_EQ(store->request("old-red")->team, "red");
  EXPECT_EQ(*store->request("new-red"), r);
  UsageQuery q;
  q.group_by = UsageGroup::team;
  auto groups = store->aggregate(q);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].group, "");
  EXPECT_EQ(groups[0].requests, 2);
  EXPECT_DOUBLE_EQ(groups[0].cost_usd, 1.25);
  EXPECT_EQ(groups[1].group, "red");
  EXPECT_EQ(groups[1].requests, 2);
  EXPECT_DOUBLE_EQ(groups[1].cost_usd, 0.625);
  q.team = "red";
  ASSERT_EQ(store->aggregate(q).size(), 1u);
  EXPECT_EQ(store->aggregate(q)[0].input_tokens, 40);
  RequestLogQuery l;
  l.team = "red";
  auto rows = store->requests(l);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].request_id, "new-red");
  EXPECT_EQ(rows[1].request_id, "old-red");
  // Opened again: nothing left to migrate. (A tollgate from before finds an index of that name
  // and creates none: CREATE INDEX IF NOT EXISTS.)
  auto again = open_sqlite_usage_store(path);
  EXPECT_TRUE(again->request("new-none"));
  EXPECT_NE(index_sql().find("WHERE team IS NOT NULL"), std::string::npos);
}

// The connections open on first use (issue 18: idle RSS), but a path that cannot hold the
// database still fails when the store is opened, i.e. at start.
TEST(UsageSqlite, ABadPathFailsAtOpenAndTheFileIsWrittenOnlyOnFirstUse) {
  TempDir dir;
  { std::ofstream(dir.path() / "plain") << "not a directory"; }
  EXPECT_THROW(open_sqlite_usage_store((dir.path() / "plain" / "tollgate.db").string()), std::runtime_error);
  { std::ofstream(dir.path() / "text.db") << std::string(200, 'x'); }
  try {
    open_sqlite_usage_store((dir.path() / "text.db").string());
    ADD_FAILURE() << "a file that is not a database was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
  }

  const auto path = dir.path() / "data" / "tollgate.db";
  std::shared_ptr<UsageStore> store = open_sqlite_usage_store(path.string());
  ASSERT_TRUE(std::filesystem::exists(path));
  {
    UsageSink sink(store, UsageSinkOptions{});  // its purge at start: nothing in a new file
    ASSERT_TRUE(sink.flush(10s));
  }
  EXPECT_EQ(std::filesystem::file_size(path), 0u);  // no SQLite connection yet
  EXPECT_TRUE(store->aggregate(UsageQuery{}).empty());
  store->write_batch({rec("first", now_ms(), "k", "m", "p", 200, 1, 1, 0, 0.1)});
  EXPECT_TRUE(store->request("first"));
  EXPECT_TRUE(open_sqlite_usage_store(path.string())->request("first"));  // an existing file opens too
}

// Issue 18: with the defaults the usage records share the resource store's file, which is not
// empty at start, so the purge at start opens SQLite: the connections (and the library) go
// back at once, as after a burst, and the next write opens them again.
TEST(UsageSqlite, ClosesItsConnectionsAfterThePurgeAtStartAndAfterABurst) {
  TempDir dir;
  const auto path = dir.path() / "tollgate.db";
  open_sqlite_usage_store(path.string())->write_batch({rec("old", now_ms(), "k", "m", "p", 200, 1, 1, 0, 0.1)});
  ASSERT_FALSE(store::sqlite_library_loaded());
  std::shared_ptr<UsageStore> store = open_sqlite_usage_store(path.string());
  UsageSinkOptions o;
  o.retention_days = 30;
  UsageSink sink(store, o);
  auto unloaded = [] {
    for (int i = 0; i < 200 && store::sqlite_library_loaded(); ++i) std::this_thread::sleep_for(10ms);
    return !store::sqlite_library_loaded();
  };
  EXPECT_TRUE(unloaded()) << "the purge at start kept SQLite open";
  ASSERT_TRUE(sink.submit(rec("new", now_ms(), "k", "m", "p", 200, 1, 1, 0, 0.1)));
  ASSERT_TRUE(sink.flush(10s));
  EXPECT_TRUE(store->request("new"));
  EXPECT_TRUE(store->request("old"));
  store->release_memory();  // what the writer does once idle
  EXPECT_FALSE(store::sqlite_library_loaded());
  EXPECT_TRUE(store->request("new"));  // opened again
}

TEST(UsageSqlite, AggregatesByTimeBucketKeyModelAndProvider) {
  TempDir dir;
  auto store = open_sqlite_usage_store((dir.path() / "tollgate.db").string());
  check_aggregates(*store);
}

TEST(UsageSqlite, SinkWritesInBatchesAndPurgesPastRetention) {
  TempDir dir;
  std::string path = (dir.path() / "tollgate.db").string();
  std::shared_ptr<UsageStore> store = open_sqlite_usage_store(path);
  const int64_t now = now_ms();
  store->write_batch({rec("ancient", now - 31LL * 86'400'000, "k", "m", "p", 200, 1, 1, 0, 0.1)});

  UsageSinkOptions o;
  o.retention_days = 30;
  o.batch_max = 64;
  UsageSink sink(store, o);
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(sink.submit(rec(fmt::format("r{}", i), now + i, "k", "m", "p", 200, 10, 2, 0, 0.001)));
  ASSERT_TRUE(sink.flush(10s));
  auto s = sink.stats();
  EXPECT_EQ(s.submitted, 1000u);
  EXPECT_EQ(s.written, 1000u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.purged, 1u);  // the ancient row, at start
  EXPECT_EQ(s.queued, 0u);

  UsageQuery q;
  auto all = store->aggregate(q);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].requests, 1000);
  EXPECT_NEAR(all[0].cost_usd, 1.0, 1e-9);

  // A second connection (another process) sees the rows: they were committed.
  auto other = open_sqlite_usage_store(path);
  EXPECT_TRUE(other->request("r999"));
}

TEST(UsageSqlite, PurgesPastRetention) {
  TempDir dir;
  auto store = open_sqlite_usage_store((dir.path() / "tollgate.db").string());
  check_purge(*store);
}

// --- the writer, against stores that misbehave ------------------------------------------------

// A store whose writes wait until released, as a stalled disk or network would.
class GatedStore final : public UsageStore {
 public:
  void write_batch(const std::vector<UsageRecord>& b) override {
    std::unique_lock lock(m_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    if (fail_) throw std::runtime_error("store down");
    written_ += b.size();
  }
  int64_t purge_before(int64_t) override { return 0; }
  std::vector<UsageBucket> aggregate(const UsageQuery&) override { return {}; }
  std::vector<UsageRecord> requests(const RequestLogQuery&) override { return {}; }
  std::optional<UsageRecord> request(const std::string&) override { return std::nullopt; }
  std::string describe() const override { return "gated"; }

  void open() {
    std::lock_guard lock(m_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait_entered(int n) {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, 5s, [&] { return entered_ >= n; });
  }
  void set_fail(bool f) {
    std::lock_guard lock(m_);
    fail_ = f;
  }
  std::size_t written() {
    std::lock_guard lock(m_);
    return written_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
  bool fail_ = false;
  int entered_ = 0;
  std::size_t written_ = 0;
};

TEST(UsageSink, FullQueueDropsWithACounterAndNeverBlocks) {
  auto store = std::make_shared<GatedStore>();
  UsageSinkOptions o;
  o.queue_capacity = 100;
  o.batch_max = 10;
  o.flush_interval = 5ms;
  o.retention_days = 0;
  UsageSink sink(store, o);

  // The first batch goes to the store and stalls there.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(sink.submit(rec(fmt::format("a{}", i), i, "k", "m", "p", 200, 1, 1, 0, 0.1)));
  ASSERT_TRUE(store->wait_entered(1));

  // With the writer stuck, 10,000 more submits return at once: 100 fit, the rest drop.
  auto start = std::chrono::steady_clock::now();
  int accepted = 0;
  for (int i = 0; i < 10'000; ++i)
    accepted += sink.submit(rec(fmt::format("b{}", i), i, "k", "m", "p", 200, 1, 1, 0, 0.1)) ? 1 : 0;
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, 2s);  // microseconds each in practice; never waits for the store
  EXPECT_EQ(accepted, 100);
  auto s = sink.stats();
  EXPECT_EQ(s.dropped, 9'900u);
  EXPECT_EQ(s.submitted, 110u);
  EXPECT_EQ(s.queued, 100u);

  store->open();
  ASSERT_TRUE(sink.flush(10s));
  s = sink.stats();
  EXPECT_EQ(s.written, 110u);
  EXPECT_EQ(store->written(), 110u);
  EXPECT_EQ(s.lost, 0u);
}

TEST(UsageSink, RetriesAFailedBatchUntilTheStoreIsBack) {
  auto store = std::make_shared<GatedStore>();
  store->set_fail(true);
  store->open();
  UsageSinkOptions o;
  o.batch_max = 4;
  o.flush_interval = 5ms;
  o.retention_days = 0;
  o.retry_max = 50ms;
  UsageSink sink(store, o);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(sink.submit(rec(fmt::format("r{}", i), i, "k", "m", "p", 200, 1, 1, 0, 0.1)));
  ASSERT_TRUE(store->wait_entered(3));  // failed, retried, failed again
  EXPECT_FALSE(sink.flush(20ms));
  store->set_fail(false);
  ASSERT_TRUE(sink.flush(10s));
  auto s = sink.stats();
  EXPECT_EQ(s.written, 6u);
  EXPECT_GE(s.write_failures, 2u);
  EXPECT_EQ(s.lost, 0u);
}

TEST(UsageSink, WhatCannotBeWrittenAtStopIsCountedAsLost) {
  auto store = std::make_shared<GatedStore>();
  store->set_fail(true);
  store->open();
  UsageSinkOptions o;
  o.batch_max = 2;
  o.flush_interval = 5ms;
  o.retention_days = 0;
  auto sink = std::make_unique<UsageSink>(store, o);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sink->submit(rec(fmt::format("r{}", i), i, "k", "m", "p", 200, 1, 1, 0, 0.1)));
  ASSERT_TRUE(store->wait_entered(1));
  sink->stop();
  auto s = sink->stats();
  EXPECT_EQ(s.written, 0u);
  EXPECT_EQ(s.lost, 5u);
  EXPECT_TRUE(sink->flush(1s));  // nothing pending any more
  EXPECT_FALSE(sink->submit(rec("late", 0, "k", "m", "p", 200, 1, 1, 0, 0.1)));
  EXPECT_EQ(sink->stats().dropped, 1u);
}

// --- PostgreSQL: a real server on loopback ----------------------------------------------------

std::string find_pg_bin() {
  std::error_code ec;
  std::vector<fs::path> found;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    if (fs::exists(e.path() / "bin" / "initdb") && fs::exists(e.path() / "bin" / "pg_ctl")) found.push_back(e.path() / "bin");
  if (found.empty()) return "";
  std::sort(found.begin(), found.end());
  return found.back().string();
}

// initdb + pg_ctl in a temporary directory, on a free loopback port. PostgreSQL refuses to
// run as root, so as root the server runs as the `postgres` account the package creates.
class PostgresServer {
 public:
  bool start(std::string& why) {
    if (!postgres_usage_store_available()) {
      why = "built without libpq";
      return false;
    }
    bin_ = find_pg_bin();
    if (bin_.empty()) {
      why = "PostgreSQL server binaries not installed (Debian package postgresql)";
      return false;
    }
    if (::geteuid() == 0) {
      passwd* pw = ::getpwnam("postgres");
      if (!pw) {
        why = "running as root and there is no postgres account to run the server as";
        return false;
      }
      as_ = "runuser -u postgres -- ";
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
    }
    dir_ = fs::temp_directory_path() / fmt::format("tg-pg-{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (::geteuid() == 0 && ::chown(dir_.c_str(), uid_, gid_) != 0) {
      why = "chown failed";
      return false;
    }
    port_ = test_support::free_loopback_port();
    std::string data = (dir_ / "data").string();
    std::string log = (dir_ / "server.log").string();
    if (!run(fmt::format("{}{}/initdb -D {} -U tollgate --auth=trust -E UTF8 --no-sync > {}/initdb.log 2>&1", as_,
                         bin_, data, dir_.string()))) {
      why = "initdb failed: " + slurp(dir_ / "initdb.log");
      return false;
    }
    std::string opts = fmt::format("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", port_, dir_.string());
    if (!run(fmt::format("{}{}/pg_ctl -D {} -l {} -w -t 60 -o '{}' start > /dev/null 2>&1", as_, bin_, data, log,
                         opts))) {
      why = "pg_ctl start failed: " + slurp(log);
      return false;
    }
    started_ = true;
    return true;
  }

  ~PostgresServer() {
    if (started_)
      run(fmt::format("{}{}/pg_ctl -D {} -m immediate -w stop > /dev/null 2>&1", as_, bin_, (dir_ / "data").string()));
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::string conninfo(const std::string& db = "postgres") const {
    return fmt::format("host=127.0.0.1 port={} user=tollgate dbname={} connect_timeout=5", port_, db);
  }
  std::string bin() const { return bin_; }
  std::string as() const { return as_; }
  int port() const { return port_; }

 private:
  static bool run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string bin_, as_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  fs::path dir_;
  int port_ = 0;
  bool started_ = false;
};

class UsagePostgres : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new PostgresServer;
    if (!server_->start(why_)) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_) {
      // Skip only when the binaries are absent; a server that fails to start is a failure.
      if (why_.find("not installed") != std::string::npos || why_.find("libpq") != std::string::npos)
        GTEST_SKIP() << why_;
      FAIL() << why_;
    }
    // A fresh database per test.
    static int n = 0;
    db_ = fmt::format("usage_{}", n++);
    std::string cmd = fmt::format("{}/psql -q -h 127.0.0.1 -p {} -U tollgate -d postgres -c 'CREATE DATABASE {}' > /dev/null",
                                  server_->bin(), server_->port(), db_);
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string conninfo() const { return server_->conninfo(db_); }

  static PostgresServer* server_;
  static std::string why_;
  std::string db_;
};
PostgresServer* UsagePostgres::server_ = nullptr;
std::string UsagePostgres::why_;

TEST_F(UsagePostgres, RoundTripsRowsAndFiltersTheRequestLog) {
  auto store = open_postgres_usage_store(conninfo());
  check_round_trip(*store);
}

TEST_F(UsagePostgres, AnOlderTableGainsTheColumnsAddedSince) {
  std::string cmd = fmt::format("{}/psql -q -h 127.0.0.1 -p {} -U tollgate -d {} -c \"{}\" -c \"{}\" > /dev/null",
                                server_->bin(), server_->port(), db_,
                                std::string(kFirstReleaseTable).replace(std::string(kFirstReleaseTable).find("id INTEGER PRIMARY KEY"), 22, "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"),
                                kFirstReleaseRow);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto store = open_postgres_usage_store(conninfo());
  check_added_columns(*store);
  auto again = open_postgres_usage_store(conninfo());
  EXPECT_TRUE(again->request("new-1"));
}

// The usage table carries a schema version: a newer one is refused with a clear message.
TEST_F(UsagePostgres, ANewerUsageSchemaIsRefused) {
  { auto store = open_postgres_usage_store(conninfo()); }
  std::string cmd = fmt::format("{}/psql -q -h 127.0.0.1 -p {} -U tollgate -d {} -c \"{}\" > /dev/null",
                                server_->bin(), server_->port(), db_,
                                "UPDATE tollgate_schema SET version = 9 WHERE component = 'usage'");
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  try {
    auto newer = open_postgres_usage_store(conninfo());
    ADD_FAILURE() << "a newer usage table was opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 9, newer than this tollgate knows (2)"), std::string::npos)
        << e.what();
  }
}

TEST_F(UsagePostgres, AggregatesByTimeBucketKeyModelAndProvider) {
  auto store = open_postgres_usage_store(conninfo());
  check_aggregates(*store);
}

TEST_F(UsagePostgres, PurgesPastRetention) {
  auto store = open_postgres_usage_store(conninfo());
  check_purge(*store);
}

TEST_F(UsagePostgres, SinkBatchesIntoPostgresAndReplicasShareTheSchema) {
  std::shared_ptr<UsageStore> store = open_postgres_usage_store(conninfo());
  auto second_replica = open_postgres_usage_store(conninfo());  // schema creation is idempotent
  UsageSinkOptions o;
  o.batch_max = 100;
  UsageSink sink(store, o);
  const int64_t now = now_ms();
  for (int i = 0; i < 700; ++i)
    ASSERT_TRUE(sink.submit(rec(fmt::format("p{}", i), now + i, i % 2 ? "k1" : "k2", "m", "p", 200, 10, 2, 0, 0.002)));
  ASSERT_TRUE(sink.flush(20s));
  EXPECT_EQ(sink.stats().written, 700u);
  UsageQuery q;
  q.group_by = UsageGroup::key;
  auto by_key = second_replica->aggregate(q);
  ASSERT_EQ(by_key.size(), 2u);
  EXPECT_EQ(by_key[0].requests, 350);
  EXPECT_NEAR(by_key[0].cost_usd + by_key[1].cost_usd, 1.4, 1e-9);
}

TEST_F(UsagePostgres, ReconnectsAfterTheServerDropsTheConnection) {
  auto store = open_postgres_usage_store(conninfo());
  store->write_batch({rec("before", 1, "k", "m", "p", 200, 1, 1, 0, 0.1)});
  // Kill every other backend of this database: the store's connections die under it.
  std::string kill = fmt::format(
      "{}/psql -q -h 127.0.0.1 -p {} -U tollgate -d postgres -c \"SELECT pg_terminate_backend(pid) FROM "
      "pg_stat_activity WHERE datname = '{}'\" > /dev/null",
      server_->bin(), server_->port(), db_);
  ASSERT_EQ(std::system(kill.c_str()), 0);
  // The first use notices the dead connection and fails; the next reconnects.
  bool wrote = false;
  for (int i = 0; i < 3 && !wrote; ++i) {
    try {
      store->write_batch({rec("after", 2, "k", "m", "p", 200, 1, 1, 0, 0.1)});
      wrote = true;
    } catch (const std::runtime_error&) {
    }
  }
  EXPECT_TRUE(wrote);
  EXPECT_TRUE(store->request("after"));
}

}  // namespace
}  // namespace tollgate::obs
