// Read deadlines checked by one sweep per worker thread and list, not by a timer armed per read
// (issue 18: Beast's timer was armed and cancelled on every read, its cancelled wait run as a
// handler each time). A read links its watch (its socket and deadline) into the list while it
// waits; the sweep closes the socket of a watch past its deadline, and the pending read then
// fails, aborted, on the event loop's next round: its owner reads `expired` to tell that from
// a cancel. A deadline is checked to within an eighth of its timeout (10 ms to 1 s).
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace tollgate::http {

struct IdleWatch;

// The watches of one kind on one thread. The list is shared with the sweep's pending wait and
// with every watch on it, so a watch destroyed with its coroutine on another thread (an
// io_context torn down at exit) unlinks from memory that is still there.
struct IdleList {
  IdleWatch* first = nullptr;
  bool sweeping = false;
  unsigned arms = 0;
  std::chrono::steady_clock::time_point next_sweep{};
};

struct IdleWatch {
  using Clock = std::chrono::steady_clock;
  std::shared_ptr<IdleList> list;
  IdleWatch* prev = nullptr;
  IdleWatch* next = nullptr;
  boost::asio::ip::tcp::socket* socket = nullptr;
  Clock::time_point deadline;
  Clock::duration idle{};
  bool linked = false;
  // Sticky: a read that completed as the sweep closed its socket fails on the next read, which
  // is still the timeout's doing.
  bool expired = false;

  IdleWatch() = default;
  IdleWatch(const IdleWatch&) = delete;
  IdleWatch& operator=(const IdleWatch&) = delete;
  ~IdleWatch() { unlink(); }

  // Links this watch into `on` (the calling thread's list of its kind) until unlink().
  void watch(const std::shared_ptr<IdleList>& on, boost::asio::ip::tcp::socket& s, Clock::duration timeout,
             const boost::asio::any_io_executor& ex);
  void unlink() {
    if (!linked) return;
    (prev ? prev->next : list->first) = next;
    if (next) next->prev = prev;
    prev = next = nullptr;
    linked = false;
  }
};

}  // namespace tollgate::http
