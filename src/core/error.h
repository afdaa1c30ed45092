// The gateway's one error type. Every failure a caller can see is a GatewayError; the dialect
// of the route turns it into the OpenAI or the Anthropic error envelope.
#pragma once

#include <string>

namespace tollgate::core {

enum class ErrorKind {
  invalid_request,   // 400
  authentication,    // 401
  permission,        // 403
  not_found,         // 404
  payload_too_large, // 413
  rate_limit,        // 429
  upstream,          // 502: the provider failed or answered nonsense
  timeout,           // 504: the provider did not answer in time
  unavailable,       // 503: shutting down, nothing to route to
  not_implemented,   // 501
  internal,          // 500
};

struct GatewayError {
  int status = 500;
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  std::string code;   // machine-readable, e.g. "model_not_found", "invalid_api_key"
  std::string param;  // the offending request field, when there is one

  static GatewayError make(ErrorKind kind, std::string message, std::string code = {},
                           std::string param = {});
};

int default_status(ErrorKind kind);

// {"error":{"message":...,"type":...,"param":...,"code":...}}
std::string to_openai_body(const GatewayError& e);
// {"type":"error","error":{"type":...,"message":...}}
std::string to_anthropic_body(const GatewayError& e);

}  // namespace tollgate::core
