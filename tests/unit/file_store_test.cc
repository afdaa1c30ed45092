// The resources file as a store: read-only, and a change is noticed with one stat().
#include "store/file_store.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tollgate::store {
namespace {

namespace fs = std::filesystem;

using test_support::TempDir;

std::string all_errors(const core::ParseResult& r) {
  std::string all;
  for (const core::ConfigError& e : r.errors) all += e.to_string() + "\n";
  return all;
}

TEST(FileStore, LoadsTheFileAndNoticesWhenItChanges) {
  TempDir dir;
  fs::path file = dir.path() / "resources.yaml";
  std::ofstream(file) << "providers: [{ name: p, kind: openai }]\n";
  FileStore store(file.string());
  EXPECT_EQ(store.describe(), "file:" + file.string());
  EXPECT_TRUE(store.changed());
  core::ParseResult r = store.load();
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.resources.providers.size(), 1u);
  EXPECT_FALSE(store.changed());

  std::ofstream(file) << "providers: [{ name: p, kind: openai }, { name: q, kind: anthropic }]\n";
  EXPECT_TRUE(store.changed());
  EXPECT_EQ(store.load().resources.providers.size(), 2u);
  EXPECT_FALSE(store.changed());

  // Replaced by rename, as editors and `kubectl` ConfigMap updates do.
  fs::path next = dir.path() / "next.yaml";
  std::ofstream(next) << "providers: [{ name: p, kind: openai }, { name: r, kind: anthropic }]\n";
  fs::rename(next, file);
  EXPECT_TRUE(store.changed());
  EXPECT_EQ(store.load().resources.providers.at(1).name, "r");

  fs::remove(file);
  EXPECT_TRUE(store.changed());
  core::ParseResult gone = store.load();
  ASSERT_EQ(gone.errors.size(), 1u);
  EXPECT_EQ(gone.errors[0].source, file.string());
}

TEST(FileStore, ErrorsNameTheFile) {
  TempDir dir;
  fs::path file = dir.path() / "resources.yaml";
  std::ofstream(file) << "providers:\n  - { name: p, kind: openai, tiemouts: {} }\n";
  core::ParseResult r = FileStore(file.string()).load();
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string().substr(0, file.string().size() + 5), file.string() + ":2:30");
}

TEST(FileStore, IsReadOnly) {
  FileStore store("/etc/tollgate/resources.yaml");
  EXPECT_FALSE(store.writable());
  try {
    store.create_key("k", {});
    FAIL() << "a read-only store created a key";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "the resources file /etc/tollgate/resources.yaml is read-only: edit it and send "
                 "SIGHUP, or use the sqlite store");
  }
  EXPECT_THROW(store.put_provider(core::Provider{}), std::runtime_error);
  EXPECT_THROW(store.put_model(core::Model{}), std::runtime_error);
  EXPECT_THROW(store.remove_provider("p"), std::runtime_error);
  EXPECT_THROW(store.revoke_key("k"), std::runtime_error);
}

}  // namespace
}  // namespace tollgate::store
