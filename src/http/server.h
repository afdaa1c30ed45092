// The HTTP/1.1 server side, plain or over TLS: one Listener per worker thread (SO_REUSEPORT),
// sessions as C++20 coroutines, and the Exchange a handler sees. Beast stays inside server.cc;
// handlers only see Exchange, so the gateway's phases compile without Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace boost::asio {
class io_context;
}

namespace tollgate::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// One request and the means to answer it. Lives for one request/response on one thread.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual std::string_view method() const = 0;
  virtual std::string_view target() const = 0;  // path and query, as sent
  virtual std::string_view header(std::string_view name) const = 0;  // "" when absent
  virtual const std::string& body() const = 0;
  virtual std::string_view remote_address() const = 0;

  // A whole answer at once.
  virtual boost::asio::awaitable<void> respond(int status, const Headers& headers,
                                               std::string body) = 0;
  // A streamed answer (chunked): the head, then pieces as they come, then the end.
  // write_chunk returns false once the client is gone; stop producing then.
  virtual boost::asio::awaitable<bool> start_stream(int status, const Headers& headers) = 0;
  // The head and the stream's first piece at once: one write, so the client has both in one
  // read (issue 18: time to first chunk). By default the two calls.
  virtual boost::asio::awaitable<bool> start_stream(int status, const Headers& headers, std::string_view first);
  virtual boost::asio::awaitable<bool> write_chunk(std::string_view data) = 0;
  // write_chunk without a wait, and without the coroutine frame a co_await makes (issue 18: CPU
  // per relayed chunk): `written` when the connection took the whole chunk at once (as it
  // nearly always does), `client_gone` when it broke; `must_wait` when it could not take all of
  // it now: the caller then co_awaits write_chunk with the same data, which sends what is left.
  // By default always must_wait.
  enum class Written { written, must_wait, client_gone };
  virtual Written write_chunk_now(std::string_view) { return Written::must_wait; }
  virtual boost::asio::awaitable<void> end_stream() = 0;

  virtual bool responded() const = 0;
  // Called at most once, as soon as the client closes its connection before the answer is
  // complete (the listener watches the socket while the handler runs). Used to cancel the
  // upstream request at once rather than at the next write.
  virtual void on_client_gone(std::function<void()> fn) = 0;
  virtual bool client_gone() const = 0;
};

using Handler = std::function<boost::asio::awaitable<void>(Exchange&)>;

// TLS termination for a listener: one server context (certificate chain, key, TLS 1.2 at
// least, ALPN "http/1.1"), built once and shared by every worker's listener and every
// connection. Defined in server.cc so Beast and Asio's SSL stay out of this header.
// The files are read once: a renewed certificate needs a restart (SIGHUP reloads resources,
// not certificates).
class TlsContext;

// Reads a PEM certificate chain (leaf first) and its unencrypted PEM private key. Throws
// std::runtime_error naming the file that would not load, or saying the two do not match.
std::shared_ptr<TlsContext> make_tls_context(const std::string& cert_file,
                                             const std::string& key_file);

struct ListenerOptions {
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds keepalive_idle{75'000};
  std::chrono::milliseconds write_timeout{60'000};
  bool watch_client = true;  // detect client disconnects while the handler runs
  std::shared_ptr<TlsContext> tls;  // null: plain HTTP
  // Connections this listener holds open at most, counted across every listener that sets
  // it; 0: no cap. A caller beyond it has its request read briefly and answered by
  // `overloaded` (a fast 503), then the connection closes: refused, never left in the backlog.
  std::size_t max_connections = 0;
  Handler overloaded;
};

// Process-wide listener counters, for metrics.
struct ListenerCounters {
  uint64_t accept_errors = 0;  // accept() failed (out of descriptors and the like)
  uint64_t refused = 0;        // callers answered `overloaded` above max_connections
  int64_t open = 0;            // connections open now on capped listeners
};
ListenerCounters listener_counters();

// A listening socket on one io_context, with the sessions it accepted.
class Listener {
 public:
  virtual ~Listener() = default;
  // Stops accepting, closes idle keep-alive connections, and lets requests in progress end
  // (their connections close after the answer). Call on the listener's own thread.
  virtual void drain() = 0;
  // Requests currently being handled by this listener.
  virtual std::size_t active_requests() const = 0;
  virtual unsigned short port() const = 0;
};

// Binds host:port with SO_REUSEPORT (so each worker thread can own a listener on the same
// port) and starts accepting. Port 0 picks a free port; read it back with port(). Throws
// std::system_error when the address cannot be bound.
std::shared_ptr<Listener> start_listener(boost::asio::io_context& ioc, const std::string& host,
                                         unsigned short port, ListenerOptions options,
                                         Handler handler);

}  // namespace tollgate::http
