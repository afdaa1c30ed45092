// Gemini GenerateContentResponse / EmbedContentResponse -> canonical chat.completion / OpenAI
// embeddings list.
#include <cmath>
#include <ctime>
#include <random>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/gemini/codec.h"
#include "dialects/gemini/codec_impl.h"
#include "dialects/gemini/wire.h"

namespace tollgate::dialects::gemini {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

GatewayError bad_answer(std::string_view what) {
  return GatewayError::make(ErrorKind::upstream,
                            fmt::format("The provider (Google Gemini) sent an answer the gateway could not "
                                        "read: {}.",
                                        what),
                            "upstream_error");
}

std::string random_suffix() {
  static constexpr char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s(24, 'x');
  for (auto& c : s) c = chars[rng() % (sizeof(chars) - 1)];
  return s;
}

}  // namespace

std::string completion_id(const json::object& response) {
  if (auto* id = response.if_contains("responseId"); id && id->is_string() && !id->get_string().empty())
    return fmt::format("chatcmpl-{}", std::string_view(id->get_string()));
  return "chatcmpl-" + random_suffix();
}

std::optional<GatewayError> GeminiCodec::decode_chat(std::string_view body, std::string_view upstream_model,
                                                     json::object& completion, core::Usage& usage) const {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return bad_answer("the body is not a JSON object");
  const auto& r = doc.get_object();
  if (auto* err = r.if_contains("error"); err && err->is_object())
    return classify_google_error(0, &err->get_object()).error;

  std::string_view response_id;
  if (auto* id = r.if_contains("responseId"); id && id->is_string()) response_id = id->get_string();

  json::array choices;
  size_t call_number = 0;
  if (auto* cands = r.if_contains("candidates"); cands && cands->is_array()) {
    const auto& arr = cands->get_array();
    for (size_t ci = 0; ci < arr.size(); ++ci) {
      const auto* cand = arr[ci].if_object();
      if (!cand) continue;
      int64_t index = static_cast<int64_t>(ci);
      if (auto* ix = cand->if_contains("index"); ix && ix->is_int64()) index = ix->get_int64();

      std::string text, reasoning;
      bool has_text = false;
      json::array tool_calls;
      const json::value* content = cand->if_contains("content");
      const json::value* parts = content && content->is_object() ? content->get_object().if_contains("parts") : nullptr;
      if (parts && parts->is_array()) {
        for (const auto& pv : parts->get_array()) {
          const auto* p = pv.if_object();
          if (!p) continue;
          if (auto* t = p->if_contains("text"); t && t->is_string()) {
            bool thought = false;
            if (auto* th = p->if_contains("thought"); th && th->is_bool()) thought = th->get_bool();
            (thought ? reasoning : text).append(t->get_string());
            if (!thought) has_text = true;
          } else if (auto* fc = p->if_contains("functionCall"); fc && fc->is_object()) {
            const auto& f = fc->get_object();
            const json::value* name = f.if_contains("name");
            const json::value* args = f.if_contains("args");
            json::object call{
                {"id", wire::tool_call_id(response_id, call_number++)},
                {"type", "function"},
                {"function", json::object{{"name", name && name->is_string() ? *name : json::value("")},
                                          {"arguments", args && args->is_object() ? json::serialize(*args)
                                                                                  : std::string("{}")}}}};
            if (auto* sig = p->if_contains("thoughtSignature"); sig && sig->is_string())
              call["extra_content"] = json::object{{"google", json::object{{"thought_signature", *sig}}}};
            tool_calls.push_back(std::move(call));
          }
        }
      }
      bool calls = !tool_calls.empty();
      std::string_view fr = "STOP";
      if (auto* f = cand->if_contains("finishReason"); f && f->is_string()) fr = f->get_string();
      std::string_view finish = wire::finish_reason(fr, calls);
      // content is null only beside tool calls or when a filter took the answer, as OpenAI
      // does; an answer that is merely empty is "" (callers call .trim() on it).
      json::value content_value = has_text ? json::value(text)
                                  : (calls || finish == "content_filter") ? json::value(nullptr)
                                                                          : json::value("");
      json::object message{{"role", "assistant"}, {"content", std::move(content_value)}, {"refusal", nullptr}};
      if (!reasoning.empty()) message["reasoning_content"] = reasoning;
      if (calls) message["tool_calls"] = std::move(tool_calls);
      choices.push_back(json::object{{"index", index},
                                     {"message", std::move(message)},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finish}});
    }
  }
  if (choices.empty()) {
    // No candidates: the prompt itself was blocked (promptFeedback.blockReason), or Gemini had
    // nothing to say. Either way an empty answer; a block is a content filter.
    bool blocked = false;
    if (auto* pf = r.if_contains("promptFeedback"); pf && pf->is_object())
      blocked = pf->get_object().contains("blockReason");
    choices.push_back(json::object{
        {"index", 0},
        {"message", json::object{{"role", "assistant"},
                                 {"content", blocked ? json::value(nullptr) : json::value("")},
                                 {"refusal", nullptr}}},
        {"logprobs", nullptr},
        {"finish_reason", blocked ? "content_filter" : "stop"}});
  }

  completion = json::object{};
  completion["id"] = completion_id(r);
  completion["object"] = "chat.completion";
  completion["created"] = static_cast<int64_t>(std::time(nullptr));
  completion["model"] = upstream_model;
  completion["choices"] = std::move(choices);
  usage = core::Usage{};
  if (auto* um = r.if_contains("usageMetadata"); um && um->is_object()) {
    wire::read_usage(um->get_object(), usage);
    completion["usage"] = wire::openai_usage(usage);
  }
  return std::nullopt;
}

std::optional<GatewayError> GeminiCodec::decode_embeddings(std::string_view body, std::string_view upstream_model,
                                                           json::object& response, core::Usage& usage) const {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return bad_answer("the body is not a JSON object");
  const auto& r = doc.get_object();
  if (auto* err = r.if_contains("error"); err && err->is_object())
    return classify_google_error(0, &err->get_object()).error;

  std::vector<const json::value*> embeddings;
  if (auto* e = r.if_contains("embedding"); e && e->is_object()) {
    embeddings.push_back(e);
  } else if (auto* es = r.if_contains("embeddings"); es && es->is_array()) {
    for (const auto& x : es->get_array()) embeddings.push_back(&x);
  } else {
    return bad_answer("no 'embedding' or 'embeddings' in the answer");
  }
  json::array data;
  for (size_t i = 0; i < embeddings.size(); ++i) {
    const json::value* values =
        embeddings[i]->is_object() ? embeddings[i]->get_object().if_contains("values") : nullptr;
    if (!values || !values->is_array()) return bad_answer("an embedding without 'values'");
    data.push_back(json::object{{"object", "embedding"}, {"index", static_cast<int64_t>(i)}, {"embedding", *values}});
  }
  response = json::object{};
  response["object"] = "list";
  response["data"] = std::move(data);
  response["model"] = upstream_model;
  usage = core::Usage{};
  // Gemini's embed answers carry no token counts (some versions add usageMetadata: read it).
  if (auto* um = r.if_contains("usageMetadata"); um && um->is_object()) wire::read_usage(um->get_object(), usage);
  response["usage"] = json::object{{"prompt_tokens", usage.input_tokens}, {"total_tokens", usage.input_tokens}};
  return std::nullopt;
}

void complete_embeddings(const json::object& request, json::object& response, core::Usage& usage) {
  auto* f = request.if_contains("encoding_format");
  const bool base64 = f && f->is_string() && f->get_string() == "base64";
  if (!base64) {
    // Gemini's values are float32. Boost.JSON 1.81 parses decimals to within one ulp of the
    // double, not always exactly; snapping back to float32 restores the provider's value, so
    // the caller gets the same vector as in base64.
    if (auto* data = response.if_contains("data"); data && data->is_array())
      for (auto& item : data->get_array())
        if (auto* o = item.if_object())
          if (auto* emb = o->if_contains("embedding"); emb && emb->is_array())
            for (auto& v : emb->get_array())
              if (v.is_double()) v = static_cast<double>(static_cast<float>(v.get_double()));
  }
  if (base64) {
    if (auto* data = response.if_contains("data"); data && data->is_array()) {
      for (auto& item : data->get_array()) {
        auto* o = item.if_object();
        if (!o) continue;
        auto* emb = o->if_contains("embedding");
        if (!emb || !emb->is_array()) continue;
        std::vector<float> floats;
        floats.reserve(emb->get_array().size());
        for (const auto& v : emb->get_array()) {
          double d = v.is_double() ? v.get_double() : v.is_int64() ? static_cast<double>(v.get_int64())
                                                   : v.is_uint64() ? static_cast<double>(v.get_uint64()) : 0.0;
          floats.push_back(static_cast<float>(d));
        }
        *emb = wire::to_base64_floats(floats);
      }
    }
  }
  if (!usage.known) {
    // An estimate (about 4 bytes of text per token), so budgets and TPM limits see something.
    int64_t tokens = 0;
    auto count = [&](const json::value& v) {
      if (v.is_string()) tokens += std::max<int64_t>(1, (static_cast<int64_t>(v.get_string().size()) + 3) / 4);
    };
    if (auto* in = request.if_contains("input")) {
      if (in->is_array())
        for (const auto& v : in->get_array()) count(v);
      else
        count(*in);
    }
    usage = core::Usage{};
    usage.known = true;
    usage.input_tokens = tokens;
    response["usage"] = json::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}};
  }
}

}  // namespace tollgate::dialects::gemini
