// The hand-written heads are byte for byte what Beast's serializer wrote before (issue 18).
#include "http/wire.h"

#include <gtest/gtest.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

#include <string>

namespace bhttp = boost::beast::http;
using tollgate::http::Headers;
using tollgate::http::request_head;
using tollgate::http::response_head;
using tollgate::http::stream_head;

namespace {

// What Beast wrote for the answer (server.cc before).
// The head Beast's serializer writes for a message.
template <bool isRequest, class Body>
std::string beast_head(bhttp::message<isRequest, Body>& message) {
  bhttp::serializer<isRequest, Body> sr{message};
  sr.split(true);
  std::string out;
  boost::system::error_code ec;
  while (!sr.is_header_done()) {
    sr.next(ec, [&](boost::system::error_code&, const auto& buffers) {
      out += boost::beast::buffers_to_string(buffers);
      sr.consume(boost::asio::buffer_size(buffers));
    });
  }
  return out;
}

std::string beast_response(int status, const Headers& headers, bool keep_alive, const std::string& body) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
  for (const auto& [k, v] : headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = body;
  res.prepare_payload();
  return beast_head(res);
}

// What Beast wrote for a streamed answer's head (server.cc before).
std::string beast_stream_head(int status, const Headers& headers, bool keep_alive) {
  bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(status), 11};
  for (const auto& [k, v] : headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.chunked(true);
  return beast_head(res);
}

// What Beast wrote for the upstream request (client.cc before).
std::string beast_request(const std::string& method, const std::string& target, const std::string& host,
                          const Headers& headers, const std::string& body) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, host);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.keep_alive(true);
  req.body() = body;
  req.prepare_payload();
  return beast_head(req);
}

}  // namespace

TEST(HttpWire, ResponseHeadIsBeasts) {
  const Headers h{{"content-type", "application/json"},
                  {"x-request-id", "req_1"},
                  {"x-ratelimit-limit-requests", "100"},
                  {"retry-after", "1"},
                  {"X-Request-Id", "req_2"},  // replaces the first, and goes where it stands
                  {"retry-after", "2"}};
  for (int status : {200, 201, 204, 400, 401, 404, 429, 500, 502, 503, 599}) {
    for (bool keep_alive : {true, false}) {
      std::string body = status == 204 ? "" : R"({"ok":true})";
      EXPECT_EQ(response_head(status, h, keep_alive, body.size()), beast_response(status, h, keep_alive, body))
          << status << " keep_alive=" << keep_alive;
    }
  }
  EXPECT_EQ(response_head(200, {}, true, 0), beast_response(200, {}, true, ""));
}

TEST(HttpWire, ResponseHeadFramesTheBodyItself) {
  auto head = response_head(200, {{"Content-Length", "999"}, {"transfer-encoding", "chunked"}}, true, 5);
  EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
}

TEST(HttpWire, RequestHeadIsBeasts) {
  const Headers h{{"content-type", "application/json"},
                  {"authorization", "Bearer sk-x"},
                  {"user-agent", "tollgate/test"},
                  {"x-custom", "a"},
                  {"X-Custom", "b"}};
  const std::string body = R"({"model":"m","messages":[]})";
  EXPECT_EQ(request_head("POST", "/v1/chat/completions", "api.example:8080", h, body.size()),
            beast_request("POST", "/v1/chat/completions", "api.example:8080", h, body));
  EXPECT_EQ(request_head("POST", "/v1/x", "h", h, 0), beast_request("POST", "/v1/x", "h", h, ""));
  EXPECT_EQ(request_head("GET", "/v1/models?a=1", "h", h, 0), beast_request("GET", "/v1/models?a=1", "h", h, ""));
  EXPECT_EQ(request_head("DELETE", "/v1/responses/r", "h", {}, 0), beast_request("DELETE", "/v1/responses/r", "h", {}, ""));
  // A configured Host replaces the endpoint's, where the configuration puts it.
  const Headers with_host{{"accept", "*/*"}, {"Host", "other"}};
  EXPECT_EQ(request_head("POST", "/", "h", with_host, 2), beast_request("POST", "/", "h", with_host, "{}"));
}

TEST(HttpWire, RequestHeadKeepsTheConnectionAndFramesTheBody) {
  auto head = request_head("POST", "/", "h", {{"connection", "close"}, {"content-length", "1"}}, 2);
  EXPECT_EQ(head, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n");
}

TEST(HttpWire, StreamHeadIsBeasts) {
  const Headers h{{"content-type", "text/event-stream"},
                  {"x-request-id", "req_1"},
                  {"cache-control", "no-cache"},
                  {"X-Request-Id", "req_2"}};
  for (int status : {200, 400, 429, 500}) {
    for (bool keep_alive : {true, false}) {
      EXPECT_EQ(stream_head(status, h, keep_alive), beast_stream_head(status, h, keep_alive))
          << status << " keep_alive=" << keep_alive;
    }
  }
  EXPECT_EQ(stream_head(200, {}, true), beast_stream_head(200, {}, true));
}

// An answer under limits: six x-ratelimit-* names of two lengths with common prefixes and
// suffixes, names shorter than eight bytes, case variants of a name and of the framing fields,
// and more fields than the fingerprint table holds (the plain path). Framing fields in any case
// are left out on both paths.
TEST(HttpWire, ResponseHeadWithManyFieldsIsBeasts) {
  Headers h{{"content-type", "application/json"},
            {"x-request-id", "req_1"},
            {"x-ratelimit-limit-requests", "100000000"},
            {"x-ratelimit-remaining-requests", "99999999"},
            {"x-ratelimit-reset-requests", "1ms"},
            {"x-ratelimit-limit-tokens", "10000000000"},
            {"x-ratelimit-remaining-tokens", "9999998700"},
            {"x-ratelimit-reset-tokens", "7.8ms"},
            {"a", "1"},
            {"ab", "2"},
            {"A", "3"},
            {"x-tollgate-cache", "miss"},
            {"X-RATELIMIT-RESET-TOKENS", "8ms"},
            {"x-ratelimit-reset-tokenS", "9ms"},
            {"x-tollgate-target", "openai"}};
  EXPECT_EQ(response_head(200, h, true, 5), beast_response(200, h, true, "hello"));
  EXPECT_EQ(stream_head(200, h, false), beast_stream_head(200, h, false));
  for (int i = 0; i < 70; ++i) h.emplace_back("x-extra-" + std::to_string(i % 40), std::to_string(i));
  EXPECT_EQ(response_head(200, h, true, 5), beast_response(200, h, true, "hello"));
  EXPECT_EQ(request_head("POST", "/", "h", h, 5), beast_request("POST", "/", "h", h, "hello"));

  for (std::size_t extra : {0u, 70u}) {
    Headers framed{{"CONNECTION", "keep-alive"}, {"Transfer-Encoding", "gzip"}, {"content-lengtH", "12"},
                   {"x-a", "1"}, {"connectioN", "x"}};
    for (std::size_t i = 0; i < extra; ++i) framed.emplace_back("Content-Length", "7");
    EXPECT_EQ(response_head(200, framed, false, 2), "HTTP/1.1 200 OK\r\nx-a: 1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n")
        << extra;
  }
}

TEST(HttpWire, ChunkSizeLineIsLowerCaseHex) {
  char line[20];
  for (std::size_t n : {1u, 9u, 10u, 255u, 4096u, 1000000u}) {
    const std::size_t len = tollgate::http::chunk_size_line(line, n);
    EXPECT_EQ(std::string(line, len), boost::beast::buffers_to_string(bhttp::chunk_header(n))) << n;
  }
}
