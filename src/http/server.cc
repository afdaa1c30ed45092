#include "http/server.h"

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <random>
#include <unordered_set>

namespace tollgate::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

struct ListenerState;

// Watches the client's socket while a handler runs: a read that completes with an error means
// the client closed. Bytes that arrive instead (a pipelined request) are kept for the session.
struct ClientWatch {
  explicit ClientWatch(net::any_io_executor ex) : done_timer(ex) {
    done_timer.expires_at(net::steady_timer::time_point::max());
  }
  net::cancellation_signal cancel;
  net::steady_timer done_timer;
  bool done = false;
  bool gone = false;
  std::function<void()> on_gone;
};

class SessionExchange final : public Exchange {
 public:
  SessionExchange(beast::tcp_stream& stream, bhttp::request<bhttp::string_body>& req,
                  const ListenerOptions& opt, bool keep_alive, std::string remote)
      : stream_(stream), req_(req), opt_(opt), keep_alive_(keep_alive),
        remote_(std::move(remote)) {}

  std::string_view method() const override { return req_.method_string(); }
  std::string_view target() const override { return req_.target(); }
  std::string_view header(std::string_view name) const override {
    auto it = req_.find(name);
    return it == req_.end() ? std::string_view{} : std::string_view(it->value());
  }
  const std::string& body() const override { return req_.body(); }
  std::string_view remote_address() const override { return remote_; }

  net::awaitable<void> respond(int status, const Headers& headers, std::string body) override {
    responded_ = true;
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    for (const auto& [k, v] : headers) res.set(k, v);
    res.keep_alive(keep_alive_);
    res.body() = std::move(body);
    res.prepare_payload();
    stream_.expires_after(opt_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
    if (ec) broken_ = true;
  }

  net::awaitable<bool> start_stream(int status, const Headers& headers) override {
    responded_ = true;
    streaming_ = true;
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), 11};
    for (const auto& [k, v] : headers) res.set(k, v);
    res.keep_alive(keep_alive_);
    res.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    stream_.expires_after(opt_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream_, sr, use_tuple);
    if (ec) broken_ = true;
    co_return !broken_;
  }

  net::awaitable<bool> write_chunk(std::string_view data) override {
    if (broken_ || data.empty()) co_return !broken_;
    stream_.expires_after(opt_.write_timeout);
    auto [ec, n] = co_await net::async_write(
        stream_, bhttp::make_chunk(net::const_buffer(data.data(), data.size())), use_tuple);
    if (ec) broken_ = true;
    co_return !broken_;
  }

  net::awaitable<void> end_stream() override {
    if (broken_) co_return;
    stream_.expires_after(opt_.write_timeout);
    auto [ec, n] = co_await net::async_write(stream_, bhttp::make_chunk_last(), use_tuple);
    if (ec) broken_ = true;
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
  // The connection can carry another request only if this answer completed cleanly.
  bool reusable() const {
    return keep_alive_ && !broken_ && (!streaming_ || stream_done_) && !client_gone();
  }

 private:
  beast::tcp_stream& stream_;
  bhttp::request<bhttp::string_body>& req_;
  const ListenerOptions& opt_;
  bool keep_alive_;
  std::string remote_;
  std::shared_ptr<ClientWatch> watch_;
  bool responded_ = false;
  bool streaming_ = false;
  bool stream_done_ = false;
  bool broken_ = false;
};

struct ListenerState final : Listener, std::enable_shared_from_this<ListenerState> {
  ListenerState(net::io_context& ioc, ListenerOptions o, Handler h)
      : ioc(ioc), acceptor(ioc), options(o), handler(std::move(h)) {}

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
  std::unordered_set<beast::tcp_stream*> idle;  // sessions waiting for their next request
};

net::awaitable<void> watch_client(tcp::socket& sock, beast::flat_buffer& buf,
                                  std::shared_ptr<ClientWatch> w) {
  auto [ec, n] = co_await sock.async_read_some(
      buf.prepare(1024), net::bind_cancellation_slot(w->cancel.slot(), use_tuple));
  if (!ec) buf.commit(n);
  w->done = true;
  if (ec && ec != net::error::operation_aborted) {
    w->gone = true;
    if (w->on_gone) {
      auto fn = std::move(w->on_gone);
      fn();
    }
  }
  w->done_timer.cancel();
}

Headers json_headers() { return {{"content-type", "application/json"}}; }

std::string simple_error(std::string_view message, std::string_view code) {
  // The listener cannot know the route's dialect before parsing the request; OpenAI's
  // envelope is the default one.
  return fmt::format(R"({{"error":{{"message":"{}","type":"invalid_request_error","param":null,"code":"{}"}}}})",
                     message, code);
}

net::awaitable<void> write_simple(beast::tcp_stream& stream, bhttp::status status,
                                  std::string body) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  bhttp::response<bhttp::string_body> res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.set("x-request-id", fmt::format("req_{:016x}{:08x}", rng(), static_cast<uint32_t>(rng())));
  res.keep_alive(false);
  res.body() = std::move(body);
  res.prepare_payload();
  stream.expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, use_tuple);
}

// After refusing a request whose body is still arriving: closing at once would make the
// kernel answer the unread bytes with a reset, and the client would never read the refusal.
// So stop writing, read and discard for a bounded while, then close.
net::awaitable<void> discard_until_close(beast::tcp_stream& stream, beast::flat_buffer& buf) {
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

net::awaitable<void> run_session(tcp::socket socket, std::shared_ptr<ListenerState> st) {
  beast::error_code ec;
  std::string remote;
  if (auto ep = socket.remote_endpoint(ec); !ec) remote = ep.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buf;
  const ListenerOptions& opt = st->options;
  bool first = true;

  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    parser.body_limit(opt.max_body_bytes);

    stream.expires_after(first ? opt.header_timeout : opt.keepalive_idle);
    st->idle.insert(&stream);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buf, parser, use_tuple);
    st->idle.erase(&stream);
    first = false;
    if (hec) {
      if (hec == bhttp::error::body_limit) {
        // Content-Length announced more than the limit: refuse before reading it.
        co_await write_simple(stream, bhttp::status::payload_too_large,
                              simple_error(fmt::format("request body exceeds the limit of {} bytes",
                                                       opt.max_body_bytes),
                                           "request_too_large"));
        co_await discard_until_close(stream, buf);
      } else if (hec == bhttp::error::header_limit) {
        co_await write_simple(stream, bhttp::status::request_header_fields_too_large,
                              simple_error("request headers are too large", "header_too_large"));
      } else if (hec != beast::error::timeout && hec != bhttp::error::end_of_stream &&
                 hec != net::error::operation_aborted && hec != net::error::eof &&
                 hec != net::error::connection_reset) {
        co_await write_simple(stream, bhttp::status::bad_request,
                              simple_error("malformed HTTP request", "bad_request"));
      }
      break;
    }

    // Clients (curl among them) hold bodies over 1 KiB until told to go on.
    if (parser.get()[bhttp::field::expect] == "100-continue") {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
      stream.expires_after(opt.write_timeout);
      co_await bhttp::async_write(stream, cont, use_tuple);
    }
    if (!parser.is_done()) {
      stream.expires_after(opt.body_timeout);
      auto [bec, bn] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
      if (bec) {
        if (bec == bhttp::error::body_limit) {
          co_await write_simple(
              stream, bhttp::status::payload_too_large,
              simple_error(fmt::format("request body exceeds the limit of {} bytes",
                                       opt.max_body_bytes),
                           "request_too_large"));
          co_await discard_until_close(stream, buf);
        } else if (bec == beast::error::timeout) {
          co_await write_simple(stream, bhttp::status::request_timeout,
                                simple_error("request body not received in time",
                                             "request_timeout"));
        }
        break;
      }
    }
    stream.expires_never();

    auto& req = parser.get();
    bool keep_alive = req.keep_alive() && !st->draining;
    SessionExchange ex(stream, req, opt, keep_alive, remote);

    std::shared_ptr<ClientWatch> watch;
    if (opt.watch_client && buf.size() == 0) {
      watch = std::make_shared<ClientWatch>(stream.get_executor());
      ex.set_watch(watch);
      net::co_spawn(stream.get_executor(), watch_client(stream.socket(), buf, watch),
                    net::detached);
    }

    ++st->active;
    bool failed = false;
    try {
      co_await st->handler(ex);
    } catch (const std::exception& e) {
      spdlog::error("handler failed: {}", e.what());
      failed = true;
    }
    if (!ex.responded() || failed) {
      // A handler that threw (or forgot to answer) still answers, and the connection closes.
      // (Built before the co_await: GCC 12 miscompiles brace-initialised temporaries there.)
      Headers headers = json_headers();
      std::string body = simple_error("internal error", "internal_error");
      if (!ex.responded()) co_await ex.respond(500, headers, std::move(body));
      --st->active;
      break;
    }
    --st->active;

    if (watch && !watch->done) {
      watch->cancel.emit(net::cancellation_type::terminal);
      co_await watch->done_timer.async_wait(use_tuple);
    }
    if (!ex.reusable() || st->draining) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.close();
}

net::awaitable<void> accept_loop(std::shared_ptr<ListenerState> st) {
  for (;;) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
    if (ec) {
      if (!st->acceptor.is_open() || ec == net::error::operation_aborted) co_return;
      // Out of descriptors and the like: back off briefly rather than spin.
      spdlog::warn("accept failed: {}", ec.message());
      net::steady_timer t(st->ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(use_tuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    net::co_spawn(st->ioc, run_session(std::move(socket), st), net::detached);
  }
}

}  // namespace

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

}  // namespace tollgate::http
