#include "http/socket_records.h"

#include <boost/asio/io_context.hpp>

#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#include <boost/asio/detail/epoll_reactor.hpp>

namespace tollgate::http {
namespace {

namespace detail = boost::asio::detail;
using Record = detail::epoll_reactor::descriptor_state;
using Pool = detail::object_pool<Record>;

// Asio offers no way to empty the free list: the three members it takes are reached through
// an explicit instantiation, where C++ does not check access ([temp.spec] 13.9/6). Each Tag
// names a member's type; Grant's friend function hands out the member pointer.
template <class Tag, typename Tag::type Member>
struct Grant {
  friend typename Tag::type member(Tag) { return Member; }
};
struct ReactorPool {
  using type = Pool detail::epoll_reactor::*;
  friend type member(ReactorPool);
};
struct ReactorPoolLock {
  using type = detail::conditionally_enabled_mutex detail::epoll_reactor::*;
  friend type member(ReactorPoolLock);
};
struct PoolFreeList {
  using type = Record* Pool::*;
  friend type member(PoolFreeList);
};
template struct Grant<ReactorPool, &detail::epoll_reactor::registered_descriptors_>;
template struct Grant<ReactorPoolLock, &detail::epoll_reactor::registered_descriptors_mutex_>;
template struct Grant<PoolFreeList, &Pool::free_list_>;

// The records taken off the reactor at the previous call, one list per io_context. They are
// not freed at once: a completion for a socket closed just now may still wait in the
// scheduler's queue, pointing at its record, which Asio expects to stay valid (its own reuse
// relies on it too). The queue is first in, first out, and the next call is queued after this
// one ran, so by then every such completion has run. What is left when the io_context goes is
// freed by its destructor, after the scheduler has dropped its queue.
class Quarantine final : public boost::asio::execution_context::service {
 public:
  static boost::asio::execution_context::id id;
  explicit Quarantine(boost::asio::execution_context& ctx) : service(ctx) {}
  ~Quarantine() override { free_all(); }

  std::size_t free_all() {
    std::size_t freed = 0;
    while (Record* r = records) {
      records = detail::object_pool_access::next(r);
      detail::object_pool_access::destroy(r);
      ++freed;
    }
    return freed;
  }

  Record* records = nullptr;  // linked as the pool links them

 private:
  void shutdown() override {}
};
boost::asio::execution_context::id Quarantine::id;

}  // namespace

std::size_t release_socket_records(boost::asio::io_context& ioc) {
  auto& quarantine = boost::asio::use_service<Quarantine>(ioc);
  const std::size_t freed = quarantine.free_all();
  auto& reactor = boost::asio::use_service<detail::epoll_reactor>(ioc);
  detail::conditionally_enabled_mutex::scoped_lock lock(reactor.*member(ReactorPoolLock{}));
  Pool& pool = reactor.*member(ReactorPool{});
  quarantine.records = pool.*member(PoolFreeList{});
  pool.*member(PoolFreeList{}) = nullptr;
  return freed;
}

}  // namespace tollgate::http

#else

namespace tollgate::http {
std::size_t release_socket_records(boost::asio::io_context&) { return 0; }
}  // namespace tollgate::http

#endif
