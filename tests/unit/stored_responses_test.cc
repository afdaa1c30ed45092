// The stored Responses API answers (gateway/stored_responses.h): a key sees only its own, a
// chain's items come back oldest first, a deleted response is gone.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include "gateway/stored_responses.h"

namespace json = boost::json;
using tollgate::gateway::ResponseStore;

namespace {

struct TempDb {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("tollgate-responses-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  TempDb() { std::filesystem::create_directories(dir); }
  ~TempDb() { std::filesystem::remove_all(dir); }
  std::string path() const { return (dir / "r.db").string(); }
};

json::object response(std::string_view text) {
  return json::parse(fmt::format(R"({{"id":"x","output":[{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"{}"}}]}}]}})", text))
      .as_object();
}

}  // namespace

TEST(StoredResponses, ChainKeyIsolationAndDelete) {
  TempDb db;
  auto opened = ResponseStore::open_sqlite(db.path(), 30, tollgate::store::SecretBox(std::array<unsigned char, 32>{1}));
  ResponseStore& store = *opened;
  auto in1 = json::parse(R"([{"type":"message","role":"user","content":"one"}])").as_array();
  auto in2 = json::parse(R"([{"type":"message","role":"user","content":"two"}])").as_array();
  store.put("resp_tg1", "key-a", response("A1"), in1, "");
  store.put("resp_tg2", "key-a", response("A2"), in2, "resp_tg1");

  json::array items;
  ASSERT_TRUE(store.history("resp_tg2", "key-a", items));
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].at("content"), "one");
  EXPECT_EQ(items[1].at("content").at(0).at("text"), "A1");
  EXPECT_EQ(items[2].at("content"), "two");
  EXPECT_EQ(items[3].at("content").at(0).at("text"), "A2");

  json::array none;
  EXPECT_FALSE(store.history("resp_tg2", "key-b", none));
  EXPECT_FALSE(store.get("resp_tg1", "key-b"));
  EXPECT_FALSE(store.remove("resp_tg1", "key-b"));

  auto got = store.get("resp_tg2", "key-a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->previous_id, "resp_tg1");
  EXPECT_EQ(json::serialize(got->input_items), json::serialize(in2));

  EXPECT_TRUE(store.remove("resp_tg1", "key-a"));
  EXPECT_FALSE(store.get("resp_tg1", "key-a"));
  json::array broken;
  EXPECT_FALSE(store.history("resp_tg2", "key-a", broken)) << "a chain with a deleted link is not continued";

  // Reopened: what was stored is still there.
  auto again = ResponseStore::open_sqlite(db.path(), 30, tollgate::store::SecretBox(std::array<unsigned char, 32>{1}));
  EXPECT_TRUE(again->get("resp_tg2", "key-a"));
}

// A response that continues nothing is kept with an empty previous id, also when the view has
// no data pointer (the fast path passes a default string_view); an upstream's id is kept as is.
TEST(StoredResponses, EmptyPreviousIdViewAndUpstreamIds) {
  TempDb db;
  auto store = ResponseStore::open_sqlite(db.path(), 30, tollgate::store::SecretBox(std::array<unsigned char, 32>{1}));
  auto in = json::parse(R"([{"type":"message","role":"user","content":"hi"}])").as_array();
  store->put("resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452e3a8", "key-a", response("up"), in, std::string_view{});
  auto got = store->get("resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452e3a8", "key-a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->previous_id, "");
  json::array items;
  ASSERT_TRUE(store->history("resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452e3a8", "key-a", items));
  EXPECT_EQ(items.size(), 2u);
}

// Opened on the first put or get (issue 18: idle RSS); a path that cannot hold the database
// still fails at open, i.e. at start.
TEST(StoredResponses, ABadPathFailsAtOpenAndTheFileIsWrittenOnlyOnFirstUse) {
  TempDb db;
  tollgate::store::SecretBox seal(std::array<unsigned char, 32>{1});
  { std::ofstream(db.dir / "text.db") << std::string(200, 'x'); }
  EXPECT_THROW(ResponseStore::open_sqlite((db.dir / "text.db").string(), 30, seal), std::runtime_error);
  EXPECT_THROW(ResponseStore::open_sqlite((db.dir / "text.db" / "r.db").string(), 30, seal), std::runtime_error);

  auto store = ResponseStore::open_sqlite(db.path(), 30, seal);
  EXPECT_EQ(std::filesystem::file_size(db.path()), 0u);
  EXPECT_FALSE(store->get("resp_none", "key-a"));
  store->put("resp_tg1", "key-a", response("A1"), json::array{}, "");
  EXPECT_TRUE(ResponseStore::open_sqlite(db.path(), 30, seal)->get("resp_tg1", "key-a"));
}
