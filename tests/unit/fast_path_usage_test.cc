// The fast path's cheaper readers and writers against the slow ones they replace (issue 18):
// usage read by the scanner against a Boost.JSON document, the access log's string escaping
// against Boost.JSON's serializer, and the access log's batched writer.
#include <gtest/gtest.h>

#include <unistd.h>

#include <boost/json/parse.hpp>

#include "core/json_scan.h"
#include "dialects/openai/fast_path.h"
#include "obs/access_log.h"

namespace json = boost::json;
using namespace tollgate;

namespace {

core::Usage by_scan(std::string_view body) {
  core::Usage u;
  dialects::openai::read_usage_from_body(body, u);
  return u;
}

core::Usage by_dom(std::string_view body) {
  core::Usage u;
  auto doc = json::parse(body);
  if (auto* usage = doc.as_object().if_contains("usage")) dialects::openai::read_usage(*usage, u);
  return u;
}

void expect_same(const core::Usage& a, const core::Usage& b, std::string_view body) {
  EXPECT_EQ(a.known, b.known) << body;
  EXPECT_EQ(a.input_tokens, b.input_tokens) << body;
  EXPECT_EQ(a.output_tokens, b.output_tokens) << body;
  EXPECT_EQ(a.cached_input_tokens, b.cached_input_tokens) << body;
  EXPECT_EQ(a.reasoning_tokens, b.reasoning_tokens) << body;
}

}  // namespace

TEST(FastPathUsage, ScanReadsWhatTheDocumentSays) {
  const char* bodies[] = {
      R"({"id":"x","choices":[{"message":{"content":"a \"quoted\" } ] brace"}}],"usage":{"prompt_tokens":31,"completion_tokens":19,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":7},"completion_tokens_details":{"reasoning_tokens":3}}})",
      R"({"usage":{"input_tokens":12,"output_tokens":5,"input_tokens_details":{"cached_tokens":2},"output_tokens_details":{"reasoning_tokens":1}}})",
      R"({"usage":{"prompt_tokens":1.6e1,"completion_tokens":18446744073709551615,"prompt_tokens_details":null}})",
      R"({"usage":{"prompt_tokens":"12","completion_tokens":-3,"completion_tokens_details":[1]}})",
      R"({"usage" : { "prompt_tokens" : 4 , "completion_tokens" : 2 } })",
      R"({"usage":{"prompt_tokens":4,"prompt_tokens":9}})",           // duplicated: the document decides
      R"({"usage":{"prompt_\u0074okens":4,"completion_tokens":2}})",  // escaped key: likewise
      R"({"usage":{}})",
      R"({"choices":[]})",
  };
  for (const char* b : bodies) expect_same(by_scan(b), by_dom(b), b);
}

TEST(FastPathUsage, NullOrMissingUsageIsUnknown) {
  EXPECT_FALSE(by_scan(R"({"usage":null})").known);
  EXPECT_FALSE(by_scan(R"({"id":"x"})").known);
  EXPECT_FALSE(by_scan("not json").known);
}

TEST(AccessLog, StringsAreEscapedAsBoostJsonDoes) {
  const std::string samples[] = {"", "plain", "quote \" and \\ backslash", std::string("nul \0 byte", 10),
                                 "tab\tnew\nline\rret\bback\fform\x01\x1f", "utf-8 caf\xc3\xa9 \xe2\x82\xac",
                                 "bad utf-8 \xff\xfe", "slash / stays"};
  for (const auto& s : samples) {
    std::string out = "x";
    obs::append_json_string(out, s);
    EXPECT_EQ(out, "x" + core::json_quote(s)) << s;
  }
}

TEST(AccessLog, LinesArriveWholeAndInOrderAfterFlush) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    obs::AccessLog log(fds[1], std::chrono::milliseconds(200));
    for (int i = 0; i < 100; ++i) log.write("{\"n\":" + std::to_string(i) + "}");
    log.flush();
    std::string got(4096, '\0');
    ssize_t n = read(fds[0], got.data(), got.size());
    ASSERT_GT(n, 0);
    got.resize(static_cast<std::size_t>(n));
    std::string want;
    for (int i = 0; i < 100; ++i) want += "{\"n\":" + std::to_string(i) + "}\n";
    EXPECT_EQ(got, want);
    log.write("last");
  }  // the destructor writes what is pending
  std::string tail(16, '\0');
  ssize_t n = read(fds[0], tail.data(), tail.size());
  EXPECT_EQ(std::string(tail.data(), static_cast<std::size_t>(n > 0 ? n : 0)), "last\n");
  close(fds[0]);
  close(fds[1]);
}
