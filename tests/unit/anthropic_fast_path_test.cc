// Anthropic in, Anthropic out: validation, the model splice (every other byte untouched), the
// usage tap on Anthropic's stream, and error bodies always in Anthropic's envelope.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/anthropic/fast_path.h"

namespace json = boost::json;
using namespace tollgate;
using dialects::anthropic::Endpoint;
using dialects::anthropic::RequestFacts;

namespace {

std::optional<core::GatewayError> read(std::string_view body, RequestFacts& facts, Endpoint ep = Endpoint::messages) {
  json::value doc;
  return dialects::anthropic::read_request(body, ep, doc, facts);
}

core::Usage tap_stream(std::string_view sse, size_t piece, bool* stopped = nullptr) {
  dialects::anthropic::StreamTap tap;
  http::SseReader reader;
  for (size_t p = 0; p < sse.size(); p += piece) {
    reader.feed(sse.substr(p, piece));
    http::SseEvent ev;
    while (reader.next(ev)) tap.on_event(ev);
  }
  if (stopped) *stopped = tap.saw_message_stop();
  return tap.usage();
}

}  // namespace

TEST(AnthropicFastPath, ReadsFactsAndAcceptsUnknownFields) {
  RequestFacts facts;
  auto err = read(R"({"model":"smart","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Hello"}],
                      "context_management":{"edits":[]},"betas_someday":1})", facts);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(facts.model, "smart");
  EXPECT_TRUE(facts.stream);

  RequestFacts ct;
  EXPECT_FALSE(read(R"({"model":"smart","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]})", ct, Endpoint::count_tokens));
}

TEST(AnthropicFastPath, AcceptsSystemEntriesAnywhere) {
  // Claude Code puts system entries between turns and last; Anthropic takes them.
  RequestFacts facts;
  auto err = read(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},
                      {"role":"system","content":[{"type":"text","text":"reminder"}]}]})", facts);
  EXPECT_FALSE(err) << err->message;
}

TEST(AnthropicFastPath, RejectsWhatAnthropicWould) {
  struct Case { const char* body; const char* param; };
  const Case cases[] = {
      {"not json", ""},
      {"[1]", ""},
      {R"({"max_tokens":1,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":"","max_tokens":1,"messages":[{"role":"user","content":"x"}]})", "model"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"model":"m","max_tokens":"5","messages":[{"role":"user","content":"x"}]})", "max_tokens"},
      {R"({"model":"m","max_tokens":5})", "messages"},
      {R"({"model":"m","max_tokens":5,"messages":[]})", "messages"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"tool","content":"x"}]})", "messages.0.role"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user"}]})", "messages.0.content"},
      {R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":5}]})", "messages.0.content"},
      {R"({"model":"m","max_tokens":5,"stream":"yes","messages":[{"role":"user","content":"x"}]})", "stream"},
  };
  for (const auto& c : cases) {
    RequestFacts facts;
    auto err = read(c.body, facts);
    ASSERT_TRUE(err) << c.body;
    EXPECT_EQ(err->status, 400) << c.body;
    EXPECT_EQ(err->param, c.param) << c.body;
  }
}

TEST(AnthropicFastPath, SpliceReplacesOnlyTheModel) {
  std::string body = R"({"max_tokens": 1024,  "model" : "smart", "messages":[{"role":"user","content":[{"type":"text","text":"model: \"smart\" é 👋","cache_control":{"type":"ephemeral"}}]}], "x_unknown": [1, 2.50]})";
  json::value doc;
  RequestFacts facts;
  ASSERT_FALSE(dialects::anthropic::read_request(body, Endpoint::messages, doc, facts));
  EXPECT_EQ(dialects::anthropic::splice_request(body, doc, "claude-sonnet-4-5-20250929"),
            R"({"max_tokens": 1024,  "model" : "claude-sonnet-4-5-20250929", "messages":[{"role":"user","content":[{"type":"text","text":"model: \"smart\" é 👋","cache_control":{"type":"ephemeral"}}]}], "x_unknown": [1, 2.50]})");
  // A key spelled with escapes: the scanner cannot see it, the rewrite still sets the model.
  std::string escaped = R"({"mod\u0065l":"smart","max_tokens":1,"messages":[{"role":"user","content":"x"}]})";
  ASSERT_FALSE(dialects::anthropic::read_request(escaped, Endpoint::messages, doc, facts));
  auto out = json::parse(dialects::anthropic::splice_request(escaped, doc, "up\"stream"));
  EXPECT_EQ(out.at("model"), json::value("up\"stream"));
}

TEST(AnthropicFastPath, TapReadsUsageFromMessageStartAndDelta) {
  std::string sse =
      "event: message_start\n"
      R"(data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":1000,"cache_read_input_tokens":500,"output_tokens":1}}})"
      "\n\n"
      "event: content_block_start\n"
      R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
      "\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello 世界 \"usage\""}})"
      "\n\n"
      "event: content_block_stop\n"
      R"(data: {"type":"content_block_stop","index":0})"
      "\n\n"
      "event: message_delta\n"
      R"(data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}})"
      "\n\n"
      "event: message_stop\n"
      R"(data: {"type":"message_stop"})"
      "\n\n";
  for (size_t piece : {sse.size(), size_t{1}, size_t{7}}) {
    bool stopped = false;
    auto u = tap_stream(sse, piece, &stopped);
    EXPECT_TRUE(stopped);
    EXPECT_TRUE(u.known);
    EXPECT_EQ(u.input_tokens, 1525) << piece;
    EXPECT_EQ(u.output_tokens, 15);
    EXPECT_EQ(u.cached_input_tokens, 500);
    EXPECT_EQ(u.cache_creation_tokens, 1000);
  }
}

TEST(AnthropicFastPath, UsageFromWholeBody) {
  core::Usage u;
  dialects::anthropic::read_usage_from_body(
      R"({"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Hi"}],"model":"m","stop_reason":"end_turn",
          "usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":90,"output_tokens":3}})", u);
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.input_tokens, 100);
  EXPECT_EQ(u.output_tokens, 3);
  EXPECT_EQ(u.cached_input_tokens, 90);
  core::Usage none;
  dialects::anthropic::read_usage_from_body("<html>", none);
  EXPECT_FALSE(none.known);
}

TEST(AnthropicFastPath, ErrorBodiesAreAlwaysAnthropicEnvelopes) {
  using dialects::anthropic::upstream_error_body;
  std::string anthropic = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"})";
  EXPECT_EQ(upstream_error_body(529, anthropic, "application/json"), anthropic);  // untouched

  auto html = json::parse(upstream_error_body(502, "<html><body>Bad Gateway</body></html>", "text/html"));
  EXPECT_EQ(html.at("type"), json::value("error"));
  EXPECT_EQ(html.at("error").at("type"), json::value("api_error"));
  EXPECT_NE(std::string(html.at("error").at("message").as_string()).find("non-JSON"), std::string::npos);

  auto openai = json::parse(upstream_error_body(429, R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})", "application/json"));
  EXPECT_EQ(openai, json::parse(R"({"type":"error","error":{"type":"rate_limit_error","message":"Upstream error: Rate limit reached"}})"));

  auto detail = json::parse(upstream_error_body(404, R"({"detail":"Not Found"})", "application/json"));
  EXPECT_EQ(detail.at("error").at("type"), json::value("not_found_error"));

  auto over = json::parse(upstream_error_body(503, "", ""));
  EXPECT_EQ(over.at("error").at("type"), json::value("overloaded_error"));
}
