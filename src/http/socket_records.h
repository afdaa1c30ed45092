// Asio's per-socket records, given back after a burst of connections (issue 18: memory after
// waves of streams).
#pragma once

#include <cstddef>

namespace boost::asio {
class io_context;
}

namespace tollgate::http {

// Asio's epoll reactor keeps a record (~200 bytes) for every socket open at once, and when the
// socket closes, keeps the record on a free list for the next socket, for the process's life:
// after 10,000 streams, 20,000 records, each allocated between a stream's other objects, so
// each pins a page that malloc_trim cannot give back (~80 MB after a wave, for ~4 MB of
// records). Called on the io_context's own thread, every few seconds: frees the records that
// were free at the previous call and takes the current free list out of the reactor's reach,
// so the next call frees those. Returns how many it freed.
std::size_t release_socket_records(boost::asio::io_context& ioc);

}  // namespace tollgate::http
