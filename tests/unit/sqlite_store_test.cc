// The SQLite store: created on first use, writes that load back through the same validation
// as a YAML file, keys kept only as hashes, and changes by other processes noticed.
#include "store/sqlite_store.h"
#include "store/sqlite_loader.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>


namespace tollgate::store {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

// A second connection, as another gateway process or `tollgate keys` would have.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  }
  // Every value of every column of a table, as text.
  std::vector<std::string> dump(const std::string& table) {
    std::vector<std::string> values;
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, ("SELECT * FROM " + table).c_str(), -1, &st, nullptr), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        values.emplace_back(t ? reinterpret_cast<const char*>(t) : "NULL");
      }
    }
    sqlite3_finalize(st);
    return values;
  }
  std::string one(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

std::string all_errors(const core::ParseResult& r) {
  std::string all;
  for (const core::ConfigError& e : r.errors) all += e.to_string() + "\n";
  return all;
}

const core::ConfigError* error_from(const core::ParseResult& r, const std::string& source) {
  for (const core::ConfigError& e : r.errors) {
    if (e.source == source) return &e;
  }
  ADD_FAILURE() << "no error from " << source << "; errors:\n" << all_errors(r);
  return nullptr;
}

core::Provider provider(const std::string& name) {
  core::Provider p;
  p.name = name;
  p.kind = core::ProviderKind::openai;
  return p;
}

core::Model model(const std::string& name, const std::string& provider_name) {
  core::Model m;
  m.name = name;
  m.targets.push_back({provider_name, "gpt-4o", 1, 0});
  return m;
}

TEST(SqliteStore, CreatesTheFileItsDirectoryAndTheSchemaOnFirstOpen) {
  TempDir dir;
  fs::path db = dir.path() / "nested" / "deeper" / "tollgate.db";
  {
    SqliteStore store(db.string());
    EXPECT_TRUE(store.writable());
    EXPECT_EQ(store.describe(), "sqlite:" + db.string());
    core::ParseResult r = store.load();
    EXPECT_TRUE(r.ok()) << all_errors(r);
    EXPECT_TRUE(r.resources.providers.empty());
  }
  ASSERT_TRUE(fs::exists(db));
  RawDb raw(db);
  EXPECT_EQ(raw.one("PRAGMA journal_mode"), "wal");
  for (const char* table : {"providers", "models", "keys"}) {
    EXPECT_EQ(raw.one(std::string("SELECT name FROM sqlite_master WHERE type='table' AND name='") +
                      table + "'"),
              table);
  }
  // Opening again keeps what is there.
  raw.exec("INSERT INTO providers (name, doc, updated_at) VALUES ('p', '{\"name\":\"p\",\"kind\":\"openai\"}', 0)");
  SqliteStore again(db.string());
  EXPECT_EQ(again.load().resources.providers.size(), 1u);
}

TEST(SqliteStore, FailsClearlyWhenTheFileCannotBeCreated) {
  TempDir dir;
  fs::create_directories(dir.path());
  std::ofstream(dir.path() / "a-file") << "x";
  EXPECT_THROW(SqliteStore((dir.path() / "a-file" / "tollgate.db").string()), std::runtime_error);
}

TEST(SqliteStore, ProvidersAndModelsRoundTripThroughLoad) {
  TempDir dir;
  SqliteStore store((dir.path() / "t.db").string());
  core::Provider p;
  p.name = "azure-east";
  p.kind = core::ProviderKind::azure;
  p.base_url = "https://east.openai.azure.com/openai";
  p.api_key = "literal-secret";
  p.api_version = "2024-10-21";
  p.headers = {{"X-Org", "abc"}, {"X-Team", "ml"}};
  p.timeouts.connect = std::chrono::milliseconds(1234);
  p.timeouts.idle = std::chrono::milliseconds(999);
  p.verify_tls = false;
  store.put_provider(p);
  store.put_provider(provider("openai-main"));

  core::Model m;
  m.name = "smart/v1:latest";
  m.strategy = "least-latency";
  m.targets = {{"azure-east", "gpt-4o", 3, 1}, {"openai-main", "gpt-4o-mini", 1, 2},
               {"demo", "echo", 0, 9}};
  store.put_model(m);

  core::ParseResult r = store.load();
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.resources.providers.size(), 2u);
  const core::Provider& got = r.resources.providers[0];  // rows come back ordered by name
  EXPECT_EQ(got.name, "azure-east");
  EXPECT_EQ(got.kind, core::ProviderKind::azure);
  EXPECT_EQ(got.base_url, p.base_url);
  EXPECT_EQ(got.api_key, "literal-secret");
  EXPECT_EQ(got.api_version, "2024-10-21");
  EXPECT_EQ(got.headers, p.headers);
  EXPECT_EQ(got.timeouts.connect.count(), 1234);
  EXPECT_EQ(got.timeouts.read.count(), 120000);
  EXPECT_EQ(got.timeouts.idle.count(), 999);
  EXPECT_FALSE(got.verify_tls);
  EXPECT_TRUE(r.resources.providers[1].verify_tls);

  ASSERT_EQ(r.resources.models.size(), 1u);
  const core::Model& gm = r.resources.models[0];
  EXPECT_EQ(gm.name, "smart/v1:latest");
  EXPECT_EQ(gm.strategy, "least-latency");
  ASSERT_EQ(gm.targets.size(), 3u);
  EXPECT_EQ(gm.targets[0].provider, "azure-east");
  EXPECT_EQ(gm.targets[0].weight, 3u);
  EXPECT_EQ(gm.targets[1].priority, 2u);
  EXPECT_EQ(gm.targets[2].provider, "demo");

  // A put with the same name replaces.
  m.strategy = "fallback";
  store.put_model(m);
  EXPECT_EQ(store.load().resources.models.at(0).strategy, "fallback");
}

TEST(SqliteStore, KeepsAnEnvReferenceAsAReferenceAndResolvesItAtLoad) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  SqliteStore store(db.string());
  setenv("TG_TEST_STORE_KEY", "sk-from-env", 1);
  core::Provider p = provider("openai-main");
  p.api_key = "${TG_TEST_STORE_KEY}";
  store.put_provider(p);
  EXPECT_EQ(store.load().resources.providers.at(0).api_key, "sk-from-env");
  setenv("TG_TEST_STORE_KEY", "sk-rotated", 1);
  EXPECT_EQ(store.load().resources.providers.at(0).api_key, "sk-rotated");
  unsetenv("TG_TEST_STORE_KEY");

  RawDb raw(db);
  EXPECT_NE(raw.one("SELECT doc FROM providers").find("${TG_TEST_STORE_KEY}"), std::string::npos);
  core::ParseResult r = store.load();
  const core::ConfigError* e = error_from(r, "sqlite:providers/openai-main");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->field, "api_key");
  EXPECT_NE(e->message.find("TG_TEST_STORE_KEY"), std::string::npos);
}

TEST(SqliteStore, RefusesWritesThatWouldNotLoad) {
  TempDir dir;
  SqliteStore store((dir.path() / "t.db").string());
  unsetenv("TG_TEST_STORE_MISSING");

  core::Provider missing_env = provider("p");
  missing_env.api_key = "${TG_TEST_STORE_MISSING}";
  try {
    store.put_provider(missing_env);
    FAIL() << "accepted a provider whose key cannot resolve";
  } catch (const InvalidResource& e) {
    ASSERT_EQ(e.errors.size(), 1u);
    EXPECT_EQ(e.errors[0].field, "api_key");
    EXPECT_NE(std::string(e.what()).find("TG_TEST_STORE_MISSING"), std::string::npos);
  }

  core::Provider no_url = provider("compat");
  no_url.kind = core::ProviderKind::openai_compatible;
  EXPECT_THROW(store.put_provider(no_url), InvalidResource);
  EXPECT_THROW(store.put_provider(provider("bad name")), InvalidResource);

  try {
    store.put_model(model("m", "not-stored"));
    FAIL() << "accepted a model whose provider is not stored";
  } catch (const InvalidResource& e) {
    ASSERT_EQ(e.errors.size(), 1u);
    EXPECT_EQ(e.errors[0].field, "targets[0].provider");
  }
  core::Model bad_strategy = model("m", "demo");
  bad_strategy.strategy = "random";
  EXPECT_THROW(store.put_model(bad_strategy), InvalidResource);

  core::ParseResult r = store.load();
  EXPECT_TRUE(r.resources.providers.empty());
  EXPECT_TRUE(r.resources.models.empty());
}

TEST(SqliteStore, CreateKeyStoresOnlyTheHashAndReturnsTheSecretOnce) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  SqliteStore store(db.string());
  store.put_provider(provider("openai-main"));
  store.put_model(model("smart", "openai-main"));

  CreatedKey created = store.create_key("team-a", {"smart", "openai-main/*"});
  EXPECT_TRUE(std::regex_match(created.secret, std::regex("tg-[A-Za-z0-9_-]{43}"))) << created.secret;
  EXPECT_EQ(created.key.hash_hex, sha256_hex(created.secret));
  EXPECT_EQ(created.key.id, "key_" + created.key.hash_hex.substr(0, 12));
  EXPECT_EQ(created.key.prefix, created.secret.substr(0, 8));
  EXPECT_EQ(created.key.name, "team-a");

  RawDb raw(db);
  for (const std::string& value : raw.dump("keys")) {
    EXPECT_EQ(value.find(created.secret), std::string::npos) << "the secret is stored: " << value;
  }
  EXPECT_EQ(raw.one("SELECT hash FROM keys WHERE name = 'team-a'"), created.key.hash_hex);

  core::ParseResult r = store.load();
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.resources.keys.size(), 1u);
  const core::Key& k = r.resources.keys[0];
  EXPECT_EQ(k.id, created.key.id);
  EXPECT_EQ(k.name, "team-a");
  EXPECT_EQ(k.hash_hex, created.key.hash_hex);
  EXPECT_EQ(k.prefix, created.key.prefix);
  EXPECT_EQ(k.rules().models, (std::vector<std::string>{"smart", "openai-main/*"}));

  CreatedKey other = store.create_key("team-b", {});
  EXPECT_NE(other.secret, created.secret);
  EXPECT_TRUE(store.load().resources.keys.at(1).rules().models.empty());
}

TEST(SqliteStore, CreateKeyRejectsADuplicateNameAndUnknownModels) {
  TempDir dir;
  SqliteStore store((dir.path() / "t.db").string());
  store.create_key("team-a", {});
  try {
    store.create_key("team-a", {});
    FAIL() << "a second key took the name team-a";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(dynamic_cast<const ResourceConflict*>(&e), nullptr);
    EXPECT_NE(std::string(e.what()).find("\"team-a\" already exists"), std::string::npos) << e.what();
  }
  EXPECT_THROW(store.create_key("team-b", {"no-such-model"}), InvalidResource);
  EXPECT_THROW(store.create_key("", {}), InvalidResource);
  EXPECT_NO_THROW(store.create_key("team-c", {"*", "demo"}));
  EXPECT_EQ(store.load().resources.keys.size(), 2u);
}

TEST(SqliteStore, RevokedKeysAreNotLoadedAndKeepTheirName) {
  TempDir dir;
  SqliteStore store((dir.path() / "t.db").string());
  CreatedKey a = store.create_key("a", {});
  store.create_key("b", {});
  EXPECT_TRUE(store.revoke_key(a.key.id));
  EXPECT_FALSE(store.revoke_key(a.key.id));  // already revoked
  EXPECT_TRUE(store.revoke_key("b"));        // by name too
  EXPECT_FALSE(store.revoke_key("nobody"));
  EXPECT_TRUE(store.load().resources.keys.empty());
  EXPECT_THROW(store.create_key("a", {}), ResourceConflict);
}

TEST(SqliteStore, RemovesProvidersAndModels) {
  TempDir dir;
  SqliteStore store((dir.path() / "t.db").string());
  store.put_provider(provider("p"));
  store.put_model(model("m", "p"));
  EXPECT_TRUE(store.remove_model("m"));
  EXPECT_FALSE(store.remove_model("m"));
  EXPECT_TRUE(store.remove_provider("p"));
  core::ParseResult r = store.load();
  EXPECT_TRUE(r.resources.providers.empty());
  EXPECT_TRUE(r.resources.models.empty());
}

TEST(SqliteStore, ChangedSeesWritesByAnotherConnectionAndItsOwn) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  SqliteStore store(db.string());
  EXPECT_TRUE(store.changed());  // never loaded
  store.load();
  EXPECT_FALSE(store.changed());
  EXPECT_FALSE(store.changed());

  SqliteStore other(db.string());
  other.put_provider(provider("from-elsewhere"));
  EXPECT_TRUE(store.changed());
  EXPECT_EQ(store.load().resources.providers.size(), 1u);
  EXPECT_FALSE(store.changed());

  RawDb raw(db);
  raw.exec("UPDATE providers SET updated_at = 1");
  EXPECT_TRUE(store.changed());
  store.load();
  EXPECT_FALSE(store.changed());

  store.put_provider(provider("mine"));
  EXPECT_TRUE(store.changed());
  store.load();
  EXPECT_FALSE(store.changed());
  store.create_key("k", {});
  EXPECT_TRUE(store.changed());
}

// Issue 18: an idle gateway keeps no SQLite connection, nor the library, mapped. The store
// closes its connection after each load and after a change check that finds nothing, opens it
// again for a write or a read, and what it wrote is in the file for the next open.
TEST(SqliteStore, KeepsNoConnectionNorTheLibraryBetweenUsesAndWritesPersist) {
  TempDir dir;
  fs::path db = dir.path() / "data" / "tollgate.db";
  {
    SqliteStore store(db.string());
    EXPECT_TRUE(sqlite_library_loaded());  // opened to make the schema
    ASSERT_TRUE(store.load().ok());
    EXPECT_FALSE(sqlite_library_loaded());
    EXPECT_FALSE(store.changed());
    EXPECT_FALSE(store.changed());  // the files are as they were: SQLite is not even loaded to look
    EXPECT_FALSE(sqlite_library_loaded());

    store.put_provider(provider("p1"));  // an Admin API write: opened again
    EXPECT_TRUE(sqlite_library_loaded());
    EXPECT_TRUE(store.changed());
    core::ParseResult r = store.load();
    ASSERT_EQ(r.resources.providers.size(), 1u);
    EXPECT_FALSE(sqlite_library_loaded());

    EXPECT_EQ(store.list_keys(false).size(), 0u);  // an Admin API read opens it too...
    EXPECT_TRUE(sqlite_library_loaded());
    store.close_idle();  // ...and the API closes it after each call
    EXPECT_FALSE(sqlite_library_loaded());
    // The checks after our own write and close settle without a reload.
    for (int i = 0; i < 3; ++i) EXPECT_FALSE(store.changed());
    EXPECT_FALSE(sqlite_library_loaded());
  }
  // Written to the file: a new store (a restart) reads it back.
  SqliteStore again(db.string());
  core::ParseResult r = again.load();
  ASSERT_EQ(r.resources.providers.size(), 1u);
  EXPECT_EQ(r.resources.providers[0].name, "p1");
}

// Usage records go to the same file with the defaults: their commits are not resource changes
// (the poller reloaded the snapshot every second under traffic when it compared data_version),
// while a resource row written by anyone is.
TEST(SqliteStore, OtherTablesWrittenInTheFileAreNotAChangeButResourceRowsAre) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  SqliteStore store(db.string());
  ASSERT_TRUE(store.load().ok());
  RawDb raw(db);
  raw.exec("CREATE TABLE usage_like (id INTEGER PRIMARY KEY, v TEXT)");
  for (int i = 0; i < 3; ++i) {
    raw.exec("INSERT INTO usage_like (v) VALUES ('x')");
    EXPECT_FALSE(store.changed());
  }
  raw.exec("INSERT INTO providers (name, doc, updated_at) VALUES ('q', '{\"name\":\"q\",\"kind\":\"openai\"}', 0)");
  EXPECT_TRUE(store.changed());
  EXPECT_EQ(store.load().resources.providers.size(), 1u);
  EXPECT_FALSE(store.changed());
  raw.exec("DELETE FROM providers");
  EXPECT_TRUE(store.changed());
}

TEST(SqliteStore, AFileThatIsNotADatabaseStopsTheOpen) {
  TempDir dir;
  fs::create_directories(dir.path());
  { std::ofstream(dir.path() / "bad.db") << std::string(4096, 'x'); }
  try {
    SqliteStore store((dir.path() / "bad.db").string());
    ADD_FAILURE() << "a file that is not a database was opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a database"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(sqlite_library_loaded());
}

TEST(SqliteStore, BadRowsAreReportedByTheRowTheyAreIn) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  SqliteStore store(db.string());
  store.put_provider(provider("good"));
  CreatedKey k = store.create_key("good-key", {});
  RawDb raw(db);
  raw.exec(R"(INSERT INTO providers (name, doc, updated_at) VALUES ('typo', '{"name":"typo","kind":"openai","tiemouts":{}}', 0))");
  raw.exec(R"(INSERT INTO providers (name, doc, updated_at) VALUES ('badkind', '{"name":"badkind","kind":"openia"}', 0))");
  raw.exec(R"(INSERT INTO providers (name, doc, updated_at) VALUES ('renamed', '{"name":"other","kind":"openai"}', 0))");
  raw.exec(R"(INSERT INTO providers (name, doc, updated_at) VALUES ('notjson', '{"name": [', 0))");
  raw.exec(R"(INSERT INTO models (name, doc, updated_at) VALUES ('orphan', '{"name":"orphan","targets":[{"provider":"ghost","model":"x"}]}', 0))");
  raw.exec(R"(INSERT INTO keys (id, name, hash, prefix, models) VALUES ('key_x', 'scoped', ')" +
           std::string(64, 'c') + R"(', '', '["nope"]'))");
  raw.exec(R"(INSERT INTO keys (id, name, hash, prefix, models) VALUES ('key_y', 'garbled', ')" +
           std::string(64, 'd') + R"(', '', 'not json'))");

  core::ParseResult r = store.load();
  EXPECT_FALSE(r.ok());
  const core::ConfigError* typo = error_from(r, "sqlite:providers/typo");
  ASSERT_NE(typo, nullptr);
  EXPECT_EQ(typo->field, "tiemouts");
  const core::ConfigError* kind = error_from(r, "sqlite:providers/badkind");
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->field, "kind");
  const core::ConfigError* renamed = error_from(r, "sqlite:providers/renamed");
  ASSERT_NE(renamed, nullptr);
  EXPECT_EQ(renamed->field, "name");
  EXPECT_NE(error_from(r, "sqlite:providers/notjson"), nullptr);
  const core::ConfigError* orphan = error_from(r, "sqlite:models/orphan");
  ASSERT_NE(orphan, nullptr);
  EXPECT_EQ(orphan->field, "targets[0].provider");
  EXPECT_EQ(orphan->to_string(),
            "sqlite:models/orphan: targets[0].provider: provider \"ghost\" is not declared");
  const core::ConfigError* scoped = error_from(r, "sqlite:keys/scoped");
  ASSERT_NE(scoped, nullptr);
  EXPECT_EQ(scoped->field, "models[0]");
  const core::ConfigError* garbled = error_from(r, "sqlite:keys/garbled");
  ASSERT_NE(garbled, nullptr);
  EXPECT_EQ(garbled->field, "models");

  // The good rows still come back, so a caller can show what is fine and what is not.
  bool good_provider = false;
  for (const core::Provider& p : r.resources.providers) good_provider = good_provider || p.name == "good";
  EXPECT_TRUE(good_provider);
  bool good_key = false;
  for (const core::Key& key : r.resources.keys) good_key = good_key || key.id == k.key.id;
  EXPECT_TRUE(good_key);
}

TEST(Keys, SecretsAreRandomBase64UrlWithThePrefix) {
  std::string a = generate_key_secret();
  std::string b = generate_key_secret();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.size(), 46u);
  EXPECT_TRUE(std::regex_match(a, std::regex("tg-[A-Za-z0-9_-]{43}"))) << a;
}

TEST(Keys, Sha256MatchesKnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Keys, KeyForSecretDerivesIdAndPrefix) {
  core::Key k = key_for_secret("tg-abcdefghij", "ci", {"m"});
  EXPECT_EQ(k.hash_hex, sha256_hex("tg-abcdefghij"));
  EXPECT_EQ(k.id, "key_" + k.hash_hex.substr(0, 12));
  EXPECT_EQ(k.prefix, "tg-abcde");
  EXPECT_EQ(k.name, "ci");
  EXPECT_EQ(k.rules().models, std::vector<std::string>{"m"});
}

TEST(OpenStore, PicksTheStoreByKind) {
  TempDir dir;
  auto sqlite = open_store({"sqlite", (dir.path() / "x.db").string()});
  EXPECT_TRUE(sqlite->writable());
  auto file = open_store({"file", (dir.path() / "resources.yaml").string()});
  EXPECT_FALSE(file->writable());
  EXPECT_THROW(open_store({"etcd", "x"}), std::invalid_argument);
}


TEST(SqliteStore, McpServersAndKeyGrantsRoundTripWithCredentialsSealed) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  {
    SqliteStore store(db.string());
    core::McpServer s;
    s.name = "github";
    s.url = "https://mcp.example.com/mcp";
    s.headers["X-Api-Key"] = "hdr-$ecret-123";
    s.oauth2 = {"https://auth.example.com/token", "gw", "client-$ecret-456", {"tools"}};
    s.exclude = {"delete_*"};
    s.prefix = "";
    store.put_mcp_server(s);
    core::ParseResult loaded = store.load();
    ASSERT_TRUE(loaded.ok()) << all_errors(loaded);
    ASSERT_EQ(loaded.resources.mcp_servers.size(), 1u);
    const auto& back = loaded.resources.mcp_servers[0];
    EXPECT_EQ(back.headers.at("X-Api-Key"), "hdr-$ecret-123");
    EXPECT_EQ(back.oauth2.client_secret, "client-$ecret-456");
    EXPECT_EQ(back.exclude, std::vector<std::string>{"delete_*"});
    ASSERT_TRUE(back.prefix);
    EXPECT_EQ(*back.prefix, "");
    core::Key k;
    k.edit_rules().mcp = core::McpGrant{{"github__*"}, {"github__merge_*"}, true, {}, {}};
    std::string settings = key_settings_document(k);
    EXPECT_NE(settings.find("\"mcp\""), std::string::npos) << settings;
    EXPECT_TRUE(store.remove_mcp_server("github"));
    EXPECT_FALSE(store.remove_mcp_server("github"));
    store.put_mcp_server(s);
  }
  RawDb raw(db);
  std::string all;
  for (const auto& v : raw.dump("mcp_servers")) all += v + "\n";
  EXPECT_EQ(all.find("$ecret"), std::string::npos) << all;
  EXPECT_NE(all.find("enc:v1:"), std::string::npos) << all;
}

TEST(SqliteStore, LiteralCredentialsAreSealedAtRestAndReferencesAreKept) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  {
    SqliteStore store(db.string());
    core::Provider p = provider("sealed");
    p.api_key = "sk-live-$ecret-1234567890";
    store.put_provider(p);
    core::Provider r = provider("referenced");
    setenv("TG_TEST_SEALED_REF", "from-env", 1);
    r.api_key = "${TG_TEST_SEALED_REF}";
    store.put_provider(r);

    core::ParseResult loaded = store.load();
    ASSERT_TRUE(loaded.ok());
    std::map<std::string, std::string> keys;
    for (const auto& q : loaded.resources.providers) keys[q.name] = q.api_key;
    EXPECT_EQ(keys["sealed"], "sk-live-$ecret-1234567890");
    EXPECT_EQ(keys["referenced"], "from-env");
  }
  RawDb raw(db);
  std::string all;
  for (const auto& v : raw.dump("providers")) all += v + "\n";
  EXPECT_EQ(all.find("sk-live-$ecret"), std::string::npos) << all;
  EXPECT_NE(all.find("enc:v1:"), std::string::npos) << all;
  EXPECT_NE(all.find("${TG_TEST_SEALED_REF}"), std::string::npos) << all;
  // The key file the seal used sits beside the database, readable by the owner only.
  auto perms = fs::status(dir.path() / "secret.key").permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);

  // Another key cannot open it: the store is refused, never served with garbage.
  setenv("TOLLGATE_SECRET_KEY", "some other passphrase", 1);
  try {
    SqliteStore other(db.string());
    ADD_FAILURE() << "a store sealed with another key was opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("sealed with another secret key"), std::string::npos)
        << e.what();
  }
  unsetenv("TOLLGATE_SECRET_KEY");
}

// Replicas share one TOLLGATE_SECRET_KEY; the store keeps a key check value, and a replica
// with another key is refused with a clear message, before serving anything.
TEST(SqliteStore, AnotherSecretKeyIsRefusedByTheKeyCheckValue) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  setenv("TOLLGATE_SECRET_KEY", "the shared passphrase", 1);
  {
    SqliteStore store(db.string());
    core::Provider p = provider("sealed");
    p.api_key = "sk-live-shared-1234567890";
    store.put_provider(p);
  }
  RawDb raw(db);
  EXPECT_NE(raw.one("SELECT value FROM meta WHERE key = 'secret_check'").find("enc:v1:"),
            std::string::npos);
  {
    SqliteStore same(db.string());  // a second replica with the same key
    core::ParseResult loaded = same.load();
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(loaded.resources.providers[0].api_key, "sk-live-shared-1234567890");
  }
  // The check value alone decides, even with no sealed credential left.
  raw.exec("DELETE FROM providers");
  setenv("TOLLGATE_SECRET_KEY", "a different passphrase", 1);
  EXPECT_THROW(SqliteStore other(db.string()), std::runtime_error);
  unsetenv("TOLLGATE_SECRET_KEY");
}

// Every resource row has a version that moves with each write of it; a write made under an
// ExpectVersion (the Admin API's If-Match) that finds another version is refused whole.
TEST(SqliteStore, VersionsMoveWithEachWriteAndStaleWritesAreRefused) {
  TempDir dir;
  SqliteStore store((dir.path() / "t.db").string());
  store.put_provider(provider("p"));
  EXPECT_EQ(store.version_of("providers", "p"), 1);
  store.put_provider(provider("p"));
  EXPECT_EQ(store.version_of("providers", "p"), 2);
  EXPECT_EQ(store.version_of("providers", "ghost"), std::nullopt);
  {
    ExpectVersion expect(1);
    try {
      store.put_provider(provider("p"));
      ADD_FAILURE() << "a stale write went through";
    } catch (const StaleWrite& e) {
      EXPECT_EQ(e.current, 2);
    }
    EXPECT_THROW(store.remove_provider("p"), StaleWrite);
  }
  EXPECT_EQ(store.version_of("providers", "p"), 2);
  {
    ExpectVersion expect(2);
    store.put_provider(provider("p"));
  }
  EXPECT_EQ(store.version_of("providers", "p"), 3);

  CreatedKey k = store.create_key("k", {});
  EXPECT_EQ(store.version_of("keys", k.key.id), 1);
  EXPECT_TRUE(store.revoke_key("k"));
  EXPECT_EQ(store.version_of("keys", "k"), 2);
  store.put_document("admin_keys", "a", R"({"name":"a"})");
  store.put_document("admin_keys", "a", R"({"name":"a"})");
  EXPECT_EQ(store.version_of("admin_keys", "a"), 2);
  {
    ExpectVersion expect(1);
    EXPECT_THROW(store.remove_document("admin_keys", "a"), StaleWrite);
  }
}

// The store carries its schema version (PRAGMA user_version): an old store is migrated once,
// a newer one is refused with a clear message.
TEST(SqliteStore, SchemaVersionMigratesOldStoresAndRefusesNewerOnes) {
  TempDir dir;
  fs::path db = dir.path() / "t.db";
  fs::create_directories(dir.path());
  {
    RawDb raw(db);  // a version-0 store: keys without settings, no meta table
    raw.exec("CREATE TABLE keys (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, hash TEXT UNIQUE "
             "NOT NULL, prefix TEXT, models TEXT, expires_at INTEGER, created_at INTEGER, "
             "revoked_at INTEGER)");
  }
  { SqliteStore store(db.string()); }
  {
    RawDb raw(db);
    EXPECT_EQ(raw.one("PRAGMA user_version"), "2");
    EXPECT_EQ(raw.one("SELECT COUNT(*) FROM pragma_table_info('keys') WHERE name = 'settings'"), "1");
    EXPECT_EQ(raw.one("SELECT COUNT(*) FROM pragma_table_info('keys') WHERE name = 'version'"), "1");
    EXPECT_EQ(raw.one("SELECT COUNT(*) FROM sqlite_master WHERE name = 'meta'"), "1");
  }
  { SqliteStore again(db.string()); }  // already current: nothing to do
  {
    RawDb raw(db);
    raw.exec("PRAGMA user_version = 99");
  }
  try {
    SqliteStore newer(db.string());
    ADD_FAILURE() << "a newer store was opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99, newer than this tollgate knows (2)"),
              std::string::npos)
        << e.what();
  }
  RawDb raw(db);
  EXPECT_EQ(raw.one("PRAGMA user_version"), "99");  // left as it was
}

}  // namespace
}  // namespace tollgate::store

namespace tollgate::store {
namespace {

// Kinds kept as documents (admin keys, kinds to come): by kind and name, beside an older file's
// tables, which stay as they were; the audit log, newest first.
TEST(SqliteStore, DocumentsByKindAndTheAuditLogOnAnOlderFile) {
  TempDir dir;
  fs::path db = dir.path() / "old.db";
  fs::create_directories(dir.path());
  {
    // A file from before documents and audit existed.
    RawDb raw(db);
    raw.exec("CREATE TABLE providers (name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at INTEGER)");
    raw.exec("INSERT INTO providers VALUES ('p', '{\"name\":\"p\",\"kind\":\"openai\"}', 0)");
  }
  SqliteStore store(db.string());
  EXPECT_EQ(store.load().resources.providers.size(), 1u);
  EXPECT_TRUE(store.list_documents("widgets").empty());
  store.put_document("widgets", "b", R"({"name":"b"})");
  store.put_document("widgets", "a", R"({"name":"a"})");
  store.put_document("other", "a", R"({"name":"a","x":1})");
  store.put_document("widgets", "a", R"({"name":"a","v":2})");
  auto widgets = store.list_documents("widgets");
  ASSERT_EQ(widgets.size(), 2u);
  EXPECT_EQ(widgets[0], (std::pair<std::string, std::string>{"a", R"({"name":"a","v":2})"}));
  EXPECT_EQ(store.get_document("other", "a").value(), R"({"name":"a","x":1})");
  EXPECT_FALSE(store.get_document("widgets", "c"));
  EXPECT_TRUE(store.remove_document("widgets", "a"));
  EXPECT_FALSE(store.remove_document("widgets", "a"));
  EXPECT_EQ(store.list_documents("widgets").size(), 1u);

  store.append_audit({1000, "config", "POST /admin/v1/providers", 201, "providers", "p", "null", R"({"name":"p"})"});
  store.append_audit({2000, "admin_key:ops", "DELETE /admin/v1/providers/p", 200, "providers", "p", R"({"name":"p"})", "null"});
  auto log = store.list_audit(10, 0);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].actor, "admin_key:ops");
  EXPECT_EQ(log[0].before, R"({"name":"p"})");
  EXPECT_EQ(log[1].status, 201);
  EXPECT_EQ(store.list_audit(1, 1).at(0).ts_ms, 1000);
  // A second connection (another process) sees them.
  SqliteStore again(db.string());
  EXPECT_EQ(again.list_documents("widgets").size(), 1u);
  EXPECT_EQ(again.list_audit(10, 0).size(), 2u);
}

}  // namespace
}  // namespace tollgate::store
