// A streamed answer written as the relay writes it (issue 18): write_chunk_now first, and
// write_chunk with the same data when the connection could not take the chunk at once. With
// a client that reads only after a while, chunks are sent in part or not at all at first, and
// the client must still receive every byte once, in order.
#include "http/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace tollgate::http {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

constexpr int kChunks = 128;

std::string chunk_text(int i) {
  std::string s(100 * 1024 + i * 37, static_cast<char>('a' + i % 26));  // sizes that split anywhere
  s.front() = '<';
  s.back() = '>';
  return s;
}

struct Written {
  std::atomic<int> waits{0};
  std::atomic<bool> all_ok{true};
};

net::awaitable<void> stream_chunks(Exchange& ex, Written& w) {
  Headers headers = {{"content-type", "text/event-stream"}};
  co_await ex.start_stream(200, headers);
  for (int i = 0; i < kChunks; ++i) {
    const std::string data = chunk_text(i);
    bool ok = true;
    const auto now = ex.write_chunk_now(data);
    if (now == Exchange::Written::must_wait) {
      ++w.waits;
      ok = co_await ex.write_chunk(data);
    } else {
      ok = now == Exchange::Written::written;
    }
    if (!ok) w.all_ok = false;
  }
  co_await ex.end_stream();
}

TEST(StreamWrite, ChunksTheSocketCouldNotTakeAtOnceArriveWholeAndInOrder) {
  net::io_context ioc{1};
  Written w;
  auto listener = start_listener(ioc, "127.0.0.1", 0, ListenerOptions{}, [&w](Exchange& ex) { return stream_chunks(ex, w); });
  std::thread server([&ioc] { ioc.run(); });

  net::io_context client_ioc;
  tcp::socket s(client_ioc);
  s.open(tcp::v4());
  int small = 4096;
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  s.connect({net::ip::make_address("127.0.0.1"), listener->port()});
  timeval tv{10, 0};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/", 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.prepare_payload();
  bhttp::write(s, req);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server's writes fill the socket

  boost::beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  bhttp::read(s, buf, parser);
  std::string expected;
  for (int i = 0; i < kChunks; ++i) expected += chunk_text(i);
  const std::string& body = parser.get().body();
  EXPECT_EQ(body.size(), expected.size());
  EXPECT_TRUE(body == expected);
  EXPECT_GT(w.waits.load(), 0);  // the path under test was taken
  EXPECT_TRUE(w.all_ok.load());

  net::post(ioc, [&] { listener->drain(); });
  ioc.stop();
  server.join();
}

}  // namespace
}  // namespace tollgate::http
