// OTLP/HTTP trace export: one span per request, with the OpenTelemetry GenAI semantic
// convention attributes (gen_ai.*), sent as OTLP JSON to a collector's /v1/traces by a
// background thread in batches. Like the usage sink, submit() never waits: a full queue drops
// the span and counts it. The HTTP client is the gateway's own (http/client.h, TLS included),
// run on the exporter thread's private io_context, so Beast stays out of this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "core/usage.h"
#include "obs/batch_queue.h"

namespace tollgate::obs {

using AttributeValue = std::variant<std::string, int64_t, double, bool>;

struct TraceSpan {
  enum class Kind { internal = 1, server = 2, client = 3 };
  enum class Status { unset = 0, ok = 1, error = 2 };

  std::string trace_id;        // 32 lowercase hex digits
  std::string span_id;         // 16 lowercase hex digits
  std::string parent_span_id;  // "" for a root span
  std::string name;
  Kind kind = Kind::client;
  int64_t start_unix_nano = 0;
  int64_t end_unix_nano = 0;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
  Status status = Status::unset;
  std::string status_message;
};

// W3C trace context of an incoming request (`traceparent: 00-<trace>-<parent>-<flags>`), so
// the gateway's span joins the caller's trace. nullopt when absent or malformed.
struct TraceContext {
  std::string trace_id;
  std::string parent_span_id;
  bool sampled = true;
};
std::optional<TraceContext> parse_traceparent(std::string_view header);
std::string new_trace_id();  // random, never all zero
std::string new_span_id();

// What one finished request tells the trace; the record phase fills it from the request
// context. Times are wall-clock unix nanoseconds.
struct GenAiCall {
  std::string request_id;
  std::string route;           // "chat.completions", "messages", "embeddings", ...
  std::string provider_kind;   // "openai", "azure", "anthropic", "gemini", "openai-compatible"
  std::string provider;        // the provider's configured name
  std::string model_alias;     // what the caller named
  std::string request_model;   // the upstream model asked of the provider
  std::string response_model;  // as the provider reported it ("" when unknown)
  std::string response_id;
  std::string key_id;
  std::string server_address;
  int server_port = 0;
  bool stream = false;
  int status = 0;
  std::string error;           // machine-readable cause, "" when none
  int attempts = 0;
  core::Usage usage;
  std::optional<double> cost_usd;
  int64_t start_unix_nano = 0;
  int64_t end_unix_nano = 0;
  std::optional<int64_t> first_token_unix_nano;
  std::optional<TraceContext> parent;
};

// The span for one call: name "{gen_ai.operation.name} {gen_ai.request.model}", kind client,
// gen_ai.* attributes per the GenAI semantic conventions (gen_ai.provider.name, with the
// older gen_ai.system alongside for consumers of the pre-1.37 conventions), error.type and
// status error for failures, and tollgate.* attributes for what the conventions lack.
TraceSpan genai_span(const GenAiCall& call);
std::string_view genai_operation_name(std::string_view route);
std::string_view genai_provider_name(std::string_view provider_kind);

struct OtlpResource {
  std::string service_name = "tollgate";
  std::string service_version;
  std::string service_instance_id;
};

// The OTLP/HTTP JSON body (ExportTraceServiceRequest) for `spans`.
std::string encode_otlp_json(const std::vector<TraceSpan>& spans, const OtlpResource& resource);

struct OtlpExporterOptions {
  std::string endpoint = "http://127.0.0.1:4318/v1/traces";  // full URL, http or https
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. authorization for a vendor
  OtlpResource resource;
  std::size_t queue_capacity = 8192;
  std::size_t batch_max = 512;
  std::chrono::milliseconds flush_interval{1000};
  std::chrono::milliseconds timeout{5000};  // connect, and response
  bool verify_tls = true;
};

struct OtlpExporterStats {
  uint64_t submitted = 0;
  uint64_t exported = 0;         // spans the collector accepted (2xx)
  uint64_t dropped = 0;          // refused at submit: queue full or stopped
  uint64_t failed = 0;           // spans in batches the collector did not accept (after one retry)
  uint64_t export_requests = 0;  // POSTs made
  uint64_t export_failures = 0;  // POSTs that failed (connect, timeout, non-2xx)
  uint64_t queued = 0;
};

class OtlpExporter {
 public:
  // Throws std::invalid_argument when the endpoint is not an http(s) URL.
  explicit OtlpExporter(OtlpExporterOptions options);
  ~OtlpExporter();  // stop()
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  bool submit(TraceSpan span);  // never blocks on I/O
  OtlpExporterStats stats() const;
  bool flush(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void stop();  // exports what is queued (one try), then ends the thread. Idempotent.

 private:
  struct Target;
  void run();
  bool post(const std::string& body);

  const OtlpExporterOptions options_;
  std::unique_ptr<Target> target_;

  BatchQueue<TraceSpan, OtlpExporterStats> queue_;
  std::thread thread_;
};

}  // namespace tollgate::obs
