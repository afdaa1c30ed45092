// The Gemini stream decoder (streamGenerateContent?alt=sse): arbitrary bytes through the SSE
// reader into the decoder, then finish(). Every chunk it emits must be a JSON object.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include "dialects/gemini/codec.h"
#include "http/sse.h"

using namespace tollgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto decoder = dialects::gemini::gemini_codec().stream_decoder("gemini-x");
  http::SseReader reader;
  http::SseEvent ev;
  std::vector<std::string> out;
  for (size_t i = 0; i < in.size(); i += step) {
    reader.feed(in.substr(i, step));
    while (reader.next(ev)) decoder->on_event(ev, out);
  }
  decoder->finish(out);
  (void)decoder->usage();
  for (const auto& chunk : out) {
    boost::system::error_code ec;
    auto v = boost::json::parse(chunk, ec);
    if (ec || !v.is_object()) abort();
  }
  return 0;
}
