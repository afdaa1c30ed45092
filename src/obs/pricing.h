// Token prices and the cost of one answer. The gateway ships a reviewed catalog
// (obs/pricing/catalog.json.inc, embedded in the binary); a model or target in the resources
// may override it. A price that is not known is nullopt all the way through: a request whose
// cost cannot be computed is reported as unknown, never as zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/fwd.hpp>

#include "core/usage.h"

namespace tollgate::obs {

// USD per 1M tokens, by kind of token. Every field is optional: absent means "not known"
// (or, for reasoning, "billed as output").
struct Price {
  std::optional<double> input;           // prompt tokens not read from or written to a cache
  std::optional<double> output;          // completion tokens (reasoning included unless below)
  std::optional<double> cached_input;    // prompt tokens read from the provider's cache
  std::optional<double> cache_creation;  // prompt tokens written to the cache (Anthropic, 5-minute TTL)
  std::optional<double> reasoning;       // only where reasoning is priced apart from output

  // Some models bill every token of a request at higher rates once its prompt (all input
  // tokens, cached ones included) passes a threshold: Gemini 2.5 Pro above 200k, Claude
  // Sonnet 4/4.5 with the 1M context above 200k. Rates left out of the tier are unknown.
  struct LongContext {
    int64_t above_input_tokens = 0;
    std::optional<double> input, output, cached_input, cache_creation, reasoning;
    bool operator==(const LongContext&) const = default;
  };
  std::optional<LongContext> long_context;

  bool operator==(const Price&) const = default;
};

// `override_price`'s fields where set, the catalog's otherwise (field by field, so an override
// of `input` alone keeps the catalog's cached and output rates). The long-context tier comes
// whole from the override when it has one, else from the catalog.
Price merge(const Price& override_price, const Price& catalog);

// The cost of one answer from its actual usage (core::Usage: input includes cached and
// cache-creation tokens, output includes reasoning tokens). nullopt when usage is unknown or
// a kind of token that was used has no price.
std::optional<double> cost_usd(const Price& price, const core::Usage& usage);

// Reads a price object ({"input": 2.5, "output": 10, "cached_input": 1.25, ...,
// "long_context": {"above_input_tokens": 200000, "input": ...}}). Unknown members, negative or
// non-numeric rates are errors; nullopt with `error` set then.
std::optional<Price> price_from_json(const boost::json::value& v, std::string* error = nullptr);
boost::json::value price_to_json(const Price& p);

class PricingCatalog {
 public:
  // The catalog built into the binary. Parsed once, on first use; a malformed built-in
  // catalog is a build defect (the unit tests parse it), so this aborts loudly then.
  static const PricingCatalog& builtin();

  // Parses a catalog document (the format of obs/pricing/catalog.json.inc). Throws
  // std::invalid_argument naming the offending entry.
  static PricingCatalog parse(std::string_view json);

  // The price of `upstream_model` as served by a provider of `provider_kind` ("openai",
  // "azure", "anthropic", "gemini"; other kinds have no catalog and get nullopt). Handles the
  // ways one model is named: case, a "models/" or "<kind>/" prefix, dated snapshots
  // (gpt-4o-2024-08-06, claude-sonnet-4-5-20250929, claude-3-5-haiku@20241022), "-latest" and
  // numbered versions (gemini-1.5-pro-002). Never matches a bare prefix: gpt-4o-mini is not
  // gpt-4o, and a fine-tuned "ft:..." model has no catalog price.
  std::optional<Price> find(std::string_view provider_kind, std::string_view upstream_model) const;

  // What the catalog knows of a model's limits (entries may carry "max_output_tokens" and
  // "context_window" beside their rates); 0 where it does not. Names are matched as find() does.
  struct ModelLimits {
    int64_t max_output_tokens = 0;
    int64_t context_window = 0;
  };
  ModelLimits limits(std::string_view provider_kind, std::string_view upstream_model) const;

  std::size_t size() const { return prices_.size(); }
  const std::string& reviewed() const { return reviewed_; }  // date the catalog was checked

 private:
  std::string reviewed_;
  std::unordered_map<std::string, Price> prices_;  // "kind\x1fmodel" -> price
  std::unordered_map<std::string, ModelLimits> limits_;  // same keys
};

}  // namespace tollgate::obs
