// Objects that several kinds carry: traffic limits, budgets, prices.
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Field limits_field(std::string name) {
  auto limit = [](const char* n, const char* what) { return integer(n, 1, 1125899906842624).doc(what); };
  return object(std::move(name), {limit("rpm", "requests per minute"), limit("rpd", "requests per day"),
                                  limit("tpm", "tokens per minute"), limit("tpd", "tokens per day"),
                                  limit("concurrency", "requests in flight")})
      .named("Limits")
      .doc("traffic limits; an absent one is no limit");
}

Field budget_field(std::string name) {
  return object(std::move(name),
                {number("usd_per_day", 0, 1e12).doc("UTC day"), number("usd_per_month", 0, 1e12).doc("UTC month"),
                 number("usd_total", 0, 1e12), one_of("mode", {"hard", "warn"}).dflt("\"hard\"")
                     .doc("hard: refuse once spent; warn: admit, flag and log")})
      .named("Budget")
      .doc("spending caps in USD, from the cost of actual usage");
}

Field pricing_field(std::string name) {
  auto price = [](const char* n) { return number(n, 0, 1e6); };
  return object(std::move(name), {price("input"), price("output"), price("cached_input"),
                                  price("cache_creation"), price("reasoning")})
      .named("Pricing")
      .doc("USD per 1M tokens; overrides the catalog; an absent price is unknown, never zero");
}

}  // namespace tollgate::core::schema
