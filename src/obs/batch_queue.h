// The bounded queue between the request path and a background writer that takes it in batches
// (the usage sink's records, the OTLP exporter's spans). submit() never waits on I/O: a full or
// stopped queue refuses, counted in stats.dropped. flush() waits until all that was accepted
// before it is finished (done or given up on). One mutex guards the queue and the owner's
// stats, so stats read after a flush() show what it waited for.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace tollgate::obs {

// Stats: the owner's counters; it has `submitted`, `dropped` and `queued`.
template <class T, class Stats>
class BatchQueue {
 public:
  BatchQueue(std::size_t capacity, std::size_t batch_max)
      : capacity_(capacity), batch_max_(std::max<std::size_t>(batch_max, 1)) {}

  bool submit(T item) {
    bool wake;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || queue_.size() >= capacity_) {
        ++stats_.dropped;
        return false;
      }
      queue_.push_back(std::move(item));
      ++accepted_seq_;
      ++stats_.submitted;
      wake = queue_.size() == batch_max_;  // a full batch is ready; otherwise the writer's timer
    }
    if (wake) wake_.notify_one();
    return true;
  }

  Stats stats() const {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.queued = queue_.size();
    return s;
  }

  // False on timeout.
  bool flush(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const uint64_t target = accepted_seq_;
    flush_requested_ = true;
    wake_.notify_one();
    return progressed_.wait_for(lock, timeout, [&] { return finished_seq_ >= target; });
  }

  // Refuses from now on and wakes the writer, which finishes what is queued.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
  }

  // The writer: unless `batch` still holds work (a retry), waits up to `interval` for a full
  // batch, a flush or stop; then moves queued items into `batch`, up to a batch. True once
  // stopping.
  bool take(std::vector<T>& batch, std::chrono::milliseconds interval) {
    std::unique_lock lock(mutex_);
    if (batch.empty())
      wake_.wait_for(lock, interval, [&] { return stopping_ || flush_requested_ || queue_.size() >= batch_max_; });
    while (batch.size() < batch_max_ && !queue_.empty()) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (queue_.empty()) flush_requested_ = false;
    return stopping_;
  }

  // The writer's counters: `count(stats)` under the lock.
  template <class Count>
  void record(Count count) {
    std::lock_guard lock(mutex_);
    count(stats_);
  }

  // `n` more items finished (written, exported or given up on), counted by `count(stats,
  // given_up)` under the same lock, and flush() woken. With `give_up_queued` (a stop the writer
  // cannot finish), all that still waits is given up on too; `given_up` is how many that was.
  template <class Count>
  void finish(std::size_t n, Count count, bool give_up_queued = false) {
    std::lock_guard lock(mutex_);
    const std::size_t given_up = give_up_queued ? queue_.size() : 0;
    if (give_up_queued) queue_.clear();
    count(stats_, given_up);
    finished_seq_ += n + given_up;
    progressed_.notify_all();
  }

  // The writer waits `d` before a retry, or less when stop() comes.
  void pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, d, [&] { return stopping_; });
  }

 private:
  const std::size_t capacity_;
  const std::size_t batch_max_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;        // the writer: items arrived, flush asked, or stop
  std::condition_variable progressed_;  // flush(): items finished
  std::deque<T> queue_;
  bool stopping_ = false;
  bool flush_requested_ = false;
  uint64_t accepted_seq_ = 0;  // items accepted so far
  uint64_t finished_seq_ = 0;  // items finished so far
  Stats stats_;
};

}  // namespace tollgate::obs
