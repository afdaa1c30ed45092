#include "cache/entry.h"

#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/evp.h>

#include <cmath>
#include <cstring>

#include "dialects/anthropic/codec.h"
#include "dialects/gemini/codec.h"
#include "dialects/openai/fast_path.h"

namespace tollgate::cache {
namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

int64_t integer(const json::value* v) {
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

// A vector as base64 of its float32 values (little-endian, as every target of this build):
// a third of the size of JSON numbers, and exact.
std::string vector_text(const std::vector<float>& v) {
  std::string out(4 * ((v.size() * 4 + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(v.data()),
                          static_cast<int>(v.size() * 4));
  out.resize(n);
  return out;
}

std::optional<std::vector<float>> vector_of(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0 || text.size() > (64u << 20)) return std::nullopt;
  std::string raw(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding's zero bytes in.
  std::size_t len = static_cast<std::size_t>(n) - (text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0);
  if (len == 0 || len % 4 != 0) return std::nullopt;
  std::vector<float> v(len / 4);
  std::memcpy(v.data(), raw.data(), len);
  for (float x : v)
    if (!std::isfinite(x)) return std::nullopt;
  return v;
}

}  // namespace

std::string encode_entry(const Entry& e) {
  json::object o;
  o["v"] = 1;
  o["stored_at"] = e.stored_at_ms;
  if (e.cost_usd) o["cost_usd"] = *e.cost_usd;
  o["completion"] = e.completion;
  if (!e.embedding.empty()) o["embedding"] = vector_text(e.embedding);
  return json::serialize(o);
}

std::optional<Entry> decode_entry(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto& o = v.as_object();
  auto* c = o.if_contains("completion");
  if (integer(o.if_contains("v")) != 1 || !c || !c->is_object()) return std::nullopt;
  Entry e;
  e.completion = std::move(c->as_object());
  e.stored_at_ms = integer(o.if_contains("stored_at"));
  if (auto* cost = o.if_contains("cost_usd"); cost && cost->is_number()) e.cost_usd = cost->to_number<double>();
  if (auto* v = o.if_contains("embedding")) {
    auto vec = v->is_string() ? vector_of(v->get_string()) : std::nullopt;
    if (!vec) return std::nullopt;
    e.embedding = std::move(*vec);
  }
  return e;
}

json::object usage_object(const core::Usage& u) {
  json::object o{{"prompt_tokens", u.input_tokens},
                 {"completion_tokens", u.output_tokens},
                 {"total_tokens", u.input_tokens + u.output_tokens}};
  o["prompt_tokens_details"] = json::object{{"cached_tokens", u.cached_input_tokens}};
  o["completion_tokens_details"] = json::object{{"reasoning_tokens", u.reasoning_tokens}};
  return o;
}

std::string completion_to_sse(const json::object& completion) {
  std::string out;
  json::object base{{"id", completion.contains("id") ? completion.at("id") : json::value("chatcmpl-cached")},
                    {"object", "chat.completion.chunk"},
                    {"created", completion.contains("created") ? completion.at("created") : json::value(0)},
                    {"model", completion.contains("model") ? completion.at("model") : json::value("")}};
  if (auto* fp = completion.if_contains("system_fingerprint")) base["system_fingerprint"] = *fp;
  auto emit = [&](int64_t index, json::object delta, json::value finish) {
    json::object chunk = base;
    chunk["choices"] = json::array{json::object{
        {"index", index}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}};
    out += http::sse_data(json::serialize(chunk));
  };
  if (auto* choices = completion.if_contains("choices"); choices && choices->is_array()) {
    for (const auto& c : choices->get_array()) {
      const auto* co = c.if_object();
      if (!co) continue;
      int64_t index = integer(co->if_contains("index"));
      const json::object empty;
      const auto* m = co->if_contains("message");
      const json::object& msg = m && m->is_object() ? m->get_object() : empty;
      emit(index, json::object{{"role", "assistant"}, {"content", ""}}, nullptr);
      if (auto* r = msg.if_contains("reasoning_content"); r && r->is_string() && !r->get_string().empty())
        emit(index, json::object{{"reasoning_content", *r}}, nullptr);
      if (auto* t = msg.if_contains("content"); t && t->is_string() && !t->get_string().empty())
        emit(index, json::object{{"content", *t}}, nullptr);
      if (auto* r = msg.if_contains("refusal"); r && r->is_string())
        emit(index, json::object{{"refusal", *r}}, nullptr);
      if (auto* tcs = msg.if_contains("tool_calls"); tcs && tcs->is_array()) {
        int64_t i = 0;
        for (const auto& tc : tcs->get_array()) {
          json::value call = tc;
          if (auto* o = call.if_object()) (*o)["index"] = i;
          emit(index, json::object{{"tool_calls", json::array{std::move(call)}}}, nullptr);
          ++i;
        }
      }
      auto* fr = co->if_contains("finish_reason");
      emit(index, json::object{}, fr && fr->is_string() ? *fr : json::value("stop"));
    }
  }
  if (auto* u = completion.if_contains("usage"); u && u->is_object()) {
    json::object chunk = base;
    chunk["choices"] = json::array{};
    chunk["usage"] = *u;
    out += http::sse_data(json::serialize(chunk));
  }
  out += "data: [DONE]\n\n";
  return out;
}

void CompletionAssembler::on_chunk(const json::object& chunk) {
  if (chunk.contains("error")) {
    failed_ = true;
    return;
  }
  if (id_.empty()) id_ = str(chunk, "id");
  if (model_.empty()) model_ = str(chunk, "model");
  if (fingerprint_.empty()) fingerprint_ = str(chunk, "system_fingerprint");
  if (!created_) created_ = integer(chunk.if_contains("created"));
  auto* choices = chunk.if_contains("choices");
  if (!choices || !choices->is_array()) return;
  for (const auto& c : choices->get_array()) {
    const auto* co = c.if_object();
    if (!co) continue;
    Choice& ch = choices_[integer(co->if_contains("index"))];
    if (auto* d = co->if_contains("delta"); d && d->is_object()) {
      const auto& delta = d->get_object();
      if (auto* t = delta.if_contains("content"); t && t->is_string()) {
        ch.content += t->get_string();
        ch.has_content = true;
      }
      if (auto* t = delta.if_contains("reasoning_content"); t && t->is_string()) ch.reasoning += t->get_string();
      if (auto* tcs = delta.if_contains("tool_calls"); tcs && tcs->is_array()) {
        for (const auto& tc : tcs->get_array()) {
          const auto* to = tc.if_object();
          if (!to) continue;
          ToolCall& call = ch.tool_calls[integer(to->if_contains("index"))];
          if (auto id = str(*to, "id"); !id.empty()) call.id = id;
          if (auto* f = to->if_contains("function"); f && f->is_object()) {
            if (auto n = str(f->get_object(), "name"); !n.empty()) call.name = n;
            call.arguments += str(f->get_object(), "arguments");
          }
        }
      }
    }
    if (auto* fr = co->if_contains("finish_reason"); fr && fr->is_string()) ch.finish_reason = fr->get_string();
  }
}

bool CompletionAssembler::complete() const {
  if (failed_ || choices_.empty()) return false;
  for (const auto& [i, c] : choices_)
    if (c.finish_reason.empty()) return false;
  return true;
}

json::object CompletionAssembler::completion(const core::Usage& usage) const {
  json::array choices;
  for (const auto& [i, c] : choices_) {
    json::object msg{{"role", c.role}, {"content", c.has_content || c.tool_calls.empty() ? json::value(c.content) : json::value(nullptr)}};
    if (!c.reasoning.empty()) msg["reasoning_content"] = c.reasoning;
    if (!c.tool_calls.empty()) {
      json::array calls;
      for (const auto& [j, t] : c.tool_calls)
        calls.push_back(json::object{{"id", t.id}, {"type", "function"},
                                     {"function", json::object{{"name", t.name}, {"arguments", t.arguments}}}});
      msg["tool_calls"] = std::move(calls);
    }
    choices.push_back(json::object{{"index", i}, {"message", std::move(msg)}, {"logprobs", nullptr}, {"finish_reason", c.finish_reason}});
  }
  json::object o{{"id", id_}, {"object", "chat.completion"}, {"created", created_}, {"model", model_}};
  o["choices"] = std::move(choices);
  if (usage.known) o["usage"] = usage_object(usage);
  if (!fingerprint_.empty()) o["system_fingerprint"] = fingerprint_;
  return o;
}

std::optional<json::object> completion_of_response(const json::object& response) {
  if (str(response, "status") != "completed") return std::nullopt;
  std::string text;
  bool has_text = false;
  json::array calls;
  if (auto* output = response.if_contains("output"); output && output->is_array())
    for (const auto& item : output->get_array()) {
      const auto* o = item.if_object();
      if (!o) continue;
      const std::string type = str(*o, "type");
      if (type == "message") {
        if (auto* content = o->if_contains("content"); content && content->is_array())
          for (const auto& part : content->get_array())
            if (const auto* p = part.if_object(); p && str(*p, "type") == "output_text") {
              text += str(*p, "text");
              has_text = true;
            }
      } else if (type == "function_call") {
        calls.push_back(json::object{{"id", str(*o, "call_id")}, {"type", "function"},
                                     {"function", json::object{{"name", str(*o, "name")}, {"arguments", str(*o, "arguments")}}}});
      } else if (type != "reasoning") {
        return std::nullopt;  // a built-in tool's output: not a chat answer
      }
    }
  json::object message{{"role", "assistant"}, {"content", has_text || calls.empty() ? json::value(text) : json::value(nullptr)}};
  const bool tools = !calls.empty();
  if (tools) message["tool_calls"] = std::move(calls);
  json::object c{{"id", "chatcmpl-" + str(response, "id")}, {"object", "chat.completion"},
                 {"created", integer(response.if_contains("created_at"))}, {"model", str(response, "model")}};
  c["choices"] = json::array{json::object{{"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr},
                                          {"finish_reason", tools ? "tool_calls" : "stop"}}};
  if (auto* u = response.if_contains("usage"); u && u->is_object()) {
    const auto& uo = u->get_object();
    core::Usage usage;
    usage.known = true;
    usage.input_tokens = integer(uo.if_contains("input_tokens"));
    usage.output_tokens = integer(uo.if_contains("output_tokens"));
    if (auto* d = uo.if_contains("input_tokens_details"); d && d->is_object())
      usage.cached_input_tokens = integer(d->get_object().if_contains("cached_tokens"));
    if (auto* d = uo.if_contains("output_tokens_details"); d && d->is_object())
      usage.reasoning_tokens = integer(d->get_object().if_contains("reasoning_tokens"));
    c["usage"] = usage_object(usage);
  }
  return c;
}

AnswerTap::AnswerTap(AnswerShape shape) : shape_(shape) {
  if (shape_ == AnswerShape::anthropic) decoder_ = dialects::anthropic::anthropic_codec().stream_decoder("");
  if (shape_ == AnswerShape::gemini || shape_ == AnswerShape::gemini_array)
    decoder_ = dialects::gemini::gemini_codec().stream_decoder("");
}
AnswerTap::~AnswerTap() = default;

void AnswerTap::on_chunk_text(std::string_view data) {
  boost::system::error_code ec;
  auto v = json::parse(data, ec);
  if (ec || !v.is_object()) return;
  assembler_.on_chunk(v.as_object());
}

void AnswerTap::decoded(std::vector<std::string>& chunks) {
  if (decoder_->error()) failed_ = true;
  for (const auto& c : chunks) on_chunk_text(c);
  chunks.clear();
}

void AnswerTap::on_event(const http::SseEvent& ev) {
  if (decoder_) {
    std::vector<std::string> chunks;
    decoder_->on_event(ev, chunks);
    decoded(chunks);
  } else if (shape_ == AnswerShape::responses) {
    // Only the last event matters: response.completed carries the whole response.
    if (!ev.has_data || ev.data.find("\"response.") == std::string::npos) return;
    boost::system::error_code ec;
    auto v = json::parse(ev.data, ec);
    if (ec || !v.is_object()) return;
    const std::string type = str(v.as_object(), "type");
    if (type == "response.failed" || type == "response.incomplete" || type == "error") failed_ = true;
    if (type != "response.completed") return;
    auto* r = v.as_object().if_contains("response");
    auto c = r && r->is_object() ? completion_of_response(r->get_object()) : std::nullopt;
    if (c) whole_ = std::move(*c);
    else failed_ = true;
  } else if (ev.has_data && ev.data != "[DONE]") {
    on_chunk_text(ev.data);
  }
}

void AnswerTap::on_stream(std::string_view bytes) {
  if (failed_ || bytes.empty()) return;
  streamed_ = true;
  if (shape_ == AnswerShape::gemini_array) {
    if (array_.size() + bytes.size() > (64u << 20)) failed_ = true;  // not kept: too large to cache
    else array_.append(bytes);
    return;
  }
  reader_.feed(bytes);
  http::SseEvent ev;
  while (reader_.next(ev)) on_event(ev);
}

void AnswerTap::on_whole(std::string_view body) {
  if (shape_ == AnswerShape::anthropic || shape_ == AnswerShape::gemini || shape_ == AnswerShape::gemini_array) {
    const auto& codec = shape_ == AnswerShape::anthropic ? dialects::anthropic::anthropic_codec()
                                                         : dialects::gemini::gemini_codec();
    json::object completion;
    core::Usage ignored;
    if (codec.decode_chat(body, "", completion, ignored)) {
      failed_ = true;
      return;
    }
    whole_ = std::move(completion);
    return;
  }
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    failed_ = true;
    return;
  }
  if (shape_ == AnswerShape::responses) {
    auto c = completion_of_response(v.as_object());
    if (c) whole_ = std::move(*c);
    else failed_ = true;
    return;
  }
  if (!v.as_object().contains("choices")) {
    failed_ = true;
    return;
  }
  whole_ = std::move(v.as_object());
}

void AnswerTap::on_completion(const json::object& completion) { whole_ = completion; }

std::optional<json::object> AnswerTap::result(const core::Usage& usage) {
  if (failed_) return std::nullopt;
  if (whole_) {
    json::object c = std::move(*whole_);
    whole_.reset();
    // The provider's own usage object is kept as it was (its details included).
    if (!usage.known) c.erase("usage");
    else if (auto* u = c.if_contains("usage"); !u || !u->is_object()) c["usage"] = usage_object(usage);
    return c;
  }
  if (!streamed_ || shape_ == AnswerShape::responses) return std::nullopt;
  if (shape_ == AnswerShape::gemini_array) {
    boost::system::error_code ec;
    auto v = json::parse(array_, ec);
    if (ec || !v.is_array()) return std::nullopt;
    for (const auto& element : v.get_array()) {
      http::SseEvent ev;
      ev.has_data = true;
      ev.data = json::serialize(element);
      on_event(ev);
    }
  }
  if (decoder_) {
    std::vector<std::string> chunks;
    decoder_->finish(chunks);
    decoded(chunks);
  }
  if (failed_ || !assembler_.complete()) return std::nullopt;
  return assembler_.completion(usage);
}

}  // namespace tollgate::cache
