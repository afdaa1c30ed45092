// Pieces of dispatch (phase 7) shared by its files: dispatch.cc (OpenAI callers, the
// translated path) and dispatch_anthropic.cc (Anthropic callers).
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include "dialects/openai/fast_path.h"
#include "gateway/context.h"
#include "http/client.h"

namespace tollgate::gateway {

// Sends `req` to the target's provider and reads the response head. On failure it answers
// the caller itself (502/504, or nothing when the caller left) and returns false.
boost::asio::awaitable<bool> send_upstream(RequestContext& ctx, http::UpstreamCall& call,
                                           http::OutgoingRequest& req);

// Reads a whole answer body; on failure answers the caller and returns false.
boost::asio::awaitable<bool> read_whole(RequestContext& ctx, http::UpstreamCall& call,
                                        std::string& body);

// Upstream headers worth showing the caller (retry-after, the provider's request id).
http::Headers passthrough_headers(const http::UpstreamCall& call);

// Any provider, through the canonical form (an OpenAI chat request): encode for the provider,
// decode its answer, encode that for the caller.
boost::asio::awaitable<void> translated_path(RequestContext& ctx, dialects::openai::Endpoint endpoint,
                                             const boost::json::object& canonical, Dialect caller);

// Anthropic callers (dispatch_anthropic.cc): /v1/messages and /v1/messages/count_tokens.
boost::asio::awaitable<void> dispatch_anthropic(RequestContext& ctx);

// A whole canonical answer (chat.completion) in the caller's dialect.
boost::asio::awaitable<void> respond_completion(RequestContext& ctx, const boost::json::object& completion,
                                                Dialect caller);

}  // namespace tollgate::gateway
