#include "http/server.h"
#include "http/idle_sweep.h"
#include "http/ready_socket.h"
#include "http/request_headers.h"
#include "http/wire.h"

#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <type_traits>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_set>
#include <utility>
#include <vector>

namespace tollgate::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

class TlsContext {
 public:
  // Shared by every connection of every worker: OpenSSL makes creating sessions from one
  // SSL_CTX safe across threads, and nothing changes it after make_tls_context.
  ssl::context context{ssl::context::tls_server};
};

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// How long a closing TLS connection waits for the client's close_notify: many clients never
// send one, and the connection must not outlive its answer by more than this.
constexpr std::chrono::seconds kTlsShutdownTimeout{2};

// ALPN: this server speaks HTTP/1.1 only. A client that offers only h2 gets no ALPN answer
// (rather than a failed handshake) and may still fall back.
int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
  static const unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kHttp11, sizeof kHttp11, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

void require_readable(const std::string& path, std::string_view what) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(fmt::format("cannot read the {} \"{}\": {}", what, path, std::strerror(errno)));
}

struct ListenerState;

std::atomic<uint64_t> g_accept_errors{0};
std::atomic<uint64_t> g_refused{0};
std::atomic<int64_t> g_open{0};  // connections on capped listeners

// The read buffer's room for a request's head (and a small body with it).
constexpr std::size_t kRequestReadSize = 4096;

// That room is taken before each request's read and given back once the request is parsed out
// (memory per open stream, issue 18). glibc serves a 4 KiB block from its bins, not from its
// per-thread cache (which stops at 1 KiB), and coalesces it with its neighbours when freed,
// running malloc_consolidate and unlink_chunk on every request. Each worker thread keeps a few
// such blocks instead (at most 16 KiB a thread; other sizes go to the heap as before).
class ReadRoom {
 public:
  static void* take(std::size_t n) {
    auto& kept = blocks();
    if (n == kRequestReadSize && kept.count > 0) return kept.block[--kept.count];
    return ::operator new(n);
  }
  static void give_back(void* p, std::size_t n) {
    auto& kept = blocks();
    if (n == kRequestReadSize && kept.count < Kept::kMax) kept.block[kept.count++] = p;
    else ::operator delete(p);
  }

 private:
  struct Kept {
    static constexpr int kMax = 4;
    void* block[kMax];
    int count = 0;
    ~Kept() {
      while (count > 0) ::operator delete(block[--count]);
    }
  };
  static Kept& blocks() {
    thread_local Kept kept;
    return kept;
  }
};

template <class T>
struct ReadRoomAllocator {
  using value_type = T;
  using is_always_equal = std::true_type;
  ReadRoomAllocator() = default;
  template <class U>
  ReadRoomAllocator(const ReadRoomAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(ReadRoom::take(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { ReadRoom::give_back(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const ReadRoomAllocator<U>&) const noexcept { return true; }
};

using ReadBuffer = beast::basic_flat_buffer<ReadRoomAllocator<char>>;

// How long a refused caller may take to send its request before the connection just closes.
constexpr std::chrono::seconds kRefusalReadTimeout{1};
// Refusals in progress per listener: each holds a descriptor while it reads the request, so a
// burst of excess callers waits its turn (briefly) rather than taking the descriptors the
// admitted callers need for their upstream connections.
constexpr std::size_t kMaxRefusing = 4;

// Watches the client's socket while a handler runs: a read that completes with an error means
// the client closed. Bytes that arrive instead (a pipelined request) are kept for the session.
struct ClientWatch {
  net::cancellation_signal cancel;
  // TLS only: the session waits on it for the watch's read to end (plain TCP needs no wait).
  std::optional<net::steady_timer> done_timer;
  bool done = false;
  bool gone = false;
  bool finished = false;  // the session has moved on: a late completion changes nothing
  std::function<void()> on_gone;
};

// Marks the watch finished however the session leaves its request (an exception, or the
// frame destroyed at shutdown): a plain watch not armed yet refers to the session's socket, and
// the listener's tick arms only unfinished ones (defer_watch).
struct WatchFinisher {
  std::shared_ptr<ClientWatch>& watch;
  ~WatchFinisher() {
    if (watch) watch->finished = true;
  }
};

// Stream is beast::tcp_stream (plain HTTP) or beast::ssl_stream<beast::tcp_stream> (TLS); the
// timeouts live on the TCP stream underneath either way.
template <class Stream>
class SessionExchange final : public Exchange {
 public:
  SessionExchange(Stream& stream, bhttp::request<bhttp::string_body>& req,
                  const ListenerOptions& opt, bool keep_alive, std::string remote)
      : stream_(stream), req_(req), opt_(opt), keep_alive_(keep_alive),
        remote_(std::move(remote)) {}

  std::string_view method() const override { return req_.method_string(); }
  std::string_view target() const override { return req_.target(); }
  std::string_view header(std::string_view name) const override {
    auto it = req_.find(name);
    return it == req_.end() ? std::string_view{} : std::string_view(it->value());
  }
  Headers headers_starting_with(std::string_view prefix) const {
    Headers out;
    for (const auto& f : req_) {
      std::string_view name = f.name_string();
      if (name.size() >= prefix.size() && beast::iequals(name.substr(0, prefix.size()), prefix))
        out.emplace_back(std::string(name), std::string(f.value()));
    }
    return out;
  }
  const std::string& body() const override { return req_.body(); }
  std::string_view remote_address() const override { return remote_; }

  net::awaitable<void> respond(int status, const Headers& headers, std::string body) override {
    responded_ = true;
    const std::string head = response_head(status, headers, keep_alive_, body.size());
    std::array<net::const_buffer, 2> message{net::buffer(head), net::buffer(body)};
    co_await send(message);
  }

  net::awaitable<bool> start_stream(int status, const Headers& headers) override {
    co_return co_await start_stream(status, headers, std::string_view{});
  }

  // The head, and the first chunk with it when there is one, in one write.
  net::awaitable<bool> start_stream(int status, const Headers& headers, std::string_view first) override {
    responded_ = true;
    streaming_ = true;
    const std::string head = stream_head(status, headers, keep_alive_);
    char size[20];
    const std::size_t size_len = first.empty() ? 0 : chunk_size_line(size, first.size());
    std::array<net::const_buffer, 4> pieces{net::buffer(head), net::buffer(size, size_len),
                                            net::buffer(first.data(), first.size()),
                                            net::buffer("\r\n", first.empty() ? 0 : 2)};
    if (!sent_now(pieces)) co_await send_rest(pieces);
    co_return !broken_;
  }

  net::awaitable<bool> write_chunk(std::string_view data) override {
    if (broken_ || data.empty()) co_return !broken_;
    char size[20];
    const std::size_t size_len = chunk_size_line(size, data.size());
    std::array<net::const_buffer, 3> pieces{net::buffer(size, size_len), net::buffer(data.data(), data.size()),
                                            net::buffer("\r\n", 2)};
    if (const std::size_t sent = std::exchange(chunk_sent_, 0); sent > 0) {
      // write_chunk_now sent the first `sent` bytes of this chunk.
      std::size_t skip = sent;
      for (auto& p : pieces) {
        const std::size_t k = std::min(skip, p.size());
        p += k;
        skip -= k;
      }
      co_await send_rest(pieces);
    } else if (!sent_now(pieces)) {
      // Written here when the socket takes it all: send's coroutine frame only for the rest.
      co_await send_rest(pieces);
    }
    co_return !broken_;
  }

  Written write_chunk_now(std::string_view data) override {
    if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
      return Written::must_wait;  // TLS: through the stream's write
    } else {
      if (broken_) return Written::client_gone;
      if (data.empty()) return Written::written;
      char size[20];
      const std::size_t size_len = chunk_size_line(size, data.size());
      std::array<net::const_buffer, 3> pieces{net::buffer(size, size_len), net::buffer(data.data(), data.size()),
                                              net::buffer("\r\n", 2)};
      const std::size_t total = size_len + data.size() + 2;
      if (sent_now(pieces)) return broken_ ? Written::client_gone : Written::written;
      std::size_t left = 0;
      for (const auto& p : pieces) left += p.size();
      chunk_sent_ = total - left;  // write_chunk sends the rest
      return Written::must_wait;
    }
  }

  net::awaitable<void> end_stream() override {
    if (broken_) co_return;
    std::array<net::const_buffer, 1> last{net::buffer("0\r\n\r\n", 5)};
    co_await send(last);
    stream_done_ = true;
  }

  bool responded() const override { return responded_; }

  void on_client_gone(std::function<void()> fn) override {
    if (!watch_) return;
    if (watch_->gone) {
      if (fn) fn();
      return;
    }
    watch_->on_gone = std::move(fn);
  }
  bool client_gone() const override { return broken_ || (watch_ && watch_->gone); }

  void set_watch(std::shared_ptr<ClientWatch> w) { watch_ = std::move(w); }
  // The answer went out whole and the client is still there: the connection stands at a
  // message boundary (a TLS session may still say close_notify on it).
  bool intact() const { return !broken_ && (!streaming_ || stream_done_) && !client_gone(); }
  // The connection can carry another request only if this answer completed cleanly.
  bool reusable() const { return keep_alive_ && intact(); }

 private:
  // Plain TCP: at once when the socket takes it all (see send_now); the rest, or a TLS
  // message, through the stream under the write timeout.
  template <std::size_t N>
  net::awaitable<void> send(std::array<net::const_buffer, N>& pieces) {
    if (!sent_now(pieces)) co_await send_rest(pieces);
  }
  // Plain TCP: true when the socket took every piece at once, or the connection broke; `pieces`
  // then start at what is left.
  template <std::size_t N>
  bool sent_now(std::array<net::const_buffer, N>& pieces) {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      beast::error_code ec;
      if (send_now(stream_.socket().native_handle(), pieces, ec)) return true;
      if (ec) {
        broken_ = true;
        return true;
      }
    }
    return false;
  }
  template <std::size_t N>
  net::awaitable<void> send_rest(std::array<net::const_buffer, N>& pieces) {
    beast::get_lowest_layer(stream_).expires_after(opt_.write_timeout);
    auto [ec, n] = co_await net::async_write(stream_, pieces, use_tuple);
    if (ec) broken_ = true;
  }

  Stream& stream_;
  bhttp::request<bhttp::string_body>& req_;
  const ListenerOptions& opt_;
  bool keep_alive_;
  std::string remote_;
  std::shared_ptr<ClientWatch> watch_;
  bool responded_ = false;
  bool streaming_ = false;
  bool stream_done_ = false;
  bool broken_ = false;
  std::size_t chunk_sent_ = 0;  // of the chunk write_chunk_now could not send whole
};

struct ListenerState final : Listener, std::enable_shared_from_this<ListenerState> {
  ListenerState(net::io_context& ioc, ListenerOptions o, Handler h)
      : ioc(ioc), acceptor(ioc), options(o), handler(std::move(h)), refusal_done(ioc) {}

  void drain() override {
    draining = true;
    beast::error_code ec;
    acceptor.close(ec);
    for (auto* s : idle) s->cancel();
  }
  std::size_t active_requests() const override { return active; }
  unsigned short port() const override { return bound_port; }

  net::io_context& ioc;
  tcp::acceptor acceptor;
  ListenerOptions options;
  Handler handler;
  unsigned short bound_port = 0;
  bool draining = false;
  std::size_t active = 0;
  // Sessions waiting for their next request (or their TLS handshake), by their TCP stream.
  std::unordered_set<beast::tcp_stream*> idle;
  std::size_t refusing = 0;          // refusals in progress (over max_connections)
  net::steady_timer refusal_done;    // cancelled as each one ends, to wake the accept loop
  // Plain-TCP client watches not armed yet, and the tick that arms them (see defer_watch).
  std::vector<std::pair<std::shared_ptr<ClientWatch>, tcp::socket*>> unwatched;
  std::optional<net::steady_timer> watch_tick;
};

// A session's place in the process-wide count of a capped listener, and in its listener's
// refusals in progress.
struct SessionCount {
  SessionCount(ListenerState& st, bool refuse) : st(st), refuse(refuse) {
    if (st.options.max_connections) g_open.fetch_add(1, std::memory_order_relaxed);
  }
  ~SessionCount() {
    if (st.options.max_connections) g_open.fetch_sub(1, std::memory_order_relaxed);
    if (refuse) {
      --st.refusing;
      st.refusal_done.cancel();
    }
  }
  ListenerState& st;
  bool refuse;
};

// Starts the watch's read on the session's stream (over TLS that is the decrypting read: a
// close_notify, a cut or a reset all end it with an error). Asio's SSL stream allows one read
// and one write in flight at once, which is what this read and the handler's writes are.
// The read is started here rather than in a spawned coroutine so that it is in flight, its
// timer disarmed by the session's expires_never(), before the handler's first write re-arms
// the stream's timers: started later, it would inherit the write timeout and, on a long
// stream, end in a timeout taken for a client gone.
// The session awaits the watch's end before it reads the stream again or destroys it.
template <class Stream>
void watch_client(Stream& stream, ReadBuffer& buf, const std::shared_ptr<ClientWatch>& w) {
  auto on_read = [w, &buf](beast::error_code ec, std::size_t n) {
    if (!ec) buf.commit(n);
    w->done = true;
    if (ec && ec != net::error::operation_aborted) {
      w->gone = true;
      if (w->on_gone) {
        auto fn = std::move(w->on_gone);
        fn();
      }
    }
    w->done_timer->cancel();
  };
  stream.async_read_some(buf.prepare(1024),
                         net::bind_cancellation_slot(w->cancel.slot(), std::move(on_read)));
}

// Plain TCP: a readiness wait rather than a read. Asio tries a read at once, before it arms
// epoll, and on a quiet socket that read fails (EAGAIN): a syscall on every request for
// nothing. The wait costs none to start, reads nothing (a pipelined request stays in the
// socket for the session), and needs no end-of-watch handshake: once `finished` is set, a
// late completion only returns. When the socket turns readable, a peek tells a close (0 bytes
// or an error) from a pipelined request (bytes waiting).
void watch_socket(tcp::socket& socket, const std::shared_ptr<ClientWatch>& w) {
  auto on_ready = [w, &socket](beast::error_code ec) {
    if (w->finished) return;
    if (ec) {
      w->done = true;
      return;
    }
    char byte;
    ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      watch_socket(socket, w);  // woken without data or a close: wait again
      return;
    }
    w->done = true;
    if (n > 0) return;  // a pipelined request: read after this answer
    w->gone = true;
    if (w->on_gone) {
      auto fn = std::move(w->on_gone);
      fn();
    }
  };
  socket.async_wait(tcp::socket::wait_read, net::bind_cancellation_slot(w->cancel.slot(), std::move(on_ready)));
}

// How long a plain-TCP request runs before its client is watched. Arming the watch costs a
// syscall (epoll_ctl: Asio re-arms the descriptor for a wait that does not read first), and most
// answers that do not wait on a model (a cache hit, an error, a fast upstream) are out before
// then. A model's answer takes far longer, so it is watched all the same, from at most 2x this
// after it started: a client that leaves is noticed that much later at worst (issue 18:
// syscalls per request). One timer per listener arms every watch due, and runs only while
// requests are in progress.
constexpr std::chrono::milliseconds kWatchDelay{5};

void arm_due_watches(const std::shared_ptr<ListenerState>& st) {
  // What was queued before this tick is armed; a watch whose request ended is dropped.
  auto due = std::move(st->unwatched);
  st->unwatched.clear();
  for (auto& [w, socket] : due)
    if (!w->finished) watch_socket(*socket, w);
}

void defer_watch(ListenerState& st, tcp::socket& socket, std::shared_ptr<ClientWatch> w) {
  const bool idle = st.unwatched.empty();
  st.unwatched.emplace_back(std::move(w), &socket);
  if (!idle) return;
  if (!st.watch_tick) st.watch_tick.emplace(st.ioc);
  st.watch_tick->expires_after(kWatchDelay);
  st.watch_tick->async_wait([st = st.shared_from_this()](beast::error_code ec) {
    if (!ec) arm_due_watches(st);
  });
}

Headers json_headers() { return {{"content-type", "application/json"}}; }

std::string simple_error(std::string_view message, std::string_view code) {
  // The listener cannot know the route's dialect before parsing the request; OpenAI's
  // envelope is the default one.
  return fmt::format(R"({{"error":{{"message":"{}","type":"invalid_request_error","param":null,"code":"{}"}}}})",
                     message, code);
}

template <class Stream>
net::awaitable<void> write_simple(Stream& stream, bhttp::status status, std::string body) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  bhttp::response<bhttp::string_body> res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-request-id", fmt::format("req_{:016x}{:08x}", rng(), static_cast<uint32_t>(rng())));
  res.keep_alive(false);
  res.body() = std::move(body);
  res.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, use_tuple);
}

// After refusing a request whose body is still arriving: closing at once would make the
// kernel answer the unread bytes with a reset, and the client would never read the refusal.
// So stop writing, read and discard for a bounded while, then close. Over TLS the discarded
// bytes are read undecrypted from the TCP stream: the session ends here, without close_notify.
net::awaitable<void> discard_until_close(beast::tcp_stream& stream, ReadBuffer& buf) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  std::size_t total = 0;
  char sink[16384];
  while (total < 64 * 1024 * 1024) {
    auto [rec, n] = co_await stream.async_read_some(net::buffer(sink), use_tuple);
    if (rec) break;
    total += n;
  }
  buf.clear();
}

bool quiet_close(const beast::error_code& ec) {
  return ec == beast::error::timeout || ec == bhttp::error::end_of_stream ||
         ec == net::error::operation_aborted || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == ssl::error::stream_truncated ||
         ec.category() == net::error::get_ssl_category();
}

// The answers to a request that could not be read, each a coroutine of its own so that their
// temporaries are not in serve_requests' frame, which every open stream holds (issue 18).
// True when the connection ends in good order (see serve_requests).
template <class Stream>
net::awaitable<bool> answer_header_error(Stream& stream, ReadBuffer& buf, const ListenerOptions& opt,
                                         beast::error_code hec) {
  if (hec == bhttp::error::body_limit) {
    // Content-Length announced more than the limit: refuse before reading it.
    co_await write_simple(stream, bhttp::status::payload_too_large,
                          simple_error(fmt::format("request body exceeds the limit of {} bytes", opt.max_body_bytes),
                                       "request_too_large"));
    co_await discard_until_close(beast::get_lowest_layer(stream), buf);
    co_return false;
  }
  if (hec == bhttp::error::header_limit) {
    co_await write_simple(stream, bhttp::status::request_header_fields_too_large,
                          simple_error("request headers are too large", "header_too_large"));
    co_return true;
  }
  if (quiet_close(hec)) co_return hec == bhttp::error::end_of_stream || hec == net::error::operation_aborted;
  co_await write_simple(stream, bhttp::status::bad_request, simple_error("malformed HTTP request", "bad_request"));
  co_return true;
}

template <class Stream>
net::awaitable<void> answer_body_error(Stream& stream, ReadBuffer& buf, const ListenerOptions& opt,
                                       beast::error_code bec) {
  if (bec == bhttp::error::body_limit) {
    co_await write_simple(stream, bhttp::status::payload_too_large,
                          simple_error(fmt::format("request body exceeds the limit of {} bytes", opt.max_body_bytes),
                                       "request_too_large"));
    co_await discard_until_close(beast::get_lowest_layer(stream), buf);
  } else if (bec == beast::error::timeout) {
    co_await write_simple(stream, bhttp::status::request_timeout,
                          simple_error("request body not received in time", "request_timeout"));
  }
}

template <class Stream>
net::awaitable<void> send_continue(Stream& stream, const ListenerOptions& opt) {
  bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
  beast::get_lowest_layer(stream).expires_after(opt.write_timeout);
  co_await bhttp::async_write(stream, cont, use_tuple);
}

net::awaitable<void> answer_internal_error(Exchange& ex) {
  // (Built before the co_await: GCC 12 miscompiles brace-initialised temporaries there.)
  Headers headers = json_headers();
  std::string body = simple_error("internal error", "internal_error");
  co_await ex.respond(500, headers, std::move(body));
}

// The request reads. Plain TCP reads through ReadySocket (ready_socket.h): once a request has
// come in a short read, the socket is known empty and the next request's read, right after the
// answer, does not try a recv that would fail. Its deadline is the listener's sweep's
// (idle_sweep.h), not the stream's timer; TLS reads stay with the stream and its timer.
const std::shared_ptr<IdleList>& request_reads() {
  thread_local auto mine = std::make_shared<IdleList>();
  return mine;
}

beast::error_code timed(beast::error_code ec, const IdleWatch& watch) {
  if (ec && watch.expired) return beast::error::timeout;
  return ec;
}

template <class Stream>
net::awaitable<beast::error_code> read_header(Stream& stream, ReadBuffer& buf, bhttp::request_parser<bhttp::string_body>& parser,
                                              IdleWatch& watch, std::chrono::milliseconds timeout) {
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    watch.watch(request_reads(), transport.socket(), timeout, transport.get_executor());
    ReadySocket ready(transport.socket());
    auto [ec, n] = co_await bhttp::async_read_header(ready, buf, parser, use_tuple);
    watch.unlink();
    co_return timed(ec, watch);
  } else {
    transport.expires_after(timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buf, parser, use_tuple);
    co_return ec;
  }
}

template <class Stream>
net::awaitable<beast::error_code> read_body(Stream& stream, ReadBuffer& buf, bhttp::request_parser<bhttp::string_body>& parser,
                                            IdleWatch& watch, std::chrono::milliseconds timeout) {
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    watch.watch(request_reads(), transport.socket(), timeout, transport.get_executor());
    ReadySocket ready(transport.socket());
    auto [ec, n] = co_await bhttp::async_read(ready, buf, parser, use_tuple);
    watch.unlink();
    co_return timed(ec, watch);
  } else {
    transport.expires_after(timeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
    co_return ec;
  }
}

// Serves requests on one connection until it should close. True when it ends in good order
// (an answer went out whole, or a drain or the client's own close ended the wait for the next
// request), so a TLS session can still send close_notify; false after a transport error.
// `refuse`: the connection is over the cap; its one request is read (briefly) only to be
// answered by options.overloaded in the right dialect.
template <class Stream>
net::awaitable<bool> serve_requests(Stream& stream, ReadBuffer& buf, ListenerState& st,
                                    const std::string& remote, bool refuse) {
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  const ListenerOptions& opt = st.options;
  bool first = true;
  const auto header_timeout = refuse ? std::min<std::chrono::milliseconds>(opt.header_timeout, kRefusalReadTimeout)
                                     : opt.header_timeout;
  const auto body_timeout = refuse ? std::min<std::chrono::milliseconds>(opt.body_timeout, kRefusalReadTimeout)
                                   : opt.body_timeout;

  IdleWatch read_watch;  // plain TCP: the deadline of the read in progress
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    parser.body_limit(opt.max_body_bytes);

    // Beast reads as much as the buffer has room for, and at least 512 bytes: a request of a
    // few KiB (a chat body) would take a read per 512 bytes.
    if (buf.capacity() < kRequestReadSize) buf.reserve(kRequestReadSize);
    st.idle.insert(&transport);
    const auto hec = co_await read_header(stream, buf, parser, read_watch, first ? header_timeout : opt.keepalive_idle);
    st.idle.erase(&transport);
    first = false;
    if (hec) co_return co_await answer_header_error(stream, buf, opt, hec);

    // Clients (curl among them) hold bodies over 1 KiB until told to go on.
    if (parser.get()[bhttp::field::expect] == "100-continue") co_await send_continue(stream, opt);
    // A body that came with the head is parsed here: Beast's read would post its completion to
    // the event loop's next round.
    if (!parser.is_done() && buf.size() > 0) {
      beast::error_code pec;
      buf.consume(parser.put(buf.data(), pec));
      if (pec && pec != bhttp::error::need_more) {
        co_await answer_body_error(stream, buf, opt, pec);
        co_return false;
      }
    }
    if (!parser.is_done()) {
      // Room for the body announced (within the parser's own 64 KiB per read), so it comes in
      // as few reads as the client sent it in.
      if (auto left = parser.content_length_remaining(); left && *left > buf.capacity())
        buf.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*left, 64 * 1024)));
      const auto bec = co_await read_body(stream, buf, parser, read_watch, body_timeout);
      if (bec) {
        co_await answer_body_error(stream, buf, opt, bec);
        co_return false;
      }
    }
    transport.expires_never();

    auto& req = parser.get();
    bool keep_alive = req.keep_alive() && !st.draining && !refuse;
    SessionExchange<Stream> ex(stream, req, opt, keep_alive, remote);
    if (refuse) {
      g_refused.fetch_add(1, std::memory_order_relaxed);
      co_await opt.overloaded(ex);
      co_return ex.intact();
    }

    std::shared_ptr<ClientWatch> watch;
    WatchFinisher finish_watch{watch};
    if (opt.watch_client && buf.size() == 0) {
      watch = std::make_shared<ClientWatch>();
      ex.set_watch(watch);
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        defer_watch(st, transport.socket(), watch);
      } else {
        watch->done_timer.emplace(transport.get_executor(), net::steady_timer::time_point::max());
        watch_client(stream, buf, watch);
      }
    }
    // The request is parsed out of the read buffer: on plain TCP nothing reads into it until
    // the answer is out, which for a stream may be hours (issue 18: memory per open stream).
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>)
      if (buf.size() == 0) buf.shrink_to_fit();

    ++st.active;
    bool failed = false;
    try {
      co_await st.handler(ex);
    } catch (const std::exception& e) {
      spdlog::error("handler failed: {}", e.what());
      failed = true;
    }
    bool answered = ex.responded();
    // A handler that threw (or forgot to answer) still answers, and the connection closes.
    if (!answered) co_await answer_internal_error(ex);
    --st.active;

    // Over TLS the watch reads this stream: it ends before the stream is read again or
    // destroyed. The plain watch only waits, and ignores whatever completes it from now on.
    if (watch) watch->finished = true;
    if (watch && !watch->done) {
      watch->cancel.emit(net::cancellation_type::terminal);
      if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) co_await watch->done_timer->async_wait(use_tuple);
    }
    if (!answered || failed || !ex.reusable() || st.draining) co_return ex.intact();
  }
}

// A TLS session, apart from run_session: its stream, first-bytes buffer and handshake would
// otherwise sit in every plain connection's frame too (issue 18: memory per open stream).
net::awaitable<void> run_tls_session(tcp::socket socket, ListenerState* st, const std::string& remote, bool refuse) {
  beast::error_code ec;
  ReadBuffer buf;
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), st->options.tls->context);
  beast::tcp_stream& transport = beast::get_lowest_layer(stream);
  // The handshake gets the time a first request header gets, and a drain ends it like an
  // idle wait.
  transport.expires_after(st->options.header_timeout);
  st->idle.insert(&transport);
  // The first bytes say what the client speaks: a TLS record (0x16) goes on to the handshake,
  // which is given them; plain HTTP (a request line) gets a plain 400 that says to use https,
  // as a caller with an http:// base URL would otherwise only see a reset connection.
  std::array<char, 1024> first{};
  auto [rec, got] = co_await transport.async_read_some(net::buffer(first), use_tuple);
  if (rec || got == 0) {
    st->idle.erase(&transport);
    transport.close();
    co_return;
  }
  if (first[0] != 0x16) {
    st->idle.erase(&transport);
    if (first[0] >= 'A' && first[0] <= 'Z') {
      static const std::string kBody =
          R"({"error":{"message":"This port speaks HTTPS: the request was sent as plain HTTP. Use an https:// URL.","type":"invalid_request_error","param":null,"code":"tls_required"}})";
      static const std::string kAnswer = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n"
                                         "content-length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
      transport.expires_after(st->options.write_timeout);
      co_await net::async_write(transport, net::buffer(kAnswer), use_tuple);
      transport.socket().shutdown(tcp::socket::shutdown_send, ec);
      // Read what is left of the request (briefly) so closing does not reset the connection
      // before the client has read the answer.
      transport.expires_after(std::chrono::seconds(1));
      for (;;) {
        auto [dec, n] = co_await transport.async_read_some(net::buffer(first), use_tuple);
        if (dec || n == 0) break;
      }
    }
    spdlog::debug("not TLS from {}: closed", remote);
    transport.close();
    co_return;
  }
  auto [hec, used] = co_await stream.async_handshake(ssl::stream_base::server, net::buffer(first.data(), got), use_tuple);
  st->idle.erase(&transport);
  if (hec) {
    // Plain HTTP sent to this port, a scanner's bytes, a client that refuses the certificate:
    // that connection alone ends.
    spdlog::debug("TLS handshake with {} failed: {}", remote, hec.message());
    transport.close();
    co_return;
  }
  bool orderly = co_await serve_requests(stream, buf, *st, remote, refuse);
  if (orderly) {
    // close_notify, so the client can tell this end from a cut; bounded by kTlsShutdownTimeout.
    transport.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(use_tuple);
  }
  transport.socket().shutdown(tcp::socket::shutdown_send, ec);
  transport.close();
}

net::awaitable<void> run_session(tcp::socket socket, std::shared_ptr<ListenerState> st, bool refuse,
                                 tcp::endpoint peer) {
  SessionCount counted(*st, refuse);
  beast::error_code ec;
  std::string remote = peer.address().to_string();
  if (st->options.tls) {
    co_await run_tls_session(std::move(socket), st.get(), remote, refuse);
    co_return;
  }
  ReadBuffer buf;
  beast::tcp_stream stream(std::move(socket));
  co_await serve_requests(stream, buf, *st, remote, refuse);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
}

net::awaitable<void> accept_loop(std::shared_ptr<ListenerState> st) {
  const std::size_t cap = st->options.overloaded ? st->options.max_connections : 0;
  for (;;) {
    while (st->refusing >= kMaxRefusing) {
      st->refusal_done.expires_after(std::chrono::milliseconds(100));
      co_await st->refusal_done.async_wait(use_tuple);
    }
    // The caller's address as accept() gives it (no getpeername a connection).
    tcp::endpoint peer;
    auto [ec, socket] = co_await st->acceptor.async_accept(peer, use_tuple);
    if (ec) {
      if (!st->acceptor.is_open() || ec == net::error::operation_aborted) co_return;
      // Out of descriptors and the like: counted, logged once a second at most, and backed
      // off briefly rather than spun on.
      uint64_t n = g_accept_errors.fetch_add(1, std::memory_order_relaxed) + 1;
      static std::atomic<int64_t> last_log_s{0};
      int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
      int64_t last = last_log_s.load(std::memory_order_relaxed);
      if (now_s != last && last_log_s.compare_exchange_strong(last, now_s))
        spdlog::warn("accept failed: {} ({} accept errors so far)", ec.message(), n);
      net::steady_timer t(st->ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(use_tuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    const bool refuse = cap && static_cast<std::size_t>(g_open.load(std::memory_order_relaxed)) >= cap;
    if (refuse) ++st->refusing;
    net::co_spawn(st->ioc, run_session(std::move(socket), st, refuse, peer), net::detached);
  }
}

}  // namespace

net::awaitable<bool> Exchange::start_stream(int status, const Headers& headers, std::string_view first) {
  if (!co_await start_stream(status, headers)) co_return false;
  co_return co_await write_chunk(first);
}

ListenerCounters listener_counters() {
  return {g_accept_errors.load(std::memory_order_relaxed), g_refused.load(std::memory_order_relaxed),
          g_open.load(std::memory_order_relaxed)};
}

std::shared_ptr<TlsContext> make_tls_context(const std::string& cert_file,
                                             const std::string& key_file) {
  require_readable(cert_file, "certificate file");
  require_readable(key_file, "private key file");
  auto tls = std::make_shared<TlsContext>();
  ssl::context& ctx = tls->context;
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  // No renegotiation (TLS 1.2's only way for a read to need a write mid-connection), and the
  // server's cipher order rather than the client's.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Without a callback OpenSSL would ask for an encrypted key's passphrase on the terminal.
  ctx.set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); });
  // The key first, then the chain: a chain that does not match the key then shows as a
  // mismatch below rather than as a failure to load either file.
  beast::error_code ec;
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    ERR_clear_error();
    throw std::runtime_error(fmt::format(
        "cannot load a private key from \"{}\" (expected an unencrypted PEM key): {}", key_file,
        ec.message()));
  }
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) {
    ERR_clear_error();
    throw std::runtime_error(fmt::format(
        "cannot load a certificate chain from \"{}\" (expected PEM certificates, leaf first): {}",
        cert_file, ec.message()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw std::runtime_error(fmt::format("the key in \"{}\" does not match the certificate in \"{}\"",
                                         key_file, cert_file));
  }
  SSL_CTX_set_alpn_select_cb(native, select_http11, nullptr);
  return tls;
}

std::shared_ptr<Listener> start_listener(net::io_context& ioc, const std::string& host,
                                         unsigned short port, ListenerOptions options,
                                         Handler handler) {
  auto st = std::make_shared<ListenerState>(ioc, options, std::move(handler));
  tcp::endpoint ep(net::ip::make_address(host), port);
  st->acceptor.open(ep.protocol());
  st->acceptor.set_option(tcp::acceptor::reuse_address(true));
  using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
  st->acceptor.set_option(reuse_port(true));
  st->acceptor.bind(ep);
  st->acceptor.listen(1024);
  st->bound_port = st->acceptor.local_endpoint().port();
  net::co_spawn(ioc, accept_loop(st), net::detached);
  return st;
}

Headers headers_starting_with(const Exchange& ex, std::string_view prefix) {
  if (auto* plain = dynamic_cast<const SessionExchange<beast::tcp_stream>*>(&ex)) return plain->headers_starting_with(prefix);
  if (auto* tls = dynamic_cast<const SessionExchange<beast::ssl_stream<beast::tcp_stream>>*>(&ex))
    return tls->headers_starting_with(prefix);
  return {};
}

}  // namespace tollgate::http
