// What this process saw of each MCP server since it started: whether it answered last time and
// its last error, the tools it advertised, and its requests (count, errors, latency) per tool
// and outcome. Feeds GET /admin/v1/mcp_status (the Admin UI's MCP page) and the Prometheus
// series. Label values stay bounded: servers are configured, a tool is named only when the
// server advertised it (else "other"), outcomes and methods are fixed sets.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

namespace tollgate::mcp {

// An exchange with the server: it answered (ok), or not, with the error worded for people.
void note_reach(std::string_view server, bool ok, std::string_view error);
// The tools a complete tools/list of the server advertised (upstream names).
void note_tools(std::string_view server, const std::vector<std::string>& tools);
// One request relayed to the server: its method, the upstream tool ("" for others), outcome
// (ok, error, tool_error, blocked, denied, rate_limited, cancelled) and duration.
void note_request(std::string_view server, std::string_view method, std::string_view tool, std::string_view outcome,
                  double seconds);

// For the servers named (the live snapshot's, in its order): reachable (null: not yet asked),
// last_error, last_error_at / last_ok_at (unix ms), tools, requests, errors, latency_ms
// {avg, max}, and per tool {name, calls, errors, avg_ms}.
boost::json::array status_json(const std::vector<std::string>& servers);

// The Prometheus text of the MCP series, for the servers named.
std::string prometheus_text(const std::vector<std::string>& servers);

}  // namespace tollgate::mcp
