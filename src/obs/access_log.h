// The access log: one JSON line per request on stdout. A request appends its finished line to
// a shared buffer (one short lock; only the first line of a batch wakes the writer); the log's
// own thread lets a batch gather for `interval`, then writes it with one write.
// spdlog's async logger, used before, cost a queue-slot copy, a condition-variable wake-up and
// an fflush (a write syscall) per line, and 3 MB of preallocated slots.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace tollgate::obs {

class AccessLog {
 public:
  // fd: where lines go (stdout by default). A line waits about `interval` before written.
  explicit AccessLog(int fd = 1, std::chrono::milliseconds interval = std::chrono::milliseconds(50));
  ~AccessLog();  // writes what is pending
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Appends `line` and a newline. Never blocks on I/O: past kMaxPending bytes waiting, the
  // line is dropped and counted (the writer is stuck, e.g. stdout is a full pipe).
  void write(std::string_view line);
  // Writes everything appended so far before returning.
  void flush();
  uint64_t dropped() const;

  static constexpr std::size_t kWakeAt = 256 * 1024;          // a batch this large goes without gathering
  static constexpr std::size_t kMaxPending = 8 * 1024 * 1024;  // then lines are dropped
  static constexpr std::size_t kKeepAtLull = 16 * 1024;        // more room than this goes back when idle

 private:
  void run();
  void write_out(const std::string& data);

  const int fd_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::string pending_;
  uint64_t appended_ = 0;  // lines appended, and lines written: flush waits for the first
  uint64_t done_ = 0;      // to reach the second
  uint64_t dropped_ = 0;
  bool flush_requested_ = false;
  bool stopping_ = false;
  std::thread writer_;
};

// Appends `s` as a JSON string literal (quotes included) to `out`, escaped as Boost.JSON's
// serializer does: the access log's strings without a temporary per field.
void append_json_string(std::string& out, std::string_view s);

}  // namespace tollgate::obs
