#include "core/process_config.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/yaml_reader.h"

namespace tollgate::core {
namespace {

constexpr int64_t kMaxMs = 24LL * 3600 * 1000;

// The first error in OpenSSL's queue (the cause; later ones only say which call failed), as
// "reason (library)", the way Asio words the same errors at start.
std::string openssl_reason() {
  unsigned long e = ERR_peek_error();
  const char* reason = e ? ERR_reason_error_string(e) : nullptr;
  const char* lib = e ? ERR_lib_error_string(e) : nullptr;
  ERR_clear_error();
  if (!reason) return "not recognised";
  return lib ? std::string(reason) + " (" + lib + ")" : std::string(reason);
}

// Loads the pair in the order http::make_tls_context does (key, then chain, then the match),
// so that `tollgate validate` finds what would stop the listener from starting, and says
// which file is at fault.
void check_tls_files(YamlReader& in, const YAML::Node& n, const std::string& field,
                     const ListenerTls& t) {
  std::string cert_field = YamlReader::child(field, "cert_file");
  std::string key_field = YamlReader::child(field, "key_file");
  auto readable = [&](const std::string& path, const char* name, const std::string& f) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      in.error(n[name], f, "\"" + path + "\" does not exist");
      return false;
    }
    if (std::filesystem::is_directory(path, ec)) {
      in.error(n[name], f, "\"" + path + "\" is a directory");
      return false;
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      in.error(n[name], f, "cannot read \"" + path + "\": " + std::strerror(errno));
      return false;
    }
    return true;
  };
  bool key_ok = readable(t.key_file, "key_file", key_field);
  bool cert_ok = readable(t.cert_file, "cert_file", cert_field);
  if (!key_ok && !cert_ok) return;

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()),
                                                        SSL_CTX_free);
  if (!ctx) {
    in.error(n, field, "cannot check the files: " + openssl_reason());
    return;
  }
  // An encrypted key fails here rather than asking for a passphrase on the terminal.
  SSL_CTX_set_default_passwd_cb(ctx.get(), [](char*, int, int, void*) { return 0; });
  ERR_clear_error();
  if (key_ok && SSL_CTX_use_PrivateKey_file(ctx.get(), t.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    in.error(n["key_file"], key_field,
             "cannot load a private key from \"" + t.key_file +
                 "\" (expected an unencrypted PEM key): " + openssl_reason());
    key_ok = false;
  }
  if (cert_ok && SSL_CTX_use_certificate_chain_file(ctx.get(), t.cert_file.c_str()) != 1) {
    in.error(n["cert_file"], cert_field,
             "cannot load a certificate chain from \"" + t.cert_file +
                 "\" (expected PEM certificates, leaf first): " + openssl_reason());
    cert_ok = false;
  }
  if (key_ok && cert_ok && SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    in.error(n["key_file"], key_field,
             "the key in \"" + t.key_file + "\" does not match the certificate in \"" +
                 t.cert_file + "\"");
  }
}

void read_listener_tls(YamlReader& in, const YAML::Node& n, const std::string& field,
                       ListenerTls& into) {
  if (YamlReader::empty(n) || !in.fields(n, field, {"cert_file", "key_file"})) return;
  std::string cert_field = YamlReader::child(field, "cert_file");
  std::string key_field = YamlReader::child(field, "key_file");
  // Relative paths belong to the config file, like the store's.
  std::filesystem::path base = std::filesystem::path(in.source()).parent_path();
  auto path = [&](const char* name, const std::string& f, const char* what) -> std::optional<std::string> {
    if (!n[name]) {
      in.error(n, f, std::string("is required (") + what + ")");
      return std::nullopt;
    }
    auto v = in.string(n[name], f);
    if (!v) return std::nullopt;
    if (v->empty()) {
      in.error(n[name], f, "is empty");
      return std::nullopt;
    }
    std::filesystem::path p(*v);
    return p.is_relative() ? (base / p).lexically_normal().string() : *v;
  };
  auto cert = path("cert_file", cert_field, "the PEM certificate chain");
  auto key = path("key_file", key_field, "the PEM private key");
  if (!cert || !key) return;
  ListenerTls t{*cert, *key};
  std::size_t before = in.error_count();
  check_tls_files(in, n, field, t);
  if (in.error_count() == before) into = std::move(t);
}

void read_tls(YamlReader& in, const YAML::Node& n, ProcessConfig& c) {
  if (YamlReader::empty(n) || !in.fields(n, "tls", {"proxy", "admin"})) return;
  read_listener_tls(in, n["proxy"], "tls.proxy", c.proxy_tls);
  read_listener_tls(in, n["admin"], "tls.admin", c.admin_tls);
}

void read_listen(YamlReader& in, const YAML::Node& n, ProcessConfig& c) {
  if (YamlReader::empty(n) || !in.fields(n, "listen", {"proxy", "admin"})) return;
  auto take = [&](const char* name, std::string& into) {
    std::string field = YamlReader::child("listen", name);
    auto v = in.string(n[name], field);
    if (!v) return;
    std::string host;
    unsigned short port = 0;
    if (!split_host_port(*v, host, port)) {
      in.error(n[name], field,
               "\"" + *v + "\" is not HOST:PORT (write an IPv6 host in brackets: \"[::1]:8080\")");
      return;
    }
    into = std::move(*v);
  };
  take("proxy", c.proxy_listen);
  take("admin", c.admin_listen);
}

void read_store(YamlReader& in, const YAML::Node& n, ProcessConfig& c) {
  if (YamlReader::empty(n) || !in.fields(n, "store", {"kind", "path", "url", "snapshot_cache"})) return;
  if (auto kind = in.string(n["kind"], "store.kind")) {
    if (*kind != "sqlite" && *kind != "file" && *kind != "postgres") {
      in.error(n["kind"], "store.kind", "unknown store \"" + *kind + "\" (expected sqlite, file or postgres)");
    } else {
      c.store.kind = *kind;
      // The sqlite default path makes no sense for a resources file: ask for one.
      if (*kind == "file" && !n["path"]) {
        in.error(n, "store.path", "is required for the file store (the resources YAML file)");
      }
      if (*kind == "postgres" && !n["url"]) {
        in.error(n, "store.url", "is required for the postgres store (a postgres:// URL or a libpq conninfo)");
      }
    }
  }
  if (auto p = in.string(n["path"], "store.path")) {
    if (p->empty()) {
      in.error(n["path"], "store.path", "is empty");
    } else {
      c.store.path = *p;
    }
  }
  if (auto u = in.string(n["url"], "store.url")) {
    if (c.store.kind != "postgres") in.error(n["url"], "store.url", "is only for the postgres store");
    else if (u->empty()) in.error(n["url"], "store.url", "is empty");
    else c.store.url = *u;
  }
  if (auto cache = in.string(n["snapshot_cache"], "store.snapshot_cache")) {
    if (c.store.kind != "postgres") in.error(n["snapshot_cache"], "store.snapshot_cache", "is only for the postgres store");
    else if (cache->empty()) in.error(n["snapshot_cache"], "store.snapshot_cache", "is empty");
    else c.store.snapshot_cache = *cache;
  }
}

template <typename Int>
void take_int(YamlReader& in, const YAML::Node& n, const std::string& field, int64_t min,
              int64_t max, Int& into) {
  if (auto v = in.integer(n, field, min, max)) into = static_cast<Int>(*v);
}

void take_ms(YamlReader& in, const YAML::Node& n, const std::string& field,
             std::chrono::milliseconds& into) {
  if (auto v = in.integer(n, field, 1, kMaxMs)) into = std::chrono::milliseconds(*v);
}

void read_server(YamlReader& in, const YAML::Node& n, ProcessConfig& c) {
  if (YamlReader::empty(n) ||
      !in.fields(n, "server", {"max_body_bytes", "max_header_bytes", "header_timeout_ms",
                               "body_timeout_ms", "keepalive_idle_ms", "shutdown_grace_ms",
                               "max_connections"})) {
    return;
  }
  constexpr int64_t kMaxBytes = 1LL << 34;  // 16 GiB: beyond it the number is a typo
  take_int(in, n["max_body_bytes"], "server.max_body_bytes", 1, kMaxBytes, c.max_body_bytes);
  take_int(in, n["max_header_bytes"], "server.max_header_bytes", 1024, 1 << 24, c.max_header_bytes);
  take_int(in, n["max_connections"], "server.max_connections", 1, 1 << 24, c.max_connections);
  take_ms(in, n["header_timeout_ms"], "server.header_timeout_ms", c.header_timeout);
  take_ms(in, n["body_timeout_ms"], "server.body_timeout_ms", c.body_timeout);
  take_ms(in, n["keepalive_idle_ms"], "server.keepalive_idle_ms", c.keepalive_idle);
  if (auto v = in.integer(n["shutdown_grace_ms"], "server.shutdown_grace_ms", 0, kMaxMs)) {
    c.shutdown_grace = std::chrono::milliseconds(*v);  // 0: stop without waiting
  }
}

void read_log(YamlReader& in, const YAML::Node& n, ProcessConfig& c) {
  if (YamlReader::empty(n) || !in.fields(n, "log", {"level", "access_log"})) return;
  static constexpr std::array<std::string_view, 7> kLevels{"trace", "debug", "info", "warn",
                                                           "error", "critical", "off"};
  if (auto level = in.string(n["level"], "log.level")) {
    if (std::find(kLevels.begin(), kLevels.end(), *level) == kLevels.end()) {
      in.error(n["level"], "log.level",
               "unknown level \"" + *level + "\" (expected trace, debug, info, warn, error, critical or off)");
    } else {
      c.log_level = *level;
    }
  }
  if (auto v = in.boolean(n["access_log"], "log.access_log")) c.access_log = *v;
}

void read_config(YamlReader& in, const std::optional<YAML::Node>& root, ProcessConfig& c) {
  if (!root || root->IsNull()) return;  // no file content: every default
  const YAML::Node& n = *root;
  if (!in.fields(n, "", {"listen", "tls", "store", "limits", "admin", "workers", "demo", "server",
                         "log", "usage", "tracing", "capture", "responses", "budget_alerts"})) {
    return;
  }
  read_listen(in, n["listen"], c);
  read_tls(in, n["tls"], c);
  read_store(in, n["store"], c);
  if (!YamlReader::empty(n["limits"]) &&
      in.fields(n["limits"], "limits", {"backend", "url", "fail_open", "timeout_ms"})) {
    const YAML::Node& l = n["limits"];
    if (auto backend = in.string(l["backend"], "limits.backend")) {
      if (*backend != "local" && *backend != "redis") {
        in.error(l["backend"], "limits.backend",
                 "unknown backend \"" + *backend + "\" (expected local or redis)");
      } else {
        c.limits_backend = *backend;
      }
    }
    if (auto url = in.string(l["url"], "limits.url")) {
      if (!url->starts_with("redis://")) in.error(l["url"], "limits.url", "must be a redis:// URL");
      else c.redis_url = *url;
    }
    if (auto v = in.boolean(l["fail_open"], "limits.fail_open")) c.limits_fail_open = *v;
    if (auto v = in.integer(l["timeout_ms"], "limits.timeout_ms", 1, 10'000))
      c.redis_timeout = std::chrono::milliseconds(*v);
  }
  if (!YamlReader::empty(n["usage"]) &&
      in.fields(n["usage"], "usage", {"backend", "url", "retention_days"})) {
    const YAML::Node& u = n["usage"];
    if (auto b = in.string(u["backend"], "usage.backend")) {
      if (*b != "sqlite" && *b != "postgres" && *b != "off")
        in.error(u["backend"], "usage.backend", "must be sqlite, postgres or off");
      else
        c.usage_backend = *b;
    }
    if (auto v = in.string(u["url"], "usage.url")) c.usage_url = *v;
    if (auto v = in.integer(u["retention_days"], "usage.retention_days", 1, 36500))
      c.usage_retention_days = static_cast<int>(*v);
    if (c.usage_backend == "postgres" && c.usage_url.empty())
      in.error(u, "usage.url", "is required with backend: postgres");
  }
  if (!YamlReader::empty(n["responses"]) &&
      in.fields(n["responses"], "responses", {"store", "retention_days"})) {
    const YAML::Node& r = n["responses"];
    if (auto v = in.boolean(r["store"], "responses.store")) c.responses_store = *v;
    if (auto v = in.integer(r["retention_days"], "responses.retention_days", 1, 36500))
      c.responses_retention_days = static_cast<int>(*v);
  }
  if (!YamlReader::empty(n["capture"]) &&
      in.fields(n["capture"], "capture", {"sample_rate", "path", "max_bytes"})) {
    const YAML::Node& cap = n["capture"];
    if (cap["sample_rate"])
      if (auto v = in.number(cap["sample_rate"], "capture.sample_rate", 0, 1)) c.capture_sample_rate = *v;
    if (auto v = in.string(cap["path"], "capture.path")) c.capture_path = *v;
    if (auto v = in.integer(cap["max_bytes"], "capture.max_bytes", 1, 64 * 1024 * 1024))
      c.capture_max_bytes = static_cast<std::size_t>(*v);
  }
  if (!YamlReader::empty(n["tracing"]) &&
      in.fields(n["tracing"], "tracing", {"otlp_endpoint", "service_name"})) {
    const YAML::Node& t = n["tracing"];
    if (auto v = in.string(t["otlp_endpoint"], "tracing.otlp_endpoint")) {
      if (!v->empty() && !v->starts_with("http://") && !v->starts_with("https://"))
        in.error(t["otlp_endpoint"], "tracing.otlp_endpoint", "must be an http:// or https:// URL");
      else
        c.otlp_endpoint = *v;
    }
    if (auto v = in.string(t["service_name"], "tracing.service_name")) c.otlp_service_name = *v;
  }
  if (!YamlReader::empty(n["budget_alerts"]) &&
      in.fields(n["budget_alerts"], "budget_alerts", {"webhook", "secret"})) {
    const YAML::Node& b = n["budget_alerts"];
    if (auto v = in.string(b["webhook"], "budget_alerts.webhook")) {
      if (!v->empty() && !v->starts_with("http://") && !v->starts_with("https://"))
        in.error(b["webhook"], "budget_alerts.webhook", "must be an http:// or https:// URL");
      else
        c.budget_webhook_url = *v;
    }
    if (auto v = in.string(b["secret"], "budget_alerts.secret")) c.budget_webhook_secret = *v;
  }
  if (!YamlReader::empty(n["admin"]) && in.fields(n["admin"], "admin", {"key"})) {
    if (auto key = in.string(n["admin"]["key"], "admin.key")) c.admin_key = *key;
  }
  take_int(in, n["workers"], "workers", 0, 1024, c.workers);
  if (auto v = in.boolean(n["demo"], "demo")) c.demo = *v;
  read_server(in, n["server"], c);
  read_log(in, n["log"], c);
}

}  // namespace

ProcessConfigResult parse_process_config(std::string_view text, const std::string& path) {
  ProcessConfigResult result;
  ProcessConfig& c = result.config;
  YamlReader in(path, result.errors);
  std::optional<YAML::Node> root = in.load(text);
  try {
    read_config(in, root, c);
  } catch (const std::exception& e) {
    result.errors.push_back({path, 0, 0, "", std::string("cannot read: ") + e.what()});
  }

  // Relative store paths belong to the config file, not to wherever the process started.
  std::filesystem::path store_path(c.store.path);
  if (store_path.is_relative()) {
    std::filesystem::path base = std::filesystem::path(path).parent_path();
    c.store.path = (base / store_path).lexically_normal().string();
  }
  if (!c.store.snapshot_cache.empty() && std::filesystem::path(c.store.snapshot_cache).is_relative())
    c.store.snapshot_cache =
        (std::filesystem::path(path).parent_path() / c.store.snapshot_cache).lexically_normal().string();
  return result;
}

ProcessConfigResult load_process_config(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    ProcessConfigResult result;
    result.errors.push_back({path, 0, 0, "", "cannot read the config file: " +
                                                 std::string(std::strerror(errno))});
    return result;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return parse_process_config(text.str(), path);
}

bool split_host_port(const std::string& s, std::string& host, unsigned short& port) {
  std::size_t colon;
  std::string h;
  if (!s.empty() && s.front() == '[') {
    std::size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    h = s.substr(1, close - 1);
    if (h.empty() || h.find(':') == std::string::npos) return false;
    colon = close + 1;
  } else {
    colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    h = s.substr(0, colon);
    // An IPv6 address without brackets is ambiguous ("::1:8080"): refuse it.
    if (h.empty() || h.find(':') != std::string::npos) return false;
  }
  for (char c : h) {
    bool fits = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
                c == ':' || c == '%';
    if (!fits) return false;
  }
  std::string digits = s.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) return false;
  unsigned value = 0;
  for (char d : digits) {
    if (d < '0' || d > '9') return false;
    value = value * 10 + static_cast<unsigned>(d - '0');
  }
  if (value > 65535) return false;
  host = std::move(h);
  port = static_cast<unsigned short>(value);
  return true;
}

}  // namespace tollgate::core
