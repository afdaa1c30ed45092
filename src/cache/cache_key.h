// The exact cache's key: a hash of what determines the answer, and of nothing else.
//
// In: the resolved alias, the canonical request (an OpenAI chat request: the caller's own, or
// an Anthropic request translated, so both dialects share entries), and the scope's tag (the
// caller's key id, its team, or nothing). Out of it: `user`, `metadata`, `stream`,
// `stream_options`, `store`, `service_tier` and the provider-side cache hints; request ids and
// headers never reach it. Object keys are sorted, so field order does not matter either.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace tollgate::cache {

// The canonical request as text: dropped fields gone, keys sorted, `max_tokens` read as
// `max_completion_tokens`, a content list holding one text part read as that text.
std::string canonical_request(const boost::json::object& chat);

// SHA-256 (hex) over the scope, the alias and the canonical request.
std::string exact_key(std::string_view scope_tag, std::string_view alias, std::string_view canonical);

}  // namespace tollgate::cache
