// GET /v1/models: the aliases this key may call, in OpenAI's list shape, or in Anthropic's
// when the caller speaks Anthropic (it sends `anthropic-version`, as the Anthropic SDK and
// Claude Code do).
#include <ctime>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/phases.h"

namespace tollgate::gateway {
namespace json = boost::json;

boost::asio::awaitable<void> list_models(RequestContext& ctx) {
  const bool anthropic = !ctx.ex.header("anthropic-version").empty();
  std::string created_at;
  if (anthropic) {
    std::time_t t = static_cast<std::time_t>(ctx.gateway.started_unix);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%FT%TZ", &tm);
    created_at = buf;
  }
  json::array data;
  for (const auto& m : ctx.snapshot->models()) {
    if (!key_allows(*ctx.key, ctx.team, m.spec.name)) continue;
    if (anthropic) {
      data.push_back(json::object{{"type", "model"},
                                  {"id", m.spec.name},
                                  {"display_name", m.spec.name},
                                  {"created_at", created_at}});
      continue;
    }
    data.push_back(json::object{{"id", m.spec.name},
                                {"object", "model"},
                                {"created", ctx.gateway.started_unix},
                                {"owned_by", m.targets.empty() ? std::string("tollgate")
                                                               : m.targets.front().provider->spec.name}});
  }
  json::object res;
  if (anthropic) {
    res["first_id"] = data.empty() ? json::value(nullptr) : data.front().as_object().at("id");
    res["last_id"] = data.empty() ? json::value(nullptr) : data.back().as_object().at("id");
    res["has_more"] = false;
    res["data"] = std::move(data);
  } else {
    res = json::object{{"object", "list"}, {"data", std::move(data)}};
  }
  co_await respond_json(ctx, 200, json::serialize(res));
}

}  // namespace tollgate::gateway
