#include "gateway/runtime.h"

#include "cache/policy.h"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "admin/admin_routes.h"
#include "core/host.h"
#include "core/malloc_cache.h"
#include "core/spare_strings.h"
#include "mcp/session.h"
#include "gateway/proxy.h"
#include "gateway/state.h"
#include "gateway/stored_responses.h"
#include "http/server.h"
#include "http/socket_records.h"
#include "guardrails/guardrail.h"
#include "obs/budget_alerts.h"
#include "obs/cost.h"
#include "routing/health_check.h"

#include <filesystem>

namespace tollgate::gateway {
namespace net = boost::asio;

namespace {

struct Worker {
  net::io_context ioc{1};
  std::shared_ptr<http::Listener> proxy;
  std::shared_ptr<http::Listener> admin;
  std::thread thread;
  bool trim_due = false;  // a burst's socket records were freed since the last trim (its thread only)
};

// Memory is given back once no request has been in progress at this many ticks of the main loop
// in a row (10 s apart: 20-30 s of quiet), not at the first quiet tick: what is returned is
// faulted in again, page by page, by the next burst, and on this VM a fault costs ~8 us (issue
// 18: stream waves 15 s apart refaulted every stream's ~18 KiB, 4.5 faults a stream, +2-3 us
// of CPU a chunk). RSS is still back near idle well within a minute of the load's end.
constexpr int kQuietTicksBeforeTrim = 3;

http::ListenerOptions listener_options(const core::ProcessConfig& c) {
  http::ListenerOptions o;
  o.max_body_bytes = c.max_body_bytes;
  o.max_header_bytes = c.max_header_bytes;
  o.header_timeout = c.header_timeout;
  o.body_timeout = c.body_timeout;
  o.keepalive_idle = c.keepalive_idle;
  return o;
}

bool load_snapshot(GatewayState& state, store::ResourceStore& store, uint64_t version) {
  std::lock_guard lock(reload_mutex());
  core::ParseResult result;
  try {
    result = store.load();
  } catch (const std::exception& e) {
    // The store cannot be read (a database down): the last good snapshot keeps serving.
    spdlog::error("resources from {} cannot be read: {}; the last good snapshot keeps serving", store.describe(),
                  e.what());
    state.store_health.set(e.what());
    return false;
  }
  state.store_health.set("");
  if (!result.ok()) {
    for (const auto& e : result.errors) spdlog::error("resources: {}", e.to_string());
    spdlog::error("resources from {} rejected ({} errors); the last good snapshot keeps serving",
                  store.describe(), result.errors.size());
    return false;
  }
  try {
    state.snapshots.publish(build_snapshot(std::move(result.resources), state.config, version));
  } catch (const std::exception& e) {
    // What validation cannot see (a target on the demo provider with demo: false, say).
    spdlog::error("resources from {} rejected: {}; the last good snapshot keeps serving",
                  store.describe(), e.what());
    return false;
  }
  return true;
}

}  // namespace

std::mutex& reload_mutex() {
  static std::mutex m;
  return m;
}

std::pair<int, std::string> readiness(const GatewayState& state) {
  if (!state.ready.load() || state.draining.load()) return {503, R"({"status":"not ready"})"};
  std::string problem = state.store_health.problem();
  if (problem.empty()) return {200, R"({"status":"ready"})"};
  // Still ready: the last good snapshot serves traffic; only resource writes wait for the store.
  boost::json::object body{{"status", "degraded"},
                           {"store", "unavailable"},
                           {"reason", problem + "; serving the last good snapshot, resource writes answer 503 until "
                                                "the store is back"}};
  return {200, boost::json::serialize(body)};
}

std::shared_ptr<const core::Snapshot> build_snapshot(core::Resources r, const core::ProcessConfig& config,
                                                     uint64_t version) {
  auto compile = [](const std::vector<core::Guardrail>& in, std::vector<std::string>& errors) {
    std::vector<guardrails::PolicySpec> specs;
    for (const auto& g : in) specs.push_back(guardrails::policy_spec(g));
    return guardrails::CompiledPolicies::compile(specs, errors);
  };
  return core::Snapshot::build(with_builtins(std::move(r), config), version, obs::effective_price, compile);
}

core::Resources with_builtins(core::Resources r, const core::ProcessConfig& config) {
  auto has_provider = [&](std::string_view n) {
    for (const auto& p : r.providers)
      if (p.name == n) return true;
    return false;
  };
  auto has_model = [&](std::string_view n) {
    for (const auto& m : r.models)
      if (m.name == n) return true;
    return false;
  };
  if (config.demo) {
    if (!has_provider("demo")) {
      core::Provider p;
      p.name = "demo";
      p.kind = core::ProviderKind::demo;
      r.providers.push_back(std::move(p));
    }
    if (!has_model("demo")) r.models.push_back(core::Model{"demo", "weighted", {{"demo", "demo", 1, 0}}});
  }
  if (const char* k = std::getenv("OPENAI_API_KEY"); k && *k && !has_provider("openai")) {
    core::Provider p;
    p.name = "openai";
    p.kind = core::ProviderKind::openai;
    p.base_url = std::string(core::default_base_url(core::ProviderKind::openai));
    if (const char* b = std::getenv("OPENAI_BASE_URL"); b && *b) p.base_url = b;
    p.api_key = k;
    r.providers.push_back(std::move(p));
  }
  return r;
}

int run(core::ProcessConfig config, std::unique_ptr<store::ResourceStore> store, std::string signin_secret) {
  // Signals are taken by this thread alone (sigtimedwait below); block them before any
  // worker thread starts so the workers inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  GatewayState state;
  state.config = config;
  mcp::init_session_sealing(config.store.path);  // legacy MCP session ids: sealed with the store's key
  state.started_unix = std::time(nullptr);
  if (config.access_log) state.access_log = std::make_unique<obs::AccessLog>(1, std::chrono::milliseconds(2));

  state.budget_alerts = std::make_shared<obs::BudgetAlerts>();
  if (config.limits_backend == "redis") {
    limits::RedisOptions ro;
    ro.on_crossing = budget_observer(state);
    ro.url = config.redis_url;
    ro.fail_open = config.limits_fail_open;
    ro.command_timeout = config.redis_timeout;
    ro.connect_timeout = config.redis_timeout;
    try {
      state.limiter = limits::make_redis_limiter(ro);
    } catch (const std::exception& e) {
      spdlog::error("limits: {}", e.what());
      return 1;
    }
  } else {
    limits::LocalOptions lo;
    lo.on_crossing = budget_observer(state);
    state.limiter = limits::make_local_limiter(std::move(lo));
  }
  // The response cache's stores; a policy with backend: redis uses the limits' Redis URL.
  state.cache = std::make_shared<cache::Backends>(config.redis_url, config.redis_timeout);

  if (config.usage_backend != "off") {
    try {
      if (config.usage_backend == "postgres") {
        state.usage_store = obs::open_postgres_usage_store(config.usage_url);
      } else {
        // Beside the resources: the same SQLite file, or a file of its own next to a YAML store.
        std::filesystem::path p(config.store.path);
        std::string path = config.store.kind == "sqlite" ? config.store.path
                                                         : (p.parent_path() / "tollgate-usage.db").string();
        state.usage_store = obs::open_sqlite_usage_store(path);
      }
      obs::UsageSinkOptions uo;
      uo.retention_days = config.usage_retention_days;
      state.usage = std::make_unique<obs::UsageSink>(state.usage_store, uo);
    } catch (const std::exception& e) {
      spdlog::error("usage records: {}", e.what());
      return 1;
    }
  }
  if (config.responses_store) {
    // Where usage goes (PostgreSQL: shared by the replicas), else beside the resources in a
    // SQLite file of its own; sealed with the store's key.
    auto path = (std::filesystem::path(config.store.path).parent_path() / "tollgate-responses.db").string();
    try {
      auto seal = store::SecretBox::for_store(path);
      state.responses = config.usage_backend == "postgres"
                            ? ResponseStore::open_postgres(config.usage_url, config.responses_retention_days, std::move(seal))
                            : ResponseStore::open_sqlite(path, config.responses_retention_days, std::move(seal));
    } catch (const std::exception& e) {
      spdlog::error("stored responses: {}", e.what());
      return 1;
    }
  }
  if (config.capture_sample_rate > 0) {
    std::string path = config.capture_path;
    if (path.empty()) path = (std::filesystem::path(config.store.path).parent_path() / "capture.jsonl").string();
    guardrails::PolicySpec redact;
    redact.name = "capture-redaction";
    redact.kind = "pii";
    redact.mode = guardrails::Mode::redact;
    std::vector<std::string> errors;
    state.capture_redaction = guardrails::CompiledPolicies::compile({redact}, errors);
    if (!state.capture_redaction) {
      spdlog::error("capture: {}", errors.empty() ? "cannot compile the redaction" : errors.front());
      return 1;
    }
    if (!spdlog::thread_pool()) spdlog::init_thread_pool(8192, 1);
    state.capture_log = std::make_shared<spdlog::async_logger>(
        "capture", std::make_shared<spdlog::sinks::basic_file_sink_mt>(path), spdlog::thread_pool(),
        spdlog::async_overflow_policy::overrun_oldest);
    state.capture_log->set_pattern("%v");
    state.capture_log->flush_on(spdlog::level::info);  // each line reaches the file as it is written
    spdlog::info("capturing {:.0f}% of request and answer bodies, redacted, to {}", config.capture_sample_rate * 100, path);
  }
  if (!config.otlp_endpoint.empty()) {
    obs::OtlpExporterOptions oo;
    oo.endpoint = config.otlp_endpoint;
    oo.resource.service_name = config.otlp_service_name;
    oo.resource.service_version = TOLLGATE_VERSION;
    try {
      state.traces = std::make_unique<obs::OtlpExporter>(oo);
    } catch (const std::exception& e) {
      spdlog::error("tracing: {}", e.what());
      return 1;
    }
  }

  uint64_t version = 1;
  if (!load_snapshot(state, *store, version)) return 1;
  malloc_trim(0);  // the parse's garbage (a large resources file: hundreds of MB) goes back before traffic

  std::string proxy_host, admin_host;
  unsigned short proxy_port = 0, admin_port = 0;
  if (!core::split_host_port(config.proxy_listen, proxy_host, proxy_port) ||
      !core::split_host_port(config.admin_listen, admin_host, admin_port)) {
    spdlog::error("listen addresses must be host:port");
    return 1;
  }

  // Every descriptor the hard limit allows (streams hold two each); callers past what they
  // can serve are answered 503 at once rather than left in the backlog.
  const uint64_t nofile = core::raise_descriptor_limit();
  unsigned n = config.workers ? config.workers : core::usable_cpus();
  std::vector<std::unique_ptr<Worker>> workers;
  auto options = listener_options(config);
  auto admin_options = options;
  admin_options.watch_client = false;
  options.max_connections = config.max_connections ? config.max_connections : core::connection_cap(nofile);
  options.overloaded = handle_overloaded;
  spdlog::info("descriptor limit {}; at most {} caller connections", nofile, options.max_connections);
  try {
    // One TLS context per listener, shared by every worker; certificates are read here once.
    if (config.proxy_tls.enabled())
      options.tls = http::make_tls_context(config.proxy_tls.cert_file, config.proxy_tls.key_file);
    if (config.admin_tls.enabled())
      admin_options.tls = http::make_tls_context(config.admin_tls.cert_file, config.admin_tls.key_file);
  } catch (const std::exception& e) {
    spdlog::error("tls: {}", e.what());
    return 1;
  }
  try {
    for (unsigned i = 0; i < n; ++i) {
      auto w = std::make_unique<Worker>();
      w->proxy = http::start_listener(w->ioc, proxy_host, proxy_port, options,
                                      [&state](http::Exchange& ex) { return handle_proxy_request(state, ex); });
      // Port 0 picks a free port once; the other workers share it through SO_REUSEPORT.
      proxy_port = w->proxy->port();
      if (i == 0) {
        w->admin = http::start_listener(w->ioc, admin_host, admin_port, admin_options,
                                        [&state](http::Exchange& ex) { return admin::handle_admin_request(state, ex); });
        admin_port = w->admin->port();
      }
      workers.push_back(std::move(w));
    }
  } catch (const std::exception& e) {
    spdlog::error("cannot listen: {}", e.what());
    return 1;
  }
  // What the Admin API reports (the Playground's snippets): the ports really bound, not ":0".
  // Set before any worker thread runs, so nothing reads it while it changes.
  auto bound = [](const std::string& host, unsigned port) {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  };
  state.config.proxy_listen = bound(proxy_host, proxy_port);
  state.config.admin_listen = bound(admin_host, admin_port);
  // Active health checks (models that ask for them) run on the first worker, off the request path.
  routing::start_health_checks(workers.front()->ioc, state.snapshots);
  for (auto& w : workers) w->thread = std::thread([w = w.get()] { w->ioc.run(); });

  state.ready = true;
  std::printf("tollgate: listening proxy=%s:%u admin=%s:%u\n", proxy_host.c_str(), proxy_port,
              admin_host.c_str(), admin_port);
  if (!signin_secret.empty()) {
    // The secret rides in the fragment: browsers never send it, and the UI removes it at once.
    std::string host = admin_host == "0.0.0.0" || admin_host == "::" || admin_host.empty() ? "127.0.0.1" : admin_host;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    std::printf("tollgate: created an admin key; sign in to the Admin UI with this link (shown once; only its hash "
                "is stored):\n  %s://%s:%u/ui/#signin=%s\n",
                admin_options.tls ? "https" : "http", host.c_str(), admin_port, signin_secret.c_str());
  }
  std::fflush(stdout);
  spdlog::info("tollgate {} serving {} workers; resources from {}", TOLLGATE_VERSION, n, store->describe());
  if (options.tls) spdlog::info("proxy listener: TLS with {}", config.proxy_tls.cert_file);
  if (admin_options.tls) spdlog::info("admin listener: TLS with {}", config.admin_tls.cert_file);

  // The main thread: signals, and polling the store for changes (about once a second; a
  // shared store more often, so every replica serves a change within a second).
  const auto interval = store->change_check_interval();
  bool stop = false;
  // Snapshots replaced by a reload, freed here once no worker holds them any more: the last
  // reference dropped on a worker would have it free a large snapshot (100,000 keys) in the
  // middle of its requests. Reloads (parsing, hashing keys) also yield to the workers.
  std::vector<std::shared_ptr<const core::Snapshot>> retired;
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 5);
  auto last_trim = std::chrono::steady_clock::now();
  int quiet_ticks = 0;
  while (!stop) {
    // A replaced snapshot and the reload's parse leave much of the heap free at once (100,000
    // keys: tens of MB): given back now, or a reload under steady load would keep RSS at its peak
    // (the idle trim below waits for a moment with no request in progress).
    if (std::erase_if(retired, [](const auto& s) { return s.use_count() == 1; }) > 0) malloc_trim(0);
    timespec tick{static_cast<time_t>(interval.count() / 1000), static_cast<long>(interval.count() % 1000) * 1000000L};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    // Memory freed after a burst stays in malloc's per-thread arenas: when no request has been in
    // progress at kQuietTicksBeforeTrim looks in a row (every 10 s) it goes back to the system,
    // so RSS returns near idle.
    // Asio's records of the sockets the burst closed are freed first (on each worker, over two
    // ticks: see release_socket_records), else they pin the pages around them.
    if (auto now = std::chrono::steady_clock::now(); now - last_trim >= std::chrono::seconds(10)) {
      last_trim = now;
      // Each worker's malloc cache too (core/malloc_cache.h), once after a burst (sockets
      // closed: their records freed now), and what it held is returned at once.
      quiet_ticks = state.metrics.in_flight().load() == 0 ? quiet_ticks + 1 : 0;
      const bool quiet = quiet_ticks >= kQuietTicksBeforeTrim;
      for (auto& w : workers)
        net::post(w->ioc, [w = w.get(), quiet] {
          if (http::release_socket_records(w->ioc) > 0) w->trim_due = true;
          if (w->trim_due && quiet) {
            w->trim_due = false;
            core::drop_spares();  // the streams' spare buffers (core/spare_strings.h)
            core::release_malloc_cache();
            malloc_trim(0);
          }
        });
      if (quiet) malloc_trim(0);
    }
    bool reload = false;
    if (sig == SIGTERM || sig == SIGINT) {
      stop = true;
    } else if (sig == SIGHUP) {
      reload = true;
      spdlog::info("SIGHUP: reloading resources");
    } else {
      try {
        reload = store->changed();
        if (!state.store_health.problem().empty()) {
          spdlog::info("the resource store {} is reachable again", store->describe());
          state.store_health.set("");
        }
      } catch (const std::exception& e) {
        // Said once per outage, not at every tick.
        if (state.store_health.problem() != e.what()) spdlog::warn("store change check failed: {}", e.what());
        state.store_health.set(e.what());
      }
    }
    if (reload) {
      auto previous = state.snapshots.shared();
      bool ok = load_snapshot(state, *store, ++version);
      if (ok) {
        state.snapshots.shared();  // this thread's own view moves to the new snapshot
        retired.push_back(std::move(previous));
      }
      state.metrics.config_reload(ok);
      if (ok) spdlog::info("resources reloaded (version {})", version);
    }
  }

  spdlog::info("shutting down: draining requests in progress (up to {} ms)", config.shutdown_grace.count());
  state.draining = true;
  for (auto& w : workers)
    net::post(w->ioc, [w = w.get()] {
      if (w->proxy) w->proxy->drain();
      if (w->admin) w->admin->drain();
    });
  auto deadline = std::chrono::steady_clock::now() + config.shutdown_grace;
  while (state.metrics.in_flight().load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (auto left = state.metrics.in_flight().load(); left > 0)
    spdlog::warn("shutdown deadline reached with {} requests still in progress", left);
  for (auto& w : workers) w->ioc.stop();
  for (auto& w : workers) w->thread.join();
  // Sessions still parked in the io_contexts are destroyed here, while everything they
  // point at (state, the limiter, the loggers) is still alive.
  workers.clear();
  if (state.usage) state.usage->stop();
  if (state.traces) state.traces->stop();
  if (state.access_log) state.access_log->flush();  // (also done by its destructor)
  if (state.capture_log) state.capture_log->flush();
  spdlog::shutdown();
  return 0;
}

}  // namespace tollgate::gateway
