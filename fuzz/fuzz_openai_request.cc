// The JSON member scanner and the OpenAI fast path: read_request + splice_request on arbitrary
// bodies, and the scanner on arbitrary bytes (it must never read out of bounds, even on
// documents Boost.JSON would reject). Invariant: a spliced body is valid JSON with the new model.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/parse.hpp>

#include "core/json_scan.h"
#include "dialects/openai/fast_path.h"
#include "obs/access_log.h"

namespace json = boost::json;
using namespace tollgate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);

  std::vector<core::JsonMember> members;
  if (core::scan_object_members(body, members)) {
    for (const auto& m : members) {
      if (m.value_begin > m.value_end || m.value_end > body.size()) abort();
      (void)core::remove_member(body, members, m);
    }
    (void)core::find_member(members, "model");
    (void)core::insert_first_member(body, "k", "1");
  }
  (void)core::json_quote(body);

  for (auto endpoint : {dialects::openai::Endpoint::chat_completions,
                        dialects::openai::Endpoint::completions,
                        dialects::openai::Endpoint::embeddings}) {
    json::value doc;
    dialects::openai::RequestFacts facts;
    if (dialects::openai::read_request(body, endpoint, doc, facts)) continue;  // an error
    for (bool usage : {false, true}) {
      std::string spliced = dialects::openai::splice_request(body, doc, "upstream-\"model\"", usage);
      boost::system::error_code ec;
      json::value out = json::parse(spliced, ec);
      if (ec || !out.is_object()) abort();
      auto* model = out.as_object().if_contains("model");
      if (!model || !model->is_string() || model->as_string() != "upstream-\"model\"") abort();
    }
  }
  // The usage numbers read by scan must be the ones a parsed document gives.
  core::Usage u;
  dialects::openai::read_usage_from_body(body, u);
  boost::system::error_code pec;
  json::value parsed = json::parse(body, pec);
  if (!pec && parsed.is_object()) {
    const auto& o = parsed.as_object();
    std::vector<core::JsonMember> top;
    bool unique_usage = core::scan_object_members(body, top) && core::find_member(top, "usage");
    if (auto* usage = o.if_contains("usage"); usage && unique_usage) {
      core::Usage d;
      dialects::openai::read_usage(*usage, d);
      if (d.known != u.known || d.input_tokens != u.input_tokens || d.output_tokens != u.output_tokens ||
          d.cached_input_tokens != u.cached_input_tokens || d.reasoning_tokens != u.reasoning_tokens)
        abort();
    }
  }
  std::string quoted;
  obs::append_json_string(quoted, body);
  if (quoted != core::json_quote(body)) abort();
  return 0;
}
