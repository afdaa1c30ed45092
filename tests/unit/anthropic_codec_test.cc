// OpenAI-canonical chat -> Anthropic Messages API and back. The Anthropic sides of these
// cases are the examples of Anthropic's API reference (messages, tool use, streaming,
// extended thinking, prompt caching, errors).
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/anthropic/codec.h"
#include "http/sse.h"

namespace json = boost::json;
using namespace tollgate;
using dialects::ClassifiedError;
using dialects::EncodedRequest;
using dialects::EncodeOptions;
using dialects::ErrorClass;
using dialects::anthropic::anthropic_codec;

namespace {

json::value J(std::string_view s) { return json::parse(s); }

#define EXPECT_JSON_EQ(actual, expected)                                                     \
  do {                                                                                       \
    json::value a_ = (actual);                                                               \
    json::value e_ = (expected);                                                             \
    EXPECT_EQ(a_, e_) << "actual:   " << json::serialize(a_) << "\nexpected: " << json::serialize(e_); \
  } while (0)

core::CompiledProvider provider(std::string prefix = "") {
  core::CompiledProvider p;
  p.spec.name = "claude";
  p.spec.kind = core::ProviderKind::anthropic;
  p.spec.api_key = "sk-ant-test";
  p.endpoint.host = "api.anthropic.com";
  p.endpoint.path_prefix = std::move(prefix);
  return p;
}

struct Encoded {
  std::optional<core::GatewayError> err;
  EncodedRequest req;
  json::value body;
};

Encoded encode(std::string_view openai, bool stream = false, bool drop = false,
               const core::CompiledProvider& p = provider()) {
  Encoded e;
  EncodeOptions opts;
  opts.upstream_model = "claude-sonnet-4-5";
  opts.stream = stream;
  opts.drop_unsupported = drop;
  e.err = anthropic_codec().encode_chat(J(openai).as_object(), opts, p, e.req);
  if (!e.err) e.body = json::parse(e.req.body);
  return e;
}

std::string header(const EncodedRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

// Decodes an Anthropic SSE text into chunk objects ("created" removed: it is the clock).
struct StreamResult {
  std::vector<json::value> chunks;
  core::Usage usage;
  std::optional<ClassifiedError> error;
};

StreamResult decode_stream(std::string_view sse, const std::vector<size_t>& cuts = {}) {
  auto dec = anthropic_codec().stream_decoder("claude-sonnet-4-5");
  http::SseReader reader;
  std::vector<std::string> out;
  size_t pos = 0;
  auto pump = [&](size_t end) {
    reader.feed(sse.substr(pos, end - pos));
    pos = end;
    http::SseEvent ev;
    while (reader.next(ev)) dec->on_event(ev, out);
  };
  for (size_t c : cuts) pump(c);
  pump(sse.size());
  dec->finish(out);
  StreamResult r;
  for (const auto& s : out) {
    json::value v = json::parse(s);
    EXPECT_TRUE(v.as_object().at("created").is_int64());
    v.as_object().erase("created");
    r.chunks.push_back(std::move(v));
  }
  r.usage = dec->usage();
  r.error = dec->error();
  return r;
}

std::string sse(std::initializer_list<std::pair<std::string_view, std::string_view>> events) {
  std::string s;
  for (const auto& [name, data] : events) s += http::sse_event(name, data);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------- encode

TEST(AnthropicEncode, BasicTextRequestWithDefaults) {
  auto e = encode(R"({"model":"smart","messages":[{"role":"user","content":"Hello, world"}]})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_EQ(e.req.path, "/v1/messages");
  EXPECT_EQ(header(e.req, "x-api-key"), "sk-ant-test");
  EXPECT_EQ(header(e.req, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(header(e.req, "content-type"), "application/json");
  EXPECT_JSON_EQ(e.body, J(R"({"model":"claude-sonnet-4-5","max_tokens":4096,
                               "messages":[{"role":"user","content":"Hello, world"}]})"));
}

TEST(AnthropicEncode, VersionExtraHeadersAndV1Prefix) {
  auto p = provider("/v1");
  p.spec.api_version = "2024-01-01";
  p.spec.headers["anthropic-beta"] = "prompt-caching-2024-07-31";
  p.spec.headers["X-Api-Key"] = "override";
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", true, false, p);
  ASSERT_FALSE(e.err);
  EXPECT_EQ(e.req.path, "/messages");  // base URL already ends in /v1
  EXPECT_EQ(header(e.req, "anthropic-version"), "2024-01-01");
  EXPECT_EQ(header(e.req, "anthropic-beta"), "prompt-caching-2024-07-31");
  EXPECT_EQ(header(e.req, "x-api-key"), "<absent>");
  EXPECT_EQ(header(e.req, "X-Api-Key"), "override");
  EXPECT_EQ(e.body.at("stream"), json::value(true));
}

TEST(AnthropicEncode, SystemMessagesHoistedAndTurnsMerged) {
  auto e = encode(R"({"model":"m","messages":[
    {"role":"system","content":"You are a helpful assistant."},
    {"role":"user","content":"Hello there."},
    {"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"Can you explain LLMs in plain English?"}]},
    {"role":"developer","content":[{"type":"text","text":"Be brief."}]},
    {"role":"assistant","content":"Sure, I'd be happy to."},
    {"role":"assistant","content":[{"type":"text","text":"An LLM is..."}]},
    {"role":"user","content":""},
    {"role":"user","content":"Thanks."}
  ],"max_tokens":1024,"temperature":0.5,"top_p":0.9,"stop":"\n\nHuman:","user":"user-123"})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_JSON_EQ(e.body, J(R"({"model":"claude-sonnet-4-5","max_tokens":1024,
    "system":[{"type":"text","text":"You are a helpful assistant."},{"type":"text","text":"Be brief."}],
    "messages":[
      {"role":"user","content":[{"type":"text","text":"Hello there."},{"type":"text","text":"Can you explain LLMs in plain English?"}]},
      {"role":"assistant","content":[{"type":"text","text":"Sure, I'd be happy to."},{"type":"text","text":"An LLM is..."}]},
      {"role":"user","content":"Thanks."}],
    "temperature":0.5,"top_p":0.9,"stop_sequences":["\n\nHuman:"],"metadata":{"user_id":"user-123"}})"));
}

TEST(AnthropicEncode, SingleSystemStringAndMaxCompletionTokensWins) {
  auto e = encode(R"({"model":"m","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"hi"}],
                     "max_tokens":10,"max_completion_tokens":20,"stop":["a","b"]})");
  ASSERT_FALSE(e.err);
  EXPECT_EQ(e.body.at("system"), json::value("Be terse."));
  EXPECT_EQ(e.body.at("max_tokens"), json::value(20));
  EXPECT_JSON_EQ(e.body.at("stop_sequences"), J(R"(["a","b"])"));
}

TEST(AnthropicEncode, ImagesBase64AndUrl) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
    {"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg","detail":"high"}},
    {"type":"text","text":"Describe these images."}]}]})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_JSON_EQ(e.body.at("messages"), J(R"([{"role":"user","content":[
    {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQSkZJRg=="}},
    {"type":"image","source":{"type":"url","url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
    {"type":"text","text":"Describe these images."}]}])"));

  auto bad = encode(R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]})");
  ASSERT_TRUE(bad.err);
  EXPECT_EQ(bad.err->status, 400);
  EXPECT_EQ(bad.err->param, "messages[0].content[0].image_url");
}

TEST(AnthropicEncode, ToolsToolChoiceToolCallsAndGroupedToolResults) {
  auto e = encode(R"({"model":"m","messages":[
    {"role":"user","content":"What's the weather like in San Francisco and Paris?"},
    {"role":"assistant","content":"I'll check both.","tool_calls":[
      {"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\"}"}},
      {"id":"call:2/x","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}}]},
    {"role":"tool","tool_call_id":"toolu_01A09q90qw90lq917835lq9","content":"15 degrees"},
    {"role":"tool","tool_call_id":"call:2/x","content":[{"type":"text","text":"18 degrees"}]},
    {"role":"user","content":"Which is warmer?"}],
   "tools":[{"type":"function","function":{"name":"get_weather","description":"Get the current weather in a given location",
     "parameters":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"}},"required":["location"]}}},
     {"type":"function","function":{"name":"get_time"}}],
   "tool_choice":"required","parallel_tool_calls":false})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_JSON_EQ(e.body, J(R"({"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[
    {"role":"user","content":"What's the weather like in San Francisco and Paris?"},
    {"role":"assistant","content":[{"type":"text","text":"I'll check both."},
      {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA"}},
      {"type":"tool_use","id":"call_2_x","name":"get_weather","input":{"location":"Paris"}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","content":"15 degrees"},
      {"type":"tool_result","tool_use_id":"call_2_x","content":"18 degrees"},
      {"type":"text","text":"Which is warmer?"}]}],
   "tools":[{"name":"get_weather","description":"Get the current weather in a given location",
     "input_schema":{"type":"object","properties":{"location":{"type":"string","description":"The city and state, e.g. San Francisco, CA"}},"required":["location"]}},
     {"name":"get_time","input_schema":{"type":"object","properties":{}}}],
   "tool_choice":{"type":"any","disable_parallel_tool_use":true}})"));
}

TEST(AnthropicEncode, ToolChoiceForms) {
  const char* base = R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":%s})";
  auto with = [&](const char* choice) {
    char buf[512];
    std::snprintf(buf, sizeof buf, base, choice);
    auto e = encode(buf);
    EXPECT_FALSE(e.err);
    return e.err ? json::value() : e.body.at("tool_choice");
  };
  EXPECT_JSON_EQ(with(R"("auto")"), J(R"({"type":"auto"})"));
  EXPECT_JSON_EQ(with(R"("none")"), J(R"({"type":"none"})"));
  EXPECT_JSON_EQ(with(R"({"type":"function","function":{"name":"f"}})"), J(R"({"type":"tool","name":"f"})"));
  // tool_choice without tools is not sent (Anthropic rejects it).
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"auto"})");
  ASSERT_FALSE(e.err);
  EXPECT_FALSE(e.body.as_object().contains("tool_choice"));
}

TEST(AnthropicEncode, InvalidToolArgumentsNameTheMessage) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"x"},
    {"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{not json"}}]}]})");
  ASSERT_TRUE(e.err);
  EXPECT_EQ(e.err->status, 400);
  EXPECT_EQ(e.err->param, "messages[1]");
  EXPECT_NE(e.err->message.find("messages[1].tool_calls[0].function.arguments"), std::string::npos);
}

TEST(AnthropicEncode, UnsupportedParametersAreA400NamingThem) {
  struct Case { const char* extra; const char* param; };
  for (auto c : {Case{R"("n":2)", "n"}, Case{R"("logprobs":true)", "logprobs"}, Case{R"("seed":7)", "seed"},
                 Case{R"("presence_penalty":0.5)", "presence_penalty"}, Case{R"("frequency_penalty":1)", "frequency_penalty"},
                 Case{R"("logit_bias":{"50256":-100})", "logit_bias"}, Case{R"("top_logprobs":2)", "top_logprobs"},
                 Case{R"("response_format":{"type":"json_object"})", "response_format"},
                 Case{R"("response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}})", "response_format"},
                 Case{R"("temperature":1.5)", "temperature"}, Case{R"("frobnicate":true)", "frobnicate"},
                 Case{R"("modalities":["text","audio"])", "modalities"}}) {
    std::string body = std::string(R"({"model":"m","messages":[{"role":"user","content":"x"}],)") + c.extra + "}";
    auto e = encode(body);
    ASSERT_TRUE(e.err) << c.extra;
    EXPECT_EQ(e.err->status, 400) << c.extra;
    EXPECT_EQ(e.err->param, c.param) << c.extra;
    EXPECT_NE(e.err->message.find(c.param), std::string::npos) << e.err->message;

    auto dropped = encode(body, false, /*drop=*/true);
    if (std::string_view(c.param) == "n") {  // a shape of answer, not a steer: never dropped
      EXPECT_TRUE(dropped.err);
      continue;
    }
    ASSERT_FALSE(dropped.err) << c.extra;
    if (std::string_view(c.param) != "temperature")  // clamped, checked below
      EXPECT_FALSE(dropped.body.as_object().contains(c.param)) << c.extra;
  }
  // Default values mean what Anthropic does anyway: accepted.
  auto ok = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":1,"logprobs":false,
    "presence_penalty":0,"frequency_penalty":0.0,"response_format":{"type":"text"},"store":false,
    "stream_options":{"include_usage":true},"seed":null,"metadata":{"a":"b"}})");
  EXPECT_FALSE(ok.err) << ok.err->message;
  // temperature > 1 is clamped when dropping is allowed.
  auto clamped = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1.7})", false, true);
  ASSERT_FALSE(clamped.err);
  EXPECT_EQ(clamped.body.at("temperature"), json::value(1.0));
}

TEST(AnthropicEncode, ReasoningEffortAndThinking) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"medium"})");
  ASSERT_FALSE(e.err);
  EXPECT_JSON_EQ(e.body.at("thinking"), J(R"({"type":"enabled","budget_tokens":4096})"));
  EXPECT_EQ(e.body.at("max_tokens"), json::value(8192));

  auto small = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high","max_completion_tokens":3000})");
  ASSERT_FALSE(small.err);
  EXPECT_JSON_EQ(small.body.at("thinking"), J(R"({"type":"enabled","budget_tokens":2999})"));
  EXPECT_EQ(small.body.at("max_tokens"), json::value(3000));

  auto tiny = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low","max_tokens":500})");
  ASSERT_TRUE(tiny.err);
  EXPECT_EQ(tiny.err->param, "reasoning_effort");

  auto none = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"none"})");
  ASSERT_FALSE(none.err);
  EXPECT_FALSE(none.body.as_object().contains("thinking"));

  auto explicit_ = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":16000,
    "thinking":{"type":"enabled","budget_tokens":10000},"reasoning_effort":"low"})");
  ASSERT_FALSE(explicit_.err);
  EXPECT_JSON_EQ(explicit_.body.at("thinking"), J(R"({"type":"enabled","budget_tokens":10000})"));
}

TEST(AnthropicEncode, ThinkingBlocksReplayedBeforeToolUse) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"x"},
    {"role":"assistant","content":null,"reasoning_content":"ignored","thinking_blocks":[{"type":"thinking","thinking":"Let me check.","signature":"EqQBCgIYAhIM"}],
     "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{}"}}]},
    {"role":"tool","tool_call_id":"toolu_1","content":"ok"}],"reasoning_effort":"low"})");
  ASSERT_FALSE(e.err);
  EXPECT_JSON_EQ(e.body.at("messages").at(1), J(R"({"role":"assistant","content":[
    {"type":"thinking","thinking":"Let me check.","signature":"EqQBCgIYAhIM"},
    {"type":"tool_use","id":"toolu_1","name":"f","input":{}}]})"));
  EXPECT_JSON_EQ(e.body.at("messages").at(2), J(R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]})"));
}

TEST(AnthropicEncode, CacheControlPassesThrough) {
  auto e = encode(R"({"model":"m","messages":[
    {"role":"system","content":[{"type":"text","text":"You are an AI assistant tasked with analyzing literary works.","cache_control":{"type":"ephemeral"}}]},
    {"role":"user","content":"Analyze the major themes in Pride and Prejudice.","cache_control":{"type":"ephemeral","ttl":"1h"}},
    {"role":"tool_less","content":"x"}]})");
  ASSERT_TRUE(e.err);  // an unknown role is a 400
  EXPECT_EQ(e.err->param, "messages[2].role");

  e = encode(R"({"model":"m","messages":[
    {"role":"system","content":[{"type":"text","text":"You are an AI assistant tasked with analyzing literary works.","cache_control":{"type":"ephemeral"}}]},
    {"role":"user","content":"Analyze the major themes in Pride and Prejudice.","cache_control":{"type":"ephemeral","ttl":"1h"}}],
    "tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}]})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_JSON_EQ(e.body.at("system"), J(R"([{"type":"text","text":"You are an AI assistant tasked with analyzing literary works.","cache_control":{"type":"ephemeral"}}])"));
  EXPECT_JSON_EQ(e.body.at("messages"), J(R"([{"role":"user","content":[{"type":"text","text":"Analyze the major themes in Pride and Prejudice.","cache_control":{"type":"ephemeral","ttl":"1h"}}]}])"));
  EXPECT_JSON_EQ(e.body.at("tools"), J(R"([{"name":"f","input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral"}}])"));
}

TEST(AnthropicEncode, MessagesWithNothingToSayAreRejected) {
  auto e = encode(R"({"model":"m","messages":[{"role":"system","content":"only a system prompt"}]})");
  ASSERT_TRUE(e.err);
  EXPECT_EQ(e.err->param, "messages");
  auto t = encode(R"({"model":"m","messages":[{"role":"tool","content":"x"}]})");
  ASSERT_TRUE(t.err);
  EXPECT_EQ(t.err->param, "messages[0].tool_call_id");
}

// ---------------------------------------------------------------------------------- decode

TEST(AnthropicDecode, TextMessage) {
  json::object completion;
  core::Usage usage;
  auto err = anthropic_codec().decode_chat(R"({
    "id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant",
    "content":[{"type":"text","text":"Hi! My name is Claude."}],
    "model":"claude-sonnet-4-5-20250929","stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":2095,"output_tokens":503}})", "claude-sonnet-4-5", completion, usage);
  ASSERT_FALSE(err);
  EXPECT_TRUE(completion.at("created").is_int64());
  completion.erase("created");
  EXPECT_JSON_EQ(completion, J(R"({"id":"chatcmpl-msg_013Zva2CMHLNnXjNJJKqJ2EF","object":"chat.completion",
    "model":"claude-sonnet-4-5-20250929","choices":[{"index":0,"message":{"role":"assistant","content":"Hi! My name is Claude.","refusal":null},
    "logprobs":null,"finish_reason":"stop"}],
    "usage":{"prompt_tokens":2095,"completion_tokens":503,"total_tokens":2598,"prompt_tokens_details":{"cached_tokens":0},
             "cache_read_input_tokens":0,"cache_creation_input_tokens":0}})"));
  EXPECT_TRUE(usage.known);
  EXPECT_EQ(usage.input_tokens, 2095);
  EXPECT_EQ(usage.output_tokens, 503);
}

TEST(AnthropicDecode, ToolUseThinkingAndCacheUsage) {
  json::object completion;
  core::Usage usage;
  auto err = anthropic_codec().decode_chat(R"({
    "id":"msg_01Aq9w938a90dw8q","type":"message","role":"assistant","model":"claude-sonnet-4-5",
    "content":[
      {"type":"thinking","thinking":"The user wants the weather.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
      {"type":"text","text":"I'll check the current weather in San Francisco for you."},
      {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA","unit":"celsius"}}],
    "stop_reason":"tool_use","stop_sequence":null,
    "usage":{"input_tokens":21,"cache_creation_input_tokens":188086,"cache_read_input_tokens":100,"output_tokens":393}})",
    "claude-sonnet-4-5", completion, usage);
  ASSERT_FALSE(err);
  completion.erase("created");
  EXPECT_JSON_EQ(completion.at("choices"), J(R"([{"index":0,"message":{"role":"assistant",
    "content":"I'll check the current weather in San Francisco for you.","refusal":null,
    "reasoning_content":"The user wants the weather.",
    "thinking_blocks":[{"type":"thinking","thinking":"The user wants the weather.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}],
    "tool_calls":[{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"}}]},
    "logprobs":null,"finish_reason":"tool_calls"}])"));
  EXPECT_JSON_EQ(completion.at("usage"), J(R"({"prompt_tokens":188207,"completion_tokens":393,"total_tokens":188600,
    "prompt_tokens_details":{"cached_tokens":100},"cache_read_input_tokens":100,"cache_creation_input_tokens":188086})"));
  EXPECT_EQ(usage.input_tokens, 188207);
  EXPECT_EQ(usage.cached_input_tokens, 100);
  EXPECT_EQ(usage.cache_creation_tokens, 188086);
}

TEST(AnthropicDecode, StopReasonsAndToolOnlyContent) {
  struct Case { const char* stop; const char* finish; };
  for (auto c : {Case{"end_turn", "stop"}, Case{"stop_sequence", "stop"}, Case{"max_tokens", "length"},
                 Case{"tool_use", "tool_calls"}, Case{"refusal", "content_filter"}, Case{"pause_turn", "stop"}}) {
    json::object completion;
    core::Usage usage;
    std::string body = std::string(R"({"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":")") +
                       c.stop + R"(","usage":{"input_tokens":1,"output_tokens":1}})";
    ASSERT_FALSE(anthropic_codec().decode_chat(body, "m", completion, usage));
    const auto& choice = completion.at("choices").at(0);
    EXPECT_EQ(choice.at("finish_reason"), json::value(c.finish)) << c.stop;
    EXPECT_TRUE(choice.at("message").at("content").is_null());
  }
  json::object completion;
  core::Usage usage;
  auto err = anthropic_codec().decode_chat("<html>oops</html>", "m", completion, usage);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 502);
}

// ---------------------------------------------------------------------------------- stream

namespace {

// Anthropic's streaming reference example for tool use (a ping included).
const std::string kToolStream = sse({
    {"message_start", R"({"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-opus-4-1-20250805","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}})"},
    {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
    {"ping", R"({"type": "ping"})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":", let's check the weather."}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
    {"content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\":"}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" \"San"}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" Francisco, CA\"}"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":1})"},
    {"content_block_start", R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}})"},
    {"content_block_delta", R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":2})"},
    {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}})"},
    {"message_stop", R"({"type":"message_stop"})"},
});

json::value chunk(std::string_view delta, std::string_view finish = "null") {
  return J(std::string(R"({"id":"chatcmpl-msg_014p7gG3wDgGV9EUtLvnow3U","object":"chat.completion.chunk","model":"claude-opus-4-1-20250805","choices":[{"index":0,"delta":)") +
           std::string(delta) + R"(,"logprobs":null,"finish_reason":)" + std::string(finish) + "}]}");
}

}  // namespace

TEST(AnthropicStream, ToolUseBecomesOpenAIToolCallDeltas) {
  auto r = decode_stream(kToolStream);
  ASSERT_FALSE(r.error);
  std::vector<json::value> expected = {
      chunk(R"({"role":"assistant","content":""})"),
      chunk(R"({"content":"Okay"})"),
      chunk(R"({"content":", let's check the weather."})"),
      chunk(R"({"tool_calls":[{"index":0,"id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","type":"function","function":{"name":"get_weather","arguments":""}}]})"),
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":"}}]})"),
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":" \"San"}}]})"),
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":" Francisco, CA\"}"}}]})"),
      chunk(R"({"tool_calls":[{"index":1,"id":"toolu_02","type":"function","function":{"name":"get_time","arguments":""}}]})"),
      chunk(R"({"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]})"),
      chunk("{}", R"("tool_calls")"),
      J(R"({"id":"chatcmpl-msg_014p7gG3wDgGV9EUtLvnow3U","object":"chat.completion.chunk","model":"claude-opus-4-1-20250805","choices":[],
           "usage":{"prompt_tokens":472,"completion_tokens":89,"total_tokens":561,"prompt_tokens_details":{"cached_tokens":0},
                    "cache_read_input_tokens":0,"cache_creation_input_tokens":0}})"),
  };
  ASSERT_EQ(r.chunks.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_JSON_EQ(r.chunks[i], expected[i]);
  EXPECT_EQ(r.usage.input_tokens, 472);
  EXPECT_EQ(r.usage.output_tokens, 89);
}

TEST(AnthropicStream, ThinkingAndCacheUsage) {
  auto text = sse({
      {"message_start", R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":1}}})"},
      {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me solve this step by step."}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}})"},
      {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
      {"content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"27 * 453 = 12,231"}})"},
      {"content_block_stop", R"({"type":"content_block_stop","index":1})"},
      {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":30}})"},
      {"message_stop", R"({"type":"message_stop"})"},
  });
  auto r = decode_stream(text);
  ASSERT_EQ(r.chunks.size(), 5u);
  EXPECT_JSON_EQ(r.chunks[1].at("choices").at(0).at("delta"), J(R"({"reasoning_content":"Let me solve this step by step."})"));
  EXPECT_JSON_EQ(r.chunks[2].at("choices").at(0).at("delta"), J(R"({"content":"27 * 453 = 12,231"})"));
  EXPECT_EQ(r.chunks[3].at("choices").at(0).at("finish_reason"), json::value("length"));
  EXPECT_JSON_EQ(r.chunks[4].at("usage"), J(R"({"prompt_tokens":3050,"completion_tokens":30,"total_tokens":3080,
    "prompt_tokens_details":{"cached_tokens":2000},"cache_read_input_tokens":2000,"cache_creation_input_tokens":1000})"));
  EXPECT_EQ(r.usage.input_tokens, 3050);
  EXPECT_EQ(r.usage.cached_input_tokens, 2000);
  EXPECT_EQ(r.usage.cache_creation_tokens, 1000);
}

TEST(AnthropicStream, MidStreamErrorEvent) {
  auto text = sse({
      {"message_start", R"({"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}})"},
      {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}})"},
      {"error", R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ignored"}})"},
  });
  auto r = decode_stream(text);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->cls, ErrorClass::retryable);
  EXPECT_EQ(r.error->error.status, 503);
  EXPECT_EQ(r.error->error.kind, core::ErrorKind::unavailable);
  ASSERT_EQ(r.chunks.size(), 2u);  // role, "Hel"; nothing after the error, no usage chunk
  EXPECT_JSON_EQ(r.chunks[1].at("choices").at(0).at("delta"), J(R"({"content":"Hel"})"));
}

TEST(AnthropicStream, UnicodeSplitAtEveryByteGivesTheSameChunks) {
  auto text = sse({
      {"message_start", R"({"type":"message_start","message":{"id":"msg_u","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}})"},
      {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Grüße 👩‍👩‍👧 日本語"}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" ✓\u00e9"}})"},
      {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
      {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}})"},
      {"message_stop", R"({"type":"message_stop"})"},
  });
  auto whole = decode_stream(text);
  ASSERT_EQ(whole.chunks.size(), 5u);
  EXPECT_EQ(whole.chunks[1].at("choices").at(0).at("delta").at("content"), json::value("Grüße 👩‍👩‍👧 日本語"));
  EXPECT_EQ(whole.chunks[2].at("choices").at(0).at("delta").at("content"), json::value(" ✓é"));
  for (size_t cut = 1; cut < text.size(); ++cut) {
    auto split = decode_stream(text, {cut});
    ASSERT_EQ(split.chunks, whole.chunks) << "split at byte " << cut;
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < text.size(); ++i) every.push_back(i);
  EXPECT_EQ(decode_stream(text, every).chunks, whole.chunks);
}

TEST(AnthropicStream, CutStreamGetsNoInventedFinish) {
  auto text = sse({
      {"message_start", R"({"type":"message_start","message":{"id":"msg_c","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}})"},
      {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"},
  });
  auto r = decode_stream(text);
  ASSERT_EQ(r.chunks.size(), 2u);
  for (const auto& c : r.chunks) EXPECT_TRUE(c.at("choices").at(0).at("finish_reason").is_null());
}

// ---------------------------------------------------------------------------------- errors

TEST(AnthropicErrors, ClassifiedWithStatusAndOpenAITerms) {
  struct Case { int status; const char* body; int want_status; core::ErrorKind kind; ErrorClass cls; const char* code; };
  const Case cases[] = {
      {400, R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"})",
       400, core::ErrorKind::invalid_request, ErrorClass::invalid_request, "invalid_request"},
      {400, R"({"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208310 tokens > 200000 maximum"}})",
       400, core::ErrorKind::invalid_request, ErrorClass::context_length, "context_length_exceeded"},
      {401, R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})",
       401, core::ErrorKind::authentication, ErrorClass::auth, "upstream_authentication_error"},
      {403, R"({"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}})",
       403, core::ErrorKind::permission, ErrorClass::auth, "upstream_permission_error"},
      {404, R"({"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}})",
       404, core::ErrorKind::not_found, ErrorClass::not_found, "model_not_found"},
      {413, R"({"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}})",
       413, core::ErrorKind::payload_too_large, ErrorClass::invalid_request, "request_too_large"},
      {429, R"({"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}})",
       429, core::ErrorKind::rate_limit, ErrorClass::rate_limited, "rate_limit_exceeded"},
      {500, R"({"type":"error","error":{"type":"api_error","message":"Internal server error"}})",
       502, core::ErrorKind::upstream, ErrorClass::retryable, "upstream_error"},
      {529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
       503, core::ErrorKind::unavailable, ErrorClass::retryable, "overloaded"},
      {502, "<html><body>502 Bad Gateway</body></html>", 502, core::ErrorKind::upstream, ErrorClass::retryable, "upstream_error"},
  };
  for (const auto& c : cases) {
    auto ce = anthropic_codec().decode_error(c.status, c.body);
    EXPECT_EQ(ce.error.status, c.want_status) << c.body;
    EXPECT_EQ(ce.error.kind, c.kind) << c.body;
    EXPECT_EQ(ce.cls, c.cls) << c.body;
    EXPECT_EQ(ce.error.code, c.code) << c.body;
    EXPECT_FALSE(ce.error.message.empty());
  }
  auto ctx = anthropic_codec().decode_error(400, cases[1].body);
  EXPECT_NE(ctx.error.message.find("maximum context length"), std::string::npos);
  EXPECT_NE(ctx.error.message.find("208310"), std::string::npos);
  // The Anthropic envelope of a 529 says overloaded_error.
  auto over = anthropic_codec().decode_error(529, cases[8].body);
  EXPECT_EQ(J(core::to_anthropic_body(over.error)).at("error").at("type"), json::value("overloaded_error"));
}

TEST(AnthropicEmbeddings, ProviderHasNone) {
  EncodedRequest out;
  EncodeOptions opts;
  auto err = anthropic_codec().encode_embeddings(json::object{{"model", "m"}, {"input", "x"}}, opts, provider(), out);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 400);
  EXPECT_EQ(err->message, "provider kind anthropic has no embeddings");
}
