// A kind declared by one schema and nothing else (as a module adds one) gets the Admin API's
// generic routes, kept as documents in the store: validation with field errors, references
// checked, secrets write-only and sealed at rest, deletion refused while referred to, audit.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <filesystem>

#include "admin/admin_api.h"
#include "core/schema.h"
#include "store/sqlite_store.h"

namespace tollgate::admin {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace core::schema;

void register_test_kinds() {
  Kind gadget;
  gadget.name = "test_gadgets";
  gadget.singular = "gadget";
  gadget.component = "TestGadget";
  gadget.fields = {str("name").req(), integer("size", 1, 10)};
  gadget.example = R"({"name":"g"})";
  gadget.in_resources_file = false;  // kept in the store only
  register_kind(gadget);
  Kind widget;
  widget.name = "test_widgets";
  widget.singular = "widget";
  widget.component = "TestWidget";
  widget.fields = {str("name").req(), integer("size", 1, 10).dflt("1"), secret("token"),
                   list("gadgets", ref("gadget", "test_gadgets"))};
  widget.example = R"({"name":"w"})";
  widget.in_resources_file = false;
  register_kind(widget);
}

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("tg-docs-" + std::to_string(::getpid()));
  gateway::GatewayState state;
  std::shared_ptr<store::SqliteStore> store;
  std::unique_ptr<AdminApi> api;
  Fixture() {
    fs::remove_all(dir);
    register_test_kinds();
    state.config.admin_key = "adm";
    store = std::make_shared<store::SqliteStore>((dir / "t.db").string());
    api = std::make_unique<AdminApi>(state, store, [] { return true; });
  }
  ~Fixture() { fs::remove_all(dir); }
  std::pair<int, json::value> call(std::string method, std::string path, std::string body = "") {
    AdminReply r = api->handle({std::move(method), "/admin/v1" + path, "Bearer adm", std::move(body)});
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    return {r.status, ec ? json::value(r.body) : v};
  }
};

std::string fields_of(const json::value& error) {
  std::string out;
  for (const auto& e : error.at("error").at("errors").as_array())
    out += std::string(e.at("field").as_string()) + ": " + std::string(e.at("message").as_string()) + "\n";
  return out;
}

TEST(AdminDocuments, AKindDeclaredByItsSchemaAloneHasCrudRoutes) {
  Fixture f;
  EXPECT_EQ(f.call("GET", "/test_widgets").second.at("data").as_array().size(), 0u);

  auto [bad, bad_body] = f.call("POST", "/test_widgets", R"({"name":"w1","size":11,"color":"red","gadgets":["nope"]})");
  EXPECT_EQ(bad, 400);
  std::string errors = fields_of(bad_body);
  EXPECT_NE(errors.find("size: must be between 1 and 10, not 11"), std::string::npos) << errors;
  EXPECT_NE(errors.find("color: unknown field (expected one of: name, size, token, gadgets)"), std::string::npos) << errors;
  EXPECT_NE(errors.find("gadgets[0]: gadget \"nope\" is not declared"), std::string::npos) << errors;

  EXPECT_EQ(f.call("POST", "/test_gadgets", R"({"name":"g1","size":3})").first, 201);
  auto [created, widget] = f.call("POST", "/test_widgets", R"({"name":"w1","token":"s3cret-token","gadgets":["g1"]})");
  ASSERT_EQ(created, 201) << json::serialize(widget);
  EXPECT_FALSE(widget.as_object().contains("token")) << "secrets are write-only";
  EXPECT_EQ(f.call("POST", "/test_widgets", R"({"name":"w1"})").first, 409);

  // Sealed at rest; opened for the gateway's own use; kept by a write that leaves it out.
  std::string raw;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((f.dir / "t.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT doc FROM documents WHERE kind='test_widgets'", -1, &st, nullptr);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    raw = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  EXPECT_EQ(raw.find("s3cret-token"), std::string::npos) << raw;
  EXPECT_NE(raw.find("enc:v1:"), std::string::npos) << raw;
  EXPECT_EQ(f.call("PUT", "/test_widgets/w1", R"({"size":4,"gadgets":["g1"]})").first, 200);
  auto stored = json::parse(*f.store->get_document("test_widgets", "w1"));
  EXPECT_EQ(stored.at("token"), "s3cret-token");
  EXPECT_EQ(stored.at("size"), 4);
  auto [got, one] = f.call("GET", "/test_widgets/w1");
  EXPECT_EQ(got, 200);
  EXPECT_EQ(one.at("size"), 4);
  EXPECT_FALSE(one.as_object().contains("token"));

  // A gadget a widget names cannot go; once nothing names it, it can.
  auto [refused, why] = f.call("DELETE", "/test_gadgets/g1");
  EXPECT_EQ(refused, 409) << json::serialize(why);
  EXPECT_EQ(f.call("DELETE", "/test_widgets/w1").first, 200);
  EXPECT_EQ(f.call("GET", "/test_widgets/w1").first, 404);
  EXPECT_EQ(f.call("DELETE", "/test_gadgets/g1").first, 200);
  EXPECT_EQ(f.call("DELETE", "/test_gadgets/g1").first, 404);

  // Every write is in the audit log, without the secret.
  auto log = f.store->list_audit(100, 0);
  EXPECT_GE(log.size(), 7u);
  for (const auto& e : log) EXPECT_EQ((e.before + e.after).find("s3cret-token"), std::string::npos) << e.action;
  EXPECT_EQ(log[0].action, "DELETE /admin/v1/test_gadgets/g1");
  EXPECT_EQ(log[0].actor, "config");
}

}  // namespace
}  // namespace tollgate::admin
