// The bridge between the resource model's prices (core::Pricing) and the pricing catalog
// (obs/pricing.h): effective prices for a snapshot, and the cost of one answer.
#pragma once

#include <optional>
#include <string_view>

#include "core/resources.h"
#include "core/usage.h"

namespace tollgate::obs {

// `override_price` field by field over the catalog's price for (kind, upstream model).
core::Pricing effective_price(core::ProviderKind kind, std::string_view upstream_model,
                              const core::Pricing& override_price);

// Cost of actual usage; nullopt when usage or a needed price is unknown (never zero then).
std::optional<double> cost_of(const core::Pricing& price, const core::Usage& usage);

}  // namespace tollgate::obs
