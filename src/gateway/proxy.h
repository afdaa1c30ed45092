// The proxy listener's handler: runs the request path's phases in order (phases.h).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/state.h"
#include "http/server.h"

namespace tollgate::gateway {

boost::asio::awaitable<void> handle_proxy_request(GatewayState& state, http::Exchange& ex);

}  // namespace tollgate::gateway
