// The bounded queue between the request path and a background writer that takes it in batches
// (the usage sink's records, the OTLP exporter's spans). submit() never waits on I/O: a full or
// stopped queue refuses, counted in stats.dropped. flush() waits until all that was accepted
// before it is finished (done or given up on). One mutex guards the queue and the owner's
// stats, so stats read after a flush() show what it waited for.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
      if (stopping_ || waiting() >= capacity_) {
        ++stats_.dropped;
        return false;
      }
      queue_.push_back(std::move(item));
      ++accepted_seq_;
      ++stats_.submitted;
      wake = waiting() == batch_max_;  // a full batch is ready; otherwise the writer's timer
    }
    if (wake) wake_.notify_one();
    return true;
  }

  Stats stats() const {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.queued = waiting();
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
      wake_.wait_for(lock, interval, [&] { return stopping_ || flush_requested_ || waiting() >= batch_max_; });
    while (batch.size() < batch_max_ && head_ < queue_.size()) batch.push_back(std::move(queue_[head_++]));
    if (head_ == queue_.size()) {
      // Drained (the usual case). Room for two batches stays, for the next; a backlog's goes.
      if (queue_.capacity() > 2 * batch_max_) std::vector<T>().swap(queue_);
      else queue_.clear();
      head_ = 0;
      flush_requested_ = false;
    } else if (head_ >= batch_max_ && head_ * 2 >= queue_.size()) {
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));  // a backlog
      head_ = 0;
    }
    return stopping_;
  }

  // The writer, idle after a burst: the queue's room goes back if nothing waits.
  void release_memory() {
    std::lock_guard lock(mutex_);
    if (waiting() > 0) return;
    std::vector<T>().swap(queue_);
    head_ = 0;
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
    const std::size_t given_up = give_up_queued ? waiting() : 0;
    if (give_up_queued) {
      queue_.clear();
      head_ = 0;
    }
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
  // What waits, from head_ on. A vector, not a deque: a deque of records this size (a usage
  // record is ~460 bytes) allocated a node per item, freed on the writer's thread (issue 18).
  std::vector<T> queue_;
  std::size_t head_ = 0;
  std::size_t waiting() const { return queue_.size() - head_; }
  bool stopping_ = false;
  bool flush_requested_ = false;
  uint64_t accepted_seq_ = 0;  // items accepted so far
  uint64_t finished_seq_ = 0;  // items finished so far
  Stats stats_;
};

}  // namespace tollgate::obs
