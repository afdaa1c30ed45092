// The accept phase: routes (matched on the path, the query aside), and request ids: a caller's sane id is kept; otherwise the gateway makes a
// time-ordered one, so ids sort by time (the usage store's request-id index relies on it).
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>

#include "gateway/phases.h"

using tollgate::gateway::request_id_for;

TEST(RequestId, ACallersSaneIdIsKept) {
  EXPECT_EQ(request_id_for("trace-42/abc"), "trace-42/abc");
}

TEST(RequestId, AnInsaneOrOverlongIdIsReplaced) {
  for (std::string bad : {std::string("has space"), std::string("quote\""), std::string("back\\slash"),
                          std::string(129, 'a'), std::string("tab\there")}) {
    std::string id = request_id_for(bad);
    EXPECT_NE(id, bad);
    EXPECT_TRUE(std::regex_match(id, std::regex("req_[0-9a-f]{24}"))) << id;
  }
}

TEST(RequestId, GeneratedIdsAreTimeOrderedAndDistinct) {
  std::string first = request_id_for("");
  EXPECT_TRUE(std::regex_match(first, std::regex("req_[0-9a-f]{24}"))) << first;
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  std::string later = request_id_for("");
  EXPECT_LT(first, later);
  // The first 12 hex digits are the unix time in ms.
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  auto id_ms = static_cast<int64_t>(std::stoull(later.substr(4, 12), nullptr, 16));
  EXPECT_LE(now_ms - id_ms, 1000);
  EXPECT_GE(now_ms, id_ms);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(request_id_for(""));
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(MatchRoute, GeminiRoutesByPathWithTheQueryAside) {
  using tollgate::gateway::Dialect;
  using tollgate::gateway::Route;
  using tollgate::gateway::dialect_of;
  using tollgate::gateway::match_route;
  EXPECT_EQ(match_route("POST", "/v1beta/models/flash:generateContent"), Route::gemini_generate);
  EXPECT_EQ(match_route("POST", "/v1beta/models/flash:streamGenerateContent?alt=sse"), Route::gemini_stream);
  EXPECT_EQ(match_route("POST", "/v1beta/models/flash:countTokens?key=k"), Route::gemini_count_tokens);
  EXPECT_EQ(match_route("POST", "/v1beta/models/e:embedContent"), Route::gemini_embed);
  EXPECT_EQ(match_route("POST", "/v1beta/models/e:batchEmbedContents"), Route::gemini_batch_embed);
  EXPECT_EQ(match_route("GET", "/v1beta/models?pageSize=50"), Route::gemini_models);
  EXPECT_EQ(match_route("GET", "/v1beta/models/flash"), Route::gemini_model);
  EXPECT_EQ(match_route("POST", "/v1beta/models/flash:predict"), Route::not_found);
  EXPECT_EQ(match_route("GET", "/v1beta/models/flash:generateContent"), Route::gemini_model);
  EXPECT_EQ(dialect_of(Route::gemini_stream), Dialect::gemini);
  EXPECT_EQ(dialect_of(Route::gemini_models), Dialect::gemini);
  EXPECT_EQ(dialect_of(Route::messages), Dialect::anthropic);
  EXPECT_EQ(dialect_of(Route::chat_completions), Dialect::openai);
}
