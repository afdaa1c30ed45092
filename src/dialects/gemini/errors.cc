// Google's error envelope {error:{code, message, status, details}} -> the caller's error and
// its class. Gemini answers an invalid key with 400 (details[].reason API_KEY_INVALID), not
// 401: read the reason before the status.
#include <string>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "dialects/gemini/codec_impl.h"
#include "dialects/json_fields.h"

namespace tollgate::dialects::gemini {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

std::string_view error_reason(const json::object& e) {
  auto* details = e.if_contains("details");
  if (!details || !details->is_array()) return {};
  for (const auto& d : details->get_array()) {
    if (!d.is_object()) continue;
    if (auto r = str(d.get_object(), "reason"); !r.empty()) return r;
  }
  return {};
}

// Gemini names request fields in proto terms; say them the way the caller wrote them.
std::string in_caller_terms(std::string_view message) {
  static constexpr std::pair<std::string_view, std::string_view> names[] = {
      {"generation_config.max_output_tokens", "max_tokens"},
      {"generationConfig.maxOutputTokens", "max_tokens"},
      {"generation_config.candidate_count", "n"},
      {"generation_config.stop_sequences", "stop"},
      {"generation_config.top_p", "top_p"},
      {"generation_config.temperature", "temperature"},
      {"generation_config.presence_penalty", "presence_penalty"},
      {"generation_config.frequency_penalty", "frequency_penalty"},
      {"generation_config.response_schema", "response_format.json_schema.schema"},
      {"generation_config.thinking_config", "reasoning_effort"},
      {"GenerateContentRequest.", ""},
  };
  std::string out(message);
  for (const auto& [from, to] : names) {
    for (size_t pos = out.find(from); pos != std::string::npos; pos = out.find(from, pos + to.size()))
      out.replace(pos, from.size(), to);
  }
  // The encoder sends every function tool, in the caller's order, as the declarations of one
  // Gemini tool: "tools[0].function_declarations[3]" is the caller's "tools[3].function".
  static constexpr std::string_view decl = "tools[0].function_declarations[";
  for (size_t pos = out.find(decl); pos != std::string::npos; pos = out.find(decl, pos + 1)) {
    size_t close = out.find(']', pos + decl.size());
    if (close == std::string::npos) break;
    std::string index = out.substr(pos + decl.size(), close - pos - decl.size());
    out.replace(pos, close + 1 - pos, fmt::format("tools[{}].function", index));
  }
  return out;
}

ClassifiedError make(ErrorKind kind, ErrorClass cls, std::string message, std::string code = {}) {
  return ClassifiedError{GatewayError::make(kind, std::move(message), std::move(code)), cls};
}

}  // namespace

ClassifiedError classify_google_error(int http_status, const json::object* error) {
  int code = http_status;
  std::string_view message, status, reason;
  if (error) {
    if (auto* c = error->if_contains("code"); c && c->is_int64() && (code == 0 || code < 400))
      code = static_cast<int>(c->get_int64());
    message = str(*error, "message");
    status = str(*error, "status");
    reason = error_reason(*error);
  }
  std::string said = message.empty() ? fmt::format("HTTP {} {}", code, status) : in_caller_terms(message);

  if (reason == "API_KEY_INVALID" || reason == "API_KEY_EXPIRED" ||
      message.find("API key not valid") != std::string_view::npos || code == 401 || status == "UNAUTHENTICATED")
    return make(ErrorKind::authentication, ErrorClass::auth,
                fmt::format("The provider (Google Gemini) rejected the gateway's credentials for this model: {} "
                            "The gateway operator must fix the provider's API key.",
                            said),
                "invalid_api_key");
  if (code == 403 || status == "PERMISSION_DENIED")
    return make(ErrorKind::permission, ErrorClass::auth,
                fmt::format("The provider (Google Gemini) denied access: {}", said), "permission_denied");
  if (code == 404 || status == "NOT_FOUND")
    return make(ErrorKind::not_found, ErrorClass::not_found,
                fmt::format("The provider (Google Gemini) does not know this model: {}", said), "model_not_found");
  if (code == 429 || status == "RESOURCE_EXHAUSTED")
    return make(ErrorKind::rate_limit, ErrorClass::rate_limited,
                fmt::format("The provider (Google Gemini) is rate limiting requests: {}", said),
                "rate_limit_exceeded");
  if (message.find("exceeds the maximum number of tokens") != std::string_view::npos ||
      (message.find("input token count") != std::string_view::npos &&
       message.find("exceeds") != std::string_view::npos))
    return make(ErrorKind::invalid_request, ErrorClass::context_length,
                fmt::format("This model's maximum context length was exceeded: {}", said),
                "context_length_exceeded");
  if (code == 503 || status == "UNAVAILABLE")
    return make(ErrorKind::unavailable, ErrorClass::retryable,
                fmt::format("The provider (Google Gemini) is overloaded or unavailable: {}", said), "upstream_unavailable");
  if (code == 504 || status == "DEADLINE_EXCEEDED")
    return make(ErrorKind::timeout, ErrorClass::retryable,
                fmt::format("The provider (Google Gemini) timed out: {}", said), "upstream_timeout");
  if (code >= 500 || status == "INTERNAL")
    return make(ErrorKind::upstream, ErrorClass::retryable,
                fmt::format("The provider (Google Gemini) failed: {}", said), "upstream_error");
  if (status == "FAILED_PRECONDITION")
    return make(ErrorKind::invalid_request, ErrorClass::other,
                fmt::format("The provider (Google Gemini) cannot serve this request: {}", said), "upstream_precondition");
  if (code == 413)
    return make(ErrorKind::payload_too_large, ErrorClass::invalid_request,
                fmt::format("The request is too large for the provider (Google Gemini): {}", said));
  if (code >= 400 && code < 500)
    return make(ErrorKind::invalid_request, ErrorClass::invalid_request,
                fmt::format("The provider (Google Gemini) rejected the request: {}", said), "invalid_request");
  return make(ErrorKind::upstream, ErrorClass::other,
              fmt::format("The provider (Google Gemini) answered with an error: {}", said), "upstream_error");
}

ClassifiedError GeminiCodec::decode_error(int status, std::string_view body) const {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  const json::object* error = nullptr;
  if (!ec) {
    // The non-SSE stream answers an array of responses; an error may come as its one element.
    const json::value* v = &doc;
    if (doc.is_array() && !doc.get_array().empty()) v = &doc.get_array().front();
    if (v->is_object())
      if (auto* e = v->get_object().if_contains("error"); e && e->is_object()) error = &e->get_object();
  }
  if (!error) {
    ClassifiedError c = classify_google_error(status, nullptr);
    // Not Google's envelope (a proxy's HTML page, say): say so, keep the class from the status.
    c.error.message = fmt::format("The provider (Google Gemini) answered HTTP {} without its JSON error body.", status);
    if (c.error.kind == ErrorKind::invalid_request || c.error.kind == ErrorKind::payload_too_large) {
      c.error = GatewayError::make(ErrorKind::upstream, c.error.message, "upstream_error");
      c.cls = ErrorClass::other;
    }
    return c;
  }
  return classify_google_error(status, error);
}

}  // namespace tollgate::dialects::gemini
