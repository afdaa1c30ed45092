// The inbound endpoint (endpoint.h): checks, era, then one of three paths: answered here
// (initialize, ping, server/discover, ...), fanned out (the list methods on /mcp), or relayed
// to one server (calls, reads, gets, completions, lists on /mcp/{server}) with its stream
// passed through event by event.
#include "mcp/endpoint.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/snapshot.h"
#include "gateway/phases.h"
#include "http/request_headers.h"
#include "http/sse.h"
#include "mcp/governance.h"
#include "mcp/guard.h"
#include "mcp/message.h"
#include "mcp/names.h"
#include "mcp/session.h"
#include "mcp/stats.h"
#include "mcp/upstream.h"

namespace tollgate::mcp {
namespace net = boost::asio;
namespace json = boost::json;
using gateway::RequestContext;

namespace {

constexpr std::string_view kLegacyVersions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
constexpr std::size_t kMaxResult = 16 * 1024 * 1024;  // images and audio are allowed this far
constexpr std::string_view kUnavailableMeta = "io.tollgate/unavailable";

bool legacy_version(std::string_view v) {
  return std::find(std::begin(kLegacyVersions), std::end(kLegacyVersions), v) != std::end(kLegacyVersions);
}

struct KeepAlive;  // below: the comments a relayed stream gets while it idles

// What one inbound request is, once checked.
struct Inbound {
  explicit Inbound(RequestContext& c) : ctx(c) {}
  RequestContext& ctx;
  Message msg;
  bool modern = false;
  std::string version;
  const core::McpServer* scoped = nullptr;  // /mcp/{server}; null on /mcp
  Caller caller;
  bool accepts_sse = false;
  std::string tool;     // tools/call: the upstream tool name, once routed
  std::string outcome;  // set by the relay when the server answered with an error
  std::shared_ptr<KeepAlive> keepalive;  // while a relayed SSE answer is open
};

struct CancelOnGone {
  CancelOnGone(http::Exchange& ex, http::UpstreamCall& call) : ex(ex) {
    ex.on_client_gone([&call] { call.cancel(); });
  }
  ~CancelOnGone() { ex.on_client_gone(nullptr); }
  http::Exchange& ex;
};

http::Headers headers_for(const RequestContext& ctx, std::string_view content_type) {
  return gateway::base_headers(ctx, content_type);
}

net::awaitable<void> answer(RequestContext& ctx, int status, std::string body, http::Headers extra) {
  ctx.status = status;
  auto h = headers_for(ctx, "application/json");
  for (auto& e : extra) h.push_back(std::move(e));
  co_await ctx.ex.respond(status, h, std::move(body));
}

net::awaitable<void> answer(RequestContext& ctx, int status, std::string body) {
  http::Headers none;
  co_await answer(ctx, status, std::move(body), std::move(none));
}

net::awaitable<void> fail(RequestContext& ctx, int status, const json::value& id, int code, std::string_view message,
                          std::string cause, const json::value* data, http::Headers extra) {
  if (ctx.error.empty()) ctx.error = std::move(cause);
  std::string body = error_body(id, code, message, data);
  co_await answer(ctx, status, std::move(body), std::move(extra));
}

net::awaitable<void> fail(RequestContext& ctx, int status, const json::value& id, int code, std::string_view message,
                          std::string cause, const json::value* data = nullptr) {
  http::Headers none;
  co_await fail(ctx, status, id, code, message, std::move(cause), data, std::move(none));
}

// The legacy era's result shape: the 2026 fields a legacy client does not know are dropped.
void fit_result_to_era(const Inbound& in, json::object& result) {
  if (in.modern) {
    if (!result.contains("resultType")) result["resultType"] = "complete";
    return;
  }
  result.erase("resultType");
  result.erase("ttlMs");
  result.erase("cacheScope");
}

// Localhost Host and Origin rules against DNS rebinding: a request that reached a loopback
// address must name a loopback host; an Origin, when sent, must be a loopback origin or the
// request's own host.
bool loopback_host(std::string_view host) {
  if (host.starts_with("[")) {
    auto end = host.find(']');
    host = host.substr(0, end == std::string_view::npos ? host.size() : end + 1);
  } else if (auto c = host.rfind(':'); c != std::string_view::npos) {
    host = host.substr(0, c);
  }
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]" || host.ends_with(".localhost");
}
bool loopback_peer(std::string_view addr) {
  return addr.starts_with("127.") || addr == "::1" || addr.starts_with("::ffff:127.");
}
bool origin_allowed(const http::Exchange& ex) {
  std::string_view host = ex.header("host");
  if (loopback_peer(ex.remote_address()) && !host.empty() && !loopback_host(host)) return false;
  std::string_view origin = ex.header("origin");
  if (origin.empty()) return true;
  auto scheme = origin.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view ohost = origin.substr(scheme + 3);
  return loopback_host(ohost) || ohost == host;
}

const core::McpServer* find_server(const core::Snapshot& snap, std::string_view name) {
  for (const auto& s : snap.resources().mcp_servers)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<const core::McpServer*> reachable_servers(const RequestContext& ctx) {
  std::vector<const core::McpServer*> out;
  for (const auto& s : ctx.snapshot->resources().mcp_servers)
    if (may_reach(*ctx.key, s.name)) out.push_back(&s);
  return out;
}

// --- era and header checks -------------------------------------------------------------------

// nullopt when the request may proceed; else the answer was sent.
net::awaitable<bool> check_era(Inbound& in) {
  auto& ex = in.ctx.ex;
  const auto& id = in.msg.id;
  std::string_view header_version = ex.header("mcp-protocol-version");
  std::string_view meta_version = in.msg.meta_string(kMetaVersion);
  if (!meta_version.empty()) {
    in.modern = true;
    in.version = std::string(meta_version);
    if (header_version != meta_version) {
      co_await fail(in.ctx, 400, id, code::header_mismatch,
                    "MCP-Protocol-Version header does not match _meta io.modelcontextprotocol/protocolVersion",
                    "header_mismatch");
      co_return false;
    }
    if (meta_version != kModern) {
      json::value data = json::object{{"supported", json::array{kModern}}, {"requested", meta_version}};
      co_await fail(in.ctx, 400, id, code::unsupported_version,
                    fmt::format("Unsupported protocol version: {}", meta_version), "unsupported_version", &data);
      co_return false;
    }
    auto method_header = decode_header_value(ex.header("mcp-method"));
    if (!method_header || *method_header != in.msg.method) {
      co_await fail(in.ctx, 400, id, code::header_mismatch, "Mcp-Method header missing or not equal to the body's method",
                    "header_mismatch");
      co_return false;
    }
    if (has_subject(in.msg.method)) {
      auto name_header = decode_header_value(ex.header("mcp-name"));
      if (!name_header || ex.header("mcp-name").empty() || *name_header != in.msg.subject()) {
        co_await fail(in.ctx, 400, id, code::header_mismatch,
                      "Mcp-Name header missing or not equal to the body's name/uri", "header_mismatch");
        co_return false;
      }
    }
    auto* caps = in.msg.meta(kMetaCapabilities);
    if (!caps || !caps->is_object()) {
      co_await fail(in.ctx, 400, id, code::invalid_params,
                    "_meta io.modelcontextprotocol/clientCapabilities is required", "bad_request");
      co_return false;
    }
    in.caller.client_capabilities = caps->as_object();
    if (auto* info = in.msg.meta(kMetaClientInfo); info && info->is_object()) in.caller.client_info = info->as_object();
    co_return true;
  }
  if (header_version == kModern) {
    co_await fail(in.ctx, 400, id, code::invalid_params,
                  "A 2026-07-28 request needs _meta io.modelcontextprotocol/protocolVersion and clientCapabilities",
                  "bad_request");
    co_return false;
  }
  if (in.msg.method == "initialize") co_return true;
  if (!header_version.empty() && !legacy_version(header_version)) {
    co_await fail(in.ctx, 400, id, code::invalid_request,
                  fmt::format("Unsupported MCP-Protocol-Version: {}", header_version.substr(0, 64)),
                  "unsupported_version");
    co_return false;
  }
  in.version = header_version.empty() ? "2025-03-26" : std::string(header_version);
  if (std::string_view sid = ex.header("mcp-session-id"); !sid.empty()) {
    auto sess = open_session(sid);
    if (!sess || sess->key_id != in.ctx.key->id) {
      co_await fail(in.ctx, 404, id, code::invalid_request, "Unknown or expired session: initialize again",
                    "unknown_session");
      co_return false;
    }
    in.caller.client_capabilities = std::move(sess->client_capabilities);
    in.caller.client_info = std::move(sess->client_info);
    if (header_version.empty()) in.version = sess->version;
  }
  co_return true;
}

// --- answered here ---------------------------------------------------------------------------

json::object server_info() { return json::object{{"name", "tollgate"}, {"version", "1.0.0"}}; }

// The capabilities this endpoint offers: the scoped server's own, or the aggregate's.
net::awaitable<json::object> capabilities_for(Inbound& in) {
  json::object caps;
  if (in.scoped) {
    Era era;
    if (auto e = co_await describe_server(*in.scoped, in.caller, era, caps)) {
      spdlog::warn("mcp: server {} could not be described: {}", in.scoped->name, e->message);
      caps = json::object{{"tools", json::object{}}};
    }
  } else {
    caps = json::object{{"tools", json::object{}}, {"resources", json::object{}}, {"prompts", json::object{}},
                        {"completions", json::object{}}};
  }
  if (!in.modern) caps["logging"] = json::object{};  // logging/setLevel is answered here
  co_return caps;
}

net::awaitable<void> initialize(Inbound& in) {
  const auto* p = in.msg.params_if();
  std::string requested;
  if (p)
    if (auto* v = p->if_contains("protocolVersion"); v && v->is_string()) requested = std::string(v->as_string());
  LegacySession sess;
  sess.key_id = in.ctx.key->id;
  sess.version = legacy_version(requested) ? requested : std::string(kLegacyVersions[0]);
  if (p) {
    if (auto* c = p->if_contains("capabilities"); c && c->is_object()) sess.client_capabilities = c->as_object();
    if (auto* i = p->if_contains("clientInfo"); i && i->is_object()) sess.client_info = i->as_object();
  }
  in.caller.client_capabilities = sess.client_capabilities;
  in.caller.client_info = sess.client_info;
  json::object caps = co_await capabilities_for(in);
  json::object result{{"protocolVersion", sess.version}, {"capabilities", std::move(caps)}, {"serverInfo", server_info()}};
  http::Headers extra{{"mcp-session-id", seal_session(sess)}};
  co_await answer(in.ctx, 200, result_body(in.msg.id, std::move(result)), std::move(extra));
}

net::awaitable<void> discover(Inbound& in) {
  json::object caps = co_await capabilities_for(in);
  json::object meta{{kMetaServerInfo, server_info()}};
  json::object result{{"resultType", "complete"}, {"supportedVersions", json::array{kModern}},
                      {"capabilities", std::move(caps)}, {"serverInfo", server_info()}, {"_meta", std::move(meta)},
                      {"ttlMs", 0}, {"cacheScope", "private"}};
  co_await answer(in.ctx, 200, result_body(in.msg.id, std::move(result)));
}

net::awaitable<void> empty_result(Inbound& in) {
  json::object result;
  fit_result_to_era(in, result);
  co_await answer(in.ctx, 200, result_body(in.msg.id, std::move(result)));
}

// --- names ---------------------------------------------------------------------------------

struct ListKind {
  std::string_view method, field, key;  // "tools/list", "tools", "name" | "uri" | "uriTemplate"
  bool tools = false;
};

std::optional<ListKind> list_kind(std::string_view method) {
  if (method == "tools/list") return ListKind{method, "tools", "name", true};
  if (method == "prompts/list") return ListKind{method, "prompts", "name"};
  if (method == "resources/list") return ListKind{method, "resources", "uri"};
  if (method == "resources/templates/list") return ListKind{method, "resourceTemplates", "uriTemplate"};
  return std::nullopt;
}

// Keeps what `key` may see of one server's list items, renamed for the aggregate when `rename`.
void filter_items(const core::Key& key, const core::McpServer& s, const ListKind& k, json::array& items, bool rename,
                  json::array& out) {
  for (auto& item : items) {
    if (!item.is_object()) continue;
    auto& o = item.as_object();
    auto* n = o.if_contains(k.key);
    if (!n || !n->is_string()) continue;
    std::string name(n->as_string());
    if (k.tools ? !tool_visible(key, s, o) : !permitted(key, s.name, name)) continue;
    if (rename) {
      const std::string& prefix = s.name_prefix();
      o[k.key] = k.key == "name" ? mint(prefix, name) : mint_uri(prefix, s.name, name);
    }
    out.push_back(std::move(item));
  }
}

// One server's whole list (following nextCursor a bounded number of pages).
struct ServerList {
  json::array items;
  std::optional<std::string> error;
  bool done = false;
};

net::awaitable<void> fetch_list(const core::McpServer& s, Caller caller, std::string method, std::string field,
                                std::shared_ptr<ServerList> out) {
  std::string cursor;
  for (int page = 0; page < 20; ++page) {
    json::object params;
    if (!cursor.empty()) params["cursor"] = cursor;
    json::object req{{"jsonrpc", "2.0"}, {"id", fmt::format("tollgate-list-{}", page)}, {"method", method},
                     {"params", std::move(params)}};
    json::value resp;
    if (auto e = co_await call_once(s, caller, std::move(req), resp, kMaxResult)) {
      out->error = e->message;
      note_reach(s.name, false, e->message);
      break;
    }
    note_reach(s.name, true, "");
    const json::value* result = resp.is_object() ? resp.as_object().if_contains("result") : nullptr;
    if (!result || !result->is_object()) {
      const json::value* err = resp.is_object() ? resp.as_object().if_contains("error") : nullptr;
      const json::value* msg = err && err->is_object() ? err->as_object().if_contains("message") : nullptr;
      out->error = fmt::format("MCP server \"{}\" answered {} with an error{}{}", s.name, method, msg ? ": " : "",
                               msg && msg->is_string() ? std::string(msg->as_string()) : "");
      break;
    }
    if (auto* arr = result->as_object().if_contains(field); arr && arr->is_array())
      for (auto& v : arr->as_array()) out->items.push_back(v);
    auto* next = result->as_object().if_contains("nextCursor");
    if (!next || !next->is_string() || next->as_string().empty()) break;
    cursor = std::string(next->as_string());
  }
  if (method == "tools/list" && !out->error) {
    std::vector<std::string> names;  // the advertised set: the only tool names metrics carry
    for (const auto& item : out->items)
      if (auto* n = item.is_object() ? item.as_object().if_contains("name") : nullptr; n && n->is_string())
        names.emplace_back(n->as_string());
    note_tools(s.name, names);
  }
  out->done = true;
}

// Lists of every reachable server at once, each within its own deadline; a server that
// fails or is late is named in the result's _meta and in the log, and the others still count.
net::awaitable<void> aggregate_list(Inbound& in, const ListKind& k) {
  auto servers = reachable_servers(in.ctx);
  auto executor = co_await net::this_coro::executor;
  std::vector<std::shared_ptr<ServerList>> lists;
  auto timer = std::make_shared<net::steady_timer>(executor);
  int64_t longest = 0;
  for (const auto* s : servers) longest = std::max(longest, s->timeout_ms);
  timer->expires_after(std::chrono::milliseconds(longest + 250));
  auto pending = std::make_shared<std::size_t>(servers.size());
  for (const auto* s : servers) {
    auto l = std::make_shared<ServerList>();
    lists.push_back(l);
    // The snapshot outlives the spawned fetches: they hold it.
    auto snap = in.ctx.snapshot;
    net::co_spawn(executor,
                  [s, snap, caller = in.caller, method = std::string(k.method), field = std::string(k.field), l, timer,
                   pending]() -> net::awaitable<void> {
                    co_await fetch_list(*s, caller, method, field, l);
                    if (--*pending == 0) timer->cancel();
                  },
                  net::detached);
  }
  if (!servers.empty()) co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  json::array items, unavailable;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    auto& l = *lists[i];
    if (!l.done || l.error) {
      std::string why = l.done ? *l.error : fmt::format("MCP server \"{}\" did not answer within {} ms", servers[i]->name,
                                                        servers[i]->timeout_ms);
      if (!l.done) note_reach(servers[i]->name, false, why);
      spdlog::warn("mcp: {} on {}: {}", k.method, servers[i]->name, why);
      in.ctx.gateway.metrics.upstream_failure("mcp:" + servers[i]->name, l.done ? "error" : "timeout");
      unavailable.push_back(json::object{{"server", servers[i]->name}, {"error", why}});
      continue;
    }
    filter_items(*in.ctx.key, *servers[i], k, l.items, true, items);
  }
  json::object result{{k.field, std::move(items)}};
  if (!unavailable.empty()) result["_meta"] = json::object{{kUnavailableMeta, std::move(unavailable)}};
  if (in.modern) {
    result["ttlMs"] = 0;
    result["cacheScope"] = "private";
  }
  fit_result_to_era(in, result);
  co_await answer(in.ctx, 200, result_body(in.msg.id, std::move(result)));
}

// --- keep-alive on relayed streams -------------------------------------------------------------

// While a relayed SSE answer waits on its upstream (a long tool call, a quiet
// subscriptions/listen), a ":" comment goes to the client whenever nothing was written for
// kKeepAliveEvery, so that no proxy on the way idles the stream out. (The listener's write
// timeout bounds each write, never the stream.) Writes never overlap: every write of the stream
// goes through send_event(), and the stream ends only once a comment in flight is written.
constexpr auto kKeepAliveEvery = std::chrono::seconds(15);
using SteadyClock = std::chrono::steady_clock;

struct KeepAlive {
  explicit KeepAlive(const net::any_io_executor& ex) : timer(ex) {}
  net::steady_timer timer;
  bool writing = false, stopped = false;
  SteadyClock::time_point last = SteadyClock::now();
};

net::awaitable<void> wait_for_writer(KeepAlive& k) {
  while (k.writing) {
    net::steady_timer pause(co_await net::this_coro::executor, std::chrono::milliseconds(1));
    co_await pause.async_wait(net::as_tuple(net::use_awaitable));
  }
}

// Touches the exchange only while writing, and never once stopped: the relay stops it (and
// waits out a write in flight) before the exchange can go.
net::awaitable<void> keep_alive(http::Exchange& ex, std::shared_ptr<KeepAlive> k) {
  while (!k->stopped) {
    k->timer.expires_at(k->last + kKeepAliveEvery);
    co_await k->timer.async_wait(net::as_tuple(net::use_awaitable));
    if (k->stopped) co_return;
    if (k->writing || SteadyClock::now() < k->last + kKeepAliveEvery) continue;
    k->writing = true;
    bool ok = co_await ex.write_chunk(":\n\n");
    k->writing = false;
    k->last = SteadyClock::now();
    if (!ok) co_return;
  }
}

net::awaitable<bool> send_event(Inbound& in, std::string_view data) {
  std::shared_ptr<KeepAlive> k = in.keepalive;
  if (!k) co_return co_await in.ctx.ex.write_chunk(data);
  co_await wait_for_writer(*k);
  k->writing = true;
  bool ok = co_await in.ctx.ex.write_chunk(data);
  k->writing = false;
  k->last = SteadyClock::now();
  co_return ok;
}

net::awaitable<void> stop_keep_alive(Inbound& in) {
  std::shared_ptr<KeepAlive> k = std::move(in.keepalive);
  if (!k) co_return;
  k->stopped = true;
  k->timer.cancel();
  co_await wait_for_writer(*k);
}

// --- input for legacy clients ------------------------------------------------------------------

// A 2026 server asks for input with an input_required result; a legacy client answers
// server->client requests instead. Each request the gateway sends waits here for the client's
// response POST (any worker thread of this process; not across replicas).
constexpr int kMaxInputRounds = 8;
constexpr auto kInputWait = std::chrono::seconds(120);

struct PendingInput {
  std::string key_id;
  net::any_io_executor executor;
  std::shared_ptr<net::steady_timer> wake;
  std::mutex mu;
  std::optional<json::value> response;  // the client's whole response message
};
std::mutex pending_mu;
std::unordered_map<std::string, std::shared_ptr<PendingInput>> pending_inputs;

// Delivers a client's response to the request waiting for it; false when nothing waits.
bool deliver_input(const core::Key& key, const json::value& id, json::value message) {
  if (!id.is_string()) return false;
  std::shared_ptr<PendingInput> p;
  {
    std::lock_guard lock(pending_mu);
    auto it = pending_inputs.find(std::string(id.as_string()));
    if (it == pending_inputs.end() || it->second->key_id != key.id) return false;
    p = it->second;
  }
  {
    std::lock_guard lock(p->mu);
    p->response = std::move(message);
  }
  net::post(p->executor, [wake = p->wake] { wake->cancel(); });
  return true;
}

const json::object* legacy_input_requests(const Inbound& in, const json::object& answer) {
  if (in.modern || !in.accepts_sse) return nullptr;
  auto* r = answer.if_contains("result");
  if (!r || !r->is_object()) return nullptr;
  auto* type = r->as_object().if_contains("resultType");
  if (!type || !type->is_string() || type->as_string() != "input_required") return nullptr;
  auto* reqs = r->as_object().if_contains("inputRequests");
  return reqs && reqs->is_object() ? &reqs->as_object() : nullptr;
}

net::awaitable<std::optional<json::object>> ask_client(Inbound& in, const json::object& requests) {
  auto executor = co_await net::this_coro::executor;
  auto wake = std::make_shared<net::steady_timer>(executor);
  const auto deadline = std::chrono::steady_clock::now() + kInputWait;
  wake->expires_at(deadline);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::vector<std::pair<std::string, std::string>> asked;  // input key, request id
  std::vector<std::shared_ptr<PendingInput>> waits;
  bool sent = true;
  for (const auto& [k, req] : requests) {
    if (!req.is_object()) continue;
    std::string id = fmt::format("tollgate-input-{:016x}", rng());
    auto p = std::make_shared<PendingInput>();
    p->key_id = in.ctx.key->id;
    p->executor = executor;
    p->wake = wake;
    {
      std::lock_guard lock(pending_mu);
      pending_inputs[id] = p;
    }
    asked.emplace_back(std::string(k), id);
    waits.push_back(p);
    json::object msg{{"jsonrpc", "2.0"}, {"id", id}};
    if (auto* m = req.as_object().if_contains("method")) msg["method"] = *m;
    if (auto* pa = req.as_object().if_contains("params")) msg["params"] = *pa;
    if (!co_await send_event(in, http::sse_event("message", json::serialize(msg)))) {
      sent = false;
      break;
    }
  }
  auto all_answered = [&] {
    for (auto& p : waits) {
      std::lock_guard lock(p->mu);
      if (!p->response) return false;
    }
    return true;
  };
  while (sent && !all_answered() && std::chrono::steady_clock::now() < deadline && !in.ctx.ex.client_gone())
    co_await wake->async_wait(net::as_tuple(net::use_awaitable));
  {
    std::lock_guard lock(pending_mu);
    for (auto& [k, id] : asked) pending_inputs.erase(id);
  }
  if (!sent || !all_answered()) co_return std::nullopt;
  json::object out;
  for (std::size_t i = 0; i < asked.size(); ++i) {
    std::lock_guard lock(waits[i]->mu);
    auto& m = waits[i]->response->as_object();
    auto* result = m.if_contains("result");
    if (!result) co_return std::nullopt;  // the client refused: the call fails
    out[asked[i].first] = *result;
  }
  co_return out;
}

net::awaitable<bool> start_sse(Inbound& in, int status) {
  auto& ctx = in.ctx;
  auto h = headers_for(ctx, "text/event-stream");
  h.emplace_back("cache-control", "no-cache");
  h.emplace_back("x-accel-buffering", "no");
  ctx.status = status;
  if (!co_await ctx.ex.start_stream(status, h)) co_return false;
  auto executor = co_await net::this_coro::executor;
  in.keepalive = std::make_shared<KeepAlive>(executor);
  net::co_spawn(executor, keep_alive(ctx.ex, in.keepalive), net::detached);
  co_return true;
}

net::awaitable<void> end_sse(Inbound& in) {
  co_await stop_keep_alive(in);
  co_await in.ctx.ex.end_stream();
}

// An error as the last event of a started stream, or as the whole answer.
net::awaitable<void> fail_answer(Inbound& in, bool streaming, int status, int code, std::string_view message,
                                 std::string cause) {
  if (!streaming) {
    co_await fail(in.ctx, status, in.msg.id, code, message, std::move(cause));
    co_return;
  }
  if (in.ctx.error.empty()) in.ctx.error = std::move(cause);
  co_await send_event(in, http::sse_event("message", error_body(in.msg.id, code, message)));
  co_await end_sse(in);
}

// --- relayed to one server -----------------------------------------------------------------

// The key's guardrails on `value` (tool arguments or a tool result, guard.h): findings counted;
// true when a block policy stopped it (the reason in `reason`).
bool guarded(Inbound& in, boost::json::value& value, bool result, std::string& reason) {
  const auto& policies = in.ctx.snapshot->guardrails();
  const std::vector<std::string>& names = in.ctx.key->rules().guardrails;
  if (names.empty() || !policies) return false;
  ToolGuard g = result ? guard_result(*policies, names, value) : guard_arguments(*policies, names, value);
  for (const auto& f : g.findings) in.ctx.gateway.metrics.guardrail_hit(f.policy, f.entity, f.acted);
  if (!g.blocked) return false;
  reason = g.reason;
  in.ctx.error = "guardrail_blocked";
  in.outcome = "blocked";
  return true;
}

// Rewrites the final answer of a relayed request: list filtering (and renaming on /mcp), era fit.
void rewrite_answer(const Inbound& in, const core::McpServer& s, json::object& msg) {
  auto* r = msg.if_contains("result");
  if (!r || !r->is_object()) return;
  auto& result = r->as_object();
  if (auto k = list_kind(in.msg.method)) {
    if (auto* arr = result.if_contains(k->field); arr && arr->is_array()) {
      json::array kept;
      filter_items(*in.ctx.key, s, *k, arr->as_array(), in.scoped == nullptr, kept);
      *arr = std::move(kept);
    }
    if (in.modern) result["cacheScope"] = "private";  // filtered per key
  }
  fit_result_to_era(in, result);
}

net::awaitable<void> relay_rounds(Inbound& in, const core::McpServer& s, json::object request, std::string_view tool) {
  auto& ctx = in.ctx;
  auto admitted = admit(*ctx.gateway.limiter, *ctx.key, s, tool);
  if (!admitted.ok) {
    auto secs = limits::retry_after_seconds(admitted.retry_after);
    json::value data = json::object{{"retryAfterSeconds", secs}, {"scope", admitted.scope}};
    ctx.gateway.metrics.limit_event("requests");
    http::Headers retry{{"retry-after", std::to_string(secs)}};
    std::string msg = fmt::format("Rate limit reached for MCP server \"{}\" ({} limit); retry after {} s", s.name,
                                  admitted.scope, secs);
    co_await fail(ctx, 429, in.msg.id, code::rate_limited, msg, "rate_limited", &data, std::move(retry));
    co_return;
  }
  if (!in.modern && (in.msg.method == "tools/call" || in.msg.method == "prompts/get")) {
    // A legacy client gets log messages unless it lowered the level: ask a modern server for them.
    auto& params = request["params"];
    if (params.is_object()) {
      auto& p = params.as_object();
      if (!p.contains("_meta")) p["_meta"] = json::object{};
      if (p["_meta"].is_object()) p["_meta"].as_object()["io.modelcontextprotocol/logLevel"] = "debug";
    }
  }
  bool streaming = false;  // the client's SSE answer has started
  for (int round = 0;; ++round) {
    json::object attempt = request;  // kept whole for a retry with the client's input
    Opened o = co_await open_request(s, in.caller, std::move(attempt));
    note_reach(s.name, !o.error, o.error ? std::string_view(o.error->message) : std::string_view());
    if (o.error) {
      ctx.gateway.metrics.upstream_failure("mcp:" + s.name, "error");
      spdlog::warn("mcp: {} {} on {}: {}", in.msg.method, in.msg.subject(), s.name, o.error->message);
      co_await fail_answer(in, streaming, 502, code::upstream, o.error->message, "upstream_unavailable");
      co_return;
    }
    auto& call = *o.call;
    CancelOnGone guard(ctx.ex, call);
    const int status = call.status();
    json::value final;
    if (call.media_type() == "text/event-stream" && in.accepts_sse) {
      if (!streaming && !co_await start_sse(in, status)) co_return;
      streaming = true;
      http::SseReader reader;
      bool done = false;
      std::size_t total = 0;
      while (!done && final.is_null()) {
        std::string_view piece;
        auto f = co_await call.read_some(piece, done);
        if (f != http::UpstreamFailure::none) {
          if (f == http::UpstreamFailure::cancelled) {
            ctx.error = "client_closed";
            co_return;
          }
          std::string msg = fmt::format("MCP server \"{}\" broke off its stream", s.name);
          co_await fail_answer(in, streaming, 502, code::upstream, msg, "upstream_stream_broken");
          co_return;
        }
        total += piece.size();
        if (total > kMaxResult) {
          co_await fail_answer(in, streaming, 502, code::internal, "Result exceeds the gateway's size cap",
                               "result_too_large");
          co_return;
        }
        reader.feed(piece);
        http::SseEvent ev;
        while (final.is_null() && reader.next(ev)) {
          if (!ev.has_data) {
            // The upstream's keep-alive comment, passed on so no proxy between us and the
            // client idles the stream out; priming events (an id, no data) end here too.
            if (ev.raw.starts_with(":") && !co_await send_event(in, ":\n\n")) co_return;
            continue;
          }
          boost::system::error_code ec;
          json::value v = json::parse(ev.data, ec);
          if (ec || !v.is_object()) continue;
          auto& m = v.as_object();
          if (!m.contains("method") && (m.contains("result") || m.contains("error"))) {
            final = std::move(v);
            break;
          }
          // Flushed per event: progress and log notifications reach the client as they happen.
          if (!co_await send_event(in, http::sse_event("message", json::serialize(m)))) {
            ctx.error = "client_closed";
            co_return;
          }
        }
      }
      if (final.is_null()) {
        std::string msg = fmt::format("MCP server \"{}\" ended its stream without an answer", s.name);
        co_await fail_answer(in, streaming, 502, code::upstream, msg, "upstream_stream_broken");
        co_return;
      }
    } else {
      if (auto e = co_await read_response(s, call, final, kMaxResult)) {
        co_await fail_answer(in, streaming, 502, code::upstream, e->message, "upstream_unavailable");
        co_return;
      }
      if (!final.is_object()) {  // 202 for a notification
        ctx.status = 202;
        co_await ctx.ex.respond(202, headers_for(ctx, "application/json"), "");
        co_return;
      }
    }
    auto& fm = final.as_object();
    // A legacy client cannot answer an input_required result: the gateway asks it with
    // server->client requests on this stream, then retries the call with its answers.
    if (const json::object* inputs = legacy_input_requests(in, fm); inputs && round < kMaxInputRounds) {
      if (!streaming && !co_await start_sse(in, 200)) co_return;
      streaming = true;
      std::optional<json::object> responses = co_await ask_client(in, *inputs);
      if (!responses) {
        co_await fail_answer(in, streaming, 200, code::internal, "The client did not answer the server's requests in time",
                             "input_timeout");
        co_return;
      }
      auto& p = request["params"].as_object();
      p["inputResponses"] = std::move(*responses);
      const auto& result = fm["result"].as_object();
      if (auto* st = result.if_contains("requestState")) p["requestState"] = *st;
      else p.erase("requestState");
      continue;
    }
    if (fm.contains("error")) in.outcome = "error";
    else if (auto* r = fm.if_contains("result"); r && r->is_object())
      if (auto* e = r->as_object().if_contains("isError"); e && e->is_bool() && e->as_bool()) in.outcome = "tool_error";
    std::string withheld;
    if (in.msg.method == "tools/call" && fm.contains("result") && guarded(in, fm["result"], true, withheld))
      fm["result"] = blocked_result("The tool's result was withheld by the gateway: " + withheld);
    rewrite_answer(in, s, fm);
    if (auto* id = fm.if_contains("id")) *id = in.msg.id;
    if (streaming) {
      co_await send_event(in, http::sse_event("message", json::serialize(fm)));
      co_await end_sse(in);
    } else {
      co_await answer(ctx, status >= 200 && status < 500 ? status : 502, json::serialize(fm));
    }
    co_return;
  }
}

// Every way out of a relayed stream (its end, an error, the client gone) stops its keep-alive.
net::awaitable<void> relay(Inbound& in, const core::McpServer& s, json::object request, std::string_view tool) {
  co_await relay_rounds(in, s, std::move(request), tool);
  co_await stop_keep_alive(in);
}

// --- subscriptions/listen on /mcp: several servers merged ---------------------------------

// One client stream fed by a listen on every reachable server: the gateway acknowledges at once
// (subscriptionId = the client's request id), then passes each server's list-changed
// notifications on with that id, and ends with a result once every server has ended its own.
// Resource subscriptions name URIs of one server, so they are served on /mcp/{server} only.
struct MergedListen {
  std::vector<http::UpstreamCall*> calls;  // cancelled together when the client goes
  std::size_t running = 0;
  std::shared_ptr<net::steady_timer> all_done;
};

net::awaitable<void> listen_one(Inbound& in, const core::McpServer& s, json::object request,
                                std::shared_ptr<MergedListen> merged) {
  Opened o = co_await open_request(s, in.caller, std::move(request));
  note_reach(s.name, !o.error, o.error ? std::string_view(o.error->message) : std::string_view());
  if (!o.error && o.call->media_type() == "text/event-stream" && !in.ctx.ex.client_gone()) {
    merged->calls.push_back(o.call.get());
    http::SseReader reader;
    bool done = false;
    while (!done) {
      std::string_view piece;
      if (co_await o.call->read_some(piece, done) != http::UpstreamFailure::none) break;
      reader.feed(piece);
      http::SseEvent ev;
      while (reader.next(ev)) {
        boost::system::error_code ec;
        json::value v = ev.has_data ? json::parse(ev.data, ec) : json::value();
        auto* method = !ec && v.is_object() ? v.as_object().if_contains("method") : nullptr;
        if (!method || !method->is_string() || method->as_string() == "notifications/subscriptions/acknowledged")
          continue;  // its own acknowledgement, its final result, keep-alives: the gateway speaks for all
        auto& params = v.as_object()["params"];
        if (!params.is_object()) params = json::object{};
        auto& meta = params.as_object()["_meta"];
        if (!meta.is_object()) meta = json::object{};
        meta.as_object()["io.modelcontextprotocol/subscriptionId"] = in.msg.id;
        if (!co_await send_event(in, http::sse_event("message", json::serialize(v)))) done = true;
      }
    }
    std::erase(merged->calls, o.call.get());
  } else if (o.error) {
    spdlog::warn("mcp: subscriptions/listen on {}: {}", s.name, o.error->message);
  }
  if (--merged->running == 0) merged->all_done->cancel();
}

net::awaitable<void> listen_merged(Inbound& in) {
  auto executor = co_await net::this_coro::executor;
  if (!co_await start_sse(in, 200)) co_return;
  json::object ack{{"jsonrpc", "2.0"}, {"method", "notifications/subscriptions/acknowledged"},
                   {"params", {{"_meta", {{"io.modelcontextprotocol/subscriptionId", in.msg.id}}}}}};
  if (!co_await send_event(in, http::sse_event("message", json::serialize(ack)))) {
    co_await stop_keep_alive(in);
    co_return;
  }
  auto merged = std::make_shared<MergedListen>();
  merged->all_done = std::make_shared<net::steady_timer>(executor, net::steady_timer::time_point::max());
  in.ctx.ex.on_client_gone([merged] {
    for (auto* c : merged->calls) c->cancel();
    merged->all_done->cancel();
  });
  auto servers = reachable_servers(in.ctx);
  merged->running = servers.size();
  for (std::size_t i = 0; i < servers.size(); ++i) {
    json::object request = in.msg.doc.as_object();
    request["id"] = fmt::format("tollgate-listen-{}", i);
    if (auto* p = request["params"].if_object()) {
      p->erase("resourceSubscriptions");
      if (auto* n = p->if_contains("notifications"); n && n->is_object()) n->as_object().erase("resourceSubscriptions");
    }
    net::co_spawn(executor, listen_one(in, *servers[i], std::move(request), merged), net::detached);
  }
  // Until every server's stream has ended (the client leaving cancels them all).
  while (merged->running > 0) {
    co_await merged->all_done->async_wait(net::as_tuple(net::use_awaitable));
    merged->all_done->expires_at(net::steady_timer::time_point::max());
  }
  in.ctx.ex.on_client_gone(nullptr);
  if (in.ctx.ex.client_gone()) {
    in.ctx.error = "client_closed";
    co_await stop_keep_alive(in);
    co_return;
  }
  json::object result{{"resultType", "complete"}};
  co_await send_event(in, http::sse_event("message", result_body(in.msg.id, std::move(result))));
  co_await end_sse(in);
}

// The server and upstream name a prefixed name on /mcp refers to.
struct Routed {
  const core::McpServer* server = nullptr;
  std::string name;
};

// Finds `minted` among a server's items when it was shortened (the hash maps it back).
net::awaitable<std::optional<std::string>> unshorten(Inbound& in, const core::McpServer& s, const ListKind& k,
                                                     std::string_view minted) {
  auto l = std::make_shared<ServerList>();
  co_await fetch_list(s, in.caller, std::string(k.method), std::string(k.field), l);
  for (auto& item : l->items) {
    auto* n = item.is_object() ? item.as_object().if_contains(k.key) : nullptr;
    if (n && n->is_string() && mint(s.name_prefix(), n->as_string()) == minted) co_return std::string(n->as_string());
  }
  co_return std::nullopt;
}

net::awaitable<Routed> route_name_to_server(Inbound& in, std::string_view name, const ListKind& k) {
  Routed r;
  if (in.scoped) {
    r.server = in.scoped;
    r.name = std::string(name);
    co_return r;
  }
  const core::McpServer* fallback = nullptr;
  std::string_view rest;
  for (const auto* s : reachable_servers(in.ctx)) {
    if (s->name_prefix().empty()) {
      if (!fallback) fallback = s;
      continue;
    }
    if (!strip_prefix(s->name_prefix(), name, rest)) continue;
    r.server = s;
    break;
  }
  if (!r.server) {
    if (!fallback) co_return r;
    r.server = fallback;
    rest = name;
  }
  // A shortened name maps back through the server's list; otherwise it is the upstream name.
  std::optional<std::string> found;
  if (looks_shortened(name)) found = co_await unshorten(in, *r.server, k, name);
  if (found) r.name = std::move(*found);
  else if (mint(r.server->name_prefix(), rest) == name) r.name = std::string(rest);
  else r.server = nullptr;
  co_return r;
}

Routed route_uri(Inbound& in, std::string_view uri) {
  Routed r;
  if (in.scoped) {
    r.server = in.scoped;
    r.name = std::string(uri);
    return r;
  }
  const core::McpServer* fallback = nullptr;
  for (const auto* s : reachable_servers(in.ctx)) {
    if (s->name_prefix().empty()) {
      if (!fallback) fallback = s;
      continue;
    }
    if (strip_uri(s->name_prefix(), s->name, uri, r.name)) {
      r.server = s;
      return r;
    }
  }
  if (fallback) {
    r.server = fallback;
    r.name = std::string(uri);
  }
  return r;
}

// Whether `key` may call `tool` on `s`: the filter and grant, and for read_only keys the
// tool's own annotation (from the server's list).
net::awaitable<bool> may_call_tool(Inbound& in, const core::McpServer& s, const std::string& tool) {
  if (!server_exposes(s, tool) || !permitted(*in.ctx.key, s.name, tool)) co_return false;
  if (!in.ctx.key->rules().mcp->read_only) co_return true;
  auto l = std::make_shared<ServerList>();
  co_await fetch_list(s, in.caller, "tools/list", "tools", l);
  for (auto& item : l->items)
    if (item.is_object()) {
      auto* n = item.as_object().if_contains("name");
      if (n && n->is_string() && n->as_string() == tool) co_return tool_visible(*in.ctx.key, s, item.as_object());
    }
  co_return false;
}

net::awaitable<void> named_call(Inbound& in) {
  const std::string& method = in.msg.method;
  std::string subject(in.msg.subject());
  if (subject.empty()) {
    co_await fail(in.ctx, 200, in.msg.id, code::invalid_params, "params.name (or params.uri) is required", "bad_request");
    co_return;
  }
  bool tool = method == "tools/call";
  ListKind k = tool ? *list_kind("tools/list") : *list_kind("prompts/list");
  Routed r;
  if (method == "resources/read") r = route_uri(in, subject);
  else r = co_await route_name_to_server(in, subject, k);
  bool allowed = r.server != nullptr;
  if (allowed) {
    if (tool) allowed = co_await may_call_tool(in, *r.server, r.name);
    else allowed = permitted(*in.ctx.key, r.server->name, r.name);
  }
  in.ctx.mcp_server = r.server ? r.server->name : "";
  if (tool && allowed) in.tool = r.name;
  if (!allowed) {
    // The same answer for "no such" and "not yours": a denial names nothing the key may not see.
    std::string what = tool ? "tool" : method == "prompts/get" ? "prompt" : "resource";
    co_await fail(in.ctx, 200, in.msg.id, code::invalid_params, fmt::format("Unknown {}: {}", what, subject.substr(0, 200)),
                  "denied");
    co_return;
  }
  json::object request = in.msg.doc.as_object();
  request["params"].as_object()[method == "resources/read" ? "uri" : "name"] = r.name;
  if (tool) {
    // Arguments are read before they leave; a block answers as the tool would, with isError.
    auto& params = request["params"].as_object();
    std::string why;
    if (auto* args = params.if_contains("arguments"); args && guarded(in, *args, false, why)) {
      json::object result = blocked_result("The call was refused by the gateway: " + why);
      fit_result_to_era(in, result);
      co_await answer(in.ctx, 200, result_body(in.msg.id, std::move(result)));
      co_return;
    }
  }
  std::string_view limited_tool = tool ? std::string_view(r.name) : std::string_view();
  co_await relay(in, *r.server, std::move(request), limited_tool);
}

net::awaitable<void> complete(Inbound& in) {
  const auto* p = in.msg.params_if();
  const json::value* ref = p ? p->if_contains("ref") : nullptr;
  if (!ref || !ref->is_object()) {
    co_await fail(in.ctx, 200, in.msg.id, code::invalid_params, "completion/complete needs params.ref", "bad_request");
    co_return;
  }
  const auto& ro = ref->as_object();
  auto* type = ro.if_contains("type");
  bool prompt = type && type->is_string() && type->as_string() == "ref/prompt";
  auto* target = ro.if_contains(prompt ? "name" : "uri");
  std::string subject = target && target->is_string() ? std::string(target->as_string()) : "";
  Routed r;
  if (prompt) r = co_await route_name_to_server(in, subject, *list_kind("prompts/list"));
  else r = route_uri(in, subject);
  if (!r.server || !permitted(*in.ctx.key, r.server->name, r.name)) {
    co_await fail(in.ctx, 200, in.msg.id, code::invalid_params, "Unknown completion reference", "denied");
    co_return;
  }
  json::object request = in.msg.doc.as_object();
  request["params"].as_object()["ref"].as_object()[prompt ? "name" : "uri"] = r.name;
  co_await relay(in, *r.server, std::move(request), "");
}

net::awaitable<void> dispatch_method(Inbound& in) {
  const std::string& m = in.msg.method;
  auto k = list_kind(m);
  const core::McpServer* listen_to = nullptr;
  bool listen_to_all = false;
  if (m == "subscriptions/listen" && in.modern) {
    // One server's change signals pass through; on /mcp several servers' are merged.
    auto servers = reachable_servers(in.ctx);
    listen_to = in.scoped ? in.scoped : servers.size() == 1 ? servers[0] : nullptr;
    listen_to_all = !listen_to && servers.size() > 1;
  }
  // initialize, ping, logging/setLevel and resources/(un)subscribe are gone from 2026-07-28.
  if (m == "initialize" && !in.modern) {
    co_await initialize(in);
  } else if (m == "server/discover") {
    co_await discover(in);
  } else if (!in.modern && (m == "ping" || m == "logging/setLevel" || m == "resources/subscribe" ||
                            m == "resources/unsubscribe")) {
    co_await empty_result(in);
  } else if (k && in.scoped) {
    co_await relay(in, *in.scoped, in.msg.doc.as_object(), "");
  } else if (k) {
    co_await aggregate_list(in, *k);
  } else if (m == "tools/call" || m == "prompts/get" || m == "resources/read") {
    co_await named_call(in);
  } else if (m == "completion/complete") {
    co_await complete(in);
  } else if (listen_to) {
    co_await relay(in, *listen_to, in.msg.doc.as_object(), "");
  } else if (listen_to_all) {
    co_await listen_merged(in);
  } else {
    std::string msg = fmt::format("Method not found: {}", m.substr(0, 100));
    co_await fail(in.ctx, in.modern ? 404 : 200, in.msg.id, code::method_not_found, msg, "method_not_found");
  }
}

// The request in the server's status and series: relayed methods only (a fixed set of names);
// not subscriptions/listen, whose duration is the subscription's, not a latency.
void note_outcome(const Inbound& in, double seconds) {
  static const std::set<std::string, std::less<>> kRelayed{
      "tools/call",   "prompts/get",    "resources/read",          "completion/complete",
      "tools/list",   "prompts/list",   "resources/list",          "resources/templates/list"};
  const auto& ctx = in.ctx;
  if (ctx.mcp_server.empty() || !kRelayed.contains(in.msg.method)) return;
  // outcome: ok, error, tool_error, blocked (a guardrail), denied, rate_limited, cancelled.
  std::string_view outcome = !in.outcome.empty()                   ? std::string_view(in.outcome)
                             : ctx.error.empty()                   ? "ok"
                             : ctx.error == "denied"               ? "denied"
                             : ctx.error == "rate_limited"         ? "rate_limited"
                             : ctx.error == "client_closed"        ? "cancelled"
                                                                   : "error";
  note_request(ctx.mcp_server, in.msg.method, in.tool, outcome, seconds);
}

}  // namespace

net::awaitable<void> serve(RequestContext& ctx) {
  auto& ex = ctx.ex;
  const json::value null_id = nullptr;
  if (ex.method() != "POST") {
    http::Headers allow{{"allow", "POST"}};
    co_await fail(ctx, 405, null_id, code::invalid_request, "Only POST is served on this MCP endpoint", "method_not_allowed",
                  nullptr, std::move(allow));
    co_return;
  }
  if (!origin_allowed(ex)) {
    co_await fail(ctx, 403, null_id, code::invalid_request, "Origin or Host not allowed", "forbidden_origin");
    co_return;
  }
  ctx.snapshot = ctx.gateway.snapshots.shared();
  if (auto e = gateway::authenticate(ctx)) {
    http::Headers challenge{{"www-authenticate", "Bearer"}};
    co_await fail(ctx, 401, null_id, code::upstream, e->message, e->code, nullptr, std::move(challenge));
    co_return;
  }
  if (!ctx.key->rules().mcp) {
    co_await fail(ctx, 403, null_id, code::denied, "This key has no MCP access", "mcp_not_granted");
    co_return;
  }
  Inbound in(ctx);
  std::string_view path = ex.target().substr(0, ex.target().find('?'));
  if (path.ends_with("/")) path.remove_suffix(1);
  if (path.size() > 5) {
    std::string_view name = path.substr(5);
    in.scoped = find_server(*ctx.snapshot, name);
    if (!in.scoped || !may_reach(*ctx.key, in.scoped->name)) {
      co_await fail(ctx, 404, null_id, code::invalid_request,
                    fmt::format("Unknown MCP server: {}", name.substr(0, 64)), "unknown_server");
      co_return;
    }
    ctx.mcp_server = in.scoped->name;
  }
  std::string why;
  if (auto c = parse_message(ex.body(), in.msg, why)) {
    co_await fail(ctx, 400, null_id, *c, why, "bad_request");
    co_return;
  }
  ctx.mcp_method = in.msg.method;
  if (in.msg.kind == Kind::response) {
    // A legacy client answering a request the gateway relayed for a 2026 server's input.
    const json::value& rid = in.msg.id;
    deliver_input(*ctx.key, rid, in.msg.doc);
  }
  if (in.msg.kind != Kind::request) {
    // Notifications and a client's responses: accepted; the stateless relay has no one to hand them to.
    ctx.status = 202;
    co_await ex.respond(202, headers_for(ctx, "application/json"), "");
    co_return;
  }
  if (!co_await check_era(in)) co_return;
  std::string_view accept = ex.header("accept");
  in.accepts_sse = accept.find("text/event-stream") != std::string_view::npos;
  in.caller.traceparent = std::string(ex.header("traceparent"));
  // Intermediaries forward Mcp-Param-* (mirrored tool arguments, 2026-07-28) as they came.
  in.caller.param_headers = http::headers_starting_with(ex, "mcp-param-");
  ctx.mcp_subject = std::string(in.msg.subject());
  if (auto* ci = in.caller.client_info.if_contains("name"); ci && ci->is_string())
    ctx.mcp_client = std::string(ci->as_string()).substr(0, 64);
  const auto started = std::chrono::steady_clock::now();
  co_await dispatch_method(in);
  note_outcome(in, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace tollgate::mcp
