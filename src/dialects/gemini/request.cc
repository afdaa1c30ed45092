// Canonical (OpenAI chat / embeddings request) -> Gemini generateContent / embedContent.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/chat_params.h"
#include "dialects/gemini/codec.h"
#include "dialects/gemini/codec_impl.h"
#include "dialects/gemini/wire.h"

namespace tollgate::dialects::gemini {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

GatewayError unsupported(std::string_view param, std::string_view why = {}) {
  return dialects::unsupported(param, "Google Gemini", why);
}

std::optional<double> as_number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

// "data:image/png;base64,AAAA" -> {mimeType, data}; false when not a base64 data URL.
bool parse_data_url(std::string_view url, std::string& mime, std::string& data) {
  auto d = dialects::parse_data_url(url);
  if (!d) return false;
  mime.assign(d->media_type.empty() ? "application/octet-stream" : d->media_type);
  data.assign(d->data);
  return true;
}

std::string guess_image_mime(std::string_view url) {
  std::string_view path = url.substr(0, url.find_first_of("?#"));
  auto dot = path.rfind('.');
  std::string ext;
  if (dot != std::string_view::npos && path.find('/', dot) == std::string_view::npos)
    for (char c : path.substr(dot + 1)) ext.push_back(static_cast<char>(std::tolower(c)));
  if (ext == "png") return "image/png";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  if (ext == "heic") return "image/heic";
  if (ext == "heif") return "image/heif";
  return "image/jpeg";  // jpg, jpeg, and Gemini's own default guess for an unnamed image
}

// The text of a content that may only hold text: a string, or an array of text parts
// (refusal parts too, for assistant messages). False on any other part.
bool plain_text(const json::value& content, std::string& out, std::string& bad_param,
                std::string_view param) {
  if (content.is_null()) return true;
  if (content.is_string()) {
    out.assign(content.get_string());
    return true;
  }
  if (!content.is_array()) {
    bad_param = std::string(param);
    return false;
  }
  const auto& parts = content.get_array();
  for (size_t j = 0; j < parts.size(); ++j) {
    const auto* p = parts[j].if_object();
    const json::value* type = p ? p->if_contains("type") : nullptr;
    std::string_view t = type && type->is_string() ? std::string_view(type->get_string()) : "";
    const char* field = t == "text" ? "text" : t == "refusal" ? "refusal" : nullptr;
    const json::value* text = field ? p->if_contains(field) : nullptr;
    if (!text || !text->is_string()) {
      bad_param = fmt::format("{}[{}]", param, j);
      return false;
    }
    if (!out.empty()) out.push_back('\n');
    out.append(text->get_string());
  }
  return true;
}

class ChatEncoder {
 public:
  ChatEncoder(const json::object& req, const EncodeOptions& opts) : req_(req), opts_(opts) {}

  std::optional<GatewayError> encode(json::object& body) {
    if (auto e = check_parameters()) return e;
    if (auto e = encode_messages()) return e;
    if (auto e = encode_tools()) return e;
    if (auto e = encode_generation_config()) return e;

    body["contents"] = std::move(contents_);
    if (!system_parts_.empty()) body["systemInstruction"] = json::object{{"parts", std::move(system_parts_)}};
    if (!declarations_.empty()) {
      body["tools"] = json::array{json::object{{"functionDeclarations", std::move(declarations_)}}};
      if (!tool_config_.empty()) body["toolConfig"] = std::move(tool_config_);
    }
    if (!generation_.empty()) body["generationConfig"] = std::move(generation_);
    return std::nullopt;
  }

 private:
  const json::object& req_;
  const EncodeOptions& opts_;
  json::array contents_;
  json::array system_parts_;
  json::array declarations_;
  json::object tool_config_;
  json::object generation_;

  // A parameter we cannot honour: 400, or nothing when the caller opted into dropping.
  std::optional<GatewayError> reject(std::string_view param, std::string_view why = {}) const {
    if (opts_.drop(param)) return std::nullopt;
    return unsupported(param, why);
  }

  std::optional<GatewayError> check_parameters() const {
    for (const auto& kv : req_) {
      std::string_view k = kv.key();
      const json::value& v = kv.value();
      if (v.is_null()) continue;
      // Mapped below.
      if (k == "messages" || k == "model" || k == "temperature" || k == "top_p" ||
          k == "max_tokens" || k == "max_completion_tokens" || k == "stop" || k == "n" ||
          k == "seed" || k == "presence_penalty" || k == "frequency_penalty" ||
          k == "response_format" || k == "tools" || k == "tool_choice" || k == "reasoning_effort")
        continue;
      if (has_no_effect(k, v)) continue;
      if (k == "parallel_tool_calls")
        return reject(k, "Gemini decides itself whether to call several functions at once.");
      if (auto e = reject(k)) return e;
    }
    return std::nullopt;
  }

  void append(std::string_view role, json::array parts) { append_turn(contents_, role, "parts", std::move(parts)); }

  std::optional<GatewayError> user_parts(const json::value& content, size_t i, json::array& parts) const {
    if (content.is_null()) return std::nullopt;
    if (content.is_string()) {
      if (!content.get_string().empty()) parts.push_back(json::object{{"text", content}});
      return std::nullopt;
    }
    auto param = fmt::format("messages[{}].content", i);
    if (!content.is_array())
      return invalid(fmt::format("'{}' must be a string or an array of content parts.", param), param);
    const auto& arr = content.get_array();
    for (size_t j = 0; j < arr.size(); ++j) {
      auto pp = fmt::format("{}[{}]", param, j);
      const auto* p = arr[j].if_object();
      const json::value* type = p ? p->if_contains("type") : nullptr;
      if (!type || !type->is_string())
        return invalid(fmt::format("Missing required parameter: '{}.type'.", pp), pp + ".type");
      std::string_view t = type->get_string();
      if (t == "text") {
        auto* text = p->if_contains("text");
        if (!text || !text->is_string())
          return invalid(fmt::format("'{}.text' must be a string.", pp), pp + ".text");
        if (!text->get_string().empty()) parts.push_back(json::object{{"text", *text}});
      } else if (t == "image_url") {
        const json::value* iu = p->if_contains("image_url");
        const json::value* url = iu && iu->is_object() ? iu->get_object().if_contains("url") : iu;
        if (!url || !url->is_string())
          return invalid(fmt::format("'{}.image_url.url' must be a string.", pp), pp + ".image_url.url");
        std::string_view u = url->get_string();
        std::string mime, data;
        if (parse_data_url(u, mime, data)) {
          parts.push_back(json::object{{"inlineData", json::object{{"mimeType", mime}, {"data", data}}}});
        } else if (u.starts_with("https://") || u.starts_with("http://") || u.starts_with("gs://")) {
          parts.push_back(json::object{
              {"fileData", json::object{{"mimeType", guess_image_mime(u)}, {"fileUri", u}}}});
        } else {
          return invalid(fmt::format("'{}.image_url.url' must be an http(s) URL or a base64 data URL.", pp),
                         pp + ".image_url.url");
        }
      } else if (t == "input_audio") {
        const json::value* ia = p->if_contains("input_audio");
        const json::object* a = ia ? ia->if_object() : nullptr;
        const json::value* data = a ? a->if_contains("data") : nullptr;
        const json::value* format = a ? a->if_contains("format") : nullptr;
        if (!data || !data->is_string() || !format || !format->is_string())
          return invalid(fmt::format("'{}.input_audio' must have 'data' and 'format'.", pp), pp + ".input_audio");
        std::string mime = fmt::format("audio/{}", std::string_view(format->get_string()));
        parts.push_back(json::object{{"inlineData", json::object{{"mimeType", mime}, {"data", *data}}}});
      } else if (t == "file") {
        const json::value* f = p->if_contains("file");
        const json::object* fo = f ? f->if_object() : nullptr;
        const json::value* fd = fo ? fo->if_contains("file_data") : nullptr;
        std::string mime, data;
        if (!fd || !fd->is_string() || !parse_data_url(fd->get_string(), mime, data)) {
          if (opts_.drop(pp + ".file.file_id")) continue;
          return unsupported(pp + ".file.file_id", "Send the file inline as 'file_data' (a base64 data URL).");
        }
        parts.push_back(json::object{{"inlineData", json::object{{"mimeType", mime}, {"data", data}}}});
      } else {
        if (opts_.drop(pp + ".type")) continue;
        return unsupported(pp + ".type", fmt::format("Gemini cannot take '{}' content parts.", t));
      }
    }
    return std::nullopt;
  }

  std::optional<GatewayError> encode_messages() {
    const json::value* mv = req_.if_contains("messages");
    if (!mv || !mv->is_array() || mv->get_array().empty())
      return invalid("'messages' must be a non-empty array.", "messages");
    const auto& messages = mv->get_array();

    // Tool results are gathered per assistant turn and sent as one user turn, in call order:
    // Gemini wants exactly as many function responses as the model made calls.
    std::map<std::string, std::string, std::less<>> call_names;  // tool_call id -> function name
    std::vector<std::string> pending_ids;                        // calls of the latest assistant turn
    std::vector<json::value> pending_parts;
    size_t pending_answered = 0;
    size_t pending_msg = 0;

    auto flush_check = [&]() -> std::optional<GatewayError> {
      if (pending_ids.empty()) return std::nullopt;
      std::string missing;
      for (size_t k = 0; k < pending_ids.size(); ++k) {
        if (!pending_parts[k].is_null()) continue;
        if (!missing.empty()) missing += ", ";
        missing += pending_ids[k];
      }
      return invalid(fmt::format("An assistant message with 'tool_calls' must be followed by tool messages "
                                 "responding to each 'tool_call_id'. The following tool_call_ids did not "
                                 "have response messages: {}",
                                 missing),
                     fmt::format("messages[{}]", pending_msg));
    };

    for (size_t i = 0; i < messages.size(); ++i) {
      auto param = fmt::format("messages[{}]", i);
      const auto* m = messages[i].if_object();
      if (!m) return invalid(fmt::format("'{}' must be an object.", param), param);
      const json::value* rv = m->if_contains("role");
      if (!rv || !rv->is_string())
        return invalid(fmt::format("Missing required parameter: '{}.role'.", param), param + ".role");
      std::string_view role = rv->get_string();
      static const json::value null_value;
      const json::value* cv = m->if_contains("content");
      const json::value& content = cv ? *cv : null_value;

      if (role == "system" || role == "developer") {
        std::string text, bad;
        if (!plain_text(content, text, bad, param + ".content"))
          return invalid(fmt::format("'{}' must be text: Gemini's system instruction takes text only.", bad), bad);
        if (!text.empty()) system_parts_.push_back(json::object{{"text", text}});
      } else if (role == "user") {
        if (auto e = flush_check()) return e;
        json::array parts;
        if (auto e = user_parts(content, i, parts)) return e;
        append("user", std::move(parts));
      } else if (role == "assistant") {
        if (auto e = flush_check()) return e;
        json::array parts;
        std::string text, bad;
        if (!plain_text(content, text, bad, param + ".content"))
          return invalid(fmt::format("'{}' must be a text or refusal part.", bad), bad);
        if (!text.empty()) parts.push_back(json::object{{"text", text}});
        if (auto* tcs = present(*m, "tool_calls")) {
          if (!tcs->is_array())
            return invalid(fmt::format("'{}.tool_calls' must be an array.", param), param + ".tool_calls");
          const auto& calls = tcs->get_array();
          for (size_t j = 0; j < calls.size(); ++j) {
            auto cp = fmt::format("{}.tool_calls[{}]", param, j);
            const auto* tc = calls[j].if_object();
            const json::value* id = tc ? tc->if_contains("id") : nullptr;
            const json::value* fn = tc ? tc->if_contains("function") : nullptr;
            const json::object* f = fn ? fn->if_object() : nullptr;
            const json::value* name = f ? f->if_contains("name") : nullptr;
            if (!id || !id->is_string() || !name || !name->is_string())
              return invalid(fmt::format("'{}' must have an 'id' and a 'function.name'.", cp), cp);
            json::value args = json::object();
            if (const json::value* a = f->if_contains("arguments"); a && a->is_string() && !a->get_string().empty()) {
              boost::system::error_code ec;
              args = json::parse(a->get_string(), ec);
              if (ec || !args.is_object())
                return invalid(fmt::format("'{}.function.arguments' must be a JSON object.", cp),
                               cp + ".function.arguments");
            } else if (a && a->is_object()) {
              args = *a;
            }
            json::object part{{"functionCall", json::object{{"name", *name}, {"args", std::move(args)}}}};
            // Gemini 2.5+/3 sign their function calls; the signature must come back with the call.
            if (auto* ec = tc->if_contains("extra_content"); ec && ec->is_object())
              if (auto* g = ec->get_object().if_contains("google"); g && g->is_object())
                if (auto* sig = g->get_object().if_contains("thought_signature"); sig && sig->is_string())
                  part["thoughtSignature"] = *sig;
            parts.push_back(std::move(part));
            call_names[std::string(id->get_string())] = std::string(name->get_string());
            if (j == 0) {
              pending_ids.clear();
              pending_parts.clear();
              pending_answered = 0;
              pending_msg = i;
            }
            pending_ids.emplace_back(id->get_string());
            pending_parts.emplace_back(nullptr);
          }
        }
        append("model", std::move(parts));
      } else if (role == "tool") {
        const json::value* idv = m->if_contains("tool_call_id");
        if (!idv || !idv->is_string())
          return invalid(fmt::format("Missing required parameter: '{}.tool_call_id'.", param), param + ".tool_call_id");
        std::string_view id = idv->get_string();
        auto k = std::find(pending_ids.begin(), pending_ids.end(), id) - pending_ids.begin();
        if (static_cast<size_t>(k) == pending_ids.size() || !pending_parts[k].is_null())
          return invalid("Invalid parameter: messages with role 'tool' must be a response to a preceding "
                         "message with 'tool_calls'.",
                         param + ".role");
        std::string text, bad;
        if (!plain_text(content, text, bad, param + ".content"))
          return invalid(fmt::format("'{}' must be a text part.", bad), bad);
        json::value response;
        {
          boost::system::error_code ec;
          json::value parsed = json::parse(text, ec);
          // Gemini wants an object; a tool that answered JSON object text is passed as that object.
          if (!ec && parsed.is_object()) response = std::move(parsed);
          else response = json::object{{"result", text}};
        }
        pending_parts[k] = json::object{
            {"functionResponse",
             json::object{{"name", call_names.find(id)->second}, {"response", std::move(response)}}}};
        if (++pending_answered == pending_ids.size()) {
          json::array parts;
          for (auto& p : pending_parts) parts.push_back(std::move(p));
          append("user", std::move(parts));
          pending_ids.clear();
          pending_parts.clear();
          pending_answered = 0;
        }
      } else if (role == "function") {
        return unsupported(param + ".role", "Use 'tool' messages (the tools API) instead of functions.");
      } else {
        return invalid(fmt::format("Invalid value for '{}.role': '{}'.", param, role), param + ".role");
      }
    }
    if (auto e = flush_check()) return e;
    if (contents_.empty())
      return invalid("'messages' must contain at least one user or assistant message with content: Gemini "
                     "needs something to answer besides the system instruction.",
                     "messages");
    return std::nullopt;
  }

  std::optional<GatewayError> encode_tools() {
    std::vector<std::string> names;
    if (auto* tv = present(req_, "tools")) {
      if (!tv->is_array()) return invalid("'tools' must be an array.", "tools");
      const auto& tools = tv->get_array();
      for (size_t i = 0; i < tools.size(); ++i) {
        auto param = fmt::format("tools[{}]", i);
        const auto* t = tools[i].if_object();
        const json::value* type = t ? t->if_contains("type") : nullptr;
        if (!type || !type->is_string() || type->get_string() != "function") {
          if (opts_.drop(param + ".type")) continue;
          return unsupported(param + ".type", "Only function tools can be sent to Gemini.");
        }
        const json::value* fv = t->if_contains("function");
        const json::object* f = fv ? fv->if_object() : nullptr;
        const json::value* name = f ? f->if_contains("name") : nullptr;
        if (!name || !name->is_string() || name->get_string().empty())
          return invalid(fmt::format("Missing required parameter: '{}.function.name'.", param), param + ".function.name");
        json::object decl{{"name", *name}};
        if (auto* d = f->if_contains("description"); d && d->is_string()) decl["description"] = *d;
        if (auto* p = present(*f, "parameters")) {
          json::object schema = wire::to_gemini_schema(*p);
          // Gemini rejects an OBJECT without properties; a function without arguments has none.
          if (schema.contains("properties") || schema.contains("anyOf")) decl["parameters"] = std::move(schema);
        }
        names.emplace_back(name->get_string());
        declarations_.push_back(std::move(decl));
      }
    }

    if (auto* tc = present(req_, "tool_choice")) {
      json::object fcc;
      if (tc->is_string()) {
        std::string_view c = tc->get_string();
        if (c == "auto") fcc["mode"] = "AUTO";
        else if (c == "none") fcc["mode"] = "NONE";
        else if (c == "required") fcc["mode"] = "ANY";
        else return invalid(fmt::format("Invalid value for 'tool_choice': '{}'.", c), "tool_choice");
      } else if (const auto* o = tc->if_object()) {
        const json::value* type = o->if_contains("type");
        const json::value* fv = o->if_contains("function");
        const json::value* name = fv && fv->is_object() ? fv->get_object().if_contains("name") : nullptr;
        if (!type || !type->is_string() || type->get_string() != "function") {
          if (auto e = reject("tool_choice", "Only 'auto', 'none', 'required' and a named function are.")) return e;
        } else if (!name || !name->is_string()) {
          return invalid("Missing required parameter: 'tool_choice.function.name'.", "tool_choice.function.name");
        } else {
          if (std::find(names.begin(), names.end(), std::string_view(name->get_string())) == names.end())
            return invalid(fmt::format("Tool choice '{}' not found in 'tools' parameter.",
                                       std::string_view(name->get_string())),
                           "tool_choice");
          fcc["mode"] = "ANY";
          fcc["allowedFunctionNames"] = json::array{*name};
        }
      } else {
        return invalid("'tool_choice' must be a string or an object.", "tool_choice");
      }
      if (!fcc.empty()) tool_config_["functionCallingConfig"] = std::move(fcc);
    }
    return std::nullopt;
  }

  std::optional<GatewayError> number_param(std::string_view key, std::string_view gemini_key) {
    auto* v = present(req_, key);
    if (!v) return std::nullopt;
    auto n = as_number(*v);
    if (!n) return invalid(fmt::format("'{}' must be a number.", key), std::string(key));
    generation_[gemini_key] = *v;
    return std::nullopt;
  }

  std::optional<GatewayError> int_param(std::string_view key, std::string_view gemini_key, int64_t min) {
    auto* v = present(req_, key);
    if (!v) return std::nullopt;
    auto n = as_int(*v);
    if (!n || *n < min) {
      if (min == INT64_MIN) return invalid(fmt::format("'{}' must be an integer.", key), std::string(key));
      return invalid(fmt::format("'{}' must be an integer of at least {}.", key, min), std::string(key));
    }
    generation_[gemini_key] = *n;
    return std::nullopt;
  }

  std::optional<GatewayError> encode_generation_config() {
    if (auto e = number_param("temperature", "temperature")) return e;
    if (auto e = number_param("top_p", "topP")) return e;
    if (auto e = number_param("presence_penalty", "presencePenalty")) return e;
    if (auto e = number_param("frequency_penalty", "frequencyPenalty")) return e;
    if (auto e = int_param("max_tokens", "maxOutputTokens", 1)) return e;
    if (auto e = int_param("max_completion_tokens", "maxOutputTokens", 1)) return e;  // wins
    if (auto e = int_param("n", "candidateCount", 1)) return e;
    if (auto e = int_param("seed", "seed", INT64_MIN)) return e;

    if (auto* stop = present(req_, "stop")) {
      json::array seqs;
      if (auto e = stop_sequences(*stop, seqs)) return e;
      if (!seqs.empty()) generation_["stopSequences"] = std::move(seqs);
    }

    if (auto* rf = present(req_, "response_format")) {
      const json::object* o = rf->if_object();
      const json::value* type = o ? o->if_contains("type") : nullptr;
      std::string_view t = type && type->is_string() ? std::string_view(type->get_string()) : "";
      if (t == "json_object") {
        generation_["responseMimeType"] = "application/json";
      } else if (t == "json_schema") {
        generation_["responseMimeType"] = "application/json";
        const json::value* js = o->if_contains("json_schema");
        const json::value* schema = js && js->is_object() ? js->get_object().if_contains("schema") : nullptr;
        if (schema && schema->is_object()) generation_["responseSchema"] = wire::to_gemini_schema(*schema);
      } else if (t != "text") {
        return invalid("Invalid value for 'response_format.type': expected 'text', 'json_object' or "
                       "'json_schema'.",
                       "response_format.type");
      }
    }

    if (auto* re = present(req_, "reasoning_effort")) {
      std::string_view e = re->is_string() ? std::string_view(re->get_string()) : "";
      static constexpr std::pair<std::string_view, int> budgets[] = {
          {"none", 0}, {"minimal", 512}, {"low", 1024}, {"medium", 8192}, {"high", 24576}, {"xhigh", 24576}};
      auto it = std::find_if(std::begin(budgets), std::end(budgets), [&](auto& b) { return b.first == e; });
      if (it == std::end(budgets))
        return invalid("Invalid value for 'reasoning_effort': expected one of none, minimal, low, medium, high.",
                       "reasoning_effort");
      json::object tc;
      if (opts_.upstream_model.find("gemini-3") != std::string_view::npos) {
        // Gemini 3 takes levels, not budgets, and cannot switch thinking off.
        std::string_view level = e == "none" ? "minimal" : e == "xhigh" ? "high" : e;
        tc["thinkingLevel"] = level;
        tc["includeThoughts"] = true;
      } else {
        tc["thinkingBudget"] = it->second;
        if (it->second > 0) tc["includeThoughts"] = true;
      }
      generation_["thinkingConfig"] = std::move(tc);
    }
    return std::nullopt;
  }
};

}  // namespace

std::optional<GatewayError> GeminiCodec::encode_chat(const json::object& request, const EncodeOptions& opts,
                                                     const core::CompiledProvider& provider,
                                                     EncodedRequest& out) const {
  json::object body;
  ChatEncoder enc(request, opts);
  if (auto e = enc.encode(body)) return e;
  out.path = wire::method_path(opts.upstream_model,
                               opts.stream ? "streamGenerateContent?alt=sse" : "generateContent");
  out.headers.clear();
  provider_headers(provider, out.headers);
  out.body = json::serialize(body);
  return std::nullopt;
}

std::optional<GatewayError> GeminiCodec::encode_embeddings(const json::object& request, const EncodeOptions& opts,
                                                           const core::CompiledProvider& provider,
                                                           EncodedRequest& out) const {
  for (const auto& kv : request) {
    std::string_view k = kv.key();
    if (kv.value().is_null() || k == "input" || k == "model" || k == "dimensions" ||
        k == "encoding_format" || k == "user")
      continue;
    if (!opts.drop(k)) return unsupported(k);
  }
  if (auto* f = present(request, "encoding_format")) {
    if (!f->is_string() || (f->get_string() != "float" && f->get_string() != "base64"))
      return invalid("Invalid value for 'encoding_format': expected 'float' or 'base64'.", "encoding_format");
  }
  std::optional<int64_t> dims;
  if (auto* d = present(request, "dimensions")) {
    dims = as_int(*d);
    if (!dims || *dims < 1) return invalid("'dimensions' must be a positive integer.", "dimensions");
  }
  const json::value* input = present(request, "input");
  if (!input) return invalid("Missing required parameter: 'input'.", "input");

  std::string resource = wire::model_resource(opts.upstream_model);
  auto one = [&](const json::value& text) {
    json::object r{{"model", resource},
                   {"content", json::object{{"parts", json::array{json::object{{"text", text}}}}}}};
    if (dims) r["outputDimensionality"] = *dims;
    return r;
  };

  json::object body;
  if (input->is_string()) {
    body = one(*input);
    out.path = wire::method_path(opts.upstream_model, "embedContent");
  } else if (input->is_array() && !input->get_array().empty() &&
             std::all_of(input->get_array().begin(), input->get_array().end(),
                         [](const json::value& v) { return v.is_string(); })) {
    json::array reqs;
    for (const auto& s : input->get_array()) reqs.push_back(one(s));
    body["requests"] = std::move(reqs);
    out.path = wire::method_path(opts.upstream_model, "batchEmbedContents");
  } else if (input->is_array() && !input->get_array().empty()) {
    return unsupported("input", "Gemini embeds text only: send strings, not token ids.");
  } else {
    return invalid("'input' must be a string or a non-empty array of strings.", "input");
  }
  out.headers.clear();
  provider_headers(provider, out.headers);
  out.body = json::serialize(body);
  return std::nullopt;
}

void provider_headers(const core::CompiledProvider& provider, http::Headers& headers) {
  auto has = [&](std::string_view name) {
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
      return std::equal(h.first.begin(), h.first.end(), name.begin(), name.end(),
                        [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
  };
  // The provider's own headers first: an operator may override ours (a proxy's auth, say).
  for (const auto& [k, v] : provider.spec.headers) headers.emplace_back(k, v);
  if (!has("content-type")) headers.emplace_back("content-type", "application/json");
  if (!provider.spec.api_key.empty() && !has("x-goog-api-key"))
    headers.emplace_back("x-goog-api-key", provider.spec.api_key);
}

}  // namespace tollgate::dialects::gemini
