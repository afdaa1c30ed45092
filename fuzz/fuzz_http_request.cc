// The listener's request reading: arbitrary bytes arrive on a connection, in pieces whose size
// comes from the input, and are read the way http/server.cc's serve_requests reads them (a
// request_parser<string_body> per request with the listener's header and body limits,
// async_read_header, the 100-continue check, async_read for the rest, keep-alive for the next
// request on the same buffer). Then what the gateway reads of a parsed request: the route
// (accept.cc), the request id (the caller's x-request-id), the headers the phases look up, and
// the body in the route's dialect.
//
// Invariants: no crash, no out-of-bounds read, no exception; a body is never larger than the
// body limit (and has exactly the announced Content-Length); a request id is always sane; an
// accepted header is at most twice the header limit. Beast 1.81 applies header_limit to the
// request line and to the fields separately, and a few bytes loosely depending on how the
// bytes arrive (limit 1024: a 1049-byte header passes in one read, 1058 in 512-byte reads, and
// 1045 is refused in 7-byte reads), so max_header_bytes bounds memory, not the exact size.
//
// The parsing itself stays in server.cc (Beast is confined there and it is being extended for
// TLS): this target drives the same Beast calls with the same limits. authenticate() and
// decode() are not linked: they take the whole RequestContext (GatewayState, a Snapshot), which
// would pull the metrics, OTLP, HTTP client and YAML code into the target; the dialect readers
// decode() calls are run directly instead.
//
// Input: byte 0 = bytes per read (0: all at once), byte 1 = limits (< 0x80: the listener's
// defaults, else a small header and body limit within what tollgate.yaml accepts), then the
// bytes the client sends.
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>

#include "dialects/anthropic/fast_path.h"
#include "dialects/openai/fast_path.h"
#include "gateway/phases.h"
#include "http/server.h"

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using namespace tollgate;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr int kMaxRequests = 64;  // per connection (the listener has no such cap; bounded runs)

struct Limits {
  std::size_t header, body;
};

Limits limits_for(uint8_t b) {
  if (b < 0x80) {
    http::ListenerOptions defaults;
    return {defaults.max_header_bytes, defaults.max_body_bytes};
  }
  // tollgate.yaml accepts max_header_bytes >= 1024 and max_body_bytes >= 1.
  static constexpr std::size_t kBody[] = {1, 16, 64, 256, 1024, 2048, 4096, 8192};
  return {1024 + static_cast<std::size_t>(b & 0x0f) * 512, kBody[(b >> 4) & 7]};
}

// What the phases read of a request once the listener handed it over.
void inspect(const bhttp::request<bhttp::string_body>& req) {
  // SessionExchange::header(): the first field of that name, "" when absent.
  auto header = [&](std::string_view name) {
    auto it = req.find(name);
    return it == req.end() ? std::string_view{} : std::string_view(it->value());
  };
  std::string_view method = req.method_string(), target = req.target();
  gateway::Route route = gateway::match_route(method, target);
  if (gateway::route_name(route) == "unknown") abort();

  std::string id = gateway::request_id_for(header("x-request-id"));
  if (id.empty() || id.size() > 128) abort();
  for (char c : id)
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') abort();

  for (auto name : {"authorization", "x-api-key", "content-type", "anthropic-version",
                    "anthropic-beta", "traceparent", "x-tollgate-drop-unsupported"})
    (void)header(name).size();

  // decode.cc: the body in the route's dialect.
  using OpenAi = dialects::openai::Endpoint;
  using Anthropic = dialects::anthropic::Endpoint;
  boost::json::value doc;
  auto openai = [&](OpenAi e) {
    dialects::openai::RequestFacts facts;
    (void)dialects::openai::read_request(req.body(), e, doc, facts);
  };
  auto anthropic = [&](Anthropic e) {
    dialects::anthropic::RequestFacts facts;
    (void)dialects::anthropic::read_request(req.body(), e, doc, facts);
  };
  switch (route) {
    case gateway::Route::chat_completions: openai(OpenAi::chat_completions); break;
    case gateway::Route::completions: openai(OpenAi::completions); break;
    case gateway::Route::embeddings: openai(OpenAi::embeddings); break;
    case gateway::Route::responses: openai(OpenAi::responses); break;
    case gateway::Route::messages: anthropic(Anthropic::messages); break;
    case gateway::Route::count_tokens: anthropic(Anthropic::count_tokens); break;
    default: break;
  }
}

// serve_requests, reading only: the same parser set-up and read calls, in the same order.
net::awaitable<void> read_requests(beast::test::stream& stream, Limits limits) {
  beast::flat_buffer buf;
  for (int n = 0; n < kMaxRequests; ++n) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header));
    parser.body_limit(limits.body);

    // Bytes of this request's header: what left the stream and the buffer while reading it.
    std::size_t before = stream.nread_bytes() - buf.size();
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buf, parser, use_tuple);
    if (hec) co_return;  // the listener answers 413 / 431 / 400 or closes
    std::size_t header_bytes = stream.nread_bytes() - buf.size() - before;
    if (header_bytes > 2 * limits.header) abort();

    (void)(parser.get()[bhttp::field::expect] == "100-continue");
    if (!parser.is_done()) {
      auto [bec, bn] = co_await bhttp::async_read(stream, buf, parser, use_tuple);
      if (bec) co_return;
    }
    if (!parser.is_done()) abort();

    auto& req = parser.get();
    if (req.body().size() > limits.body) abort();
    if (auto length = parser.content_length(); length && req.body().size() != *length) abort();
    inspect(req);
    if (!req.keep_alive()) co_return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::size_t read_size = data[0] == 0 ? SIZE_MAX : data[0];
  const Limits limits = limits_for(data[1]);

  net::io_context ioc;
  std::string_view sent(reinterpret_cast<const char*>(data) + 2, size - 2);
  beast::test::stream stream(ioc, sent);
  stream.read_size(read_size);
  stream.close_remote();  // the client sent everything: reads past it see the end of stream
  net::co_spawn(ioc, read_requests(stream, limits), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);  // nothing here may throw: a fuzzer crash
  });
  ioc.run();
  return 0;
}
