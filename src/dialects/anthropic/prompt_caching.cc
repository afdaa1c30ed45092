#include "dialects/anthropic/prompt_caching.h"

#include <boost/json/array.hpp>

namespace tollgate::dialects::anthropic {
namespace json = boost::json;

namespace {

json::object ephemeral() { return json::object{{"type", "ephemeral"}}; }

bool marked(const json::value& v) {
  const auto* o = v.if_object();
  return o && o->contains("cache_control");
}

// A list whose items (or the blocks of their content, or their function) carry cache_control.
bool any_marked(const json::value* list) {
  if (!list || !list->is_array()) return false;
  for (const auto& item : list->get_array()) {
    if (marked(item)) return true;
    const auto* o = item.if_object();
    if (!o) continue;
    if (auto* content = o->if_contains("content"); content && any_marked(content)) return true;
    if (auto* fn = o->if_contains("function"); fn && marked(*fn)) return true;
  }
  return false;
}

bool mark_last_tool(json::object& request) {
  auto* tools = request.if_contains("tools");
  if (!tools || !tools->is_array() || tools->get_array().empty() || !tools->get_array().back().is_object()) return false;
  tools->get_array().back().get_object()["cache_control"] = ephemeral();
  return true;
}

}  // namespace

bool add_cache_breakpoints(json::object& request) {
  json::value* system = request.if_contains("system");
  if (any_marked(system) || any_marked(request.if_contains("messages")) || any_marked(request.if_contains("tools")))
    return false;
  bool added = false;
  if (system && system->is_string() && !system->get_string().empty()) {
    *system = json::array{json::object{{"type", "text"}, {"text", system->get_string()}, {"cache_control", ephemeral()}}};
    added = true;
  } else if (system && system->is_array() && !system->get_array().empty() && system->get_array().back().is_object()) {
    system->get_array().back().get_object()["cache_control"] = ephemeral();
    added = true;
  }
  return mark_last_tool(request) || added;
}

bool add_canonical_cache_breakpoints(json::object& chat) {
  json::value* messages = chat.if_contains("messages");
  if (any_marked(messages) || any_marked(chat.if_contains("tools"))) return false;
  json::object* last_system = nullptr;
  if (messages && messages->is_array())
    for (auto& m : messages->get_array())
      if (auto* o = m.if_object())
        if (auto* role = o->if_contains("role"); role && (*role == "system" || *role == "developer")) last_system = o;
  if (last_system) (*last_system)["cache_control"] = ephemeral();
  return mark_last_tool(chat) || last_system;
}

bool is_bedrock_claude(std::string_view model) {
  return model.find("anthropic.claude") != std::string_view::npos;
}

}  // namespace tollgate::dialects::anthropic
