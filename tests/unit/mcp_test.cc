// The MCP gateway's pure parts: name minting and mapping, globs and grants, the JSON-RPC
// message model and the mirrored-header encoding, sealed session ids, and the per-server series.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "mcp/governance.h"
#include "mcp/message.h"
#include "mcp/names.h"
#include "mcp/session.h"
#include "mcp/stats.h"

using namespace tollgate;
namespace json = boost::json;

TEST(McpNames, ShortValidNamesAreKeptWithTheirPrefix) {
  EXPECT_EQ(mcp::mint("github", "create_issue"), "github__create_issue");
  EXPECT_EQ(mcp::mint("", "test_simple_text"), "test_simple_text");
  std::string_view rest;
  ASSERT_TRUE(mcp::strip_prefix("github", "github__create_issue", rest));
  EXPECT_EQ(rest, "create_issue");
  EXPECT_FALSE(mcp::strip_prefix("github", "gitlab__x", rest));
}

TEST(McpNames, LongOrInvalidNamesAreShortenedDeterministically) {
  std::string long_name(120, 'x');
  std::string a = mcp::mint("server", long_name);
  EXPECT_LE(a.size(), 64u);
  EXPECT_TRUE(mcp::is_llm_name(a));
  EXPECT_EQ(a, mcp::mint("server", long_name));
  EXPECT_NE(a, mcp::mint("server", long_name + "y"));  // the hash keeps cut names apart
  std::string dotted = mcp::mint("s", "files.read");
  EXPECT_TRUE(mcp::is_llm_name(dotted));
  EXPECT_NE(dotted, mcp::mint("s", "files_read"));  // '.' -> '_' does not collide
}

TEST(McpNames, Globs) {
  EXPECT_TRUE(mcp::glob_match("github__*", "github__merge_pr"));
  EXPECT_TRUE(mcp::glob_match("*", ""));
  EXPECT_TRUE(mcp::glob_match("a?c*", "abcdef"));
  EXPECT_FALSE(mcp::glob_match("github__merge_*", "github__create"));
  EXPECT_TRUE(mcp::glob_match("*__read_*", "fs__read_file"));
}

TEST(McpGovernance, DenyWinsAndNoGrantIsNoAccess) {
  core::Key k;
  k.id = "key_1";
  EXPECT_FALSE(mcp::permitted(k, "github", "create_issue"));
  k.edit_rules().mcp = core::McpGrant{};
  k.edit_rules().mcp->allow = {"github__*"};
  k.edit_rules().mcp->deny = {"github__merge_*"};
  EXPECT_TRUE(mcp::permitted(k, "github", "create_issue"));
  EXPECT_FALSE(mcp::permitted(k, "github", "merge_pr"));
  EXPECT_FALSE(mcp::permitted(k, "gitlab", "create_issue"));
  EXPECT_TRUE(mcp::may_reach(k, "github"));
  EXPECT_FALSE(mcp::may_reach(k, "gitlab"));
  k.edit_rules().mcp->allow = {"fs__read_*"};
  EXPECT_TRUE(mcp::may_reach(k, "fs"));
  EXPECT_FALSE(mcp::may_reach(k, "fsx"));
  k.edit_rules().mcp->read_only = true;
  core::McpServer s;
  s.name = "fs";
  auto ro = json::parse(R"({"name":"read_file","annotations":{"readOnlyHint":true}})").as_object();
  auto rw = json::parse(R"({"name":"read_write"})").as_object();
  EXPECT_TRUE(mcp::tool_visible(k, s, ro));
  EXPECT_FALSE(mcp::tool_visible(k, s, rw));
  s.exclude = {"read_f*"};
  EXPECT_FALSE(mcp::tool_visible(k, s, ro));
}

TEST(McpMessage, ParsesRequestsAndRejectsWhatIsNotOne) {
  mcp::Message m;
  std::string err;
  ASSERT_FALSE(mcp::parse_message(
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})",
      m, err));
  EXPECT_EQ(m.kind, mcp::Kind::request);
  EXPECT_EQ(m.subject(), "x");
  EXPECT_EQ(m.meta_string(mcp::kMetaVersion), "2026-07-28");
  mcp::Message n;
  EXPECT_EQ(mcp::parse_message("[1]", n, err), mcp::code::invalid_request);
  EXPECT_EQ(mcp::parse_message("{", n, err), mcp::code::parse_error);
  EXPECT_EQ(mcp::parse_message(R"({"jsonrpc":"1.0","method":"x"})", n, err), mcp::code::invalid_request);
  std::string deep(200, '[');
  EXPECT_EQ(mcp::parse_message(deep, n, err), mcp::code::parse_error);  // depth cap
  mcp::Message note;
  ASSERT_FALSE(mcp::parse_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", note, err));
  EXPECT_EQ(note.kind, mcp::Kind::notification);
}

TEST(McpMessage, MirroredHeaderEncoding) {
  EXPECT_EQ(mcp::encode_header_value("plain_name"), "plain_name");
  std::string enc = mcp::encode_header_value("héllo");
  EXPECT_TRUE(enc.starts_with("=?base64?"));
  EXPECT_EQ(*mcp::decode_header_value(enc), "héllo");
  EXPECT_FALSE(mcp::decode_header_value("=?base64?***?="));
  // Unpadded input whose length is not a multiple of 4 (the fuzzer's heap overflow): decoded
  // whole, nothing written past the buffer (AddressSanitizer in make sanitize).
  EXPECT_EQ(*mcp::decode_header_value("=?base64?aMOpbGw?="), "h\xc3\xa9ll");
}

TEST(McpSession, SealedIdsOpenOnlyUntouched) {
  mcp::LegacySession s;
  s.key_id = "key_abc";
  s.version = "2025-11-25";
  s.client_info = json::object{{"name", "c"}};
  std::string id = mcp::seal_session(s);
  for (char c : id) EXPECT_TRUE(c >= 0x21 && c <= 0x7e);
  auto back = mcp::open_session(id);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->key_id, "key_abc");
  EXPECT_EQ(back->version, "2025-11-25");
  std::string tampered = id;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(mcp::open_session(tampered));
  EXPECT_FALSE(mcp::open_session("tgs1.garbage"));
}

// The Prometheus series name a tool only when its server advertised it: a client inventing
// names cannot grow the label set. Servers not in the live list are not rendered.
TEST(McpStats, ToolLabelsComeOnlyFromTheAdvertisedSet) {
  mcp::note_tools("stats-a", {"known_tool"});
  mcp::note_request("stats-a", "tools/call", "known_tool", "ok", 0.004);
  mcp::note_request("stats-a", "tools/call", "made_up_by_a_client", "error", 0.02);
  mcp::note_reach("stats-a", false, "MCP server \"stats-a\" is unavailable: could not connect");
  mcp::note_request("stats-gone", "tools/call", "x", "ok", 0.001);
  std::string text = mcp::prometheus_text({"stats-a"});
  EXPECT_NE(text.find(R"(tollgate_mcp_requests_total{server="stats-a",method="tools/call",tool="known_tool",outcome="ok"} 1)"),
            std::string::npos) << text;
  EXPECT_NE(text.find(R"(tollgate_mcp_requests_total{server="stats-a",method="tools/call",tool="other",outcome="error"} 1)"),
            std::string::npos) << text;
  EXPECT_EQ(text.find("made_up_by_a_client"), std::string::npos);
  EXPECT_EQ(text.find("stats-gone"), std::string::npos);
  EXPECT_NE(text.find(R"(tollgate_mcp_server_up{server="stats-a"} 0)"), std::string::npos);
  auto status = mcp::status_json({"stats-a"});
  ASSERT_EQ(status.size(), 1u);
  const auto& s = status[0].as_object();
  EXPECT_EQ(s.at("requests").to_number<int>(), 2);
  EXPECT_EQ(s.at("errors").to_number<int>(), 1);
  EXPECT_EQ(s.at("reachable"), boost::json::value(false));
  EXPECT_EQ(s.at("tools").as_array().size(), 1u);
}
