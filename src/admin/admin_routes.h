// The admin listener: health, Prometheus metrics, and the Admin API (/admin/v1/..., admin_api.h).
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>

#include "gateway/state.h"
#include "http/server.h"
#include "store/store.h"

namespace tollgate::admin {

boost::asio::awaitable<void> handle_admin_request(gateway::GatewayState& state, http::Exchange& ex);

// Hands the runtime's store to the Admin API, and how to make a write live at once:
// `reload_now` loads the store and publishes the new snapshot synchronously (true when live).
// Call once at startup, before the listeners start. Without it the Admin API opens its own
// connection to config.store on first use and reloads through that connection itself.
void attach_store(gateway::GatewayState& state, std::shared_ptr<store::ResourceStore> store,
                  std::function<bool()> reload_now = {});

}  // namespace tollgate::admin
