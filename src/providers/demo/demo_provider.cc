#include "providers/demo/demo_provider.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/evp.h>

#include "http/sse.h"

namespace tollgate::providers::demo {
namespace json = boost::json;
using dialects::openai::Endpoint;

namespace {

// A rough token count (about four bytes a token for English), good enough for a demo.
int64_t estimate_tokens(std::string_view s) { return std::max<int64_t>(1, (s.size() + 3) / 4); }

std::string text_of(const json::value& content) {
  if (content.is_string()) return std::string(content.get_string());
  std::string out;
  if (auto* parts = content.if_array())
    for (const auto& p : *parts)
      if (auto* o = p.if_object())
        if (auto* t = o->if_contains("text"); t && t->is_string()) {
          if (!out.empty()) out.push_back(' ');
          out.append(t->get_string());
        }
  return out;
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : s) {
    cur.push_back(c);
    if (c == ' ') {
      words.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  return words;
}

std::string reply_text(Endpoint endpoint, const json::object& req, int64_t& prompt_tokens) {
  std::string said;
  prompt_tokens = 0;
  if (endpoint == Endpoint::chat_completions) {
    if (auto* msgs = req.if_contains("messages"); msgs && msgs->is_array())
      for (const auto& m : msgs->get_array()) {
        auto* mo = m.if_object();
        if (!mo) continue;
        auto* c = mo->if_contains("content");
        if (!c) continue;
        std::string t = text_of(*c);
        prompt_tokens += estimate_tokens(t) + 3;
        auto* role = mo->if_contains("role");
        if (role && role->is_string() && role->get_string() == "user") said = t;
      }
  } else if (auto* p = req.if_contains("prompt")) {
    said = p->is_string() ? std::string(p->get_string()) : text_of(*p);
    prompt_tokens = estimate_tokens(said);
  }
  if (said.size() > 200) said = said.substr(0, 200) + "...";
  return "Hello from Tollgate's offline demo model. You said: " + said;
}

json::object usage_json(int64_t prompt, int64_t completion) {
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", json::object{{"cached_tokens", 0}}},
          {"completion_tokens_details", json::object{{"reasoning_tokens", 0}}}};
}

std::string base64_floats(const std::vector<float>& v) {
  std::string out(4 * ((v.size() * 4 + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(v.data()),
                          static_cast<int>(v.size() * 4));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A deterministic unit vector from the text: equal inputs embed equally.
std::vector<float> embed(std::string_view text, std::size_t dims) {
  std::vector<float> v(dims);
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  double norm = 0;
  for (auto& x : v) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    x = static_cast<float>(static_cast<double>(h % 2000) / 1000.0 - 1.0);
    norm += x * x;
  }
  norm = std::sqrt(norm);
  for (auto& x : v) x = static_cast<float>(x / (norm > 0 ? norm : 1));
  return v;
}

Answer embeddings(const json::object& req, std::string_view model) {
  std::vector<std::string> inputs;
  if (auto* in = req.if_contains("input")) {
    if (in->is_string()) inputs.emplace_back(in->get_string());
    else if (auto* a = in->if_array())
      for (const auto& x : *a) inputs.push_back(x.is_string() ? std::string(x.get_string()) : json::serialize(x));
  }
  std::size_t dims = 16;
  if (auto* d = req.if_contains("dimensions"); d && d->is_int64() && d->get_int64() > 0 && d->get_int64() <= 4096)
    dims = static_cast<std::size_t>(d->get_int64());
  bool b64 = false;
  if (auto* f = req.if_contains("encoding_format"); f && f->is_string()) b64 = f->get_string() == "base64";

  json::array data;
  int64_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto v = embed(inputs[i], dims);
    tokens += estimate_tokens(inputs[i]);
    json::value emb;
    if (b64) {
      emb = base64_floats(v);
    } else {
      json::array a;
      for (float x : v) a.push_back(x);
      emb = std::move(a);
    }
    data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(emb)}});
  }
  json::object res{{"object", "list"},
                   {"data", std::move(data)},
                   {"model", model},
                   {"usage", json::object{{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
  return {200, "application/json", json::serialize(res)};
}

}  // namespace

Answer answer(Endpoint endpoint, const json::value& request, std::string_view model, bool stream) {
  const auto& req = request.as_object();
  if (endpoint == Endpoint::embeddings) return embeddings(req, model);

  int64_t prompt_tokens = 0;
  std::string text = reply_text(endpoint, req, prompt_tokens);
  auto words = split_words(text);
  auto completion_tokens = static_cast<int64_t>(words.size());
  auto created = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  bool chat = endpoint == Endpoint::chat_completions;
  std::string id = chat ? "chatcmpl-demo" : "cmpl-demo";

  if (!stream) {
    json::object choice = chat
        ? json::object{{"index", 0},
                       {"message", json::object{{"role", "assistant"}, {"content", text}, {"refusal", nullptr}}},
                       {"logprobs", nullptr},
                       {"finish_reason", "stop"}}
        : json::object{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", "stop"}};
    json::object res{{"id", id},
                     {"object", chat ? "chat.completion" : "text_completion"},
                     {"created", created},
                     {"model", model},
                     {"choices", json::array{std::move(choice)}},
                     {"usage", usage_json(prompt_tokens, completion_tokens)},
                     {"system_fingerprint", "tollgate-demo"}};
    return {200, "application/json", json::serialize(res)};
  }

  std::string sse;
  auto chunk = [&](json::value choice, bool with_usage_null) {
    json::object c{{"id", id},
                   {"object", chat ? "chat.completion.chunk" : "text_completion"},
                   {"created", created},
                   {"model", model},
                   {"system_fingerprint", "tollgate-demo"},
                   {"choices", choice.is_null() ? json::array{} : json::array{std::move(choice)}}};
    if (with_usage_null) c["usage"] = nullptr;
    sse += http::sse_data(json::serialize(c));
  };
  if (chat)
    chunk(json::object{{"index", 0},
                       {"delta", json::object{{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}},
                       {"logprobs", nullptr},
                       {"finish_reason", nullptr}},
          true);
  for (const auto& w : words) {
    if (chat)
      chunk(json::object{{"index", 0}, {"delta", json::object{{"content", w}}}, {"logprobs", nullptr}, {"finish_reason", nullptr}}, true);
    else
      chunk(json::object{{"index", 0}, {"text", w}, {"logprobs", nullptr}, {"finish_reason", nullptr}}, true);
  }
  if (chat)
    chunk(json::object{{"index", 0}, {"delta", json::object{}}, {"logprobs", nullptr}, {"finish_reason", "stop"}}, true);
  else
    chunk(json::object{{"index", 0}, {"text", ""}, {"logprobs", nullptr}, {"finish_reason", "stop"}}, true);
  json::object last{{"id", id},
                    {"object", chat ? "chat.completion.chunk" : "text_completion"},
                    {"created", created},
                    {"model", model},
                    {"system_fingerprint", "tollgate-demo"},
                    {"choices", json::array{}},
                    {"usage", usage_json(prompt_tokens, completion_tokens)}};
  sse += http::sse_data(json::serialize(last));
  sse += "data: [DONE]\n\n";
  return {200, "text/event-stream", std::move(sse)};
}

}  // namespace tollgate::providers::demo
