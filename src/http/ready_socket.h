// A plain TCP socket read the way nginx reads one: a read that comes back short (or at the end
// of the stream) proves the socket empty, and the next read waits for epoll to say more has
// come, without trying a recv first (issue 18: syscalls per request).
//
// Asio (Boost 1.81, epoll_reactor::start_op) tries every read at once before it queues it for
// epoll, unless the descriptor's `try_speculative_` flag is down; only a read that hit the end
// of the stream lowers it, and any event on the descriptor raises it again. So the upstream's
// answer, read right after the request went out, and the caller's next request, read right
// after the answer went out, each cost a recv that fails with EAGAIN: ~1.9 of the 6.7 syscalls
// of a request, ~1.2 us each on this VM (as much as the epoll_ctl an async_wait costs instead:
// a wait is never speculative, so Asio re-arms the descriptor for it).
//
// ReadySocket's read is Asio's own recv operation but for one thing: it reports a short read as
// `done_and_exhausted`, Asio's word for "this descriptor has nothing more", which lowers the
// flag in the reactor, under the descriptor's lock, in the same step as the recv. Why no
// wake-up is lost with edge-triggered epoll: a short recv on a TCP socket emptied its receive
// queue (tcp_recvmsg stops early with bytes still queued only at urgent data); bytes that come
// after it raise a new edge, and the reactor raises the flag when it takes that edge from
// epoll, whether or not a read is queued then. The flag is lowered only by the recv it
// describes, never later, so no edge taken in between can be erased. A misbehaving peer that
// sends TCP urgent data can stall its own connection until its timeout, nothing more.
//
// Asio's internals, reached from here only: the socket's per-descriptor data (a protected
// member of basic_socket) and its reactor. Checked to be Boost 1.81's epoll reactor; another
// Boost fails to compile here, and must be checked against this note before the version test
// is changed. Include from .cc files only.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/epoll_reactor.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/execution/context_as.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/query.hpp>
#include <boost/version.hpp>

#if BOOST_VERSION != 108100 || !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#error "ready_socket.h relies on Boost 1.81's epoll reactor: check its note before changing this test"
#endif

namespace tollgate::http {

namespace ready_detail {

namespace net = boost::asio;
namespace adetail = boost::asio::detail;
using tcp = net::ip::tcp;
using Reactor = adetail::epoll_reactor;

// The socket's implementation (descriptor, state, per-descriptor data): basic_socket keeps it
// protected; a pointer to member formed in a derived class reaches it in any basic_socket.
struct SocketImpl : tcp::socket {
  static auto& of(tcp::socket& s) { return (s.*(&SocketImpl::impl_)).get_implementation(); }
};

// Counts the io_contexts gone that a thread may have cached the reactor of (below): a new
// context can take a gone one's address (unit tests make one after another on the stack).
inline std::atomic<unsigned> g_contexts_gone{0};

struct ForgetOnDestroy : net::execution_context::service {
  using key_type = ForgetOnDestroy;
  static inline net::execution_context::id id;
  explicit ForgetOnDestroy(net::execution_context& c) : net::execution_context::service(c) {}
  void shutdown() override {}
  ~ForgetOnDestroy() override { g_contexts_gone.fetch_add(1, std::memory_order_release); }
};

// The reactor of the socket's io_context: looked up once per thread and context (use_service
// takes a lock and walks the context's services).
inline Reactor& reactor_of(tcp::socket& s) {
  thread_local net::execution_context* context = nullptr;
  thread_local Reactor* reactor = nullptr;
  thread_local unsigned generation = 0;
  net::execution_context& c = net::query(s.get_executor(), net::execution::context_as<net::execution_context&>);
  const unsigned gone = g_contexts_gone.load(std::memory_order_acquire);
  if (&c != context || gone != generation) {
    net::use_service<ForgetOnDestroy>(c);
    reactor = &net::use_service<Reactor>(c);
    context = &c;
    generation = gone;
  }
  return *reactor;
}

// Asio's reactive_socket_recv_op for one buffer, with the short read reported as exhausted.
template <class Handler, class IoExecutor>
class RecvOp : public adetail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(RecvOp);

  RecvOp(int fd, net::mutable_buffer room, Handler& handler, const IoExecutor& io_ex)
      : reactor_op(boost::system::error_code(), &RecvOp::do_perform, &RecvOp::do_complete),
        fd_(fd), room_(room), handler_(std::move(handler)), work_(handler_, io_ex) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<RecvOp*>(base);
    for (;;) {
      const ssize_t n = ::recv(o->fd_, o->room_.data(), o->room_.size(), 0);
      if (n > 0) {
        o->bytes_transferred_ = static_cast<std::size_t>(n);
        return o->bytes_transferred_ < o->room_.size() ? done_and_exhausted : done;
      }
      if (n == 0) {
        o->ec_ = net::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      o->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
      return done;
    }
  }

  static void do_complete(void* owner, adetail::operation* base, const boost::system::error_code&, std::size_t) {
    auto* o = static_cast<RecvOp*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    adetail::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    adetail::binder2<Handler, boost::system::error_code, std::size_t> handler(o->handler_, o->ec_,
                                                                              o->bytes_transferred_);
    p.h = std::addressof(handler.handler_);
    p.reset();
    if (owner) {
      adetail::fenced_block b(adetail::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  int fd_;
  net::mutable_buffer room_;
  Handler handler_;
  adetail::handler_work<Handler, IoExecutor> work_;
};

// Per-operation cancellation, as Asio's socket operations have it.
class Cancellation {
 public:
  Cancellation(Reactor* r, Reactor::per_descriptor_data* d, int fd) : reactor_(r), data_(d), fd_(fd) {}
  void operator()(net::cancellation_type_t type) {
    if (!!(type & (net::cancellation_type::terminal | net::cancellation_type::partial | net::cancellation_type::total)))
      reactor_->cancel_ops_by_key(fd_, *data_, Reactor::read_op, this);
  }

 private:
  Reactor* reactor_;
  Reactor::per_descriptor_data* data_;
  int fd_;
};

struct InitiateRead {
  tcp::socket* socket;
  template <class Handler>
  void operator()(Handler&& handler, net::mutable_buffer room) const {
    using H = std::decay_t<Handler>;
    using IoExecutor = tcp::socket::executor_type;
    using Op = RecvOp<H, IoExecutor>;
    auto& impl = SocketImpl::of(*socket);
    Reactor& reactor = reactor_of(*socket);
    const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
    auto slot = net::get_associated_cancellation_slot(handler);
    typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) Op(impl.socket_, room, handler, socket->get_executor());
    if (slot.is_connected())
      p.p->cancellation_key_ = &slot.template emplace<Cancellation>(&reactor, &impl.reactor_data_, impl.socket_);
    if (room.size() == 0) {
      reactor.post_immediate_completion(p.p, is_continuation);
    } else if (!(impl.state_ & adetail::socket_ops::non_blocking) &&
               !adetail::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p.p->ec_)) {
      reactor.post_immediate_completion(p.p, is_continuation);
    } else {
      reactor.start_op(Reactor::read_op, impl.socket_, impl.reactor_data_, p.p, is_continuation, true);
    }
    p.v = p.p = nullptr;
  }
};

}  // namespace ready_detail

// For a socket just opened, before it connects: nothing can be there to read until the peer
// has had the request, so its first ReadySocket read waits for epoll without a recv first (a
// fresh upstream connection's answer head: one recv failing with EAGAIN a stream, issue 18).
// Any event taken after this (the peer's answer, a close or a reset) raises the flag again.
// Asio raises it at registration, which is why a fresh socket's first read is speculative.
void mark_read_empty(boost::asio::ip::tcp::socket& socket);

// A read stream over a plain TCP socket whose reads follow the note above; everything else
// (writes, timeouts, closing) stays with the socket's owner. Beast's HTTP reads take it as
// their stream. It has no timer: its reads are timed by the owner (an IdleWatch).
class ReadySocket {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  explicit ReadySocket(boost::asio::ip::tcp::socket& socket) : socket_(&socket) {}
  executor_type get_executor() { return socket_->get_executor(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    boost::asio::mutable_buffer room;
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it)
      if (boost::asio::mutable_buffer b(*it); b.size() > 0) {
        room = b;
        break;
      }
    return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        ready_detail::InitiateRead{socket_}, token, room);
  }

 private:
  boost::asio::ip::tcp::socket* socket_;
};

}  // namespace tollgate::http
