// Who may see and use what: a key's MCP grant (allow/deny globs, deny wins, nothing without a
// grant), a server's tool include/exclude, the read-only option, and the per key / server /
// tool limits through the gateway's limiter. Listing, calling, reading and getting all ask
// the same questions, so a list never shows what a call would refuse.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/resources.h"
#include "limits/rate_limiter.h"

namespace tollgate::mcp {

// The name grants are written against: `server__name` (a tool, prompt or resource URI).
std::string grant_subject(std::string_view server, std::string_view name);

// May `key` reach `server` at all (some allow pattern could match it)?
bool may_reach(const core::Key& key, std::string_view server);
// May `key` use `name` on `server`?
bool permitted(const core::Key& key, std::string_view server, std::string_view name);
// The server's own tool filter (upstream names).
bool server_exposes(const core::McpServer& server, std::string_view tool);
// A tool from tools/list: visible to `key` (filter, grant, read_only)?
bool tool_visible(const core::Key& key, const core::McpServer& server, const boost::json::object& tool);

struct Admitted {
  bool ok = true;
  std::chrono::milliseconds retry_after{0};
  std::string scope;  // which limit refused: "key", "server", "tool"
  std::vector<std::unique_ptr<limits::Admission>> holds;  // concurrency slots, held for the call
};
// Per key on the server, the server for all keys, and the key on one tool ("" : no tool).
Admitted admit(limits::RateLimiter& limiter, const core::Key& key, const core::McpServer& server,
               std::string_view tool);

}  // namespace tollgate::mcp
