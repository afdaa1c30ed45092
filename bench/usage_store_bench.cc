// The usage writer's own cost: rows per second and CPU per row of UsageStore::write_batch
// on the embedded SQLite store, with realistic rows (a fresh 36-character request id, a few
// keys and models), in the batches the sink writes under load. Not a test: it prints figures.
//
//   build/usage_store_bench [rows=200000] [batch=512] [path=/tmp/usage-bench.db] [ids=gateway|random] [reads]
//
// ids=gateway uses the gateway's own request ids (time-ordered); ids=random, random 36-character
// ids, as callers that send their own x-request-id (UUIDv4) produce.
//
// `reads`: the rows span 30 days (four keys, two of them in team-a and one in team-b, three
// models, and a rare key and a rare model at 0.5 % each), and after writing them the Admin
// API's and the UI's reads of the table are timed (median of 5, each line one query): what a
// change to the table or its indexes must not make slow.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gateway/phases.h"
#include "obs/usage_sink.h"

namespace {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string request_id(std::mt19937_64& rng) {
  static const char* hex = "0123456789abcdef";
  std::string s(36, '-');
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i != 8 && i != 13 && i != 18 && i != 23) s[i] = hex[rng() & 15];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t rows = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 200'000;
  const std::size_t batch_size = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 512;
  const std::string path = argc > 3 ? argv[3] : "/tmp/usage-bench.db";
  const bool random_ids = argc > 4 && std::string(argv[4]) == "random";
  const bool reads = argc > 5 && std::string(argv[5]) == "reads";
  constexpr int64_t kMonthMs = 30LL * 86'400'000;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  auto store = tollgate::obs::open_sqlite_usage_store(path);
  std::mt19937_64 rng(42);
  const char* keys[] = {"key_0a1b2c3d4e5f", "key_1a1b2c3d4e5f", "key_2a1b2c3d4e5f", "key_3a1b2c3d4e5f"};
  const char* models[] = {"gpt-4o", "claude-sonnet", "gemini-flash"};
  const int64_t t_first = 1'764'000'000'000;
  int64_t ts = t_first;
  std::string mid_id;

  std::vector<tollgate::obs::UsageRecord> batch;
  double busy = 0;
  const double cpu0 = cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  for (std::size_t done = 0; done < rows;) {
    batch.clear();
    for (std::size_t i = 0; i < batch_size && done + i < rows; ++i) {
      tollgate::obs::UsageRecord r;
      r.request_id = random_ids ? request_id(rng) : tollgate::gateway::request_id_for("");
      r.ts = reads ? t_first + static_cast<int64_t>((done + i) * (kMonthMs / static_cast<double>(rows))) : ts++;
      const uint64_t pick = rng();
      r.key_id = keys[pick % 4];
      r.key_name = "team-" + r.key_id.substr(4, 1);
      r.model = models[(pick >> 8) % 3];
      if (reads) {
        if (r.key_id[4] < '2') r.team = "team-a";
        else if (r.key_id[4] == '2') r.team = "team-b";
        if ((pick >> 16) % 200 == 0) r.key_id = "key_rare";
        if ((pick >> 24) % 200 == 0) r.model = "rare-model";
      }
      r.provider = "openai";
      r.upstream_model = r.model;
      r.route = "chat.completions";
      r.status = 200;
      r.usage = {true, 120, 40, 0, 0, 0};
      r.cost_usd = 0.00042;
      r.latency_ms = 12.5;
      r.ttft_ms = 3.25;
      r.attempts = 1;
      if (done + i == rows / 2) mid_id = r.request_id;
      batch.push_back(std::move(r));
    }
    auto t0 = std::chrono::steady_clock::now();
    store->write_batch(batch);
    busy += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    done += batch.size();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  const double cpu = cpu_seconds() - cpu0;
  std::printf("%s\n", fmt::format("{{\"rows\":{},\"ids\":\"{}\",\"batch\":{},\"rows_per_s\":{:.0f},\"write_us_per_row\":{:.2f},"
                                  "\"cpu_us_per_row\":{:.2f},\"db_bytes\":{}}}",
                                  rows, random_ids ? "random" : "gateway", batch_size, rows / wall, busy * 1e6 / rows, cpu * 1e6 / rows,
                                  std::filesystem::file_size(path))
                          .c_str());
  if (!reads) return 0;

  // The reads, as the Admin API makes them (admin_api.cc: usage, requests, keys' and teams'
  // spend and last use), over the newest day or the whole month.
  using tollgate::obs::RequestLogQuery;
  using tollgate::obs::UsageGroup;
  using tollgate::obs::UsageQuery;
  const int64_t now = t_first + kMonthMs;
  auto time_us = [](auto&& f) {
    std::vector<double> t;
    std::size_t n = 0;
    for (int i = 0; i < 5; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      n = f();
      t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return std::pair{t[2], n};
  };
  auto agg = [&](const char* name, UsageQuery q) {
    auto [us, n] = time_us([&] { return store->aggregate(q).size(); });
    std::printf("%s\n", fmt::format("{{\"read\":\"{}\",\"us\":{:.0f},\"rows\":{}}}", name, us, n).c_str());
  };
  auto log = [&](const char* name, RequestLogQuery q) {
    auto [us, n] = time_us([&] { return store->requests(q).size(); });
    std::printf("%s\n", fmt::format("{{\"read\":\"{}\",\"us\":{:.0f},\"rows\":{}}}", name, us, n).c_str());
  };
  auto day = [&](UsageQuery q) { q.from_ms = now - 86'400'000; q.to_ms = now + 1; return q; };
  auto month = [&](UsageQuery q) { q.from_ms = now - kMonthMs; q.to_ms = now + 1; return q; };
  UsageQuery q;
  agg("usage day totals", day(q));
  q.bucket_seconds = 3600;
  q.group_by = UsageGroup::model;
  agg("usage day by hour and model", day(q));
  q.bucket_seconds = 86400;
  q.group_by = UsageGroup::key;
  agg("usage month by day and key", month(q));
  q = {};
  q.key_id = "key_0a1b2c3d4e5f";
  agg("usage day, one key", day(q));
  q.key_id = "key_rare";
  agg("usage month, rare key", month(q));
  q = {};
  q.model = "rare-model";
  agg("usage month, rare model", month(q));
  q = {};
  q.team = "team-b";
  agg("usage month, one team", month(q));
  q = {};
  q.group_by = UsageGroup::key;
  agg("key spend, all time (keys page)", q);
  q.key_id = "key_rare";
  agg("one key's spend, all time", q);
  q = {};
  q.group_by = UsageGroup::team;
  agg("team spend, all time (teams page)", q);
  RequestLogQuery l;
  l.limit = 101;
  log("request log, newest 100", l);
  l.key_id = "key_0a1b2c3d4e5f";
  log("request log, one key", l);
  l.key_id = std::nullopt;
  l.model = "rare-model";
  log("request log, rare model", l);
  l.model = std::nullopt;
  l.team = "team-b";
  log("request log, one team", l);
  l.team = std::nullopt;
  l.errors_only = true;
  log("request log, errors (none)", l);
  l = {};
  l.limit = 1;
  l.key_id = "key_rare";
  log("last use, rare key", l);
  l.key_id = "key_never_used";
  log("last use, unused key", l);
  {
    auto [us, n] = time_us([&] { return store->request(mid_id) ? std::size_t{1} : 0; });
    std::printf("%s\n", fmt::format("{{\"read\":\"request by id\",\"us\":{:.0f},\"rows\":{}}}", us, n).c_str());
  }
  {
    auto [us, n] = time_us([&] { return store->request("req_00000000000000000000000") ? std::size_t{1} : 0; });
    std::printf("%s\n", fmt::format("{{\"read\":\"request by id, missing\",\"us\":{:.0f},\"rows\":{}}}", us, n).c_str());
  }
  return 0;
}
