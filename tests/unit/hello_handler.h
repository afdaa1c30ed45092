// The handler of the unit tests' small listeners: answers "hello"; /wait first waits up to 5 s
// unless the client goes, which it records in `client_gone`.
#pragma once

#include "http/server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>

namespace tollgate::test_support {

inline boost::asio::awaitable<void> answer_hello(http::Exchange& ex, std::atomic<bool>& client_gone) {
  namespace net = boost::asio;
  if (ex.target() == "/wait") {
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::seconds(5));
    ex.on_client_gone([&client_gone, &timer] {
      client_gone = true;
      timer.cancel();
    });
    co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    ex.on_client_gone(nullptr);
  }
  http::Headers headers = {{"content-type", "text/plain"}};
  co_await ex.respond(200, headers, "hello");
}

}  // namespace tollgate::test_support
