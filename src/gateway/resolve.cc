// Phase 4, resolve: the alias the caller named -> a model and a target. "provider/model"
// addresses a provider's model directly (how providers picked up from the environment are
// reached without declaring an alias).
#include <fmt/format.h>

#include "gateway/phases.h"
#include "obs/cost.h"

namespace tollgate::gateway {
using core::ErrorKind;
using core::GatewayError;

bool key_allows(const core::Key& key, std::string_view alias) {
  if (key.models.empty()) return true;
  for (const auto& m : key.models) {
    if (m == "*" || m == alias) return true;
    // "openai/*" allows every model of provider openai addressed directly.
    if (m.size() > 2 && m.ends_with("/*") && alias.starts_with(std::string_view(m).substr(0, m.size() - 1)))
      return true;
  }
  return false;
}

std::optional<GatewayError> resolve(RequestContext& ctx) {
  const std::string& alias = ctx.facts.model;
  auto not_found = [&] {
    return GatewayError::make(
        ErrorKind::not_found,
        fmt::format("The model `{}` does not exist or you do not have access to it.", alias),
        "model_not_found", "model");
  };

  if (const auto* m = ctx.snapshot->model(alias)) {
    if (m->targets.empty()) return not_found();
    ctx.model = m;
    // Targets are sorted by priority; the routing strategies pick among them later.
    ctx.target = m->targets.front();
  } else if (auto slash = alias.find('/'); slash != std::string::npos && slash > 0) {
    const auto* p = ctx.snapshot->provider(std::string_view(alias).substr(0, slash));
    if (!p || slash + 1 == alias.size()) return not_found();
    // Direct addressing: the stats lookup takes the registry's lock, once per such request.
    std::string upstream = alias.substr(slash + 1);
    auto* stats = core::target_stats_for(p->spec.name, upstream);
    auto price = obs::effective_price(p->spec.kind, upstream, {});
    ctx.target = core::CompiledTarget{p, std::move(upstream), 1, 0, stats, std::move(price)};
  } else {
    return not_found();
  }

  if (!key_allows(*ctx.key, alias)) {
    // Refused before any target is involved: no provider in the records, no span.
    ctx.target.reset();
    ctx.model = nullptr;
    return GatewayError::make(
        ErrorKind::permission,
        fmt::format("This API key is not allowed to use the model `{}`.", alias),
        "model_not_allowed", "model");
  }
  return std::nullopt;
}

}  // namespace tollgate::gateway
