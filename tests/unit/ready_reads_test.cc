// Plain-TCP reads that wait for epoll instead of trying a recv first once the socket is known
// empty (http/ready_socket.h), and their deadlines on the per-thread sweep (http/idle_sweep.h).
// A lost wake-up would be a hung connection: every exchange here ends within its timeout or
// the client's 5 s receive timeout fails the test. The listener's side: pipelined requests, a
// next request or a body in pieces, a connection idle between requests, a head that never ends
// and an idle keep-alive closed on time, a client that closes or goes away. The upstream's
// side: an answer at once, late, in pieces, a pooled connection the upstream closed while it
// was idle (with its close seen by the event loop or not), an upstream that never answers.
#include "http/client.h"
#include "http/post_and_wait.h"
#include "http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <thread>

#include "hello_handler.h"
#include "loopback.h"

// The reads one thread makes: recv (ReadySocket's) and recvmsg (Asio's), counted on the thread
// named here. These definitions take the place of libc's in the whole test binary; each makes
// the same system call libc's does.
std::atomic<std::thread::id> g_counted_thread{};
std::atomic<int> g_reads{0};

void count_read() {
  if (std::this_thread::get_id() == g_counted_thread.load()) ++g_reads;
}

extern "C" ssize_t recv(int fd, void* buf, size_t n, int flags) {
  count_read();
  return syscall(SYS_recvfrom, fd, buf, n, flags, nullptr, nullptr);
}

extern "C" ssize_t recvmsg(int fd, struct msghdr* msg, int flags) {
  count_read();
  return syscall(SYS_recvmsg, fd, msg, flags);
}

namespace tollgate::http {
namespace {

namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void pause(int ms) { std::this_thread::sleep_for(milliseconds(ms)); }

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A client socket whose reads fail after 5 s rather than hang the test.
int connect_to(unsigned short port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads until `count` answers ending in "hello" are in, or the connection ends or times out.
int read_answers(int fd, int count) {
  std::string got;
  auto answers = [&] {
    int n = 0;
    for (std::size_t at = got.find("\r\n\r\nhello"); at != std::string::npos; at = got.find("\r\n\r\nhello", at + 1)) ++n;
    return n;
  };
  while (answers() < count) {
    char piece[4096];
    ssize_t n = ::recv(fd, piece, sizeof piece, 0);
    if (n <= 0) break;
    got.append(piece, static_cast<std::size_t>(n));
  }
  return answers();
}

// How long until the server closes `fd` (recv returns 0 or a reset), or -1 ms on a timeout.
milliseconds time_to_close(int fd) {
  const auto t0 = Clock::now();
  char c;
  ssize_t n = ::recv(fd, &c, 1, 0);
  if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return milliseconds(-1);
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

// A plain listener on its own thread answering "hello"; /wait waits up to 5 s unless the client
// goes. Capped (far above what the tests open) so that its open connections are counted.
class PlainListener : public ::testing::Test {
 protected:
  void SetUp() override {
    ListenerOptions options;
    options.header_timeout = milliseconds(400);
    options.keepalive_idle = milliseconds(600);
    options.max_connections = 10'000;
    options.overloaded = [](Exchange& ex) -> net::awaitable<void> {
      Headers h = {{"content-type", "text/plain"}};
      co_await ex.respond(503, h, "busy");
    };
    listener_ = start_listener(ioc_, "127.0.0.1", 0, options, [this](Exchange& ex) { return handle(ex); });
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    net::post(ioc_, [this] { listener_->drain(); });
    ioc_.stop();
    thread_.join();
    listener_.reset();
  }

  net::awaitable<void> handle(Exchange& ex) { return tollgate::test_support::answer_hello(ex, client_gone_); }

  int client() { return connect_to(listener_->port()); }

  net::io_context ioc_{1};
  std::shared_ptr<Listener> listener_;
  std::thread thread_;
  std::atomic<bool> client_gone_{false};
};

TEST_F(PlainListener, PipelinedRequestsAreAllAnswered) {
  int fd = client();
  send_all(fd, kGet + kGet + kGet);
  EXPECT_EQ(read_answers(fd, 3), 3);
  // And the connection still serves the next one.
  send_all(fd, kGet);
  EXPECT_EQ(read_answers(fd, 1), 1);
  ::close(fd);
}

TEST_F(PlainListener, ANextRequestOrABodyInPiecesIsAnswered) {
  int fd = client();
  send_all(fd, kGet);
  ASSERT_EQ(read_answers(fd, 1), 1);
  // The socket read empty after the first request: each piece must wake the read.
  for (std::size_t at = 0; at < kGet.size(); at += 7) {
    send_all(fd, kGet.substr(at, 7));
    pause(20);
  }
  EXPECT_EQ(read_answers(fd, 1), 1);
  const std::string post = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
  send_all(fd, post + "01234");
  pause(50);
  send_all(fd, "56789");
  EXPECT_EQ(read_answers(fd, 1), 1);
  ::close(fd);
}

TEST_F(PlainListener, AConnectionIdleBetweenRequestsIsAnsweredAtOnce) {
  int fd = client();
  for (int i = 0; i < 3; ++i) {
    send_all(fd, kGet);
    const auto t0 = Clock::now();
    ASSERT_EQ(read_answers(fd, 1), 1) << "request " << i;
    EXPECT_LT(Clock::now() - t0, milliseconds(300)) << "request " << i;
    pause(150);  // within the keep-alive idle time
  }
  ::close(fd);
}

// The point of ReadySocket: after an answer, the next request's read waits for it instead of
// trying a recv that fails. Asio's own read made two reads a request (the failed one and the
// one that got the request); the first request may still cost a failed one, and a disconnect
// watch armed on a slow machine a peek.
TEST_F(PlainListener, AKeptAliveRequestCostsOneReadOnTheListenersThread) {
  std::promise<std::thread::id> id;
  net::post(ioc_, [&] { id.set_value(std::this_thread::get_id()); });
  g_counted_thread = id.get_future().get();
  g_reads = 0;
  int fd = client();
  constexpr int kRequests = 8;
  for (int i = 0; i < kRequests; ++i) {
    send_all(fd, kGet);
    ASSERT_EQ(read_answers(fd, 1), 1);
    pause(5);
  }
  const int reads = g_reads;
  g_counted_thread = std::thread::id();
  EXPECT_GE(reads, kRequests);
  EXPECT_LE(reads, kRequests + 2);
  ::close(fd);
}

TEST_F(PlainListener, AHeadThatNeverEndsIsClosedAfterTheHeaderTimeout) {
  int fd = client();
  send_all(fd, "GET / HTTP/1.1\r\nHost:");
  const auto took = time_to_close(fd);
  EXPECT_GE(took, milliseconds(350));
  EXPECT_LT(took, milliseconds(2000));
  ::close(fd);
}

TEST_F(PlainListener, AnIdleKeptAliveConnectionIsClosedAfterItsIdleTime) {
  int fd = client();
  send_all(fd, kGet);
  ASSERT_EQ(read_answers(fd, 1), 1);
  const auto took = time_to_close(fd);
  EXPECT_GE(took, milliseconds(550));
  EXPECT_LT(took, milliseconds(2500));
  ::close(fd);
}

TEST_F(PlainListener, AClientThatClosesWhileIdleEndsItsSession) {
  const int64_t before = listener_counters().open;
  int fd = client();
  send_all(fd, kGet);
  ASSERT_EQ(read_answers(fd, 1), 1);
  EXPECT_EQ(listener_counters().open, before + 1);
  ::close(fd);
  const auto t0 = Clock::now();
  while (listener_counters().open != before && Clock::now() - t0 < std::chrono::seconds(3)) pause(5);
  EXPECT_EQ(listener_counters().open, before);
  EXPECT_LT(Clock::now() - t0, milliseconds(500));
}

TEST_F(PlainListener, AClientThatGoesAwayMidRequestIsSeen) {
  int fd = client();
  send_all(fd, kGet);
  ASSERT_EQ(read_answers(fd, 1), 1);
  send_all(fd, "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n");
  pause(100);
  const auto left = Clock::now();
  ::close(fd);
  while (!client_gone_ && Clock::now() - left < std::chrono::seconds(3)) pause(5);
  EXPECT_TRUE(client_gone_);
  EXPECT_LT(Clock::now() - left, std::chrono::seconds(1));
}

// An upstream on a thread of its own: each request read whole (head and Content-Length body),
// then `answer(fd, n)` for the n-th request of the run; false closes that connection.
class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(std::function<bool(int, int)> answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    port_ = static_cast<unsigned short>(test_support::bind_loopback(fd_));
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      int n = 0;
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        ++accepts;
        conn_ = c;
        while (read_request(c))
          if (!answer_(c, n++)) break;
        conn_ = -1;
        ::close(c);
      }
    });
  }
  ~ScriptedUpstream() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes the accept
    if (int c = conn_; c >= 0) ::shutdown(c, SHUT_RDWR);  // and a read on a connection the client pooled
    thread_.join();
    ::close(fd_);
  }
  core::UpstreamEndpoint endpoint() const {
    core::UpstreamEndpoint ep;
    ep.host = "127.0.0.1";
    ep.port = port_;
    ep.tls = false;
    ep.host_header = "127.0.0.1";
    return ep;
  }
  std::atomic<int> accepts{0};

 private:
  static bool read_request(int c) {
    std::string got;
    std::size_t head_end;
    while ((head_end = got.find("\r\n\r\n")) == std::string::npos) {
      char piece[4096];
      ssize_t n = ::recv(c, piece, sizeof piece, 0);
      if (n <= 0) return false;
      got.append(piece, static_cast<std::size_t>(n));
    }
    std::string head = got.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char ch) { return std::tolower(ch); });
    std::size_t length = 0;
    if (auto at = head.find("content-length:"); at != std::string::npos) length = std::stoul(head.substr(at + 15));
    while (got.size() < head_end + 4 + length) {
      char piece[4096];
      ssize_t n = ::recv(c, piece, sizeof piece, 0);
      if (n <= 0) return false;
      got.append(piece, static_cast<std::size_t>(n));
    }
    return true;
  }

  std::function<bool(int, int)> answer_;
  std::atomic<int> conn_{-1};
  int fd_ = -1;
  unsigned short port_ = 0;
  std::thread thread_;
};

const std::string kAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

// Runs `body` on a thread of its own with an io_context that outlives it: the client's pool is
// per thread, and its connections must close (at the thread's exit) before their io_context goes.
void on_own_thread(const std::function<void(net::io_context&)>& body) {
  net::io_context ioc{1};
  std::thread([&] { body(ioc); }).join();
}

std::string call(net::io_context& ioc, const ScriptedUpstream& up, milliseconds read = milliseconds(3000)) {
  core::Timeouts t;
  t.connect = milliseconds(1000);
  t.read = read;
  t.idle = milliseconds(3000);
  OutgoingRequest req;
  req.target = "/v1/chat/completions";
  req.body = "{}";
  return post_and_wait(ioc, up.endpoint(), t, false, req);
}

TEST(ReadyUpstream, AnswersAtOnceLateOrInPiecesOnAPooledConnection) {
  ScriptedUpstream up([](int fd, int n) {
    if (n % 3 == 1) pause(150);
    if (n % 3 == 2) {
      // The head in three pieces, then a chunked body in two.
      const std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
      send_all(fd, head.substr(0, 10));
      pause(20);
      send_all(fd, head.substr(10, 30));
      pause(20);
      send_all(fd, head.substr(40) + "5\r\n{\"ok\"\r\n");
      pause(20);
      send_all(fd, "6\r\n:true}\r\n0\r\n\r\n");
      return true;
    }
    send_all(fd, kAnswer);
    return true;
  });
  on_own_thread([&](net::io_context& ioc) {
    for (int i = 0; i < 9; ++i) {
      EXPECT_EQ(call(ioc, up), "") << "call " << i;
      if (i % 2) ioc.run_for(milliseconds(30));  // the event loop idles between some calls
    }
  });
  EXPECT_EQ(up.accepts.load(), 1);  // every call on the one pooled connection
}

// The same on the upstream's side: the answer to a request that has just gone out is waited for,
// not tried first (the first call on a fresh connection may still try once).
TEST(ReadyUpstream, AnAnswerCostsOneReadOnAPooledConnection) {
  ScriptedUpstream up([](int fd, int) {
    pause(2);
    send_all(fd, kAnswer);
    return true;
  });
  constexpr int kCalls = 8;
  int reads = 0;
  on_own_thread([&](net::io_context& ioc) {
    g_counted_thread = std::this_thread::get_id();
    g_reads = 0;
    for (int i = 0; i < kCalls; ++i) EXPECT_EQ(call(ioc, up), "");
    reads = g_reads;
    g_counted_thread = std::thread::id();
  });
  EXPECT_GE(reads, kCalls);
  EXPECT_LE(reads, kCalls + 1);
  EXPECT_EQ(up.accepts.load(), 1);
}

// A fresh connection's first read, the answer's head, waits for epoll too (mark_read_empty at
// open): each call on a connection of its own costs one read, not a failed one first (issue 18:
// a stream's fresh upstream connection; 2 reads a call before).
TEST(ReadyUpstream, AnAnswerCostsOneReadOnAFreshConnection) {
  const std::string closing =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
  ScriptedUpstream up([&](int fd, int) {
    pause(20);
    send_all(fd, closing);
    return false;
  });
  constexpr int kCalls = 8;
  int reads = 0;
  on_own_thread([&](net::io_context& ioc) {
    g_counted_thread = std::this_thread::get_id();
    g_reads = 0;
    for (int i = 0; i < kCalls; ++i) EXPECT_EQ(call(ioc, up), "") << "call " << i;
    reads = g_reads;
    g_counted_thread = std::thread::id();
  });
  EXPECT_EQ(up.accepts.load(), kCalls);  // none pooled: a connection each
  EXPECT_GE(reads, kCalls);
  EXPECT_LE(reads, kCalls + 1);
}

TEST(ReadyUpstream, APooledConnectionTheUpstreamClosedIsReplaced) {
  // Each answer, then the upstream closes the connection: the next call finds it pooled.
  ScriptedUpstream up([](int fd, int) {
    send_all(fd, kAnswer);
    return false;
  });
  on_own_thread([&](net::io_context& ioc) {
    EXPECT_EQ(call(ioc, up), "");
    pause(50);  // the close arrives; the event loop does not run meanwhile
    EXPECT_EQ(call(ioc, up), "");
    pause(50);
    ioc.run_for(milliseconds(50));  // the close arrives and the event loop takes it while idle
    EXPECT_EQ(call(ioc, up), "");
  });
  EXPECT_EQ(up.accepts.load(), 3);
}

TEST(ReadyUpstream, AnUpstreamThatNeverAnswersTimesOut) {
  std::atomic<bool> done{false};
  ScriptedUpstream up([&](int, int) {
    while (!done) pause(10);
    return false;
  });
  Clock::duration took{};
  on_own_thread([&](net::io_context& ioc) {
    const auto t0 = Clock::now();
    EXPECT_EQ(call(ioc, up, milliseconds(300)), describe(UpstreamFailure::response_timeout));
    took = Clock::now() - t0;
  });
  done = true;
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(1500));
}

}  // namespace
}  // namespace tollgate::http
