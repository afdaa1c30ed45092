#include "obs/cost.h"

#include "obs/pricing.h"

namespace tollgate::obs {
namespace {

Price to_price(const core::Pricing& p) {
  Price out;
  out.input = p.input;
  out.output = p.output;
  out.cached_input = p.cached_input;
  out.cache_creation = p.cache_creation;
  out.reasoning = p.reasoning;
  return out;
}

}  // namespace

core::Pricing effective_price(core::ProviderKind kind, std::string_view upstream_model,
                              const core::Pricing& override_price) {
  auto catalog = PricingCatalog::builtin().find(core::to_string(kind), upstream_model);
  Price merged = catalog ? merge(to_price(override_price), *catalog) : to_price(override_price);
  core::Pricing out;
  out.input = merged.input;
  out.output = merged.output;
  out.cached_input = merged.cached_input;
  out.cache_creation = merged.cache_creation;
  out.reasoning = merged.reasoning;
  return out;
}

std::optional<double> cost_of(const core::Pricing& price, const core::Usage& usage) {
  return cost_usd(to_price(price), usage);
}

}  // namespace tollgate::obs
