// GET /v1beta/models and /v1beta/models/{m}: the aliases this key may call, in Gemini's shape.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/gemini/inbound.h"
#include "gateway/phases.h"

namespace tollgate::gateway {
namespace json = boost::json;

// Every alias at once: no paging (no nextPageToken).
boost::asio::awaitable<void> list_gemini_models(RequestContext& ctx) {
  if (ctx.route == Route::gemini_model) {
    std::string_view path = ctx.ex.target().substr(0, ctx.ex.target().find('?'));
    std::string alias(path.substr(path.rfind("/models/") + 8));
    const auto* m = ctx.snapshot->model(alias);
    if (!m || !key_allows(*ctx.key, ctx.team, alias)) {
      auto e = core::GatewayError::make(core::ErrorKind::not_found,
                                        fmt::format("models/{} is not found.", alias), "model_not_found");
      co_await respond_error(ctx, e);
      co_return;
    }
    co_await respond_json(ctx, 200, json::serialize(dialects::gemini::model_entry(alias)));
    co_return;
  }
  json::array models;
  for (const auto& m : ctx.snapshot->models())
    if (key_allows(*ctx.key, ctx.team, m.spec.name)) models.push_back(dialects::gemini::model_entry(m.spec.name));
  json::object res{{"models", std::move(models)}};
  co_await respond_json(ctx, 200, json::serialize(res));
}

}  // namespace tollgate::gateway
