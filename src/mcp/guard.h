// Guardrails on tool calls: the calling key's guardrail policies (its `guardrails`, the same
// list its model requests obey) read the strings of a tools/call's arguments before they leave
// (block refuses the call, redact rewrites them) and what the tool returns (text content,
// embedded resource text, structured strings) before the caller sees it. Both sides go through
// the input scanner: tool results are what an agent feeds its model next, so prompt-injection
// rules weigh them as tool texts. Policies are the snapshot's compiled ones; nothing compiles here.
#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/resources.h"
#include "guardrails/guardrail.h"

namespace tollgate::mcp {

struct ToolGuard {
  bool blocked = false;
  std::string reason;  // names the policy and the kind of hit, never the value
  std::vector<guardrails::Finding> findings;
};

// `arguments` (params.arguments) rewritten in place when a redact policy hits.
ToolGuard guard_arguments(const guardrails::CompiledPolicies& policies, const std::vector<std::string>& names,
                          boost::json::value& arguments);
// `result` (a tools/call result) rewritten in place when a redact policy hits.
ToolGuard guard_result(const guardrails::CompiledPolicies& policies, const std::vector<std::string>& names,
                       boost::json::value& result);

// The tools/call result a blocked call or result becomes: isError, with the reason.
boost::json::object blocked_result(const std::string& reason);

}  // namespace tollgate::mcp
