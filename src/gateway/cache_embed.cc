// The semantic cache's embedding call (phase 6b, cache.cc). It is not a side door to a
// provider: it is a request of its own, POST /v1/embeddings with the caller's own credential,
// run through the whole request path in process (authenticate .. record), so the key's
// allowlist, limits, budget and guardrails apply to it, it is routed and failed over like any
// call, and it has its own access-log line and usage record (request id: the caller's + "-embed").
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

#include "gateway/phases.h"
#include "gateway/proxy.h"

namespace tollgate::gateway {
namespace net = boost::asio;
namespace json = boost::json;

namespace {

// An exchange held in memory: the request as built here, the answer kept for the caller.
class LocalExchange final : public http::Exchange {
 public:
  LocalExchange(const http::Exchange& parent, http::Headers headers, std::string body)
      : parent_(parent), headers_(std::move(headers)), body_(std::move(body)) {}

  std::string_view method() const override { return "POST"; }
  std::string_view target() const override { return "/v1/embeddings"; }
  std::string_view header(std::string_view name) const override {
    for (const auto& [k, v] : headers_)
      if (std::equal(k.begin(), k.end(), name.begin(), name.end(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        return v;
    return {};
  }
  const std::string& body() const override { return body_; }
  std::string_view remote_address() const override { return parent_.remote_address(); }
  net::awaitable<void> respond(int status, const http::Headers&, std::string body) override {
    status_ = status;
    answer_ = std::move(body);
    responded_ = true;
    co_return;
  }
  net::awaitable<bool> start_stream(int status, const http::Headers&) override {
    status_ = status;
    responded_ = true;
    co_return true;
  }
  net::awaitable<bool> write_chunk(std::string_view data) override {
    answer_.append(data);
    co_return true;
  }
  net::awaitable<void> end_stream() override { co_return; }
  bool responded() const override { return responded_; }
  // The embedding is short and its answer is wanted even if the caller leaves meanwhile.
  void on_client_gone(std::function<void()>) override {}
  bool client_gone() const override { return false; }

  int status() const { return status_; }
  const std::string& answer() const { return answer_; }

 private:
  const http::Exchange& parent_;
  http::Headers headers_;
  std::string body_;
  int status_ = 0;
  std::string answer_;
  bool responded_ = false;
};

}  // namespace

net::awaitable<std::optional<std::vector<float>>> embed_for_cache(RequestContext& ctx, const std::string& alias,
                                                                 const std::string& text) {
  http::Headers headers{{"authorization", "Bearer " + presented_secret(ctx)},
                        {"content-type", "application/json"},
                        {"x-request-id", ctx.request_id + "-embed"}};
  std::string body = json::serialize(json::object{{"model", alias}, {"input", text}, {"encoding_format", "float"}});
  LocalExchange call(ctx.ex, std::move(headers), std::move(body));
  co_await handle_proxy_request(ctx.gateway, call);
  if (call.status() != 200) co_return std::nullopt;
  boost::system::error_code ec;
  json::value answer = json::parse(call.answer(), ec);
  const json::value* data = ec ? nullptr : answer.is_object() ? answer.get_object().if_contains("data") : nullptr;
  if (!data || !data->is_array() || data->get_array().empty()) co_return std::nullopt;
  const auto* first = data->get_array()[0].if_object();
  const json::value* embedding = first ? first->if_contains("embedding") : nullptr;
  if (!embedding || !embedding->is_array()) co_return std::nullopt;
  std::vector<float> v;
  v.reserve(embedding->get_array().size());
  for (const auto& x : embedding->get_array()) {
    if (!x.is_number()) co_return std::nullopt;
    v.push_back(static_cast<float>(x.to_number<double>()));
  }
  co_return v;
}

}  // namespace tollgate::gateway
