#include "obs/access_log.h"

#include <unistd.h>

#include <cerrno>

namespace tollgate::obs {

AccessLog::AccessLog(int fd, std::chrono::milliseconds interval) : fd_(fd), interval_(interval) {
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void AccessLog::write(std::string_view line) {
  bool wake;
  {
    std::lock_guard lock(mutex_);
    if (pending_.size() + line.size() >= kMaxPending) {
      ++dropped_;
      return;
    }
    wake = pending_.empty();
    pending_.append(line).push_back('\n');
    ++appended_;
  }
  // Only the first line of a batch wakes the writer; while it gathers or writes, nobody waits
  // on the condition and notify_one costs no syscall.
  if (wake) wake_.notify_one();
}

void AccessLog::flush() {
  std::unique_lock lock(mutex_);
  const uint64_t target = appended_;
  if (done_ >= target) return;
  flush_requested_ = true;
  wake_.notify_one();
  written_.wait(lock, [&] { return done_ >= target || stopping_; });
}

uint64_t AccessLog::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

void AccessLog::write_out(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // stdout closed or broken: the lines are lost, the gateway goes on
    off += static_cast<std::size_t>(n);
  }
}

void AccessLog::run() {
  std::string batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || flush_requested_ || !pending_.empty(); });
    if (!stopping_ && !flush_requested_ && pending_.size() < kWakeAt) {
      // Let a batch gather: under load one write carries many lines; at a low rate a line
      // waits this long at most.
      lock.unlock();
      std::this_thread::sleep_for(interval_);
      lock.lock();
    }
    flush_requested_ = false;
    const bool stopping = stopping_;
    if (!pending_.empty()) {
      batch.swap(pending_);
      const uint64_t upto = appended_;
      lock.unlock();
      write_out(batch);
      batch.clear();
      // A burst grew the buffer: give the memory back rather than keep the peak.
      if (batch.capacity() > 4 * kWakeAt) batch.shrink_to_fit();
      lock.lock();
      done_ = upto;
      // A lull (nothing came while this batch was written): neither buffer is kept. A burst's
      // batches are hundreds of kB, grown by the request workers in their malloc arenas, and
      // kept they held RSS above idle long after the burst (issue 18).
      if (pending_.empty() && batch.capacity() > kKeepAtLull) {
        std::string().swap(batch);
        std::string().swap(pending_);
      }
      written_.notify_all();
    }
    if (stopping && pending_.empty()) {
      written_.notify_all();
      return;
    }
  }
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace tollgate::obs
