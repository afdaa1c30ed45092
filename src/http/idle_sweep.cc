#include "http/idle_sweep.h"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>

namespace tollgate::http {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;

// Held by the sweep's pending wait: a wait destroyed without running (its io_context gone while
// the thread lives on) lets the next watch arm a sweep again; one that re-armed, or that a
// sooner sweep replaced, does not.
struct SweepArm {
  std::shared_ptr<IdleList> list;
  unsigned arm = 0;
  explicit SweepArm(std::shared_ptr<IdleList> l) : list(std::move(l)), arm(++list->arms) { list->sweeping = true; }
  SweepArm(SweepArm&&) noexcept = default;
  SweepArm& operator=(SweepArm&&) = delete;
  bool current() const { return list && list->arms == arm; }
  ~SweepArm() {
    if (current()) list->sweeping = false;
  }
};

Clock::duration sweep_period(Clock::duration idle) {
  return std::clamp<Clock::duration>(idle / 8, std::chrono::milliseconds(10), std::chrono::seconds(1));
}

void arm_sweep(const std::shared_ptr<IdleList>& list, const net::any_io_executor& ex, Clock::duration period) {
  auto timer = std::make_shared<net::steady_timer>(ex, period);
  list->next_sweep = timer->expiry();
  timer->async_wait([armed = SweepArm(list), timer](boost::system::error_code ec) {
    const auto& swept = armed.list;
    if (ec || !armed.current()) return;  // a sooner sweep took over
    const auto now = Clock::now();
    Clock::duration shortest = std::chrono::hours(1);
    for (IdleWatch* w = swept->first; w;) {
      IdleWatch* next = w->next;
      if (w->deadline <= now) {
        w->expired = true;
        w->unlink();
        boost::system::error_code cec;
        w->socket->close(cec);  // the pending read completes, aborted, on the event loop's next round
      } else {
        shortest = std::min(shortest, w->idle);
      }
      w = next;
    }
    if (swept->first) arm_sweep(swept, timer->get_executor(), sweep_period(shortest));
  });
}

}  // namespace

void IdleWatch::watch(const std::shared_ptr<IdleList>& on, net::ip::tcp::socket& s, Clock::duration timeout,
                      const net::any_io_executor& ex) {
  list = on;
  socket = &s;
  idle = timeout;
  const auto now = Clock::now();
  deadline = now + timeout;
  next = list->first;
  if (next) next->prev = this;
  list->first = this;
  linked = true;
  // A watch with a shorter timeout than the armed sweep's period gets a sooner sweep (which
  // replaces the armed one).
  const auto period = sweep_period(timeout);
  if (!list->sweeping || now + period < list->next_sweep) arm_sweep(list, ex, period);
}

}  // namespace tollgate::http
