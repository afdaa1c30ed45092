// Phase 8, relay: the answer back to the caller, streamed event by event as it arrives or
// whole, with the usage tap reading token counts on the way.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "gateway/context.h"
#include "http/client.h"

namespace tollgate::gateway {

// Where the answer's bytes come from: an upstream connection, or the built-in demo provider.
class AnswerSource {
 public:
  virtual ~AnswerSource() = default;
  virtual boost::asio::awaitable<http::UpstreamFailure> read_some(std::string_view& piece,
                                                                  bool& done) = 0;
  virtual void cancel() = 0;
};

// Streams an OpenAI SSE answer to the caller. `strip_usage`: the gateway asked the upstream
// for usage on the caller's behalf, so the tap hides it again.
boost::asio::awaitable<void> relay_stream(RequestContext& ctx, AnswerSource& source,
                                          http::Headers extra, bool strip_usage);

// Sends a whole answer and reads its usage.
boost::asio::awaitable<void> relay_whole(RequestContext& ctx, int status,
                                         std::string_view content_type, std::string body,
                                         http::Headers extra);

}  // namespace tollgate::gateway
