// The Responses API translation (dialects/openai/responses.h) on arbitrary bodies: the request
// as a Responses request (and as the items of a stored chain), and the same document as a
// canonical answer and as a stream chunk; the body as an item id. Invariants: a translated
// request has messages; every output item's id names its response; every stream event is one
// SSE event whose data is a JSON object with the next sequence_number.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>

#include "dialects/openai/responses.h"
#include "http/sse.h"
#include "store/secret_box.h"

namespace json = boost::json;
using namespace tollgate;
namespace responses = dialects::openai::responses;

namespace {

void check_events(std::string_view text, int64_t& seq) {
  http::SseReader reader;
  reader.feed(text);
  http::SseEvent ev;
  while (reader.next(ev)) {
    boost::system::error_code ec;
    auto v = json::parse(ev.data, ec);
    if (ec || !v.is_object()) abort();
    auto* n = v.as_object().if_contains("sequence_number");
    if (!n || !n->is_int64() || n->get_int64() != seq++) abort();
  }
  if (!reader.pending().empty()) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const store::SecretBox box(std::array<unsigned char, 32>{1, 2, 3});
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)responses::response_of_item(body);
  json::parse_options opt;
  opt.max_depth = 64;
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec, {}, opt);
  if (ec) return 0;

  if (auto* o = doc.if_object()) {
    if (responses::input_tokens_estimate(*o) < 1) abort();
    responses::Turn turn;
    if (!responses::to_chat(*o, {}, &box, turn)) {
      auto* m = turn.chat.if_contains("messages");
      if (!m || !m->is_array() || m->get_array().empty()) abort();
    }
    core::Usage usage;
    usage.known = true;
    // Every output item's id names the response it belongs to (item_reference finds it so).
    auto r = responses::to_response(*o, turn, "resp_tg1", 0, "m", usage, &box);
    for (const auto& item : r.at("output").as_array())
      if (responses::response_of_item(item.at("id").as_string()) != "resp_tg1") abort();
    responses::StreamEncoder enc(turn, "resp_tg1", 0, "m", &box);
    std::string out;
    int64_t seq = 0;
    enc.on_chunk(*o, out);
    enc.on_chunk(*o, out);
    enc.finish(usage, out);
    check_events(out, seq);
  } else if (auto* a = doc.if_array()) {
    responses::Turn turn;
    json::object req{{"model", "m"}, {"input", "x"}};
    (void)responses::to_chat(req, *a, &box, turn);
  }
  return 0;
}
