// The response cache's parts: what changes the exact key and what does not, the LRU's byte
// cap and expiry, entries round-tripping, a stream rebuilt into the completion it carried, and
// the semantic cache's partitions and index.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "cache/backend.h"
#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/policy.h"
#include "cache/semantic.h"
#include "core/resources.h"
#include "dialects/anthropic/prompt_caching.h"

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
  k.edit_rules().team = "red";
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
  EXPECT_EQ(ok.resources.keys.at(0).rules().team, "red");

  auto bad = core::parse_resources(R"(
cache_policies:
  - { name: a, scope: world, backend: memcached, ttl_s: 0, colour: blue }
  - { name: a, mode: semantic, embedding_model: e }
  - { name: b, threshold: 0.9 }
models:
  - { name: m, targets: [{ provider: demo, model: x }], cache: nope }
)", "t.yaml");
  EXPECT_TRUE(has_error(bad, "cache_policies[0].colour", "unknown field"));
  EXPECT_TRUE(has_error(bad, "cache_policies[1].name", "declared twice"));
  EXPECT_TRUE(has_error(bad, "cache_policies[1].embedding_model", "model \"e\" is not declared"));
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
  AnswerTap tap(AnswerShape::openai_chat);
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
  AnswerTap cut(AnswerShape::openai_chat);
  cut.on_stream("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n");
  EXPECT_FALSE(cut.result({}));
  AnswerTap errored(AnswerShape::openai_chat);
  errored.on_stream("data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":\"stop\"}]}\n\n"
                    "data: {\"error\":{\"message\":\"boom\"}}\n\n");
  EXPECT_FALSE(errored.result({}));
}

TEST(CacheEntry, AnAnthropicStreamIsStoredCanonical) {
  AnswerTap tap(AnswerShape::anthropic);
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

TEST(Semantic, ThePartitionIsEverythingButTheLastUserMessagesWording) {
  auto query = [](std::string_view body, std::string_view scope = "k:a") {
    return semantic_query(scope, "gpt", "embed", json::parse(body).as_object());
  };
  auto q = query(R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"capital of france?"}],"max_tokens":9})");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->text, "capital of france?");
  auto same = query(R"({"max_tokens":9,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"France: its capital?"}]}]})");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->partition, q->partition);
  EXPECT_EQ(same->text, "France: its capital?");
  for (std::string_view other : {
           R"({"messages":[{"role":"system","content":"be long"},{"role":"user","content":"capital of france?"}],"max_tokens":9})",
           R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"capital of france?"}],"max_tokens":9,"tools":[{"type":"function"}]})",
           R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"capital of france?"}],"max_tokens":10})"}) {
    auto o = query(other);
    ASSERT_TRUE(o);
    EXPECT_NE(o->partition, q->partition) << other;
  }
  EXPECT_NE(query(R"({"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"capital of france?"}],"max_tokens":9})", "k:b")->partition,
            q->partition);
  // Nothing to compare: the last turn is not a user's text.
  EXPECT_FALSE(query(R"({"messages":[{"role":"assistant","content":"hi"}]})"));
  EXPECT_FALSE(query(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})"));
  EXPECT_FALSE(query(R"({"messages":[{"role":"user","content":"  "}]})"));
  EXPECT_FALSE(query(R"({"messages":[]})"));
}

// A backend whose log is shared, as Redis's is between replicas.
class SharedLog final : public Backend {
 public:
  std::optional<std::string> get(const std::string& key) override {
    auto it = values.find(key);
    return it == values.end() ? std::nullopt : std::optional(it->second);
  }
  void put(const std::string& key, std::string value, std::chrono::seconds) override { values[key] = std::move(value); }
  void erase(const std::string& key) override { values.erase(key); }
  void log_add(const std::string& partition, const std::string& key, std::chrono::seconds, int64_t) override {
    log.push_back({partition, key});
  }
  std::vector<std::pair<std::string, int64_t>> log_since(const std::string& partition, int64_t after) override {
    std::vector<std::pair<std::string, int64_t>> out;
    for (int64_t i = after; i < static_cast<int64_t>(log.size()); ++i)
      if (log[i].first == partition) out.emplace_back(log[i].second, i + 1);
    return out;
  }
  std::map<std::string, std::string> values;
  std::vector<std::pair<std::string, std::string>> log;
};

std::vector<float> unit(std::vector<float> v) {
  EXPECT_TRUE(normalize(v));
  return v;
}

constexpr int64_t kNow = 1'000'000, kLater = kNow + 3'600'000;

TEST(Semantic, TheIndexFindsTheNearestAboveTheThresholdWithinItsPartition) {
  SemanticIndex index;
  auto a = unit({1, 0, 0, 0}), b = unit({0, 1, 0, 0}), near_a = unit({1, 0.2f, 0, 0});
  index.add("p", "a", a, kLater, kNow);
  index.add("p", "b", b, kLater, kNow);
  index.add("q", "other", near_a, kLater, kNow);
  auto found = index.nearest("p", near_a, 0.9, kNow);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].key, "a");
  EXPECT_NEAR(found[0].similarity, 1 / std::sqrt(1.04), 1e-6);
  EXPECT_TRUE(index.nearest("p", unit({1, 1, 1, 1}), 0.9, kNow).empty());  // 0.5 from both
  EXPECT_TRUE(index.nearest("r", near_a, 0.5, kNow).empty());
  EXPECT_TRUE(index.nearest("p", unit({1, 0, 0}), 0.5, kNow).empty());  // another size
  index.forget("p", "a");
  found = index.nearest("p", near_a, 0.1, kNow);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].key, "b");
  // Past kGraphFrom entries a partition is searched through its HNSW graph, which grows.
  auto around = [](int i) { return unit({std::cos(i * 0.001f), std::sin(i * 0.001f), 0, 0}); };
  const int big = 3 * SemanticIndex::kGraphFrom;
  for (int i = 0; i < big; ++i) index.add("big", "k" + std::to_string(i), around(i), kLater, kNow);
  EXPECT_EQ(index.size(), big + 2u);
  found = index.nearest("big", around(big - 1), 0.9999999, kNow);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].key, "k" + std::to_string(big - 1));
  std::vector<float> zero{0, 0, 0};
  EXPECT_FALSE(normalize(zero));
}

// What leaves the index (TTL passed, over the cap, forgotten) is never matched again, and its
// memory is given back: emptied partitions go, mostly-removed ones are rebuilt smaller.
TEST(Semantic, ExpiredAndEvictedEntriesAreNotMatchedAndTheirMemoryComesBack) {
  SemanticIndex index(2 * SemanticIndex::kGraphFrom);
  const std::size_t empty = index.bytes();
  auto v = [](int i) { return unit({std::cos(i * 0.001f), std::sin(i * 0.001f), 0, 1}); };
  // TTL: "soon" expires at kNow + 1000; "late" an hour later.
  index.add("p", "soon", v(0), kNow + 1000, kNow);
  index.add("p", "late", v(500), kLater, kNow);
  EXPECT_EQ(index.nearest("p", v(0), 0.99999, kNow + 999).at(0).key, "soon");
  auto found = index.nearest("p", v(0), 0.5, kNow + 1000);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].key, "late");
  EXPECT_EQ(index.size(), 1u);
  index.add("p", "already-expired", v(1), kNow, kNow + 1);  // stored past its time: not kept
  EXPECT_EQ(index.size(), 1u);

  // Many short conversations, each its own partition: when they expire, nothing stays.
  for (int i = 0; i < 1000; ++i) index.add("c" + std::to_string(i), "k", v(i), kNow + 5000, kNow);
  EXPECT_EQ(index.partitions(), 1001u);
  const std::size_t full = index.bytes();
  EXPECT_GT(full, empty + 1000 * 4 * sizeof(float));
  EXPECT_TRUE(index.nearest("c7", v(7), 0.5, kNow + 5000).empty());
  EXPECT_EQ(index.partitions(), 1u);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_LT(index.bytes(), empty + 1024);

  // The cap: a partition large enough for a graph, then more than the cap; the soonest to
  // expire leave first and are not matched.
  const int cap = 2 * SemanticIndex::kGraphFrom, n = cap + 100;
  for (int i = 0; i < n; ++i) index.add("big", "b" + std::to_string(i), v(1000 + i), kLater + i, kNow);
  EXPECT_EQ(index.size(), std::size_t(cap));
  found = index.nearest("big", v(1000), 0.5, kNow);
  ASSERT_FALSE(found.empty());
  for (const auto& m : found) EXPECT_GE(std::stoi(m.key.substr(1)), n - cap) << m.key;  // "late" and b0..b99 left
  EXPECT_TRUE(index.nearest("p", v(500), 0.5, kNow).empty());
  // Forgetting most of the big partition rebuilds it without the removed: fewer bytes, the
  // rest still found.
  const std::size_t before = index.bytes();
  for (int i = n - cap; i < n - 10; ++i) index.forget("big", "b" + std::to_string(i));
  EXPECT_EQ(index.size(), 10u);
  EXPECT_LT(index.bytes(), before / 10);
  found = index.nearest("big", v(1000 + n - 1), 0.99999, kNow);
  ASSERT_FALSE(found.empty());
  EXPECT_EQ(found[0].key, "b" + std::to_string(n - 1));
  // All expired: the index holds no more than when it was new.
  index.nearest("big", v(0), 0.5, kLater + n);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.partitions(), 0u);
  EXPECT_EQ(index.bytes(), empty);
}

TEST(Semantic, AnIndexLearnsWhatAnotherStoredThroughTheBackendsLog) {
  SharedLog backend;
  SemanticIndex writer, reader;
  Entry e;
  e.completion = json::parse(R"({"choices":[]})").as_object();
  e.embedding = {3, 4, 0};  // stored as given; the reader scales it
  e.stored_at_ms = kNow;
  const auto ttl = std::chrono::seconds(60);
  backend.put("k1", encode_entry(e), ttl);
  backend.log_add("p", "k1", ttl, 100);
  writer.add("p", "k1", unit(e.embedding), kNow + 60'000, kNow);
  backend.log_add("p", "gone", ttl, 100);  // logged, then expired
  reader.catch_up("p", backend, ttl, kNow + 1);
  auto found = reader.nearest("p", unit({3, 4, 0.1f}), 0.99, kNow + 1);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].key, "k1");
  EXPECT_EQ(reader.size(), 1u);
  reader.catch_up("p", backend, ttl, kNow + 2);  // nothing new
  EXPECT_EQ(reader.size(), 1u);
  // Learned entries expire with the time they were stored, not when they were learned.
  EXPECT_TRUE(reader.nearest("p", unit({3, 4, 0}), 0.5, kNow + 60'000).empty());
  SemanticIndex late;
  late.catch_up("p", backend, ttl, kNow + 60'000);
  EXPECT_EQ(late.size(), 0u);
}

TEST(CacheEntry, TheEmbeddingRoundTripsExactlyAndABadOneIsRefused) {
  Entry e;
  e.completion = json::parse(R"({"id":"x","choices":[]})").as_object();
  e.embedding = {0.1f, -2.5f, 3e-7f, 1, 0.333333f};
  auto back = decode_entry(encode_entry(e));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->embedding, e.embedding);
  EXPECT_FALSE(decode_entry(R"({"v":1,"completion":{},"embedding":"abc"})"));
  EXPECT_FALSE(decode_entry(R"({"v":1,"completion":{},"embedding":7})"));
  EXPECT_FALSE(decode_entry(R"({"v":1,"completion":{},"embedding":""})"));  // found by the fuzzer
  EXPECT_FALSE(decode_entry(R"({"v":1,"completion":{},"embedding":"AAAAAAAA"})"));  // 6 bytes: not floats
  EXPECT_FALSE(decode_entry(R"({"v":1,"completion":{},"embedding":"AACAfw=="})"));  // +inf
}

TEST(PromptCaching, BreakpointsAfterTheSystemPromptAndTheToolsUnlessTheCallerSetAny) {
  namespace anthropic = dialects::anthropic;
  auto messages = json::parse(R"({"system":"be brief","tools":[{"name":"a"},{"name":"b"}],
                                  "messages":[{"role":"user","content":"hi"}]})").as_object();
  ASSERT_TRUE(anthropic::add_cache_breakpoints(messages));
  EXPECT_EQ(json::serialize(messages["system"]), R"([{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}])");
  EXPECT_FALSE(messages["tools"].as_array()[0].as_object().contains("cache_control"));
  EXPECT_TRUE(messages["tools"].as_array()[1].as_object().contains("cache_control"));
  // Marked already (by us or the caller): left alone.
  auto again = messages;
  EXPECT_FALSE(anthropic::add_cache_breakpoints(again));
  EXPECT_EQ(again, messages);
  auto own = json::parse(R"({"system":[{"type":"text","text":"a"},{"type":"text","text":"b"}],
                             "messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]})").as_object();
  auto own_before = own;
  EXPECT_FALSE(anthropic::add_cache_breakpoints(own));
  EXPECT_EQ(own, own_before);
  auto nothing = json::parse(R"({"messages":[{"role":"user","content":"hi"}]})").as_object();
  EXPECT_FALSE(anthropic::add_cache_breakpoints(nothing));

  auto chat = json::parse(R"({"messages":[{"role":"system","content":"a"},{"role":"developer","content":"b"},
                              {"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]})").as_object();
  ASSERT_TRUE(anthropic::add_canonical_cache_breakpoints(chat));
  EXPECT_FALSE(chat["messages"].as_array()[0].as_object().contains("cache_control"));
  EXPECT_TRUE(chat["messages"].as_array()[1].as_object().contains("cache_control"));
  EXPECT_TRUE(chat["tools"].as_array()[0].as_object().contains("cache_control"));
  auto marked = json::parse(R"({"messages":[{"role":"system","content":"a"},{"role":"user","content":"hi"}],
                                "tools":[{"type":"function","function":{"name":"f","cache_control":{"type":"ephemeral"}}}]})").as_object();
  EXPECT_FALSE(anthropic::add_canonical_cache_breakpoints(marked));
  EXPECT_TRUE(anthropic::is_bedrock_claude("us.anthropic.claude-3-5-sonnet-20240620-v1:0"));
  EXPECT_FALSE(anthropic::is_bedrock_claude("amazon.nova-pro-v1:0"));
}

}  // namespace
}  // namespace tollgate::cache
