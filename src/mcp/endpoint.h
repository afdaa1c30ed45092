// The inbound MCP endpoint on the proxy listener: POST /mcp (every server the key may reach,
// names prefixed) and POST /mcp/{server} (one server, its own names). Both eras on one URL:
// a request carrying 2026-07-28 `_meta` is served statelessly; `initialize` opens a legacy
// session whose id is sealed and self-contained (session.h).
#pragma once

#include <boost/asio/awaitable.hpp>

namespace tollgate::gateway {
struct RequestContext;
}

namespace tollgate::mcp {

boost::asio::awaitable<void> serve(gateway::RequestContext& ctx);

}  // namespace tollgate::mcp
