// TEMPORARY: replaced by the Anthropic inbound dispatch when dialects/anthropic lands.
#include <boost/json/serialize.hpp>

#include "gateway/dispatch.h"
#include "gateway/phases.h"
#include "gateway/relay.h"

namespace tollgate::gateway {
namespace net = boost::asio;

std::unique_ptr<StreamRelay> anthropic_caller_relay(std::unique_ptr<dialects::ChatStreamDecoder>, std::string) {
  return nullptr;
}

net::awaitable<void> dispatch_anthropic(RequestContext& ctx) {
  co_await respond_error(ctx, core::GatewayError::make(core::ErrorKind::not_implemented, "not yet", "not_implemented"));
}

net::awaitable<void> respond_completion(RequestContext& ctx, const boost::json::object& completion, Dialect caller) {
  co_await respond_json(ctx, 200, boost::json::serialize(completion));
}

}  // namespace tollgate::gateway
