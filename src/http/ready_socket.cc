#include "http/ready_socket.h"

namespace tollgate::http {
namespace {

namespace adetail = boost::asio::detail;
using Record = ready_detail::Reactor::descriptor_state;

// The record's lock and read flag are private to Asio: reached through an explicit
// instantiation, where C++ does not check access ([temp.spec] 13.9/6), as socket_records.cc
// reaches the reactor's free list.
template <class Tag, typename Tag::type Member>
struct Grant {
  friend typename Tag::type member(Tag) { return Member; }
};
struct RecordLock {
  using type = adetail::conditionally_enabled_mutex Record::*;
  friend type member(RecordLock);
};
struct RecordSpeculative {
  using type = bool (Record::*)[ready_detail::Reactor::max_ops];
  friend type member(RecordSpeculative);
};
template struct Grant<RecordLock, &Record::mutex_>;
template struct Grant<RecordSpeculative, &Record::try_speculative_>;

}  // namespace

void mark_read_empty(boost::asio::ip::tcp::socket& socket) {
  Record* record = ready_detail::SocketImpl::of(socket).reactor_data_;
  if (!record) return;
  adetail::conditionally_enabled_mutex::scoped_lock lock(record->*member(RecordLock{}));
  (record->*member(RecordSpeculative{}))[ready_detail::Reactor::read_op] = false;
}

}  // namespace tollgate::http
