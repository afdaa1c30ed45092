#include "obs/usage_sink.h"

#include "core/malloc_cache.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace tollgate::obs {

using Clock = std::chrono::steady_clock;
namespace json = boost::json;

std::optional<UsageGroup> usage_group_from_string(std::string_view s) {
  if (s == "none" || s.empty()) return UsageGroup::none;
  if (s == "key") return UsageGroup::key;
  if (s == "model") return UsageGroup::model;
  if (s == "provider") return UsageGroup::provider;
  if (s == "team") return UsageGroup::team;
  return std::nullopt;
}

json::value to_json(const UsageRecord& r) {
  auto text = [](const std::string& s) -> json::value {
    if (s.empty()) return nullptr;
    return json::string(s);
  };
  auto tokens = [&](int64_t v) -> json::value {
    if (!r.usage.known) return nullptr;
    return v;
  };
  json::object o;
  o["request_id"] = r.request_id;
  o["ts"] = r.ts;
  o["key_id"] = text(r.key_id);
  o["key_name"] = text(r.key_name);
  o["team"] = text(r.team);
  o["model"] = text(r.model);
  o["provider"] = text(r.provider);
  o["upstream_model"] = text(r.upstream_model);
  o["route"] = text(r.route);
  o["status"] = r.status;
  o["stream"] = r.stream;
  o["input_tokens"] = tokens(r.usage.input_tokens);
  o["output_tokens"] = tokens(r.usage.output_tokens);
  o["cached_tokens"] = tokens(r.usage.cached_input_tokens);
  o["cache_creation_tokens"] = tokens(r.usage.cache_creation_tokens);
  o["reasoning_tokens"] = tokens(r.usage.reasoning_tokens);
  o["cost_usd"] = r.cost_usd ? json::value(*r.cost_usd) : json::value(nullptr);
  o["latency_ms"] = r.latency_ms;
  o["ttft_ms"] = r.ttft_ms ? json::value(*r.ttft_ms) : json::value(nullptr);
  o["attempts"] = r.attempts;
  o["error"] = text(r.error);
  o["guardrails"] = json::array();
  if (!r.guardrails.empty()) {
    boost::system::error_code ec;
    auto hits = json::parse(r.guardrails, ec);
    if (!ec && hits.is_array()) o["guardrails"] = std::move(hits);
  }
  o["cache"] = nullptr;
  if (!r.cache.empty()) {
    boost::system::error_code ec;
    auto c = json::parse(r.cache, ec);
    if (!ec && c.is_object()) o["cache"] = std::move(c);
  }
  return o;
}

json::value to_json(const UsageBucket& b) {
  json::object o;
  o["start_ms"] = b.start_ms;
  o["group"] = b.group;
  o["label"] = b.label;
  o["requests"] = b.requests;
  o["errors"] = b.errors;
  o["input_tokens"] = b.input_tokens;
  o["output_tokens"] = b.output_tokens;
  o["cached_tokens"] = b.cached_tokens;
  o["cache_creation_tokens"] = b.cache_creation_tokens;
  o["reasoning_tokens"] = b.reasoning_tokens;
  o["cost_usd"] = b.cost_usd;
  o["unpriced"] = b.unpriced;
  o["avg_latency_ms"] = b.avg_latency_ms;
  o["max_latency_ms"] = b.max_latency_ms;
  o["avg_ttft_ms"] = b.avg_ttft_ms ? json::value(*b.avg_ttft_ms) : json::value(nullptr);
  o["cache_hits"] = b.cache_hits;
  o["cache_misses"] = b.cache_misses;
  o["cache_saved_tokens"] = b.cache_saved_tokens;
  o["cache_saved_usd"] = b.cache_saved_usd;
  o["cache_unpriced_hits"] = b.cache_unpriced_hits;
  return o;
}

bool UsageRecord::operator==(const UsageRecord& o) const {
  auto usage_eq = [](const core::Usage& a, const core::Usage& b) {
    return a.known == b.known && a.input_tokens == b.input_tokens && a.output_tokens == b.output_tokens &&
           a.cached_input_tokens == b.cached_input_tokens && a.cache_creation_tokens == b.cache_creation_tokens &&
           a.reasoning_tokens == b.reasoning_tokens;
  };
  return request_id == o.request_id && ts == o.ts && key_id == o.key_id && key_name == o.key_name &&
         model == o.model && provider == o.provider && upstream_model == o.upstream_model && route == o.route &&
         status == o.status && stream == o.stream && usage_eq(usage, o.usage) && cost_usd == o.cost_usd &&
         latency_ms == o.latency_ms && ttft_ms == o.ttft_ms && attempts == o.attempts && error == o.error &&
         guardrails == o.guardrails && cache == o.cache && team == o.team;
}

namespace {
UsageSinkOptions normalized(UsageSinkOptions o) {
  o.batch_max = std::max<std::size_t>(o.batch_max, 1);
  o.retry_max = std::max(o.retry_max, std::chrono::milliseconds(50));
  return o;
}
}  // namespace

UsageSink::UsageSink(std::shared_ptr<UsageStore> store, UsageSinkOptions options)
    : store_(std::move(store)), options_(normalized(options)), queue_(options_.queue_capacity, options_.batch_max) {
  next_purge_ = Clock::now();  // purge once at start, then every purge_interval
  writer_ = std::thread([this] { run(); });
}

UsageSink::~UsageSink() { stop(); }

// The queue's lock is held only to push: the writer swaps batches out under it and does its
// I/O outside.
bool UsageSink::submit(UsageRecord record) { return queue_.submit(std::move(record)); }

UsageSinkStats UsageSink::stats() const { return queue_.stats(); }

bool UsageSink::flush(std::chrono::milliseconds timeout) { return queue_.flush(timeout); }

void UsageSink::stop() {
  queue_.stop();
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

bool UsageSink::purge_if_due(Clock::time_point now) {
  if (options_.retention_days <= 0 || now < next_purge_) return false;
  next_purge_ = now + options_.purge_interval;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t cutoff = now_ms - int64_t{options_.retention_days} * 86'400'000;
  try {
    int64_t n = store_->purge_before(cutoff);
    queue_.record([&](UsageSinkStats& s) { s.purged += static_cast<uint64_t>(n); });
  } catch (const std::exception& e) {
    spdlog::warn("usage retention purge failed ({}): {}", store_->describe(), e.what());
  }
  return true;
}

void UsageSink::run() {
  // Bookkeeping yields to traffic: on a busy machine the request workers get the cores first
  // (nice 5 still leaves the writer several times what it needs at full load; a queue that
  // fills anyway drops with a counter).
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
  std::vector<UsageRecord> batch;
  batch.reserve(options_.batch_max);
  auto backoff = std::chrono::milliseconds(50);
  // After a burst, RSS must come back near idle (issue 18): once no record has come for
  // kReleaseAfter the store's caches go back, and the main loop's malloc_trim returns them.
  constexpr auto kReleaseAfter = std::chrono::seconds(5);
  auto last_write = Clock::now();
  bool released = true;
  // The purge at start opens a store that is not new (with the defaults, the file the
  // resources are in): closed again at once, and what SQLite used on this thread returned
  // (the main loop's trim would wait for its 10 s tick). No malloc cache to empty: no burst yet.
  if (purge_if_due(Clock::now())) {
    store_->release_memory();
    malloc_trim(0);
  }
  for (;;) {
    // A full batch, a flush or stop; past flush_interval what there is.
    const bool stopping = queue_.take(batch, options_.flush_interval);
    if (batch.empty()) {
      if (stopping) break;
      const auto now = Clock::now();
      if (purge_if_due(now)) released = false;
      if (!released && now - last_write >= kReleaseAfter) {
        store_->release_memory();
        // A full batch's room (512 records, ~240 kB, all of it touched by a burst) too; it
        // grows back with the next burst.
        std::vector<UsageRecord>().swap(batch);
        core::release_malloc_cache();  // what pins this thread's arena (core/malloc_cache.h)
        released = true;
      }
      continue;
    }

    try {
      store_->write_batch(batch);
      queue_.finish(batch.size(), [&](UsageSinkStats& s, std::size_t) { s.written += batch.size(); });
      batch.clear();
      last_write = Clock::now();
      released = false;
      backoff = std::chrono::milliseconds(50);
    } catch (const std::exception& e) {
      queue_.record([&](UsageSinkStats& s) {
        ++s.write_failures;
        // Log the first failure and then every 100th, not a line per retry.
        if (s.write_failures % 100 == 1)
          spdlog::warn("usage records not written ({}), retrying: {}", store_->describe(), e.what());
      });
      if (stopping) {
        // The last try at stop failed: what remains is lost, and counted.
        uint64_t lost = 0;
        queue_.finish(batch.size(), [&](UsageSinkStats& s, std::size_t queued) {
          lost = batch.size() + queued;
          s.lost += lost;
        }, true);
        batch.clear();
        spdlog::error("usage sink stopped with {} records unwritten ({})", lost, store_->describe());
        break;
      }
      // Keep the batch and retry after a backoff; new records keep queueing (and are dropped
      // at submit once the queue is full), so an outage never blocks traffic.
      queue_.pause(backoff);
      backoff = std::min(backoff * 2, options_.retry_max);
    }
    purge_if_due(Clock::now());
  }
}

}  // namespace tollgate::obs
