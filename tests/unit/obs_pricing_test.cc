// The pricing catalog and the cost of one answer: exact costs from known usage (cached and
// cache-write tokens, reasoning, long-context tiers), unknown prices reported as unknown, and
// lookups of the names providers really use (dated snapshots, prefixes, aliases).
#include "obs/pricing.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace tollgate::obs {
namespace {

core::Usage usage(int64_t in, int64_t out, int64_t cached = 0, int64_t creation = 0, int64_t reasoning = 0) {
  core::Usage u;
  u.known = true;
  u.input_tokens = in;
  u.output_tokens = out;
  u.cached_input_tokens = cached;
  u.cache_creation_tokens = creation;
  u.reasoning_tokens = reasoning;
  return u;
}

Price price(std::optional<double> in, std::optional<double> out, std::optional<double> cached = {},
            std::optional<double> creation = {}) {
  Price p;
  p.input = in;
  p.output = out;
  p.cached_input = cached;
  p.cache_creation = creation;
  return p;
}

TEST(Pricing, BuiltinCatalogParsesAndIsDated) {
  const auto& cat = PricingCatalog::builtin();
  EXPECT_GT(cat.size(), 40u);
  EXPECT_EQ(cat.reviewed(), "2026-11-24");
}

TEST(Pricing, CostOfPlainUsageIsExact) {
  // gpt-4o: $2.50 in, $10 out per 1M. 1000 in + 500 out = 0.0025 + 0.005.
  auto p = PricingCatalog::builtin().find("openai", "gpt-4o");
  ASSERT_TRUE(p);
  auto c = cost_usd(*p, usage(1000, 500));
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(*c, 0.0075);
}

TEST(Pricing, CachedInputTokensAreBilledAtTheCachedRate) {
  // gpt-4o-mini: in 0.15, cached 0.075, out 0.60. 10000 prompt tokens of which 4000 cached.
  auto p = PricingCatalog::builtin().find("openai", "gpt-4o-mini");
  ASSERT_TRUE(p);
  auto c = cost_usd(*p, usage(10000, 2000, 4000));
  ASSERT_TRUE(c);
  EXPECT_NEAR(*c, (6000 * 0.15 + 4000 * 0.075 + 2000 * 0.60) / 1e6, 1e-15);
  EXPECT_NEAR(*c, 0.0024, 1e-15);
}

TEST(Pricing, AnthropicCacheReadsAndWritesEachHaveTheirRate) {
  // claude-sonnet-4-5: in 3, 5m write 3.75, read 0.30, out 15. core::Usage counts cache reads
  // and writes inside input_tokens, as the anthropic wire decoder fills it.
  auto p = PricingCatalog::builtin().find("anthropic", "claude-sonnet-4-5-20250929");
  ASSERT_TRUE(p);
  auto c = cost_usd(*p, usage(/*in*/ 100 + 20000 + 5000, /*out*/ 800, /*cached*/ 20000, /*creation*/ 5000));
  ASSERT_TRUE(c);
  EXPECT_NEAR(*c, (100 * 3.0 + 20000 * 0.30 + 5000 * 3.75 + 800 * 15.0) / 1e6, 1e-15);
  EXPECT_NEAR(*c, 0.03705, 1e-15);
}

TEST(Pricing, ReasoningTokensAreOutputUnlessPricedApart) {
  auto p = price(1.0, 4.0);
  auto c = cost_usd(p, usage(1000, 3000, 0, 0, 2500));
  ASSERT_TRUE(c);
  EXPECT_NEAR(*c, (1000 * 1.0 + 3000 * 4.0) / 1e6, 1e-15);
  p.reasoning = 2.0;
  c = cost_usd(p, usage(1000, 3000, 0, 0, 2500));
  ASSERT_TRUE(c);
  EXPECT_NEAR(*c, (1000 * 1.0 + 500 * 4.0 + 2500 * 2.0) / 1e6, 1e-15);
}

TEST(Pricing, LongContextTierAppliesToTheWholeRequestAboveTheThreshold) {
  auto p = PricingCatalog::builtin().find("gemini", "gemini-2.5-pro");
  ASSERT_TRUE(p);
  auto at = cost_usd(*p, usage(200000, 1000));
  ASSERT_TRUE(at);
  EXPECT_NEAR(*at, (200000 * 1.25 + 1000 * 10.0) / 1e6, 1e-12);
  auto above = cost_usd(*p, usage(200001, 1000));
  ASSERT_TRUE(above);
  EXPECT_NEAR(*above, (200001 * 2.50 + 1000 * 15.0) / 1e6, 1e-12);
}

TEST(Pricing, UnknownPriceIsUnknownNeverZero) {
  // No cached rate: a request that read from the cache has no known cost...
  auto p = price(1.25, 10.0);
  EXPECT_FALSE(cost_usd(p, usage(1000, 10, 500)));
  // ...while one that did not is priced.
  EXPECT_TRUE(cost_usd(p, usage(1000, 10)));
  // No output rate with output tokens: unknown.
  EXPECT_FALSE(cost_usd(price(0.02, std::nullopt), usage(10, 5)));
  // An embedding (no output tokens) needs no output rate.
  auto e = cost_usd(*PricingCatalog::builtin().find("openai", "text-embedding-3-small"), usage(5000, 0));
  ASSERT_TRUE(e);
  EXPECT_NEAR(*e, 0.0001, 1e-15);
  // Usage the provider never reported is not zero tokens.
  core::Usage none;
  EXPECT_FALSE(cost_usd(price(1, 1, 1, 1), none));
  // An empty price prices nothing.
  EXPECT_FALSE(cost_usd(Price{}, usage(1, 1)));
  // Gemini 2.5 context-cache reads are not in the catalog: unknown, not free.
  EXPECT_FALSE(cost_usd(*PricingCatalog::builtin().find("gemini", "gemini-2.5-flash"), usage(1000, 10, 600)));
}

TEST(Pricing, ZeroUsageCostsZero) {
  auto c = cost_usd(price(1, 1), usage(0, 0));
  ASSERT_TRUE(c);
  EXPECT_EQ(*c, 0.0);
}

TEST(Pricing, FindsDatedSnapshotsAndPrefixedNames) {
  const auto& cat = PricingCatalog::builtin();
  auto gpt4o = cat.find("openai", "gpt-4o");
  ASSERT_TRUE(gpt4o);
  EXPECT_EQ(cat.find("openai", "gpt-4o-2024-08-06"), gpt4o);
  EXPECT_EQ(cat.find("openai", "GPT-4o"), gpt4o);
  EXPECT_EQ(cat.find("openai", "openai/gpt-4o"), gpt4o);
  EXPECT_EQ(cat.find("openai", "chatgpt-4o-latest"), gpt4o);
  // A longer name is another model, never its prefix's price.
  auto mini = cat.find("openai", "gpt-4o-mini-2024-07-18");
  ASSERT_TRUE(mini);
  EXPECT_EQ(mini->input, 0.15);
  EXPECT_FALSE(cat.find("openai", "gpt-4o-audio-preview"));
  EXPECT_FALSE(cat.find("openai", "gpt-4o-realtime-preview-2024-12-17"));
  EXPECT_EQ(cat.find("openai", "o4-mini-2025-04-16")->output, 4.40);
  EXPECT_EQ(cat.find("openai", "gpt-5-mini-2025-08-07")->cached_input, 0.025);
  // Fine-tunes are priced per organisation.
  EXPECT_FALSE(cat.find("openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123"));

  EXPECT_EQ(cat.find("anthropic", "claude-3-5-haiku-20241022")->input, 0.80);
  EXPECT_EQ(cat.find("anthropic", "claude-3-5-haiku-latest")->input, 0.80);
  EXPECT_EQ(cat.find("anthropic", "claude-3-5-haiku@20241022")->input, 0.80);
  EXPECT_EQ(cat.find("anthropic", "claude-opus-4-0")->output, 75.0);
  EXPECT_EQ(cat.find("anthropic", "claude-opus-4-20250514")->output, 75.0);
  EXPECT_EQ(cat.find("anthropic", "claude-opus-4-1-20250805")->output, 75.0);
  EXPECT_EQ(cat.find("anthropic", "claude-opus-4-5-20251101")->output, 25.0);
  EXPECT_EQ(cat.find("anthropic", "claude-haiku-4-5-20251001")->cache_creation, 1.25);

  EXPECT_EQ(cat.find("gemini", "models/gemini-2.5-flash")->output, 2.50);
  EXPECT_EQ(cat.find("gemini", "gemini-2.5-flash-lite")->output, 0.40);
  EXPECT_FALSE(cat.find("gemini", "gemini-2.5-flash-preview-09-2025"));  // previews may differ

  EXPECT_EQ(cat.find("azure", "gpt-4o-2024-11-20")->input, 2.50);
  EXPECT_EQ(cat.find("azure", "gpt-4.1-nano")->cached_input, 0.03);
  // The catalog is per provider kind: the same name elsewhere is not assumed.
  EXPECT_FALSE(cat.find("anthropic", "gpt-4o"));
  EXPECT_FALSE(cat.find("openai-compatible", "gpt-4o"));
  EXPECT_FALSE(cat.find("openai", "no-such-model"));
  EXPECT_FALSE(cat.find("openai", ""));
}

TEST(Pricing, OverrideWinsFieldByField) {
  auto cat = *PricingCatalog::builtin().find("openai", "gpt-4o");
  Price o;
  o.input = 2.0;  // a negotiated input rate
  auto m = merge(o, cat);
  EXPECT_EQ(m.input, 2.0);
  EXPECT_EQ(m.output, 10.0);
  EXPECT_EQ(m.cached_input, 1.25);
  EXPECT_EQ(merge(Price{}, cat), cat);
  EXPECT_EQ(merge(cat, Price{}), cat);
}

TEST(Pricing, PriceJsonRoundTripsAndRejectsNonsense) {
  auto v = boost::json::parse(
      R"({"input":1.5,"output":6,"cached_input":0.15,"long_context":{"above_input_tokens":200000,"input":3}})");
  std::string err;
  auto p = price_from_json(v, &err);
  ASSERT_TRUE(p) << err;
  EXPECT_EQ(p->input, 1.5);
  EXPECT_EQ(p->output, 6.0);
  ASSERT_TRUE(p->long_context);
  EXPECT_EQ(p->long_context->above_input_tokens, 200000);
  EXPECT_EQ(price_from_json(price_to_json(*p)), p);

  EXPECT_FALSE(price_from_json(boost::json::parse(R"({"input":-1})"), &err));
  EXPECT_FALSE(price_from_json(boost::json::parse(R"({"input":"cheap"})"), &err));
  EXPECT_FALSE(price_from_json(boost::json::parse(R"({"inptu":1})"), &err));
  EXPECT_NE(err.find("inptu"), std::string::npos);
  EXPECT_FALSE(price_from_json(boost::json::parse(R"({"long_context":{"input":1}})"), &err));
  EXPECT_FALSE(price_from_json(boost::json::parse(R"([1])"), &err));
}

TEST(Pricing, CatalogParseNamesTheBadEntry) {
  try {
    PricingCatalog::parse(R"({"providers":{"openai":{"models":{"gpt-x":{"input":"x"}}}}})");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("openai/gpt-x"), std::string::npos);
  }
  EXPECT_THROW(PricingCatalog::parse(R"({"providers":{"openai":{"models":{},"aliases":{"a":"b"}}}})"),
               std::invalid_argument);
  EXPECT_THROW(PricingCatalog::parse("not json"), std::invalid_argument);
}

}  // namespace
}  // namespace tollgate::obs
