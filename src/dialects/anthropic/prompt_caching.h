// Anthropic prompt caching done for the caller (a model's `prompt_caching: auto`): when the
// request carries no `cache_control` of its own, breakpoints go after the system prompt and
// after the tools, the prefix that repeats from one turn of a conversation to the next. The
// provider then bills those tokens as cache writes once and cache reads after (cheaper), and
// reports them (cache_creation_input_tokens, cache_read_input_tokens) in its usage.
//
// For Anthropic targets on the fast path the caller's Messages body is marked; for translated
// requests (to Anthropic or Bedrock Claude) the canonical chat request is, and the codecs carry
// the marks over (cache_control / cachePoint).
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

namespace tollgate::dialects::anthropic {

// Marks an Anthropic Messages request; false (untouched) when it already has a cache_control
// anywhere, or nothing to mark.
bool add_cache_breakpoints(boost::json::object& messages_request);

// Marks a canonical (OpenAI chat) request: the last system/developer message and the last tool.
bool add_canonical_cache_breakpoints(boost::json::object& chat);

// A Claude model on Bedrock ("anthropic.claude-...", "us.anthropic.claude-...", an ARN naming one).
bool is_bedrock_claude(std::string_view upstream_model);

}  // namespace tollgate::dialects::anthropic
