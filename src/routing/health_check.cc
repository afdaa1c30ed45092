#include "routing/health_check.h"

#include <unordered_map>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/client.h"
#include "routing/route_plan.h"

namespace tollgate::routing {
namespace net = boost::asio;
namespace {

constexpr auto kTick = std::chrono::milliseconds(100);

struct ProbeState {
  int64_t due_ms = 0;
  uint32_t ok_run = 0, fail_run = 0;
  bool busy = false;
  bool unsupported_logged = false;
};
using States = std::unordered_map<core::TargetStats*, ProbeState>;

bool speaks_openai(core::ProviderKind k) {
  return k == core::ProviderKind::openai || k == core::ProviderKind::openai_compatible ||
         k == core::ProviderKind::azure;
}

// The probe request for a target: its provider's model list, or a one-token generation.
// False for kinds not probed (their circuit stays passive).
bool probe_request(const core::CompiledTarget& t, const core::HealthCheck& hc, http::OutgoingRequest& req) {
  const core::CompiledProvider& p = *t.provider;
  const std::string& prefix = p.endpoint.path_prefix;
  const bool models = hc.probe == "models";
  if (speaks_openai(p.spec.kind)) {
    if (p.spec.kind == core::ProviderKind::azure) {
      std::string version = p.spec.api_version.empty() ? "2024-10-21" : p.spec.api_version;
      req.target = models ? fmt::format("{}/openai/models?api-version={}", prefix, version)
                          : fmt::format("{}/openai/deployments/{}/chat/completions?api-version={}", prefix,
                                        t.upstream_model, version);
      if (!p.spec.api_key.empty()) req.headers.emplace_back("api-key", p.spec.api_key);
    } else {
      req.target = prefix + (models ? "/models" : "/chat/completions");
      if (!p.authorization.empty()) req.headers.emplace_back("authorization", p.authorization);
    }
    if (!models)
      req.body = fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"ping"}}],"max_tokens":1}})",
                             t.upstream_model);
  } else if (p.spec.kind == core::ProviderKind::anthropic) {
    std::string_view base = prefix.ends_with("/v1") ? "" : "/v1";
    req.target = fmt::format("{}{}/{}", prefix, base, models ? "models" : "messages");
    if (!p.spec.api_key.empty()) req.headers.emplace_back("x-api-key", p.spec.api_key);
    req.headers.emplace_back("anthropic-version", p.spec.api_version.empty() ? "2023-06-01" : p.spec.api_version);
    if (!models)
      req.body = fmt::format(R"({{"model":"{}","messages":[{{"role":"user","content":"ping"}}],"max_tokens":1}})",
                             t.upstream_model);
  } else {
    return false;
  }
  req.method = models ? "GET" : "POST";
  if (!models) req.headers.emplace_back("content-type", "application/json");
  req.headers.emplace_back("user-agent", "tollgate/" TOLLGATE_VERSION " (health check)");
  for (const auto& [k, v] : p.spec.headers) req.headers.emplace_back(k, v);
  return true;
}

// One probe; the snapshot is held so the target and provider outlive it.
net::awaitable<void> probe(std::shared_ptr<const core::Snapshot> snap, const core::CompiledTarget* t,
                           const core::CompiledModel* model, http::OutgoingRequest req, ProbeState* st) {
  const core::HealthCheck& hc = model->spec.health_check;
  core::Timeouts timeouts{hc.timeout, hc.timeout, hc.timeout};
  http::UpstreamCall call;
  auto f = co_await call.send(t->provider->endpoint, timeouts, t->provider->spec.verify_tls, req);
  std::string body;
  if (f == http::UpstreamFailure::none) f = co_await call.read_all(body, 1 << 20);
  st->busy = false;
  if (f == http::UpstreamFailure::local || f == http::UpstreamFailure::cancelled) co_return;  // ours: no verdict
  // Any HTTP answer under 500 says the target is up (a 401 or 404 is a configuration matter).
  const bool ok = f == http::UpstreamFailure::none && call.status() < 500;
  core::TargetStats& s = *t->stats;
  if (ok) {
    s.probes_ok.fetch_add(1, std::memory_order_relaxed);
    st->fail_run = 0;
    if (++st->ok_run >= hc.successes && s.open_until_ms.load(std::memory_order_acquire) != 0) {
      s.open_until_ms.store(0, std::memory_order_release);
      s.consecutive_failures.store(0, std::memory_order_relaxed);
      s.rate_limited.store(false, std::memory_order_relaxed);
      spdlog::info("health check: {} answers again; circuit closed", s.name);
    }
    co_return;
  }
  s.probes_failed.fetch_add(1, std::memory_order_relaxed);
  st->ok_run = 0;
  if (++st->fail_run >= hc.failures) {
    // Open (or keep open) until well past the next probe: only a good probe closes it.
    const int64_t until = now_ms() + std::max(model->spec.circuit.cooldown, 2 * hc.interval).count();
    if (s.open_until_ms.exchange(until, std::memory_order_acq_rel) == 0) {
      s.rate_limited.store(false, std::memory_order_relaxed);
      s.cooldowns.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("health check: {} failed {} probes ({}); circuit opened", s.name, st->fail_run,
                   f == http::UpstreamFailure::none ? fmt::format("HTTP {}", call.status())
                                                    : std::string(http::describe(f)));
    }
  }
}

net::awaitable<void> run(core::SnapshotHolder& snapshots) {
  States states;  // node-stable: probes point into it
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    timer.expires_after(kTick);
    auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    if (ec) co_return;
    auto snap = snapshots.shared();
    if (!snap) continue;
    const int64_t now = now_ms();
    for (const auto& m : snap->models()) {
      const core::HealthCheck& hc = m.spec.health_check;
      if (hc.interval.count() == 0) continue;
      for (const auto& t : m.targets) {
        ProbeState& st = states[t.stats];
        if (st.busy || now < st.due_ms) continue;
        st.due_ms = now + hc.interval.count();
        http::OutgoingRequest req;
        if (!probe_request(t, hc, req)) {
          if (!st.unsupported_logged)
            spdlog::warn("health check: provider kind '{}' of {} is not probed", core::to_string(t.provider->spec.kind),
                         t.stats->name);
          st.unsupported_logged = true;
          continue;
        }
        st.busy = true;
        net::co_spawn(co_await net::this_coro::executor, probe(snap, &t, &m, std::move(req), &st), net::detached);
      }
    }
  }
}

}  // namespace

void start_health_checks(net::io_context& ioc, core::SnapshotHolder& snapshots) {
  net::co_spawn(ioc, run(snapshots), net::detached);
}

}  // namespace tollgate::routing
