// The JSON-RPC / MCP message model: parsing a POSTed message with size and depth caps,
// reading the 2026-07-28 per-request `_meta`, the mirrored-header encoding, and the error
// and result envelopes the gateway writes itself.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace tollgate::mcp {

inline constexpr std::string_view kModern = "2026-07-28";
inline constexpr std::string_view kMetaVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kMetaCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kMetaClientInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kMetaServerInfo = "io.modelcontextprotocol/serverInfo";

// JSON-RPC and MCP error codes.
namespace code {
inline constexpr int parse_error = -32700, invalid_request = -32600, method_not_found = -32601,
                     invalid_params = -32602, internal = -32603, header_mismatch = -32020,
                     unsupported_version = -32022, upstream = -32000, denied = -32003, rate_limited = -32029;
}

enum class Kind { request, notification, response };

struct Message {
  Kind kind = Kind::request;
  boost::json::value doc;  // the whole message (an object)
  boost::json::value id;   // null for notifications
  std::string method;      // "" for responses
  boost::json::object& params();  // created empty when absent
  const boost::json::object* params_if() const;
  // params._meta[key] as a string ("" when absent or not a string).
  std::string_view meta_string(std::string_view key) const;
  const boost::json::value* meta(std::string_view key) const;
  // params.name (tools/call, prompts/get) or params.uri (resources/read): what Mcp-Name mirrors.
  std::string_view subject() const;
};

struct ParseLimits {
  std::size_t max_bytes = 4 * 1024 * 1024;
  unsigned max_depth = 64;
};

// One JSON-RPC message. On failure returns the JSON-RPC error code and fills `error`.
std::optional<int> parse_message(std::string_view body, Message& out, std::string& error,
                                 const ParseLimits& limits = {});

// Whether `method` names a subject that Mcp-Name must mirror.
bool has_subject(std::string_view method);

// A mirrored header value: plain visible ASCII, or `=?base64?...?=` decoded. nullopt when
// the encoding is malformed.
std::optional<std::string> decode_header_value(std::string_view v);
// The reverse, for the upstream leg: values outside safe ASCII are base64-wrapped.
std::string encode_header_value(std::string_view v);

std::string error_body(const boost::json::value& id, int code, std::string_view message,
                       const boost::json::value* data = nullptr);
std::string result_body(const boost::json::value& id, boost::json::value result);

}  // namespace tollgate::mcp
