#include "http/client.h"
#include "core/spare_strings.h"
#include "http/idle_sweep.h"
#include "http/ready_socket.h"
#include "http/wire.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace tollgate::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// A pooled connection is dropped after this long unused: most servers close idle keep-alive
// connections after 5-60 s, and a write into a connection the peer just closed costs a retry.
constexpr auto kMaxIdle = std::chrono::seconds(30);
constexpr std::size_t kMaxIdlePerHost = 256;
// The read buffer's room for an answer's head and a small body with it: Beast reads as much as
// the buffer has room for, at least 512 bytes, and a chat answer of 600 bytes took two reads.
constexpr std::size_t kHeadReadSize = 4096;

struct Connection {
  std::string pool_key;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buf;
  Clock::time_point idle_since;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    if (!tls && !plain) return;  // cancelled while still resolving
    beast::error_code ec;
    lowest().socket().close(ec);
  }
  // A pooled connection the peer closed reads as EOF; one that is alive has nothing to read.
  bool looks_alive() {
    auto idle = Clock::now() - idle_since;
    if (idle > kMaxIdle) return false;
    // Under load a connection is back in use within milliseconds; peeking at it then costs a
    // syscall for nothing (a stale one is still caught: send() retries once on a fresh one).
    if (idle < std::chrono::seconds(1)) return true;
    char c;
    ssize_t n = ::recv(lowest().socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
};

// Each worker thread has its own pool: connections never cross threads, so no locks.
struct Pool {
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
  // Closes connections idle past kMaxIdle while any are pooled. Without it a burst's
  // connections (up to kMaxIdlePerHost per host) and their buffers stayed until reused: after
  // a wave of streams, memory did not come back (issue 18).
  // The timer belongs to its own pending wait, so it ends with the io_context it runs on.
  bool reaping = false;

  void reap(const net::any_io_executor& executor) {
    const auto now = Clock::now();
    std::size_t left = 0;
    for (auto& [key, v] : idle) {
      // Oldest first: give() appends, take() pops the newest.
      std::size_t stale = 0;
      while (stale < v.size() && now - v[stale]->idle_since > kMaxIdle) v[stale++]->close();
      v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(stale));
      left += v.size();
    }
    std::erase_if(idle, [](const auto& kv) { return kv.second.empty(); });
    reaping = false;
    if (left > 0) arm(executor);
  }
  void arm(const net::any_io_executor& ex) {
    reaping = true;
    auto timer = std::make_shared<net::steady_timer>(ex, kMaxIdle / 3);
    timer->async_wait([this, timer](beast::error_code ec) {
      if (!ec) reap(timer->get_executor());
      else reaping = false;
    });
  }

  std::unique_ptr<Connection> take(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    auto& v = it->second;
    while (!v.empty()) {
      auto c = std::move(v.back());
      v.pop_back();
      if (c->looks_alive()) return c;
      c->close();
    }
    return nullptr;
  }
  void give(std::unique_ptr<Connection> c) {
    auto& v = idle[c->pool_key];
    if (v.size() >= kMaxIdlePerHost) {
      c->close();
      return;
    }
    c->idle_since = Clock::now();
    if (!reaping) arm(c->lowest().get_executor());
    v.push_back(std::move(c));
  }
};

Pool& thread_pool() {
  thread_local Pool pool;
  return pool;
}

// The reads of upstream answers, timed on each worker thread by one sweep (idle_sweep.h): the
// answer head's wait (Timeouts::read) and each body read's (Timeouts::idle).
const std::shared_ptr<IdleList>& upstream_reads() {
  thread_local auto mine = std::make_shared<IdleList>();
  return mine;
}

ssl::context& tls_context(bool verify) {
  thread_local std::optional<ssl::context> verifying, trusting;
  auto& slot = verify ? verifying : trusting;
  if (!slot) {
    slot.emplace(ssl::context::tls_client);
    slot->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (verify) {
      slot->set_default_verify_paths();
      slot->set_verify_mode(ssl::verify_peer);
    } else {
      slot->set_verify_mode(ssl::verify_none);
    }
  }
  return *slot;
}

// This process out of descriptors or memory: a failure of ours, never the provider's.
bool local_shortage(const beast::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open ||
         ec == boost::system::errc::too_many_files_open_in_system ||
         ec == boost::system::errc::not_enough_memory || ec == boost::system::errc::no_buffer_space;
}

UpstreamFailure classify(const beast::error_code& ec, bool cancelled, UpstreamFailure on_timeout) {
  if (cancelled) return UpstreamFailure::cancelled;
  if (local_shortage(ec)) return UpstreamFailure::local;
  if (ec == beast::error::timeout) return on_timeout;
  if (ec == net::error::operation_aborted) return UpstreamFailure::cancelled;
  if (ec.category() == net::error::get_ssl_category() || ec == net::ssl::error::stream_truncated)
    return UpstreamFailure::tls;
  if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe ||
      ec == bhttp::error::partial_message)
    return UpstreamFailure::closed;
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
    return UpstreamFailure::protocol;
  return UpstreamFailure::closed;
}

// An answer's body as the parser hands it over: appended to a string that the reader empties
// piece by piece. Unlike beast's string_body it reserves nothing for a Content-Length, which
// is the upstream's word, not a size to allocate (read_all reserves within its limit).
struct PieceBody {
  using value_type = std::string;
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(bhttp::header<isRequest, Fields>&, value_type& body) : body_(body) {}
    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }
    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      const std::size_t n = net::buffer_size(buffers), at = body_.size();
      // A stream's piece is taken from the thread's spares and given back by the next read_some.
      if (at == 0 && body_.capacity() < n) body_ = core::take_spare(n);
      body_.resize(at + n);
      net::buffer_copy(net::buffer(body_.data() + at, n), buffers);
      ec = {};
      return n;
    }
    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

}  // namespace

std::string_view describe(UpstreamFailure f) {
  switch (f) {
    case UpstreamFailure::none: return "ok";
    case UpstreamFailure::connect: return "could not connect to the provider";
    case UpstreamFailure::connect_timeout: return "timed out connecting to the provider";
    case UpstreamFailure::tls: return "TLS handshake with the provider failed";
    case UpstreamFailure::response_timeout: return "the provider did not answer in time";
    case UpstreamFailure::idle_timeout: return "the provider stopped sending mid-answer";
    case UpstreamFailure::closed: return "the provider closed the connection";
    case UpstreamFailure::protocol: return "the provider's answer was not valid HTTP";
    case UpstreamFailure::cancelled: return "cancelled";
    case UpstreamFailure::local: return "the gateway is out of descriptors or memory";
  }
  return "unknown";
}

struct UpstreamCall::Impl {
  std::unique_ptr<Connection> conn;
  std::optional<bhttp::response_parser<PieceBody>> parser;
  core::Timeouts timeouts;
  bool cancelled = false;
  bool body_done = false;
  IdleWatch idle_watch;  // last: unlinked before the connection goes
  std::string media_type;
  net::awaitable<UpstreamFailure> connect(const core::UpstreamEndpoint& ep, bool verify,
                                          const std::string& key) {
    auto ex = co_await net::this_coro::executor;
    conn = std::make_unique<Connection>();
    conn->pool_key = key;
    // An address needs no resolver (whose getaddrinfo, on a thread of its own, fails
    // indistinctly when the process is out of descriptors).
    tcp::resolver::results_type results;
    beast::error_code aec;
    auto address = net::ip::make_address(ep.host, aec);
    if (!aec) {
      results = tcp::resolver::results_type::create(tcp::endpoint(address, ep.port), ep.host, std::to_string(ep.port));
    } else {
      tcp::resolver resolver(ex);
      auto [rec, resolved] =
          co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_tuple);
      if (rec) {
        if (cancelled) co_return UpstreamFailure::cancelled;
        co_return local_shortage(rec) ? UpstreamFailure::local : UpstreamFailure::connect;
      }
      results = std::move(resolved);
    }
    if (ep.tls) {
      conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, tls_context(verify));
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(ex);
    }
    auto& low = conn->lowest();
    low.expires_after(timeouts.connect);
    beast::error_code cec;
    if (!ep.tls && results.size() == 1) {
      // One address, plain TCP: opened here, so that its first read, the answer's head after
      // the request, waits for epoll rather than failing a recv first (ready_socket.h).
      const tcp::endpoint to = results.begin()->endpoint();
      low.socket().open(to.protocol(), cec);
      if (cec) co_return local_shortage(cec) ? UpstreamFailure::local : UpstreamFailure::connect;
      mark_read_empty(low.socket());
      std::tie(cec) = co_await low.async_connect(to, use_tuple);
    } else {
      std::tie(cec, std::ignore) = co_await low.async_connect(results, use_tuple);
    }
    if (cec) {
      if (cancelled) co_return UpstreamFailure::cancelled;
      // Asio's range connect reports a socket it could not open (out of descriptors) as
      // aborted; nothing else aborts it but our own cancel: ours, not the provider's.
      if (local_shortage(cec) || cec == net::error::operation_aborted) co_return UpstreamFailure::local;
      co_return cec == beast::error::timeout ? UpstreamFailure::connect_timeout
                                             : UpstreamFailure::connect;
    }
    beast::error_code ec;
    low.socket().set_option(tcp::no_delay(true), ec);
    if (ep.tls) {
      // SNI, and the certificate must name the host we asked for.
      if (!SSL_set_tlsext_host_name(conn->tls->native_handle(), ep.host.c_str()))
        co_return UpstreamFailure::tls;
      if (verify) conn->tls->set_verify_callback(ssl::host_name_verification(ep.host));
      low.expires_after(timeouts.connect);
      auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, use_tuple);
      if (hec) co_return classify(hec, cancelled, UpstreamFailure::connect_timeout) ==
                                 UpstreamFailure::cancelled
                             ? UpstreamFailure::cancelled
                             : UpstreamFailure::tls;
    }
    co_return UpstreamFailure::none;
  }

  template <class Stream>
  net::awaitable<beast::error_code> exchange_head(Stream& s, const std::string& head, const std::string& body) {
    std::array<net::const_buffer, 2> message{net::buffer(head), net::buffer(body)};
    // Plain TCP: at once when the socket takes it all, as it nearly always does (see send_now).
    bool sent = false;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      beast::error_code ec;
      sent = send_now(s.socket().native_handle(), message, ec);
      if (ec) co_return ec;
    }
    if (!sent) {
      conn->lowest().expires_after(timeouts.read);
      auto [wec, wn] = co_await net::async_write(s, message, use_tuple);
      if (wec) co_return wec;
    }
    parser.emplace();
    parser->body_limit(boost::none);
    if (conn->buf.capacity() < kHeadReadSize) conn->buf.reserve(kHeadReadSize);
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      // Plain TCP: the answer is not there yet when the request has just gone out, and a
      // ReadySocket read that knows the socket empty does not try it (ready_socket.h).
      idle_watch.watch(upstream_reads(), s.socket(), timeouts.read, s.get_executor());
      ReadySocket ready(s.socket());
      auto [rec, rn] = co_await bhttp::async_read_header(ready, conn->buf, *parser, use_tuple);
      idle_watch.unlink();
      if (rec && idle_watch.expired && !cancelled) co_return beast::error_code(beast::error::timeout);
      co_return rec;
    } else {
      conn->lowest().expires_after(timeouts.read);
      auto [rec, rn] = co_await bhttp::async_read_header(s, conn->buf, *parser, use_tuple);
      co_return rec;
    }
  }

  // What an earlier read brought along (the body after the head, the events after the first)
  // is parsed here, without a wait: Beast's read would parse it too, but post its completion to
  // the event loop's next round (issue 18: the first chunk's path, and a round per answer).
  // Every chunk the buffer holds is taken, so the events of one read are relayed in one write
  // (a put takes one chunk's header or body at a time; the parser's eager mode would, but it
  // makes Beast's read wait for more once a chunk's body is in). True when that made progress
  // or failed (`f`); false when a read is needed.
  bool parse_buffered(UpstreamFailure& f) {
    auto& buf = conn->buf;
    f = UpstreamFailure::none;
    bool progress = false;
    while (buf.size() > 0 && !parser->is_done()) {
      beast::error_code ec;
      const std::size_t used = parser->put(buf.data(), ec);
      buf.consume(used);
      if (ec && ec != bhttp::error::need_more) {
        body_done = parser->is_done();
        f = classify(ec, cancelled, UpstreamFailure::idle_timeout);
        return true;
      }
      if (used == 0) break;
      progress = true;
    }
    body_done = parser->is_done();
    return progress;
  }
  // Before and after one read of the body: its idle deadline watched by the worker's sweep.
  template <class Stream>
  void start_read(Stream& s) { idle_watch.watch(upstream_reads(), conn->lowest().socket(), timeouts.idle, s.get_executor()); }
  UpstreamFailure end_read(const beast::error_code& ec) {
    idle_watch.unlink();
    body_done = parser->is_done();
    if (!ec || (ec == bhttp::error::end_of_stream && body_done)) return UpstreamFailure::none;
    if (idle_watch.expired && !cancelled) return UpstreamFailure::idle_timeout;
    return classify(ec, cancelled, UpstreamFailure::idle_timeout);
  }

  // One read, its body bytes appended to the parser's body (read_all; read_some has the same
  // steps inline, a frame less per piece).
  template <class Stream>
  net::awaitable<UpstreamFailure> read_more(Stream& s) {
    if (UpstreamFailure f; parse_buffered(f)) co_return f;
    start_read(s);
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      // A stream's next event is rarely there when the last one has been relayed.
      ReadySocket ready(s.socket());
      std::tie(ec, std::ignore) = co_await bhttp::async_read_some(ready, conn->buf, *parser, use_tuple);
    } else {
      std::tie(ec, std::ignore) = co_await bhttp::async_read_some(s, conn->buf, *parser, use_tuple);
    }
    co_return end_read(ec);
  }
  // Not a coroutine: a waiting read holds one frame less.
  net::awaitable<UpstreamFailure> read_more() {
    if (conn->tls) return read_more(*conn->tls);
    return read_more(*conn->plain);
  }
};

UpstreamCall::UpstreamCall() : impl_(std::make_unique<Impl>()) {}

UpstreamCall::~UpstreamCall() {
  auto& c = impl_->conn;
  if (!c) return;
  if (!impl_->cancelled && impl_->parser && impl_->parser->is_done() &&
      impl_->parser->keep_alive()) {
    c->lowest().expires_never();
    thread_pool().give(std::move(c));
  } else {
    c->close();
  }
}

net::awaitable<UpstreamFailure> UpstreamCall::send(const core::UpstreamEndpoint& ep,
                                                   const core::Timeouts& timeouts,
                                                   bool verify_tls, const OutgoingRequest& r) {
  auto& d = *impl_;
  d.timeouts = timeouts;
  std::string key = (ep.tls ? (verify_tls ? "https://" : "https-noverify://") : "http://") +
                    ep.host + ":" + std::to_string(ep.port);

  const std::string head = request_head(r.method, r.target, ep.host_header, r.headers, r.body.size());

  // A pooled connection may have been closed by the peer a moment ago; if it fails before any
  // byte of the answer, try once more on a fresh connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = false;
    if (attempt == 0) {
      d.conn = thread_pool().take(key);
      reused = d.conn != nullptr;
    }
    if (!d.conn) {
      auto f = co_await d.connect(ep, verify_tls, key);
      if (f != UpstreamFailure::none) {
        d.conn.reset();
        co_return f;
      }
    }
    if (d.cancelled) co_return UpstreamFailure::cancelled;
    beast::error_code ec;
    if (d.conn->tls)
      ec = co_await d.exchange_head(*d.conn->tls, head, r.body);
    else
      ec = co_await d.exchange_head(*d.conn->plain, head, r.body);
    if (!ec) break;
    auto f = classify(ec, d.cancelled, UpstreamFailure::response_timeout);
    d.conn->close();
    d.conn.reset();
    d.parser.reset();
    if (reused && f == UpstreamFailure::closed) continue;
    co_return f;
  }
  if (!d.conn) co_return UpstreamFailure::closed;

  auto ct = d.parser->get()[bhttp::field::content_type];
  std::string mt(ct.substr(0, ct.find(';')));
  for (auto& ch : mt) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  while (!mt.empty() && mt.back() == ' ') mt.pop_back();
  d.media_type = std::move(mt);
  d.body_done = d.parser->is_done();
  // The body's reads are timed by the worker's idle sweep (IdleWatch), not by Beast's timer.
  d.conn->lowest().expires_never();
  co_return UpstreamFailure::none;
}

int UpstreamCall::status() const { return impl_->parser ? impl_->parser->get().result_int() : 0; }

std::string_view UpstreamCall::header(std::string_view name) const {
  if (!impl_->parser) return {};
  const auto& h = impl_->parser->get();
  auto it = h.find(name);
  return it == h.end() ? std::string_view{} : std::string_view(it->value());
}

std::string_view UpstreamCall::media_type() const { return impl_->media_type; }

net::awaitable<UpstreamFailure> UpstreamCall::read_some(std::string_view& piece, bool& done) {
  auto& d = *impl_;
  auto& body = d.parser->get().body();
  // The caller is done with the previous piece: its buffer goes back to the thread's spares
  // rather than being kept through the wait for the next (issue 18: memory per open stream,
  // without a malloc and free per piece).
  core::give_spare(body);
  piece = {};
  while (!d.body_done) {
    // read_more's steps, inline: one coroutine frame less per piece (issue 18).
    UpstreamFailure f;
    if (!d.parse_buffered(f)) {
      beast::error_code ec;
      if (d.conn->tls) {
        d.start_read(*d.conn->tls);
        std::tie(ec, std::ignore) = co_await bhttp::async_read_some(*d.conn->tls, d.conn->buf, *d.parser, use_tuple);
      } else {
        // A stream's next event is rarely there when the last one has been relayed: a read that
        // knows the socket empty waits for epoll (ready_socket.h).
        d.start_read(*d.conn->plain);
        ReadySocket ready(d.conn->plain->socket());
        std::tie(ec, std::ignore) = co_await bhttp::async_read_some(ready, d.conn->buf, *d.parser, use_tuple);
      }
      f = d.end_read(ec);
    }
    if (f != UpstreamFailure::none) co_return f;
    if (!body.empty()) break;
  }
  piece = body;
  done = d.body_done;
  // A stream's events come a few at a time for as long as it lasts: once the head's room is
  // read out, its reads take Beast's smallest room, as before (issue 18: memory per open stream).
  // The buffer is rarely empty here: a chunk's closing CRLF stays in it until the next chunk's
  // size line comes, so a test for empty kept the head's 4 KiB for the stream's whole length.
  // What is left is moved into a block of its size (Beast's next read grows it to ~514 bytes,
  // under the 1 KiB that would shrink it again: once per stream).
  auto& buf = d.conn->buf;
  if (!d.body_done && buf.capacity() > 1024 && buf.size() <= 256) buf.shrink_to_fit();
  co_return UpstreamFailure::none;
}

net::awaitable<UpstreamFailure> UpstreamCall::read_all(std::string& body, std::size_t limit) {
  auto& d = *impl_;
  auto& whole = d.parser->get().body();
  if (auto length = d.parser->content_length(); length && body.size() + *length <= limit)
    whole.reserve(static_cast<std::size_t>(*length));
  // Room to read what is announced in few reads (Beast reads at most 64 KiB at once).
  auto& buf = d.conn->buf;
  if (auto left = d.parser->content_length_remaining(); left && *left > buf.capacity() && *left <= limit)
    buf.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*left, 64 * 1024)));
  while (!d.body_done) {
    auto f = co_await d.read_more();
    if (f != UpstreamFailure::none) co_return f;
    if (body.size() + whole.size() > limit) co_return UpstreamFailure::protocol;
  }
  if (body.empty()) body = std::move(whole);
  else body.append(whole);
  whole.clear();
  // A large answer's room is not kept on the pooled connection.
  if (buf.capacity() > 4 * kHeadReadSize && buf.size() == 0) buf.shrink_to_fit();
  co_return UpstreamFailure::none;
}

void UpstreamCall::cancel() {
  impl_->cancelled = true;
  if (impl_->conn) impl_->conn->close();
}

std::size_t pooled_connections() {
  std::size_t n = 0;
  for (auto& [k, v] : thread_pool().idle) n += v.size();
  return n;
}

}  // namespace tollgate::http
