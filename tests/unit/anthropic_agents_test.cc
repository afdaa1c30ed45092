// What current agent clients send on the Anthropic surface (Claude Code 2.1 request shapes),
// translated to the canonical form: mapped where an equivalent exists, otherwise dropped and
// named, or refused (strict). Also the translated stream's message_start input estimate.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/anthropic/inbound.h"
#include "http/sse.h"

namespace json = boost::json;
using namespace tollgate;
using dialects::EncodeOptions;
using dialects::anthropic::messages_to_chat;
using dialects::anthropic::MessagesStreamEncoder;

namespace {

struct Converted {
  std::optional<core::GatewayError> err;
  json::object chat;
  std::vector<std::string> dropped;
};

Converted convert(std::string_view body, bool strict = false) {
  Converted c;
  std::string model;
  bool stream = false;
  EncodeOptions drops{{}, false, !strict, &c.dropped};
  c.err = messages_to_chat(json::parse(body), c.chat, model, stream, drops);
  return c;
}

// Claude Code's first turn, trimmed to one of each kind of thing it sends.
constexpr std::string_view kClaudeCode = R"({
  "model":"claude-opus-5-5","max_tokens":32000,"stream":true,
  "thinking":{"type":"adaptive"},"output_config":{"effort":"low"},
  "context_management":{"edits":[{"type":"clear_thinking_20251015","keep":"all"}]},
  "metadata":{"user_id":"{\"device_id\":\"d1\",\"session_id\":\"s1\"}"},
  "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
  "tools":[
    {"name":"Read","description":"Read a file","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}},
    {"name":"NotebookEdit","input_schema":{"type":"object"},"defer_loading":true},
    {"type":"web_search_20250305","name":"web_search","max_uses":3}],
  "messages":[
    {"role":"user","content":[{"type":"text","text":"hello","cache_control":{"type":"ephemeral"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Read","input":{"file_path":"a"}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"file a"},{"type":"tool_reference","tool_name":"NotebookEdit"}],"cache_control":{"type":"ephemeral"}}]},
    {"role":"system","content":[{"type":"text","text":"Reminder: be brief."}]}]
})";

}  // namespace

TEST(AnthropicAgents, ClaudeCodeTurnTranslates) {
  auto c = convert(kClaudeCode);
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_EQ(c.chat, json::parse(R"({
    "model":"claude-opus-5-5",
    "messages":[
      {"role":"system","content":"You are Claude Code."},
      {"role":"user","content":"hello"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"Read","arguments":"{\"file_path\":\"a\"}"}}]},
      {"role":"tool","tool_call_id":"toolu_1","content":"file a"},
      {"role":"system","content":"Reminder: be brief."}],
    "max_completion_tokens":32000,
    "tools":[
      {"type":"function","function":{"name":"Read","description":"Read a file","parameters":{"type":"object"}}},
      {"type":"function","function":{"name":"NotebookEdit","parameters":{"type":"object"}}}],
    "reasoning_effort":"low",
    "user":"{\"device_id\":\"d1\",\"session_id\":\"s1\"}",
    "stream":true,"stream_options":{"include_usage":true}})")) << json::serialize(c.chat);
  EXPECT_EQ(c.dropped, (std::vector<std::string>{"context_management", "cache_control", "content.tool_reference",
                                                 "tools.defer_loading", "tools.web_search_20250305"}));
}

TEST(AnthropicAgents, StrictRefusesNamingTheField) {
  auto c = convert(kClaudeCode, /*strict=*/true);
  ASSERT_TRUE(c.err);
  EXPECT_EQ(c.err->status, 400);
  EXPECT_EQ(c.err->param, "context_management");
  EXPECT_TRUE(c.dropped.empty());

  auto cache = convert(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}]}]})", true);
  ASSERT_TRUE(cache.err);
  EXPECT_EQ(cache.err->param, "cache_control");
}

TEST(AnthropicAgents, SystemEntryLastAndAlone) {
  auto c = convert(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"system","content":"last word"}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_EQ(c.chat.at("messages"), json::parse(R"([{"role":"user","content":"q"},{"role":"system","content":"last word"}])"));
  EXPECT_TRUE(c.dropped.empty());
}

TEST(AnthropicAgents, ThinkingAndEffortMapToReasoningEffort) {
  struct Case { std::string_view thinking, effort, want; };
  for (auto [thinking, effort, want] : {Case{R"({"type":"enabled","budget_tokens":2048})", "", "low"},
                                        Case{R"({"type":"enabled","budget_tokens":10000})", "", "medium"},
                                        Case{R"({"type":"enabled","budget_tokens":20000})", "", "high"},
                                        Case{R"({"type":"adaptive"})", "", "medium"},
                                        Case{R"({"type":"adaptive"})", "max", "high"},
                                        Case{R"({"type":"disabled"})", "medium", "medium"}}) {
    std::string body = fmt::format(R"({{"model":"m","max_tokens":50000,"thinking":{},{}"messages":[{{"role":"user","content":"x"}}]}})",
                                   thinking, effort.empty() ? std::string() : fmt::format(R"("output_config":{{"effort":"{}"}},)", effort));
    auto c = convert(body);
    ASSERT_FALSE(c.err) << c.err->message;
    EXPECT_EQ(c.chat.at("reasoning_effort"), json::value(want)) << body;
  }
  auto none = convert(R"({"model":"m","max_tokens":5,"thinking":{"type":"disabled"},"messages":[{"role":"user","content":"x"}]})");
  EXPECT_FALSE(none.chat.contains("reasoning_effort"));
  auto bad = convert(R"({"model":"m","max_tokens":5,"output_config":{"effort":"extreme"},"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(bad.err);
  EXPECT_EQ(bad.err->param, "output_config.effort");
}

TEST(AnthropicAgents, OutputFormatBecomesJsonSchema) {
  auto c = convert(R"({"model":"m","max_tokens":5,"output_config":{"format":{"type":"json_schema","schema":{"type":"object","properties":{"a":{"type":"string"}}}}},"messages":[{"role":"user","content":"x"}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_EQ(c.chat.at("response_format"), json::parse(R"({"type":"json_schema","json_schema":{"name":"output","schema":{"type":"object","properties":{"a":{"type":"string"}}},"strict":true}})"));
}

TEST(AnthropicAgents, TopKStaysAsExtensionUnknownFieldsDropped) {
  auto c = convert(R"({"model":"m","max_tokens":5,"top_k":7,"service_tier":"auto","inference_geo":"us","messages":[{"role":"user","content":"x"}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_EQ(c.chat.at("top_k"), json::value(7));
  EXPECT_EQ(c.dropped, (std::vector<std::string>{"service_tier", "inference_geo"}));
  auto strict = convert(R"({"model":"m","max_tokens":5,"inference_geo":"us","messages":[{"role":"user","content":"x"}]})", true);
  ASSERT_TRUE(strict.err);
  EXPECT_EQ(strict.err->message, "inference_geo: Extra inputs are not permitted");
}

TEST(AnthropicAgents, DocumentsAndImagesByUrlAndBase64) {
  auto c = convert(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":[
    {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}},
    {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},
    {"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}},
    {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBE"},"title":"a.pdf"},
    {"type":"document","source":{"type":"file","file_id":"file_1"}}]}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_EQ(c.chat.at("messages").at(0).at("content"), json::parse(R"([
    {"type":"image_url","image_url":{"url":"https://example.com/a.png"}},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
    {"type":"text","text":"Document: https://example.com/a.pdf"},
    {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE","filename":"a.pdf"}}])"));
  EXPECT_EQ(c.dropped, (std::vector<std::string>{"document.source.file"}));
}

TEST(AnthropicAgents, StreamStartCarriesTheEstimateDeltaTheCount) {
  MessagesStreamEncoder enc("claude-opus-5-5", 42);
  std::string out;
  enc.on_chunk(json::parse(R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}],"usage":null})").as_object(), out);
  enc.on_chunk(json::parse(R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})").as_object(), out);
  enc.on_chunk(json::parse(R"({"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":37,"completion_tokens":1,"total_tokens":38}})").as_object(), out);
  enc.finish({}, out);
  http::SseReader reader;
  reader.feed(out);
  http::SseEvent ev;
  std::vector<json::object> events;
  while (reader.next(ev)) events.push_back(json::parse(ev.data).as_object());
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.front().at("type"), json::value("message_start"));
  EXPECT_EQ(events.front().at("message").at("usage").at("input_tokens"), json::value(42));
  const auto& delta = events[events.size() - 2];
  EXPECT_EQ(delta.at("type"), json::value("message_delta"));
  EXPECT_EQ(delta.at("usage").at("input_tokens"), json::value(37));
  EXPECT_EQ(delta.at("usage").at("output_tokens"), json::value(1));
}

TEST(AnthropicAgents, StreamStartPrefersAnUpstreamCount) {
  // Gemini-shaped upstreams report prompt tokens from the first chunk on.
  MessagesStreamEncoder enc("m", 42);
  std::string out;
  enc.on_chunk(json::parse(R"({"id":"x","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":{"prompt_tokens":9,"completion_tokens":0}})").as_object(), out);
  EXPECT_NE(out.find(R"("input_tokens":9)"), std::string::npos) << out;
}
