// The upstream leg: one JSON-RPC request to one registered MCP server, in that server's era
// (2026-07-28 stateless, or a legacy session the gateway opens and keeps per worker thread),
// with the gateway's credentials for it (static headers, bearer, OAuth2 client credentials
// with a token cache and one refresh on 401). The caller's key never goes upstream. The era
// is detected once per server (server/discover, else initialize), cached, and pinnable.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/resources.h"
#include "http/client.h"

namespace tollgate::mcp {

enum class Era { modern, legacy };

// What the inbound request says about its client, forwarded upstream.
struct Caller {
  boost::json::object client_capabilities;
  boost::json::object client_info;
  std::string traceparent;
  http::Headers param_headers;  // Mcp-Param-*, forwarded as they came
};

// A failure of the upstream leg, already worded for the caller: it names the server, never
// its URL or credentials.
struct UpstreamError {
  std::string message;
  int upstream_status = 0;  // the server's HTTP status when it answered
};

struct Opened {
  std::unique_ptr<http::UpstreamCall> call;  // response head read; body not yet
  Era era = Era::modern;
  std::optional<UpstreamError> error;
};

// Sends `request` (a JSON-RPC request or notification object) to `server`. In the legacy era
// `io.modelcontextprotocol/*` keys leave _meta; in the modern era they are set.
boost::asio::awaitable<Opened> open_request(const core::McpServer& server, const Caller& caller,
                                            boost::json::object request);

// Reads the JSON-RPC response with `id` from an opened call (JSON or SSE; notifications
// before it are skipped). Caps the body at `limit` bytes.
boost::asio::awaitable<std::optional<UpstreamError>> read_response(const core::McpServer& server,
                                                                   http::UpstreamCall& call,
                                                                   boost::json::value& response,
                                                                   std::size_t limit);

// open_request + read_response: for the gateway's own calls (listing, discovery).
boost::asio::awaitable<std::optional<UpstreamError>> call_once(const core::McpServer& server, const Caller& caller,
                                                               boost::json::object request,
                                                               boost::json::value& response, std::size_t limit);

// The server's era and the capabilities it announced (server/discover or initialize),
// detecting them when not yet known.
boost::asio::awaitable<std::optional<UpstreamError>> describe_server(const core::McpServer& server,
                                                                     const Caller& caller, Era& era,
                                                                     boost::json::object& capabilities);

}  // namespace tollgate::mcp
