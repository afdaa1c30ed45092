// The MCP servers' runtime status and series (stats.h).
#include "mcp/stats.h"

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <boost/json/object.hpp>
#include <fmt/format.h>

namespace tollgate::mcp {
namespace json = boost::json;

namespace {

constexpr std::array<double, 12> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60};

struct Series {
  uint64_t count = 0, errors = 0;
  double sum = 0, max = 0;
  std::array<uint64_t, kBuckets.size()> buckets{};
  void observe(double s, bool error) {
    ++count;
    errors += error;
    sum += s;
    max = std::max(max, s);
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      if (s <= kBuckets[i]) ++buckets[i];
  }
};

struct ServerState {
  std::optional<bool> reachable;
  std::string last_error;
  int64_t last_error_at = 0, last_ok_at = 0;
  std::set<std::string> tools;
  Series all;
  // (method, tool label, outcome) -> series
  std::map<std::tuple<std::string, std::string, std::string>, Series> by;
};

std::mutex mu;
std::map<std::string, ServerState, std::less<>> servers;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ServerState& state_of(std::string_view server) {
  auto it = servers.find(server);
  if (it == servers.end()) it = servers.emplace(std::string(server), ServerState{}).first;
  return it->second;
}

bool is_error(std::string_view outcome) { return outcome != "ok"; }

std::string escaped(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

void note_reach(std::string_view server, bool ok, std::string_view error) {
  std::lock_guard lock(mu);
  auto& s = state_of(server);
  s.reachable = ok;
  if (ok) {
    s.last_ok_at = now_ms();
  } else {
    s.last_error = std::string(error.substr(0, 500));
    s.last_error_at = now_ms();
  }
}

void note_tools(std::string_view server, const std::vector<std::string>& tools) {
  std::lock_guard lock(mu);
  auto& s = state_of(server);
  s.tools = std::set<std::string>(tools.begin(), tools.end());
}

void note_request(std::string_view server, std::string_view method, std::string_view tool, std::string_view outcome,
                  double seconds) {
  std::lock_guard lock(mu);
  auto& s = state_of(server);
  std::string label = tool.empty() ? "" : s.tools.contains(std::string(tool)) ? std::string(tool) : "other";
  s.all.observe(seconds, is_error(outcome));
  s.by[{std::string(method), std::move(label), std::string(outcome)}].observe(seconds, is_error(outcome));
}

json::array status_json(const std::vector<std::string>& names) {
  std::lock_guard lock(mu);
  json::array out;
  for (const auto& name : names) {
    json::object o{{"name", name}};
    auto it = servers.find(name);
    const ServerState empty;
    const ServerState& s = it == servers.end() ? empty : it->second;
    o["reachable"] = s.reachable ? json::value(*s.reachable) : json::value(nullptr);
    o["last_error"] = s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error);
    o["last_error_at"] = s.last_error_at ? json::value(s.last_error_at) : json::value(nullptr);
    o["last_ok_at"] = s.last_ok_at ? json::value(s.last_ok_at) : json::value(nullptr);
    json::array tools;
    for (const auto& t : s.tools) tools.emplace_back(t);
    o["tools"] = std::move(tools);
    o["requests"] = s.all.count;
    o["errors"] = s.all.errors;
    o["latency_ms"] = json::object{{"avg", s.all.count ? s.all.sum * 1000 / double(s.all.count) : 0.0},
                                   {"max", s.all.max * 1000}};
    std::map<std::string, Series> per_tool;
    for (const auto& [k, v] : s.by) {
      const auto& [method, tool, outcome] = k;
      if (method != "tools/call" || tool.empty()) continue;
      auto& t = per_tool[tool];
      t.count += v.count;
      t.errors += v.errors;
      t.sum += v.sum;
    }
    json::array calls;
    for (const auto& [tool, v] : per_tool)
      calls.push_back(json::object{{"tool", tool}, {"calls", v.count}, {"errors", v.errors},
                                   {"avg_ms", v.count ? v.sum * 1000 / double(v.count) : 0.0}});
    o["tool_calls"] = std::move(calls);
    out.push_back(std::move(o));
  }
  return out;
}

std::string prometheus_text(const std::vector<std::string>& names) {
  std::lock_guard lock(mu);
  std::string out;
  out += "# HELP tollgate_mcp_server_up Whether the MCP server answered the gateway's last exchange (1) or not (0).\n"
         "# TYPE tollgate_mcp_server_up gauge\n";
  for (const auto& name : names) {
    auto it = servers.find(name);
    if (it == servers.end() || !it->second.reachable) continue;
    out += fmt::format("tollgate_mcp_server_up{{server=\"{}\"}} {}\n", escaped(name), *it->second.reachable ? 1 : 0);
  }
  out += "# HELP tollgate_mcp_requests_total MCP requests relayed, by server, method, tool (advertised names, else "
         "other) and outcome.\n# TYPE tollgate_mcp_requests_total counter\n";
  std::string hist = "# HELP tollgate_mcp_request_duration_seconds MCP request latency through the gateway.\n"
                     "# TYPE tollgate_mcp_request_duration_seconds histogram\n";
  for (const auto& name : names) {
    auto it = servers.find(name);
    if (it == servers.end()) continue;
    for (const auto& [k, v] : it->second.by) {
      const auto& [method, tool, outcome] = k;
      std::string labels = fmt::format("server=\"{}\",method=\"{}\",tool=\"{}\",outcome=\"{}\"", escaped(name),
                                       escaped(method), escaped(tool), escaped(outcome));
      out += fmt::format("tollgate_mcp_requests_total{{{}}} {}\n", labels, v.count);
      for (std::size_t i = 0; i < kBuckets.size(); ++i)
        hist += fmt::format("tollgate_mcp_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, kBuckets[i],
                            v.buckets[i]);
      hist += fmt::format("tollgate_mcp_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n", labels, v.count);
      hist += fmt::format("tollgate_mcp_request_duration_seconds_sum{{{}}} {}\n", labels, v.sum);
      hist += fmt::format("tollgate_mcp_request_duration_seconds_count{{{}}} {}\n", labels, v.count);
    }
  }
  return out + hist;
}

}  // namespace tollgate::mcp
