// The response cache's parts: what changes the exact key and what does not, the LRU's byte
// cap and expiry, entries round-tripping, and a stream rebuilt into the completion it carried.
#include <gtest/gtest.h>

#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "cache/backend.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/policy.h"
#include "core/resources.h"

namespace tollgate::cache {
namespace {
namespace json = boost::json;

std::string key_of(std::string_view body, std::string_view scope = "k:key_a", std::string_view alias = "gpt") {
  return exact_key(scope, alias, canonical_request(json::parse(body).as_object()));
}

constexpr std::string_view kBase =
    R"({"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10})";

TEST(CacheKey, IgnoresWhatDoesNotChangeTheAnswer) {
  const auto base = key_of(kBase);
  // Field order, stream flags, user, metadata, the model field (the alias is passed apart).
  EXPECT_EQ(base, key_of(R"({"max_tokens":10,"temperature":0,"messages":[{"content":"hi","role":"user"}],"model":"gpt"})"));
  EXPECT_EQ(base, key_of(R"({"model":"gpt","messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10,
                             "stream":true,"stream_options":{"include_usage":true},"user":"u-42","metadata":{"a":"b"},
                             "store":true,"service_tier":"auto","prompt_cache_key":"x"})"));
  EXPECT_EQ(base, key_of(R"({"model":"other","messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10})"));
  // max_tokens is max_completion_tokens; one text part is that text.
  EXPECT_EQ(base, key_of(R"({"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0,"max_completion_tokens":10})"));
}

TEST(CacheKey, ChangesWithWhatDeterminesTheAnswer) {
  const auto base = key_of(kBase);
  EXPECT_NE(base, key_of(kBase, "k:key_b"));            // another key (scope key)
  EXPECT_NE(base, key_of(kBase, "g"));                  // global scope
  EXPECT_NE(base, key_of(kBase, "k:key_a", "smart"));   // another alias
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi!"}],"temperature":0,"max_tokens":10})"));
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0.5,"max_tokens":10})"));
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":11})"));
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10,"seed":1})"));
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"system","content":"be terse"},{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10})"));
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10,
                             "tools":[{"type":"function","function":{"name":"f","parameters":{}}}]})"));
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10,"tool_choice":"none"})"));
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"max_tokens":10,"response_format":{"type":"json_object"}})"));
  // A user field inside a message is content, not the top-level `user`.
  EXPECT_NE(base, key_of(R"({"messages":[{"role":"user","content":"hi","name":"bob"}],"temperature":0,"max_tokens":10})"));
}

TEST(CachePolicy, DirectivesScopeAndEligibility) {
  EXPECT_EQ(directive_of("", ""), Directive::use);
  EXPECT_EQ(directive_of("no-cache", ""), Directive::bypass);
  EXPECT_EQ(directive_of("max-age=0, no-store", ""), Directive::bypass);
  EXPECT_EQ(directive_of("", "bypass"), Directive::bypass);
  EXPECT_EQ(directive_of("", "refresh"), Directive::refresh);

  core::Key k;
  k.id = "key_1";
  core::CachePolicy p;
  EXPECT_EQ(scope_tag(p, k), "k:key_1");
  p.scope = "team";
  EXPECT_EQ(scope_tag(p, k), "k:key_1");  // no team: the key alone
  k.team = "red";
  EXPECT_EQ(scope_tag(p, k), "t:red");
  p.scope = "global";
  EXPECT_EQ(scope_tag(p, k), "g");

  auto chat = json::parse(R"({"messages":[],"temperature":0.7,"tools":[{"type":"function"}]})").as_object();
  EXPECT_EQ(ineligible(p, chat), "");  // exact: tools and any temperature by default
  p.mode = "semantic";
  EXPECT_EQ(ineligible(p, chat), "tools");
  p.allow_tools = true;
  EXPECT_EQ(ineligible(p, chat), "temperature");
  p.max_temperature = 1;
  EXPECT_EQ(ineligible(p, chat), "");
}

bool has_error(const core::ParseResult& r, std::string_view field, std::string_view message) {
  for (const auto& e : r.errors)
    if (e.field == field && e.message.find(message) != std::string::npos) return true;
  return false;
}

TEST(CachePolicyConfig, ReadsPoliciesAndChecksEveryReference) {
  auto ok = core::parse_resources(R"(
cache_policies:
  - { name: faq, ttl_s: 60, scope: team, backend: redis, max_bytes: 4096, allow_tools: false, max_temperature: 0.5 }
models:
  - { name: m, targets: [{ provider: demo, model: x }], cache: faq }
keys:
  - { name: k, key: tg-abcdefgh12345678, cache: faq, team: red }
teams:
  - { name: red }
)", "t.yaml");
  ASSERT_TRUE(ok.ok()) << (ok.errors.empty() ? "" : ok.errors[0].to_string());
  const auto& p = ok.resources.cache_policies.at(0);
  EXPECT_EQ(p.ttl_s, 60);
  EXPECT_EQ(p.scope, "team");
  EXPECT_EQ(p.backend, "redis");
  EXPECT_EQ(p.allow_tools, false);
  EXPECT_EQ(p.max_temperature, 0.5);
  EXPECT_EQ(ok.resources.models.at(0).cache, "faq");
  EXPECT_EQ(ok.resources.keys.at(0).team, "red");

  auto bad = core::parse_resources(R"(
cache_policies:
  - { name: a, scope: world, backend: memcached, ttl_s: 0, colour: blue }
  - { name: a, mode: semantic, embedding_model: e }
  - { name: b, threshold: 0.9 }
models:
  - { name: m, targets: [{ provider: demo, model: x }], cache: nope }
)", "t.yaml");
  EXPECT_TRUE(has_error(bad, "cache_policies[0].colour", "unknown field"));
  EXPECT_TRUE(has_error(bad, "cache_policies[1].mode", "semantic is not available"));
  EXPECT_TRUE(has_error(bad, "cache_policies[2].threshold", "semantic only"));
  EXPECT_TRUE(has_error(bad, "models[0].cache", "cache policy \"nope\" is not declared"));
}

TEST(LruStore, KeepsTheMostRecentlyUsedWithinItsByteCap) {
  // 16 shards of 1 KiB: one key always lands in the same shard, so fill one shard's worth.
  LruStore lru(16 * 1024);
  const std::string value(300, 'x');
  lru.put("a", value, std::chrono::seconds(60));
  ASSERT_TRUE(lru.get("a"));
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < 200; ++i) keys.push_back("k" + std::to_string(i));
  for (const auto& k : keys) lru.put(k, value, std::chrono::seconds(60));
  EXPECT_LE(lru.bytes(), 16 * 1024);
  EXPECT_LT(lru.size(), 60u);
  EXPECT_TRUE(lru.get(keys.back()));
  EXPECT_FALSE(lru.get(keys.front()));
  // Replacing a key does not count it twice; erase frees it.
  lru.put(keys.back(), "short", std::chrono::seconds(60));
  EXPECT_EQ(*lru.get(keys.back()), "short");
  lru.erase(keys.back());
  EXPECT_FALSE(lru.get(keys.back()));
  // An entry larger than a shard is not stored (and empties nothing).
  auto before = lru.size();
  lru.put("huge", std::string(4096, 'y'), std::chrono::seconds(60));
  EXPECT_FALSE(lru.get("huge"));
  EXPECT_EQ(lru.size(), before);
}

TEST(LruStore, ExpiredEntriesAreAbsent) {
  LruStore lru(1 << 20);
  lru.put("a", "v", std::chrono::seconds(0));
  EXPECT_FALSE(lru.get("a"));
  lru.put("b", "v", std::chrono::seconds(1));
  EXPECT_TRUE(lru.get("b"));
}

TEST(CacheEntry, RoundTripsAndReplaysAsTheStreamItCameFrom) {
  auto completion = json::parse(R"({"id":"chatcmpl-1","object":"chat.completion","created":7,"model":"gpt-4o",
    "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there",
      "tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},
      "logprobs":null,"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})").as_object();
  Entry e{completion, 0.25, 1234};
  auto back = decode_entry(encode_entry(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->cost_usd, 0.25);
  EXPECT_EQ(back->completion, completion);
  EXPECT_FALSE(decode_entry("not json"));
  EXPECT_FALSE(decode_entry(R"({"v":2,"completion":{}})"));

  // completion -> stream -> tap -> the same message, finish and usage.
  AnswerTap tap(false);
  std::string sse = completion_to_sse(completion);
  // Fed in uneven pieces, as a relay would.
  for (std::size_t i = 0; i < sse.size(); i += 7) tap.on_stream(std::string_view(sse).substr(i, 7));
  core::Usage u;
  u.known = true;
  u.input_tokens = 3;
  u.output_tokens = 2;
  auto rebuilt = tap.result(u);
  ASSERT_TRUE(rebuilt);
  const auto& choice = rebuilt->at("choices").as_array()[0].as_object();
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  EXPECT_EQ(choice.at("message").at("content"), "Hello there");
  EXPECT_EQ(choice.at("message").at("tool_calls").as_array()[0].at("function").at("arguments"), "{\"a\":1}");
  EXPECT_EQ(rebuilt->at("usage").at("total_tokens"), 5);
}

TEST(CacheEntry, ACutOrErroredStreamIsNotAnAnswer) {
  AnswerTap cut(false);
  cut.on_stream("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n");
  EXPECT_FALSE(cut.result({}));
  AnswerTap errored(false);
  errored.on_stream("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":\"stop\"}]}\n\n"
                    "data: {\"error\":{\"message\":\"boom\"}}\n\n");
  EXPECT_FALSE(errored.result({}));
}

TEST(CacheEntry, AnAnthropicStreamIsStoredCanonical) {
  AnswerTap tap(true);
  tap.on_stream(
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":4,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Echo: hi\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  auto c = tap.result({});
  ASSERT_TRUE(c);
  const auto& choice = c->at("choices").as_array()[0].as_object();
  EXPECT_EQ(choice.at("message").at("content"), "Echo: hi");
  EXPECT_EQ(choice.at("finish_reason"), "stop");
}

}  // namespace
}  // namespace tollgate::cache
