// The HTTP/1.1 client to upstream providers: per-thread keep-alive pools, TLS with certificate
// and host name verification, connect / response / idle timeouts, and cancellation. Beast
// stays inside client.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "core/resources.h"
#include "core/snapshot.h"
#include "http/server.h"

namespace tollgate::http {

enum class UpstreamFailure {
  none,
  connect,        // refused, unreachable, DNS
  connect_timeout,
  tls,            // handshake or certificate verification
  response_timeout,  // no response head within Timeouts::read
  idle_timeout,      // no body bytes within Timeouts::idle
  closed,         // the connection closed mid-response
  protocol,       // not HTTP
  cancelled,      // cancel() was called (the client went away)
  local,          // this process ran out of something (descriptors, memory): not the provider's fault
};

std::string_view describe(UpstreamFailure f);

struct OutgoingRequest {
  std::string method = "POST";
  std::string target;  // path and query
  Headers headers;     // host, content-length and connection are set by the client
  std::string body;
};

// One request to an upstream and its response, read incrementally.
class UpstreamCall {
 public:
  UpstreamCall();
  ~UpstreamCall();  // returns the connection to its pool when the response was read whole
  UpstreamCall(const UpstreamCall&) = delete;
  UpstreamCall& operator=(const UpstreamCall&) = delete;

  // Connects (or reuses a pooled connection), sends, and reads the response head.
  boost::asio::awaitable<UpstreamFailure> send(const core::UpstreamEndpoint& endpoint,
                                               const core::Timeouts& timeouts, bool verify_tls,
                                               const OutgoingRequest& request);

  int status() const;
  std::string_view header(std::string_view name) const;
  // The response's content-type, lowercased up to any ';'.
  std::string_view media_type() const;

  // The next piece of the body as it arrives (de-chunked); `done` once the body ended.
  // The view stays valid until the next call.
  boost::asio::awaitable<UpstreamFailure> read_some(std::string_view& piece, bool& done);
  // The whole body, up to `limit` bytes (protocol failure past that).
  boost::asio::awaitable<UpstreamFailure> read_all(std::string& body, std::size_t limit);

  // Aborts whatever is in progress at once; the connection is not reused.
  void cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Idle pooled connections on the calling thread (for metrics and tests).
std::size_t pooled_connections();

}  // namespace tollgate::http
