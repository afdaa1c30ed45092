// Grants, filters and limits for MCP (governance.h).
#include "mcp/governance.h"

#include "mcp/names.h"

namespace tollgate::mcp {

namespace {

bool any_match(const std::vector<std::string>& globs, std::string_view s) {
  for (const auto& g : globs)
    if (glob_match(g, s)) return true;
  return false;
}

limits::LimitSpec spec_of(const core::Limits& l) {
  limits::LimitSpec s;
  s.rpm = l.rpm;
  s.rpd = l.rpd;
  s.concurrency = l.concurrency;
  return s;
}

}  // namespace

std::string grant_subject(std::string_view server, std::string_view name) {
  std::string s;
  s.reserve(server.size() + 2 + name.size());
  s.append(server).append("__").append(name);
  return s;
}

bool may_reach(const core::Key& key, std::string_view server) {
  if (!key.rules().mcp) return false;
  // A pattern could match something of this server when it matches "server__" followed by
  // anything: test with a wildcard-friendly probe of the pattern's own prefix.
  std::string head = std::string(server) + "__";
  for (const auto& g : key.rules().mcp->allow) {
    std::string_view gv = g;
    std::size_t star = gv.find_first_of("*?");
    std::string_view literal = gv.substr(0, star);
    if (star == std::string_view::npos) {
      if (gv.starts_with(head)) return true;
    } else if (literal.size() <= head.size() ? std::string_view(head).starts_with(literal)
                                              : literal.starts_with(head)) {
      return true;
    }
  }
  return false;
}

bool permitted(const core::Key& key, std::string_view server, std::string_view name) {
  if (!key.rules().mcp) return false;
  std::string subject = grant_subject(server, name);
  if (any_match(key.rules().mcp->deny, subject)) return false;
  return any_match(key.rules().mcp->allow, subject);
}

bool server_exposes(const core::McpServer& server, std::string_view tool) {
  return any_match(server.include, tool) && !any_match(server.exclude, tool);
}

bool tool_visible(const core::Key& key, const core::McpServer& server, const boost::json::object& tool) {
  auto* n = tool.if_contains("name");
  if (!n || !n->is_string()) return false;
  std::string_view name = n->as_string();
  if (!server_exposes(server, name) || !permitted(key, server.name, name)) return false;
  if (key.rules().mcp->read_only) {
    auto* a = tool.if_contains("annotations");
    auto* ro = a && a->is_object() ? a->as_object().if_contains("readOnlyHint") : nullptr;
    if (!ro || !ro->is_bool() || !ro->as_bool()) return false;
  }
  return true;
}

Admitted admit(limits::RateLimiter& limiter, const core::Key& key, const core::McpServer& server,
               std::string_view tool) {
  Admitted out;
  const core::Limits none;
  const core::Limits& key_on_server = key.rules().mcp ? key.rules().mcp->limits : none;
  const core::Limits& key_on_tool = key.rules().mcp ? key.rules().mcp->tool_limits : none;
  auto one = [&](limits::AdmissionRequest req, const char* scope) {
    std::unique_ptr<limits::Admission> hold;
    limits::Decision d = limiter.admit(req, hold);
    if (!d.admitted) {
      out.ok = false;
      out.retry_after = d.retry_after;
      out.scope = scope;
      return false;
    }
    if (hold) out.holds.push_back(std::move(hold));
    return true;
  };
  // Scopes are kept apart from the LLM routes' by an "mcp:" namespace in their ids.
  limits::AdmissionRequest srv;
  srv.key_id = "mcp:" + key.id;
  srv.model = "mcp:" + server.name;
  srv.model_limits = spec_of(server.limits);
  srv.key_model_limits = spec_of(key_on_server);
  if (!srv.model_limits.empty() || !srv.key_model_limits.empty())
    if (!one(std::move(srv), "server")) return out;
  if (!tool.empty() && !key_on_tool.empty()) {
    limits::AdmissionRequest t;
    t.key_id = "mcp:" + key.id;
    t.model = "mcp:" + server.name + "/" + std::string(tool);
    t.key_model_limits = spec_of(key_on_tool);
    if (!one(std::move(t), "tool")) out.holds.clear();
  }
  return out;
}

}  // namespace tollgate::mcp
