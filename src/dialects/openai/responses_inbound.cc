// A Responses request -> a canonical chat request (responses.h says what the mapping decides).
#include <algorithm>
#include <random>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/json_fields.h"
#include "dialects/openai/responses.h"
#include "store/secret_box.h"

namespace tollgate::dialects::openai::responses {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

bool is_gateway_id(std::string_view id) { return id.starts_with(kIdPrefix); }

std::string new_id(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}{:016x}", prefix, rng(), rng());
}

std::string item_id(std::string_view prefix, std::string_view response_id, std::size_t index) {
  if (!is_gateway_id(response_id)) return new_id(prefix);
  return fmt::format("{}tg{}_{}", prefix, response_id.substr(kIdPrefix.size()), index);
}

std::string response_of_item(std::string_view item_id) {
  auto us = item_id.find('_');
  if (us == std::string_view::npos) return {};
  auto rest = item_id.substr(us + 1);
  if (!rest.starts_with("tg")) return {};
  rest.remove_prefix(2);
  auto end = rest.find('_');
  if (end == std::string_view::npos || end == 0) return {};
  return fmt::format("{}{}", kIdPrefix, rest.substr(0, end));
}

namespace {

GatewayError invalid(std::string message, std::string param) {
  return GatewayError::make(ErrorKind::invalid_request, std::move(message), "invalid_request", std::move(param));
}

bool absent(const json::value* v) { return !v || v->is_null(); }

void drop(Turn& t, std::string name) {
  for (const auto& d : t.dropped)
    if (d == name) return;
  t.dropped.push_back(std::move(name));
}

class Builder {
 public:
  Builder(Turn& t, const store::SecretBox* seal) : t_(t), seal_(seal) {}

  std::optional<GatewayError> item(const json::value& v, const std::string& param) {
    if (v.is_string()) {  // not in the spec, but some clients send bare strings
      push_message("user", json::value(v.get_string()));
      return std::nullopt;
    }
    auto* o = v.if_object();
    if (!o) return invalid(fmt::format("Invalid type for '{}': expected an object.", param), param);
    std::string_view type = str(*o, "type");
    if (type.empty() && o->contains("role")) type = "message";
    if (type == "message") return message(*o, param);
    if (type == "function_call") return function_call(*o, param);
    if (type == "function_call_output") return function_call_output(*o, param);
    if (type == "reasoning") {
      reasoning(*o);
      return std::nullopt;
    }
    if (type.empty()) return invalid(fmt::format("Missing required parameter: '{}.type'.", param), param + ".type");
    // item_reference, web_search_call, custom_tool_call, ...: nothing another provider could read.
    drop(t_, fmt::format("input[].{}", type));
    return std::nullopt;
  }

  json::array take() { return std::move(messages_); }

 private:
  std::optional<GatewayError> message(const json::object& o, const std::string& param) {
    std::string_view role = str(o, "role");
    if (role != "user" && role != "assistant" && role != "system" && role != "developer")
      return invalid(fmt::format("Invalid value for '{}.role': expected one of 'user', 'assistant', 'system' or 'developer'.", param),
                     param + ".role");
    auto* c = o.if_contains("content");
    if (absent(c)) return invalid(fmt::format("Missing required parameter: '{}.content'.", param), param + ".content");
    if (c->is_string()) {
      push_message(role, json::value(c->get_string()));
      return std::nullopt;
    }
    if (!c->is_array()) return invalid(fmt::format("Invalid type for '{}.content': expected a string or an array.", param), param + ".content");
    json::array parts;
    std::string text;  // assistant and system turns: plain text
    const bool plain = role != "user";
    const auto& arr = c->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      auto* p = arr[i].if_object();
      std::string pp = fmt::format("{}.content[{}]", param, i);
      if (!p) return invalid(fmt::format("Invalid type for '{}': expected an object.", pp), pp);
      std::string_view pt = str(*p, "type");
      if (pt == "input_text" || pt == "output_text" || pt == "text" || pt == "refusal") {
        std::string_view s = str(*p, pt == "refusal" ? "refusal" : "text");
        if (plain) text.append(s);
        else parts.push_back(json::object{{"type", "text"}, {"text", s}});
      } else if (pt == "input_image" && !plain) {
        std::string_view url = str(*p, "image_url");
        if (url.empty()) {
          drop(t_, "input_image.file_id");
          continue;
        }
        json::object img{{"url", url}};
        if (auto d = str(*p, "detail"); !d.empty()) img["detail"] = d;
        parts.push_back(json::object{{"type", "image_url"}, {"image_url", std::move(img)}});
      } else {
        drop(t_, fmt::format("content[].{}", pt.empty() ? "unknown" : pt));
      }
    }
    if (plain) push_message(role, json::value(text));
    else if (!parts.empty()) push_message(role, json::value(std::move(parts)));
    return std::nullopt;
  }

  void push_message(std::string_view role, json::value content) {
    json::object m{{"role", role}, {"content", std::move(content)}};
    if (role == "assistant") attach_thinking(m);
    messages_.push_back(std::move(m));
    assistant_open_ = role == "assistant";
  }

  // The assistant turn a function_call joins: the one just before, or a new one.
  json::object& assistant() {
    if (!assistant_open_) {
      json::object m{{"role", "assistant"}, {"content", nullptr}};
      attach_thinking(m);
      messages_.push_back(std::move(m));
      assistant_open_ = true;
    }
    return messages_.back().as_object();
  }

  void attach_thinking(json::object& m) {
    if (pending_thinking_.empty()) return;
    m["thinking_blocks"] = std::move(pending_thinking_);
    pending_thinking_ = {};
  }

  std::optional<GatewayError> function_call(const json::object& o, const std::string& param) {
    std::string_view call_id = str(o, "call_id"), name = str(o, "name");
    if (call_id.empty()) return invalid(fmt::format("Missing required parameter: '{}.call_id'.", param), param + ".call_id");
    if (name.empty()) return invalid(fmt::format("Missing required parameter: '{}.name'.", param), param + ".name");
    std::string full(name);
    if (auto ns = str(o, "namespace"); !ns.empty()) full = fmt::format("{}__{}", ns, name);
    std::string args = "{}";
    if (auto* a = o.if_contains("arguments"); a && a->is_string()) args = std::string(a->get_string());
    auto& m = assistant();
    auto* tc = m.if_contains("tool_calls");
    if (!tc || !tc->is_array()) tc = &(m["tool_calls"] = json::array{});
    json::object call{{"id", call_id}, {"type", "function"}, {"function", json::object{{"name", full}, {"arguments", args}}}};
    if (auto* sig = signatures_.if_contains(call_id))
      call["extra_content"] = json::object{{"google", json::object{{"thought_signature", *sig}}}};
    tc->as_array().push_back(std::move(call));
    return std::nullopt;
  }

  std::optional<GatewayError> function_call_output(const json::object& o, const std::string& param) {
    std::string_view call_id = str(o, "call_id");
    if (call_id.empty()) return invalid(fmt::format("Missing required parameter: '{}.call_id'.", param), param + ".call_id");
    auto* out = o.if_contains("output");
    std::string text;
    if (out && out->is_string()) {
      text = out->get_string();
    } else if (out && out->is_array()) {
      for (const auto& p : out->get_array())
        if (auto* po = p.if_object()) text.append(str(*po, "text"));
    } else if (!absent(out)) {
      text = json::serialize(*out);
    }
    messages_.push_back(json::object{{"role", "tool"}, {"tool_call_id", call_id}, {"content", text}});
    assistant_open_ = false;
    return std::nullopt;
  }

  // A reasoning item the gateway sealed carries the provider's signed blocks; they go on the
  // next assistant turn. Anything else (OpenAI's own encrypted reasoning, a bare summary) is
  // not something another provider can take back.
  void reasoning(const json::object& o) {
    std::string_view enc = str(o, "encrypted_content");
    if (enc.empty()) return;
    auto opened = seal_ ? seal_->open(enc) : std::nullopt;
    if (!opened) {
      drop(t_, std::string(kUnverifiedReasoning));
      return;
    }
    boost::system::error_code ec;
    auto v = json::parse(*opened, ec);
    if (ec || !v.is_object()) return;
    if (auto* b = v.as_object().if_contains("blocks"); b && b->is_array())
      for (auto& block : b->as_array()) pending_thinking_.push_back(std::move(block));
    if (auto* s = v.as_object().if_contains("call_signatures"); s && s->is_object())
      for (auto& kv : s->as_object()) signatures_[kv.key()] = std::move(kv.value());
  }

  Turn& t_;
  const store::SecretBox* seal_;
  json::array messages_;
  json::array pending_thinking_;
  json::object signatures_;  // call_id -> Gemini thought signature, from sealed reasoning
  bool assistant_open_ = false;
};

std::optional<GatewayError> tools(const json::object& req, Turn& t) {
  auto* tv = req.if_contains("tools");
  if (absent(tv)) return std::nullopt;
  if (!tv->is_array()) return invalid("Invalid type for 'tools': expected an array.", "tools");
  json::array out;
  auto add = [&](const json::object& f, std::string name, const std::string& param) -> std::optional<GatewayError> {
    if (name.empty()) return invalid(fmt::format("Missing required parameter: '{}.name'.", param), param + ".name");
    json::object fn{{"name", name}};
    if (auto* d = f.if_contains("description"); d && d->is_string()) fn["description"] = *d;
    if (auto* p = f.if_contains("parameters"); p && p->is_object()) fn["parameters"] = *p;
    if (auto* s = f.if_contains("strict"); s && s->is_bool()) fn["strict"] = *s;
    out.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    return std::nullopt;
  };
  const auto& arr = tv->get_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    std::string param = fmt::format("tools[{}]", i);
    auto* o = arr[i].if_object();
    if (!o) return invalid(fmt::format("Invalid type for '{}': expected an object.", param), param);
    std::string_view type = str(*o, "type");
    if (type == "function") {
      if (auto e = add(*o, std::string(str(*o, "name")), param)) return e;
    } else if (type == "namespace") {
      std::string_view ns = str(*o, "name");
      auto* inner = o->if_contains("tools");
      if (!inner || !inner->is_array()) continue;
      for (std::size_t k = 0; k < inner->get_array().size(); ++k) {
        auto* f = inner->get_array()[k].if_object();
        if (!f || str(*f, "type") != "function") {
          drop(t, "tools[].namespace.tools[]");
          continue;
        }
        std::string name(str(*f, "name"));
        std::string flat = fmt::format("{}__{}", ns, name);
        t.flattened.push_back({flat, {std::string(ns), name}});
        if (auto e = add(*f, flat, fmt::format("{}.tools[{}]", param, k))) return e;
      }
    } else {
      drop(t, fmt::format("tools[].{}", type.empty() ? "unknown" : type));
    }
  }
  if (!out.empty()) t.chat["tools"] = std::move(out);
  return std::nullopt;
}

std::optional<GatewayError> tool_choice(const json::value& v, Turn& t) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (s != "auto" && s != "none" && s != "required")
      return invalid("Invalid value for 'tool_choice': expected 'auto', 'none', 'required' or an object.", "tool_choice");
    if (t.chat.contains("tools")) t.chat["tool_choice"] = s;
    return std::nullopt;
  }
  auto* o = v.if_object();
  if (o && str(*o, "type") == "function" && !str(*o, "name").empty()) {
    t.chat["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", str(*o, "name")}}}};
    return std::nullopt;
  }
  drop(t, "tool_choice");
  return std::nullopt;
}

std::optional<GatewayError> text_format(const json::value& v, Turn& t) {
  auto* o = v.if_object();
  if (!o) return invalid("Invalid type for 'text': expected an object.", "text");
  if (auto* verb = o->if_contains("verbosity"); !absent(verb)) drop(t, "text.verbosity");
  auto* f = o->if_contains("format");
  if (absent(f)) return std::nullopt;
  auto* fo = f->if_object();
  if (!fo) return invalid("Invalid type for 'text.format': expected an object.", "text.format");
  std::string_view type = str(*fo, "type");
  if (type == "text") return std::nullopt;
  if (type == "json_object") {
    t.chat["response_format"] = json::object{{"type", "json_object"}};
    return std::nullopt;
  }
  if (type == "json_schema") {
    json::object js{{"name", str(*fo, "name").empty() ? std::string_view("response") : str(*fo, "name")}};
    if (auto* s = fo->if_contains("schema"); s && s->is_object()) js["schema"] = *s;
    else return invalid("Missing required parameter: 'text.format.schema'.", "text.format.schema");
    if (auto* s = fo->if_contains("strict"); s && s->is_bool()) js["strict"] = *s;
    if (auto* d = fo->if_contains("description"); d && d->is_string()) js["description"] = *d;
    t.chat["response_format"] = json::object{{"type", "json_schema"}, {"json_schema", std::move(js)}};
    return std::nullopt;
  }
  return invalid("Invalid value for 'text.format.type': expected 'text', 'json_object' or 'json_schema'.", "text.format.type");
}

}  // namespace

json::array input_items(const json::object& request) {
  auto* input = request.if_contains("input");
  if (!input) return {};
  if (auto* a = input->if_array()) return *a;
  if (auto* s = input->if_string())
    return json::array{json::object{{"type", "message"}, {"role", "user"},
                                    {"content", json::array{json::object{{"type", "input_text"}, {"text", *s}}}}}};
  return {};
}

namespace {

void estimate(const json::value& v, int64_t& bytes, int64_t& fixed, int depth) {
  if (depth > 64) return;
  if (auto* s = v.if_string()) {
    bytes += static_cast<int64_t>(s->size());
  } else if (auto* a = v.if_array()) {
    for (const auto& x : *a) estimate(x, bytes, fixed, depth + 1);
  } else if (auto* o = v.if_object()) {
    std::string_view type = str(*o, "type");
    if (type == "input_image" || type == "input_file") {
      fixed += 1600;
      return;
    }
    for (const auto& [k, x] : *o)
      if (k != "encrypted_content" && k != "id" && k != "type" && k != "status" && k != "call_id") estimate(x, bytes, fixed, depth + 1);
  }
}

}  // namespace

int64_t input_tokens_estimate(const json::object& request) {
  int64_t bytes = 0, fixed = 0;
  if (auto* ins = request.if_contains("instructions")) estimate(*ins, bytes, fixed, 0);
  auto items = input_items(request);
  fixed += 4 * static_cast<int64_t>(items.size());
  estimate(items, bytes, fixed, 0);
  if (auto* t = request.if_contains("tools"); t && t->is_array())
    for (const auto& tool : t->get_array()) bytes += static_cast<int64_t>(json::serialize(tool).size());
  return std::max<int64_t>(1, (bytes + 3) / 4 + fixed);
}

std::optional<GatewayError> to_chat(const json::object& req, const json::array& history,
                                    const store::SecretBox* seal, Turn& t) {
  t.chat["model"] = req.contains("model") ? req.at("model") : json::value("");
  if (auto* s = req.if_contains("stream"); s && s->is_bool()) t.stream = s->get_bool();
  if (auto* s = req.if_contains("store"); s && s->is_bool()) t.store = s->get_bool();
  if (auto p = str(req, "previous_response_id"); !p.empty()) t.previous_response_id = p;
  if (t.stream) {
    t.chat["stream"] = true;
    t.chat["stream_options"] = json::object{{"include_usage", true}};
  }

  json::array messages;
  if (auto* ins = req.if_contains("instructions"); !absent(ins)) {
    if (!ins->is_string()) return invalid("Invalid type for 'instructions': expected a string.", "instructions");
    if (!ins->get_string().empty()) messages.push_back(json::object{{"role", "system"}, {"content", *ins}});
    t.echo["instructions"] = *ins;
  }

  // This turn's input as items (a string is one user message).
  auto* input = req.if_contains("input");
  if (!absent(input) && !input->is_string() && !input->is_array())
    return invalid("Invalid type for 'input': expected a string or an array.", "input");
  t.input_items = input_items(req);

  Builder b(t, seal);
  for (std::size_t i = 0; i < history.size(); ++i)
    if (auto e = b.item(history[i], fmt::format("previous_response_id ({})", i))) return e;
  for (std::size_t i = 0; i < t.input_items.size(); ++i)
    if (auto e = b.item(t.input_items[i], fmt::format("input[{}]", i))) return e;
  for (auto& m : b.take()) messages.push_back(std::move(m));
  if (messages.empty()) return invalid("Missing required parameter: 'input'.", "input");
  t.chat["messages"] = std::move(messages);

  if (auto e = tools(req, t)) return e;
  if (auto* tv = req.if_contains("tools"); tv && tv->is_array()) t.echo["tools"] = *tv;
  if (auto* tc = req.if_contains("tool_choice"); !absent(tc)) {
    if (auto e = tool_choice(*tc, t)) return e;
    t.echo["tool_choice"] = *tc;
  }
  if (auto* p = req.if_contains("parallel_tool_calls"); p && p->is_bool()) {
    if (t.chat.contains("tools")) t.chat["parallel_tool_calls"] = *p;
    t.echo["parallel_tool_calls"] = *p;
  }
  if (auto* text = req.if_contains("text"); !absent(text)) {
    if (auto e = text_format(*text, t)) return e;
    t.echo["text"] = *text;
  }
  if (auto* r = req.if_contains("reasoning"); !absent(r)) {
    auto* ro = r->if_object();
    if (!ro) return invalid("Invalid type for 'reasoning': expected an object.", "reasoning");
    if (auto effort = str(*ro, "effort"); !effort.empty()) t.chat["reasoning_effort"] = effort;
    t.echo["reasoning"] = *r;
  }
  if (auto* inc = req.if_contains("include"); inc && inc->is_array())
    for (const auto& v : inc->get_array())
      if (v.is_string() && v.get_string() == "reasoning.encrypted_content") t.include_encrypted = true;
  if (auto* m = req.if_contains("max_output_tokens"); !absent(m)) {
    if (!m->is_int64() && !m->is_uint64()) return invalid("Invalid type for 'max_output_tokens': expected an integer.", "max_output_tokens");
    t.chat["max_completion_tokens"] = *m;
    t.echo["max_output_tokens"] = *m;
  }
  for (const char* k : {"temperature", "top_p", "user", "safety_identifier"}) {
    if (auto* v = req.if_contains(k); !absent(v)) {
      t.chat[k] = *v;
      t.echo[k] = *v;
    }
  }
  if (auto* m = req.if_contains("metadata"); !absent(m)) t.echo["metadata"] = *m;
  if (auto* bg = req.if_contains("background"); bg && bg->is_bool() && bg->get_bool())
    return invalid("Background responses are not available through the gateway for this model.", "background");
  for (const char* k : {"prompt", "conversation"})
    if (auto* v = req.if_contains(k); !absent(v))
      return invalid(fmt::format("'{}' is not available through the gateway for this model; send 'input' (and previous_response_id).", k), k);

  // Steering with no equivalent on the chat path: dropped, and named.
  static constexpr std::string_view steering[] = {"prompt_cache_key", "prompt_cache_retention", "truncation",
                                                  "service_tier", "top_logprobs", "max_tool_calls"};
  for (auto k : steering)
    if (auto* v = req.if_contains(k); !absent(v)) drop(t, std::string(k));
  // Accepted and used by the gateway, or the client's own bookkeeping.
  static constexpr std::string_view handled[] = {
      "model", "input", "instructions", "stream", "stream_options", "store", "previous_response_id", "tools",
      "tool_choice", "parallel_tool_calls", "text", "reasoning", "include", "max_output_tokens", "temperature",
      "top_p", "user", "safety_identifier", "metadata", "background", "prompt", "conversation",
      "client_metadata", "prompt_cache_key", "prompt_cache_retention", "truncation", "service_tier",
      "top_logprobs", "max_tool_calls"};
  for (const auto& kv : req) {
    bool known = false;
    for (auto k : handled) known = known || kv.key() == k;
    if (!known && !kv.value().is_null()) drop(t, std::string(kv.key()));
  }
  return std::nullopt;
}

}  // namespace tollgate::dialects::openai::responses
