// The admin listener: health, Prometheus metrics, and (later) the Admin API and UI.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/state.h"
#include "http/server.h"

namespace tollgate::admin {

boost::asio::awaitable<void> handle_admin_request(gateway::GatewayState& state, http::Exchange& ex);

}  // namespace tollgate::admin
