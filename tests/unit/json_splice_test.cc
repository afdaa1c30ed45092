#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>

#include <boost/json/parse.hpp>

#include "core/json_scan.h"
#include "dialects/openai/fast_path.h"

namespace json = boost::json;
using namespace tollgate;
using dialects::openai::Endpoint;
using dialects::openai::RequestFacts;

namespace {

std::string splice(const std::string& body, std::string_view model, bool ask_usage) {
  json::value doc;
  RequestFacts facts;
  auto err = dialects::openai::read_request(body, Endpoint::chat_completions, doc, facts);
  EXPECT_FALSE(err) << (err ? err->message : "");
  return dialects::openai::splice_request(body, doc, model, ask_usage);
}

}  // namespace

TEST(JsonScan, FindsTopLevelMembersOnly) {
  std::string s = R"( {"a" : {"model":"inner"}, "model":"x\"y", "n":[1,{"b":"]"}], "t":true} )";
  std::vector<core::JsonMember> m;
  ASSERT_TRUE(core::scan_object_members(s, m));
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[1].key, "model");
  EXPECT_EQ(s.substr(m[1].value_begin, m[1].value_end - m[1].value_begin), R"("x\"y")");
  EXPECT_EQ(s.substr(m[2].value_begin, m[2].value_end - m[2].value_begin), R"([1,{"b":"]"}])");
  EXPECT_EQ(s.substr(m[3].value_begin, m[3].value_end - m[3].value_begin), "true");
}

// Values long enough for the 16-byte steps of the structural search, with brackets and
// escaped quotes inside strings at every offset: each member's text parses to the value the
// whole document's parse gives for its key.
TEST(JsonScan, LongNestedValuesMatchAFullParse) {
  std::mt19937 rng(18);
  const std::string pieces[] = {"ab", "{", "}", "[", "]", "\\\"", "\\\\", "x y", "\\n", "é"};
  auto text = [&] {
    std::string t;
    for (int n = static_cast<int>(rng() % 40); n > 0; --n) t += pieces[rng() % std::size(pieces)];
    return t;
  };
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    switch (depth > 3 ? rng() % 3 : rng() % 5) {
      case 0: return "\"" + text() + "\"";
      case 1: return std::to_string(rng() % 100000);
      case 2: return "null";
      case 3: {
        std::string a = "[";
        for (int n = static_cast<int>(rng() % 4); n > 0; --n) a += value(depth + 1) + (n > 1 ? ", " : "");
        return a + "]";
      }
      default: {
        std::string o = "{";
        for (int n = static_cast<int>(rng() % 4); n > 0; --n)
          o += "\"k" + std::to_string(n) + "\" : " + value(depth + 1) + (n > 1 ? "," : "");
        return o + "}";
      }
    }
  };
  for (int round = 0; round < 2000; ++round) {
    std::string doc = "{";
    const int members = 1 + static_cast<int>(rng() % 5);
    for (int k = 0; k < members; ++k) doc += (k ? ",\"m" : "\"m") + std::to_string(k) + "\":" + value(0);
    doc += "}";
    auto whole = json::parse(doc);
    std::vector<core::JsonMember> m;
    ASSERT_TRUE(core::scan_object_members(doc, m)) << doc;
    ASSERT_EQ(m.size(), static_cast<size_t>(members)) << doc;
    for (const auto& x : m)
      ASSERT_EQ(json::parse(doc.substr(x.value_begin, x.value_end - x.value_begin)), whole.at(x.key)) << doc;
    // Cut short, the document is not an object the scan accepts.
    EXPECT_FALSE(core::scan_object_members(std::string_view(doc).substr(0, doc.size() - 1), m)) << doc;
  }
}

// Escapes at every offset of strings up to 40 bytes, and escaped backslashes before a closing quote.
TEST(JsonScan, EscapesAroundTheShortStringLoopsEnd) {
  for (int len = 0; len < 40; ++len)
    for (int at = 0; at <= len; ++at)
      for (std::string_view esc : {"\\\"", "\\\\", "\\n"}) {
        std::string text(static_cast<size_t>(len), 'a');
        text.insert(static_cast<size_t>(at), esc);
        const std::string doc = "{\"k\":\"" + text + "\",\"n\":1}";
        std::vector<core::JsonMember> m;
        ASSERT_TRUE(core::scan_object_members(doc, m)) << doc;
        ASSERT_EQ(m.size(), 2u) << doc;
        EXPECT_EQ(json::parse(doc.substr(m[0].value_begin, m[0].value_end - m[0].value_begin)), json::parse(doc).at("k"));
      }
}

TEST(JsonScan, RejectsMalformed) {
  std::vector<core::JsonMember> m;
  EXPECT_FALSE(core::scan_object_members("[1]", m));
  EXPECT_FALSE(core::scan_object_members(R"({"a":1)", m));
  EXPECT_FALSE(core::scan_object_members(R"({"a" 1})", m));
  EXPECT_FALSE(core::scan_object_members(R"({"a":"unterminated})", m));
  EXPECT_TRUE(core::scan_object_members("{ }", m));
  EXPECT_TRUE(m.empty());
}

TEST(JsonScan, RemovesFirstMiddleAndLastMember) {
  std::string s = R"({"a":1,"usage":null,"c":3})";
  std::vector<core::JsonMember> m;
  ASSERT_TRUE(core::scan_object_members(s, m));
  EXPECT_EQ(core::remove_member(s, m, m[1]), R"({"a":1,"c":3})");
  EXPECT_EQ(core::remove_member(s, m, m[0]), R"({"usage":null,"c":3})");
  EXPECT_EQ(core::remove_member(s, m, m[2]), R"({"a":1,"usage":null})");
  std::string one = R"({"usage":null})";
  ASSERT_TRUE(core::scan_object_members(one, m));
  EXPECT_EQ(core::remove_member(one, m, m[0]), "{}");
}

TEST(FastPathSplice, ReplacesOnlyTheModelAndKeepsEveryOtherByte) {
  std::string body = R"({"model": "smart",  "messages":[{"role":"user","content":"model: \"smart\""}], "x_unknown": {"keep": [1, 2.50, "é"]}})";
  EXPECT_EQ(splice(body, "gpt-4o-mini", false),
            R"({"model": "gpt-4o-mini",  "messages":[{"role":"user","content":"model: \"smart\""}], "x_unknown": {"keep": [1, 2.50, "é"]}})");
}

TEST(FastPathSplice, QuotesTheUpstreamModelName) {
  std::string body = R"({"model":"a","messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(splice(body, "we\"ird", false), R"({"model":"we\"ird","messages":[{"role":"user","content":"hi"}]})");
}

TEST(FastPathSplice, AsksForUsageWhenTheCallerDidNot) {
  std::string base = R"({"model":"a","stream":true,"messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(splice(base, "b", true),
            R"({"model":"b","stream_options":{"include_usage":true},"stream":true,"messages":[{"role":"user","content":"hi"}]})");

  std::string with_false = R"({"model":"a","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(splice(with_false, "b", true),
            R"({"model":"b","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})");

  std::string other = R"({"model":"a","stream":true,"stream_options":{"x":1},"messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(splice(other, "b", true),
            R"({"model":"b","stream":true,"stream_options":{"include_usage":true,"x":1},"messages":[{"role":"user","content":"hi"}]})");

  std::string null_so = R"({"model":"a","stream":true,"stream_options":null,"messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(splice(null_so, "b", true),
            R"({"model":"b","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})");
}

TEST(FastPathSplice, EscapedKeyFallsBackToARewriteThatIsStillCorrect) {
  std::string body = R"({"mod\u0065l":"a","messages":[{"role":"user","content":"hi"}]})";
  auto out = json::parse(splice(body, "b", true));
  EXPECT_EQ(out.at("model").as_string(), "b");
  EXPECT_EQ(out.at("stream_options").at("include_usage").as_bool(), true);
}

TEST(FastPathRead, RejectsWhatTheGatewayCannotRoute) {
  json::value doc;
  RequestFacts f;
  auto e = dialects::openai::read_request("{nope", Endpoint::chat_completions, doc, f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  e = dialects::openai::read_request(R"({"messages":[]})", Endpoint::chat_completions, doc, f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "model");
  e = dialects::openai::read_request(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})",
                                     Endpoint::chat_completions, doc, f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "stream");
  e = dialects::openai::read_request(R"({"model":"m"})", Endpoint::embeddings, doc, f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "input");
  e = dialects::openai::read_request(R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]})",
                                     Endpoint::chat_completions, doc, f);
  EXPECT_FALSE(e);
  EXPECT_TRUE(f.stream);
  EXPECT_TRUE(f.caller_wants_usage);
  // A message that is not an object, or has no string role, is named by its index.
  e = dialects::openai::read_request(R"({"model":"m","messages":[{"role":"user","content":"x"},"hi"]})",
                                     Endpoint::chat_completions, doc, f);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->message, "'messages[1]' must be an object.");
  EXPECT_EQ(e->param, "messages[1]");
  for (const char* body : {R"({"model":"m","messages":[{"role":"user"},{"content":"x"}]})",
                           R"({"model":"m","messages":[{"role":"user"},{"role":7}]})"}) {
    e = dialects::openai::read_request(body, Endpoint::chat_completions, doc, f);
    ASSERT_TRUE(e) << body;
    EXPECT_EQ(e->message, "Missing required parameter: 'messages[1].role'.");
    EXPECT_EQ(e->param, "messages[1].role");
  }
}

TEST(StreamTap, HidesTheUsageTheGatewayAskedFor) {
  tollgate::dialects::openai::StreamTap tap(true);
  tollgate::http::SseReader r;
  r.feed(
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n"
      "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"prompt_tokens_details\":{\"cached_tokens\":3}}}\n\n"
      "data: [DONE]\n\n");
  tollgate::http::SseEvent ev;
  std::string out;
  using A = tollgate::dialects::openai::StreamTap::Action;
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(tap.on_event(ev, out), A::replace);
  EXPECT_EQ(out, "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n");
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(tap.on_event(ev, out), A::drop);
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(tap.on_event(ev, out), A::forward);
  EXPECT_TRUE(tap.saw_done());
  EXPECT_TRUE(tap.usage().known);
  EXPECT_EQ(tap.usage().input_tokens, 5);
  EXPECT_EQ(tap.usage().output_tokens, 2);
  EXPECT_EQ(tap.usage().cached_input_tokens, 3);
}

TEST(StreamTap, ForwardsUsageTheCallerAskedFor) {
  tollgate::dialects::openai::StreamTap tap(false);
  tollgate::http::SseReader r;
  r.feed("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":4}}\n\n");
  tollgate::http::SseEvent ev;
  std::string out;
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(tap.on_event(ev, out), tollgate::dialects::openai::StreamTap::Action::forward);
  EXPECT_EQ(tap.usage().output_tokens, 4);
}

// The "usage":null tail is stripped without a member scan; anything else takes the scan, so
// both give the same bytes (issue 18).
TEST(StreamTap, UsageNullTailAndTheScannedPathAgree) {
  using A = tollgate::dialects::openai::StreamTap::Action;
  auto run = [](bool strip, std::string data, std::string& out) {
    tollgate::dialects::openai::StreamTap tap(strip);
    tollgate::http::SseEvent ev;
    ev.data = std::move(data);
    ev.has_data = true;
    return tap.on_event(ev, out);
  };
  std::string out = "before|";
  EXPECT_EQ(run(true, R"({"id":"c","choices":[{"delta":{"content":"a\"usage\""}}],"usage":null})", out), A::replace);
  EXPECT_EQ(out, "before|data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"a\\\"usage\\\"\"}}]}\n\n");
  out.clear();
  EXPECT_EQ(run(false, R"({"id":"c","choices":[],"usage":null})", out), A::forward);
  EXPECT_EQ(out, "");
  // Spaced, nested, first or duplicated: the scan decides.
  EXPECT_EQ(run(true, R"({"id":"c", "usage": null})", out), A::replace);
  EXPECT_EQ(out, "data: {\"id\":\"c\"}\n\n");
  out.clear();
  EXPECT_EQ(run(true, R"({"usage":null,"id":"c"})", out), A::replace);
  EXPECT_EQ(out, "data: {\"id\":\"c\"}\n\n");
  out.clear();
  EXPECT_EQ(run(true, R"({"id":"c","x":{"usage":null}})", out), A::forward);
  EXPECT_EQ(run(true, R"({"usage":null,"id":"c","usage":null})", out), A::forward);
  EXPECT_EQ(out, "");
}

TEST(UpstreamErrorBody, AlwaysOpenAiShaped) {
  auto html = dialects::openai::upstream_error_body(502, "<html>Bad gateway</html>", "text/html");
  auto v = json::parse(html);
  EXPECT_TRUE(v.at("error").at("message").is_string());
  auto detail = json::parse(dialects::openai::upstream_error_body(400, R"({"detail":"bad thing"})", "application/json"));
  EXPECT_NE(std::string(detail.at("error").at("message").as_string()).find("bad thing"), std::string::npos);
  std::string shaped = R"({"error":{"message":"Rate limit","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
  EXPECT_EQ(dialects::openai::upstream_error_body(429, shaped, "application/json"), shaped);
}

// Memory per open stream (issue 18): a stream that no longer needs the request's document gives
// its block back. Assigning a null would keep it (the value keeps its storage).
TEST(JsonScan, AReleasedRequestDocumentHoldsNoStorage) {
  json::value doc;
  boost::system::error_code ec;
  core::parse_request_document(R"({"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]})", doc,
                               ec, {});
  ASSERT_FALSE(ec);
  const json::storage_ptr default_storage;
  EXPECT_NE(doc.storage().get(), default_storage.get());
  doc = nullptr;
  EXPECT_NE(doc.storage().get(), default_storage.get()) << "assignment keeps the document's block";
  core::release_request_document(doc);
  EXPECT_TRUE(doc.is_null());
  EXPECT_EQ(doc.storage().get(), default_storage.get());
}
