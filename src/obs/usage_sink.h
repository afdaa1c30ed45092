// Usage records: one row per request in the store (SQLite embedded, PostgreSQL for several
// replicas), written by a batched background writer so the request path never waits on a
// disk or a network, and read back by the Admin UI as aggregates and a request log.
//
// The request path calls UsageSink::submit() in its record phase; submit() only moves the
// record into a bounded queue and never blocks: when the queue is full the record is dropped
// and counted (stats().dropped), because traffic matters more than bookkeeping. The writer
// thread takes the queue in batches, writes each batch in one transaction, retries a batch
// that failed (reconnecting) while new records keep queueing, and purges rows past retention.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/usage.h"
#include "obs/batch_queue.h"

namespace tollgate::obs {

struct UsageRecord {
  std::string request_id;
  int64_t ts = 0;  // unix ms, when the request was accepted
  std::string key_id;    // "" when the request was not authenticated
  std::string key_name;
  std::string team;      // the key's team ("" when none)
  std::string model;     // the alias the caller named ("" when none was resolved)
  std::string provider;  // provider name ("" when no upstream was reached)
  std::string upstream_model;
  std::string route;     // "chat.completions", "messages", ...
  int status = 0;
  bool stream = false;
  core::Usage usage;     // !usage.known: tokens stored as NULL, never 0
  std::optional<double> cost_usd;  // nullopt: price unknown (stored as NULL)
  double latency_ms = 0;
  std::optional<double> ttft_ms;
  int attempts = 0;
  std::string error;     // machine-readable cause, "" when none
  // Guardrail hits as a JSON array ("" when none): [{"policy","entity","stage":"request"|
  // "answer","acted","count"}], never the matched values.
  std::string guardrails;
  // The response cache's verdict as a JSON object ("" when no cache policy applied):
  // {"status":"hit"|"miss"|"bypass","saved_input_tokens","saved_output_tokens","saved_usd"}
  // (saved_* on hits; saved_usd null when the price is unknown).
  std::string cache;

  bool operator==(const UsageRecord& o) const;  // field by field (core::Usage included)
};

enum class UsageGroup { none, key, model, provider, team };
// "none" | "key" | "model" | "provider" | "team" (the Admin API's group_by); nullopt otherwise.
std::optional<UsageGroup> usage_group_from_string(std::string_view s);

// Aggregates over [from_ms, to_ms), in buckets of `bucket_seconds` (0: one bucket for the
// whole range), split by `group_by`, restricted by the filters that are set.
struct UsageQuery {
  int64_t from_ms = 0;
  int64_t to_ms = INT64_MAX;
  int64_t bucket_seconds = 0;
  UsageGroup group_by = UsageGroup::none;
  std::optional<std::string> key_id, model, provider, team;
};

struct UsageBucket {
  int64_t start_ms = 0;   // bucket start (from_ms rounded down to the bucket; from_ms when one bucket)
  std::string group;      // key id, model alias or provider name; "" for UsageGroup::none
  std::string label;      // the key's name for UsageGroup::key, else = group
  int64_t requests = 0;
  int64_t errors = 0;     // status >= 400
  int64_t input_tokens = 0, output_tokens = 0, cached_tokens = 0, cache_creation_tokens = 0,
          reasoning_tokens = 0;
  double cost_usd = 0;        // sum over the requests whose cost is known
  int64_t unpriced = 0;       // requests with known usage but unknown cost
  double avg_latency_ms = 0;
  double max_latency_ms = 0;
  std::optional<double> avg_ttft_ms;  // over the requests that had a first byte
  // The response cache, from each record's `cache` verdict: hits and misses of requests under
  // a policy, and what the hits saved (USD over the priced hits; unpriced hits are counted).
  int64_t cache_hits = 0, cache_misses = 0, cache_saved_tokens = 0, cache_unpriced_hits = 0;
  double cache_saved_usd = 0;
};

// The request log: newest first.
struct RequestLogQuery {
  int64_t from_ms = 0;
  int64_t to_ms = INT64_MAX;
  std::optional<std::string> key_id, model, provider, team;
  std::optional<int> status;  // exact status
  bool errors_only = false;   // status >= 400
  int limit = 100;            // capped at 1000
  int offset = 0;
};

// The Admin API's JSON shapes. Unknown values stay null (tokens of a request without usage,
// the cost of an unpriced request, TTFT of a request without a first byte).
boost::json::value to_json(const UsageRecord& r);
boost::json::value to_json(const UsageBucket& b);

// Where usage rows live. Implementations are thread-safe: the sink's writer thread calls
// write_batch()/purge_before() while the Admin API calls the queries.
class UsageStore {
 public:
  virtual ~UsageStore() = default;
  // All rows in one transaction; throws std::runtime_error when they could not be written
  // (nothing was written then). Implementations reconnect on the next call after a failure.
  virtual void write_batch(const std::vector<UsageRecord>& batch) = 0;
  // Deletes rows with ts < cutoff_ms; returns how many.
  virtual int64_t purge_before(int64_t cutoff_ms) = 0;

  virtual std::vector<UsageBucket> aggregate(const UsageQuery& q) = 0;
  virtual std::vector<UsageRecord> requests(const RequestLogQuery& q) = 0;
  virtual std::optional<UsageRecord> request(const std::string& request_id) = 0;

  virtual std::string describe() const = 0;  // "sqlite:PATH", "postgres:HOST:PORT/DB"
  // The writer has been idle a while (or purged at start): caches it can rebuild go back to the
  // allocator; the SQLite store closes its connections (and so unloads SQLite).
  virtual void release_memory() {}
};

// Its own connections to the SQLite file the gateway uses (WAL, busy timeout), creating the
// table and its indexes. Throws std::runtime_error when it cannot open the file.
std::unique_ptr<UsageStore> open_sqlite_usage_store(const std::string& path);

// libpq connection string ("host=127.0.0.1 port=5432 dbname=tollgate user=..." or a
// postgresql:// URI). Connects and creates the schema; throws std::runtime_error on failure.
// When the build has no libpq, postgres_usage_store_available() is false and this throws.
bool postgres_usage_store_available();
std::unique_ptr<UsageStore> open_postgres_usage_store(const std::string& conninfo);

struct UsageSinkOptions {
  std::size_t queue_capacity = 65536;  // records waiting to be written; more are dropped
  std::size_t batch_max = 512;         // rows per transaction
  std::chrono::milliseconds flush_interval{200};  // a partial batch waits at most this long
  int retention_days = 30;             // 0: keep forever
  std::chrono::milliseconds purge_interval{std::chrono::hours(1)};
  std::chrono::milliseconds retry_max{5'000};     // backoff cap while the store fails
};

struct UsageSinkStats {
  uint64_t submitted = 0;  // accepted into the queue
  uint64_t written = 0;    // committed to the store
  uint64_t dropped = 0;    // refused at submit: queue full (or the sink stopped)
  uint64_t lost = 0;       // accepted but never written (store still failing at stop)
  uint64_t write_failures = 0;  // failed batch attempts (each retried)
  uint64_t purged = 0;     // rows deleted by retention
  uint64_t queued = 0;     // waiting now
};

class UsageSink {
 public:
  // Starts the writer thread. `store` is shared so the Admin API can query the same store.
  UsageSink(std::shared_ptr<UsageStore> store, UsageSinkOptions options = {});
  ~UsageSink();  // stop()
  UsageSink(const UsageSink&) = delete;
  UsageSink& operator=(const UsageSink&) = delete;

  // Never blocks on I/O: false (and counted as dropped) when the queue is full or stopped.
  bool submit(UsageRecord record);

  UsageSinkStats stats() const;
  // Waits until every record submitted before the call was written or given up on; for tests
  // and shutdown. False on timeout.
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Writes what is queued (one last try), then ends the writer thread. Idempotent.
  void stop();

  UsageStore& store() { return *store_; }

 private:
  void run();
  // True when a purge was due (and so ran, or failed).
  bool purge_if_due(std::chrono::steady_clock::time_point now);

  const std::shared_ptr<UsageStore> store_;
  const UsageSinkOptions options_;

  BatchQueue<UsageRecord, UsageSinkStats> queue_;
  std::chrono::steady_clock::time_point next_purge_{};
  std::thread writer_;
};

}  // namespace tollgate::obs
