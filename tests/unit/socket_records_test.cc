// Asio's records of closed sockets are given back over two calls (http/socket_records.h).
#include "http/socket_records.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <vector>

namespace tollgate::http {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

TEST(SocketRecords, ClosedSocketsRecordsAreFreedAtTheNextCall) {
  net::io_context ioc{1};
  {
    std::vector<tcp::socket> sockets;
    for (int i = 0; i < 8; ++i) {
      sockets.emplace_back(ioc);
      sockets.back().open(tcp::v4());
    }
  }  // closed: their records wait on the reactor's free list
  EXPECT_EQ(release_socket_records(ioc), 0u);  // taken off the free list, not yet freed
  EXPECT_EQ(release_socket_records(ioc), 8u);
  EXPECT_EQ(release_socket_records(ioc), 0u);

  // Sockets opened afterwards get new records and work.
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
  tcp::socket client(ioc);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  const char ping[] = "ping";
  net::write(client, net::buffer(ping));
  char got[sizeof ping] = {};
  net::read(server, net::buffer(got));
  EXPECT_STREQ(got, "ping");

  // A record still set aside when the io_context goes is freed with it (AddressSanitizer's
  // leak check says so).
  { tcp::socket closed(ioc); closed.open(tcp::v4()); }
  EXPECT_EQ(release_socket_records(ioc), 0u);
}

}  // namespace
}  // namespace tollgate::http
