// The compiled snapshot the request path reads: lookups, endpoints parsed once, and the
// holder that swaps snapshots under running threads.
#include "core/snapshot.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>
#include <vector>

namespace tollgate::core {
namespace {

Resources sample() {
  Resources r;
  Provider openai;
  openai.name = "openai-main";
  openai.kind = ProviderKind::openai;
  openai.api_key = "sk-1";
  r.providers.push_back(openai);
  Provider local;
  local.name = "local";
  local.kind = ProviderKind::openai_compatible;
  local.base_url = "http://127.0.0.1:11434/v1/";
  r.providers.push_back(local);
  Provider claude;
  claude.name = "claude";
  claude.kind = ProviderKind::anthropic;
  claude.api_key = "sk-ant";
  r.providers.push_back(claude);

  Model smart;
  smart.name = "smart";
  smart.strategy = "fallback";
  smart.targets = {{"openai-main", "gpt-4o", 2, 0}, {"claude", "claude-sonnet-4-5", 1, 1}};
  r.models.push_back(smart);

  Key k;
  k.id = "key_0123456789ab";
  k.name = "team-a";
  k.hash_hex = std::string(64, 'a');
  r.keys.push_back(k);
  return r;
}

// A SHA-256 hex digest's shape (digits spread over the whole string), without hashing.
std::string store_like_hash(int i) {
  std::string out;
  uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
  while (out.size() < 64) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    out.push_back("0123456789abcdef"[x & 15]);
  }
  return out;
}

TEST(Snapshot, LooksUpProvidersModelsAndKeys) {
  auto s = Snapshot::build(sample(), 7);
  EXPECT_EQ(s->version(), 7u);

  const CompiledProvider* openai = s->provider("openai-main");
  ASSERT_NE(openai, nullptr);
  EXPECT_EQ(openai->spec.base_url, "https://api.openai.com/v1");  // the kind's default, filled in
  EXPECT_EQ(openai->endpoint.host, "api.openai.com");
  EXPECT_EQ(openai->endpoint.port, 443);
  EXPECT_TRUE(openai->endpoint.tls);
  EXPECT_EQ(openai->endpoint.path_prefix, "/v1");
  EXPECT_EQ(openai->authorization, "Bearer sk-1");
  EXPECT_EQ(s->resources().providers[0].base_url, "");  // the declared resources stay as given

  const CompiledProvider* local = s->provider("local");
  ASSERT_NE(local, nullptr);
  EXPECT_EQ(local->endpoint.host_header, "127.0.0.1:11434");
  EXPECT_EQ(local->endpoint.path_prefix, "/v1");
  EXPECT_FALSE(local->endpoint.tls);
  EXPECT_EQ(local->authorization, "");  // no key, no header

  // Anthropic carries its key in x-api-key, not in Authorization.
  EXPECT_EQ(s->provider("claude")->authorization, "");
  EXPECT_EQ(s->provider("claude")->endpoint.host, "api.anthropic.com");

  const CompiledModel* smart = s->model("smart");
  ASSERT_NE(smart, nullptr);
  ASSERT_EQ(smart->targets.size(), 2u);
  EXPECT_EQ(smart->targets[0].provider, openai);
  EXPECT_EQ(smart->targets[0].upstream_model, "gpt-4o");
  EXPECT_EQ(smart->targets[0].weight, 2u);
  EXPECT_EQ(smart->targets[1].provider, s->provider("claude"));
  EXPECT_EQ(smart->targets[1].priority, 1u);

  const Key* key = s->key_by_hash(std::string(64, 'a'));
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->name, "team-a");

  EXPECT_EQ(s->provider("nope"), nullptr);
  EXPECT_EQ(s->model("nope"), nullptr);
  EXPECT_EQ(s->key_by_hash(std::string(64, 'b')), nullptr);
  EXPECT_EQ(s->models().size(), 1u);
  EXPECT_EQ(s->providers().size(), 3u);
}

// Hex digits that differ only after the first 16 land in the same slot: the table probes on.
std::string hash_for(int i) {
  char tail[17];
  std::snprintf(tail, sizeof tail, "%016x", i);
  return std::string(48, '0') + tail;
}

TEST(Snapshot, FindsEachOfManyKeysByHashAndNoOther) {
  Resources r = sample();
  r.keys.clear();
  for (int i = 0; i < 5000; ++i) {
    Key k;
    k.name = "k" + std::to_string(i);
    k.hash_hex = i % 2 ? hash_for(i) : store_like_hash(i);
    r.keys.push_back(std::move(k));
  }
  auto s = Snapshot::build(std::move(r), 1);
  for (int i = 0; i < 5000; ++i) {
    const Key* k = s->key_by_hash(i % 2 ? hash_for(i) : store_like_hash(i));
    ASSERT_NE(k, nullptr) << i;
    EXPECT_EQ(k->name, "k" + std::to_string(i));
  }
  EXPECT_EQ(s->key_by_hash(hash_for(5001)), nullptr);
  EXPECT_EQ(s->key_by_hash(store_like_hash(5002)), nullptr);
  EXPECT_EQ(s->key_by_hash(""), nullptr);
  EXPECT_EQ(s->key_by_hash("abc"), nullptr);
}

TEST(Snapshot, KeysWithEqualRulesShareOneCopy) {
  Resources r = sample();
  r.keys.clear();
  for (int i = 0; i < 4; ++i) {
    Key k;
    k.name = "k" + std::to_string(i);
    k.hash_hex = hash_for(i);
    KeyRules rules;
    rules.models = {"smart"};
    rules.limits.rpm = i < 3 ? 60 : 61;  // the last one differs
    k.set_rules(rules);
    r.keys.push_back(std::move(k));
  }
  Key plain;  // no rules of its own: the defaults, no object at all
  plain.name = "plain";
  plain.hash_hex = hash_for(9);
  r.keys.push_back(plain);

  auto s = Snapshot::build(std::move(r), 1);
  const auto& keys = s->resources().keys;
  EXPECT_EQ(keys[0].shared_rules(), keys[1].shared_rules());
  EXPECT_EQ(keys[0].shared_rules(), keys[2].shared_rules());
  EXPECT_NE(keys[0].shared_rules(), keys[3].shared_rules());
  EXPECT_EQ(keys[3].rules().limits.rpm, 61);
  EXPECT_EQ(keys[4].shared_rules(), nullptr);
  EXPECT_TRUE(keys[4].rules().models.empty());
  EXPECT_FALSE(keys[4].rules().limits.rpm);
}

TEST(Key, EditingSharedRulesChangesOnlyThatKey) {
  Key a;
  KeyRules rules;
  rules.team = "red";
  a.set_rules(rules);
  Key b = a;  // copies share the rules
  EXPECT_EQ(a.shared_rules(), b.shared_rules());
  b.edit_rules().team = "blue";
  EXPECT_EQ(a.rules().team, "red");
  EXPECT_EQ(b.rules().team, "blue");
  KeyRules* own = &b.edit_rules();  // b's copy is its own now: edited in place
  EXPECT_EQ(own, &b.edit_rules());
}

TEST(Snapshot, ADemoProviderNeedsNoEndpoint) {
  Resources r;
  Provider demo;
  demo.name = "demo";
  demo.kind = ProviderKind::demo;
  r.providers.push_back(demo);
  Model m;
  m.name = "demo";
  m.targets = {{"demo", "echo", 1, 0}};
  r.models.push_back(m);
  auto s = Snapshot::build(r, 1);
  EXPECT_EQ(s->provider("demo")->endpoint.host, "");
  EXPECT_EQ(s->model("demo")->targets[0].provider, s->provider("demo"));
}

TEST(Snapshot, RefusesATargetWhoseProviderIsMissing) {
  Resources r = sample();
  r.models[0].targets.push_back({"ghost", "x", 1, 0});
  EXPECT_THROW(Snapshot::build(r, 1), std::invalid_argument);
}

TEST(ParseEndpoint, FillsDefaultPortsAndTheHostHeader) {
  UpstreamEndpoint e;
  ASSERT_TRUE(parse_endpoint("https://api.example.com", e));
  EXPECT_EQ(e.host, "api.example.com");
  EXPECT_EQ(e.port, 443);
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.path_prefix, "");
  EXPECT_EQ(e.host_header, "api.example.com");

  ASSERT_TRUE(parse_endpoint("http://api.example.com/", e));
  EXPECT_EQ(e.port, 80);
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.path_prefix, "");
  EXPECT_EQ(e.host_header, "api.example.com");

  ASSERT_TRUE(parse_endpoint("https://api.example.com:8443/openai/v1//", e));
  EXPECT_EQ(e.port, 8443);
  EXPECT_EQ(e.path_prefix, "/openai/v1");
  EXPECT_EQ(e.host_header, "api.example.com:8443");

  ASSERT_TRUE(parse_endpoint("http://example.com:443", e));  // not the default port for http
  EXPECT_EQ(e.host_header, "example.com:443");
  ASSERT_TRUE(parse_endpoint("https://example.com:443/x", e));
  EXPECT_EQ(e.host_header, "example.com");
}

TEST(ParseEndpoint, TakesIpv6LiteralsApart) {
  UpstreamEndpoint e;
  ASSERT_TRUE(parse_endpoint("http://[::1]:8080/v1", e));
  EXPECT_EQ(e.host, "::1");  // what the resolver takes
  EXPECT_EQ(e.port, 8080);
  EXPECT_EQ(e.host_header, "[::1]:8080");  // what goes on the wire
  EXPECT_EQ(e.path_prefix, "/v1");

  ASSERT_TRUE(parse_endpoint("https://[2001:db8::1]", e));
  EXPECT_EQ(e.host, "2001:db8::1");
  EXPECT_EQ(e.port, 443);
  EXPECT_EQ(e.host_header, "[2001:db8::1]");
}

TEST(ParseEndpoint, RejectsWhatDispatchCouldNotUse) {
  for (const char* bad :
       {"", "api.openai.com", "ftp://example.com", "https://", "https://:443", "http://host:0",
        "http://host:99999", "https://user:pw@example.com", "https://example.com/v1?x=1",
        "https://example.com/#frag", "not a url", "https://exa mple.com"}) {
    UpstreamEndpoint e;
    e.host = "untouched";
    EXPECT_FALSE(parse_endpoint(bad, e)) << bad;
    EXPECT_EQ(e.host, "untouched") << bad;
  }
}

TEST(SnapshotHolder, IsEmptyUntilTheFirstPublish) {
  SnapshotHolder holder;
  EXPECT_EQ(holder.shared(), nullptr);
  EXPECT_EQ(holder.current().version(), 0u);
  EXPECT_EQ(holder.current().model("smart"), nullptr);
}

TEST(SnapshotHolder, CurrentFollowsEachPublish) {
  SnapshotHolder holder;
  holder.publish(Snapshot::build(sample(), 1));
  EXPECT_EQ(holder.current().version(), 1u);
  holder.publish(Snapshot::build({}, 2));
  EXPECT_EQ(holder.current().version(), 2u);
  EXPECT_EQ(holder.current().model("smart"), nullptr);
  EXPECT_EQ(holder.shared()->version(), 2u);
}

TEST(SnapshotHolder, TwoHoldersOnOneThreadDoNotMixUp) {
  SnapshotHolder a, b;
  a.publish(Snapshot::build({}, 10));
  b.publish(Snapshot::build({}, 20));
  EXPECT_EQ(a.current().version(), 10u);
  EXPECT_EQ(b.current().version(), 20u);
  EXPECT_EQ(a.current().version(), 10u);
}

TEST(SnapshotHolder, ANewHolderAtAReusedAddressIsNotConfusedWithTheOld) {
  for (uint64_t v = 1; v <= 50; ++v) {
    auto holder = std::make_unique<SnapshotHolder>();
    holder->publish(Snapshot::build({}, v));
    EXPECT_EQ(holder->current().version(), v);
  }
}

TEST(SnapshotHolder, ReadersOnOtherThreadsSeeEveryPublishInOrder) {
  SnapshotHolder holder;
  holder.publish(Snapshot::build(sample(), 1));
  constexpr uint64_t kLast = 200;
  std::atomic<bool> failed{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      uint64_t seen = 0;
      while (seen < kLast) {
        const Snapshot& s = holder.current();
        uint64_t v = s.version();
        // Versions only move forward, and every snapshot is whole.
        if (v < seen || (v % 2 == 1 && s.model("smart") == nullptr)) failed = true;
        std::shared_ptr<const Snapshot> held = holder.shared();
        if (!held || held->version() < v) failed = true;
        seen = held ? held->version() : seen;
      }
    });
  }
  for (uint64_t v = 2; v <= kLast; ++v) {
    holder.publish(Snapshot::build(v % 2 == 1 ? sample() : Resources{}, v));
  }
  for (auto& r : readers) r.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(holder.current().version(), kLast);
}

}  // namespace
}  // namespace tollgate::core
