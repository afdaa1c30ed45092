// The proxy listener's handler: runs the request path's phases in order (phases.h).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/state.h"
#include "http/server.h"

namespace tollgate::gateway {

boost::asio::awaitable<void> handle_proxy_request(GatewayState& state, http::Exchange& ex);

// A caller above the listener's connection cap: a fast 503 with Retry-After, in the dialect
// its path names, without touching the request path.
boost::asio::awaitable<void> handle_overloaded(http::Exchange& ex);

}  // namespace tollgate::gateway
