#include "dialects/anthropic/inbound.h"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/anthropic/wire.h"
#include "http/sse.h"

namespace tollgate::dialects::anthropic {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

// Anthropic names fields in its messages as "messages.0.content.1"; we answer the same way.
GatewayError invalid(std::string message, std::string param) {
  return GatewayError::make(ErrorKind::invalid_request, std::move(message), "invalid_request",
                            std::move(param));
}

GatewayError unsupported(const std::string& param, std::string_view why) {
  return GatewayError::make(ErrorKind::invalid_request,
                            fmt::format("{}: not supported when the model is served by a non-Anthropic "
                                        "provider ({}).",
                                        param, why),
                            "unsupported_parameter", param);
}

bool absent(const json::value* v) { return !v || v->is_null(); }

// A steer the target cannot honour: dropped and named (the default), or a 400 naming it when
// the model asks for strict parameters.
std::optional<GatewayError> drop_or_refuse(const EncodeOptions& drops, const std::string& name,
                                           std::string_view why) {
  if (drops.drop(name)) return std::nullopt;
  return unsupported(name, why);
}

// cache_control on a block, a message or a tool: a hint no other provider takes.
std::optional<GatewayError> cache_hint(const json::object& o, const EncodeOptions& drops) {
  if (absent(o.if_contains("cache_control"))) return std::nullopt;
  return drop_or_refuse(drops, "cache_control", "prompt caching hints are Anthropic's");
}

json::object text_part(std::string_view text) { return json::object{{"type", "text"}, {"text", text}}; }

// Parts -> the plain string when they are one text part, else the parts themselves.
json::value compact(json::array parts) {
  if (parts.size() == 1 && json_str(parts[0].as_object(), "type") == "text") return parts[0].as_object()["text"];
  return parts;
}

// Each block of a message's content list with its name ("messages.0.content.1") and type,
// after what every block is checked for (an object; cache_control dropped or refused).
template <class Visit>
std::optional<GatewayError> each_block(const json::array& content, const std::string& param, const EncodeOptions& drops,
                                       Visit visit) {
  for (std::size_t j = 0; j < content.size(); ++j) {
    std::string bp = fmt::format("{}.{}", param, j);
    auto* b = content[j].if_object();
    if (!b) return invalid(bp + ": Input should be a valid dictionary", bp);
    if (auto e = cache_hint(*b, drops)) return e;
    if (auto e = visit(*b, json_str(*b, "type"), bp)) return e;
  }
  return std::nullopt;
}

std::optional<GatewayError> image_part(const json::object& block, const std::string& param, json::array& parts,
                                       const EncodeOptions& drops) {
  auto* s = block.if_contains("source");
  auto* src = s ? s->if_object() : nullptr;
  if (!src) return invalid(param + ".source: Field required", param + ".source");
  std::string_view stype = json_str(*src, "type");
  std::string url;
  if (stype == "base64") {
    url = fmt::format("data:{};base64,{}", json_str(*src, "media_type"), json_str(*src, "data"));
  } else if (stype == "url") {
    url = json_str(*src, "url");
  } else {
    return drop_or_refuse(drops, fmt::format("image.source.{}", stype), "only base64 and URL images translate");
  }
  parts.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", url}}}});
  return std::nullopt;
}

std::optional<GatewayError> document_part(const json::object& block, const std::string& param, json::array& parts,
                                          const EncodeOptions& drops) {
  auto* s = block.if_contains("source");
  auto* src = s ? s->if_object() : nullptr;
  if (!src) return invalid(param + ".source: Field required", param + ".source");
  std::string_view stype = json_str(*src, "type");
  if (stype == "text") {
    parts.push_back(text_part(json_str(*src, "data")));
  } else if (stype == "base64") {
    json::object file{{"file_data", fmt::format("data:{};base64,{}", json_str(*src, "media_type"), json_str(*src, "data"))}};
    auto title = json_str(block, "title");
    file["filename"] = title.empty() ? std::string_view("document.pdf") : title;
    parts.push_back(json::object{{"type", "file"}, {"file", std::move(file)}});
  } else if (stype == "url") {
    // OpenAI-shaped file parts carry data, not links: the link is given to the model as text.
    parts.push_back(text_part(fmt::format("Document: {}", json_str(*src, "url"))));
  } else {
    return drop_or_refuse(drops, fmt::format("document.source.{}", stype), "only text, base64 and URL documents translate");
  }
  return std::nullopt;
}

// A user turn: tool_result blocks become tool messages (first, as OpenAI needs them right
// after the assistant's tool_calls), the rest one user message.
std::optional<GatewayError> user_turn(const json::value& content, const std::string& param, json::array& out,
                                      const EncodeOptions& drops) {
  if (content.is_string()) {
    out.push_back(json::object{{"role", "user"}, {"content", content}});
    return std::nullopt;
  }
  if (!content.is_array()) return invalid(param + ": Input should be a valid string or list", param);
  json::array parts;
  json::array tool_images;
  auto block = [&](const json::object& b, std::string_view type, const std::string& bp) -> std::optional<GatewayError> {
    if (type == "text") {
      parts.push_back(text_part(json_str(b, "text")));
    } else if (type == "image") {
      if (auto e = image_part(b, bp, parts, drops)) return e;
    } else if (type == "document") {
      if (auto e = document_part(b, bp, parts, drops)) return e;
    } else if (type == "tool_result") {
      std::string_view id = json_str(b, "tool_use_id");
      if (id.empty()) return invalid(bp + ".tool_use_id: Field required", bp + ".tool_use_id");
      json::array text;
      const json::value* c = b.if_contains("content");
      if (c && c->is_string()) {
        text.push_back(text_part(c->get_string()));
      } else if (c && c->is_array()) {
        for (std::size_t k = 0; k < c->get_array().size(); ++k) {
          std::string cp = fmt::format("{}.content.{}", bp, k);
          auto* cb = c->get_array()[k].if_object();
          std::string_view ctype = cb ? json_str(*cb, "type") : std::string_view{};
          if (cb) { if (auto e = cache_hint(*cb, drops)) return e; }
          if (ctype == "text") text.push_back(text_part(json_str(*cb, "text")));
          else if (ctype == "image") { if (auto e = image_part(*cb, cp, tool_images, drops)) return e; }
          else if (ctype == "document") { if (auto e = document_part(*cb, cp, tool_images, drops)) return e; }
          else if (auto e = drop_or_refuse(drops, fmt::format("content.{}", ctype), "no equivalent in a tool result")) return e;
        }
      }
      if (auto* err = b.if_contains("is_error"); err && err->is_bool() && err->get_bool()) {
        if (text.empty()) text.push_back(text_part("Error"));
        else {
          auto& first = text[0].as_object()["text"];
          first = "Error: " + std::string(first.get_string());
        }
      }
      json::value tc = text.empty() ? json::value("") : compact(std::move(text));
      out.push_back(json::object{{"role", "tool"}, {"tool_call_id", id}, {"content", std::move(tc)}});
    } else if (auto e = drop_or_refuse(drops, fmt::format("content.{}", type), "no equivalent content block")) {
      return e;
    }
    return std::nullopt;
  };
  if (auto e = each_block(content.get_array(), param, drops, block)) return e;
  for (auto& img : tool_images) parts.push_back(std::move(img));
  if (!parts.empty()) out.push_back(json::object{{"role", "user"}, {"content", compact(std::move(parts))}});
  return std::nullopt;
}

std::optional<GatewayError> assistant_turn(const json::value& content, const std::string& param, json::array& out,
                                           const EncodeOptions& drops) {
  if (content.is_string()) {
    out.push_back(json::object{{"role", "assistant"}, {"content", content}});
    return std::nullopt;
  }
  if (!content.is_array()) return invalid(param + ": Input should be a valid string or list", param);
  json::array parts, calls;
  auto block = [&](const json::object& b, std::string_view type, const std::string&) -> std::optional<GatewayError> {
    if (type == "text") {
      parts.push_back(text_part(json_str(b, "text")));
    } else if (type == "tool_use") {
      const json::value* input = b.if_contains("input");
      calls.push_back(json::object{
          {"id", json_str(b, "id")},
          {"type", "function"},
          {"function", json::object{{"name", json_str(b, "name")},
                                    {"arguments", input ? json::serialize(*input) : std::string("{}")}}}});
    } else if (type == "thinking" || type == "redacted_thinking") {
      // signed for Anthropic only; other providers cannot take it back
    } else if (auto e = drop_or_refuse(drops, fmt::format("content.{}", type), "no equivalent content block")) {
      return e;
    }
    return std::nullopt;
  };
  if (auto e = each_block(content.get_array(), param, drops, block)) return e;
  if (parts.empty() && calls.empty()) return std::nullopt;
  json::object m{{"role", "assistant"}};
  m["content"] = parts.empty() ? json::value(nullptr) : compact(std::move(parts));
  if (!calls.empty()) m["tool_calls"] = std::move(calls);
  out.push_back(std::move(m));
  return std::nullopt;
}

std::optional<GatewayError> convert_tools(const json::object& req, json::object& chat, const EncodeOptions& drops) {
  bool have_tools = false;
  if (auto* tv = req.if_contains("tools"); !absent(tv)) {
    if (!tv->is_array()) return invalid("tools: Input should be a valid list", "tools");
    json::array tools;
    for (std::size_t i = 0; i < tv->get_array().size(); ++i) {
      std::string tp = fmt::format("tools.{}", i);
      auto* t = tv->get_array()[i].if_object();
      if (!t) return invalid(tp + ": Input should be a valid dictionary", tp);
      std::string_view type = json_str(*t, "type");
      if (!type.empty() && type != "custom") {
        // A server tool (web search, code execution, ...) runs on Anthropic's side only.
        if (auto e = drop_or_refuse(drops, fmt::format("tools.{}", type), "a server tool runs on Anthropic's side")) return e;
        continue;
      }
      if (auto e = cache_hint(*t, drops)) return e;
      if (auto* d = t->if_contains("defer_loading"); d && d->is_bool() && d->get_bool())
        if (auto e = drop_or_refuse(drops, "tools.defer_loading", "every tool is loaded up front")) return e;
      if (json_str(*t, "name").empty()) return invalid(tp + ".name: Field required", tp + ".name");
      json::object fn{{"name", json_str(*t, "name")}};
      if (auto d = json_str(*t, "description"); !d.empty()) fn["description"] = d;
      if (auto* s = t->if_contains("input_schema"); s && s->is_object()) fn["parameters"] = *s;
      else return invalid(tp + ".input_schema: Field required", tp + ".input_schema");
      tools.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    have_tools = !tools.empty();
    if (have_tools) chat["tools"] = std::move(tools);
  }
  if (auto* tc = req.if_contains("tool_choice"); !absent(tc)) {
    auto* o = tc->if_object();
    if (!o) return invalid("tool_choice: Input should be a valid dictionary", "tool_choice");
    std::string_view type = json_str(*o, "type");
    if (!have_tools) return std::nullopt;  // OpenAI rejects tool_choice without tools
    if (type == "auto") chat["tool_choice"] = "auto";
    else if (type == "any") chat["tool_choice"] = "required";
    else if (type == "none") chat["tool_choice"] = "none";
    else if (type == "tool") {
      if (json_str(*o, "name").empty()) return invalid("tool_choice.name: Field required", "tool_choice.name");
      chat["tool_choice"] = json::object{{"type", "function"}, {"function", json::object{{"name", json_str(*o, "name")}}}};
    } else {
      return invalid(fmt::format("tool_choice.type: Input tag '{}' does not match any of the expected tags: "
                                 "'auto', 'any', 'tool', 'none'", type),
                     "tool_choice.type");
    }
    if (auto* d = o->if_contains("disable_parallel_tool_use"); d && d->is_bool() && d->get_bool() && type != "none")
      chat["parallel_tool_calls"] = false;
  }
  return std::nullopt;
}

// The top-level `system`, or a `role: "system"` entry of `messages` (`param` says which): a
// system message in place.
std::optional<GatewayError> convert_system(const json::value& sys, const std::string& param, json::array& messages,
                                           const EncodeOptions& drops) {
  if (sys.is_string()) {
    if (!sys.get_string().empty()) messages.push_back(json::object{{"role", "system"}, {"content", sys}});
    return std::nullopt;
  }
  if (!sys.is_array()) return invalid(param + ": Input should be a valid string or list", param);
  json::array parts;
  for (std::size_t i = 0; i < sys.get_array().size(); ++i) {
    auto* b = sys.get_array()[i].if_object();
    if (!b || json_str(*b, "type") != "text")
      return invalid(fmt::format("{}.{}: Input should be a text block", param, i), fmt::format("{}.{}", param, i));
    if (auto e = cache_hint(*b, drops)) return e;
    if (!json_str(*b, "text").empty()) parts.push_back(text_part(json_str(*b, "text")));
  }
  if (!parts.empty()) messages.push_back(json::object{{"role", "system"}, {"content", compact(std::move(parts))}});
  return std::nullopt;
}

// thinking -> reasoning_effort: budget < 4096 low, < 16384 medium, else high; adaptive medium.
std::optional<GatewayError> convert_thinking(const json::value& t, json::object& chat) {
  auto* o = t.if_object();
  if (!o) return invalid("thinking: Input should be a valid dictionary", "thinking");
  std::string_view type = json_str(*o, "type");
  if (type == "enabled") {
    int64_t budget = json_int(o->if_contains("budget_tokens"));
    chat["reasoning_effort"] = budget < 4096 ? "low" : budget < 16384 ? "medium" : "high";
  } else if (type == "adaptive") {
    chat["reasoning_effort"] = "medium";
  } else if (type != "disabled") {
    return invalid(fmt::format("thinking.type: Input tag '{}' does not match any of the expected tags: "
                               "'enabled', 'disabled', 'adaptive'", type),
                   "thinking.type");
  }
  return std::nullopt;
}

// output_config: effort -> reasoning_effort (it says more than thinking's type, so it wins;
// "max" is the highest every target takes, high), format -> response_format.
std::optional<GatewayError> convert_output_config(const json::value& v, json::object& chat, const EncodeOptions& drops) {
  auto* o = v.if_object();
  if (!o) return invalid("output_config: Input should be a valid dictionary", "output_config");
  for (const auto& kv : *o) {
    std::string_view k = kv.key();
    if (kv.value().is_null()) continue;
    if (k == "effort") {
      std::string_view e = kv.value().is_string() ? std::string_view(kv.value().get_string()) : "";
      if (e != "low" && e != "medium" && e != "high" && e != "max")
        return invalid("output_config.effort: Input should be 'low', 'medium', 'high' or 'max'", "output_config.effort");
      chat["reasoning_effort"] = e == "max" ? std::string_view("high") : e;
    } else if (k == "format") {
      auto* f = kv.value().if_object();
      if (!f || json_str(*f, "type") != "json_schema" || !f->contains("schema"))
        return invalid("output_config.format: Input should be {\"type\": \"json_schema\", \"schema\": {...}}",
                       "output_config.format");
      chat["response_format"] = json::object{
          {"type", "json_schema"},
          {"json_schema", json::object{{"name", "output"}, {"schema", f->at("schema")}, {"strict", true}}}};
    } else if (auto e = drop_or_refuse(drops, fmt::format("output_config.{}", k), "no equivalent")) {
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<GatewayError> messages_to_chat(const json::value& reqv, json::object& chat, std::string& model,
                                             bool& stream, const EncodeOptions& drops) {
  auto* req = reqv.if_object();
  if (!req) return invalid("The request body must be a JSON object.", "");
  static constexpr std::string_view known[] = {
      "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature",
      "top_p", "top_k", "tools", "tool_choice", "thinking", "output_config"};
  for (const auto& kv : *req) {
    std::string_view k = kv.key();
    if (std::find(std::begin(known), std::end(known), k) != std::end(known)) continue;
    if (kv.value().is_null() || (kv.value().is_array() && kv.value().get_array().empty())) continue;
    // Steers with no equivalent elsewhere (context_management, service_tier, mcp_servers,
    // container, and what newer API versions add) are dropped and named, or refused.
    if (drops.drop(std::string(k))) continue;
    if (k == "mcp_servers" || k == "container") return unsupported(std::string(k), "it runs on Anthropic's servers");
    if (k == "context_management" || k == "service_tier") return unsupported(std::string(k), "no equivalent");
    return invalid(fmt::format("{}: Extra inputs are not permitted", k), std::string(k));
  }

  auto* mv = req->if_contains("model");
  if (absent(mv)) return invalid("model: Field required", "model");
  if (!mv->is_string() || mv->get_string().empty()) return invalid("model: Input should be a valid string", "model");
  auto* mt = req->if_contains("max_tokens");
  if (absent(mt)) return invalid("max_tokens: Field required", "max_tokens");
  if (!mt->is_int64() && !mt->is_uint64()) return invalid("max_tokens: Input should be a valid integer", "max_tokens");
  if (json_int(mt) < 1) return invalid("max_tokens: Input should be greater than or equal to 1", "max_tokens");
  auto* msgs = req->if_contains("messages");
  if (absent(msgs)) return invalid("messages: Field required", "messages");
  if (!msgs->is_array()) return invalid("messages: Input should be a valid list", "messages");
  if (msgs->get_array().empty()) return invalid("messages: at least one message is required", "messages");
  stream = false;
  if (auto* s = req->if_contains("stream"); !absent(s)) {
    if (!s->is_bool()) return invalid("stream: Input should be a valid boolean", "stream");
    stream = s->get_bool();
  }
  model.assign(mv->get_string().begin(), mv->get_string().end());

  json::array messages;
  if (auto* sys = req->if_contains("system"); !absent(sys)) {
    if (auto e = convert_system(*sys, "system", messages, drops)) return e;
  }
  for (std::size_t i = 0; i < msgs->get_array().size(); ++i) {
    std::string mp = fmt::format("messages.{}", i);
    auto* m = msgs->get_array()[i].if_object();
    if (!m) return invalid(mp + ": Input should be a valid dictionary", mp);
    std::string_view role = json_str(*m, "role");
    auto* content = m->if_contains("content");
    if (absent(content)) return invalid(mp + ".content: Field required", mp + ".content");
    if (auto e = cache_hint(*m, drops)) return e;
    if (role == "user") {
      if (auto e = user_turn(*content, mp + ".content", messages, drops)) return e;
    } else if (role == "assistant") {
      if (auto e = assistant_turn(*content, mp + ".content", messages, drops)) return e;
    } else if (role == "system") {
      // Claude Code puts system entries between (and after) turns: kept in place.
      if (auto e = convert_system(*content, mp + ".content", messages, drops)) return e;
    } else {
      return invalid(fmt::format("{}.role: Input should be 'user', 'assistant' or 'system'", mp), mp + ".role");
    }
  }

  chat = json::object{};
  chat["model"] = model;
  chat["messages"] = std::move(messages);
  chat["max_completion_tokens"] = json_int(mt);
  for (const char* k : {"temperature", "top_p"}) {
    if (auto* v = req->if_contains(k); !absent(v)) {
      if (!v->is_number()) return invalid(fmt::format("{}: Input should be a valid number", k), k);
      chat[k] = *v;
    }
  }
  // Kept as the canonical form's extension: Gemini and Bedrock take it, OpenAI drops it.
  if (auto* k = req->if_contains("top_k"); !absent(k)) {
    if (!k->is_int64() && !k->is_uint64()) return invalid("top_k: Input should be a valid integer", "top_k");
    chat["top_k"] = *k;
  }
  if (auto* s = req->if_contains("stop_sequences"); !absent(s)) {
    if (!s->is_array()) return invalid("stop_sequences: Input should be a valid list", "stop_sequences");
    json::array stop;
    for (const auto& x : s->get_array()) {
      if (!x.is_string()) return invalid("stop_sequences: Input should be a list of strings", "stop_sequences");
      stop.push_back(x);
    }
    if (!stop.empty()) chat["stop"] = std::move(stop);
  }
  if (auto e = convert_tools(*req, chat, drops)) return e;
  if (auto* t = req->if_contains("thinking"); !absent(t)) {
    if (auto e = convert_thinking(*t, chat)) return e;
  }
  if (auto* oc = req->if_contains("output_config"); !absent(oc)) {
    if (auto e = convert_output_config(*oc, chat, drops)) return e;
  }
  if (auto* md = req->if_contains("metadata"); md && md->is_object()) {
    if (auto u = json_str(md->get_object(), "user_id"); !u.empty()) chat["user"] = u;
  }
  if (stream) {
    chat["stream"] = true;
    chat["stream_options"] = json::object{{"include_usage", true}};
  }
  return std::nullopt;
}

// ------------------------------------------------------------------------------------------

namespace {

std::string message_id(std::string_view chat_id) {
  constexpr std::string_view prefix = "chatcmpl-";
  if (chat_id.substr(0, prefix.size()) == prefix) chat_id.remove_prefix(prefix.size());
  if (chat_id.empty()) chat_id = "tollgate";
  return "msg_" + std::string(chat_id);
}

// The text of an OpenAI message `content`: a string, or its text parts joined.
std::string content_text(const json::value* c) {
  if (!c) return {};
  if (c->is_string()) return std::string(c->get_string());
  std::string out;
  if (c->is_array()) {
    for (const auto& p : c->get_array())
      if (auto* o = p.if_object(); o && json_str(*o, "type") == "text") out.append(json_str(*o, "text"));
  }
  return out;
}

json::value tool_input(std::string_view arguments) {
  boost::system::error_code ec;
  json::value v = json::parse(arguments, ec);
  if (ec || !v.is_object()) return json::object{};
  return v;
}

std::string_view reasoning_of(const json::object& o) {
  auto r = json_str(o, "reasoning_content");
  return r.empty() ? json_str(o, "reasoning") : r;  // vLLM and OpenRouter say "reasoning"
}

}  // namespace

json::object chat_to_message(const json::object& completion, std::string_view model) {
  json::array content;
  std::string_view finish;
  if (auto* cv = completion.if_contains("choices"); cv && cv->is_array() && !cv->get_array().empty()) {
    const auto* choice = cv->get_array()[0].if_object();
    const json::object* msg = nullptr;
    if (choice) {
      finish = json_str(*choice, "finish_reason");
      auto* m = choice->if_contains("message");
      msg = m ? m->if_object() : nullptr;
    }
    if (msg) {
      if (auto r = reasoning_of(*msg); !r.empty())
        content.push_back(json::object{{"type", "thinking"}, {"thinking", r}, {"signature", ""}});
      std::string text = content_text(msg->if_contains("content"));
      if (text.empty()) text = json_str(*msg, "refusal");
      if (!text.empty()) content.push_back(json::object{{"type", "text"}, {"text", text}});
      if (auto* tcs = msg->if_contains("tool_calls"); tcs && tcs->is_array()) {
        for (const auto& tv : tcs->get_array()) {
          auto* tc = tv.if_object();
          if (!tc) continue;
          auto* f = tc->if_contains("function");
          const json::object empty;
          const json::object& fn = f && f->is_object() ? f->get_object() : empty;
          content.push_back(json::object{{"type", "tool_use"},
                                         {"id", json_str(*tc, "id")},
                                         {"name", json_str(fn, "name")},
                                         {"input", tool_input(json_str(fn, "arguments"))}});
        }
      }
    }
  }
  core::Usage usage;
  if (auto* u = completion.if_contains("usage")) read_openai_usage(*u, usage);
  return json::object{{"id", message_id(json_str(completion, "id"))},
                      {"type", "message"},
                      {"role", "assistant"},
                      {"model", model},
                      {"content", std::move(content)},
                      {"stop_reason", stop_reason_for(finish)},
                      {"stop_sequence", nullptr},
                      {"usage", WireUsage::from_canonical(usage).to_json()}};
}

// ------------------------------------------------------------------------------------------

namespace {

void emit(std::string_view name, json::object data, std::string& out) {
  data["type"] = name;
  out.append(http::sse_event(name, json::serialize(data)));
}

}  // namespace

void MessagesStreamEncoder::start(const json::object* chunk, std::string& out) {
  started_ = true;
  id_ = message_id(chunk ? json_str(*chunk, "id") : std::string_view{});
  WireUsage w = WireUsage::from_canonical(chunk_usage_);
  // Clients read the input count here (real Anthropic streams carry it): an estimate until
  // the upstream's count arrives in message_delta.
  if (!chunk_usage_.known) w.input_tokens = input_estimate_;
  w.output_tokens = 0;
  emit("message_start",
       json::object{{"message", json::object{{"id", id_},
                                             {"type", "message"},
                                             {"role", "assistant"},
                                             {"model", model_},
                                             {"content", json::array{}},
                                             {"stop_reason", nullptr},
                                             {"stop_sequence", nullptr},
                                             {"usage", w.to_json()}}}},
       out);
}

void MessagesStreamEncoder::open(Block kind, json::object content_block, std::string& out) {
  close(out);
  block_ = kind;
  ++block_index_;
  emit("content_block_start", json::object{{"index", block_index_}, {"content_block", std::move(content_block)}}, out);
}

void MessagesStreamEncoder::close(std::string& out) {
  if (block_ == Block::none) return;
  block_ = Block::none;
  emit("content_block_stop", json::object{{"index", block_index_}}, out);
}

void MessagesStreamEncoder::delta(json::object d, std::string& out) {
  emit("content_block_delta", json::object{{"index", block_index_}, {"delta", std::move(d)}}, out);
}

void MessagesStreamEncoder::on_chunk(const json::object& chunk, std::string& out) {
  if (finished_) return;
  if (auto* u = chunk.if_contains("usage"); u && u->is_object()) read_openai_usage(*u, chunk_usage_);
  if (!started_) start(&chunk, out);
  auto* cv = chunk.if_contains("choices");
  if (!cv || !cv->is_array()) return;
  for (const auto& chv : cv->get_array()) {
    auto* choice = chv.if_object();
    if (!choice || json_int(choice->if_contains("index")) != 0) continue;  // n > 1 has no Anthropic form
    if (auto* dv = choice->if_contains("delta"); dv && dv->is_object()) {
      const auto& d = dv->get_object();
      if (auto r = reasoning_of(d); !r.empty()) {
        if (block_ != Block::thinking)
          open(Block::thinking, json::object{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
        delta(json::object{{"type", "thinking_delta"}, {"thinking", r}}, out);
      }
      std::string_view text = json_str(d, "content");
      if (text.empty()) text = json_str(d, "refusal");
      if (!text.empty()) {
        if (block_ != Block::text) open(Block::text, json::object{{"type", "text"}, {"text", ""}}, out);
        delta(json::object{{"type", "text_delta"}, {"text", text}}, out);
      }
      if (auto* tcs = d.if_contains("tool_calls"); tcs && tcs->is_array()) {
        for (const auto& tv : tcs->get_array()) {
          auto* tc = tv.if_object();
          if (!tc) continue;
          int64_t idx = json_int(tc->if_contains("index"));
          auto* f = tc->if_contains("function");
          const json::object empty;
          const json::object& fn = f && f->is_object() ? f->get_object() : empty;
          if (block_ != Block::tool || idx != tool_index_) {
            std::string id(json_str(*tc, "id"));
            if (id.empty()) id = fmt::format("toolu_{}_{}", id_, idx);
            open(Block::tool,
                 json::object{{"type", "tool_use"}, {"id", id}, {"name", json_str(fn, "name")}, {"input", json::object{}}},
                 out);
            tool_index_ = idx;
          }
          if (auto args = json_str(fn, "arguments"); !args.empty())
            delta(json::object{{"type", "input_json_delta"}, {"partial_json", args}}, out);
        }
      }
    }
    if (auto fr = json_str(*choice, "finish_reason"); !fr.empty()) {
      stop_reason_ = stop_reason_for(fr);
      close(out);
    }
  }
}

void MessagesStreamEncoder::finish(const core::Usage& usage, std::string& out) {
  if (finished_) return;
  if (!started_) start(nullptr, out);
  close(out);
  finished_ = true;
  WireUsage w = WireUsage::from_canonical(usage.known ? usage : chunk_usage_);
  if (!w.known) w.input_tokens = input_estimate_;  // never let a client replace the estimate by 0
  emit("message_delta",
       json::object{{"delta", json::object{{"stop_reason", stop_reason_.empty() ? "end_turn" : stop_reason_},
                                           {"stop_sequence", nullptr}}},
                    {"usage", w.to_json()}},
       out);
  emit("message_stop", json::object{}, out);
}

std::string stream_error_event(const GatewayError& e) {
  return http::sse_event("error", core::to_anthropic_body(e));
}

// ------------------------------------------------------------------------------------------

namespace {

struct TokenCount {
  int64_t bytes = 0;
  int64_t fixed = 0;

  void add_blocks(const json::value& content) {
    if (content.is_string()) {
      bytes += static_cast<int64_t>(content.get_string().size());
      return;
    }
    if (!content.is_array()) return;
    for (const auto& bv : content.get_array()) {
      auto* b = bv.if_object();
      if (!b) continue;
      std::string_view type = json_str(*b, "type");
      if (type == "text") bytes += static_cast<int64_t>(json_str(*b, "text").size());
      else if (type == "thinking") bytes += static_cast<int64_t>(json_str(*b, "thinking").size());
      else if (type == "image" || type == "document") fixed += 1600;
      else if (type == "tool_use") {
        bytes += static_cast<int64_t>(json_str(*b, "name").size());
        if (auto* in = b->if_contains("input")) bytes += static_cast<int64_t>(json::serialize(*in).size());
      } else if (type == "tool_result") {
        if (auto* c = b->if_contains("content")) add_blocks(*c);
      } else {
        bytes += static_cast<int64_t>(json::serialize(*b).size());
      }
    }
  }
};

}  // namespace

int64_t count_tokens_estimate(const json::value& reqv) {
  auto* req = reqv.if_object();
  if (!req) return 1;
  TokenCount tc;
  if (auto* s = req->if_contains("system")) tc.add_blocks(*s);
  if (auto* m = req->if_contains("messages"); m && m->is_array()) {
    for (const auto& mv : m->get_array()) {
      tc.fixed += 4;
      if (auto* mo = mv.if_object())
        if (auto* c = mo->if_contains("content")) tc.add_blocks(*c);
    }
  }
  if (auto* t = req->if_contains("tools"); t && t->is_array())
    for (const auto& tool : t->get_array()) tc.bytes += static_cast<int64_t>(json::serialize(tool).size());
  return std::max<int64_t>(1, (tc.bytes + 3) / 4 + tc.fixed);
}

}  // namespace tollgate::dialects::anthropic
