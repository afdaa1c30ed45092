// The Gemini inbound side: read_request for every method and, for bodies it accepts, the
// translation to the canonical chat / embeddings request, the token estimate and the fast
// path's embed splice; plus the caller's path and query parsing, and the stream encoder and
// array framing fed with the input as canonical chunks / SSE.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/gemini/inbound.h"

namespace json = boost::json;
using namespace tollgate::dialects;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto method : {gemini::Method::generate, gemini::Method::stream, gemini::Method::count_tokens,
                      gemini::Method::embed, gemini::Method::batch_embed}) {
    json::value doc;
    if (gemini::read_request(body, method, doc)) continue;
    (void)gemini::count_tokens_estimate(doc);
    if (method == gemini::Method::embed || method == gemini::Method::batch_embed) {
      json::object req;
      if (!gemini::embed_to_openai(doc, method == gemini::Method::batch_embed, req)) (void)json::serialize(req);
      boost::system::error_code ec;
      auto spliced = json::parse(gemini::splice_embed(doc, "m"), ec);
      if (ec) abort();
      continue;
    }
    json::object chat;
    std::vector<std::string> dropped;
    if (!gemini::generate_to_chat(doc, method == gemini::Method::stream, chat, dropped)) {
      // What the translation builds must serialize and carry messages.
      if (!chat.contains("messages")) abort();
      // A replayed thought signature is named once however many parts carry one.
      if (std::count(dropped.begin(), dropped.end(), gemini::kThoughtSignature) > 1) abort();
      (void)json::serialize(chat);
    }
  }
  // The body as a path and as canonical chunks / SSE.
  (void)gemini::parse_caller_path(body);
  (void)gemini::wants_sse(body);
  (void)gemini::query_key(body);
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  std::string out;
  gemini::GenerateStreamEncoder enc("m");
  if (!ec && v.is_object()) {
    enc.on_chunk(v.as_object(), out);
    (void)gemini::chat_to_generate(v.as_object(), "m");
    (void)gemini::openai_to_embed(v.as_object(), true);
  }
  enc.finish(tollgate::core::Usage{}, out);
  gemini::ArrayFraming framing;
  std::string framed;
  framing.feed(body, framed);
  framing.feed(out, framed);
  framing.close(framed);
  return 0;
}
