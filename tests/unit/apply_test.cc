// `tollgate apply` / `export` on SQLite stores (the same SqlStore code as PostgreSQL): the file
// read for every kind with references unresolved, one transaction that leaves the store as it
// was when any part fails, the export applied to another store exporting the same bytes, and an
// export read back to serve (the snapshot cache) with its sealed credentials opened.
#include "store/apply.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include <boost/json/serialize.hpp>

#include "core/schema.h"
#include "store/secret_box.h"
#include "temp_dir.h"

namespace tollgate::store {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;
std::string db_path(const TempDir& d) { return (d.path() / "tollgate.db").string(); }

// Every kind of the schema, one or more of each.
constexpr const char* kEveryKind = R"(providers:
  - { name: up, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: "${TG_APPLY_UP}" }
  - { name: lit, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: sk-literal-123, headers: { x-token: hdr-456 } }
guardrails:
  - { name: words, kind: keywords, mode: block, keywords: [forbidden] }
models:
  - { name: m, targets: [{ provider: up, model: gpt-4o }], cache: faq }
  - { name: m2, targets: [{ provider: lit, model: x, weight: 2 }], fallbacks: [m], guardrails: [words] }
teams:
  - { name: research, models: [m, m2], budget: { usd_per_month: 5, mode: warn } }
keys:
  - { name: k1, key: tg-apply-secret-1, models: [m], team: research, limits: { rpm: 10 } }
admin_keys:
  - { name: ops, role: team-admin, team: research, key_hash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
cache_policies:
  - { name: faq, mode: exact, ttl_s: 60 }
mcp_servers:
  - { name: tools, url: "http://127.0.0.1:9/mcp", headers: { X-Api-Key: mcp-789 }, auth: { bearer: mcp-bearer-0 } }
)";

// Kinds other tests of this binary register (admin_documents_test.cc); the gateway's own are
// all in kEveryKind.
bool registered_by_a_test(const std::string& kind) { return kind.rfind("test_", 0) == 0; }

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TG_APPLY_UP", "sk-from-env", 1);
    setenv("TOLLGATE_SECRET_KEY", "the unit test passphrase", 1);
  }
  void TearDown() override { unsetenv("TOLLGATE_SECRET_KEY"); }

  static void apply(SqlStore& store, std::string_view text, bool prune = false) {
    ApplyPlan plan = plan_apply(store, text, "test.yaml", prune);
    ASSERT_TRUE(plan.errors.empty()) << plan.errors.front().to_string();
    apply_plan(store, plan);
  }
  static std::vector<std::string> changes(SqlStore& store, std::string_view text, bool prune = false) {
    std::vector<std::string> out;
    for (const auto& c : plan_apply(store, text, "test.yaml", prune).changes) out.push_back(c.to_string());
    return out;
  }
};

TEST_F(ApplyTest, ReadsEveryKindWithReferencesAsWrittenAndKeysByHash) {
  FileDocuments file = read_resources_file(kEveryKind, "test.yaml");
  ASSERT_TRUE(file.errors.empty()) << file.errors.front().to_string();
  for (const auto& kind : core::schema::kinds())
    if (!registered_by_a_test(kind.name)) EXPECT_FALSE(file.documents[kind.name].empty()) << kind.name;
  EXPECT_EQ(file.documents["providers"][0].at("api_key").as_string(), "${TG_APPLY_UP}");
  const auto& key = file.documents["keys"][0];
  EXPECT_FALSE(key.contains("key"));
  EXPECT_EQ(key.at("key_hash").as_string(), sha256_hex("tg-apply-secret-1"));
}

TEST_F(ApplyTest, ChecksTheKindsOnlyAStoreKeepsAndKeepsLinesOfTheRest) {
  FileDocuments file = read_resources_file(R"(admin_keys:
  - { name: a, role: root, key_hash: nothex }
models:
  - { name: m, targets: [{ provider: ghost, model: x }] }
)", "test.yaml");
  std::string all;
  for (const auto& e : file.errors) all += e.to_string() + "\n";
  EXPECT_NE(all.find("test.yaml:2:5: admin_keys[0].role: must be one of"), std::string::npos) << all;
  EXPECT_NE(all.find("admin_keys[0].key_hash"), std::string::npos) << all;
  // The section blanked out for the resources reader: the model's error keeps its own line.
  EXPECT_NE(all.find("test.yaml:4:"), std::string::npos) << all;
  EXPECT_NE(all.find("ghost"), std::string::npos) << all;
  // Not text: refused, naming the line.
  file = read_resources_file("providers:\n  - { name: \"\xff\" }\n", "bin.yaml");
  ASSERT_EQ(file.errors.size(), 1u);
  EXPECT_EQ(file.errors[0].to_string(), "bin.yaml:2:14: is not UTF-8 text (byte 24)");
  // JSON (flow style) too.
  file = read_resources_file(R"({"admin_keys": [{"name": "a", "role": "viewer", "key_hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}], "providers": []})", "t.json");
  EXPECT_TRUE(file.errors.empty()) << file.errors.front().to_string();
  EXPECT_EQ(file.documents["admin_keys"].size(), 1u);
}

TEST_F(ApplyTest, AppliesEveryKindThenFindsNothingToChange) {
  TempDir dir;
  SqliteStore store(db_path(dir));
  auto first = changes(store, kEveryKind);
  EXPECT_EQ(first.size(), 10u);
  apply(store, kEveryKind);
  EXPECT_TRUE(changes(store, kEveryKind).empty());
  core::ParseResult loaded = store.load();
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  EXPECT_EQ(loaded.resources.providers.size(), 2u);
  EXPECT_EQ(loaded.resources.mcp_servers.size(), 1u);
  EXPECT_EQ(loaded.resources.cache_policies.size(), 1u);
  EXPECT_EQ(loaded.resources.teams.size(), 1u);
  EXPECT_EQ(store.documents_of("admin_keys").size(), 1u);
  EXPECT_FALSE(read_into_snapshot("admin_keys"));
  EXPECT_TRUE(read_into_snapshot("teams"));
}

TEST_F(ApplyTest, ExportHasNoSecretInClearAndAppliesToAnotherStoreAsTheSameBytes) {
  TempDir a, b;
  SqliteStore one(db_path(a));
  apply(one, kEveryKind);
  std::string exported = export_resources(one);
  for (const char* secret : {"sk-literal-123", "hdr-456", "mcp-789", "mcp-bearer-0", "tg-apply-secret-1", "sk-from-env"})
    EXPECT_EQ(exported.find(secret), std::string::npos) << secret << "\n" << exported;
  EXPECT_NE(exported.find("${TG_APPLY_UP}"), std::string::npos);
  for (const auto& kind : core::schema::kinds())
    if (!registered_by_a_test(kind.name)) EXPECT_NE(("\n" + exported).find("\n" + kind.name + ":"), std::string::npos) << kind.name;

  SqliteStore two(db_path(b));
  apply(two, exported);
  EXPECT_EQ(export_resources(two), exported);
  EXPECT_TRUE(changes(two, exported).empty());
  EXPECT_TRUE(changes(one, exported).empty());
  core::ParseResult loaded = two.load();
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  EXPECT_EQ(loaded.resources.providers[0].api_key, "sk-literal-123");  // "lit", opened
}

TEST_F(ApplyTest, AFailingApplyLeavesTheStoreAsItWas) {
  TempDir dir;
  SqliteStore store(db_path(dir));
  apply(store, kEveryKind);
  std::string before = export_resources(store);
  // A changed guardrail, a new key and a revoked one come first; then the pruned provider
  // "up" is still used by model m, which this file does not mention.
  const char* breaking = R"(providers:
  - { name: lit, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: sk-literal-123, headers: { x-token: hdr-456 } }
guardrails:
  - { name: words, kind: keywords, mode: monitor, keywords: [other] }
keys:
  - { name: k9, key: tg-apply-new-key-9 }
)";
  ApplyPlan plan = plan_apply(store, breaking, "breaking.yaml", true);
  ASSERT_TRUE(plan.errors.empty());
  EXPECT_EQ(plan.changes.size(), 4u);
  EXPECT_THROW(apply_plan(store, plan, false), std::runtime_error);
  EXPECT_THROW(apply_plan(store, plan), std::runtime_error);
  EXPECT_EQ(export_resources(store), before);
  // Refused by the whole store's check before commit: an admin key naming no team.
  plan = plan_apply(store, "admin_keys:\n  - { name: x, role: team-admin, team: nobody, key_hash: "
                           "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\" }\n", "t.yaml", false);
  ASSERT_TRUE(plan.errors.empty());
  try {
    apply_plan(store, plan);
    FAIL() << "applied";
  } catch (const InvalidResource& e) {
    EXPECT_NE(std::string(e.what()).find("\"nobody\" is not stored"), std::string::npos) << e.what();
  }
  EXPECT_EQ(export_resources(store), before);
  EXPECT_TRUE(store.load().ok());
}

TEST_F(ApplyTest, PruneRemovesOnlyInTheSectionsTheFileGives) {
  TempDir dir;
  SqliteStore store(db_path(dir));
  apply(store, kEveryKind);
  auto pruned = changes(store, "mcp_servers: []\nadmin_keys: []\n", true);
  std::sort(pruned.begin(), pruned.end());
  EXPECT_EQ(pruned, (std::vector<std::string>{"- MCP server tools", "- admin key ops"}));
  EXPECT_EQ(changes(store, "mcp_servers: []\n", true).size(), 1u) << "the admin keys, left out, stay";
}

TEST_F(ApplyTest, AnExportReadsBackToServeWithItsCredentialsOpened) {
  TempDir dir;
  SqliteStore store(db_path(dir));
  apply(store, kEveryKind);
  std::string exported = export_resources(store);
  SecretBox box = SecretBox::for_store(db_path(dir));
  core::ParseResult r = read_export(exported, "cache.yaml", [&](std::string_view s) { return box.open(s); });
  ASSERT_TRUE(r.ok()) << r.errors.front().to_string();
  ASSERT_EQ(r.resources.providers.size(), 2u);
  EXPECT_EQ(r.resources.providers[0].api_key, "sk-literal-123");  // "lit" (the store's order: by name)
  EXPECT_EQ(r.resources.providers[0].headers.at("x-token"), "hdr-456");
  EXPECT_EQ(r.resources.providers[1].api_key, "sk-from-env");
  EXPECT_EQ(r.resources.keys.at(0).hash_hex, sha256_hex("tg-apply-secret-1"));
  // Another key: an error naming the field, never a garbage credential.
  r = read_export(exported, "cache.yaml", [](std::string_view) { return std::nullopt; });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.errors.front().to_string().find("cannot be decrypted"), std::string::npos);
}

// A kind added later (core::schema::register_kind, as a module declares one) is applied and
// exported with no code of its own: checked by its schema, its secrets sealed at any depth,
// exported sealed, and the export applied elsewhere exports the same bytes.
TEST_F(ApplyTest, AKindAddedLaterIsCoveredByItself) {
  using namespace core::schema;
  Kind vault;
  vault.name = "test_vaults";
  vault.singular = "vault";
  vault.component = "TestVault";
  vault.fields = {str("name").req(), integer("size", 1, 10),
                  object("auth", {secret("token"), str("user")}), map("headers", secret("value"))};
  vault.example = R"({"name":"v"})";
  vault.in_resources_file = false;  // as the test kinds of admin_documents_test.cc: schema_test holds the others to the reader
  register_kind(vault);
  const char* file = R"(test_vaults:
  - { name: v1, size: 3, auth: { token: tok-secret-1, user: u }, headers: { x-key: hdr-secret-2 } }
)";
  EXPECT_FALSE(read_resources_file("test_vaults:\n  - { name: v1, size: 99 }\n", "t.yaml").errors.empty());
  TempDir a, b;
  SqliteStore one(db_path(a));
  apply(one, file);
  EXPECT_TRUE(changes(one, file).empty());
  auto stored = one.documents_of("test_vaults");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].second.find("secret"), std::string::npos) << "sealed at rest: " << stored[0].second;
  std::string exported = export_resources(one);
  EXPECT_EQ(exported.find("secret"), std::string::npos) << exported;
  EXPECT_NE(exported.find("test_vaults:"), std::string::npos) << exported;
  SqliteStore two(db_path(b));
  apply(two, exported);
  EXPECT_EQ(export_resources(two), exported);
  auto opened = two.get_document("test_vaults", "v1");
  ASSERT_TRUE(opened);
  EXPECT_NE(opened->find("tok-secret-1"), std::string::npos);
  EXPECT_NE(opened->find("hdr-secret-2"), std::string::npos);
}

}  // namespace
}  // namespace tollgate::store
