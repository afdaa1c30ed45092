// The Gemini API inbound: Gemini requests -> canonical chat requests, canonical answers and
// chunk streams -> GenerateContentResponse documents and Gemini streams, embeddings both ways,
// the caller's path and key. The Gemini sides follow the examples of Google's API reference
// (and what @google/genai sends); the OpenAI sides OpenAI's.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/gemini/inbound.h"
#include "http/sse.h"

namespace json = boost::json;
using namespace tollgate;
namespace gemini = dialects::gemini;

namespace {

json::value J(std::string_view s) { return json::parse(s); }

#define EXPECT_JSON_EQ(actual, expected)                                                                 \
  do {                                                                                                   \
    json::value a_ = (actual);                                                                           \
    json::value e_ = (expected);                                                                         \
    EXPECT_EQ(a_, e_) << "actual:   " << json::serialize(a_) << "\nexpected: " << json::serialize(e_); \
  } while (0)

struct Converted {
  std::optional<core::GatewayError> err;
  json::object chat;
  std::vector<std::string> dropped;
};

Converted convert(std::string_view body, bool stream = false) {
  Converted c;
  c.err = gemini::generate_to_chat(J(body), stream, c.chat, c.dropped);
  return c;
}

// The data of each SSE event of `sse`, parsed.
std::vector<json::object> events_of(std::string_view sse) {
  std::vector<json::object> out;
  http::SseReader reader;
  reader.feed(sse);
  http::SseEvent ev;
  while (reader.next(ev))
    if (ev.has_data) out.push_back(json::parse(ev.data).as_object());
  return out;
}

}  // namespace

TEST(GeminiCallerPath, ModelAndMethodFromThePathQueryAside) {
  auto p = gemini::parse_caller_path("/v1beta/models/flash:streamGenerateContent?alt=sse&key=k");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->model, "flash");
  EXPECT_EQ(p->method, gemini::Method::stream);
  p = gemini::parse_caller_path("/v1beta/models/openai%2Fgpt-4o:generateContent");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->model, "openai/gpt-4o");
  EXPECT_EQ(gemini::parse_caller_path("/v1beta/models/x:batchEmbedContents")->method, gemini::Method::batch_embed);
  EXPECT_EQ(gemini::parse_caller_path("/v1beta/models/x:countTokens")->method, gemini::Method::count_tokens);
  EXPECT_FALSE(gemini::parse_caller_path("/v1beta/models/x:predict"));
  EXPECT_FALSE(gemini::parse_caller_path("/v1beta/models/:generateContent"));
  EXPECT_FALSE(gemini::parse_caller_path("/v1/models/x:generateContent"));
  EXPECT_TRUE(gemini::wants_sse("/v1beta/models/x:streamGenerateContent?key=a&alt=sse"));
  EXPECT_FALSE(gemini::wants_sse("/v1beta/models/x:streamGenerateContent"));
  EXPECT_EQ(gemini::query_key("/v1beta/models/x:generateContent?key=sk%2Dabc&alt=sse"), "sk-abc");
  EXPECT_EQ(gemini::query_key("/v1beta/models/x:generateContent"), "");
}

TEST(GeminiReadRequest, RejectsWhatGeminiRejects) {
  json::value doc;
  EXPECT_FALSE(gemini::read_request(R"({"contents":[{"role":"user","parts":[{"text":"hi"}]}]})", gemini::Method::generate, doc));
  auto e = gemini::read_request(R"({"contents":[]})", gemini::Method::generate, doc);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  EXPECT_TRUE(gemini::read_request("[1]", gemini::Method::generate, doc));
  EXPECT_TRUE(gemini::read_request("{not json", gemini::Method::stream, doc));
  EXPECT_TRUE(gemini::read_request(R"({"contents":[{"role":"assistant","parts":[{"text":"x"}]}]})", gemini::Method::generate, doc));
  EXPECT_TRUE(gemini::read_request(R"({"contents":[{"role":"user","parts":[]}]})", gemini::Method::generate, doc));
  EXPECT_FALSE(gemini::read_request(R"({"requests":[{"content":{"parts":[{"text":"a"}]}}]})", gemini::Method::batch_embed, doc));
  EXPECT_TRUE(gemini::read_request(R"({"requests":[]})", gemini::Method::batch_embed, doc));
  EXPECT_FALSE(gemini::read_request(R"({"content":{"parts":[{"text":"a"}]}})", gemini::Method::embed, doc));
  EXPECT_FALSE(gemini::read_request(R"({"generateContentRequest":{"model":"models/x","contents":[{"parts":[{"text":"a"}]}]}})",
                                    gemini::Method::count_tokens, doc));
}

TEST(GeminiToChat, SystemInstructionWithRoleUserAndGenerationConfig) {
  // What @google/genai sends for generateContent with a config.
  auto c = convert(R"({
    "contents":[{"role":"user","parts":[{"text":"hello "},{"text":"there"}]}],
    "systemInstruction":{"role":"user","parts":[{"text":"Be brief."}]},
    "generationConfig":{"temperature":0.2,"topP":0.9,"topK":40,"maxOutputTokens":64,"stopSequences":["END"],
                        "candidateCount":1,"seed":7,"thinkingConfig":{"thinkingBudget":2048,"includeThoughts":true}},
    "safetySettings":[{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}]})",
                   true);
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_JSON_EQ(c.chat, J(R"({
    "messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}],
    "temperature":0.2,"top_p":0.9,"top_k":40,"seed":7,"max_completion_tokens":64,"n":1,"stop":["END"],
    "reasoning_effort":"medium","stream":true,"stream_options":{"include_usage":true}})"));
  EXPECT_EQ(c.dropped, (std::vector<std::string>{"safetySettings"}));
}

TEST(GeminiToChat, FunctionCallRoundTripMatchesByNameThenId) {
  auto c = convert(R"({
    "contents":[
      {"role":"user","parts":[{"text":"weather in Paris and Rome?"}]},
      {"role":"model","parts":[{"text":"Checking."},
                               {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},
                               {"functionCall":{"name":"get_weather","args":{"city":"Rome"}}}]},
      {"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"sunny"}}},
                              {"functionResponse":{"name":"get_weather","response":{"temp":21}}}]},
      {"role":"model","parts":[{"functionCall":{"id":"fc-9","name":"lookup","args":{}}}]},
      {"role":"user","parts":[{"functionResponse":{"id":"fc-9","name":"lookup","response":{"output":"done"}}},{"text":"thanks"}]}],
    "tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather",
              "parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING","nullable":true},
                             "days":{"type":"ARRAY","items":{"type":"INTEGER"},"maxItems":"7"}},"required":["city"],"propertyOrdering":["city"]}},
             {"name":"lookup"}]}],
    "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["lookup"]}}})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_JSON_EQ(c.chat, J(R"({
    "messages":[
      {"role":"user","content":"weather in Paris and Rome?"},
      {"role":"assistant","content":"Checking.","tool_calls":[
        {"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
      {"role":"tool","tool_call_id":"call_0","content":"sunny"},
      {"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21}"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"fc-9","type":"function","function":{"name":"lookup","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"fc-9","content":"done"},
      {"role":"user","content":"thanks"}],
    "tools":[
      {"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{
        "type":"object","properties":{"city":{"type":["string","null"]},"days":{"type":"array","items":{"type":"integer"},"maxItems":7}},
        "required":["city"]}}},
      {"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{}}}}],
    "tool_choice":{"type":"function","function":{"name":"lookup"}}})"));
  // The replayed signature cannot go to another provider: dropped, and named once.
  EXPECT_EQ(c.dropped, std::vector<std::string>{std::string(gemini::kThoughtSignature)});
}

TEST(GeminiToChat, ImagesJsonOutputAndWhatIsRefused) {
  auto c = convert(R"({"contents":[{"parts":[{"text":"what is this"},{"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}],
                       "generationConfig":{"responseMimeType":"application/json",
                                           "responseSchema":{"type":"OBJECT","properties":{"a":{"type":"STRING"}}}}})");
  ASSERT_FALSE(c.err) << c.err->message;
  EXPECT_JSON_EQ(c.chat["messages"], J(R"([{"role":"user","content":[{"type":"text","text":"what is this"},
                                        {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}])"));
  EXPECT_JSON_EQ(c.chat["response_format"], J(R"({"type":"json_schema","json_schema":{"name":"response",
                                               "schema":{"type":"object","properties":{"a":{"type":"string"}}}}})"));

  auto pdf = convert(R"({"contents":[{"parts":[{"inlineData":{"mimeType":"application/pdf","data":"AAAA"}}]}]})");
  ASSERT_TRUE(pdf.err);
  EXPECT_EQ(pdf.err->code, "unsupported_parameter");
  auto search = convert(R"({"contents":[{"parts":[{"text":"x"}]}],"tools":[{"googleSearch":{}}]})");
  ASSERT_TRUE(search.err);
  EXPECT_EQ(search.err->param, "tools[0].googleSearch");
  auto unknown = convert(R"({"contents":[{"parts":[{"text":"x"}]}],"bogus":1})");
  ASSERT_TRUE(unknown.err);
  EXPECT_EQ(unknown.err->status, 400);
  auto orphan = convert(R"({"contents":[{"parts":[{"functionResponse":{"name":"f","response":{}}}]}]})");
  ASSERT_TRUE(orphan.err);
  EXPECT_NE(orphan.err->message.find("answers no functionCall"), std::string::npos);
}

TEST(ChatToGemini, CompletionWithTextToolCallAndUsage) {
  auto out = gemini::chat_to_generate(J(R"({"id":"chatcmpl-abc","object":"chat.completion","model":"gpt-4o",
    "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Let me check.",
      "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
    "usage":{"prompt_tokens":10,"completion_tokens":7,"total_tokens":17,
             "completion_tokens_details":{"reasoning_tokens":2},"prompt_tokens_details":{"cached_tokens":4}}})")
                                          .as_object(),
                                      "smart");
  EXPECT_JSON_EQ(out, J(R"({"candidates":[{"content":{"parts":[{"text":"Let me check."},
      {"functionCall":{"id":"call_1","name":"get_weather","args":{"city":"Paris"}}}],"role":"model"},
      "finishReason":"STOP","index":0}],
    "usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"thoughtsTokenCount":2,
                     "cachedContentTokenCount":4,"totalTokenCount":17},
    "modelVersion":"smart","responseId":"abc"})"));
  auto len = gemini::chat_to_generate(
      J(R"({"id":"x","choices":[{"index":0,"finish_reason":"length","message":{"role":"assistant","content":"a"}}]})").as_object(), "m");
  EXPECT_EQ(len["candidates"].as_array()[0].as_object()["finishReason"], "MAX_TOKENS");
}

TEST(GeminiStreamEncoder, TextDeltasThenToolCallsWholeWithUsageLast) {
  gemini::GenerateStreamEncoder enc("smart");
  std::string out;
  enc.on_chunk(J(R"({"id":"chatcmpl-s1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})").as_object(), out);
  enc.on_chunk(J(R"({"id":"chatcmpl-s1","choices":[{"index":0,"delta":{"content":"Hel"}}]})").as_object(), out);
  enc.on_chunk(J(R"({"id":"chatcmpl-s1","choices":[{"index":0,"delta":{"content":"lo"}}]})").as_object(), out);
  enc.on_chunk(J(R"({"id":"chatcmpl-s1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_9","type":"function",
                   "function":{"name":"get_weather","arguments":"{\"ci"}}]}}]})").as_object(), out);
  enc.on_chunk(J(R"({"id":"chatcmpl-s1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
                   "function":{"arguments":"ty\":\"Oslo\"}"}}]}}]})").as_object(), out);
  enc.on_chunk(J(R"({"id":"chatcmpl-s1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})").as_object(), out);
  enc.on_chunk(J(R"({"id":"chatcmpl-s1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})").as_object(), out);
  core::Usage unknown;
  enc.finish(unknown, out);
  EXPECT_EQ(out.find("\n\n"), std::string::npos);  // Gemini's framing: \r\n\r\n
  EXPECT_NE(out.find("\r\n\r\n"), std::string::npos);
  auto evs = events_of(out);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_JSON_EQ(evs[0], J(R"({"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],
                              "modelVersion":"smart","responseId":"s1"})"));
  EXPECT_JSON_EQ(evs[2], J(R"({"candidates":[{"content":{"parts":[{"functionCall":{"id":"call_9","name":"get_weather",
                              "args":{"city":"Oslo"}}}],"role":"model"},"finishReason":"STOP","index":0}],
                              "usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,"totalTokenCount":7},
                              "modelVersion":"smart","responseId":"s1"})"));
}

TEST(GeminiStreamEncoder, RelayUsageWinsAndThoughtsAreMarked) {
  gemini::GenerateStreamEncoder enc("m");
  std::string out;
  enc.on_chunk(J(R"({"id":"c","choices":[{"index":0,"delta":{"reasoning_content":"hmm"}}]})").as_object(), out);
  enc.on_chunk(J(R"({"id":"c","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"length"}]})").as_object(), out);
  core::Usage u;
  u.known = true;
  u.input_tokens = 9;
  u.output_tokens = 5;
  u.reasoning_tokens = 1;
  enc.finish(u, out);
  enc.finish(u, out);  // once only
  auto evs = events_of(out);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_JSON_EQ(evs[0]["candidates"].as_array()[0].as_object()["content"],
                 J(R"({"parts":[{"text":"hmm","thought":true}],"role":"model"})"));
  EXPECT_EQ(evs[2]["candidates"].as_array()[0].as_object()["finishReason"], "MAX_TOKENS");
  EXPECT_JSON_EQ(evs[2]["usageMetadata"], J(R"({"promptTokenCount":9,"candidatesTokenCount":4,"thoughtsTokenCount":1,"totalTokenCount":14})"));
}

TEST(GeminiArrayFraming, SseEventsBecomeOneJsonArrayAcrossSplitReads) {
  gemini::ArrayFraming f;
  std::string out;
  std::string sse = "data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\n\n";
  for (char c : sse) f.feed(std::string_view(&c, 1), out);
  f.close(out);
  EXPECT_EQ(out, "[{\"a\":1},\r\n{\"b\":2}]");
  EXPECT_EQ(J(out).as_array().size(), 2u);

  gemini::ArrayFraming empty;
  std::string none;
  empty.close(none);
  EXPECT_EQ(none, "[]");

  gemini::ArrayFraming failed;
  std::string f_out;
  failed.feed("data: {\"a\":1}\r\n\r\n", f_out);
  failed.fail(gemini::error_body(core::GatewayError::make(core::ErrorKind::timeout, "slow")), f_out);
  failed.close(f_out);
  auto arr = J(f_out).as_array();
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_JSON_EQ(arr[1], J(R"({"error":{"code":504,"message":"slow","status":"DEADLINE_EXCEEDED"}})"));
}

TEST(GeminiEmbeddings, BothWays) {
  json::object req;
  ASSERT_FALSE(gemini::embed_to_openai(J(R"({"requests":[{"model":"models/e","content":{"parts":[{"text":"a"}]},"outputDimensionality":4},
                                                        {"model":"models/e","content":{"parts":[{"text":"b"},{"text":"c"}]}}]})"),
                                       true, req));
  EXPECT_JSON_EQ(req, J(R"({"input":["a","b c"],"encoding_format":"float","dimensions":4})"));
  json::object one;
  ASSERT_FALSE(gemini::embed_to_openai(J(R"({"content":{"parts":[{"text":"x"}]}})"), false, one));
  EXPECT_JSON_EQ(one["input"], J(R"(["x"])"));
  EXPECT_TRUE(gemini::embed_to_openai(J(R"({"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"A"}}]}})"), false, one));

  auto list = J(R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-1]},
                                            {"object":"embedding","index":1,"embedding":[0.25,0]}]})").as_object();
  EXPECT_JSON_EQ(gemini::openai_to_embed(list, true), J(R"({"embeddings":[{"values":[0.5,-1]},{"values":[0.25,0]}]})"));
  EXPECT_JSON_EQ(gemini::openai_to_embed(list, false), J(R"({"embedding":{"values":[0.5,-1]}})"));
  EXPECT_JSON_EQ(J(gemini::splice_embed(J(R"({"requests":[{"model":"models/alias","content":{"parts":[{"text":"a"}]}}]})"), "text-embedding-004")),
                 J(R"({"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}}]})"));
}

TEST(GeminiCountTokens, DocumentedEstimate) {
  // 24 bytes of strings ("user" and the text) -> 6, + 4 for one content, + 258 for one image.
  EXPECT_EQ(gemini::count_tokens_estimate(J(R"({"contents":[{"role":"user","parts":[{"text":"12345678901234567890"},
                                            {"inlineData":{"mimeType":"image/png","data":"AAAA"}}]}]})")),
            6 + 4 + 258);
  EXPECT_EQ(gemini::count_tokens_estimate(J(R"({"generateContentRequest":{"contents":[{"parts":[{"text":"abcd"}]}]}})")), 1 + 4);
  EXPECT_EQ(gemini::count_tokens_estimate(J("[]")), 0);
}

TEST(GoogleErrorEnvelope, CodeMessageStatus) {
  EXPECT_JSON_EQ(J(gemini::error_body(core::GatewayError::make(core::ErrorKind::not_found, "models/x is not found."))),
                 J(R"({"error":{"code":404,"message":"models/x is not found.","status":"NOT_FOUND"}})"));
  EXPECT_JSON_EQ(J(gemini::error_body(core::GatewayError::make(core::ErrorKind::rate_limit, "slow down"))),
                 J(R"({"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}})"));
  EXPECT_JSON_EQ(J(gemini::stream_error_event(core::GatewayError::make(core::ErrorKind::upstream, "bad")).substr(6)),
                 J(R"({"error":{"code":502,"message":"bad","status":"INTERNAL"}})"));
}
