#include "dialects/anthropic/codec.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/anthropic/wire.h"
#include "dialects/chat_params.h"

namespace tollgate::dialects::anthropic {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

constexpr int64_t kDefaultMaxTokens = 4096;
constexpr int64_t kMinThinkingBudget = 1024;

GatewayError unsupported(const std::string& param, std::string_view why = {}) {
  return GatewayError::make(
      ErrorKind::invalid_request,
      fmt::format("Unsupported parameter: '{}' is not supported by Anthropic models{}{}.", param,
                  why.empty() ? "" : ": ", why),
      "unsupported_parameter", param);
}

// Anthropic tool ids must match ^[a-zA-Z0-9_-]+$; other providers' ids may not.
std::string tool_id(std::string_view id) {
  std::string out(id);
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

bool is_null_or_absent(const json::value* v) { return !v || v->is_null(); }

// The text of a lone text block without cache_control (so it can be sent as a plain string).
const json::value* plain_text(const json::array& blocks) {
  if (blocks.size() != 1) return nullptr;
  const auto& b = blocks[0].as_object();
  if (b.size() != 2 || json_str(b, "type") != "text") return nullptr;
  return b.if_contains("text");
}

// Per-request translation state: one instance per encode_chat call.
class RequestEncoder {
 public:
  RequestEncoder(const json::object& req, const EncodeOptions& opts) : req_(req), opts_(opts) {}

  std::optional<GatewayError> run(json::object& out);

 private:
  struct Turn {
    std::string role;  // "user" | "assistant"
    json::array blocks;
  };

  std::optional<GatewayError> check_parameters();
  std::optional<GatewayError> convert_messages();
  std::optional<GatewayError> convert_message(std::size_t i, const json::object& m);
  std::optional<GatewayError> text_parts(const json::value& content, const std::string& param,
                                         json::array& blocks, bool allow_media, bool assistant);
  std::optional<GatewayError> media_block(const json::object& part, const std::string& param,
                                          json::array& blocks);
  std::optional<GatewayError> convert_tools(json::object& out);
  std::optional<GatewayError> convert_sampling(json::object& out);
  std::optional<GatewayError> convert_thinking(json::object& out);
  void push(std::string_view role, json::array blocks);
  json::array finish_turns();

  const json::object& req_;
  const EncodeOptions& opts_;
  json::array system_;
  std::vector<Turn> turns_;
};

// A parameter that needs no check or is handled elsewhere.
bool is_mapped(std::string_view k) {
  static constexpr std::string_view known[] = {
      "model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p",
      "top_k", "stop", "stream", "stream_options", "tools", "tool_choice",
      "parallel_tool_calls", "user", "safety_identifier", "reasoning_effort", "thinking",
      // accepted and ignored: they change nothing Anthropic would do
      "store", "metadata", "service_tier", "prompt_cache_key", "prompt_cache_retention"};
  return std::find(std::begin(known), std::end(known), k) != std::end(known);
}

std::optional<GatewayError> RequestEncoder::check_parameters() {
  for (const auto& kv : req_) {
    std::string key(kv.key());
    const json::value& v = kv.value();
    if (is_mapped(key) || v.is_null()) continue;
    bool honourable = false;  // present, but with a value Anthropic's default already means
    std::string_view why;
    if (key == "n") {
      honourable = json_int(&v, 0) == 1;
      why = "only n=1 is possible";
    } else if (key == "logprobs") {
      honourable = v.is_bool() && !v.get_bool();
    } else if (key == "top_logprobs") {
      honourable = json_int(&v, 1) == 0;
    } else if (key == "presence_penalty" || key == "frequency_penalty") {
      honourable = (v.is_number() && v.to_number<double>() == 0.0);
    } else if (key == "logit_bias") {
      honourable = v.is_object() && v.get_object().empty();
    } else if (key == "response_format") {
      auto* o = v.if_object();
      honourable = o && json_str(*o, "type") == "text";
      why = "only {\"type\":\"text\"} is possible; JSON modes are not emulated";
    } else if (key == "modalities") {
      honourable = v.is_array() && std::all_of(v.get_array().begin(), v.get_array().end(),
                                               [](const json::value& m) { return m.is_string() && m.get_string() == "text"; });
      why = "only text output is possible";
    } else if (key == "seed" || key == "audio" || key == "prediction" || key == "web_search_options" ||
               key == "verbosity" || key == "functions" || key == "function_call") {
      honourable = false;
    } else {
      if (opts_.drop(key)) continue;
      return GatewayError::make(ErrorKind::invalid_request,
                                fmt::format("Unrecognized request argument supplied: {}", key),
                                "unknown_parameter", key);
    }
    // n > 1 asks for a shape of answer (several choices), not a steer: never dropped.
    if (!honourable && (key == "n" || !opts_.drop(key))) return unsupported(key, why);
  }
  return std::nullopt;
}

void RequestEncoder::push(std::string_view role, json::array blocks) {
  if (blocks.empty()) return;
  if (!turns_.empty() && turns_.back().role == role) {
    for (auto& b : blocks) turns_.back().blocks.push_back(std::move(b));
    return;
  }
  turns_.push_back(Turn{std::string(role), std::move(blocks)});
}

void copy_cache_control(const json::object& from, json::object& to) {
  if (auto* cc = from.if_contains("cache_control"); cc && !cc->is_null()) to["cache_control"] = *cc;
}

std::optional<GatewayError> RequestEncoder::media_block(const json::object& part,
                                                        const std::string& param,
                                                        json::array& blocks) {
  std::string_view type = json_str(part, "type");
  json::object block;
  if (type == "image_url") {
    const json::value* iu = part.if_contains("image_url");
    std::string_view url;
    if (iu && iu->is_string()) url = iu->get_string();
    else if (iu && iu->is_object()) url = json_str(iu->get_object(), "url");
    if (url.empty()) return invalid(fmt::format("'{}.image_url.url' is required.", param), param + ".image_url");
    json::object source;
    if (auto d = parse_data_url(url); d && !d->media_type.empty()) {
      source["type"] = "base64";
      source["media_type"] = d->media_type;
      source["data"] = d->data;
    } else if (url.substr(0, 8) == "https://" || url.substr(0, 7) == "http://") {
      source["type"] = "url";
      source["url"] = url;
    } else {
      return invalid(fmt::format("'{}.image_url.url' must be an http(s) URL or a base64 data URL.", param),
                     param + ".image_url");
    }
    block["type"] = "image";
    block["source"] = std::move(source);
  } else if (type == "file") {
    // {"type":"file","file":{"file_data":"data:application/pdf;base64,...","filename":...}}
    const json::value* f = part.if_contains("file");
    std::string_view file_data = f && f->is_object() ? json_str(f->get_object(), "file_data") : "";
    auto d = parse_data_url(file_data);
    if (!d || d->media_type.empty())
      return unsupported(param + ".file", "only inline base64 file_data can be sent (no file ids)");
    json::object source;
    source["type"] = "base64";
    source["media_type"] = d->media_type;
    source["data"] = d->data;
    block["type"] = "document";
    block["source"] = std::move(source);
    if (auto name = json_str(f->get_object(), "filename"); !name.empty()) block["title"] = name;
  } else {
    return unsupported(param, fmt::format("content part type '{}' has no Anthropic equivalent", type));
  }
  copy_cache_control(part, block);
  blocks.push_back(std::move(block));
  return std::nullopt;
}

// Text (and, for user turns, media) of a message's `content`, as blocks. Empty text is dropped.
std::optional<GatewayError> RequestEncoder::text_parts(const json::value& content,
                                                       const std::string& param, json::array& blocks,
                                                       bool allow_media, bool assistant) {
  if (content.is_null()) return std::nullopt;
  if (content.is_string()) {
    if (!content.get_string().empty()) blocks.push_back(json::object{{"type", "text"}, {"text", content.get_string()}});
    return std::nullopt;
  }
  if (!content.is_array())
    return invalid(fmt::format("'{}' must be a string or an array of content parts.", param), param);
  const auto& parts = content.get_array();
  for (std::size_t j = 0; j < parts.size(); ++j) {
    std::string pp = fmt::format("{}[{}]", param, j);
    auto* part = parts[j].if_object();
    if (!part) return invalid(fmt::format("'{}' must be an object.", pp), pp);
    std::string_view type = json_str(*part, "type");
    if (type == "text" || (assistant && type == "refusal")) {
      std::string_view text = json_str(*part, type == "text" ? "text" : "refusal");
      if (text.empty()) continue;
      json::object block{{"type", "text"}, {"text", text}};
      copy_cache_control(*part, block);
      blocks.push_back(std::move(block));
    } else if (allow_media) {
      if (auto e = media_block(*part, pp, blocks)) return e;
    } else {
      return unsupported(pp, fmt::format("content part type '{}' is not allowed here", type));
    }
  }
  return std::nullopt;
}

void cache_last_block(const json::object& m, json::array& blocks) {
  auto* cc = m.if_contains("cache_control");
  if (!cc || cc->is_null() || blocks.empty()) return;
  blocks.back().as_object()["cache_control"] = *cc;
}

std::optional<GatewayError> RequestEncoder::convert_message(std::size_t i, const json::object& m) {
  std::string param = fmt::format("messages[{}]", i);
  auto* role_v = m.if_contains("role");
  if (!role_v || !role_v->is_string())
    return invalid(fmt::format("Missing required parameter: '{}.role'.", param), param + ".role");
  std::string_view role = role_v->get_string();
  const json::value null_value;
  const json::value* content = m.if_contains("content");
  if (!content) content = &null_value;

  if (role == "system" || role == "developer") {
    json::array blocks;
    if (auto e = text_parts(*content, param + ".content", blocks, false, false)) return e;
    cache_last_block(m, blocks);
    for (auto& b : blocks) system_.push_back(std::move(b));
    return std::nullopt;
  }
  if (role == "user") {
    json::array blocks;
    if (auto e = text_parts(*content, param + ".content", blocks, true, false)) return e;
    cache_last_block(m, blocks);
    push("user", std::move(blocks));
    return std::nullopt;
  }
  if (role == "assistant") {
    json::array blocks;
    if (auto* tb = m.if_contains("thinking_blocks"); tb && tb->is_array()) {
      for (const auto& b : tb->get_array())
        if (b.is_object()) blocks.push_back(b);
    }
    if (auto e = text_parts(*content, param + ".content", blocks, false, true)) return e;
    if (auto* fc = m.if_contains("function_call"); fc && !fc->is_null())
      return unsupported(param + ".function_call", "use tool_calls");
    if (auto* tcs = m.if_contains("tool_calls"); tcs && !tcs->is_null()) {
      if (!tcs->is_array()) return invalid(fmt::format("'{}.tool_calls' must be an array.", param), param + ".tool_calls");
      const auto& arr = tcs->get_array();
      for (std::size_t k = 0; k < arr.size(); ++k) {
        std::string tp = fmt::format("{}.tool_calls[{}]", param, k);
        auto* tc = arr[k].if_object();
        const json::object* fn = nullptr;
        if (tc) {
          auto* f = tc->if_contains("function");
          fn = f ? f->if_object() : nullptr;
        }
        if (!tc || !fn || json_str(*tc, "id").empty() || json_str(*fn, "name").empty())
          return invalid(fmt::format("'{}' must have an id and function.name.", tp), tp);
        json::value input = json::object{};
        std::string_view args = json_str(*fn, "arguments");
        if (!args.empty()) {
          boost::system::error_code ec;
          input = json::parse(args, ec);
          if (ec || !input.is_object())
            return invalid(fmt::format("'{}.function.arguments' is not a JSON object: Anthropic needs tool "
                                       "input as an object.",
                                       tp),
                           param);
        }
        json::object block{{"type", "tool_use"},
                           {"id", tool_id(json_str(*tc, "id"))},
                           {"name", json_str(*fn, "name")},
                           {"input", std::move(input)}};
        copy_cache_control(*tc, block);
        blocks.push_back(std::move(block));
      }
    }
    cache_last_block(m, blocks);
    push("assistant", std::move(blocks));
    return std::nullopt;
  }
  if (role == "tool") {
    std::string_view id = json_str(m, "tool_call_id");
    if (id.empty())
      return invalid(fmt::format("Missing required parameter: '{}.tool_call_id'.", param), param + ".tool_call_id");
    json::array parts;
    if (auto e = text_parts(*content, param + ".content", parts, true, false)) return e;
    json::object block{{"type", "tool_result"}, {"tool_use_id", tool_id(id)}};
    if (const json::value* text = plain_text(parts))
      block["content"] = *text;
    else if (!parts.empty())
      block["content"] = std::move(parts);
    copy_cache_control(m, block);
    push("user", json::array{std::move(block)});
    return std::nullopt;
  }
  if (role == "function") return unsupported(param + ".role", "role 'function' is deprecated; use tool");
  return invalid(fmt::format("Invalid value for '{}.role': '{}'. Supported values are: 'system', "
                             "'developer', 'user', 'assistant' and 'tool'.",
                             param, role),
                 param + ".role");
}

std::optional<GatewayError> RequestEncoder::convert_messages() {
  auto* mv = req_.if_contains("messages");
  if (!mv || !mv->is_array()) return invalid("Missing required parameter: 'messages'.", "messages");
  const auto& msgs = mv->get_array();
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto* m = msgs[i].if_object();
    if (!m) return invalid(fmt::format("'messages[{}]' must be an object.", i), fmt::format("messages[{}]", i));
    if (auto e = convert_message(i, *m)) return e;
  }
  if (turns_.empty())
    return invalid("'messages' must contain at least one user or assistant message with content.", "messages");
  return std::nullopt;
}

json::array RequestEncoder::finish_turns() {
  json::array out;
  for (auto& t : turns_) {
    // In a user turn the tool_result blocks come first (Anthropic rejects text before them).
    if (t.role == "user") {
      std::stable_partition(t.blocks.begin(), t.blocks.end(), [](const json::value& b) {
        return json_str(b.as_object(), "type") == "tool_result";
      });
    }
    json::value content;
    if (const json::value* text = plain_text(t.blocks))
      content = *text;  // the plain form, as Anthropic's own examples write it
    else
      content = std::move(t.blocks);
    out.push_back(json::object{{"role", t.role}, {"content", std::move(content)}});
  }
  return out;
}

std::optional<GatewayError> RequestEncoder::convert_tools(json::object& out) {
  bool have_tools = false;
  if (auto* tv = req_.if_contains("tools"); !is_null_or_absent(tv)) {
    if (!tv->is_array()) return invalid("'tools' must be an array.", "tools");
    json::array tools;
    const auto& arr = tv->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      std::string tp = fmt::format("tools[{}]", i);
      auto* t = arr[i].if_object();
      if (!t) return invalid(fmt::format("'{}' must be an object.", tp), tp);
      if (json_str(*t, "type") != "function")
        return unsupported(tp + ".type", "only function tools can be translated");
      auto* f = t->if_contains("function");
      auto* fn = f ? f->if_object() : nullptr;
      if (!fn || json_str(*fn, "name").empty())
        return invalid(fmt::format("Missing required parameter: '{}.function.name'.", tp), tp + ".function.name");
      json::object tool{{"name", json_str(*fn, "name")}};
      if (auto d = json_str(*fn, "description"); !d.empty()) tool["description"] = d;
      auto* params = fn->if_contains("parameters");
      if (params && params->is_object()) tool["input_schema"] = *params;
      else tool["input_schema"] = json::object{{"type", "object"}, {"properties", json::object{}}};
      copy_cache_control(*t, tool);
      copy_cache_control(*fn, tool);
      tools.push_back(std::move(tool));
    }
    have_tools = !tools.empty();
    if (have_tools) out["tools"] = std::move(tools);
  }

  bool no_parallel = false;
  if (auto* p = req_.if_contains("parallel_tool_calls"); p && p->is_bool()) no_parallel = !p->get_bool();
  json::object choice;
  if (auto* tc = req_.if_contains("tool_choice"); !is_null_or_absent(tc)) {
    if (tc->is_string()) {
      std::string_view s = tc->get_string();
      if (s == "auto") choice["type"] = "auto";
      else if (s == "none") choice["type"] = "none";
      else if (s == "required") choice["type"] = "any";
      else
        return invalid(fmt::format("Invalid value for 'tool_choice': '{}'. Supported values are: 'none', "
                                   "'auto' and 'required'.", s),
                       "tool_choice");
    } else if (auto* o = tc->if_object()) {
      auto* f = o->if_contains("function");
      std::string_view name = f && f->is_object() ? json_str(f->get_object(), "name") : "";
      if (json_str(*o, "type") != "function" || name.empty())
        return invalid("'tool_choice' must name a function: {\"type\":\"function\",\"function\":{\"name\":...}}.",
                       "tool_choice");
      choice["type"] = "tool";
      choice["name"] = name;
    } else {
      return invalid("'tool_choice' must be a string or an object.", "tool_choice");
    }
  }
  if (!have_tools) return std::nullopt;  // Anthropic rejects tool_choice without tools
  if (no_parallel && json_str(choice, "type") != "none") {
    if (choice.empty()) choice["type"] = "auto";
    choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.empty()) out["tool_choice"] = std::move(choice);
  return std::nullopt;
}

std::optional<GatewayError> RequestEncoder::convert_sampling(json::object& out) {
  if (auto* t = req_.if_contains("temperature"); !is_null_or_absent(t)) {
    if (!t->is_number()) return invalid("'temperature' must be a number.", "temperature");
    double v = t->to_number<double>();
    if (v < 0) return invalid("Invalid 'temperature': must be between 0 and 1 for Anthropic models.", "temperature");
    if (v > 1) {
      if (!opts_.drop("temperature"))
        return GatewayError::make(ErrorKind::invalid_request,
                                  fmt::format("Unsupported value: 'temperature' must be at most 1 for Anthropic "
                                              "models (got {}).", v),
                                  "unsupported_value", "temperature");
      v = 1;
    }
    out["temperature"] = v;
  }
  if (auto* t = req_.if_contains("top_p"); !is_null_or_absent(t)) {
    if (!t->is_number()) return invalid("'top_p' must be a number.", "top_p");
    out["top_p"] = *t;
  }
  if (auto* t = req_.if_contains("top_k"); !is_null_or_absent(t)) {
    if (!t->is_int64() && !t->is_uint64()) return invalid("'top_k' must be an integer.", "top_k");
    out["top_k"] = *t;
  }
  if (auto* s = req_.if_contains("stop"); !is_null_or_absent(s)) {
    json::array seqs;
    if (auto e = stop_sequences(*s, seqs)) return e;
    if (!seqs.empty()) out["stop_sequences"] = std::move(seqs);
  }
  std::string_view user;
  if (auto* u = req_.if_contains("user"); u && u->is_string()) user = u->get_string();
  if (user.empty()) {
    if (auto* u = req_.if_contains("safety_identifier"); u && u->is_string()) user = u->get_string();
  }
  if (!user.empty()) out["metadata"] = json::object{{"user_id", user}};
  return std::nullopt;
}

std::optional<GatewayError> RequestEncoder::convert_thinking(json::object& out) {
  // max_completion_tokens is OpenAI's current name; max_tokens the older one.
  std::optional<int64_t> max_tokens;
  std::string max_param;
  for (const char* k : {"max_completion_tokens", "max_tokens"}) {
    auto* v = req_.if_contains(k);
    if (is_null_or_absent(v)) continue;
    if (!v->is_int64() && !v->is_uint64()) return invalid(fmt::format("'{}' must be an integer.", k), k);
    if (json_int(v) < 1) return invalid(fmt::format("'{}' must be at least 1.", k), k);
    max_tokens = json_int(v);
    max_param = k;
    break;
  }

  json::object thinking;
  int64_t budget = 0;
  if (auto* t = req_.if_contains("thinking"); !is_null_or_absent(t)) {
    if (!t->is_object() || json_str(t->get_object(), "type").empty())
      return invalid("'thinking' must be an object with a type.", "thinking");
    thinking = t->get_object();
    budget = json_int(thinking.if_contains("budget_tokens"));
  } else if (auto* e = req_.if_contains("reasoning_effort"); !is_null_or_absent(e)) {
    std::string_view effort = e->is_string() ? std::string_view(e->get_string()) : std::string_view{};
    if (effort == "minimal" || effort == "low") budget = 1024;
    else if (effort == "medium") budget = 4096;
    else if (effort == "high") budget = 16384;
    else if (effort == "xhigh") budget = 32768;
    else if (effort != "none")
      return invalid(fmt::format("Invalid value for 'reasoning_effort': '{}'.",
                                 e->is_string() ? std::string(effort) : json::serialize(*e)),
                     "reasoning_effort");
    if (budget > 0) {
      if (max_tokens && *max_tokens <= budget) {
        budget = *max_tokens - 1;
        if (budget < kMinThinkingBudget)
          return invalid(fmt::format("'{}' ({}) leaves no room for reasoning: Anthropic needs at least {} "
                                     "thinking tokens below max tokens.",
                                     max_param, *max_tokens, kMinThinkingBudget),
                         "reasoning_effort");
      }
      thinking["type"] = "enabled";
      thinking["budget_tokens"] = budget;
    }
  }
  out["max_tokens"] = max_tokens ? *max_tokens : (budget > 0 ? budget + kDefaultMaxTokens : kDefaultMaxTokens);
  if (!thinking.empty()) out["thinking"] = std::move(thinking);
  return std::nullopt;
}

std::optional<GatewayError> RequestEncoder::run(json::object& out) {
  if (auto e = check_parameters()) return e;
  if (auto e = convert_messages()) return e;
  out["model"] = opts_.upstream_model;
  if (auto e = convert_thinking(out)) return e;
  if (!system_.empty()) {
    if (const json::value* text = plain_text(system_)) out["system"] = *text;
    else out["system"] = std::move(system_);
  }
  out["messages"] = finish_turns();
  if (auto e = convert_sampling(out)) return e;
  if (auto e = convert_tools(out)) return e;
  if (opts_.stream) out["stream"] = true;
  return std::nullopt;
}

// ------------------------------------------------------------------------------------------
// Answers.

json::object chunk_base(const std::string& id, int64_t created, const std::string& model) {
  return json::object{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model}};
}

class StreamDecoder final : public ChatStreamDecoder {
 public:
  explicit StreamDecoder(std::string_view upstream_model)
      : model_(upstream_model), created_(static_cast<int64_t>(std::time(nullptr))) {}

  void on_event(const http::SseEvent& ev, std::vector<std::string>& out) override;
  void finish(std::vector<std::string>& out) override;
  const core::Usage& usage() const override { return usage_; }
  const std::optional<ClassifiedError>& error() const override { return error_; }

 private:
  void emit(json::object delta, std::vector<std::string>& out,
            std::string_view finish_reason = {});
  void emit_usage(std::vector<std::string>& out);
  void ensure_role(std::vector<std::string>& out);

  std::string id_ = "chatcmpl-anthropic";
  std::string model_;
  int64_t created_;
  bool role_sent_ = false;
  bool finish_sent_ = false;
  bool usage_sent_ = false;
  std::map<int64_t, int64_t> tool_index_;  // Anthropic block index -> OpenAI tool_calls index
  int64_t next_tool_index_ = 0;
  WireUsage wire_;
  core::Usage usage_;
  std::optional<ClassifiedError> error_;
};

void StreamDecoder::emit(json::object delta, std::vector<std::string>& out, std::string_view finish_reason) {
  json::object c = chunk_base(id_, created_, model_);
  json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
  if (finish_reason.empty()) choice["finish_reason"] = nullptr;
  else choice["finish_reason"] = finish_reason;
  c["choices"] = json::array{std::move(choice)};
  out.push_back(json::serialize(c));
}

void StreamDecoder::ensure_role(std::vector<std::string>& out) {
  if (role_sent_) return;
  role_sent_ = true;
  emit(json::object{{"role", "assistant"}, {"content", ""}}, out);
}

void StreamDecoder::emit_usage(std::vector<std::string>& out) {
  if (usage_sent_) return;
  usage_sent_ = true;
  json::object c = chunk_base(id_, created_, model_);
  c["choices"] = json::array{};
  c["usage"] = openai_usage(usage_);
  out.push_back(json::serialize(c));
}

void StreamDecoder::on_event(const http::SseEvent& ev, std::vector<std::string>& out) {
  if (!ev.has_data || error_) return;
  boost::system::error_code ec;
  json::value doc = json::parse(ev.data, ec);
  if (ec || !doc.is_object()) {
    ClassifiedError ce;
    ce.error = GatewayError::make(ErrorKind::upstream, "Anthropic sent a stream event that is not JSON.",
                                  "upstream_error");
    ce.cls = ErrorClass::retryable;
    error_ = std::move(ce);
    return;
  }
  const auto& o = doc.get_object();
  std::string_view type = ev.event.empty() ? json_str(o, "type") : std::string_view(ev.event);

  if (type == "message_start") {
    if (auto* m = o.if_contains("message"); m && m->is_object()) {
      const auto& msg = m->get_object();
      if (auto id = json_str(msg, "id"); !id.empty()) id_ = "chatcmpl-" + std::string(id);
      if (auto model = json_str(msg, "model"); !model.empty()) model_ = model;
      if (auto* u = msg.if_contains("usage")) wire_.merge(*u);
      usage_ = wire_.canonical();
    }
    ensure_role(out);
  } else if (type == "content_block_start") {
    ensure_role(out);
    auto* b = o.if_contains("content_block");
    if (!b || !b->is_object()) return;
    const auto& block = b->get_object();
    std::string_view btype = json_str(block, "type");
    if (btype == "tool_use") {
      int64_t idx = next_tool_index_++;
      tool_index_[json_int(o.if_contains("index"))] = idx;
      json::object call{{"index", idx},
                        {"id", json_str(block, "id")},
                        {"type", "function"},
                        {"function", json::object{{"name", json_str(block, "name")}, {"arguments", ""}}}};
      emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
    } else if (btype == "text") {
      if (auto t = json_str(block, "text"); !t.empty()) emit(json::object{{"content", t}}, out);
    } else if (btype == "thinking") {
      if (auto t = json_str(block, "thinking"); !t.empty()) emit(json::object{{"reasoning_content", t}}, out);
    } else if (btype == "redacted_thinking") {
      // Kept for callers that can give it back (the Responses API's sealed reasoning).
      emit(json::object{{"thinking_blocks", json::array{block}}}, out);
    }
    // server tool blocks: nothing an OpenAI client can show.
  } else if (type == "content_block_delta") {
    ensure_role(out);
    auto* d = o.if_contains("delta");
    if (!d || !d->is_object()) return;
    const auto& delta = d->get_object();
    std::string_view dtype = json_str(delta, "type");
    if (dtype == "text_delta") {
      if (auto t = json_str(delta, "text"); !t.empty()) emit(json::object{{"content", t}}, out);
    } else if (dtype == "input_json_delta") {
      auto it = tool_index_.find(json_int(o.if_contains("index")));
      auto piece = json_str(delta, "partial_json");
      if (it == tool_index_.end() || piece.empty()) return;
      json::object call{{"index", it->second}, {"function", json::object{{"arguments", piece}}}};
      emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
    } else if (dtype == "thinking_delta") {
      if (auto t = json_str(delta, "thinking"); !t.empty()) emit(json::object{{"reasoning_content", t}}, out);
    } else if (dtype == "signature_delta") {
      // Closes the thinking streamed so far; an extension of the canonical chunk, so signed
      // thinking can be replayed in a tool loop (the Responses API's sealed reasoning).
      if (auto sig = json_str(delta, "signature"); !sig.empty()) emit(json::object{{"thinking_signature", sig}}, out);
    }
    // citations_delta: no OpenAI equivalent.
  } else if (type == "message_delta") {
    ensure_role(out);
    if (auto* u = o.if_contains("usage")) {
      wire_.merge(*u);
      usage_ = wire_.canonical();
    }
    if (auto* d = o.if_contains("delta"); d && d->is_object()) {
      auto sr = json_str(d->get_object(), "stop_reason");
      if (!sr.empty() && !finish_sent_) {
        finish_sent_ = true;
        emit(json::object{}, out, finish_reason_for(sr));
      }
    }
  } else if (type == "message_stop") {
    ensure_role(out);
    if (!finish_sent_) {
      finish_sent_ = true;
      emit(json::object{}, out, "stop");
    }
    emit_usage(out);
  } else if (type == "error") {
    error_ = classify_error(0, doc);
  }
  // ping and event types added later: ignored, as Anthropic's versioning policy asks.
}

void StreamDecoder::finish(std::vector<std::string>& out) {
  // A stream cut before message_stop gets no invented finish reason: the relay sees the
  // truncation. Usage already reported still goes out once a finish reason was sent.
  if (!error_ && finish_sent_) emit_usage(out);
}

class Codec final : public ProviderCodec {
 public:
  std::optional<GatewayError> encode_chat(const json::object& request, const EncodeOptions& opts,
                                          const core::CompiledProvider& provider,
                                          EncodedRequest& out) const override {
    json::object body;
    RequestEncoder enc(request, opts);
    if (auto e = enc.run(body)) return e;
    // A base URL written with the version ("https://api.anthropic.com/v1") must not give
    // /v1/v1/messages.
    std::string_view prefix = provider.endpoint.path_prefix;
    bool has_v1 = prefix.size() >= 3 && prefix.substr(prefix.size() - 3) == "/v1";
    out.path = has_v1 ? "/messages" : std::string(kMessagesPath);
    out.headers.clear();
    out.headers.emplace_back("x-api-key", provider.spec.api_key);
    out.headers.emplace_back("anthropic-version", provider.spec.api_version.empty()
                                                      ? std::string(kDefaultApiVersion)
                                                      : provider.spec.api_version);
    out.headers.emplace_back("content-type", "application/json");
    if (opts.stream) out.headers.emplace_back("accept", "text/event-stream");
    for (const auto& header : provider.spec.headers) {
      // (Not a structured binding: clang 14, which builds the fuzzers, cannot capture one.)
      const std::string& name = header.first;
      const std::string& value = header.second;
      // A configured header replaces ours of the same name (anthropic-version, say).
      auto same = [&](const auto& h) {
        return std::equal(h.first.begin(), h.first.end(), name.begin(), name.end(),
                          [](char a, char b) { return std::tolower(a) == std::tolower(b); });
      };
      out.headers.erase(std::remove_if(out.headers.begin(), out.headers.end(), same), out.headers.end());
      out.headers.emplace_back(name, value);
    }
    out.body = json::serialize(body);
    return std::nullopt;
  }

  std::optional<GatewayError> decode_chat(std::string_view body, std::string_view upstream_model,
                                          json::object& completion, core::Usage& usage) const override {
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec || !doc.is_object() || json_str(doc.get_object(), "type") != "message")
      return GatewayError::make(ErrorKind::upstream, "Anthropic answered with a body that is not a message.",
                                "upstream_error");
    const auto& msg = doc.get_object();
    std::string text, reasoning;
    json::array tool_calls, thinking_blocks;
    if (auto* c = msg.if_contains("content"); c && c->is_array()) {
      for (const auto& bv : c->get_array()) {
        auto* b = bv.if_object();
        if (!b) continue;
        std::string_view type = json_str(*b, "type");
        if (type == "text") {
          text.append(json_str(*b, "text"));
        } else if (type == "thinking") {
          reasoning.append(json_str(*b, "thinking"));
          thinking_blocks.push_back(*b);
        } else if (type == "redacted_thinking") {
          thinking_blocks.push_back(*b);
        } else if (type == "tool_use") {
          const json::value* input = b->if_contains("input");
          json::object call{{"id", json_str(*b, "id")},
                            {"type", "function"},
                            {"function", json::object{{"name", json_str(*b, "name")},
                                                      {"arguments", input ? json::serialize(*input) : "{}"}}}};
          tool_calls.push_back(std::move(call));
        }
      }
    }
    json::object message{{"role", "assistant"}};
    if (text.empty() && !tool_calls.empty()) message["content"] = nullptr;
    else message["content"] = text;
    message["refusal"] = nullptr;
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    if (!thinking_blocks.empty()) message["thinking_blocks"] = std::move(thinking_blocks);
    if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);

    WireUsage wire;
    if (auto* u = msg.if_contains("usage")) wire.merge(*u);
    usage = wire.canonical();

    std::string_view model = json_str(msg, "model");
    completion = json::object{
        {"id", "chatcmpl-" + std::string(json_str(msg, "id"))},
        {"object", "chat.completion"},
        {"created", static_cast<int64_t>(std::time(nullptr))},
        {"model", model.empty() ? upstream_model : model},
        {"choices", json::array{json::object{{"index", 0},
                                             {"message", std::move(message)},
                                             {"logprobs", nullptr},
                                             {"finish_reason", finish_reason_for(json_str(msg, "stop_reason"))}}}},
        {"usage", openai_usage(usage)}};
    return std::nullopt;
  }

  std::unique_ptr<ChatStreamDecoder> stream_decoder(std::string_view upstream_model) const override {
    return std::make_unique<StreamDecoder>(upstream_model);
  }

  ClassifiedError decode_error(int status, std::string_view body) const override {
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec) doc = nullptr;
    return classify_error(status, doc);
  }

  std::optional<GatewayError> encode_embeddings(const json::object&, const EncodeOptions&,
                                                const core::CompiledProvider&, EncodedRequest&) const override {
    return no_embeddings();
  }
  std::optional<GatewayError> decode_embeddings(std::string_view, std::string_view, json::object&,
                                                core::Usage&) const override {
    return no_embeddings();
  }

 private:
  static GatewayError no_embeddings() {
    return GatewayError::make(ErrorKind::invalid_request, "provider kind anthropic has no embeddings",
                              "unsupported_endpoint", "model");
  }
};

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

}  // namespace

ClassifiedError classify_error(int status, const json::value& body) {
  std::string_view type, message;
  const json::object* err = nullptr;
  if (auto* o = body.if_object()) {
    auto* e = o->if_contains("error");
    err = e && e->is_object() ? &e->get_object() : o;
    type = json_str(*err, "type");
    message = json_str(*err, "message");
  }
  if (status == 0) status = status_for_error_type(type);
  if (type.empty()) type = error_type_for_status(status);
  std::string text = message.empty() ? fmt::format("Anthropic answered HTTP {} ({}).", status, type)
                                     : std::string(message);

  ClassifiedError ce;
  auto make = [&](ErrorKind kind, ErrorClass cls, std::string msg, std::string code = {}) {
    ce.error = GatewayError::make(kind, std::move(msg), std::move(code));
    ce.cls = cls;
  };
  if (type == "overloaded_error" || status == 529 || status == 503) {
    make(ErrorKind::unavailable, ErrorClass::retryable, "The provider is overloaded: " + text, "overloaded");
  } else if (type == "rate_limit_error" || status == 429) {
    make(ErrorKind::rate_limit, ErrorClass::rate_limited, text, "rate_limit_exceeded");
  } else if (type == "authentication_error" || status == 401) {
    make(ErrorKind::authentication, ErrorClass::auth, "The provider rejected the gateway's credentials: " + text,
         "upstream_authentication_error");
  } else if (type == "permission_error" || type == "billing_error" || status == 403 || status == 402) {
    make(ErrorKind::permission, ErrorClass::auth, text, "upstream_permission_error");
    ce.error.status = status == 402 ? 402 : 403;
  } else if (type == "not_found_error" || status == 404) {
    make(ErrorKind::not_found, ErrorClass::not_found, text, "model_not_found");
  } else if (type == "request_too_large" || status == 413) {
    make(ErrorKind::payload_too_large, ErrorClass::invalid_request, text, "request_too_large");
  } else if (type == "timeout_error" || status == 504) {
    make(ErrorKind::timeout, ErrorClass::retryable, text, "upstream_timeout");
  } else if (status >= 500 || type == "api_error") {
    make(ErrorKind::upstream, ErrorClass::retryable, "The provider failed: " + text, "upstream_error");
  } else if (contains(text, "prompt is too long") || contains(text, "exceed context limit") ||
             contains(text, "context window")) {
    make(ErrorKind::invalid_request, ErrorClass::context_length,
         "This model's maximum context length was exceeded: " + text, "context_length_exceeded");
  } else if (contains(text, "content filtering") || contains(text, "Output blocked")) {
    make(ErrorKind::invalid_request, ErrorClass::content_filter, text, "content_filter");
  } else {
    make(ErrorKind::invalid_request, ErrorClass::invalid_request, text, "invalid_request");
    if (status >= 400 && status < 500) ce.error.status = status;
  }
  return ce;
}

const ProviderCodec& anthropic_codec() {
  static const Codec codec;
  return codec;
}

}  // namespace tollgate::dialects::anthropic
