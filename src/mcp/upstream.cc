// The upstream leg (upstream.h).
#include "mcp/upstream.h"

#include <chrono>
#include <mutex>
#include <unordered_map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/snapshot.h"
#include "http/sse.h"
#include "mcp/message.h"

namespace tollgate::mcp {
namespace net = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kLegacyVersion = "2025-11-25";
constexpr std::size_t kSmallBody = 1024 * 1024;

std::string server_key(const core::McpServer& s) { return s.name + "\n" + s.url; }

// Detected eras and announced capabilities, per server, shared by every worker thread.
struct EraEntry {
  Era era;
  json::object capabilities;
};
std::mutex era_mu;
std::unordered_map<std::string, EraEntry> eras;

// OAuth2 client-credentials tokens, per server.
struct Token {
  std::string value;
  Clock::time_point expires;
};
std::mutex token_mu;
std::unordered_map<std::string, Token> tokens;

// Legacy upstream sessions: one per server per worker thread (connections never cross threads).
struct UpstreamSession {
  std::string id;  // "" for a stateless legacy server
  std::string version;
};
thread_local std::unordered_map<std::string, UpstreamSession> sessions;

std::string_view failure_words(http::UpstreamFailure f) {
  switch (f) {
    case http::UpstreamFailure::connect: return "could not connect";
    case http::UpstreamFailure::connect_timeout: return "timed out connecting";
    case http::UpstreamFailure::tls: return "TLS handshake failed";
    case http::UpstreamFailure::response_timeout: return "did not answer in time";
    case http::UpstreamFailure::idle_timeout: return "stopped sending mid-answer";
    case http::UpstreamFailure::closed: return "closed the connection";
    case http::UpstreamFailure::protocol: return "sent an answer that is not valid HTTP, or too large";
    case http::UpstreamFailure::cancelled: return "cancelled (the client went away)";
    default: return "failed";
  }
}

UpstreamError unreachable(const core::McpServer& s, http::UpstreamFailure f) {
  return {fmt::format("MCP server \"{}\" is unavailable: {}", s.name, failure_words(f)), 0};
}

core::Timeouts timeouts_for(const core::McpServer& s) {
  core::Timeouts t;
  auto total = std::chrono::milliseconds(s.timeout_ms);
  t.connect = std::min<std::chrono::milliseconds>(total, std::chrono::milliseconds(5'000));
  t.read = total;
  t.idle = std::max<std::chrono::milliseconds>(total, std::chrono::milliseconds(60'000));
  return t;
}

std::string form_escape(std::string_view v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

std::string target_of(const core::UpstreamEndpoint& ep) { return ep.path_prefix.empty() ? "/" : ep.path_prefix; }

net::awaitable<std::optional<UpstreamError>> oauth_token(const core::McpServer& s, bool refresh, std::string& out) {
  const std::string k = server_key(s);
  if (!refresh) {
    std::lock_guard lock(token_mu);
    if (auto it = tokens.find(k); it != tokens.end() && it->second.expires > Clock::now()) {
      out = it->second.value;
      co_return std::nullopt;
    }
  }
  core::UpstreamEndpoint ep;
  if (!core::parse_endpoint(s.oauth2.token_url, ep)) co_return UpstreamError{"MCP server \"" + s.name + "\": bad token_url"};
  http::OutgoingRequest req;
  req.method = "POST";
  req.target = target_of(ep);
  req.headers = {{"content-type", "application/x-www-form-urlencoded"}, {"accept", "application/json"}};
  req.body = "grant_type=client_credentials&client_id=" + form_escape(s.oauth2.client_id) +
             "&client_secret=" + form_escape(s.oauth2.client_secret);
  if (!s.oauth2.scopes.empty()) {
    std::string scope;
    for (const auto& sc : s.oauth2.scopes) scope += (scope.empty() ? "" : " ") + sc;
    req.body += "&scope=" + form_escape(scope);
  }
  http::UpstreamCall call;
  auto f = co_await call.send(ep, timeouts_for(s), s.verify_tls, req);
  if (f != http::UpstreamFailure::none)
    co_return UpstreamError{fmt::format("MCP server \"{}\": its token endpoint {}", s.name, failure_words(f))};
  std::string body;
  f = co_await call.read_all(body, kSmallBody);
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::value* tok = !ec && v.is_object() ? v.as_object().if_contains("access_token") : nullptr;
  if (f != http::UpstreamFailure::none || call.status() != 200 || !tok || !tok->is_string())
    co_return UpstreamError{fmt::format("MCP server \"{}\": its token endpoint refused the gateway's client credentials (HTTP {})",
                                        s.name, call.status()), call.status()};
  int64_t ttl = 300;
  if (auto* e = v.as_object().if_contains("expires_in"); e && e->is_number()) ttl = e->to_number<int64_t>();
  out = std::string(tok->as_string());
  std::lock_guard lock(token_mu);
  // Refreshed a little early so a token never expires in flight.
  tokens[k] = Token{out, Clock::now() + std::chrono::seconds(std::max<int64_t>(ttl - 30, 1))};
  co_return std::nullopt;
}

// Content type, Accept, the server's static headers and its credential.
net::awaitable<std::optional<UpstreamError>> base_headers(const core::McpServer& s, bool refresh, http::Headers& h) {
  h.clear();
  h.emplace_back("content-type", "application/json");
  h.emplace_back("accept", "application/json, text/event-stream");
  for (const auto& [k, v] : s.headers) h.emplace_back(k, v);
  if (!s.bearer.empty()) h.emplace_back("authorization", "Bearer " + s.bearer);
  if (!s.oauth2.token_url.empty()) {
    std::string tok;
    if (auto e = co_await oauth_token(s, refresh, tok)) co_return e;
    h.emplace_back("authorization", "Bearer " + tok);
  }
  co_return std::nullopt;
}

net::awaitable<std::optional<UpstreamError>> post(const core::McpServer& s, const http::Headers& headers,
                                                  std::string body, std::unique_ptr<http::UpstreamCall>& call) {
  core::UpstreamEndpoint ep;
  if (!core::parse_endpoint(s.url, ep)) co_return UpstreamError{"MCP server \"" + s.name + "\" has an unusable url"};
  http::OutgoingRequest req;
  req.method = "POST";
  req.target = target_of(ep);
  req.headers = headers;
  req.body = std::move(body);
  call = std::make_unique<http::UpstreamCall>();
  auto f = co_await call->send(ep, timeouts_for(s), s.verify_tls, req);
  if (f != http::UpstreamFailure::none) co_return unreachable(s, f);
  co_return std::nullopt;
}

UpstreamError refused(const core::McpServer& s, int status) {
  return {fmt::format("MCP server \"{}\" refused the gateway's credentials (HTTP {})", s.name, status), status};
}

json::object modern_meta(const Caller& c) {
  json::object m;
  m[kMetaVersion] = kModern;
  m[kMetaCapabilities] = c.client_capabilities;
  m[kMetaClientInfo] = c.client_info.empty() ? json::object{{"name", "tollgate"}, {"version", "1"}} : c.client_info;
  return m;
}

const json::value* member(const json::value* v, std::string_view name) {
  return v && v->is_object() ? v->as_object().if_contains(name) : nullptr;
}

bool names_modern(const json::value* versions) {
  if (!versions || !versions->is_array()) return false;
  for (const auto& v : versions->as_array())
    if (v.is_string() && v.as_string() == kModern) return true;
  return false;
}

void remember(const core::McpServer& s, Era era, json::object caps) {
  std::lock_guard lock(era_mu);
  eras[server_key(s)] = EraEntry{era, std::move(caps)};
}

json::object capabilities_of(const json::value& response) {
  if (!response.is_object()) return {};
  auto* r = response.as_object().if_contains("result");
  if (!r || !r->is_object()) return {};
  auto* c = r->as_object().if_contains("capabilities");
  return c && c->is_object() ? c->as_object() : json::object{};
}

net::awaitable<std::optional<UpstreamError>> legacy_session(const core::McpServer& s, UpstreamSession& out) {
  const std::string k = server_key(s);
  if (auto it = sessions.find(k); it != sessions.end()) {
    out = it->second;
    co_return std::nullopt;
  }
  http::Headers h;
  if (auto e = co_await base_headers(s, false, h)) co_return e;
  json::object init{{"jsonrpc", "2.0"}, {"id", "tollgate-init"}, {"method", "initialize"},
                    {"params", {{"protocolVersion", kLegacyVersion}, {"capabilities", json::object{}},
                                {"clientInfo", {{"name", "tollgate"}, {"version", "1"}}}}}};
  std::unique_ptr<http::UpstreamCall> call;
  h.emplace_back("mcp-method", "initialize");
  if (auto e = co_await post(s, h, json::serialize(init), call)) co_return e;
  if (call->status() == 401 || call->status() == 403) co_return refused(s, call->status());
  json::value resp;
  if (auto e = co_await read_response(s, *call, resp, kSmallBody)) co_return e;
  const json::value* result = resp.is_object() ? resp.as_object().if_contains("result") : nullptr;
  if (!result || !result->is_object())
    co_return UpstreamError{fmt::format("MCP server \"{}\" refused initialize (HTTP {})", s.name, call->status()),
                            call->status()};
  UpstreamSession sess;
  sess.id = std::string(call->header("mcp-session-id"));
  if (auto* v = result->as_object().if_contains("protocolVersion"); v && v->is_string())
    sess.version = std::string(v->as_string());
  else
    sess.version = kLegacyVersion;
  remember(s, Era::legacy, capabilities_of(resp));
  call.reset();
  // notifications/initialized completes the handshake (202, no body).
  h.back().second = "notifications/initialized";  // Mcp-Method
  h.emplace_back("mcp-protocol-version", sess.version);
  if (!sess.id.empty()) h.emplace_back("mcp-session-id", sess.id);
  if (auto e = co_await post(s, h, R"({"jsonrpc":"2.0","method":"notifications/initialized"})", call)) co_return e;
  std::string ignored;
  co_await call->read_all(ignored, kSmallBody);
  sessions[k] = sess;
  out = std::move(sess);
  co_return std::nullopt;
}

net::awaitable<std::optional<UpstreamError>> era_of(const core::McpServer& s, const Caller& caller, Era& era) {
  if (s.era == "legacy") {
    era = Era::legacy;
    co_return std::nullopt;
  }
  if (s.era == std::string(kModern)) {
    era = Era::modern;
    co_return std::nullopt;
  }
  {
    std::lock_guard lock(era_mu);
    if (auto it = eras.find(server_key(s)); it != eras.end()) {
      era = it->second.era;
      co_return std::nullopt;
    }
  }
  // Probe: a 2026-07-28 server answers server/discover; anything else is legacy. A 401/403
  // is an auth failure, not a verdict.
  http::Headers h;
  if (auto e = co_await base_headers(s, false, h)) co_return e;
  h.emplace_back("mcp-protocol-version", kModern);
  h.emplace_back("mcp-method", "server/discover");
  json::object probe{{"jsonrpc", "2.0"}, {"id", "tollgate-discover"}, {"method", "server/discover"},
                     {"params", {{"_meta", modern_meta(caller)}}}};
  bool modern = false;
  json::value resp;
  std::unique_ptr<http::UpstreamCall> call;
  // Modern when the answer's result.supportedVersions names 2026-07-28. A 400
  // UnsupportedProtocolVersion (-32022) naming it in error.data.supported asks for a retry with
  // that version: the probe goes once more before a legacy verdict.
  for (int attempt = 0; attempt < 2 && !modern; ++attempt) {
    if (auto e = co_await post(s, h, json::serialize(probe), call)) co_return e;
    if (call->status() == 401 || call->status() == 403) co_return refused(s, call->status());
    if (co_await read_response(s, *call, resp, kSmallBody)) break;
    modern = call->status() == 200 && names_modern(member(member(&resp, "result"), "supportedVersions"));
    const json::value* err = member(&resp, "error");
    const json::value* code = member(err, "code");
    bool asked_again = code && code->is_int64() && code->as_int64() == code::unsupported_version &&
                       names_modern(member(member(err, "data"), "supported"));
    if (!modern && !asked_again) break;
  }
  era = modern ? Era::modern : Era::legacy;
  if (modern) remember(s, era, capabilities_of(resp));
  // A legacy verdict is remembered by legacy_session() with the capabilities initialize announced.
  co_return std::nullopt;
}

}  // namespace

net::awaitable<Opened> open_request(const core::McpServer& s, const Caller& caller, json::object request) {
  Opened out;
  if (auto e = co_await era_of(s, caller, out.era)) {
    out.error = std::move(e);
    co_return out;
  }
  std::string method;
  if (auto* m = request.if_contains("method"); m && m->is_string()) method = std::string(m->as_string());
  for (int attempt = 0; attempt < 2; ++attempt) {
    http::Headers h;
    if (auto e = co_await base_headers(s, attempt > 0, h)) {
      out.error = std::move(e);
      co_return out;
    }
    auto* params = request.if_contains("params");
    if (out.era == Era::modern) {
      if (!params || !params->is_object()) {
        request["params"] = json::object();
        params = request.if_contains("params");
      }
      auto& p = params->as_object();
      json::object meta = modern_meta(caller);
      if (auto* old = p.if_contains("_meta"); old && old->is_object())
        for (auto& [k, v] : old->as_object())
          if (!meta.contains(k)) meta[k] = v;
      p["_meta"] = std::move(meta);
      h.emplace_back("mcp-protocol-version", kModern);
    } else {
      UpstreamSession sess;
      if (auto e = co_await legacy_session(s, sess)) {
        out.error = std::move(e);
        co_return out;
      }
      // Modern per-request _meta means nothing to a legacy server.
      if (params && params->is_object())
        if (auto* m = params->as_object().if_contains("_meta"); m && m->is_object()) {
          auto& mo = m->as_object();
          for (auto it = mo.begin(); it != mo.end();)
            it = std::string_view(it->key()).starts_with("io.modelcontextprotocol/") ? mo.erase(it) : it + 1;
          if (mo.empty()) params->as_object().erase("_meta");
        }
      h.emplace_back("mcp-protocol-version", sess.version);
      if (!sess.id.empty()) h.emplace_back("mcp-session-id", sess.id);
    }
    // The mirrored headers (2026-07-28) go to either era: a legacy server ignores them.
    h.emplace_back("mcp-method", method);
    if (auto* p = request.if_contains("params"); p && p->is_object() && has_subject(method))
      for (const char* f : {"name", "uri"})
        if (auto* v = p->as_object().if_contains(f); v && v->is_string()) {
          h.emplace_back("mcp-name", encode_header_value(v->as_string()));
          break;
        }
    for (const auto& ph : caller.param_headers) h.push_back(ph);
    if (!caller.traceparent.empty()) h.emplace_back("traceparent", caller.traceparent);
    if (auto e = co_await post(s, h, json::serialize(request), out.call)) {
      out.error = std::move(e);
      co_return out;
    }
    int st = out.call->status();
    if (attempt == 0 && st == 401 && !s.oauth2.token_url.empty()) continue;  // token revoked: refresh once
    if (attempt == 0 && st == 404 && out.era == Era::legacy) {
      sessions.erase(server_key(s));  // the server forgot our session: open a new one
      continue;
    }
    if (st == 401 || st == 403) out.error = refused(s, st);
    co_return out;
  }
  co_return out;
}

net::awaitable<std::optional<UpstreamError>> read_response(const core::McpServer& s, http::UpstreamCall& call,
                                                           json::value& response, std::size_t limit) {
  response = nullptr;
  std::size_t total = 0;
  auto too_large = [&] {
    return UpstreamError{fmt::format("MCP server \"{}\" sent a result larger than {} bytes", s.name, limit)};
  };
  if (call.media_type() == "text/event-stream") {
    http::SseReader reader;
    bool done = false;
    while (!done) {
      std::string_view piece;
      auto f = co_await call.read_some(piece, done);
      if (f != http::UpstreamFailure::none) co_return unreachable(s, f);
      total += piece.size();
      if (total > limit) co_return too_large();
      reader.feed(piece);
      http::SseEvent ev;
      while (reader.next(ev)) {
        if (!ev.has_data) continue;
        boost::system::error_code ec;
        json::value v = json::parse(ev.data, ec);
        if (ec || !v.is_object()) continue;
        auto& o = v.as_object();
        if (o.contains("id") && (o.contains("result") || o.contains("error")) && !o.contains("method")) {
          response = std::move(v);
          co_return std::nullopt;
        }
      }
    }
    co_return UpstreamError{fmt::format("MCP server \"{}\" ended its stream without an answer", s.name)};
  }
  std::string body;
  auto f = co_await call.read_all(body, limit);
  if (f == http::UpstreamFailure::protocol) co_return too_large();
  if (f != http::UpstreamFailure::none) co_return unreachable(s, f);
  if (body.empty() && call.status() >= 200 && call.status() < 300) co_return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    co_return UpstreamError{fmt::format("MCP server \"{}\" answered HTTP {} without a JSON-RPC message", s.name,
                                        call.status()), call.status()};
  response = std::move(v);
  co_return std::nullopt;
}

net::awaitable<std::optional<UpstreamError>> call_once(const core::McpServer& s, const Caller& caller,
                                                       json::object request, json::value& response,
                                                       std::size_t limit) {
  Opened o = co_await open_request(s, caller, std::move(request));
  if (o.error) co_return std::move(o.error);
  co_return co_await read_response(s, *o.call, response, limit);
}

net::awaitable<std::optional<UpstreamError>> describe_server(const core::McpServer& s, const Caller& caller,
                                                             Era& era, json::object& capabilities) {
  if (auto e = co_await era_of(s, caller, era)) co_return e;
  if (era == Era::legacy) {
    UpstreamSession sess;
    if (auto e = co_await legacy_session(s, sess)) co_return e;
  }
  {
    std::lock_guard lock(era_mu);
    if (auto it = eras.find(server_key(s)); it != eras.end()) {
      capabilities = it->second.capabilities;
      co_return std::nullopt;
    }
  }
  // Pinned modern: ask once.
  json::value resp;
  json::object probe{{"jsonrpc", "2.0"}, {"id", "tollgate-discover"}, {"method", "server/discover"}};
  if (auto e = co_await call_once(s, caller, std::move(probe), resp, kSmallBody)) co_return e;
  capabilities = capabilities_of(resp);
  remember(s, era, capabilities);
  co_return std::nullopt;
}

}  // namespace tollgate::mcp
