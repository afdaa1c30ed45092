// The resource model as an operator meets it: every mistake in a resources file is reported,
// each with the file, line, column and field it is at.
#include "core/resources.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/env_interpolate.h"
#include "store/store.h"

namespace tollgate::core {
namespace {

// Sets (or unsets) an environment variable for the life of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// The error about `field`, or a failed test listing what was reported instead.
const ConfigError* error_at(const ParseResult& r, const std::string& field) {
  for (const ConfigError& e : r.errors) {
    if (e.field == field) return &e;
  }
  std::string all;
  for (const ConfigError& e : r.errors) all += "\n  " + e.to_string();
  ADD_FAILURE() << "no error at " << field << "; errors:" << all;
  return nullptr;
}

std::string all_errors(const ParseResult& r) {
  std::string all;
  for (const ConfigError& e : r.errors) all += e.to_string() + "\n";
  return all;
}

TEST(ParseResources, ReadsWhenAllUnavailableAndHealthChecks) {
  auto r = parse_resources(R"(
providers: [{ name: p, kind: openai, api_key: x }]
models:
  - name: m
    targets: [{ provider: p, model: gpt-4o }]
    when_all_unavailable: fail
    health_check: { interval_ms: 2000, timeout_ms: 700, probe: request, failures: 3, successes: 2 }
  - { name: d, targets: [{ provider: p, model: gpt-4o }] }
)", "r.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Model& m = r.resources.models[0];
  EXPECT_EQ(m.when_all_unavailable, "fail");
  EXPECT_EQ(m.health_check.interval.count(), 2000);
  EXPECT_EQ(m.health_check.timeout.count(), 700);
  EXPECT_EQ(m.health_check.probe, "request");
  EXPECT_EQ(m.health_check.failures, 3u);
  EXPECT_EQ(m.health_check.successes, 2u);
  const Model& d = r.resources.models[1];
  EXPECT_EQ(d.when_all_unavailable, "send");    // the default: never strand a model
  EXPECT_EQ(d.health_check.interval.count(), 0);  // off unless asked for
}

TEST(ParseResources, RejectsUnknownWhenAllUnavailableAndProbe) {
  auto r = parse_resources(R"(
providers: [{ name: p, kind: openai, api_key: x }]
models:
  - name: m
    targets: [{ provider: p, model: gpt-4o }]
    when_all_unavailable: sometimes
    health_check: { interval_ms: 10, probe: ping, colour: red }
)", "r.yaml");
  EXPECT_FALSE(r.ok());
  if (auto* e = error_at(r, "models[0].when_all_unavailable")) EXPECT_NE(e->message.find("must be one of: send, fail"), std::string::npos);
  error_at(r, "models[0].health_check.interval_ms");
  error_at(r, "models[0].health_check.colour");
}

TEST(ParseResources, ReadsEveryFieldOfAValidDocument) {
  ScopedEnv key("TG_TEST_OPENAI_KEY", "sk-test-123");
  ScopedEnv team("TG_TEST_TEAM_B", "tg-team-b-secret-value");
  ParseResult r = parse_resources(R"(
providers:
  - name: openai-main
    kind: openai
    api_key: "${TG_TEST_OPENAI_KEY}"
    api_version: "2024-10-21"
    headers: { X-Org: abc }
    timeouts: { connect_ms: 1000, read_ms: 2000, idle_ms: 3000 }
    verify_tls: false
  - name: local
    kind: openai-compatible
    base_url: http://127.0.0.1:11434/v1
models:
  - name: smart
    strategy: fallback
    targets:
      - { provider: openai-main, model: gpt-4o, weight: 3, priority: 1 }
      - { provider: local, model: llama3 }
keys:
  - name: team-a
    key: tg-team-a-secret-value
    models: [smart]
    expires_at: 1767225600
  - name: team-b
    key_env: TG_TEST_TEAM_B
  - name: team-c
    key_hash: "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
    models: ["local/*", "*"]
)",
                                  "resources.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);

  ASSERT_EQ(r.resources.providers.size(), 2u);
  const Provider& openai = r.resources.providers[0];
  EXPECT_EQ(openai.name, "openai-main");
  EXPECT_EQ(openai.kind, ProviderKind::openai);
  EXPECT_EQ(openai.base_url, "");  // the kind's default applies; kept empty in the document
  EXPECT_EQ(openai.api_key, "sk-test-123");
  EXPECT_EQ(openai.api_version, "2024-10-21");
  EXPECT_EQ(openai.headers.at("X-Org"), "abc");
  EXPECT_EQ(openai.timeouts.connect.count(), 1000);
  EXPECT_EQ(openai.timeouts.read.count(), 2000);
  EXPECT_EQ(openai.timeouts.idle.count(), 3000);
  EXPECT_FALSE(openai.verify_tls);
  const Provider& local = r.resources.providers[1];
  EXPECT_EQ(local.kind, ProviderKind::openai_compatible);
  EXPECT_EQ(local.base_url, "http://127.0.0.1:11434/v1");
  EXPECT_TRUE(local.verify_tls);
  EXPECT_EQ(local.timeouts.read.count(), 120000);

  ASSERT_EQ(r.resources.models.size(), 1u);
  const Model& smart = r.resources.models[0];
  EXPECT_EQ(smart.strategy, "fallback");
  ASSERT_EQ(smart.targets.size(), 2u);
  EXPECT_EQ(smart.targets[0].provider, "openai-main");
  EXPECT_EQ(smart.targets[0].model, "gpt-4o");
  EXPECT_EQ(smart.targets[0].weight, 3u);
  EXPECT_EQ(smart.targets[0].priority, 1u);
  EXPECT_EQ(smart.targets[1].weight, 1u);
  EXPECT_EQ(smart.targets[1].priority, 0u);

  ASSERT_EQ(r.resources.keys.size(), 3u);
  const Key& a = r.resources.keys[0];
  EXPECT_EQ(a.hash_hex, store::sha256_hex("tg-team-a-secret-value"));
  EXPECT_EQ(a.id, "key_" + a.hash_hex.substr(0, 12));
  EXPECT_EQ(a.prefix, "tg-team-");
  EXPECT_EQ(a.rules().models, std::vector<std::string>{"smart"});
  EXPECT_EQ(a.expires_at, 1767225600);
  const Key& b = r.resources.keys[1];
  EXPECT_EQ(b.hash_hex, store::sha256_hex("tg-team-b-secret-value"));
  EXPECT_TRUE(b.rules().models.empty());
  EXPECT_FALSE(b.expires_at.has_value());
  const Key& c = r.resources.keys[2];
  EXPECT_EQ(c.hash_hex, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  EXPECT_EQ(c.id, "key_abcdef012345");
  EXPECT_EQ(c.prefix, "");
}

TEST(ParseResources, AnEmptyDocumentDeclaresNothing) {
  EXPECT_TRUE(parse_resources("", "r.yaml").ok());
  EXPECT_TRUE(parse_resources("# only a comment\n", "r.yaml").ok());
  EXPECT_TRUE(parse_resources("providers:\nmodels: []\n", "r.yaml").ok());
}

TEST(ParseResources, ReadsJsonToo) {
  ParseResult r = parse_resources(
      R"({"providers":[{"name":"p","kind":"anthropic","timeouts":{"read_ms":5}}],
          "models":[{"name":"m","targets":[{"provider":"p","model":"claude","weight":2}]}]})",
      "doc.json");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.resources.providers[0].kind, ProviderKind::anthropic);
  EXPECT_EQ(r.resources.providers[0].timeouts.read.count(), 5);
  EXPECT_EQ(r.resources.models[0].targets[0].weight, 2u);
}

TEST(ParseResources, InterpolatesEnvironmentReferencesWithDefaultsAndEscapes) {
  ScopedEnv set("TG_TEST_BASE", "http://10.0.0.1:9000/v1");
  ScopedEnv unset("TG_TEST_UNSET", nullptr);
  ParseResult r = parse_resources(R"(
providers:
  - name: p
    kind: openai-compatible
    base_url: "${TG_TEST_BASE}"
    api_key: "${TG_TEST_UNSET:-fallback-key}"
    headers: { X-Literal: "cost $$5 and $${NOT_A_VAR}" }
)",
                                  "r.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.resources.providers[0].base_url, "http://10.0.0.1:9000/v1");
  EXPECT_EQ(r.resources.providers[0].api_key, "fallback-key");
  EXPECT_EQ(r.resources.providers[0].headers.at("X-Literal"), "cost $$5 and ${NOT_A_VAR}");
}

TEST(ParseResources, AMissingEnvironmentVariableIsAnErrorNamingIt) {
  ScopedEnv unset("TG_TEST_MISSING_KEY", nullptr);
  ParseResult r = parse_resources(
      "providers:\n"
      "  - name: p\n"
      "    kind: openai\n"
      "    api_key: \"${TG_TEST_MISSING_KEY}\"\n",
      "res.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  const ConfigError& e = r.errors[0];
  EXPECT_EQ(e.source, "res.yaml");
  EXPECT_EQ(e.field, "providers[0].api_key");
  EXPECT_EQ(e.line, 4);
  EXPECT_EQ(e.column, 14);
  EXPECT_NE(e.message.find("TG_TEST_MISSING_KEY"), std::string::npos) << e.message;
  EXPECT_EQ(e.to_string(),
            "res.yaml:4:14: providers[0].api_key: environment variable TG_TEST_MISSING_KEY is not set");
}

TEST(ParseResources, ATargetNamingAnUndeclaredProviderIsAnErrorAtThatTarget) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - name: p1\n"
      "    kind: openai\n"
      "models:\n"
      "  - name: m\n"
      "    targets:\n"
      "      - { provider: p1, model: a }\n"
      "      - { provider: nope, model: x }\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  const ConfigError* e = error_at(r, "models[0].targets[1].provider");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->source, "r.yaml");
  EXPECT_EQ(e->line, 8);
  EXPECT_EQ(e->column, 21);
  EXPECT_NE(e->message.find("\"nope\""), std::string::npos) << e->message;
}

TEST(ParseResources, TheBuiltInDemoProviderCountsAsDeclared) {
  ParseResult r = parse_resources(
      "models:\n"
      "  - name: m\n"
      "    targets: [{ provider: demo, model: echo }]\n"
      "keys:\n"
      "  - { name: k, key: some-secret-value, models: [demo, m, demo/*] }\n",
      "r.yaml");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  // Nothing is added: the gateway adds the built-in provider and model itself.
  EXPECT_TRUE(r.resources.providers.empty());
  EXPECT_EQ(r.resources.models.size(), 1u);
}

TEST(ParseResources, DuplicateNamesAreErrorsAtTheSecondDeclaration) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - { name: p, kind: openai }\n"
      "  - { name: p, kind: anthropic }\n"
      "models:\n"
      "  - { name: m, targets: [{ provider: p, model: a }] }\n"
      "  - { name: m, targets: [{ provider: p, model: b }] }\n"
      "keys:\n"
      "  - { name: k, key: secret-one-long }\n"
      "  - { name: k, key: secret-two-long }\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  const ConfigError* p = error_at(r, "providers[1].name");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->line, 3);
  EXPECT_EQ(p->column, 13);
  EXPECT_NE(p->message.find("first at line 2"), std::string::npos) << p->message;
  const ConfigError* m = error_at(r, "models[1].name");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->line, 6);
  const ConfigError* k = error_at(r, "keys[1].name");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->line, 9);
}

TEST(ParseResources, TwoKeysWithTheSameSecretAreAnError) {
  ParseResult r = parse_resources(
      "keys:\n"
      "  - { name: a, key: same-secret-value }\n"
      "  - { name: b, key: same-secret-value }\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].field, "keys[1]");
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("same secret"), std::string::npos);
}

TEST(ParseResources, AnUnknownKindIsAnErrorListingTheKinds) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - name: p\n"
      "    kind: openia\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  const ConfigError* e = error_at(r, "providers[0].kind");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->line, 3);
  EXPECT_EQ(e->column, 11);
  EXPECT_NE(e->message.find("\"openia\""), std::string::npos);
  EXPECT_NE(e->message.find("openai-compatible"), std::string::npos);
}

TEST(ParseResources, AProviderWithoutAKindIsAnError) {
  ParseResult r = parse_resources("providers:\n  - name: p\n", "r.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].field, "providers[0].kind");
  EXPECT_EQ(r.errors[0].line, 2);
}

TEST(ParseResources, BadOrMissingBaseUrlsAreErrors) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - { name: a, kind: openai, base_url: ftp://example.com }\n"
      "  - { name: b, kind: openai, base_url: not a url }\n"
      "  - { name: c, kind: openai-compatible }\n"
      "  - { name: d, kind: azure }\n"
      "  - { name: e, kind: openai, base_url: \"https://user:pw@example.com/v1\" }\n"
      "  - { name: f, kind: gemini }\n"
      "  - { name: g, kind: demo }\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 5u) << all_errors(r);
  const ConfigError* a = error_at(r, "providers[0].base_url");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->line, 2);
  EXPECT_EQ(a->column, 40);
  EXPECT_NE(error_at(r, "providers[1].base_url"), nullptr);
  const ConfigError* c = error_at(r, "providers[2].base_url");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->message.find("required for kind openai-compatible"), std::string::npos);
  EXPECT_EQ(c->line, 4);  // no base_url node: the provider's own place
  EXPECT_NE(error_at(r, "providers[3].base_url"), nullptr);
  EXPECT_NE(error_at(r, "providers[4].base_url"), nullptr);
}

TEST(ParseResources, AnUnknownFieldIsAnErrorNamingIt) {
  ParseResult r = parse_resources(
      "provders: []\n"
      "providers:\n"
      "  - { name: a, kind: openai }\n"
      "  - name: b\n"
      "    kind: openai\n"
      "    tiemouts: { connect_ms: 5 }\n"
      "    timeouts: { conect_ms: 5 }\n"
      "models:\n"
      "  - name: m\n"
      "    targets: [{ provider: a, model: x, wieght: 2 }]\n"
      "keys:\n"
      "  - { name: k, key: a-long-secret, model: [m] }\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 5u) << all_errors(r);
  const ConfigError* top = error_at(r, "provders");
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->line, 1);
  EXPECT_EQ(top->column, 1);
  const ConfigError* typo = error_at(r, "providers[1].tiemouts");
  ASSERT_NE(typo, nullptr);
  EXPECT_EQ(typo->line, 6);
  EXPECT_EQ(typo->column, 5);
  EXPECT_NE(typo->message.find("unknown field"), std::string::npos);
  EXPECT_NE(typo->message.find("timeouts"), std::string::npos);  // says what was meant
  EXPECT_NE(error_at(r, "providers[1].timeouts.conect_ms"), nullptr);
  EXPECT_NE(error_at(r, "models[0].targets[0].wieght"), nullptr);
  EXPECT_NE(error_at(r, "keys[0].model"), nullptr);
}

TEST(ParseResources, AFieldGivenTwiceIsAnError) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - name: a\n"
      "    kind: openai\n"
      "    kind: anthropic\n",
      "r.yaml");
  ASSERT_FALSE(r.ok());
  const ConfigError* e = error_at(r, "providers[0].kind");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->line, 4);
  EXPECT_NE(e->message.find("twice"), std::string::npos);
}

TEST(ParseResources, CollectsEveryErrorInsteadOfStoppingAtTheFirst) {
  ScopedEnv unset("TG_TEST_NOPE", nullptr);
  ParseResult r = parse_resources(
      "providers:\n"
      "  - { name: \"bad name\", kind: openai }\n"
      "  - { name: b, kind: nope }\n"
      "  - { name: c, kind: openai, api_key: \"${TG_TEST_NOPE}\" }\n"
      "models:\n"
      "  - { name: m, strategy: random, targets: [] }\n"
      "  - { name: n, targets: [{ provider: b, model: x, weight: heavy }] }\n"
      "keys:\n"
      "  - { name: k }\n",
      "r.yaml");
  EXPECT_NE(error_at(r, "providers[0].name"), nullptr);
  EXPECT_NE(error_at(r, "providers[1].kind"), nullptr);
  EXPECT_NE(error_at(r, "providers[2].api_key"), nullptr);
  EXPECT_NE(error_at(r, "models[0].strategy"), nullptr);
  EXPECT_NE(error_at(r, "models[0].targets"), nullptr);
  EXPECT_NE(error_at(r, "models[1].targets[0].weight"), nullptr);
  EXPECT_NE(error_at(r, "keys[0].key"), nullptr);
  for (const ConfigError& e : r.errors) {
    EXPECT_EQ(e.source, "r.yaml");
    EXPECT_GT(e.line, 0) << e.to_string();
    EXPECT_GT(e.column, 0) << e.to_string();
  }
}

TEST(ParseResources, FindingsAfterAFailedItemStillPointAtTheRightLine) {
  // providers[0] fails to read, so the second provider is resources.providers[0]: the error
  // about its name must still say providers[1], at its own line.
  ParseResult r = parse_resources(
      "providers:\n"
      "  - { name: a, kind: bogus }\n"
      "  - { name: \"b c\", kind: openai }\n",
      "r.yaml");
  const ConfigError* e = error_at(r, "providers[1].name");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->line, 3);
}

TEST(ParseResources, AMistakeInAResourceIsNotAlsoBlamedOnWhatUsesIt) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - { name: p, kind: openia }\n"
      "models:\n"
      "  - { name: m, strategy: fast, targets: [{ provider: p, model: x, weight: lots }] }\n"
      "keys:\n"
      "  - { name: k, key: a-long-secret, models: [m, \"p/*\"] }\n",
      "r.yaml");
  // The bad kind, the bad strategy and the bad weight; not "p is not declared" nor "m is not
  // declared".
  ASSERT_EQ(r.errors.size(), 3u) << all_errors(r);
  EXPECT_EQ(r.errors[0].field, "providers[0].kind");
  EXPECT_EQ(r.errors[1].field, "models[0].strategy");
  EXPECT_EQ(r.errors[2].field, "models[0].targets[0].weight");
}

TEST(ParseResources, ErrorsComeInDocumentOrder) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - { name: a, kind: azure }\n"   // validation finding
      "  - { name: b, kind: nope }\n",   // reading finding
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[1].line, 3);
}

TEST(ParseResources, ASyntaxErrorIsOneErrorWithItsPlace) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - name: a\n"
      "    kind: [openai\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].source, "r.yaml");
  EXPECT_GT(r.errors[0].line, 0);
  EXPECT_GT(r.errors[0].column, 0);
  EXPECT_NE(r.errors[0].message.find("YAML"), std::string::npos);
}

TEST(ParseResources, WrongShapesAreErrorsNotCrashes) {
  ParseResult r = parse_resources(
      "providers: { name: a }\n"
      "models:\n"
      "  - just-a-string\n"
      "  - { name: m, targets: { provider: a } }\n"
      "keys:\n"
      "  - { name: [k], key: a-long-secret, expires_at: soon }\n",
      "r.yaml");
  EXPECT_NE(error_at(r, "providers"), nullptr);
  EXPECT_NE(error_at(r, "models[0]"), nullptr);
  EXPECT_NE(error_at(r, "models[1].targets"), nullptr);
  EXPECT_NE(error_at(r, "keys[0].name"), nullptr);
  EXPECT_NE(error_at(r, "keys[0].expires_at"), nullptr);
  EXPECT_FALSE(parse_resources("- a\n- b\n", "r.yaml").ok());
  EXPECT_FALSE(parse_resources("just text", "r.yaml").ok());
}

TEST(ParseResources, KeysNeedExactlyOneOfKeyKeyEnvOrKeyHash) {
  ScopedEnv unset("TG_TEST_UNSET_KEY", nullptr);
  ParseResult r = parse_resources(
      "keys:\n"
      "  - { name: none }\n"
      "  - { name: two, key: a-long-secret, key_env: X }\n"
      "  - { name: env, key_env: TG_TEST_UNSET_KEY }\n"
      "  - { name: short-hash, key_hash: \"sha256:abc\" }\n"
      "  - { name: not-hex, key_hash: "
      "\"zz00000000000000000000000000000000000000000000000000000000000000\" }\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 5u) << all_errors(r);
  EXPECT_NE(error_at(r, "keys[0].key")->message.find("one of key, key_env or key_hash"),
            std::string::npos);
  EXPECT_NE(error_at(r, "keys[1].key")->message.find("only one"), std::string::npos);
  const ConfigError* env = error_at(r, "keys[2].key_env");
  ASSERT_NE(env, nullptr);
  EXPECT_NE(env->message.find("TG_TEST_UNSET_KEY"), std::string::npos);
  EXPECT_EQ(env->line, 4);
  EXPECT_NE(error_at(r, "keys[3].key_hash"), nullptr);
  EXPECT_NE(error_at(r, "keys[4].key_hash"), nullptr);
}

TEST(ParseResources, AKeyHashMayBeGivenWithOrWithoutItsPrefix) {
  std::string hash = store::sha256_hex("some secret");
  ParseResult r = parse_resources(
      "keys:\n  - { name: a, key_hash: \"sha256:" + hash + "\" }\n  - { name: b, key_hash: \"" +
          store::sha256_hex("other") + "\" }\n",
      "r.yaml");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.resources.keys[0].hash_hex, hash);
  EXPECT_EQ(r.resources.keys[1].hash_hex, store::sha256_hex("other"));
}

TEST(ParseResources, AKeyMayOnlyNameDeclaredModelsOrProviderWildcards) {
  ParseResult r = parse_resources(
      "providers: [{ name: p, kind: openai }]\n"
      "models: [{ name: m, targets: [{ provider: p, model: x }] }]\n"
      "keys:\n"
      "  - name: k\n"
      "    key: a-long-secret\n"
      "    models: [m, \"p/*\", \"*\", nope, \"q/*\"]\n",
      "r.yaml");
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  const ConfigError* nope = error_at(r, "keys[0].models[3]");
  ASSERT_NE(nope, nullptr);
  EXPECT_EQ(nope->line, 6);
  EXPECT_NE(nope->message.find("\"nope\""), std::string::npos);
  EXPECT_NE(error_at(r, "keys[0].models[4]"), nullptr);
}

TEST(ParseResources, ValuesThatWouldForgeHeadersAreRejected) {
  ParseResult r = parse_resources(
      "providers:\n"
      "  - name: p\n"
      "    kind: openai\n"
      "    api_key: \"sk\\r\\nX-Evil: 1\"\n"
      "    headers: { Host: evil.example, \"Bad Name\": x, X-Ok: \"a\\nb\" }\n",
      "r.yaml");
  EXPECT_NE(error_at(r, "providers[0].api_key"), nullptr);
  EXPECT_NE(error_at(r, "providers[0].headers.Host"), nullptr);
  EXPECT_NE(error_at(r, "providers[0].headers.Bad Name"), nullptr);
  EXPECT_NE(error_at(r, "providers[0].headers.X-Ok"), nullptr);
}

TEST(ParseResources, ModelNamesMayContainSlashesDotsAndColons) {
  ParseResult r = parse_resources(
      "models: [{ name: \"openai/gpt-4o:latest_v1.2\", targets: [{ provider: demo, model: x }] }]\n",
      "r.yaml");
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_FALSE(parse_resources("models: [{ name: \"a b\", targets: [{ provider: demo, model: x }] }]\n",
                               "r.yaml")
                   .ok());
}

TEST(ParseResources, TimeoutsMustBePositive) {
  ParseResult r = parse_resources(
      "providers: [{ name: p, kind: openai, timeouts: { connect_ms: 0, read_ms: -1 } }]\n",
      "r.yaml");
  EXPECT_NE(error_at(r, "providers[0].timeouts.connect_ms"), nullptr);
  EXPECT_NE(error_at(r, "providers[0].timeouts.read_ms"), nullptr);
}

TEST(ValidateResources, ReportsFieldsOfResourcesBuiltInCode) {
  Resources res;
  Provider p;
  p.name = "p";
  p.kind = ProviderKind::azure;  // needs a base_url
  res.providers.push_back(p);
  Model m;
  m.name = "m";
  m.targets.push_back({"ghost", "x", 1, 0});
  res.models.push_back(m);
  std::vector<ConfigError> errors;
  validate_resources(res, errors, "admin-api");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].to_string(), "admin-api: providers[0].base_url: is required for kind azure");
  EXPECT_EQ(errors[1].field, "models[0].targets[0].provider");
  EXPECT_EQ(errors[1].line, 0);
}

TEST(ParseOneResource, ReadsASingleDocumentWithRelativeFields) {
  std::vector<ConfigError> errors;
  auto p = parse_provider(R"({"name":"p","kind":"gemini","verify_tls":false})", "sqlite:providers/p",
                          errors);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->kind, ProviderKind::gemini);
  EXPECT_FALSE(p->verify_tls);
  EXPECT_TRUE(errors.empty());

  auto bad = parse_model(R"({"name":"m","targts":[]})", "sqlite:models/m", errors);
  ASSERT_TRUE(bad.has_value());  // kept as far as it could be read
  EXPECT_EQ(bad->name, "m");
  ASSERT_EQ(errors.size(), 2u);  // the typo, and the targets it does not give
  EXPECT_EQ(errors[0].source, "sqlite:models/m");
  EXPECT_EQ(errors[0].field, "targts");
  EXPECT_EQ(errors[1].field, "targets");
  EXPECT_EQ(errors[1].message, "is required");

  errors.clear();
  EXPECT_FALSE(parse_key(R"({"name":"k","key_hash":"nothex"})", "sqlite:keys/k", errors));
  EXPECT_EQ(errors.size(), 1u);
  errors.clear();
  EXPECT_FALSE(parse_provider("[1, 2]", "x", errors));
  EXPECT_FALSE(parse_provider("{", "x", errors));
  EXPECT_EQ(errors.size(), 2u);
}

TEST(ConfigErrorText, OmitsThePlaceWhenUnknown) {
  EXPECT_EQ((ConfigError{"f.yaml", 3, 7, "models[0].name", "is required"}).to_string(),
            "f.yaml:3:7: models[0].name: is required");
  EXPECT_EQ((ConfigError{"sqlite:models/m", 0, 0, "name", "is required"}).to_string(),
            "sqlite:models/m: name: is required");
}

TEST(ProviderKinds, RoundTripThroughTheirNames) {
  for (auto k : {ProviderKind::openai, ProviderKind::openai_compatible, ProviderKind::azure,
                 ProviderKind::anthropic, ProviderKind::gemini, ProviderKind::demo}) {
    EXPECT_EQ(provider_kind_from_string(to_string(k)), k);
  }
  EXPECT_EQ(provider_kind_from_string("openai_compatible"), std::nullopt);
  EXPECT_EQ(default_base_url(ProviderKind::openai), "https://api.openai.com/v1");
  EXPECT_EQ(default_base_url(ProviderKind::anthropic), "https://api.anthropic.com");
  EXPECT_EQ(default_base_url(ProviderKind::gemini), "https://generativelanguage.googleapis.com");
  EXPECT_EQ(default_base_url(ProviderKind::azure), "");
}

// --- ${ENV} interpolation on its own ----------------------------------------------------------

std::optional<std::string> fake_env(const std::string& name) {
  if (name == "SET") return "value";
  if (name == "EMPTY") return "";
  return std::nullopt;
}

TEST(InterpolateEnv, ReplacesReferencesAndKeepsOtherText) {
  EXPECT_EQ(interpolate_env("a-${SET}-b", fake_env).value, "a-value-b");
  EXPECT_EQ(interpolate_env("${SET}${SET}", fake_env).value, "valuevalue");
  EXPECT_EQ(interpolate_env("no refs, $ alone, $SET", fake_env).value, "no refs, $ alone, $SET");
}

TEST(InterpolateEnv, DefaultsApplyWhenUnsetOrEmpty) {
  EXPECT_EQ(interpolate_env("${UNSET:-dflt}", fake_env).value, "dflt");
  EXPECT_EQ(interpolate_env("${EMPTY:-dflt}", fake_env).value, "dflt");
  EXPECT_EQ(interpolate_env("${SET:-dflt}", fake_env).value, "value");
  EXPECT_EQ(interpolate_env("${UNSET:-}", fake_env).value, "");
  EXPECT_EQ(interpolate_env("${EMPTY}", fake_env).value, "");
}

TEST(InterpolateEnv, DoubleDollarBraceIsALiteral) {
  Interpolated v = interpolate_env("$${SET} and ${SET}", fake_env);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.value, "${SET} and value");
}

TEST(InterpolateEnv, ErrorsNameTheVariableOrTheBadReference) {
  Interpolated missing = interpolate_env("x${UNSET}y", fake_env);
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.error, "environment variable UNSET is not set");
  EXPECT_FALSE(interpolate_env("${UNCLOSED", fake_env).ok());
  EXPECT_FALSE(interpolate_env("${1BAD}", fake_env).ok());
  EXPECT_FALSE(interpolate_env("${}", fake_env).ok());
}

TEST(InterpolateEnv, DetectsReferences) {
  EXPECT_TRUE(has_env_reference("${A}"));
  EXPECT_FALSE(has_env_reference("$${A}"));
  EXPECT_FALSE(has_env_reference("plain $"));
}

}  // namespace
}  // namespace tollgate::core
