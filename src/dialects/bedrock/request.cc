// Canonical (OpenAI chat request) -> Bedrock Converse / ConverseStream request, signed.
#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/bedrock/codec_impl.h"
#include "dialects/bedrock/sigv4.h"
#include "dialects/chat_params.h"

namespace tollgate::dialects::bedrock {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

constexpr int64_t kDefaultThinkingHeadroom = 4096;  // answer tokens on top of a thinking budget
constexpr int64_t kMinThinkingBudget = 1024;        // Anthropic's minimum budget_tokens

GatewayError unsupported(std::string_view param, std::string_view why = {}) {
  return dialects::unsupported(param, "AWS Bedrock", why);
}

GatewayError misconfigured(std::string message) {
  return GatewayError::make(ErrorKind::internal, std::move(message), "provider_misconfigured");
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(static_cast<unsigned char>(x)) ==
                                                std::tolower(static_cast<unsigned char>(y)); });
}

// Anthropic models (foundation ids, cross-region profiles "us.anthropic...", their ARNs) take
// Anthropic's own request fields through additionalModelRequestFields.
bool is_anthropic_model(std::string_view model) { return model.find("anthropic.") != std::string_view::npos; }

// Bedrock's toolUseId must match ^[a-zA-Z0-9_-]+$ (at most 64 bytes); other providers' ids
// may not. The same rewrite for toolUse and toolResult keeps pairs matched.
std::string tool_id(std::string_view id) {
  std::string out(id.substr(0, 64));
  for (char& c : out) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

// "data:image/png;base64,AAAA" -> media type (lower case) and data; false when not a base64
// data URL naming a media type.
bool parse_data_url(std::string_view url, std::string& mime, std::string_view& data) {
  auto d = dialects::parse_data_url(url);
  if (!d || d->media_type.empty()) return false;
  mime.clear();
  for (char c : d->media_type) mime.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  data = d->data;
  return true;
}

std::string_view image_format(std::string_view mime) {
  if (mime == "image/png") return "png";
  if (mime == "image/jpeg" || mime == "image/jpg") return "jpeg";
  if (mime == "image/gif") return "gif";
  if (mime == "image/webp") return "webp";
  return {};
}

std::string_view document_format(std::string_view mime) {
  static constexpr std::pair<std::string_view, std::string_view> formats[] = {
      {"application/pdf", "pdf"},
      {"text/csv", "csv"},
      {"application/msword", "doc"},
      {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
      {"application/vnd.ms-excel", "xls"},
      {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
      {"text/html", "html"},
      {"text/plain", "txt"},
      {"text/markdown", "md"},
  };
  for (const auto& [m, f] : formats)
    if (m == mime) return f;
  return {};
}

// Bedrock document names allow letters, digits, single spaces, hyphens, parentheses and
// square brackets only.
std::string document_name(std::string_view filename, int n) {
  std::string_view stem = filename.substr(0, filename.rfind('.'));
  std::string out;
  for (char c : stem) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '(' || c == ')' || c == '[' || c == ']';
    if (c == ' ' && !out.empty() && out.back() != ' ') out.push_back(' ');
    else if (ok) out.push_back(c);
    else if (!out.empty() && out.back() != '-') out.push_back('-');
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '-')) out.pop_back();
  return out.empty() ? fmt::format("document-{}", n) : out;
}

// {"cachePoint":{"type":"default"}} for an Anthropic-style cache_control (its ttl kept).
json::object cache_point(const json::value& cache_control) {
  json::object cp{{"type", "default"}};
  if (auto* o = cache_control.if_object()) {
    auto ttl = str(*o, "ttl");
    if (ttl == "5m" || ttl == "1h") cp["ttl"] = ttl;
  }
  return json::object{{"cachePoint", std::move(cp)}};
}

void cache_after(const json::object& holder, json::array& blocks) {
  if (auto* cc = present(holder, "cache_control"); cc && !blocks.empty()) blocks.push_back(cache_point(*cc));
}

// The region the host names: bedrock-runtime[-fips].<region>.amazonaws.com[.cn], also behind a
// VPC endpoint (vpce-x.bedrock-runtime.<region>.vpce.amazonaws.com). "" when it names none.
std::string region_from_host(std::string_view host) {
  std::vector<std::string_view> labels;
  while (!host.empty()) {
    auto dot = host.find('.');
    labels.push_back(host.substr(0, dot));
    host = dot == std::string_view::npos ? std::string_view() : host.substr(dot + 1);
  }
  for (size_t i = 0; i + 2 < labels.size(); ++i)
    if (labels[i].starts_with("bedrock-runtime")) return std::string(labels[i + 1]);
  return {};
}

class ChatEncoder {
 public:
  ChatEncoder(const json::object& req, const EncodeOptions& opts) : req_(req), opts_(opts) {}

  std::optional<GatewayError> encode(json::object& body) {
    if (auto e = check_parameters()) return e;
    if (auto e = encode_messages()) return e;
    if (auto e = encode_tools()) return e;
    if (auto e = encode_inference()) return e;
    if (auto e = encode_model_fields()) return e;

    body["messages"] = std::move(messages_);
    if (!system_.empty()) body["system"] = std::move(system_);
    if (!inference_.empty()) body["inferenceConfig"] = std::move(inference_);
    if (!tool_config_.empty()) body["toolConfig"] = std::move(tool_config_);
    if (!additional_.empty()) body["additionalModelRequestFields"] = std::move(additional_);
    return std::nullopt;
  }

 private:
  const json::object& req_;
  const EncodeOptions& opts_;
  json::array system_;
  json::array messages_;
  json::object inference_;
  json::object tool_config_;
  json::object additional_;
  bool history_has_tools_ = false;
  int documents_ = 0;

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
      if (k == "messages" || k == "model" || k == "temperature" || k == "top_p" || k == "max_tokens" ||
          k == "max_completion_tokens" || k == "stop" || k == "tools" || k == "tool_choice" ||
          k == "reasoning_effort" || k == "top_k" || k == "thinking")
        continue;
      // Bedrock always reports usage, so stream_options needs nothing.
      if (has_no_effect(k, v)) continue;
      if (k == "n") return unsupported(k, "Only n=1 is possible.");  // a shape of answer, never dropped
      if (k == "parallel_tool_calls") {
        if (auto e = reject(k, "Converse lets the model decide whether to call several tools at once.")) return e;
        continue;
      }
      if (k == "response_format") {
        if (auto e = reject(k, "Only {\"type\":\"text\"} is possible; JSON modes are not emulated.")) return e;
        continue;
      }
      if (auto e = reject(k)) return e;
    }
    return std::nullopt;
  }

  void append(std::string_view role, json::array blocks) { append_turn(messages_, role, "content", std::move(blocks)); }

  // One non-text part (image_url, file) -> its Bedrock block.
  std::optional<GatewayError> media_block(const json::object& part, std::string_view type, const std::string& pp,
                                          json::array& blocks) {
    std::string mime;
    std::string_view data;
    if (type == "image_url") {
      const json::value* iu = part.if_contains("image_url");
      const json::value* url = iu && iu->is_object() ? iu->get_object().if_contains("url") : iu;
      if (!url || !url->is_string())
        return invalid(fmt::format("'{}.image_url.url' must be a string.", pp), pp + ".image_url.url");
      std::string_view u = url->get_string();
      if (!parse_data_url(u, mime, data)) {
        if (u.starts_with("https://") || u.starts_with("http://")) {
          if (opts_.drop(pp)) return std::nullopt;
          return unsupported(pp, "Bedrock cannot fetch image URLs: send the image inline as a base64 data URL.");
        }
        return invalid(fmt::format("'{}.image_url.url' must be a base64 data URL.", pp), pp + ".image_url.url");
      }
      std::string_view format = image_format(mime);
      if (format.empty()) {
        if (opts_.drop(pp)) return std::nullopt;
        return unsupported(pp, fmt::format("Bedrock takes png, jpeg, gif and webp images, not '{}'.", mime));
      }
      blocks.push_back(json::object{{"image", json::object{{"format", format},
                                                           {"source", json::object{{"bytes", data}}}}}});
    } else if (type == "file") {
      const json::value* f = part.if_contains("file");
      const json::object* fo = f ? f->if_object() : nullptr;
      std::string_view fd = fo ? str(*fo, "file_data") : std::string_view();
      if (!parse_data_url(fd, mime, data)) {
        if (opts_.drop(pp + ".file")) return std::nullopt;
        return unsupported(pp + ".file", "Send the file inline as 'file_data' (a base64 data URL); file ids cannot be.");
      }
      std::string_view format = document_format(mime);
      if (format.empty()) {
        if (opts_.drop(pp + ".file")) return std::nullopt;
        return unsupported(pp + ".file", fmt::format("Bedrock cannot read documents of type '{}'.", mime));
      }
      blocks.push_back(json::object{{"document", json::object{{"format", format},
                                                              {"name", document_name(str(*fo, "filename"), ++documents_)},
                                                              {"source", json::object{{"bytes", data}}}}}});
    } else {
      if (opts_.drop(pp + ".type")) return std::nullopt;
      return unsupported(pp + ".type", fmt::format("Bedrock cannot take '{}' content parts.", type));
    }
    cache_after(part, blocks);
    return std::nullopt;
  }

  // A message's content -> blocks. Empty text is dropped (Bedrock rejects blank text).
  // `media`: images and files allowed; `refusal`: refusal parts read as text (assistant).
  std::optional<GatewayError> content_blocks(const json::value& content, const std::string& param,
                                             json::array& blocks, bool media, bool refusal) {
    if (content.is_null()) return std::nullopt;
    if (content.is_string()) {
      if (!content.get_string().empty()) blocks.push_back(json::object{{"text", content}});
      return std::nullopt;
    }
    if (!content.is_array())
      return invalid(fmt::format("'{}' must be a string or an array of content parts.", param), param);
    const auto& parts = content.get_array();
    for (size_t j = 0; j < parts.size(); ++j) {
      std::string pp = fmt::format("{}[{}]", param, j);
      const auto* p = parts[j].if_object();
      std::string_view type = p ? str(*p, "type") : std::string_view();
      if (type.empty()) return invalid(fmt::format("Missing required parameter: '{}.type'.", pp), pp + ".type");
      if (type == "text" || (refusal && type == "refusal")) {
        const json::value* text = p->if_contains(type);
        if (!text || !text->is_string())
          return invalid(fmt::format("'{}.{}' must be a string.", pp, type), fmt::format("{}.{}", pp, type));
        if (text->get_string().empty()) continue;
        blocks.push_back(json::object{{"text", *text}});
        cache_after(*p, blocks);
      } else if (media) {
        if (auto e = media_block(*p, type, pp, blocks)) return e;
      } else {
        if (opts_.drop(pp + ".type")) continue;
        return unsupported(pp + ".type", fmt::format("Only text parts are possible here, not '{}'.", type));
      }
    }
    return std::nullopt;
  }

  // Anthropic-shaped thinking_blocks (as decode_chat returns them) -> reasoningContent, so
  // signed reasoning can be replayed in a tool-use loop.
  static void reasoning_blocks(const json::object& m, json::array& blocks) {
    auto* tb = present(m, "thinking_blocks");
    if (!tb || !tb->is_array()) return;
    for (const auto& bv : tb->get_array()) {
      const auto* b = bv.if_object();
      if (!b) continue;
      std::string_view type = str(*b, "type");
      if (type == "thinking") {
        json::object rt{{"text", str(*b, "thinking")}};
        if (auto sig = str(*b, "signature"); !sig.empty()) rt["signature"] = sig;
        blocks.push_back(json::object{{"reasoningContent", json::object{{"reasoningText", std::move(rt)}}}});
      } else if (type == "redacted_thinking") {
        blocks.push_back(json::object{{"reasoningContent", json::object{{"redactedContent", str(*b, "data")}}}});
      }
    }
  }

  std::optional<GatewayError> encode_messages() {
    const json::value* mv = present(req_, "messages");
    if (!mv || !mv->is_array() || mv->get_array().empty())
      return invalid("'messages' must be a non-empty array.", "messages");
    const auto& messages = mv->get_array();
    for (size_t i = 0; i < messages.size(); ++i) {
      std::string param = fmt::format("messages[{}]", i);
      const auto* m = messages[i].if_object();
      if (!m) return invalid(fmt::format("'{}' must be an object.", param), param);
      std::string_view role = str(*m, "role");
      if (role.empty()) return invalid(fmt::format("Missing required parameter: '{}.role'.", param), param + ".role");
      static const json::value null_value;
      const json::value* cv = m->if_contains("content");
      const json::value& content = cv ? *cv : null_value;

      if (role == "system" || role == "developer") {
        json::array blocks;
        if (auto e = content_blocks(content, param + ".content", blocks, false, false)) return e;
        cache_after(*m, blocks);
        for (auto& b : blocks) system_.push_back(std::move(b));
      } else if (role == "user") {
        json::array blocks;
        if (auto e = content_blocks(content, param + ".content", blocks, true, false)) return e;
        cache_after(*m, blocks);
        append("user", std::move(blocks));
      } else if (role == "assistant") {
        json::array blocks;
        reasoning_blocks(*m, blocks);
        if (auto e = content_blocks(content, param + ".content", blocks, false, true)) return e;
        if (present(*m, "function_call")) {
          if (auto e = reject(param + ".function_call", "Use tool_calls.")) return e;
        }
        if (auto e = tool_uses(*m, param, blocks)) return e;
        cache_after(*m, blocks);
        append("assistant", std::move(blocks));
      } else if (role == "tool") {
        std::string_view id = str(*m, "tool_call_id");
        if (id.empty())
          return invalid(fmt::format("Missing required parameter: '{}.tool_call_id'.", param), param + ".tool_call_id");
        json::array parts;
        if (auto e = content_blocks(content, param + ".content", parts, true, false)) return e;
        // cachePoint is not a tool result content block: it goes after the toolResult.
        json::array result_content;
        for (auto& b : parts)
          if (!b.as_object().contains("cachePoint")) result_content.push_back(std::move(b));
        // A tool result needs content; an empty answer is an empty JSON object, not blank text.
        if (result_content.empty()) result_content.push_back(json::object{{"json", json::object{}}});
        json::array blocks{json::object{
            {"toolResult", json::object{{"toolUseId", tool_id(id)}, {"content", std::move(result_content)}}}}};
        cache_after(*m, blocks);
        history_has_tools_ = true;
        append("user", std::move(blocks));
      } else if (role == "function") {
        return unsupported(param + ".role", "Use 'tool' messages (the tools API) instead of functions.");
      } else {
        return invalid(fmt::format("Invalid value for '{}.role': '{}'. Supported values are: 'system', "
                                   "'developer', 'user', 'assistant' and 'tool'.",
                                   param, role),
                       param + ".role");
      }
    }
    if (messages_.empty())
      return invalid("'messages' must contain at least one user or assistant message with content: Bedrock "
                     "needs something to answer besides the system prompt.",
                     "messages");
    return std::nullopt;
  }

  std::optional<GatewayError> tool_uses(const json::object& m, const std::string& param, json::array& blocks) {
    auto* tcs = present(m, "tool_calls");
    if (!tcs) return std::nullopt;
    if (!tcs->is_array()) return invalid(fmt::format("'{}.tool_calls' must be an array.", param), param + ".tool_calls");
    const auto& calls = tcs->get_array();
    for (size_t k = 0; k < calls.size(); ++k) {
      std::string cp = fmt::format("{}.tool_calls[{}]", param, k);
      const auto* tc = calls[k].if_object();
      const json::value* fv = tc ? tc->if_contains("function") : nullptr;
      const json::object* fn = fv ? fv->if_object() : nullptr;
      if (!tc || !fn || str(*tc, "id").empty() || str(*fn, "name").empty())
        return invalid(fmt::format("'{}' must have an 'id' and a 'function.name'.", cp), cp);
      json::value input = json::object{};
      if (const json::value* a = fn->if_contains("arguments"); a && a->is_string() && !a->get_string().empty()) {
        boost::system::error_code ec;
        input = json::parse(a->get_string(), ec);
        if (ec || !input.is_object())
          return invalid(fmt::format("'{}.function.arguments' must be a JSON object: Bedrock takes tool input as an "
                                     "object.",
                                     cp),
                         cp + ".function.arguments");
      } else if (a && a->is_object()) {
        input = *a;
      }
      blocks.push_back(json::object{{"toolUse", json::object{{"toolUseId", tool_id(str(*tc, "id"))},
                                                             {"name", str(*fn, "name")},
                                                             {"input", std::move(input)}}}});
      history_has_tools_ = true;
    }
    return std::nullopt;
  }

  std::optional<GatewayError> encode_tools() {
    json::array tools;
    std::vector<std::string_view> names;
    if (auto* tv = present(req_, "tools")) {
      if (!tv->is_array()) return invalid("'tools' must be an array.", "tools");
      const auto& arr = tv->get_array();
      for (size_t i = 0; i < arr.size(); ++i) {
        std::string param = fmt::format("tools[{}]", i);
        const auto* t = arr[i].if_object();
        if (!t || str(*t, "type") != "function") {
          if (opts_.drop(param + ".type")) continue;
          return unsupported(param + ".type", "Only function tools can be sent to Bedrock.");
        }
        const json::value* fv = t->if_contains("function");
        const json::object* f = fv ? fv->if_object() : nullptr;
        std::string_view name = f ? str(*f, "name") : std::string_view();
        if (name.empty())
          return invalid(fmt::format("Missing required parameter: '{}.function.name'.", param), param + ".function.name");
        json::object spec{{"name", name}};
        if (auto d = str(*f, "description"); !d.empty()) spec["description"] = d;
        const json::value* params = present(*f, "parameters");
        if (params && !params->is_object())
          return invalid(fmt::format("'{}.function.parameters' must be an object.", param), param + ".function.parameters");
        spec["inputSchema"] = json::object{
            {"json", params ? *params : json::value(json::object{{"type", "object"}, {"properties", json::object{}}})}};
        tools.push_back(json::object{{"toolSpec", std::move(spec)}});
        names.push_back(name);
        if (auto* cc = present(*t, "cache_control")) tools.push_back(cache_point(*cc));
      }
    }

    json::object choice;
    bool none = false;
    if (auto* tc = present(req_, "tool_choice")) {
      if (tc->is_string()) {
        std::string_view c = tc->get_string();
        if (c == "auto") choice["auto"] = json::object{};
        else if (c == "required") choice["any"] = json::object{};
        else if (c == "none") none = true;
        else return invalid(fmt::format("Invalid value for 'tool_choice': '{}'.", c), "tool_choice");
      } else if (const auto* o = tc->if_object()) {
        const json::value* fv = o->if_contains("function");
        std::string_view name = fv && fv->is_object() ? str(fv->get_object(), "name") : std::string_view();
        if (str(*o, "type") != "function") {
          if (auto e = reject("tool_choice", "Only 'auto', 'none', 'required' and a named function are.")) return e;
        } else if (name.empty()) {
          return invalid("Missing required parameter: 'tool_choice.function.name'.", "tool_choice.function.name");
        } else if (std::find(names.begin(), names.end(), name) == names.end()) {
          return invalid(fmt::format("Tool choice '{}' not found in 'tools' parameter.", name), "tool_choice");
        } else {
          choice["tool"] = json::object{{"name", name}};
        }
      } else {
        return invalid("'tool_choice' must be a string or an object.", "tool_choice");
      }
      if (tools.empty() && !choice.empty() && !choice.contains("auto"))
        return invalid("'tool_choice' requires 'tools'.", "tool_choice");
    }
    if (tools.empty()) return std::nullopt;
    if (none) {
      // Converse has no "none": leaving the tools out means the same, unless the history holds
      // tool calls, for which Bedrock requires the tools to be declared.
      if (!history_has_tools_) return std::nullopt;
      if (auto e = reject("tool_choice", "Converse has no 'none', and the tools cannot be left out while the "
                                         "conversation holds tool calls."))
        return e;
    }
    tool_config_["tools"] = std::move(tools);
    if (!choice.empty()) tool_config_["toolChoice"] = std::move(choice);
    return std::nullopt;
  }

  std::optional<GatewayError> encode_inference() {
    for (std::string_view key : {"max_tokens", "max_completion_tokens"}) {  // the latter wins
      auto* v = present(req_, key);
      if (!v) continue;
      auto n = as_int(*v);
      if (!n || *n < 1) return invalid(fmt::format("'{}' must be an integer of at least 1.", key), std::string(key));
      inference_["maxTokens"] = *n;
    }
    for (auto [key, bedrock_key] : {std::pair<std::string_view, std::string_view>{"temperature", "temperature"},
                                    {"top_p", "topP"}}) {
      auto* v = present(req_, key);
      if (!v) continue;
      if (!v->is_number()) return invalid(fmt::format("'{}' must be a number.", key), std::string(key));
      inference_[bedrock_key] = *v;
    }
    if (auto* stop = present(req_, "stop")) {
      json::array seqs;
      if (auto e = stop_sequences(*stop, seqs)) return e;
      if (!seqs.empty()) inference_["stopSequences"] = std::move(seqs);
    }
    return std::nullopt;
  }

  // top_k, reasoning_effort and Anthropic's own `thinking` object: additionalModelRequestFields
  // of Anthropic models; other model families name these differently or not at all.
  std::optional<GatewayError> encode_model_fields() {
    bool anthropic = is_anthropic_model(opts_.upstream_model);
    if (auto* k = present(req_, "top_k")) {
      auto n = as_int(*k);
      if (!n || *n < 1) return invalid("'top_k' must be a positive integer.", "top_k");
      if (anthropic) additional_["top_k"] = *n;
      else if (auto e = reject("top_k", "Only Anthropic models on Bedrock take it.")) return e;
    }
    if (auto* t = present(req_, "thinking")) {
      if (!t->is_object()) return invalid("'thinking' must be an object.", "thinking");
      if (anthropic) additional_["thinking"] = *t;  // the caller's own Anthropic object wins
      else if (auto e = reject("thinking", "Only Anthropic models on Bedrock take it.")) return e;
    }
    auto* re = present(req_, "reasoning_effort");
    if (!re || additional_.contains("thinking")) return std::nullopt;
    static constexpr std::pair<std::string_view, int64_t> budgets[] = {
        {"none", 0}, {"minimal", 1024}, {"low", 1024}, {"medium", 4096}, {"high", 16384}, {"xhigh", 32768}};
    std::string_view effort = re->is_string() ? std::string_view(re->get_string()) : "";
    auto it = std::find_if(std::begin(budgets), std::end(budgets), [&](auto& b) { return b.first == effort; });
    if (it == std::end(budgets))
      return invalid("Invalid value for 'reasoning_effort': expected one of none, minimal, low, medium, high, xhigh.",
                     "reasoning_effort");
    if (it->second == 0) return std::nullopt;
    if (!anthropic) return reject("reasoning_effort", "Only Anthropic models on Bedrock can be asked to reason.");
    int64_t budget = it->second;
    if (auto* mt = inference_.if_contains("maxTokens")) {
      int64_t max = mt->as_int64();
      if (max <= budget) budget = max - 1;
      if (budget < kMinThinkingBudget)
        return invalid(fmt::format("'reasoning_effort' needs at least {} thinking tokens below the max tokens ({}).",
                                   kMinThinkingBudget, max),
                       "reasoning_effort");
    } else {
      inference_["maxTokens"] = budget + kDefaultThinkingHeadroom;
    }
    additional_["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", budget}};
    return std::nullopt;
  }
};

}  // namespace

std::optional<GatewayError> BedrockCodec::encode_chat(const json::object& request, const EncodeOptions& opts,
                                                      const core::CompiledProvider& provider,
                                                      EncodedRequest& out) const {
  std::string region = provider.spec.api_version.empty() ? region_from_host(provider.endpoint.host)
                                                         : provider.spec.api_version;
  if (region.empty())
    return misconfigured(fmt::format("Bedrock provider '{}' has no region: set api_version to the region (e.g. "
                                     "us-east-1) or use a bedrock-runtime.<region>.amazonaws.com base URL.",
                                     provider.spec.name));
  auto creds = sigv4::Credentials::parse(provider.spec.api_key);
  if (!creds)
    return misconfigured(fmt::format("Bedrock provider '{}' needs api_key \"ACCESS_KEY_ID:SECRET_ACCESS_KEY\" or "
                                     "\"ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN\".",
                                     provider.spec.name));

  json::object body;
  ChatEncoder enc(request, opts);
  if (auto e = enc.encode(body)) return e;
  out.body = json::serialize(body);
  out.path = fmt::format("/model/{}/{}", sigv4::uri_encode(opts.upstream_model, false),
                         opts.stream ? "converse-stream" : "converse");

  // The signed headers, all ours: a provider header of the same name cannot replace them.
  http::Headers signed_headers{
      {"content-type", "application/json"},
      {"host", provider.endpoint.host_header},
      {"x-amz-content-sha256", sigv4::sha256_hex(out.body)},
      {"x-amz-date", sigv4::amz_date(sigv4::now())},
  };
  if (!creds->session_token.empty()) signed_headers.emplace_back("x-amz-security-token", creds->session_token);
  // The gateway sends the prefix of the base URL before out.path; the signature covers both.
  std::string wire_path = provider.endpoint.path_prefix + out.path;
  sigv4::Request sreq{"POST", wire_path, "", &signed_headers, signed_headers[2].second};
  std::string authorization = sigv4::authorization(*creds, sreq, region, "bedrock", signed_headers[3].second);

  out.headers.clear();
  auto ours = [](std::string_view name) {
    for (std::string_view n : {"content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token",
                               "authorization", "accept"})
      if (iequals(n, name)) return true;
    return false;
  };
  for (const auto& [k, v] : provider.spec.headers)
    if (!ours(k)) out.headers.emplace_back(k, v);  // sent, not signed
  for (auto& h : signed_headers) out.headers.push_back(std::move(h));
  out.headers.emplace_back("authorization", std::move(authorization));
  out.headers.emplace_back("accept", opts.stream ? "application/vnd.amazon.eventstream" : "application/json");
  return std::nullopt;
}

std::optional<GatewayError> BedrockCodec::encode_embeddings(const json::object&, const EncodeOptions&,
                                                            const core::CompiledProvider&, EncodedRequest&) const {
  return GatewayError::make(ErrorKind::invalid_request,
                            "Embeddings are not available for provider kind bedrock (Converse serves chat only).",
                            "unsupported_endpoint", "model");
}

}  // namespace tollgate::dialects::bedrock
