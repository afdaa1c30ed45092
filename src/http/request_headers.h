// Request headers by name prefix (Mcp-Param-*, which an MCP intermediary forwards unread), for
// the exchanges the listener makes (server.cc). Apart from server.h, which every handler
// includes, so that adding a lookup does not rebuild them all.
#pragma once

#include <string_view>

#include "http/server.h"

namespace tollgate::http {

// Every header of the request whose name starts with `prefix` (ASCII case-insensitive), as sent.
Headers headers_starting_with(const Exchange& ex, std::string_view prefix);

}  // namespace tollgate::http
