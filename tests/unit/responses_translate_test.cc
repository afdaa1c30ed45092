// The Responses API through the canonical form (dialects/openai/responses.h): golden documents
// for the request as Codex and the Agents SDK send it, the response object, and the stream
// events in order.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/openai/responses.h"
#include "http/sse.h"
#include "store/secret_box.h"

namespace json = boost::json;
using namespace tollgate;
namespace responses = dialects::openai::responses;

namespace {

const store::SecretBox& box() {
  static const store::SecretBox b(std::array<unsigned char, 32>{7, 7, 7});
  return b;
}

json::object obj(std::string_view s) { return json::parse(s).as_object(); }

std::vector<json::object> events(std::string_view sse, std::vector<std::string>* names = nullptr) {
  http::SseReader reader;
  reader.feed(sse);
  http::SseEvent ev;
  std::vector<json::object> out;
  while (reader.next(ev)) {
    auto o = json::parse(ev.data).as_object();
    EXPECT_EQ(o.at("type").as_string(), ev.event);
    EXPECT_EQ(o.at("sequence_number").as_int64(), static_cast<int64_t>(out.size()));
    if (names) names->push_back(ev.event);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

TEST(ResponsesToChat, CodexShapedRequestGolden) {
  auto req = obj(R"({
    "model":"claude","stream":true,"instructions":"Be brief.",
    "input":[
      {"type":"message","id":"msg_1","role":"developer","content":[{"type":"input_text","text":"dev rules"}]},
      {"type":"message","id":"msg_2","role":"user","content":[{"type":"input_text","text":"list files"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]},
      {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Sure."}]},
      {"type":"function_call","id":"fc_1","status":"completed","call_id":"call_1","name":"spawn","namespace":"agents","arguments":"{\"n\":1}"},
      {"type":"function_call_output","call_id":"call_1","output":"done"},
      {"type":"item_reference","id":"x"}
    ],
    "tools":[
      {"type":"function","name":"exec","strict":false,"parameters":{"type":"object","properties":{}}},
      {"type":"namespace","name":"agents","tools":[{"type":"function","name":"spawn","description":"d","parameters":{"type":"object"}}]},
      {"type":"web_search","external_web_access":false}
    ],
    "tool_choice":"auto","parallel_tool_calls":true,"reasoning":{"effort":"low","summary":"auto"},
    "store":false,"include":["reasoning.encrypted_content"],"prompt_cache_key":"k","client_metadata":{"a":"b"},
    "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
    "max_output_tokens":300,"metadata":{"m":"1"}})");
  responses::Turn t;
  ASSERT_FALSE(responses::to_chat(req, {}, &box(), t));
  auto want = json::parse(R"({
    "model":"claude","stream":true,"stream_options":{"include_usage":true},
    "messages":[
      {"role":"system","content":"Be brief."},
      {"role":"developer","content":"dev rules"},
      {"role":"user","content":[{"type":"text","text":"list files"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA","detail":"low"}}]},
      {"role":"assistant","content":"Sure.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"agents__spawn","arguments":"{\"n\":1}"}}]},
      {"role":"tool","tool_call_id":"call_1","content":"done"}
    ],
    "tools":[
      {"type":"function","function":{"name":"exec","parameters":{"type":"object","properties":{}},"strict":false}},
      {"type":"function","function":{"name":"agents__spawn","description":"d","parameters":{"type":"object"}}}
    ],
    "tool_choice":"auto","parallel_tool_calls":true,
    "response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"},"strict":true}},
    "reasoning_effort":"low","max_completion_tokens":300})");
  EXPECT_EQ(json::value(t.chat), want) << json::serialize(t.chat);
  EXPECT_EQ(t.dropped, (std::vector<std::string>{"input[].item_reference", "tools[].web_search", "prompt_cache_key"}));
  EXPECT_TRUE(t.include_encrypted);
  EXPECT_FALSE(t.store);
  EXPECT_TRUE(t.stream);
  EXPECT_EQ(t.input_items.size(), 6u);
  EXPECT_EQ(t.echo.at("metadata"), json::parse(R"({"m":"1"})"));
}

TEST(ResponsesToChat, StringInputHistoryAndErrors) {
  auto history = json::parse(R"([
    {"type":"message","role":"user","content":[{"type":"input_text","text":"first"}]},
    {"type":"message","role":"assistant","content":[{"type":"output_text","text":"one"}]}])").as_array();
  responses::Turn t;
  ASSERT_FALSE(responses::to_chat(obj(R"({"model":"m","input":"second","previous_response_id":"resp_tgx"})"), history, nullptr, t));
  EXPECT_EQ(json::serialize(t.chat.at("messages")),
            R"([{"role":"user","content":[{"type":"text","text":"first"}]},{"role":"assistant","content":"one"},{"role":"user","content":[{"type":"text","text":"second"}]}])");
  EXPECT_EQ(t.previous_response_id, "resp_tgx");

  responses::Turn bad;
  auto e = responses::to_chat(obj(R"({"model":"m","input":[{"type":"function_call","name":"f"}]})"), {}, nullptr, bad);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  EXPECT_EQ(e->param, "input[0].call_id");
  responses::Turn bad2;
  e = responses::to_chat(obj(R"({"model":"m","input":[{"role":"tool","content":"x"}]})"), {}, nullptr, bad2);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "input[0].role");
  responses::Turn bad3;
  e = responses::to_chat(obj(R"({"model":"m","input":"x","background":true})"), {}, nullptr, bad3);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->param, "background");
}

TEST(ResponsesToChat, SealedReasoningGoesBackAsThinkingBlocks) {
  // The answer's reasoning item, sealed, replayed before the call it preceded.
  auto completion = obj(R"({"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
    "content":null,"reasoning_content":"hmm","thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"SIG"}],
    "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]})");
  responses::Turn t0;
  core::Usage u;
  auto r = responses::to_response(completion, t0, "resp_tg1", 1, "m", u, &box());
  const auto& out = r.at("output").as_array();
  ASSERT_EQ(out.size(), 2u);
  std::string sealed(out[0].at("encrypted_content").as_string());
  EXPECT_EQ(sealed.find("SIG"), std::string::npos);

  json::object req{{"model", "m"}, {"input", json::array{json::object{{"type", "message"}, {"role", "user"}, {"content", "q"}}, out[0], out[1],
                                                          json::parse(R"({"type":"function_call_output","call_id":"toolu_1","output":"ok"})")}}};
  responses::Turn t;
  ASSERT_FALSE(responses::to_chat(req, {}, &box(), t));
  const auto& assistant = t.chat.at("messages").as_array()[1].as_object();
  EXPECT_EQ(json::serialize(assistant.at("thinking_blocks")), R"([{"type":"thinking","thinking":"hmm","signature":"SIG"}])");
  // Sealed by another key (or OpenAI's own): left out.
  store::SecretBox other(std::array<unsigned char, 32>{9});
  responses::Turn t2;
  ASSERT_FALSE(responses::to_chat(req, {}, &other, t2));
  EXPECT_FALSE(t2.chat.at("messages").as_array()[1].as_object().contains("thinking_blocks"));
}

TEST(ResponsesFromChat, ResponseObjectGolden) {
  responses::Turn t;
  ASSERT_FALSE(responses::to_chat(obj(R"({"model":"fast","input":"hi","instructions":"I","tools":[{"type":"namespace","name":"ns","tools":[{"type":"function","name":"f"}]}],"metadata":{"k":"v"}})"), {}, nullptr, t));
  auto completion = obj(R"({"choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant","content":"Hello",
    "tool_calls":[{"id":"call_9","type":"function","function":{"name":"ns__f","arguments":"{\"a\":1}"}}]}}]})");
  core::Usage u{true, 10, 5, 4, 0, 2};
  auto r = responses::to_response(completion, t, "resp_tg1", 42, "fast", u, nullptr);
  auto& out = r.at("output").as_array();
  ASSERT_EQ(out.size(), 2u);
  out[0].as_object().erase("id");
  out[1].as_object().erase("id");
  EXPECT_EQ(json::value(out),
            json::parse(R"([{"type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"Hello"}],"role":"assistant"},)"
                        R"({"type":"function_call","status":"completed","arguments":"{\"a\":1}","call_id":"call_9","name":"f","namespace":"ns"}])"))
      << json::serialize(out);
  EXPECT_EQ(r.at("status"), "incomplete");
  EXPECT_EQ(json::serialize(r.at("incomplete_details")), R"({"reason":"max_output_tokens"})");
  EXPECT_EQ(json::serialize(r.at("usage")),
            R"({"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":15})");
  EXPECT_EQ(r.at("instructions"), "I");
  EXPECT_EQ(r.at("object"), "response");
  EXPECT_EQ(r.at("created_at"), 42);
  EXPECT_EQ(json::serialize(r.at("metadata")), R"({"k":"v"})");
}

TEST(ResponsesStream, EventsInTheOrderTheSdkParses) {
  responses::Turn t;
  ASSERT_FALSE(responses::to_chat(obj(R"({"model":"m","input":"hi","stream":true})"), {}, nullptr, t));
  responses::StreamEncoder enc(t, "resp_tg1", 1, "m", &box());
  std::string out;
  for (auto c : {R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
                 R"({"choices":[{"index":0,"delta":{"reasoning_content":"let me "}}]})",
                 R"({"choices":[{"index":0,"delta":{"reasoning_content":"think"}}]})",
                 R"({"choices":[{"index":0,"delta":{"thinking_signature":"SIG"}}]})",
                 R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})",
                 R"({"choices":[{"index":0,"delta":{"content":"lo"}}]})",
                 R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}}]})",
                 R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":"}}]}}]})",
                 R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]})",
                 R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"})
    enc.on_chunk(obj(c), out);
  core::Usage u{true, 3, 4, 0, 0, 0};
  enc.finish(u, out);
  std::vector<std::string> names;
  auto evs = events(out, &names);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "response.created", "response.in_progress",
                       "response.output_item.added", "response.reasoning_summary_part.added",
                       "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
                       "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
                       "response.output_item.done",
                       "response.output_item.added", "response.content_part.added",
                       "response.output_text.delta", "response.output_text.delta",
                       "response.output_text.done", "response.content_part.done", "response.output_item.done",
                       "response.output_item.added", "response.function_call_arguments.delta",
                       "response.function_call_arguments.delta", "response.function_call_arguments.done",
                       "response.output_item.done", "response.completed"}));
  EXPECT_EQ(evs[0].at("response").at("status"), "in_progress");
  EXPECT_EQ(evs[8].at("item").at("summary").at(0).at("text"), "let me think");
  EXPECT_TRUE(evs[8].at("item").as_object().contains("encrypted_content"));
  EXPECT_EQ(evs[10].at("output_index"), 1);
  EXPECT_EQ(evs[13].at("text"), "Hello");
  EXPECT_EQ(evs[16].at("item").at("call_id"), "call_1");
  EXPECT_EQ(evs[16].at("output_index"), 2);
  EXPECT_EQ(evs[19].at("arguments"), "{\"a\":1}");
  const auto& done = evs.back().at("response").as_object();
  EXPECT_EQ(done.at("status"), "completed");
  EXPECT_EQ(done.at("output").as_array().size(), 3u);
  EXPECT_EQ(done.at("usage").at("total_tokens"), 7);
  EXPECT_EQ(json::value(enc.response()), json::value(done));
  // Every item id is announced in output_item.added and kept to the end.
  EXPECT_EQ(evs[2].at("item").at("id"), done.at("output").at(0).at("id"));
}

TEST(ResponsesStream, FailureAfterTheFirstEvent) {
  responses::Turn t;
  responses::StreamEncoder enc(t, "resp_tg1", 1, "m", nullptr);
  std::string out;
  enc.on_chunk(obj(R"({"choices":[{"index":0,"delta":{"content":"x"}}]})"), out);
  enc.fail(core::GatewayError::make(core::ErrorKind::upstream, "boom", "upstream_error"), out);
  std::vector<std::string> names;
  auto evs = events(out, &names);
  EXPECT_EQ(names.at(names.size() - 2), "error");
  EXPECT_EQ(evs.at(evs.size() - 2).at("message"), "boom");
  EXPECT_EQ(names.back(), "response.failed");
  EXPECT_EQ(evs.back().at("response").at("error").at("code"), "upstream_error");
}

TEST(ResponsesStream, GeminiCallSignaturesComeBackWithTheirCalls) {
  responses::Turn t;
  responses::StreamEncoder enc(t, "resp_tg1", 1, "m", &box());
  std::string out;
  enc.on_chunk(obj(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function",
    "function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"GSIG"}}}]}}]})"), out);
  enc.finish(core::Usage{}, out);
  const auto& items = enc.response().at("output").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("type"), "reasoning");
  EXPECT_EQ(items[1].at("type"), "function_call");
  json::object req{{"model", "m"},
                   {"input", json::array{json::object{{"role", "user"}, {"content", "q"}}, items[0], items[1],
                                         json::parse(R"({"type":"function_call_output","call_id":"c1","output":"ok"})")}}};
  responses::Turn back;
  ASSERT_FALSE(responses::to_chat(req, {}, &box(), back));
  const auto& call = back.chat.at("messages").at(1).at("tool_calls").at(0);
  EXPECT_EQ(call.at("extra_content").at("google").at("thought_signature"), "GSIG");
}

// Output items of a gateway response carry its id, so an item_reference finds its response
// without an index; other ids (an upstream's) map to nothing, and an unresolved reference is
// dropped and named by the translation.
TEST(ResponsesItemIds, SayWhichResponseTheyBelongTo) {
  const std::string resp = "resp_tg0123456789abcdef0123456789abcdef";
  EXPECT_EQ(responses::item_id("rs_", resp, 0), "rs_tg0123456789abcdef0123456789abcdef_0");
  EXPECT_EQ(responses::response_of_item("msg_tg0123456789abcdef0123456789abcdef_3"), resp);
  EXPECT_EQ(responses::response_of_item(responses::item_id("fc_", resp, 12)), resp);
  EXPECT_EQ(responses::response_of_item("rs_67ccd2bed1ec8190b14f964abc0542670bb6a6b452e3a8"), "");
  EXPECT_EQ(responses::response_of_item("msg_tg"), "");
  EXPECT_EQ(responses::response_of_item("msg_tg_1"), "");
  EXPECT_EQ(responses::response_of_item(""), "");
  EXPECT_TRUE(responses::item_id("rs_", "resp_upstream1", 0).starts_with("rs_"));
  EXPECT_EQ(responses::response_of_item(responses::item_id("rs_", "resp_upstream1", 0)), "");

  responses::Turn t;
  ASSERT_FALSE(responses::to_chat(obj(R"({"model":"m","input":"hi"})"), {}, nullptr, t));
  auto completion = obj(R"({"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"On it",
    "reasoning_content":"hm","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}}]})");
  auto r = responses::to_response(completion, t, resp, 1, "m", core::Usage{}, nullptr);
  const auto& out = r.at("output").as_array();
  ASSERT_EQ(out.size(), 3u);
  for (std::size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(responses::response_of_item(out[i].at("id").as_string()), resp) << json::serialize(out[i]);

  responses::Turn refs;
  ASSERT_FALSE(responses::to_chat(obj(R"({"model":"m","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"msg_x"}]})"), {}, nullptr, refs));
  EXPECT_EQ(refs.dropped, std::vector<std::string>{"input[].item_reference"});
  EXPECT_EQ(refs.chat.at("messages").as_array().size(), 1u);
}

// POST /v1/responses/input_tokens where the provider cannot count: about 4 bytes a token, 4 a
// message, 1,600 an image; sealed reasoning and item bookkeeping count nothing.
TEST(ResponsesInputTokens, DocumentedEstimate) {
  EXPECT_EQ(responses::input_tokens_estimate(obj(R"({"model":"m","input":"12345678"})")), (4 + 8 + 3) / 4 + 4);
  EXPECT_EQ(responses::input_tokens_estimate(obj(R"({"model":"m","instructions":"abcd","input":[
    {"type":"reasoning","id":"rs_1","encrypted_content":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","summary":[]},
    {"role":"user","content":[{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]}]})")),
            (4 + 4 + 3) / 4 + 8 + 1600);
  EXPECT_EQ(responses::input_tokens_estimate(obj(R"({"model":"m"})")), 1);
}

// Reasoning the gateway did not seal (OpenAI's own, as a chain begun on OpenAI holds it) is
// left out and named; the rest of the turn goes through.
TEST(ResponsesToChat, ForeignReasoningIsDroppedAndNamed) {
  responses::Turn t;
  ASSERT_FALSE(responses::to_chat(obj(R"({"model":"m","input":[{"role":"user","content":"hi"},
    {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"gAAAAABopenai"},
    {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
    {"type":"function_call_output","call_id":"c1","output":"ok"}]})"), {}, &box(), t));
  EXPECT_EQ(t.dropped, std::vector<std::string>{std::string(responses::kUnverifiedReasoning)});
  const auto& messages = t.chat.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_FALSE(messages[1].as_object().contains("thinking_blocks"));
}
