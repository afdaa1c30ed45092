// GET /v1/models: the aliases this key may call, in OpenAI's list shape.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/phases.h"

namespace tollgate::gateway {
namespace json = boost::json;

boost::asio::awaitable<void> list_models(RequestContext& ctx) {
  json::array data;
  for (const auto& m : ctx.snapshot->models()) {
    if (!key_allows(*ctx.key, m.spec.name)) continue;
    data.push_back(json::object{{"id", m.spec.name},
                                {"object", "model"},
                                {"created", ctx.gateway.started_unix},
                                {"owned_by", m.targets.empty() ? std::string("tollgate")
                                                               : m.targets.front().provider->spec.name}});
  }
  json::object res{{"object", "list"}, {"data", std::move(data)}};
  co_await respond_json(ctx, 200, json::serialize(res));
}

}  // namespace tollgate::gateway
