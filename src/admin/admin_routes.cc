#include "admin/admin_routes.h"

namespace tollgate::admin {
namespace net = boost::asio;

namespace {
http::Headers content_type(std::string_view v) { return {{"content-type", std::string(v)}}; }
}  // namespace

net::awaitable<void> handle_admin_request(gateway::GatewayState& state, http::Exchange& ex) {
  std::string_view path = ex.target().substr(0, ex.target().find('?'));
  const bool get = ex.method() == "GET";
  if (get && path == "/livez") {
    co_await ex.respond(200, content_type("application/json"), R"({"status":"ok"})");
  } else if (get && path == "/readyz") {
    bool ready = state.ready.load() && !state.draining.load();
    std::string body = ready ? R"({"status":"ready"})" : R"({"status":"not ready"})";
    co_await ex.respond(ready ? 200 : 503, content_type("application/json"), std::move(body));
  } else if (get && path == "/metrics") {
    co_await ex.respond(200, content_type("text/plain; version=0.0.4; charset=utf-8"),
                        state.metrics.render());
  } else {
    co_await ex.respond(404, content_type("application/json"),
                        R"({"error":{"message":"Unknown admin route.","type":"invalid_request_error","param":null,"code":"unknown_route"}})");
  }
}

}  // namespace tollgate::admin
