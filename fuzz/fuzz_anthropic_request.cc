// The Anthropic inbound side: fast_path read_request (+ splice_request) and, for bodies it
// accepts, the translation to the canonical chat request (dropping and strict) and the token
// estimate; prompt-cache breakpoints on both forms (placed once, never twice).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/anthropic/fast_path.h"
#include "dialects/anthropic/inbound.h"
#include "dialects/anthropic/prompt_caching.h"

namespace json = boost::json;
using namespace tollgate::dialects;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto endpoint : {anthropic::Endpoint::messages, anthropic::Endpoint::count_tokens}) {
    json::value doc;
    anthropic::RequestFacts facts;
    if (anthropic::read_request(body, endpoint, doc, facts)) continue;
    std::string spliced = anthropic::splice_request(body, doc, "claude-x");
    boost::system::error_code ec;
    auto out = json::parse(spliced, ec);
    if (ec || !out.is_object()) abort();
    (void)anthropic::count_tokens_estimate(doc);
    if (doc.is_object()) {
      json::object marked = doc.as_object();
      if (anthropic::add_cache_breakpoints(marked) && anthropic::add_cache_breakpoints(marked)) abort();
    }
    // Both policies: drop and name (the default), and strict (a 400 naming the field).
    for (bool strict : {false, true}) {
      std::vector<std::string> dropped;
      EncodeOptions drops{{}, false, !strict, &dropped};
      json::object chat;
      std::string model;
      bool stream = false;
      auto err = anthropic::messages_to_chat(doc, chat, model, stream, drops);
      if (!err) {
        (void)json::serialize(chat);
        if (anthropic::add_canonical_cache_breakpoints(chat) && anthropic::add_canonical_cache_breakpoints(chat)) abort();
      }
      if (strict && !dropped.empty()) abort();  // strict never drops silently
      if (!err && stream) {
        // The translated stream's first event carries the estimate.
        anthropic::MessagesStreamEncoder enc(model, anthropic::count_tokens_estimate(doc));
        std::string events;
        enc.finish({}, events);
        if (events.find("message_start") == std::string::npos) abort();
      }
    }
  }
  tollgate::core::Usage u;
  anthropic::read_usage_from_body(body, u);
  return 0;
}
