// Gemini caller <-> canonical form (inbound.h says what is decided and why).
#include "dialects/gemini/inbound.h"

#include <algorithm>
#include <random>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "dialects/gemini/wire.h"
#include "dialects/json_fields.h"
#include "dialects/openai/fast_path.h"

namespace tollgate::dialects::gemini {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

constexpr int kMaxSchemaDepth = 48;

GatewayError invalid(std::string message, std::string param = {}) {
  return GatewayError::make(ErrorKind::invalid_request, std::move(message), "invalid_request", std::move(param));
}

GatewayError unsupported(std::string_view field, std::string_view why) {
  return GatewayError::make(ErrorKind::invalid_request,
                            fmt::format("{}: not supported by the target provider ({}).", field, why),
                            "unsupported_parameter", std::string(field));
}

// Gemini's API takes both camelCase and snake_case field names.
const json::value* field(const json::object& o, std::string_view camel, std::string_view snake = {}) {
  if (auto* v = o.if_contains(camel); v && !v->is_null()) return v;
  if (!snake.empty())
    if (auto* v = o.if_contains(snake); v && !v->is_null()) return v;
  return nullptr;
}

// The caller's request target ("/path?query"), parsed; nullopt when it is no origin-form URL.
std::optional<boost::urls::url_view> origin(std::string_view target) {
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return std::nullopt;
  return *u;
}

// The decoded value of query parameter `name`.
std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  auto u = origin(target);
  if (!u) return std::nullopt;
  auto params = u->params();
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string((*it).value);
}

std::string text_of_parts(const json::value* content) {
  std::string out;
  if (!content) return out;
  if (auto* s = content->if_string()) return std::string(*s);  // lenient: a bare string
  auto* o = content->if_object();
  if (!o) return out;
  auto* parts = o->if_contains("parts");
  if (!parts || !parts->is_array()) return out;
  for (const auto& p : parts->get_array())
    if (auto* po = p.if_object())
      if (auto* t = po->if_contains("text"); t && t->is_string()) {
        if (!out.empty()) out += "\n";
        out += t->get_string();
      }
  return out;
}

// Gemini Schema (OpenAPI 3.0 subset, upper-case types) -> JSON Schema.
json::value to_json_schema(const json::value& s, int depth) {
  if (depth > kMaxSchemaDepth || !s.is_object()) return json::object{};
  json::object out;
  bool nullable = false;
  for (const auto& [k, v] : s.get_object()) {
    if (k == "type" && v.is_string()) {
      std::string t(v.get_string());
      std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
      if (t != "type_unspecified") out["type"] = t;
    } else if (k == "nullable") {
      nullable = v.is_bool() && v.get_bool();
    } else if (k == "properties" && v.is_object()) {
      json::object props;
      for (const auto& [name, sub] : v.get_object()) props[name] = to_json_schema(sub, depth + 1);
      out["properties"] = std::move(props);
    } else if (k == "items") {
      out["items"] = to_json_schema(v, depth + 1);
    } else if (k == "anyOf" && v.is_array()) {
      json::array any;
      for (const auto& sub : v.get_array()) any.push_back(to_json_schema(sub, depth + 1));
      out["anyOf"] = std::move(any);
    } else if (k == "propertyOrdering" || k == "example") {
      // Gemini-only hints.
    } else if (v.is_string() && (k == "minItems" || k == "maxItems" || k == "minLength" || k == "maxLength" ||
                                 k == "minProperties" || k == "maxProperties")) {
      // int64 fields, which Google's JSON spells as strings ("3").
      try {
        out[k] = std::stoll(std::string(v.get_string()));
      } catch (...) {
      }
    } else {
      out[k] = v;
    }
  }
  if (nullable)
    if (auto* t = out.if_contains("type"); t && t->is_string()) out["type"] = json::array{*t, "null"};
  return out;
}

std::string_view effort_for_budget(int64_t budget) {
  if (budget == 0) return "none";
  if (budget < 0) return "medium";  // -1: dynamic
  if (budget <= 1024) return "low";
  if (budget <= 8192) return "medium";
  return "high";
}

// One content's parts as an OpenAI user content: a string when text only.
std::optional<GatewayError> user_content(const json::array& parts, size_t ci, json::value& out) {
  json::array blocks;
  bool only_text = true;
  std::string text;
  for (size_t pi = 0; pi < parts.size(); ++pi) {
    auto* p = parts[pi].if_object();
    if (!p) return invalid(fmt::format("contents[{}].parts[{}]: expected an object.", ci, pi));
    std::string where = fmt::format("contents[{}].parts[{}]", ci, pi);
    if (auto* t = p->if_contains("text"); t && t->is_string()) {
      if (p->contains("thought")) continue;
      blocks.push_back(json::object{{"type", "text"}, {"text", t->get_string()}});
      text += t->get_string();
      continue;
    }
    const json::value* media = field(*p, "inlineData", "inline_data");
    std::string url;
    std::string_view mime;
    if (media && media->is_object()) {
      const auto& m = media->get_object();
      mime = str(m, "mimeType").empty() ? str(m, "mime_type") : str(m, "mimeType");
      url = fmt::format("data:{};base64,{}", mime, str(m, "data"));
    } else if ((media = field(*p, "fileData", "file_data")) && media->is_object()) {
      const auto& m = media->get_object();
      mime = str(m, "mimeType").empty() ? str(m, "mime_type") : str(m, "mimeType");
      url = std::string(str(m, "fileUri").empty() ? str(m, "file_uri") : str(m, "fileUri"));
    } else if (p->contains("functionResponse") || p->contains("function_response")) {
      continue;  // handled by the caller
    } else {
      return unsupported(where, "only text, images, function calls and function responses are translated");
    }
    if (!mime.starts_with("image/"))
      return unsupported(where, fmt::format("media of type '{}' is only understood by Gemini", mime));
    only_text = false;
    blocks.push_back(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", url}}}});
  }
  if (only_text) out = json::string(text);
  else out = std::move(blocks);
  return std::nullopt;
}

// A function response object as the tool message's text.
std::string tool_text(const json::value* response) {
  if (!response) return "{}";
  if (auto* o = response->if_object(); o && o->size() == 1) {
    for (const char* k : {"result", "output", "content"})
      if (auto* v = o->if_contains(k); v && v->is_string()) return std::string(v->get_string());
  }
  if (auto* s = response->if_string()) return std::string(*s);
  return json::serialize(*response);
}

std::string_view finish_to_gemini(std::string_view r) {
  if (r == "length") return "MAX_TOKENS";
  if (r == "content_filter") return "SAFETY";
  return "STOP";  // stop, tool_calls, function_call
}

std::string random_id() {
  static constexpr char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s(22, 'x');
  for (auto& c : s) c = chars[rng() % (sizeof(chars) - 1)];
  return s;
}

// "chatcmpl-abc" -> "abc" (Gemini's responseId has no prefix).
std::string response_id_of(std::string_view id) {
  if (id.starts_with("chatcmpl-")) id.remove_prefix(9);
  return id.empty() ? random_id() : std::string(id);
}

json::object args_object(std::string_view args) {
  boost::system::error_code ec;
  auto v = json::parse(args, ec);
  if (!ec && v.is_object()) return std::move(v.as_object());
  return {};
}

const char* kGenerationKeys[] = {"temperature", "topP", "top_p", "maxOutputTokens", "max_output_tokens",
                                 "stopSequences", "stop_sequences", "candidateCount", "candidate_count",
                                 "seed", "topK", "top_k", "presencePenalty", "presence_penalty", "frequencyPenalty",
                                 "frequency_penalty", "responseMimeType", "response_mime_type",
                                 "responseSchema", "response_schema", "responseJsonSchema",
                                 "response_json_schema", "thinkingConfig",
                                 "thinking_config", "responseModalities", "response_modalities"};
const char* kDroppedGeneration[] = {"responseLogprobs", "response_logprobs", "logprobs",
                                    "mediaResolution", "media_resolution", "enableEnhancedCivicAnswers"};

std::optional<GatewayError> generation_config(const json::object& g, json::object& chat,
                                              std::vector<std::string>& dropped) {
  for (const auto& [k, v] : g) {
    std::string_view key = k;
    if (v.is_null()) continue;
    if (std::find(std::begin(kDroppedGeneration), std::end(kDroppedGeneration), key) != std::end(kDroppedGeneration)) {
      dropped.push_back(fmt::format("generationConfig.{}", key));
      continue;
    }
    if (std::find(std::begin(kGenerationKeys), std::end(kGenerationKeys), key) == std::end(kGenerationKeys))
      return unsupported(fmt::format("generationConfig.{}", key), "no equivalent outside Gemini");
  }
  auto number = [&](std::string_view camel, std::string_view snake, const char* to) -> std::optional<GatewayError> {
    if (auto* v = field(g, camel, snake)) {
      if (!v->is_number()) return invalid(fmt::format("generationConfig.{} must be a number.", camel), std::string(camel));
      chat[to] = *v;
    }
    return std::nullopt;
  };
  if (auto e = number("temperature", {}, "temperature")) return e;
  if (auto e = number("topP", "top_p", "top_p")) return e;
  if (auto e = number("topK", "top_k", "top_k")) return e;  // a canonical extension (params.h)
  if (auto e = number("seed", {}, "seed")) return e;
  if (auto e = number("presencePenalty", "presence_penalty", "presence_penalty")) return e;
  if (auto e = number("frequencyPenalty", "frequency_penalty", "frequency_penalty")) return e;
  if (auto e = number("maxOutputTokens", "max_output_tokens", "max_completion_tokens")) return e;
  if (auto e = number("candidateCount", "candidate_count", "n")) return e;
  if (auto* s = field(g, "stopSequences", "stop_sequences")) {
    if (!s->is_array()) return invalid("generationConfig.stopSequences must be an array of strings.", "stopSequences");
    if (!s->get_array().empty()) chat["stop"] = *s;
  }
  if (auto* m = field(g, "responseModalities", "response_modalities"); m && m->is_array()) {
    for (const auto& x : m->get_array())
      if (!x.is_string() || x.get_string() != "TEXT")
        return unsupported("generationConfig.responseModalities", "only TEXT is translated");
  }
  if (auto* mime = field(g, "responseMimeType", "response_mime_type"); mime && mime->is_string()) {
    if (mime->get_string() == "application/json") {
      const json::value* js = field(g, "responseJsonSchema", "response_json_schema");
      json::value schema;
      if (js) schema = *js;
      else if (auto* gs = field(g, "responseSchema", "response_schema")) schema = to_json_schema(*gs, 0);
      if (schema.is_object())
        chat["response_format"] = json::object{
            {"type", "json_schema"},
            {"json_schema", json::object{{"name", "response"}, {"schema", std::move(schema)}}}};
      else
        chat["response_format"] = json::object{{"type", "json_object"}};
    } else if (mime->get_string() != "text/plain") {
      return unsupported("generationConfig.responseMimeType", "only text/plain and application/json are translated");
    }
  }
  if (auto* t = field(g, "thinkingConfig", "thinking_config"); t && t->is_object()) {
    const auto& tc = t->get_object();
    if (auto* b = field(tc, "thinkingBudget", "thinking_budget"); b && (b->is_int64() || b->is_uint64())) {
      chat["reasoning_effort"] = effort_for_budget(b->to_number<int64_t>());
    } else if (auto* l = field(tc, "thinkingLevel", "thinking_level"); l && l->is_string()) {
      std::string level(l->get_string());
      std::transform(level.begin(), level.end(), level.begin(), [](unsigned char c) { return std::tolower(c); });
      if (level == "minimal" || level == "low" || level == "medium" || level == "high") chat["reasoning_effort"] = level;
    }
  }
  return std::nullopt;
}

std::optional<GatewayError> tools_of(const json::object& req, json::object& chat) {
  auto* tools = field(req, "tools");
  if (!tools) return std::nullopt;
  if (!tools->is_array()) return invalid("tools must be an array.", "tools");
  json::array out;
  for (size_t i = 0; i < tools->get_array().size(); ++i) {
    auto* t = tools->get_array()[i].if_object();
    if (!t) return invalid(fmt::format("tools[{}]: expected an object.", i), "tools");
    for (const auto& [k, v] : *t) {
      if (k != "functionDeclarations" && k != "function_declarations")
        return unsupported(fmt::format("tools[{}].{}", i, std::string_view(k)), "only function declarations are translated");
      if (!v.is_array()) return invalid(fmt::format("tools[{}].functionDeclarations must be an array.", i), "tools");
      for (const auto& d : v.get_array()) {
        auto* fd = d.if_object();
        if (!fd || str(*fd, "name").empty())
          return invalid(fmt::format("tools[{}].functionDeclarations: every declaration needs a name.", i), "tools");
        json::object fn{{"name", str(*fd, "name")}};
        if (auto* desc = fd->if_contains("description"); desc && desc->is_string()) fn["description"] = *desc;
        json::value params;
        if (auto* js = field(*fd, "parametersJsonSchema", "parameters_json_schema")) params = *js;
        else if (auto* p = field(*fd, "parameters")) params = to_json_schema(*p, 0);
        if (!params.is_object() || params.get_object().empty())
          params = json::object{{"type", "object"}, {"properties", json::object{}}};
        fn["parameters"] = std::move(params);
        out.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
      }
    }
  }
  if (!out.empty()) chat["tools"] = std::move(out);
  if (auto* tc = field(req, "toolConfig", "tool_config"); tc && tc->is_object() && chat.contains("tools")) {
    if (auto* fc = field(tc->get_object(), "functionCallingConfig", "function_calling_config"); fc && fc->is_object()) {
      std::string_view mode = str(fc->get_object(), "mode");
      if (mode == "NONE") chat["tool_choice"] = "none";
      else if (mode == "ANY" || mode == "VALIDATED") {
        const json::value* names = field(fc->get_object(), "allowedFunctionNames", "allowed_function_names");
        if (names && names->is_array() && names->get_array().size() == 1 && names->get_array()[0].is_string())
          chat["tool_choice"] = json::object{{"type", "function"},
                                             {"function", json::object{{"name", names->get_array()[0]}}}};
        else
          chat["tool_choice"] = "required";
      } else if (mode == "AUTO" || mode.empty() || mode == "MODE_UNSPECIFIED") {
        chat["tool_choice"] = "auto";
      } else {
        return invalid(fmt::format("toolConfig.functionCallingConfig.mode: unknown mode '{}'.", mode), "toolConfig");
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<CallerPath> parse_caller_path(std::string_view target) {
  auto u = origin(target);
  if (!u) return std::nullopt;
  std::string path = u->path();  // percent-decoded
  constexpr std::string_view prefix = "/v1beta/models/";
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string_view rest = std::string_view(path).substr(prefix.size());
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view method = rest.substr(colon + 1);
  CallerPath out;
  if (method == "generateContent") out.method = Method::generate;
  else if (method == "streamGenerateContent") out.method = Method::stream;
  else if (method == "countTokens") out.method = Method::count_tokens;
  else if (method == "embedContent") out.method = Method::embed;
  else if (method == "batchEmbedContents") out.method = Method::batch_embed;
  else return std::nullopt;
  out.model = rest.substr(0, colon);
  if (out.model.starts_with("models/")) out.model.erase(0, 7);
  if (out.model.empty()) return std::nullopt;
  return out;
}

bool wants_sse(std::string_view target) { return query_param(target, "alt") == "sse"; }

std::string query_key(std::string_view target) { return query_param(target, "key").value_or(""); }

std::optional<GatewayError> read_request(std::string_view body, Method method, json::value& doc) {
  boost::system::error_code ec;
  doc = json::parse(body, ec);
  if (ec) return invalid(fmt::format("Invalid JSON payload received. {}.", ec.message()));
  if (!doc.is_object()) return invalid("Invalid JSON payload received. Expected an object.");
  const auto& o = doc.as_object();
  if (method == Method::embed || method == Method::batch_embed) {
    if (method == Method::batch_embed) {
      auto* r = o.if_contains("requests");
      if (!r || !r->is_array() || r->get_array().empty())
        return invalid("* BatchEmbedContentsRequest.requests: requests is not specified.", "requests");
      for (const auto& x : r->get_array())
        if (!x.is_object()) return invalid("* BatchEmbedContentsRequest.requests: every request must be an object.", "requests");
    } else if (!field(o, "content")) {
      return invalid("* EmbedContentRequest.content: content is not specified.", "content");
    }
    return std::nullopt;
  }
  const json::value* contents = field(o, "contents");
  if (method == Method::count_tokens && !contents) {
    if (auto* g = field(o, "generateContentRequest", "generate_content_request"); g && g->is_object())
      contents = field(g->get_object(), "contents");
    else
      return std::nullopt;  // an empty count is 0
  }
  if (!contents || !contents->is_array() || contents->get_array().empty())
    return invalid("* GenerateContentRequest.contents: contents is not specified.", "contents");
  for (size_t i = 0; i < contents->get_array().size(); ++i) {
    auto* c = contents->get_array()[i].if_object();
    if (!c) return invalid(fmt::format("contents[{}]: expected a Content object.", i), "contents");
    auto* parts = c->if_contains("parts");
    if (!parts || !parts->is_array() || parts->get_array().empty())
      return invalid(fmt::format("* GenerateContentRequest.contents[{}].parts: contents.parts must not be empty.", i),
                     "contents");
    if (auto* r = c->if_contains("role"); r && !r->is_null()) {
      if (!r->is_string() || (r->get_string() != "user" && r->get_string() != "model" && r->get_string() != ""))
        return invalid("Please use a valid role: user, model.", "contents");
    }
  }
  return std::nullopt;
}

std::optional<GatewayError> generate_to_chat(const json::value& req_value, bool stream, json::object& chat,
                                             std::vector<std::string>& dropped) {
  auto* reqp = req_value.if_object();
  if (!reqp) return invalid("Invalid JSON payload received. Expected an object.");
  const json::object& req = *reqp;
  static const std::string_view known[] = {"contents", "tools", "toolConfig", "tool_config", "safetySettings",
                                           "safety_settings", "systemInstruction", "system_instruction",
                                           "generationConfig", "generation_config", "cachedContent",
                                           "cached_content", "labels", "serviceTier", "service_tier", "model"};
  for (const auto& [k, v] : req) {
    if (std::find(std::begin(known), std::end(known), std::string_view(k)) == std::end(known))
      return invalid(fmt::format("Invalid JSON payload received. Unknown name \"{}\": Cannot find field.", std::string_view(k)),
                     std::string(k));
  }
  if (field(req, "cachedContent", "cached_content")) return unsupported("cachedContent", "cached contents live at Google");
  if (field(req, "safetySettings", "safety_settings")) dropped.emplace_back("safetySettings");
  if (field(req, "labels")) dropped.emplace_back("labels");
  if (field(req, "serviceTier", "service_tier")) dropped.emplace_back("serviceTier");

  json::array messages;
  if (auto* si = field(req, "systemInstruction", "system_instruction")) {
    std::string text = text_of_parts(si);
    if (!text.empty()) messages.push_back(json::object{{"role", "system"}, {"content", text}});
  }

  auto* contents = field(req, "contents");
  if (!contents || !contents->is_array()) return invalid("* GenerateContentRequest.contents: contents is not specified.", "contents");
  // Calls of the last model turn not answered yet: id and name, in call order.
  std::vector<std::pair<std::string, std::string>> open_calls;
  size_t call_count = 0;
  const auto& arr = contents->get_array();
  for (size_t ci = 0; ci < arr.size(); ++ci) {
    auto* c = arr[ci].if_object();
    if (!c) return invalid(fmt::format("contents[{}]: expected a Content object.", ci), "contents");
    auto* parts_v = c->if_contains("parts");
    if (!parts_v || !parts_v->is_array()) return invalid(fmt::format("contents[{}].parts must be an array.", ci), "contents");
    const auto& parts = parts_v->get_array();
    const bool model_turn = str(*c, "role") == "model";
    if (model_turn) {
      std::string text;
      json::array calls;
      open_calls.clear();
      for (const auto& p : parts) {
        auto* po = p.if_object();
        if (!po) continue;
        // Gemini's signed thinking means nothing to another provider, which cannot verify it.
        if (field(*po, "thoughtSignature", "thought_signature") &&
            std::find(dropped.begin(), dropped.end(), kThoughtSignature) == dropped.end())
          dropped.emplace_back(kThoughtSignature);
        if (auto* t = po->if_contains("text"); t && t->is_string()) {
          if (auto* th = po->if_contains("thought"); th && th->is_bool() && th->get_bool()) continue;
          text += t->get_string();
        } else if (auto* fc = field(*po, "functionCall", "function_call"); fc && fc->is_object()) {
          const auto& f = fc->get_object();
          std::string id(str(f, "id"));
          if (id.empty()) id = fmt::format("call_{}", call_count);
          ++call_count;
          std::string name(str(f, "name"));
          if (name.empty()) return invalid(fmt::format("contents[{}]: a functionCall needs a name.", ci), "contents");
          const json::value* args = f.if_contains("args");
          std::string args_text = args && args->is_object() ? json::serialize(*args) : "{}";
          calls.push_back(json::object{{"id", id},
                                       {"type", "function"},
                                       {"function", json::object{{"name", name}, {"arguments", std::move(args_text)}}}});
          open_calls.emplace_back(std::move(id), std::move(name));
        }
      }
      if (text.empty() && calls.empty()) continue;  // only thoughts: nothing to say elsewhere
      json::object m{{"role", "assistant"}};
      m["content"] = text.empty() ? json::value(nullptr) : json::value(text);
      if (!calls.empty()) m["tool_calls"] = std::move(calls);
      messages.push_back(std::move(m));
      continue;
    }
    // A user turn: its function responses first, as tool messages.
    bool has_other = false;
    for (size_t pi = 0; pi < parts.size(); ++pi) {
      auto* po = parts[pi].if_object();
      if (!po) return invalid(fmt::format("contents[{}].parts[{}]: expected an object.", ci, pi), "contents");
      auto* fr = field(*po, "functionResponse", "function_response");
      if (!fr || !fr->is_object()) {
        if (!(po->contains("text") && po->contains("thought"))) has_other = true;
        continue;
      }
      const auto& f = fr->get_object();
      std::string_view id = str(f, "id"), name = str(f, "name");
      auto it = std::find_if(open_calls.begin(), open_calls.end(),
                             [&](const auto& oc) { return !id.empty() ? oc.first == id : oc.second == name; });
      if (it == open_calls.end())
        return invalid(fmt::format("contents[{}].parts[{}]: functionResponse '{}' answers no functionCall of the turn before.",
                                   ci, pi, name),
                       "contents");
      messages.push_back(json::object{{"role", "tool"}, {"tool_call_id", it->first}, {"content", tool_text(f.if_contains("response"))}});
      open_calls.erase(it);
    }
    if (has_other) {
      json::value content;
      if (auto e = user_content(parts, ci, content)) return e;
      bool empty = content.is_string() && content.get_string().empty();
      if (!empty) messages.push_back(json::object{{"role", "user"}, {"content", std::move(content)}});
    }
  }
  chat["messages"] = std::move(messages);
  if (auto e = tools_of(req, chat)) return e;
  if (auto* g = field(req, "generationConfig", "generation_config")) {
    if (!g->is_object()) return invalid("generationConfig must be an object.", "generationConfig");
    if (auto e = generation_config(g->get_object(), chat, dropped)) return e;
  }
  if (stream) {
    chat["stream"] = true;
    chat["stream_options"] = json::object{{"include_usage", true}};
  }
  return std::nullopt;
}

json::object usage_metadata(const core::Usage& u) {
  json::object m;
  m["promptTokenCount"] = u.input_tokens;
  m["candidatesTokenCount"] = std::max<int64_t>(0, u.output_tokens - u.reasoning_tokens);
  if (u.reasoning_tokens > 0) m["thoughtsTokenCount"] = u.reasoning_tokens;
  if (u.cached_input_tokens > 0) m["cachedContentTokenCount"] = u.cached_input_tokens;
  m["totalTokenCount"] = u.input_tokens + u.output_tokens;
  return m;
}

json::object chat_to_generate(const json::object& completion, std::string_view model) {
  json::array candidates;
  if (auto* choices = completion.if_contains("choices"); choices && choices->is_array()) {
    for (const auto& c : choices->get_array()) {
      auto* co = c.if_object();
      if (!co) continue;
      json::array parts;
      std::string_view reason = str(*co, "finish_reason");
      if (auto* m = co->if_contains("message"); m && m->is_object()) {
        const auto& msg = m->get_object();
        if (auto* r = msg.if_contains("reasoning_content"); r && r->is_string() && !r->get_string().empty())
          parts.push_back(json::object{{"text", *r}, {"thought", true}});
        if (auto* t = msg.if_contains("content"); t && t->is_string() && !t->get_string().empty())
          parts.push_back(json::object{{"text", *t}});
        if (auto* calls = msg.if_contains("tool_calls"); calls && calls->is_array()) {
          for (const auto& tc : calls->get_array()) {
            auto* to = tc.if_object();
            if (!to) continue;
            auto* fn = to->if_contains("function");
            if (!fn || !fn->is_object()) continue;
            parts.push_back(json::object{
                {"functionCall", json::object{{"id", str(*to, "id")},
                                              {"name", str(fn->get_object(), "name")},
                                              {"args", args_object(str(fn->get_object(), "arguments"))}}}});
          }
        }
      }
      if (parts.empty()) parts.push_back(json::object{{"text", ""}});
      json::object cand{{"content", json::object{{"parts", std::move(parts)}, {"role", "model"}}},
                        {"finishReason", finish_to_gemini(reason)}};
      cand["index"] = co->contains("index") ? co->at("index") : json::value(candidates.size());
      candidates.push_back(std::move(cand));
    }
  }
  json::object out{{"candidates", std::move(candidates)}};
  core::Usage u;
  if (auto* usage = completion.if_contains("usage")) openai::read_usage(*usage, u);
  out["usageMetadata"] = usage_metadata(u);
  out["modelVersion"] = model;
  out["responseId"] = response_id_of(str(completion, "id"));
  return out;
}

// ---------------------------------------------------------------------------------- streams

namespace {

// google.rpc.Code names by HTTP status, as Google's APIs answer them.
const char* google_status(int status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 413: return "INVALID_ARGUMENT";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

}  // namespace

std::string error_body(const GatewayError& e) {
  return json::serialize(json::object{
      {"error", json::object{{"code", e.status}, {"message", e.message}, {"status", google_status(e.status)}}}});
}

std::string stream_error_event(const GatewayError& e) {
  return fmt::format("data: {}\r\n\r\n", error_body(e));
}

void ArrayFraming::element(std::string_view doc, std::string& out) {
  if (closed_) return;
  out.append(opened_ ? ",\r\n" : "[");
  opened_ = true;
  out.append(doc);
}

void ArrayFraming::feed(std::string_view sse, std::string& out) {
  pending_.append(sse);
  // Events end with a blank line ("\r\n\r\n" from Gemini and the encoder, "\n\n" elsewhere).
  for (;;) {
    size_t end = pending_.find("\n\n");
    size_t crlf = pending_.find("\r\n\r\n");
    size_t cut, skip;
    if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) cut = crlf, skip = 4;
    else if (end != std::string::npos) cut = end, skip = 2;
    else break;
    std::string_view event(pending_.data(), cut);
    std::string data;
    while (!event.empty()) {
      size_t nl = event.find('\n');
      std::string_view line = event.substr(0, nl);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.starts_with("data:")) {
        line.remove_prefix(5);
        if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (!data.empty()) data += "\n";
        data.append(line);
      }
      event = nl == std::string_view::npos ? std::string_view() : event.substr(nl + 1);
    }
    if (!data.empty()) element(data, out);
    pending_.erase(0, cut + skip);
  }
}

void ArrayFraming::close(std::string& out) {
  if (closed_) return;
  if (!opened_) out.append("[");
  out.append("]");
  closed_ = true;
}

void ArrayFraming::fail(std::string_view error_json, std::string& out) {
  element(error_json, out);
  close(out);
}

void GenerateStreamEncoder::emit(json::object candidate, const core::Usage* usage, std::string& out) {
  candidate["index"] = 0;
  json::object ev{{"candidates", json::array{std::move(candidate)}}};
  if (usage) ev["usageMetadata"] = usage_metadata(*usage);
  ev["modelVersion"] = model_;
  if (response_id_.empty()) response_id_ = random_id();
  ev["responseId"] = response_id_;
  out.append("data: ").append(json::serialize(ev)).append("\r\n\r\n");
}

void GenerateStreamEncoder::on_chunk(const json::object& chunk, std::string& out) {
  if (finished_) return;
  if (response_id_.empty())
    if (auto id = str(chunk, "id"); !id.empty()) response_id_ = response_id_of(id);
  if (auto* u = chunk.if_contains("usage"); u && u->is_object()) openai::read_usage(*u, chunk_usage_);
  auto* choices = chunk.if_contains("choices");
  if (!choices || !choices->is_array()) return;
  for (const auto& c : choices->get_array()) {
    auto* co = c.if_object();
    if (!co) continue;
    if (auto* i = co->if_contains("index"); i && i->is_int64() && i->get_int64() != 0) continue;  // n > 1: first only
    if (auto* d = co->if_contains("delta"); d && d->is_object()) {
      const auto& delta = d->get_object();
      if (auto* r = delta.if_contains("reasoning_content"); r && r->is_string() && !r->get_string().empty())
        emit(json::object{{"content", json::object{{"parts", json::array{json::object{{"text", *r}, {"thought", true}}}},
                                                   {"role", "model"}}}},
             nullptr, out);
      if (auto* t = delta.if_contains("content"); t && t->is_string() && !t->get_string().empty())
        emit(json::object{{"content", json::object{{"parts", json::array{json::object{{"text", *t}}}}, {"role", "model"}}}},
             nullptr, out);
      if (auto* calls = delta.if_contains("tool_calls"); calls && calls->is_array()) {
        for (const auto& tc : calls->get_array()) {
          auto* to = tc.if_object();
          if (!to) continue;
          size_t index = calls_.size();
          if (auto* i = to->if_contains("index"); i && i->is_int64() && i->get_int64() >= 0 && i->get_int64() < 1024)
            index = static_cast<size_t>(i->get_int64());
          if (index >= calls_.size()) calls_.resize(index + 1);
          Call& call = calls_[index];
          if (auto id = str(*to, "id"); !id.empty()) call.id = id;
          if (auto* fn = to->if_contains("function"); fn && fn->is_object()) {
            if (auto name = str(fn->get_object(), "name"); !name.empty()) call.name = name;
            call.args += str(fn->get_object(), "arguments");
          }
        }
      }
    }
    if (auto r = str(*co, "finish_reason"); !r.empty()) finish_reason_ = r;
  }
}

void GenerateStreamEncoder::finish(const core::Usage& usage, std::string& out) {
  if (finished_) return;
  finished_ = true;
  json::array parts;
  for (const auto& c : calls_) {
    if (c.name.empty()) continue;
    parts.push_back(json::object{
        {"functionCall", json::object{{"id", c.id}, {"name", c.name}, {"args", args_object(c.args)}}}});
  }
  if (parts.empty()) parts.push_back(json::object{{"text", ""}});
  json::object cand{{"content", json::object{{"parts", std::move(parts)}, {"role", "model"}}},
                    {"finishReason", finish_to_gemini(finish_reason_)}};
  emit(std::move(cand), usage.known ? &usage : &chunk_usage_, out);
}

// ---------------------------------------------------------------------------------- countTokens

namespace {

void estimate_value(const json::value& v, int64_t& bytes, int64_t& images, int depth) {
  if (depth > 64) return;
  if (auto* o = v.if_object()) {
    for (const auto& [k, x] : *o) {
      if (k == "inlineData" || k == "inline_data" || k == "fileData" || k == "file_data") {
        ++images;
        continue;
      }
      if (k == "thoughtSignature" || k == "thought_signature") continue;
      estimate_value(x, bytes, images, depth + 1);
    }
  } else if (auto* a = v.if_array()) {
    for (const auto& x : *a) estimate_value(x, bytes, images, depth + 1);
  } else if (auto* s = v.if_string()) {
    bytes += static_cast<int64_t>(s->size());
  } else if (v.is_number()) {
    bytes += 2;
  }
}

}  // namespace

int64_t count_tokens_estimate(const json::value& req) {
  auto* o = req.if_object();
  if (!o) return 0;
  const json::object* g = o;
  if (auto* inner = field(*o, "generateContentRequest", "generate_content_request"); inner && inner->is_object())
    g = &inner->get_object();
  int64_t bytes = 0, images = 0, contents = 0;
  for (std::string_view k : {"contents", "systemInstruction", "system_instruction", "tools"})
    if (auto* v = g->if_contains(k)) {
      estimate_value(*v, bytes, images, 0);
      if (k == "contents" && v->is_array()) contents = static_cast<int64_t>(v->get_array().size());
    }
  return (bytes + 3) / 4 + 4 * contents + 258 * images;
}

// ---------------------------------------------------------------------------------- embeddings

std::optional<GatewayError> embed_to_openai(const json::value& req, bool batch, json::object& out) {
  auto* o = req.if_object();
  if (!o) return invalid("Invalid JSON payload received. Expected an object.");
  json::array input;
  std::optional<int64_t> dims;
  auto one = [&](const json::object& r, size_t i) -> std::optional<GatewayError> {
    const json::value* content = field(r, "content");
    if (!content || !content->is_object())
      return invalid(fmt::format("requests[{}].content: content is not specified.", i), "content");
    auto* parts = content->get_object().if_contains("parts");
    if (!parts || !parts->is_array() || parts->get_array().empty())
      return invalid(fmt::format("requests[{}].content.parts must not be empty.", i), "content");
    std::string text;
    for (const auto& p : parts->get_array()) {
      auto* po = p.if_object();
      auto* t = po ? po->if_contains("text") : nullptr;
      if (!t || !t->is_string()) return unsupported("content.parts", "only text is embedded outside Gemini");
      if (!text.empty()) text += " ";
      text += t->get_string();
    }
    input.push_back(json::string(text));
    if (auto* d = field(r, "outputDimensionality", "output_dimensionality"); d && d->is_int64() && d->get_int64() > 0)
      dims = d->get_int64();
    return std::nullopt;
  };
  if (batch) {
    auto* reqs = o->if_contains("requests");
    if (!reqs || !reqs->is_array()) return invalid("requests is not specified.", "requests");
    for (size_t i = 0; i < reqs->get_array().size(); ++i) {
      auto* r = reqs->get_array()[i].if_object();
      if (!r) return invalid(fmt::format("requests[{}]: expected an object.", i), "requests");
      if (auto e = one(*r, i)) return e;
    }
  } else if (auto e = one(*o, 0)) {
    return e;
  }
  out["input"] = std::move(input);
  out["encoding_format"] = "float";
  if (dims) out["dimensions"] = *dims;
  return std::nullopt;
}

json::object openai_to_embed(const json::object& list, bool batch) {
  json::array embeddings;
  if (auto* data = list.if_contains("data"); data && data->is_array()) {
    for (const auto& d : data->get_array()) {
      auto* e = d.is_object() ? d.get_object().if_contains("embedding") : nullptr;
      json::value values = e && e->is_array() ? *e : json::value(json::array{});
      embeddings.push_back(json::object{{"values", std::move(values)}});
    }
  }
  if (batch) return json::object{{"embeddings", std::move(embeddings)}};
  if (embeddings.empty()) return json::object{{"embedding", json::object{{"values", json::array{}}}}};
  return json::object{{"embedding", std::move(embeddings[0])}};
}

std::string splice_embed(const json::value& doc, std::string_view upstream_model) {
  json::value copy = doc;
  std::string resource = wire::model_resource(upstream_model);
  if (auto* o = copy.if_object()) {
    if (o->contains("model")) (*o)["model"] = resource;
    if (auto* reqs = o->if_contains("requests"); reqs && reqs->is_array())
      for (auto& r : reqs->get_array())
        if (auto* ro = r.if_object()) (*ro)["model"] = resource;
  }
  return json::serialize(copy);
}

json::object model_entry(std::string_view alias) {
  return json::object{{"name", fmt::format("models/{}", alias)},
                      {"baseModelId", alias},
                      {"version", "001"},
                      {"displayName", alias},
                      {"description", "A Tollgate model alias."},
                      {"supportedGenerationMethods",
                       json::array{"generateContent", "streamGenerateContent", "countTokens", "embedContent",
                                   "batchEmbedContents"}}};
}

}  // namespace tollgate::dialects::gemini
