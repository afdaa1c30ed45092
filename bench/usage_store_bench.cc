// The usage writer's own cost: rows per second and CPU per row of UsageStore::write_batch
// on the embedded SQLite store, with realistic rows (a fresh 36-character request id, a few
// keys and models), in the batches the sink writes under load. Not a test: it prints figures.
//
//   build/usage_store_bench [rows=200000] [batch=512] [path=/tmp/usage-bench.db] [ids=gateway|random]
//
// ids=gateway uses the gateway's own request ids (time-ordered); ids=random, random 36-character
// ids, as callers that send their own x-request-id (UUIDv4) produce.
#include <sys/resource.h>

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
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  auto store = tollgate::obs::open_sqlite_usage_store(path);
  std::mt19937_64 rng(42);
  const char* keys[] = {"key_0a1b2c3d4e5f", "key_1a1b2c3d4e5f", "key_2a1b2c3d4e5f", "key_3a1b2c3d4e5f"};
  const char* models[] = {"gpt-4o", "claude-sonnet", "gemini-flash"};
  int64_t ts = 1'764'000'000'000;

  std::vector<tollgate::obs::UsageRecord> batch;
  double busy = 0;
  const double cpu0 = cpu_seconds();
  const auto wall0 = std::chrono::steady_clock::now();
  for (std::size_t done = 0; done < rows;) {
    batch.clear();
    for (std::size_t i = 0; i < batch_size && done + i < rows; ++i) {
      tollgate::obs::UsageRecord r;
      r.request_id = random_ids ? request_id(rng) : tollgate::gateway::request_id_for("");
      r.ts = ts++;
      r.key_id = keys[rng() % 4];
      r.key_name = "team-" + r.key_id.substr(4, 1);
      r.model = models[rng() % 3];
      r.provider = "openai";
      r.upstream_model = r.model;
      r.route = "chat.completions";
      r.status = 200;
      r.usage = {true, 120, 40, 0, 0, 0};
      r.cost_usd = 0.00042;
      r.latency_ms = 12.5;
      r.ttft_ms = 3.25;
      r.attempts = 1;
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
  return 0;
}
