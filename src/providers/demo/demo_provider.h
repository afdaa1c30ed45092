// The built-in offline `demo` provider: answers in OpenAI's wire format with no network and no
// key, so a fresh gateway answers its first request at once. Deterministic, so tests can
// assert exact content and usage.
#pragma once

#include <string>

#include <boost/json/value.hpp>

#include "dialects/openai/fast_path.h"

namespace tollgate::providers::demo {

struct Answer {
  int status = 200;
  std::string content_type;
  std::string body;  // a JSON document, or for streams the whole SSE text
};

// Streams always end with a usage chunk (as if stream_options.include_usage were set); the
// relay strips it for callers that did not ask, exactly as for a real provider.
Answer answer(dialects::openai::Endpoint endpoint, const boost::json::value& request,
              std::string_view model, bool stream);

}  // namespace tollgate::providers::demo
