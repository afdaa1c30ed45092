// Guardrails on tool calls (guard.h).
#include "mcp/guard.h"

#include <boost/json/object.hpp>

namespace tollgate::mcp {
namespace json = boost::json;

namespace {

void string_leaves(json::value& v, std::vector<json::string*>& out) {
  if (v.is_string()) out.push_back(&v.get_string());
  else if (v.is_array())
    for (auto& x : v.get_array()) string_leaves(x, out);
  else if (v.is_object())
    for (auto& [k, x] : v.get_object()) string_leaves(x, out);
}

ToolGuard scan(const guardrails::CompiledPolicies& policies, const std::vector<std::string>& names,
               std::vector<json::string*> leaves, guardrails::Source source) {
  ToolGuard out;
  guardrails::Selection sel = policies.select(names);
  if (sel.empty() || leaves.empty()) return out;
  std::vector<guardrails::InputText> texts;
  for (auto* s : leaves) texts.push_back({source, std::string(*s)});
  guardrails::RestoreMap restore;  // placeholders stay: nothing comes back to restore them
  guardrails::InputVerdict v = policies.scan_input(sel, texts, restore);
  out.blocked = v.blocked;
  out.reason = v.reason;
  out.findings = std::move(v.findings);
  if (!v.blocked && v.redacted)
    for (std::size_t i = 0; i < leaves.size(); ++i) *leaves[i] = texts[i].text;
  return out;
}

}  // namespace

ToolGuard guard_arguments(const guardrails::CompiledPolicies& policies, const std::vector<std::string>& names,
                          json::value& arguments) {
  std::vector<json::string*> leaves;
  string_leaves(arguments, leaves);
  return scan(policies, names, std::move(leaves), guardrails::Source::user);
}

ToolGuard guard_result(const guardrails::CompiledPolicies& policies, const std::vector<std::string>& names,
                       json::value& result) {
  std::vector<json::string*> leaves;
  if (!result.is_object()) return {};
  auto& r = result.get_object();
  // What a model reads: text items, embedded resources' text, structured content. Images,
  // audio and blobs are base64 data, not text.
  if (auto* content = r.if_contains("content"); content && content->is_array())
    for (auto& item : content->get_array()) {
      if (!item.is_object()) continue;
      auto& o = item.get_object();
      if (auto* t = o.if_contains("text"); t && t->is_string()) leaves.push_back(&t->get_string());
      if (auto* res = o.if_contains("resource"); res && res->is_object())
        if (auto* t = res->get_object().if_contains("text"); t && t->is_string()) leaves.push_back(&t->get_string());
    }
  if (auto* sc = r.if_contains("structuredContent")) string_leaves(*sc, leaves);
  return scan(policies, names, std::move(leaves), guardrails::Source::tool);
}

json::object blocked_result(const std::string& reason) {
  return json::object{{"content", json::array{json::object{{"type", "text"}, {"text", reason}}}}, {"isError", true}};
}

}  // namespace tollgate::mcp
