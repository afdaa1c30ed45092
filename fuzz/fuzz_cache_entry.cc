// The response cache's entry reader (a shared Redis can hold any bytes) and its replay: an entry
// that decodes replays as a stream which the answer tap rebuilds into the same message text and
// finish reason; an entry's embedding round-trips exactly; the canonical request writer and the
// semantic cache's partition reader take any JSON object.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/semantic.h"

namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  auto v = json::parse(in, ec);
  if (!ec && v.is_object()) {
    (void)tollgate::cache::canonical_request(v.as_object());
    (void)tollgate::cache::semantic_query("k:a", "gpt", "embed", v.as_object());
    (void)tollgate::cache::completion_of_response(v.as_object());
  }
  // Any bytes as a whole answer of each shape the tap reads.
  for (auto shape : {tollgate::cache::AnswerShape::openai_chat, tollgate::cache::AnswerShape::anthropic,
                     tollgate::cache::AnswerShape::gemini, tollgate::cache::AnswerShape::responses}) {
    tollgate::cache::AnswerTap tap(shape);
    tap.on_whole(in);
    (void)tap.result({});
  }

  auto entry = tollgate::cache::decode_entry(in);
  if (!entry) return 0;
  if (!entry->embedding.empty()) {
    auto again = tollgate::cache::decode_entry(tollgate::cache::encode_entry(*entry));
    if (!again || again->embedding != entry->embedding) abort();
    auto v = entry->embedding;
    (void)tollgate::cache::normalize(v);
  }
  std::string sse = tollgate::cache::completion_to_sse(entry->completion);
  using tollgate::cache::AnswerShape;
  for (auto shape : {AnswerShape::openai_chat, AnswerShape::anthropic, AnswerShape::gemini, AnswerShape::gemini_array,
                     AnswerShape::responses}) {
    tollgate::cache::AnswerTap tap(shape);
    for (size_t i = 0; i < sse.size(); i += 13) tap.on_stream(std::string_view(sse).substr(i, 13));
    (void)tap.result({});
  }
  // A whole OpenAI answer replayed and rebuilt keeps its first choice's text.
  auto* choices = entry->completion.if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().size() != 1) return 0;
  auto* c = choices->get_array()[0].if_object();
  if (!c || !c->contains("index") || !(*c).at("index").is_int64() || (*c).at("index").get_int64() != 0) return 0;
  auto* m = c->if_contains("message");
  auto* fr = c->if_contains("finish_reason");
  if (!m || !m->is_object() || !fr || !fr->is_string() || fr->get_string().empty()) return 0;
  auto* text = m->get_object().if_contains("content");
  if (!text || !text->is_string() || m->get_object().contains("tool_calls")) return 0;
  tollgate::cache::AnswerTap tap(AnswerShape::openai_chat);
  tap.on_stream(sse);
  auto back = tap.result({});
  if (!back) abort();
  const auto& choice = back->at("choices").as_array()[0].as_object();
  if (choice.at("message").at("content") != *text || choice.at("finish_reason") != *fr) abort();
  return 0;
}
