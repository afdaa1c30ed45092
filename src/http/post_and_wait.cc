#include "http/post_and_wait.h"

#include <boost/asio/co_spawn.hpp>

namespace tollgate::http {

namespace net = boost::asio;

std::string post_and_wait(net::io_context& ioc, const core::UpstreamEndpoint& endpoint,
                          const core::Timeouts& timeouts, bool verify_tls, const OutgoingRequest& req) {
  int status = 0;
  UpstreamFailure failure = UpstreamFailure::none;
  auto exchange = [&]() -> net::awaitable<void> {
    UpstreamCall call;
    failure = co_await call.send(endpoint, timeouts, verify_tls, req);
    if (failure != UpstreamFailure::none) co_return;
    std::string answer;
    failure = co_await call.read_all(answer, 64 * 1024);  // read whole: the connection is reused
    status = call.status();
  };
  std::exception_ptr error;
  bool finished = false;
  net::co_spawn(ioc, exchange(), [&](std::exception_ptr e) {
    error = e;
    finished = true;
  });
  ioc.restart();
  while (!finished && ioc.run_one()) {
  }
  if (error) return "exception";
  if (failure != UpstreamFailure::none) return std::string(describe(failure));
  if (status < 200 || status >= 300) return "status " + std::to_string(status);
  return "";
}

}  // namespace tollgate::http
