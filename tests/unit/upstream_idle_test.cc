// A body read's idle timeout (issue 18, stream7: checked by one sweep per worker thread, not a
// timer armed per read): it fires, again on the same thread, and again after the io_context the
// first sweep waited on is gone.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "http/post_and_wait.h"
#include "loopback.h"

namespace {

using Clock = std::chrono::steady_clock;

// Answers one request with a chunked head and one chunk, then says nothing until the caller
// closes the connection; or, `finish`, ends the answer 20 ms later.
class StallingServer {
 public:
  explicit StallingServer(bool finish = false) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    port_ = tollgate::test_support::bind_loopback(fd_);
    ::listen(fd_, 4);
    thread_ = std::thread([this, finish] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
      const std::string head =
          "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
      (void)::send(c, head.data(), head.size(), MSG_NOSIGNAL);
      if (finish) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        (void)::send(c, "0\r\n\r\n", 5, MSG_NOSIGNAL);
      }
      while (::recv(c, buf, sizeof buf, 0) > 0) {
      }
      ::close(c);
    });
  }
  ~StallingServer() {
    thread_.join();
    ::close(fd_);
  }
  unsigned short port() const { return port_; }

 private:
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

// How long a call to a stalling server took, and what it failed with.
std::pair<std::string, Clock::duration> call_stalling(boost::asio::io_context& ioc, std::chrono::milliseconds idle,
                                                     bool finish = false) {
  StallingServer server(finish);
  tollgate::core::UpstreamEndpoint ep;
  ep.host = "127.0.0.1";
  ep.port = server.port();
  ep.tls = false;
  ep.host_header = "127.0.0.1";
  tollgate::core::Timeouts t;
  t.connect = std::chrono::milliseconds(1000);
  t.read = std::chrono::milliseconds(1000);
  t.idle = idle;
  tollgate::http::OutgoingRequest req;
  req.target = "/";
  req.body = "{}";
  const auto start = Clock::now();
  std::string why = tollgate::http::post_and_wait(ioc, ep, t, false, req);
  return {why, Clock::now() - start};
}

}  // namespace

TEST(UpstreamIdle, ASilentBodyFailsAfterItsIdleTimeoutEveryTime) {
  const std::string idle_timeout(tollgate::http::describe(tollgate::http::UpstreamFailure::idle_timeout));
  using std::chrono::milliseconds;
  {
    boost::asio::io_context ioc{1};
    for (int i = 0; i < 2; ++i) {
      auto [why, took] = call_stalling(ioc, milliseconds(200));
      EXPECT_EQ(why, idle_timeout);
      EXPECT_GE(took, milliseconds(200));
      EXPECT_LT(took, milliseconds(1500));
    }
    // An answer that ends while its read is watched: the io_context goes with the sweep's
    // wait still pending.
    EXPECT_EQ(call_stalling(ioc, milliseconds(200), true).first, "");
  }
  // A new io_context on the same thread: the first one's sweep went with it.
  boost::asio::io_context ioc{1};
  auto [why, took] = call_stalling(ioc, milliseconds(200));
  EXPECT_EQ(why, idle_timeout);
  EXPECT_LT(took, milliseconds(1500));
}
