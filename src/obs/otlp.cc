#include "obs/otlp.h"

#include <array>
#include <cstdio>
#include <random>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/snapshot.h"
#include "http/client.h"
#include "http/post_and_wait.h"

namespace tollgate::obs {

namespace json = boost::json;
namespace net = boost::asio;

namespace {

bool is_hex(std::string_view s, std::size_t n) {
  if (s.size() != n) return false;
  bool nonzero = false;
  for (char c : s) {
    bool digit = c >= '0' && c <= '9';
    bool lower = c >= 'a' && c <= 'f';
    if (!digit && !lower) return false;
    nonzero |= c != '0';
  }
  return nonzero;  // all-zero ids are invalid in W3C trace context
}

std::string random_hex(std::size_t bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (;;) {
    out.clear();
    for (std::size_t i = 0; i < bytes; i += 8) {
      uint64_t v = rng();
      for (std::size_t j = 0; j < 8 && i + j < bytes; ++j) {
        out += kHex[(v >> 4) & 0xf];
        out += kHex[v & 0xf];
        v >>= 8;
      }
    }
    if (out.find_first_not_of('0') != std::string::npos) return out;
  }
}

json::object attribute(const std::string& key, const AttributeValue& v) {
  json::object value;
  if (auto* s = std::get_if<std::string>(&v)) value["stringValue"] = *s;
  else if (auto* i = std::get_if<int64_t>(&v)) value["intValue"] = std::to_string(*i);  // int64 is a string in OTLP JSON
  else if (auto* d = std::get_if<double>(&v)) value["doubleValue"] = *d;
  else value["boolValue"] = std::get<bool>(v);
  return json::object{{"key", key}, {"value", std::move(value)}};
}

}  // namespace

std::optional<TraceContext> parse_traceparent(std::string_view h) {
  // version "-" trace-id "-" parent-id "-" flags; version 00 has exactly this length.
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  std::string_view version = h.substr(0, 2);
  if (version == "ff" || (version == "00" && h.size() != 55)) return std::nullopt;
  TraceContext ctx;
  ctx.trace_id = std::string(h.substr(3, 32));
  ctx.parent_span_id = std::string(h.substr(36, 16));
  std::string_view flags = h.substr(53, 2);
  if (!is_hex(ctx.trace_id, 32) || !is_hex(ctx.parent_span_id, 16)) return std::nullopt;
  unsigned f = 0;
  if (std::sscanf(std::string(flags).c_str(), "%2x", &f) != 1) return std::nullopt;
  ctx.sampled = (f & 1) != 0;
  return ctx;
}

std::string new_trace_id() { return random_hex(16); }
std::string new_span_id() { return random_hex(8); }

std::string_view genai_operation_name(std::string_view route) {
  if (route == "chat.completions" || route == "messages" || route == "responses") return "chat";
  if (route == "completions") return "text_completion";
  if (route == "embeddings") return "embeddings";
  return route;
}

std::string_view genai_provider_name(std::string_view kind) {
  // Well-known values of gen_ai.provider.name.
  if (kind == "azure") return "azure.ai.openai";
  if (kind == "gemini") return "gcp.gemini";
  return kind;  // openai, anthropic; other kinds as they are named
}

TraceSpan genai_span(const GenAiCall& c) {
  TraceSpan s;
  if (c.parent) {
    s.trace_id = c.parent->trace_id;
    s.parent_span_id = c.parent->parent_span_id;
  } else {
    s.trace_id = new_trace_id();
  }
  s.span_id = new_span_id();
  s.kind = TraceSpan::Kind::client;  // GenAI inference spans are client spans
  s.start_unix_nano = c.start_unix_nano;
  s.end_unix_nano = c.end_unix_nano;
  const std::string operation(genai_operation_name(c.route));
  const std::string& model = c.request_model.empty() ? c.model_alias : c.request_model;
  s.name = model.empty() ? operation : operation + " " + model;

  auto& a = s.attributes;
  auto str = [&](const char* k, const std::string& v) {
    if (!v.empty()) a.emplace_back(k, v);
  };
  a.emplace_back("gen_ai.operation.name", operation);
  if (!c.provider_kind.empty()) {
    std::string provider(genai_provider_name(c.provider_kind));
    a.emplace_back("gen_ai.provider.name", provider);
    a.emplace_back("gen_ai.system", provider);
  }
  str("gen_ai.request.model", model);
  str("gen_ai.response.model", c.response_model);
  str("gen_ai.response.id", c.response_id);
  if (c.usage.known) {
    a.emplace_back("gen_ai.usage.input_tokens", c.usage.input_tokens);
    a.emplace_back("gen_ai.usage.output_tokens", c.usage.output_tokens);
    if (c.usage.cached_input_tokens)
      a.emplace_back("gen_ai.usage.cache_read.input_tokens", c.usage.cached_input_tokens);
    if (c.usage.cache_creation_tokens)
      a.emplace_back("gen_ai.usage.cache_creation.input_tokens", c.usage.cache_creation_tokens);
    if (c.usage.reasoning_tokens) a.emplace_back("tollgate.usage.reasoning_tokens", c.usage.reasoning_tokens);
  }
  str("server.address", c.server_address);
  if (c.server_port > 0) a.emplace_back("server.port", int64_t{c.server_port});
  if (c.status > 0) a.emplace_back("http.response.status_code", int64_t{c.status});
  const bool failed = c.status >= 400 || !c.error.empty();
  if (failed) {
    std::string type = !c.error.empty() ? c.error : std::to_string(c.status);
    a.emplace_back("error.type", type);
    s.status = TraceSpan::Status::error;
    s.status_message = type;
  }
  str("tollgate.request_id", c.request_id);
  str("tollgate.route", c.route);
  str("tollgate.model", c.model_alias);
  str("tollgate.provider", c.provider);
  str("tollgate.key.id", c.key_id);
  a.emplace_back("tollgate.stream", c.stream);
  if (c.attempts > 0) a.emplace_back("tollgate.attempts", int64_t{c.attempts});
  if (c.cost_usd) a.emplace_back("tollgate.cost_usd", *c.cost_usd);
  if (c.first_token_unix_nano && *c.first_token_unix_nano >= c.start_unix_nano)
    a.emplace_back("tollgate.ttft_ms", static_cast<double>(*c.first_token_unix_nano - c.start_unix_nano) / 1e6);
  return s;
}

std::string encode_otlp_json(const std::vector<TraceSpan>& spans, const OtlpResource& resource) {
  json::array resource_attrs;
  resource_attrs.push_back(attribute("service.name", resource.service_name));
  if (!resource.service_version.empty())
    resource_attrs.push_back(attribute("service.version", resource.service_version));
  if (!resource.service_instance_id.empty())
    resource_attrs.push_back(attribute("service.instance.id", resource.service_instance_id));

  json::array out_spans;
  out_spans.reserve(spans.size());
  for (const auto& s : spans) {
    json::object o;
    o["traceId"] = s.trace_id;  // OTLP JSON: ids are hex strings, not base64
    o["spanId"] = s.span_id;
    if (!s.parent_span_id.empty()) o["parentSpanId"] = s.parent_span_id;
    o["name"] = s.name;
    o["kind"] = static_cast<int>(s.kind);
    o["startTimeUnixNano"] = std::to_string(s.start_unix_nano);
    o["endTimeUnixNano"] = std::to_string(s.end_unix_nano);
    json::array attrs;
    attrs.reserve(s.attributes.size());
    for (const auto& [k, v] : s.attributes) attrs.push_back(attribute(k, v));
    o["attributes"] = std::move(attrs);
    json::object status;
    if (s.status != TraceSpan::Status::unset) status["code"] = static_cast<int>(s.status);
    if (!s.status_message.empty()) status["message"] = s.status_message;
    o["status"] = std::move(status);
    out_spans.push_back(std::move(o));
  }

  json::object scope{{"name", "tollgate"}};
  if (!resource.service_version.empty()) scope["version"] = resource.service_version;
  json::object doc{
      {"resourceSpans",
       json::array{json::object{
           {"resource", json::object{{"attributes", std::move(resource_attrs)}}},
           {"scopeSpans", json::array{json::object{{"scope", std::move(scope)}, {"spans", std::move(out_spans)}}}},
       }}},
  };
  return json::serialize(doc);
}

// Where the exporter posts, and the io_context its thread runs the client on. The context
// lives as long as the exporter, beyond the thread: the client's per-thread connection pool
// is destroyed at thread exit and its sockets must not outlive their context.
struct OtlpExporter::Target {
  core::UpstreamEndpoint endpoint;
  std::string path;
  net::io_context ioc{1};
};

OtlpExporter::OtlpExporter(OtlpExporterOptions options)
    : options_(std::move(options)), target_(std::make_unique<Target>()), queue_(options_.queue_capacity, options_.batch_max) {
  // parse_endpoint splits "scheme://host:port/path" (the path becomes path_prefix).
  if (!core::parse_endpoint(options_.endpoint, target_->endpoint))
    throw std::invalid_argument("otlp: endpoint is not an http(s) URL: " + options_.endpoint);
  target_->path = target_->endpoint.path_prefix.empty() ? "/v1/traces" : target_->endpoint.path_prefix;
  thread_ = std::thread([this] { run(); });
}

OtlpExporter::~OtlpExporter() { stop(); }

bool OtlpExporter::submit(TraceSpan span) { return queue_.submit(std::move(span)); }

OtlpExporterStats OtlpExporter::stats() const { return queue_.stats(); }

bool OtlpExporter::flush(std::chrono::milliseconds timeout) { return queue_.flush(timeout); }

void OtlpExporter::stop() {
  queue_.stop();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool OtlpExporter::post(const std::string& body) {
  http::OutgoingRequest req;
  req.method = "POST";
  req.target = target_->path;
  req.headers.emplace_back("content-type", "application/json");
  for (const auto& h : options_.headers) req.headers.push_back(h);
  req.body = body;
  core::Timeouts timeouts;
  timeouts.connect = options_.timeout;
  timeouts.read = options_.timeout;
  timeouts.idle = options_.timeout;

  std::string why = http::post_and_wait(target_->ioc, target_->endpoint, timeouts, options_.verify_tls, req);
  queue_.record([&](OtlpExporterStats& s) {
    ++s.export_requests;
    if (why.empty()) return;
    ++s.export_failures;
    if (s.export_failures % 100 == 1) spdlog::warn("otlp export to {} failed: {}", options_.endpoint, why);
  });
  return why.empty();
}

void OtlpExporter::run() {
  std::vector<TraceSpan> batch;
  for (;;) {
    const bool stopping = queue_.take(batch, options_.flush_interval);
    if (batch.empty()) {
      if (stopping) break;
      continue;
    }
    const std::string body = encode_otlp_json(batch, options_.resource);
    // Traces are worth one retry, not a backlog: a collector that stays down costs spans
    // (counted as failed), never memory or request latency.
    bool ok = post(body);
    if (!ok && !stopping) {
      queue_.pause(std::chrono::milliseconds(200));
      ok = post(body);
    }
    // Shutting down with the collector unreachable: what still waits is given up on, not
    // tried a timeout per batch.
    queue_.finish(batch.size(), [&](OtlpExporterStats& s, std::size_t given_up) {
      if (ok) s.exported += batch.size();
      else s.failed += batch.size();
      s.failed += given_up;
    }, !ok && stopping);
    batch.clear();
  }
}

}  // namespace tollgate::obs
