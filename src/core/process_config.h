// The process configuration (tollgate.yaml): where to listen, where resources live, limits
// on what callers may send. Read once at start; resources (resources.h) are what reload.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.h"

namespace tollgate::core {

struct StoreConfig {
  std::string kind = "sqlite";  // sqlite | file | postgres
  std::string path = "./data/tollgate.db";
  std::string url;  // postgres: the conninfo or postgres:// URL
  // postgres: a local file holding the last good load (an export, credentials sealed), served
  // at a start while the database cannot be reached; "" (the default): refuse to start then.
  std::string snapshot_cache;
};

// TLS termination on one listener: PEM files, checked at load and read once at start (a
// renewed certificate needs a restart; SIGHUP reloads resources, not certificates).
struct ListenerTls {
  std::string cert_file;  // the certificate chain, leaf first; relative to the config file
  std::string key_file;   // its private key, unencrypted
  bool enabled() const { return !cert_file.empty(); }
};

struct ProcessConfig {
  std::string proxy_listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:8081";
  ListenerTls proxy_tls;  // tls: { proxy: { cert_file, key_file } }; off: plain HTTP
  ListenerTls admin_tls;  // tls: { admin: { ... } }
  StoreConfig store;
  std::string limits_backend = "local";  // local | redis
  std::string redis_url = "redis://127.0.0.1:6379";
  bool limits_fail_open = true;           // Redis unreachable: admit (true) or refuse
  std::chrono::milliseconds redis_timeout{50};
  std::string admin_key;  // empty: admin API closed except /livez /readyz /metrics
  unsigned workers = 0;   // 0: one per core
  bool demo = true;       // serve the built-in offline `demo` provider and model

  // What a caller may send, and how long it may take to send it.
  // Caller connections held open at once; 0: derived from the descriptor limit (half of what
  // is left after a reserve, each caller needing one upstream connection too).
  std::size_t max_connections = 0;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{30'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds keepalive_idle{75'000};
  std::chrono::milliseconds shutdown_grace{15'000};

  std::string log_level = "info";
  bool access_log = true;

  // Usage records: one row per request, written off the request path.
  std::string usage_backend = "sqlite";  // sqlite (beside the store; a file of its own with a file store) | postgres | off
  std::string usage_url;                 // postgres: a libpq conninfo or postgresql:// URI
  int usage_retention_days = 30;

  // Responses the gateway served through translation (store: true), kept for
  // previous_response_id and GET/DELETE /v1/responses/{id}: a SQLite file beside the store.
  bool responses_store = true;
  int responses_retention_days = 30;

  // Opt-in body capture: a sample of requests and answers, PII and secrets redacted, one JSON
  // line each, written off the request path.
  double capture_sample_rate = 0;  // 0: off; 1: every request
  std::string capture_path;         // default: capture.jsonl beside the store
  std::size_t capture_max_bytes = 64 * 1024;  // per body; longer ones are cut

  // budget_alerts: { webhook: URL, secret: "${ENV}" }: where warn budgets report crossing
  // 50/80/100% (a team's own webhook wins for it and its keys); the body is signed with
  // HMAC-SHA256 under the secret (x-tollgate-signature: sha256=HEX). Empty url: log line only.
  std::string budget_webhook_url;
  std::string budget_webhook_secret;

  // OTLP/HTTP traces; an empty endpoint turns tracing off.
  std::string otlp_endpoint;
  std::string otlp_service_name = "tollgate";
};

struct ProcessConfigResult {
  ProcessConfig config;
  std::vector<ConfigError> errors;
};

// Reads tollgate.yaml; `${ENV}` is interpolated. Relative store and TLS file paths are taken
// from the directory of the config file; TLS files are loaded to check them.
ProcessConfigResult load_process_config(const std::string& path);

// The same, from text already read; `path` names the source in errors and anchors relative
// store and TLS file paths.
ProcessConfigResult parse_process_config(std::string_view text, const std::string& path);

// Splits "host:port" / "[::1]:port". False when it does not parse.
bool split_host_port(const std::string& s, std::string& host, unsigned short& port);

}  // namespace tollgate::core
