#include "admin/admin_routes.h"

#include <algorithm>

#include "admin/ui_assets.h"
#include "gateway/proxy.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <map>
#include <mutex>

#include "admin/admin_api.h"
#include "core/snapshot.h"
#include "mcp/stats.h"

namespace tollgate::admin {
namespace net = boost::asio;

namespace {
http::Headers content_type(std::string_view v) { return {{"content-type", std::string(v)}}; }

// The Admin API of each gateway state (one per process; tests may build more).
struct ApiRegistry {
  std::mutex mutex;
  std::map<const gateway::GatewayState*, std::shared_ptr<AdminApi>> apis;
};
ApiRegistry& registry() {
  static ApiRegistry r;
  return r;
}

std::shared_ptr<AdminApi> api_for(gateway::GatewayState& state) {
  ApiRegistry& r = registry();
  std::lock_guard lock(r.mutex);
  auto& api = r.apis[&state];
  if (!api) api = std::make_shared<AdminApi>(state, nullptr, std::function<bool()>{});
  return api;
}

// Admin API calls block (SQLite, usage queries): they run here, one at a time, not on the
// worker thread the admin listener shares with proxy traffic.
net::thread_pool& api_thread() {
  static net::thread_pool pool(1);
  return pool;
}

net::awaitable<AdminReply> run_api(std::shared_ptr<AdminApi> api, AdminRequest request) {
  AdminReply reply = api->handle(request);
  api->close_idle();
  co_return reply;
}

bool is_api_path(std::string_view path) {
  return path == "/admin/v1" || path.starts_with("/admin/v1/");
}
}  // namespace

void attach_store(gateway::GatewayState& state, std::shared_ptr<store::ResourceStore> store,
                  std::function<bool()> reload_now) {
  ApiRegistry& r = registry();
  std::lock_guard lock(r.mutex);
  r.apis[&state] = std::make_shared<AdminApi>(state, std::move(store), std::move(reload_now));
}

namespace {

const UiAsset* find_ui_asset(std::string_view path) {
  const UiAsset* end = kUiAssets + kUiAssetCount;
  const UiAsset* it = std::lower_bound(kUiAssets, end, path,
                                       [](const UiAsset& a, std::string_view p) { return std::string_view(a.path) < p; });
  return it != end && std::string_view(it->path) == path ? it : nullptr;
}

// The Admin UI: a single-page app with hash routes, so /ui/ serves index.html and only
// /ui/assets/* name files. No auth here: the app signs in against the Admin API.
net::awaitable<void> serve_ui(http::Exchange& ex, std::string_view path) {
  if (path == "/ui") {
    http::Headers h{{"location", "/ui/"}};
    co_await ex.respond(308, h, "");
    co_return;
  }
  const UiAsset* asset = find_ui_asset(path == "/ui/" ? "/ui/index.html" : path);
  if (!asset && !path.starts_with("/ui/assets/")) asset = find_ui_asset("/ui/index.html");
  if (!asset) {
    co_await ex.respond(404, content_type("text/plain"), "not found");
    co_return;
  }
  const bool immutable = std::string_view(asset->path).starts_with("/ui/assets/");
  http::Headers h{
      {"content-type", asset->content_type},
      {"cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache"},
      {"content-security-policy",
       "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"},
      {"x-content-type-options", "nosniff"},
      {"referrer-policy", "no-referrer"},
  };
  std::string body(reinterpret_cast<const char*>(asset->data), asset->size);
  co_await ex.respond(200, h, std::move(body));
}

}  // namespace

net::awaitable<void> handle_admin_request(gateway::GatewayState& state, http::Exchange& ex) {
  std::string_view path = ex.target().substr(0, ex.target().find('?'));
  const bool get = ex.method() == "GET";
  if (is_api_path(path)) {
    AdminRequest request{std::string(ex.method()), std::string(ex.target()),
                         std::string(ex.header("authorization")), ex.body(), std::string(ex.header("if-match"))};
    // Named, not built inside the co_await expression (GCC 12, see src/AGENTS.md).
    auto call = run_api(api_for(state), std::move(request));
    // co_spawn hands the result back on this coroutine's executor: we answer on our own thread.
    AdminReply reply = co_await net::co_spawn(api_thread(), std::move(call), net::use_awaitable);
    co_await ex.respond(reply.status, reply.headers, std::move(reply.body));
  } else if ((get || ex.method() == "HEAD") && (path == "/ui" || path.starts_with("/ui/"))) {
    co_await serve_ui(ex, path);
  } else if (ex.method() == "POST" && path == "/v1/chat/completions") {
    // The Playground, same origin as the UI: the proxy's own request path, with the virtual
    // key the user gives the Playground.
    co_await gateway::handle_proxy_request(state, ex);
  } else if (get && path == "/livez") {
    co_await ex.respond(200, content_type("application/json"), R"({"status":"ok"})");
  } else if (get && path == "/readyz") {
    auto [status, body] = gateway::readiness(state);
    co_await ex.respond(status, content_type("application/json"), std::move(body));
  } else if (get && path == "/metrics") {
    std::string body = state.metrics.render();
    if (state.limiter) {
      auto s = state.limiter->stats();
      body += "# HELP tollgate_limiter_events_total Traffic-control backend events.\n# TYPE tollgate_limiter_events_total counter\n";
      body += fmt::format("tollgate_limiter_events_total{{event=\"admitted\"}} {}\n", s.admitted);
      body += fmt::format("tollgate_limiter_events_total{{event=\"rejected\"}} {}\n", s.rejected);
      body += fmt::format("tollgate_limiter_events_total{{event=\"redis_error\"}} {}\n", s.redis_errors);
      body += fmt::format("tollgate_limiter_events_total{{event=\"fail_open_admit\"}} {}\n", s.fail_open_admits);
      body += fmt::format("tollgate_limiter_events_total{{event=\"fail_closed_reject\"}} {}\n", s.fail_closed_rejects);
      body += fmt::format("tollgate_limiter_events_total{{event=\"settle_dropped\"}} {}\n", s.settle_dropped);
    }
    if (state.usage) {
      auto u = state.usage->stats();
      body += "# HELP tollgate_usage_records_total Usage records, by outcome (dropped: queue full; lost: never written).\n# TYPE tollgate_usage_records_total counter\n";
      body += fmt::format("tollgate_usage_records_total{{outcome=\"written\"}} {}\n", u.written);
      body += fmt::format("tollgate_usage_records_total{{outcome=\"dropped\"}} {}\n", u.dropped);
      body += fmt::format("tollgate_usage_records_total{{outcome=\"lost\"}} {}\n", u.lost);
      body += fmt::format("tollgate_usage_write_failures_total {}\n", u.write_failures);
    }
    if (state.traces) {
      auto t = state.traces->stats();
      body += "# HELP tollgate_trace_spans_total Trace spans, by outcome.\n# TYPE tollgate_trace_spans_total counter\n";
      body += fmt::format("tollgate_trace_spans_total{{outcome=\"exported\"}} {}\n", t.exported);
      body += fmt::format("tollgate_trace_spans_total{{outcome=\"dropped\"}} {}\n", t.dropped);
      body += fmt::format("tollgate_trace_spans_total{{outcome=\"failed\"}} {}\n", t.failed);
    }
    if (auto snapshot = state.snapshots.shared(); snapshot && !snapshot->resources().mcp_servers.empty()) {
      std::vector<std::string> servers;
      for (const auto& s : snapshot->resources().mcp_servers) servers.push_back(s.name);
      body += mcp::prometheus_text(servers);
    }
    co_await ex.respond(200, content_type("text/plain; version=0.0.4; charset=utf-8"), std::move(body));
  } else {
    co_await ex.respond(404, content_type("application/json"),
                        R"({"error":{"message":"Unknown admin route.","type":"invalid_request_error","param":null,"code":"unknown_route"}})");
  }
}

}  // namespace tollgate::admin
