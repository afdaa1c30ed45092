// OTLP/HTTP trace export: the gen_ai.* span of a request, its OTLP JSON encoding, and the
// exporter posting batches to a local receiver (a plain socket server in a thread here) that
// checks the payload; a full queue drops with a counter and a failing collector is counted.
#include "obs/otlp.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "loopback.h"

namespace tollgate::obs {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// A minimal HTTP/1.1 collector on 127.0.0.1: keeps each POST (path, headers, body) and answers
// with `status`, optionally after a delay. Keep-alive, Content-Length bodies only (what the
// exporter sends).
class Receiver {
 public:
  explicit Receiver(int status = 200, std::chrono::milliseconds delay = 0ms) : status_(status), delay_(delay) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    port_ = test_support::bind_loopback(fd_);
    EXPECT_NE(port_, 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string url(const std::string& path = "/v1/traces") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  struct Post {
    std::string request_line;
    std::string headers;  // lowercased
    std::string body;
  };
  std::vector<Post> posts() {
    std::lock_guard lock(m_);
    return posts_;
  }
  void set_status(int s) { status_ = s; }

 private:
  void serve() {
    std::vector<int> clients;
    std::vector<std::string> buffers;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (int c : clients) fds.push_back({c, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c >= 0) {
          clients.push_back(c);
          buffers.emplace_back();
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char buf[65536];
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        std::size_t ci = i - 1;
        if (n <= 0) {
          ::close(clients[ci]);
          clients[ci] = -1;
          continue;
        }
        buffers[ci].append(buf, static_cast<std::size_t>(n));
        handle(clients[ci], buffers[ci]);
      }
      for (std::size_t i = clients.size(); i-- > 0;) {
        if (clients[i] < 0) {
          clients.erase(clients.begin() + static_cast<long>(i));
          buffers.erase(buffers.begin() + static_cast<long>(i));
        }
      }
    }
    for (int c : clients) ::close(c);
  }

  void handle(int fd, std::string& in) {
    for (;;) {
      auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) return;
      std::string head = in.substr(0, end);
      for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      std::size_t length = 0;
      if (auto p = head.find("content-length:"); p != std::string::npos) length = std::stoul(head.substr(p + 15));
      if (in.size() < end + 4 + length) return;
      Post post;
      post.request_line = in.substr(0, in.find("\r\n"));
      post.headers = head;
      post.body = in.substr(end + 4, length);
      in.erase(0, end + 4 + length);
      {
        std::lock_guard lock(m_);
        posts_.push_back(std::move(post));
      }
      if (delay_.count()) std::this_thread::sleep_for(delay_);
      std::string reply = "HTTP/1.1 " + std::to_string(status_.load()) +
                          " X\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
      ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> status_;
  std::chrono::milliseconds delay_;
  std::atomic<bool> stop_{false};
  std::mutex m_;
  std::vector<Post> posts_;
  std::thread thread_;
};

const json::value* attr(const json::object& span, std::string_view key) {
  for (const auto& a : span.at("attributes").as_array())
    if (a.at("key").as_string() == key) return &a.at("value");
  return nullptr;
}

GenAiCall sample_call() {
  GenAiCall c;
  c.request_id = "req-1";
  c.route = "chat.completions";
  c.provider_kind = "openai";
  c.provider = "openai-main";
  c.model_alias = "smart";
  c.request_model = "gpt-4o";
  c.response_model = "gpt-4o-2024-08-06";
  c.key_id = "key_abc";
  c.server_address = "api.openai.com";
  c.server_port = 443;
  c.status = 200;
  c.attempts = 1;
  c.stream = true;
  c.usage.known = true;
  c.usage.input_tokens = 1000;
  c.usage.output_tokens = 500;
  c.usage.cached_input_tokens = 200;
  c.cost_usd = 0.0072;
  c.start_unix_nano = 1'700'000'000'000'000'000;
  c.first_token_unix_nano = c.start_unix_nano + 120'000'000;
  c.end_unix_nano = c.start_unix_nano + 900'000'000;
  return c;
}

TEST(Otlp, GenAiSpanCarriesTheSemanticConventionAttributes) {
  TraceSpan s = genai_span(sample_call());
  EXPECT_EQ(s.name, "chat gpt-4o");
  EXPECT_EQ(s.kind, TraceSpan::Kind::client);
  EXPECT_EQ(s.trace_id.size(), 32u);
  EXPECT_EQ(s.span_id.size(), 16u);
  EXPECT_TRUE(s.parent_span_id.empty());
  EXPECT_EQ(s.status, TraceSpan::Status::unset);

  auto find = [&](std::string_view k) -> const AttributeValue* {
    for (const auto& [key, v] : s.attributes)
      if (key == k) return &v;
    return nullptr;
  };
  EXPECT_EQ(std::get<std::string>(*find("gen_ai.operation.name")), "chat");
  EXPECT_EQ(std::get<std::string>(*find("gen_ai.provider.name")), "openai");
  EXPECT_EQ(std::get<std::string>(*find("gen_ai.request.model")), "gpt-4o");
  EXPECT_EQ(std::get<std::string>(*find("gen_ai.response.model")), "gpt-4o-2024-08-06");
  EXPECT_EQ(std::get<int64_t>(*find("gen_ai.usage.input_tokens")), 1000);
  EXPECT_EQ(std::get<int64_t>(*find("gen_ai.usage.output_tokens")), 500);
  EXPECT_EQ(std::get<int64_t>(*find("gen_ai.usage.cache_read.input_tokens")), 200);
  EXPECT_FALSE(find("gen_ai.usage.cache_creation.input_tokens"));
  EXPECT_EQ(std::get<int64_t>(*find("server.port")), 443);
  EXPECT_EQ(std::get<std::string>(*find("tollgate.model")), "smart");
  EXPECT_EQ(std::get<std::string>(*find("tollgate.key.id")), "key_abc");
  EXPECT_DOUBLE_EQ(std::get<double>(*find("tollgate.cost_usd")), 0.0072);
  EXPECT_DOUBLE_EQ(std::get<double>(*find("tollgate.ttft_ms")), 120.0);
  EXPECT_FALSE(find("error.type"));
}

TEST(Otlp, FailedCallIsAnErrorSpanWithoutInventedUsage) {
  GenAiCall c = sample_call();
  c.status = 502;
  c.error = "upstream_connect";
  c.usage = {};
  c.cost_usd.reset();
  c.provider_kind = "azure";
  c.route = "embeddings";
  TraceSpan s = genai_span(c);
  EXPECT_EQ(s.name, "embeddings gpt-4o");
  EXPECT_EQ(s.status, TraceSpan::Status::error);
  EXPECT_EQ(s.status_message, "upstream_connect");
  bool has_tokens = false, has_cost = false;
  std::string provider, error_type;
  for (const auto& [k, v] : s.attributes) {
    has_tokens |= k.starts_with("gen_ai.usage.");
    has_cost |= k == "tollgate.cost_usd";
    if (k == "gen_ai.provider.name") provider = std::get<std::string>(v);
    if (k == "error.type") error_type = std::get<std::string>(v);
  }
  EXPECT_FALSE(has_tokens);
  EXPECT_FALSE(has_cost);
  EXPECT_EQ(provider, "azure.ai.openai");
  EXPECT_EQ(error_type, "upstream_connect");
}

TEST(Otlp, JoinsTheCallersTraceFromTraceparent) {
  auto ctx = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ctx->parent_span_id, "00f067aa0ba902b7");
  EXPECT_TRUE(ctx->sampled);
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("garbage"));
  EXPECT_FALSE(parse_traceparent(""));

  GenAiCall c = sample_call();
  c.parent = ctx;
  TraceSpan s = genai_span(c);
  EXPECT_EQ(s.trace_id, ctx->trace_id);
  EXPECT_EQ(s.parent_span_id, ctx->parent_span_id);
  EXPECT_NE(s.span_id, ctx->parent_span_id);
}

TEST(Otlp, EncodesOtlpJson) {
  OtlpResource r;
  r.service_version = "0.1.0";
  TraceSpan s = genai_span(sample_call());
  auto doc = json::parse(encode_otlp_json({s}, r)).as_object();
  const auto& rs = doc.at("resourceSpans").as_array().at(0).as_object();
  const auto& res_attrs = rs.at("resource").at("attributes").as_array();
  EXPECT_EQ(res_attrs.at(0).at("key").as_string(), "service.name");
  EXPECT_EQ(res_attrs.at(0).at("value").at("stringValue").as_string(), "tollgate");
  const auto& ss = rs.at("scopeSpans").as_array().at(0).as_object();
  EXPECT_EQ(ss.at("scope").at("name").as_string(), "tollgate");
  const auto& span = ss.at("spans").as_array().at(0).as_object();
  EXPECT_EQ(span.at("traceId").as_string(), s.trace_id);
  EXPECT_EQ(span.at("spanId").as_string(), s.span_id);
  EXPECT_FALSE(span.contains("parentSpanId"));
  EXPECT_EQ(span.at("kind").as_int64(), 3);
  EXPECT_EQ(span.at("startTimeUnixNano").as_string(), "1700000000000000000");
  EXPECT_EQ(span.at("endTimeUnixNano").as_string(), "1700000000900000000");
  EXPECT_EQ(attr(span, "gen_ai.usage.input_tokens")->at("intValue").as_string(), "1000");
  EXPECT_EQ(attr(span, "gen_ai.request.model")->at("stringValue").as_string(), "gpt-4o");
  EXPECT_EQ(attr(span, "tollgate.stream")->at("boolValue").as_bool(), true);
  EXPECT_DOUBLE_EQ(attr(span, "tollgate.cost_usd")->at("doubleValue").as_double(), 0.0072);
  EXPECT_TRUE(span.at("status").as_object().empty());
}

TEST(Otlp, ExporterPostsBatchesToTheCollector) {
  Receiver rx;
  OtlpExporterOptions o;
  o.endpoint = rx.url();
  o.headers = {{"authorization", "Bearer test-token"}};
  o.batch_max = 2;
  o.flush_interval = 20ms;
  o.resource.service_instance_id = "replica-1";
  OtlpExporter ex(o);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    GenAiCall c = sample_call();
    c.request_id = "req-" + std::to_string(i);
    TraceSpan s = genai_span(c);
    ids.push_back(s.span_id);
    ASSERT_TRUE(ex.submit(std::move(s)));
  }
  ASSERT_TRUE(ex.flush(10s));
  auto st = ex.stats();
  EXPECT_EQ(st.submitted, 5u);
  EXPECT_EQ(st.exported, 5u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.export_failures, 0u);

  auto posts = rx.posts();
  ASSERT_EQ(posts.size(), 3u);  // batches of 2, 2, 1
  std::vector<std::string> seen;
  for (const auto& p : posts) {
    EXPECT_EQ(p.request_line, "POST /v1/traces HTTP/1.1");
    EXPECT_NE(p.headers.find("content-type: application/json"), std::string::npos);
    EXPECT_NE(p.headers.find("authorization: bearer test-token"), std::string::npos);
    auto doc = json::parse(p.body).as_object();
    const auto& rs = doc.at("resourceSpans").as_array().at(0).as_object();
    bool instance = false;
    for (const auto& a : rs.at("resource").at("attributes").as_array())
      instance |= a.at("key").as_string() == "service.instance.id";
    EXPECT_TRUE(instance);
    for (const auto& span : rs.at("scopeSpans").as_array().at(0).at("spans").as_array()) {
      seen.emplace_back(span.at("spanId").as_string());
      EXPECT_EQ(attr(span.as_object(), "gen_ai.operation.name")->at("stringValue").as_string(), "chat");
      EXPECT_EQ(attr(span.as_object(), "gen_ai.provider.name")->at("stringValue").as_string(), "openai");
    }
  }
  EXPECT_EQ(seen, ids);
}

TEST(Otlp, BareCollectorAddressGetsTheTracesPath) {
  Receiver rx;
  OtlpExporterOptions o;
  o.endpoint = rx.url("");
  o.flush_interval = 10ms;
  OtlpExporter ex(o);
  ASSERT_TRUE(ex.submit(genai_span(sample_call())));
  ASSERT_TRUE(ex.flush(10s));
  ASSERT_EQ(rx.posts().size(), 1u);
  EXPECT_EQ(rx.posts()[0].request_line, "POST /v1/traces HTTP/1.1");
}

TEST(Otlp, FullQueueDropsWithACounterAndNeverBlocks) {
  Receiver rx(200, 300ms);  // a slow collector
  OtlpExporterOptions o;
  o.endpoint = rx.url();
  o.queue_capacity = 50;
  o.batch_max = 10;
  o.flush_interval = 5ms;
  OtlpExporter ex(o);
  TraceSpan proto = genai_span(sample_call());
  auto start = std::chrono::steady_clock::now();
  int accepted = 0;
  for (int i = 0; i < 5000; ++i) accepted += ex.submit(proto) ? 1 : 0;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  auto st = ex.stats();
  EXPECT_EQ(st.dropped, static_cast<uint64_t>(5000 - accepted));
  EXPECT_GE(st.dropped, 4900u);
  ASSERT_TRUE(ex.flush(20s));
  EXPECT_EQ(ex.stats().exported, static_cast<uint64_t>(accepted));
}

TEST(Otlp, CollectorErrorsAreCountedAndSpansGiveUpAfterOneRetry) {
  Receiver rx(503);
  OtlpExporterOptions o;
  o.endpoint = rx.url();
  o.flush_interval = 5ms;
  OtlpExporter ex(o);
  ASSERT_TRUE(ex.submit(genai_span(sample_call())));
  ASSERT_TRUE(ex.flush(10s));
  auto st = ex.stats();
  EXPECT_EQ(st.exported, 0u);
  EXPECT_EQ(st.failed, 1u);
  EXPECT_EQ(st.export_requests, 2u);
  EXPECT_EQ(st.export_failures, 2u);

  rx.set_status(200);
  ASSERT_TRUE(ex.submit(genai_span(sample_call())));
  ASSERT_TRUE(ex.flush(10s));
  EXPECT_EQ(ex.stats().exported, 1u);
}

TEST(Otlp, UnreachableCollectorDoesNotHoldUpStop) {
  // A port nothing listens on: connection refused at once.
  int port;
  {
    Receiver gone;
    port = gone.port();
  }
  OtlpExporterOptions o;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
  o.flush_interval = 1h;  // only stop() sends
  o.batch_max = 2;
  o.timeout = 500ms;
  auto ex = std::make_unique<OtlpExporter>(o);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ex->submit(genai_span(sample_call())));
  auto start = std::chrono::steady_clock::now();
  ex->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  auto st = ex->stats();
  EXPECT_EQ(st.failed, 20u);
  EXPECT_EQ(st.exported, 0u);
  EXPECT_FALSE(ex->submit(genai_span(sample_call())));
}

TEST(Otlp, RejectsAnEndpointThatIsNotHttp) {
  OtlpExporterOptions o;
  o.endpoint = "grpc://127.0.0.1:4317";
  EXPECT_THROW(OtlpExporter{o}, std::invalid_argument);
}

}  // namespace
}  // namespace tollgate::obs
