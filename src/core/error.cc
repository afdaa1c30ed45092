#include "core/error.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace tollgate::core {

int default_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_request: return 400;
    case ErrorKind::authentication: return 401;
    case ErrorKind::permission: return 403;
    case ErrorKind::not_found: return 404;
    case ErrorKind::payload_too_large: return 413;
    case ErrorKind::rate_limit: return 429;
    case ErrorKind::upstream: return 502;
    case ErrorKind::timeout: return 504;
    case ErrorKind::unavailable: return 503;
    case ErrorKind::not_implemented: return 501;
    case ErrorKind::internal: return 500;
  }
  return 500;
}

GatewayError GatewayError::make(ErrorKind kind, std::string message, std::string code,
                                std::string param) {
  return GatewayError{default_status(kind), kind, std::move(message), std::move(code),
                      std::move(param)};
}

namespace {

// OpenAI's `type` values, as its API and SDKs use them.
const char* openai_type(ErrorKind k) {
  switch (k) {
    case ErrorKind::invalid_request:
    case ErrorKind::not_found:
    case ErrorKind::payload_too_large:
    case ErrorKind::not_implemented: return "invalid_request_error";
    case ErrorKind::authentication: return "authentication_error";
    case ErrorKind::permission: return "permission_error";
    case ErrorKind::rate_limit: return "rate_limit_error";
    case ErrorKind::upstream:
    case ErrorKind::timeout:
    case ErrorKind::unavailable:
    case ErrorKind::internal: return "api_error";
  }
  return "api_error";
}

// Anthropic's documented error types.
const char* anthropic_type(ErrorKind k) {
  switch (k) {
    case ErrorKind::invalid_request:
    case ErrorKind::not_implemented: return "invalid_request_error";
    case ErrorKind::authentication: return "authentication_error";
    case ErrorKind::permission: return "permission_error";
    case ErrorKind::not_found: return "not_found_error";
    case ErrorKind::payload_too_large: return "request_too_large";
    case ErrorKind::rate_limit: return "rate_limit_error";
    case ErrorKind::timeout: return "timeout_error";
    case ErrorKind::unavailable: return "overloaded_error";
    case ErrorKind::upstream:
    case ErrorKind::internal: return "api_error";
  }
  return "api_error";
}

}  // namespace

std::string to_openai_body(const GatewayError& e) {
  boost::json::object err;
  err["message"] = e.message;
  err["type"] = openai_type(e.kind);
  err["param"] = e.param.empty() ? boost::json::value(nullptr) : boost::json::value(e.param);
  err["code"] = e.code.empty() ? boost::json::value(nullptr) : boost::json::value(e.code);
  boost::json::object root;
  root["error"] = std::move(err);
  return boost::json::serialize(root);
}

std::string to_anthropic_body(const GatewayError& e) {
  boost::json::object err;
  err["type"] = anthropic_type(e.kind);
  err["message"] = e.message;
  boost::json::object root;
  root["type"] = "error";
  root["error"] = std::move(err);
  return boost::json::serialize(root);
}

}  // namespace tollgate::core
