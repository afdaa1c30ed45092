// The Anthropic Messages API inbound: Anthropic requests -> canonical chat requests, canonical
// answers and chunk streams -> Anthropic messages and Anthropic streams. The Anthropic sides
// follow the examples of Anthropic's API reference; the OpenAI sides OpenAI's.
#include <gtest/gtest.h>

#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/anthropic/inbound.h"
#include "http/sse.h"

namespace json = boost::json;
using namespace tollgate;
using dialects::anthropic::chat_to_message;
using dialects::anthropic::count_tokens_estimate;
using dialects::anthropic::messages_to_chat;
using dialects::anthropic::MessagesStreamEncoder;

namespace {

json::value J(std::string_view s) { return json::parse(s); }

#define EXPECT_JSON_EQ(actual, expected)                                                     \
  do {                                                                                       \
    json::value a_ = (actual);                                                               \
    json::value e_ = (expected);                                                             \
    EXPECT_EQ(a_, e_) << "actual:   " << json::serialize(a_) << "\nexpected: " << json::serialize(e_); \
  } while (0)

struct Converted {
  std::optional<core::GatewayError> err;
  json::object chat;
  std::string model;
  bool stream = false;
};

Converted convert(std::string_view anthropic) {
  Converted c;
  c.err = messages_to_chat(J(anthropic), c.chat, c.model, c.stream);
  return c;
}

// As for a model with strict_params: what cannot be translated is a 400 naming it.
Converted convert_strict(std::string_view anthropic) {
  Converted c;
  c.err = messages_to_chat(J(anthropic), c.chat, c.model, c.stream, dialects::EncodeOptions{});
  return c;
}

// Reads an Anthropic stream back the way the Anthropic SDK accumulates it, checking the
// protocol's order on the way: message_start first, blocks opened and closed in index order,
// deltas only inside an open block, message_delta then message_stop last.
struct Replayed {
  std::vector<std::string> events;
  json::object message;
};

Replayed replay(std::string_view sse) {
  Replayed r;
  http::SseReader reader;
  reader.feed(sse);
  http::SseEvent ev;
  std::map<int64_t, std::string> partial_json;
  int64_t open = -1, next_index = 0;
  bool stopped = false;
  while (reader.next(ev)) {
    EXPECT_FALSE(stopped) << "event after message_stop: " << ev.event;
    r.events.push_back(ev.event);
    json::object d = json::parse(ev.data).as_object();
    EXPECT_EQ(d.at("type"), json::value(ev.event)) << "event name and data type differ";
    if (ev.event == "message_start") {
      EXPECT_EQ(r.events.size(), 1u);
      r.message = d.at("message").as_object();
    } else if (ev.event == "content_block_start") {
      EXPECT_EQ(open, -1) << "block opened while another is open";
      EXPECT_EQ(d.at("index"), json::value(next_index));
      open = next_index++;
      r.message["content"].as_array().push_back(d.at("content_block"));
    } else if (ev.event == "content_block_delta") {
      EXPECT_EQ(d.at("index"), json::value(open));
      auto& block = r.message["content"].as_array().at(open).as_object();
      const auto& delta = d.at("delta").as_object();
      std::string_view type = delta.at("type").as_string();
      if (type == "text_delta") block["text"] = std::string(block["text"].as_string()) + std::string(delta.at("text").as_string());
      else if (type == "thinking_delta") block["thinking"] = std::string(block["thinking"].as_string()) + std::string(delta.at("thinking").as_string());
      else if (type == "input_json_delta") partial_json[open] += std::string(delta.at("partial_json").as_string());
      else ADD_FAILURE() << "unexpected delta " << type;
    } else if (ev.event == "content_block_stop") {
      EXPECT_EQ(d.at("index"), json::value(open));
      auto& block = r.message["content"].as_array().at(open).as_object();
      if (block.at("type") == json::value("tool_use") && partial_json.count(open))
        block["input"] = json::parse(partial_json[open]);
      open = -1;
    } else if (ev.event == "message_delta") {
      EXPECT_EQ(open, -1);
      r.message["stop_reason"] = d.at("delta").at("stop_reason");
      r.message["stop_sequence"] = d.at("delta").at("stop_sequence");
      for (const auto& kv : d.at("usage").as_object()) r.message["usage"].as_object()[kv.key()] = kv.value();
    } else if (ev.event == "message_stop") {
      EXPECT_EQ(r.events.size() >= 2 ? r.events[r.events.size() - 2] : "", "message_delta");
      stopped = true;
    } else {
      ADD_FAILURE() << "unexpected event " << ev.event;
    }
  }
  EXPECT_TRUE(stopped) << "no message_stop";
  EXPECT_TRUE(reader.pending().empty());
  return r;
}

std::string encode_stream(std::string_view model, const std::vector<std::string>& chunks, core::Usage usage = {}) {
  MessagesStreamEncoder enc{std::string(model)};
  std::string out;
  for (const auto& c : chunks) enc.on_chunk(J(c).as_object(), out);
  enc.finish(usage, out);
  EXPECT_TRUE(enc.finished());
  return out;
}

std::string oa_chunk(std::string_view delta, std::string_view finish = "null") {
  return std::string(R"({"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":)") +
         std::string(delta) + R"(,"logprobs":null,"finish_reason":)" + std::string(finish) + "}],\"usage\":null}";
}

const char* kUsageChunk = R"({"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[],
  "usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})";

}  // namespace

// ---------------------------------------------------------------------------------- requests

TEST(AnthropicInbound, BasicRequest) {
  auto c = convert(R"({"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":"Hello, world"}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_EQ(c.model, "claude-sonnet-4-5");
  EXPECT_FALSE(c.stream);
  EXPECT_JSON_EQ(c.chat, J(R"({"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hello, world"}],"max_completion_tokens":1024})"));
}

TEST(AnthropicInbound, SystemSamplingStopMetadataStream) {
  auto c = convert(R"({"model":"smart","max_tokens":256,"stream":true,
    "system":[{"type":"text","text":"You are an AI assistant tasked with analyzing literary works."},
              {"type":"text","text":"<the entire contents of Pride and Prejudice>","cache_control":{"type":"ephemeral"}}],
    "messages":[{"role":"user","content":"Analyze the major themes."},{"role":"assistant","content":"The themes are"}],
    "temperature":0.2,"top_p":0.9,"top_k":40,"stop_sequences":["END"],"metadata":{"user_id":"13803d75-b4b5-4c3e-b2a2-6f21399b021b"},
    "service_tier":"auto"})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_TRUE(c.stream);
  EXPECT_JSON_EQ(c.chat, J(R"({"model":"smart","messages":[
      {"role":"system","content":[{"type":"text","text":"You are an AI assistant tasked with analyzing literary works."},
                                  {"type":"text","text":"<the entire contents of Pride and Prejudice>"}]},
      {"role":"user","content":"Analyze the major themes."},
      {"role":"assistant","content":"The themes are"}],
    "max_completion_tokens":256,"temperature":0.2,"top_p":0.9,"top_k":40,"stop":["END"],
    "user":"13803d75-b4b5-4c3e-b2a2-6f21399b021b","stream":true,"stream_options":{"include_usage":true}})"));
}

TEST(AnthropicInbound, ToolsToolUseAndToolResults) {
  auto c = convert(R"({"model":"m","max_tokens":1024,
    "tools":[{"name":"get_weather","description":"Get the current weather in a given location",
              "input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},
              "cache_control":{"type":"ephemeral"}}],
    "tool_choice":{"type":"any","disable_parallel_tool_use":true},
    "messages":[
      {"role":"user","content":"What's the weather like in San Francisco?"},
      {"role":"assistant","content":[
        {"type":"thinking","thinking":"I should call the tool.","signature":"EqQB"},
        {"type":"text","text":"I'll check the current weather in San Francisco for you."},
        {"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"location":"San Francisco, CA"}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_01A09q90qw90lq917835lq9","content":"15 degrees"},
        {"type":"text","text":"And tomorrow?"}]}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_JSON_EQ(c.chat, J(R"({"model":"m","messages":[
      {"role":"user","content":"What's the weather like in San Francisco?"},
      {"role":"assistant","content":"I'll check the current weather in San Francisco for you.",
       "tool_calls":[{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"San Francisco, CA\"}"}}]},
      {"role":"tool","tool_call_id":"toolu_01A09q90qw90lq917835lq9","content":"15 degrees"},
      {"role":"user","content":"And tomorrow?"}],
    "max_completion_tokens":1024,
    "tools":[{"type":"function","function":{"name":"get_weather","description":"Get the current weather in a given location",
              "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}],
    "tool_choice":"required","parallel_tool_calls":false})"));
}

TEST(AnthropicInbound, ToolResultErrorsImagesAndToolChoiceForms) {
  auto c = convert(R"({"model":"m","max_tokens":100,
    "tools":[{"name":"screenshot","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"screenshot"},
    "messages":[{"role":"user","content":"Take one"},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"screenshot","input":{}},
                                     {"type":"tool_use","id":"toolu_2","name":"screenshot","input":{}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"Here it is"},
           {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},
        {"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":"display not found"}]}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_JSON_EQ(c.chat.at("messages"), J(R"([
      {"role":"user","content":"Take one"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"toolu_1","type":"function","function":{"name":"screenshot","arguments":"{}"}},
        {"id":"toolu_2","type":"function","function":{"name":"screenshot","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"toolu_1","content":"Here it is"},
      {"role":"tool","tool_call_id":"toolu_2","content":"Error: display not found"},
      {"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}])"));
  EXPECT_JSON_EQ(c.chat.at("tool_choice"), J(R"({"type":"function","function":{"name":"screenshot"}})"));
}

TEST(AnthropicInbound, ImagesAndDocuments) {
  auto c = convert(R"({"model":"m","max_tokens":100,"messages":[{"role":"user","content":[
    {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},
    {"type":"image","source":{"type":"url","url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
    {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0x"},"title":"paper.pdf"},
    {"type":"text","text":"What is in these?"}]}]})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_JSON_EQ(c.chat.at("messages"), J(R"([{"role":"user","content":[
    {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}},
    {"type":"image_url","image_url":{"url":"https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg"}},
    {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0x","filename":"paper.pdf"}},
    {"type":"text","text":"What is in these?"}]}])"));
}

TEST(AnthropicInbound, ThinkingBecomesReasoningEffort) {
  auto effort = [](const char* thinking) {
    auto c = convert(std::string(R"({"model":"m","max_tokens":32000,"messages":[{"role":"user","content":"x"}],"thinking":)") + thinking + "}");
    EXPECT_FALSE(c.err);
    auto* e = c.chat.if_contains("reasoning_effort");
    return e ? std::string(e->as_string()) : std::string("<none>");
  };
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":1024})"), "low");
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":10000})"), "medium");
  EXPECT_EQ(effort(R"({"type":"enabled","budget_tokens":16384})"), "high");
  EXPECT_EQ(effort(R"({"type":"disabled"})"), "<none>");
}

TEST(AnthropicInbound, ValidationAnswersLikeAnthropic) {
  struct Case { const char* body; const char* param; const char* message; };
  const Case cases[] = {
      {R"({"max_tokens":10,"messages":[{"role":"user","content":"x"}]})", "model", "model: Field required"},
      {R"({"model":"m","messages":[{"role":"user","content":"x"}]})", "max_tokens", "max_tokens: Field required"},
      {R"({"model":"m","max_tokens":10})", "messages", "messages: Field required"},
      {R"({"model":"m","max_tokens":10,"messages":[{"role":"tool","content":"x"}]})", "messages.0.role",
       "messages.0.role: Input should be 'user', 'assistant' or 'system'"},
      {R"({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}})",
       "stream_options", "stream_options: Extra inputs are not permitted"},
      {R"({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]})",
       "tools.web_search_20250305", nullptr},
      {R"({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"x"}],"mcp_servers":[{"type":"url","url":"https://x","name":"x"}]})",
       "mcp_servers", nullptr},
      {R"({"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"search_result"}]}]})", "content.search_result", nullptr},
  };
  for (const auto& c : cases) {
    auto r = convert_strict(c.body);
    ASSERT_TRUE(r.err) << c.body;
    EXPECT_EQ(r.err->status, 400) << c.body;
    EXPECT_EQ(r.err->param, c.param) << c.body;
    if (c.message) EXPECT_EQ(r.err->message, c.message);
    EXPECT_EQ(J(core::to_anthropic_body(*r.err)).at("error").at("type"), json::value("invalid_request_error"));
  }
}

// ---------------------------------------------------------------------------------- answers

TEST(AnthropicInbound, CompletionToMessage) {
  auto m = chat_to_message(J(R"({"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,
    "model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"The image shows a wooden boardwalk.","refusal":null,"annotations":[]},
    "logprobs":null,"finish_reason":"stop"}],
    "usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
             "completion_tokens_details":{"reasoning_tokens":0}}})").as_object(), "smart");
  EXPECT_JSON_EQ(m, J(R"({"id":"msg_B9MHDbslfkBeAs8l4bebGdFOJ6PeG","type":"message","role":"assistant","model":"smart",
    "content":[{"type":"text","text":"The image shows a wooden boardwalk."}],"stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":93,"output_tokens":46,"cache_read_input_tokens":1024,"cache_creation_input_tokens":0}})"));
}

TEST(AnthropicInbound, ToolCallsReasoningAndStopReasons) {
  auto m = chat_to_message(J(R"({"id":"chatcmpl-abc","object":"chat.completion","created":1,"model":"o3",
    "choices":[{"index":0,"message":{"role":"assistant","content":null,"reasoning_content":"Need weather.",
      "tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_current_weather","arguments":"{\n\"location\": \"Boston, MA\"\n}"}},
                    {"id":"call_bad","type":"function","function":{"name":"f","arguments":"not json"}}]},
      "logprobs":null,"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"cache_creation_input_tokens":50}})").as_object(), "smart");
  EXPECT_JSON_EQ(m.at("content"), J(R"([{"type":"thinking","thinking":"Need weather.","signature":""},
    {"type":"tool_use","id":"call_abc123","name":"get_current_weather","input":{"location":"Boston, MA"}},
    {"type":"tool_use","id":"call_bad","name":"f","input":{}}])"));
  EXPECT_EQ(m.at("stop_reason"), json::value("tool_use"));
  EXPECT_JSON_EQ(m.at("usage"), J(R"({"input_tokens":32,"output_tokens":17,"cache_read_input_tokens":0,"cache_creation_input_tokens":50})"));

  for (auto [finish, stop] : {std::pair{"length", "max_tokens"}, std::pair{"content_filter", "refusal"}, std::pair{"stop", "end_turn"}}) {
    auto x = chat_to_message(J(std::string(R"({"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":")") + finish + "\"}]}").as_object(), "m");
    EXPECT_EQ(x.at("stop_reason"), json::value(stop));
  }
}

// ---------------------------------------------------------------------------------- stream

TEST(AnthropicInbound, TextStreamWithUsageOnlyInTheLastChunk) {
  auto out = encode_stream("smart", {oa_chunk(R"({"role":"assistant","content":"","refusal":null})"),
                                     oa_chunk(R"({"content":"Hello"})"), oa_chunk(R"({"content":" there, ünïcødé 👋"})"),
                                     oa_chunk("{}", R"("stop")"), kUsageChunk});
  auto r = replay(out);
  EXPECT_EQ(r.events, (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                                "content_block_delta", "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_JSON_EQ(r.message, J(R"({"id":"msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT","type":"message","role":"assistant","model":"smart",
    "content":[{"type":"text","text":"Hello there, ünïcødé 👋"}],"stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":15,"output_tokens":10,"cache_read_input_tokens":4,"cache_creation_input_tokens":0}})"));
  // The first event is exactly Anthropic's message_start shape.
  http::SseReader reader;
  reader.feed(out);
  http::SseEvent ev;
  ASSERT_TRUE(reader.next(ev));
  EXPECT_JSON_EQ(J(ev.data), J(R"({"type":"message_start","message":{"id":"msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT","type":"message",
    "role":"assistant","model":"smart","content":[],"stop_reason":null,"stop_sequence":null,
    "usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}})"));
}

TEST(AnthropicInbound, ToolCallStreamOpensABlockPerToolIndex) {
  auto out = encode_stream("smart", {
      oa_chunk(R"({"role":"assistant","content":null})"),
      oa_chunk(R"({"content":"Checking."})"),
      oa_chunk(R"({"tool_calls":[{"index":0,"id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","type":"function","function":{"name":"get_weather","arguments":""}}]})"),
      oa_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]})"),
      oa_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"location"}}]})"),
      oa_chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\":\"Paris\"}"}}]})"),
      oa_chunk(R"({"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_time","arguments":"{}"}}]})"),
      oa_chunk("{}", R"("tool_calls")"),
      kUsageChunk});
  auto r = replay(out);
  EXPECT_EQ(r.events, (std::vector<std::string>{
                          "message_start", "content_block_start", "content_block_delta", "content_block_stop",
                          "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta",
                          "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop",
                          "message_delta", "message_stop"}));
  EXPECT_JSON_EQ(r.message.at("content"), J(R"([{"type":"text","text":"Checking."},
    {"type":"tool_use","id":"call_DdmO9pD3xa9XTPNJ32zg2hcA","name":"get_weather","input":{"location":"Paris"}},
    {"type":"tool_use","id":"call_2","name":"get_time","input":{}}])"));
  EXPECT_EQ(r.message.at("stop_reason"), json::value("tool_use"));
}

TEST(AnthropicInbound, ReasoningStreamAndTapUsageWins) {
  core::Usage tap;
  tap.known = true;
  tap.input_tokens = 100;
  tap.output_tokens = 7;
  tap.cached_input_tokens = 20;
  tap.cache_creation_tokens = 30;
  auto out = encode_stream("smart", {oa_chunk(R"({"role":"assistant","reasoning_content":"Think"})"),
                                     oa_chunk(R"({"reasoning_content":"ing."})"), oa_chunk(R"({"content":"Done"})"),
                                     oa_chunk("{}", R"("length")")},
                           tap);
  auto r = replay(out);
  EXPECT_JSON_EQ(r.message.at("content"), J(R"([{"type":"thinking","thinking":"Thinking.","signature":""},{"type":"text","text":"Done"}])"));
  EXPECT_EQ(r.message.at("stop_reason"), json::value("max_tokens"));
  EXPECT_JSON_EQ(r.message.at("usage"), J(R"({"input_tokens":50,"output_tokens":7,"cache_read_input_tokens":20,"cache_creation_input_tokens":30})"));
}

TEST(AnthropicInbound, EmptyStreamStillClosesProperly) {
  auto r = replay(encode_stream("smart", {}));
  EXPECT_EQ(r.events, (std::vector<std::string>{"message_start", "message_delta", "message_stop"}));
  EXPECT_EQ(r.message.at("stop_reason"), json::value("end_turn"));
  EXPECT_JSON_EQ(r.message.at("content"), J("[]"));
}

TEST(AnthropicInbound, StreamErrorEventIsAnthropicShaped) {
  auto e = core::GatewayError::make(core::ErrorKind::unavailable, "Overloaded");
  http::SseReader reader;
  reader.feed(dialects::anthropic::stream_error_event(e));
  http::SseEvent ev;
  ASSERT_TRUE(reader.next(ev));
  EXPECT_EQ(ev.event, "error");
  EXPECT_JSON_EQ(J(ev.data), J(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
}

// ---------------------------------------------------------------------------------- count_tokens

TEST(AnthropicInbound, CountTokensEstimate) {
  // 12 text bytes -> 3 tokens, + 4 per message.
  EXPECT_EQ(count_tokens_estimate(J(R"({"model":"m","messages":[{"role":"user","content":"Hello, world"}]})")), 7);
  // system (8 bytes) + text (4) + image (1600) + tool_use name+input (1 + 2) + tool_result (2) + tool definition.
  json::value tool = J(R"({"name":"f","input_schema":{"type":"object"}})");
  int64_t tool_bytes = static_cast<int64_t>(json::serialize(tool).size());
  json::value req = J(R"({"model":"m","system":"Be brief","messages":[
    {"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"url","url":"https://x"}}]},
    {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
    {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"ok"}]}]})");
  req.as_object()["tools"] = json::array{tool};
  EXPECT_EQ(count_tokens_estimate(req), (8 + 4 + 3 + 2 + tool_bytes + 3) / 4 + 1600 + 12);
  EXPECT_EQ(count_tokens_estimate(J("[]")), 1);
}
