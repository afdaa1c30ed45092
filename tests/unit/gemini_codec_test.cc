// Golden tests of the Gemini codec (non-stream), built from the shapes in Google's Gemini API
// reference: generateContent, function calling, safety blocks, usageMetadata, the error
// envelope, embedContent / batchEmbedContents.
#include "dialects/gemini/codec.h"
#include "dialects/gemini/wire.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace json = boost::json;
using tollgate::core::CompiledProvider;
using tollgate::core::ErrorKind;
using tollgate::core::Usage;
using tollgate::dialects::EncodedRequest;
using tollgate::dialects::EncodeOptions;
using tollgate::dialects::ErrorClass;
using tollgate::dialects::gemini::complete_embeddings;
using tollgate::dialects::gemini::gemini_codec;
namespace wire = tollgate::dialects::gemini::wire;

namespace {

CompiledProvider provider() {
  CompiledProvider p;
  p.spec.name = "gem";
  p.spec.kind = tollgate::core::ProviderKind::gemini;
  p.spec.api_key = "AIza-test-key";
  p.spec.headers["x-extra"] = "1";
  return p;
}

json::object obj(std::string_view s) { return json::parse(s).as_object(); }

struct Encoded {
  std::optional<tollgate::core::GatewayError> err;
  EncodedRequest req;
  json::value body;
};

Encoded encode(std::string_view request, std::string_view model = "gemini-2.0-flash", bool stream = false,
               bool drop = false) {
  Encoded e;
  EncodeOptions opts{model, stream, drop};
  e.err = gemini_codec().encode_chat(obj(request), opts, provider(), e.req);
  if (!e.err) e.body = json::parse(e.req.body);
  return e;
}

std::string header(const EncodedRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<none>";
}

json::object decode(std::string_view body, Usage& usage) {
  json::object completion;
  auto err = gemini_codec().decode_chat(body, "gemini-2.0-flash", completion, usage);
  EXPECT_FALSE(err) << (err ? err->message : "");
  EXPECT_TRUE(completion.contains("created"));
  completion.erase("created");
  return completion;
}

}  // namespace

// ------------------------------------------------------------------------------- encode_chat

TEST(GeminiEncodeChat, TextRequestPathHeadersAndBody) {
  auto e = encode(R"({"model":"smart","messages":[{"role":"user","content":"Write a story about a magic backpack."}]})");
  ASSERT_FALSE(e.err);
  EXPECT_EQ(e.req.path, "/v1beta/models/gemini-2.0-flash:generateContent");
  EXPECT_EQ(header(e.req, "x-goog-api-key"), "AIza-test-key");
  EXPECT_EQ(header(e.req, "content-type"), "application/json");
  EXPECT_EQ(header(e.req, "x-extra"), "1");
  EXPECT_EQ(header(e.req, "authorization"), "<none>");
  EXPECT_EQ(e.body, json::parse(R"({"contents":[{"role":"user","parts":[{"text":"Write a story about a magic backpack."}]}]})"));
}

TEST(GeminiEncodeChat, StreamUsesSsePath) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}})",
                  "gemini-2.5-flash", true);
  ASSERT_FALSE(e.err);
  EXPECT_EQ(e.req.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  auto t = encode(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})", "tunedModels/my-tune");
  EXPECT_EQ(t.req.path, "/v1beta/tunedModels/my-tune:generateContent");
}

TEST(GeminiEncodeChat, SystemMessagesBecomeSystemInstructionAndRolesMap) {
  auto e = encode(R"({"model":"m","messages":[
      {"role":"system","content":"You are a cat."},
      {"role":"developer","content":[{"type":"text","text":"Your name is Neko."}]},
      {"role":"user","content":"Hello"},
      {"role":"assistant","content":"Great to meet you. What would you like to know?"},
      {"role":"user","content":"I have two dogs in my house."},
      {"role":"user","content":[{"type":"text","text":"How many paws are in my house?"}]}]})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_EQ(e.body, json::parse(R"({
    "contents":[
      {"role":"user","parts":[{"text":"Hello"}]},
      {"role":"model","parts":[{"text":"Great to meet you. What would you like to know?"}]},
      {"role":"user","parts":[{"text":"I have two dogs in my house."},{"text":"How many paws are in my house?"}]}],
    "systemInstruction":{"parts":[{"text":"You are a cat."},{"text":"Your name is Neko."}]}})"));
}

TEST(GeminiEncodeChat, OnlySystemMessagesIsA400) {
  auto e = encode(R"({"model":"m","messages":[{"role":"system","content":"x"}]})");
  ASSERT_TRUE(e.err);
  EXPECT_EQ(e.err->status, 400);
  EXPECT_EQ(e.err->param, "messages");
}

TEST(GeminiEncodeChat, ImagesInlineAndByUrl) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":[
      {"type":"text","text":"What is in these?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.webp?size=2","detail":"high"}},
      {"type":"image_url","image_url":{"url":"https://example.com/photo"}}]}]})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_EQ(e.body, json::parse(R"({"contents":[{"role":"user","parts":[
      {"text":"What is in these?"},
      {"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},
      {"fileData":{"mimeType":"image/webp","fileUri":"https://example.com/cat.webp?size=2"}},
      {"fileData":{"mimeType":"image/jpeg","fileUri":"https://example.com/photo"}}]}]})"));

  auto bad = encode(R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]})");
  ASSERT_TRUE(bad.err);
  EXPECT_EQ(bad.err->param, "messages[0].content[0].image_url.url");
}

TEST(GeminiEncodeChat, ToolsStripSchemaAndMapToolChoice) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"Weather in Paris?"}],
    "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","strict":true,
      "parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","additionalProperties":false,
        "properties":{
          "location":{"type":"string","description":"City","default":"Paris","minLength":1},
          "unit":{"type":["string","null"],"enum":["celsius","fahrenheit"]},
          "additionalProperties":{"type":"integer","format":"int32","exclusiveMinimum":0},
          "when":{"type":"string","format":"uri"},
          "opts":{"$ref":"#/$defs/Opts"},
          "tags":{"type":"array","items":{"type":"object","additionalProperties":{"type":"string"},
                   "properties":{"k":{"const":"v"}}},"uniqueItems":true}},
        "required":["location","missing"],
        "$defs":{"Opts":{"type":"object","additionalProperties":false,"properties":{"deep":{"type":"boolean"}}}}}}},
      {"type":"function","function":{"name":"ping","parameters":{"type":"object","properties":{},"additionalProperties":false}}}],
    "tool_choice":{"type":"function","function":{"name":"get_weather"}}})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_EQ(e.body.at("tools"), json::parse(R"([{"functionDeclarations":[
    {"name":"get_weather","description":"Current weather","parameters":{"type":"OBJECT",
      "properties":{
        "location":{"type":"STRING","description":"City","minLength":1},
        "unit":{"type":"STRING","enum":["celsius","fahrenheit"],"nullable":true},
        "additionalProperties":{"type":"INTEGER","format":"int32"},
        "when":{"type":"STRING"},
        "opts":{"type":"OBJECT","properties":{"deep":{"type":"BOOLEAN"}}},
        "tags":{"type":"ARRAY","items":{"type":"OBJECT","properties":{"k":{"type":"STRING","enum":["v"]}}}}},
      "required":["location"]}},
    {"name":"ping"}]}])"));
  EXPECT_EQ(e.body.at("toolConfig"),
            json::parse(R"({"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}})"));

  const char* base = R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"%s"})";
  for (auto [choice, mode] : {std::pair{"auto", "AUTO"}, {"none", "NONE"}, {"required", "ANY"}}) {
    char buf[512];
    std::snprintf(buf, sizeof buf, base, choice);
    auto c = encode(buf);
    ASSERT_FALSE(c.err);
    EXPECT_EQ(c.body.at("toolConfig").at("functionCallingConfig").at("mode").as_string(), mode) << choice;
  }
  auto missing = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}})");
  ASSERT_TRUE(missing.err);
  EXPECT_EQ(missing.err->param, "tool_choice");
}

TEST(GeminiSchema, AnyOfNullAndAllOfAndRecursiveRefs) {
  auto s = wire::to_gemini_schema(json::parse(R"({
    "type":"object",
    "properties":{
      "a":{"anyOf":[{"type":"integer"},{"type":"null"}],"default":null,"title":"A"},
      "b":{"allOf":[{"$ref":"#/definitions/B"}],"description":"the b"},
      "c":{"oneOf":[{"type":"string"},{"type":"number"}]},
      "node":{"$ref":"#"}},
    "definitions":{"B":{"type":"object","properties":{"x":{"type":"string"}},"required":["x"],"additionalProperties":false}}})"));
  EXPECT_EQ(s.at("properties").at("a"), json::parse(R"({"type":"INTEGER","title":"A","nullable":true})"));
  EXPECT_EQ(s.at("properties").at("b"),
            json::parse(R"({"type":"OBJECT","description":"the b","properties":{"x":{"type":"STRING"}},"required":["x"]})"));
  EXPECT_EQ(s.at("properties").at("c"), json::parse(R"({"anyOf":[{"type":"STRING"},{"type":"NUMBER"}]})"));
  // A recursive schema is cut, not expanded forever.
  std::string text = json::serialize(s);
  EXPECT_LT(text.size(), 100000u);
  EXPECT_EQ(text.find("additionalProperties"), std::string::npos);
  EXPECT_EQ(text.find("definitions"), std::string::npos);
}

TEST(GeminiEncodeChat, ToolRoundTripGroupsResponsesInCallOrder) {
  auto e = encode(R"({"model":"m","messages":[
      {"role":"user","content":"Weather in Paris and London?"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
         "extra_content":{"google":{"thought_signature":"sig-1"}}},
        {"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]},
      {"role":"tool","tool_call_id":"call_b","content":"12:00"},
      {"role":"tool","tool_call_id":"call_a","content":"{\"temp\":21,\"sky\":\"clear\"}"},
      {"role":"user","content":"Thanks!"}]})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_EQ(e.body.at("contents"), json::parse(R"([
    {"role":"user","parts":[{"text":"Weather in Paris and London?"}]},
    {"role":"model","parts":[
      {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"sig-1"},
      {"functionCall":{"name":"get_time","args":{}}}]},
    {"role":"user","parts":[
      {"functionResponse":{"name":"get_weather","response":{"temp":21,"sky":"clear"}}},
      {"functionResponse":{"name":"get_time","response":{"result":"12:00"}}},
      {"text":"Thanks!"}]}])"));
}

TEST(GeminiEncodeChat, FunctionResponseCountMustEqualCallCount) {
  auto missing = encode(R"({"model":"m","messages":[
      {"role":"user","content":"x"},
      {"role":"assistant","tool_calls":[
        {"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},
        {"id":"c2","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"ok"},
      {"role":"user","content":"and?"}]})");
  ASSERT_TRUE(missing.err);
  EXPECT_EQ(missing.err->status, 400);
  EXPECT_NE(missing.err->message.find("c2"), std::string::npos);
  EXPECT_EQ(missing.err->param, "messages[1]");

  auto orphan = encode(R"({"model":"m","messages":[{"role":"user","content":"x"},
      {"role":"tool","tool_call_id":"nope","content":"ok"}]})");
  ASSERT_TRUE(orphan.err);
  EXPECT_EQ(orphan.err->param, "messages[1].role");

  auto twice = encode(R"({"model":"m","messages":[{"role":"user","content":"x"},
      {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"ok"},
      {"role":"tool","tool_call_id":"c1","content":"again"}]})");
  ASSERT_TRUE(twice.err);

  auto bad_args = encode(R"({"model":"m","messages":[{"role":"user","content":"x"},
      {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1]"}}]},
      {"role":"tool","tool_call_id":"c1","content":"ok"}]})");
  ASSERT_TRUE(bad_args.err);
  EXPECT_EQ(bad_args.err->param, "messages[1].tool_calls[0].function.arguments");
}

TEST(GeminiEncodeChat, GenerationConfig) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],
      "temperature":0.2,"top_p":0.9,"max_tokens":10,"max_completion_tokens":50,"stop":"END","n":2,"seed":7,
      "presence_penalty":0.5,"frequency_penalty":-0.5,"response_format":{"type":"json_object"},
      "user":"u1","metadata":{"a":"b"},"store":false,"logprobs":false,"parallel_tool_calls":true})");
  ASSERT_FALSE(e.err) << e.err->message;
  EXPECT_EQ(e.body.at("generationConfig"), json::parse(R"({"temperature":0.2,"topP":0.9,"presencePenalty":0.5,
      "frequencyPenalty":-0.5,"maxOutputTokens":50,"candidateCount":2,"seed":7,"stopSequences":["END"],
      "responseMimeType":"application/json"})"));

  auto js = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b"],
      "response_format":{"type":"json_schema","json_schema":{"name":"r","strict":true,
        "schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}}}})");
  ASSERT_FALSE(js.err);
  EXPECT_EQ(js.body.at("generationConfig"), json::parse(R"({"stopSequences":["a","b"],
      "responseMimeType":"application/json",
      "responseSchema":{"type":"OBJECT","properties":{"n":{"type":"INTEGER"}},"required":["n"]}})"));

  auto bad = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"})");
  ASSERT_TRUE(bad.err);
  EXPECT_EQ(bad.err->param, "temperature");
}

TEST(GeminiEncodeChat, ReasoningEffortBecomesThinkingConfig) {
  auto e = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"})",
                  "gemini-2.5-flash");
  ASSERT_FALSE(e.err);
  EXPECT_EQ(e.body.at("generationConfig").at("thinkingConfig"),
            json::parse(R"({"thinkingBudget":1024,"includeThoughts":true})"));
  auto off = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"none"})",
                    "gemini-2.5-flash");
  EXPECT_EQ(off.body.at("generationConfig").at("thinkingConfig"), json::parse(R"({"thinkingBudget":0})"));
  auto g3 = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"})",
                   "gemini-3-pro-preview");
  EXPECT_EQ(g3.body.at("generationConfig").at("thinkingConfig"),
            json::parse(R"({"thinkingLevel":"high","includeThoughts":true})"));
  auto bad = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"reasoning_effort":"max"})");
  ASSERT_TRUE(bad.err);
  EXPECT_EQ(bad.err->param, "reasoning_effort");
}

TEST(GeminiEncodeChat, UnsupportedParametersAre400NamingThem) {
  const char* cases[][2] = {
      {R"("logit_bias":{"50256":-100})", "logit_bias"},
      {R"("logprobs":true)", "logprobs"},
      {R"("top_logprobs":3)", "top_logprobs"},
      {R"("parallel_tool_calls":false)", "parallel_tool_calls"},
      {R"("audio":{"voice":"alloy","format":"wav"})", "audio"},
      {R"("modalities":["text","audio"])", "modalities"},
      {R"("prediction":{"type":"content","content":"x"})", "prediction"},
      {R"("functions":[{"name":"f"}])", "functions"},
      {R"("frobnicate":1)", "frobnicate"},
  };
  for (auto& [field, name] : cases) {
    std::string req = std::string(R"({"model":"m","messages":[{"role":"user","content":"x"}],)") + field + "}";
    auto e = encode(req);
    ASSERT_TRUE(e.err) << name;
    EXPECT_EQ(e.err->status, 400) << name;
    EXPECT_EQ(e.err->kind, ErrorKind::invalid_request);
    EXPECT_EQ(e.err->param, name);
    EXPECT_EQ(e.err->code, "unsupported_parameter");
    EXPECT_NE(e.err->message.find(name), std::string::npos) << e.err->message;

    auto dropped = encode(req, "gemini-2.0-flash", false, /*drop=*/true);
    ASSERT_FALSE(dropped.err) << name;
    EXPECT_EQ(dropped.body, json::parse(R"({"contents":[{"role":"user","parts":[{"text":"x"}]}]})")) << name;
  }
  auto tool = encode(R"({"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"web_search"}]})");
  ASSERT_TRUE(tool.err);
  EXPECT_EQ(tool.err->param, "tools[0].type");
}

// ------------------------------------------------------------------------------- decode_chat

TEST(GeminiDecodeChat, TextAnswerAndUsage) {
  Usage usage;
  auto c = decode(R"({
    "candidates":[{"content":{"parts":[{"text":"Once upon a time, "},{"text":"there was a backpack."}],"role":"model"},
                   "finishReason":"STOP","avgLogprobs":-0.12,"index":0}],
    "usageMetadata":{"promptTokenCount":8,"candidatesTokenCount":12,"totalTokenCount":20,
                     "promptTokensDetails":[{"modality":"TEXT","tokenCount":8}]},
    "modelVersion":"gemini-2.0-flash","responseId":"abc123"})",
                  usage);
  EXPECT_EQ(c, json::parse(R"({"id":"chatcmpl-abc123","object":"chat.completion","model":"gemini-2.0-flash",
    "choices":[{"index":0,"message":{"role":"assistant","content":"Once upon a time, there was a backpack.","refusal":null},
                "logprobs":null,"finish_reason":"stop"}],
    "usage":{"prompt_tokens":8,"completion_tokens":12,"total_tokens":20,
             "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})"));
  EXPECT_TRUE(usage.known);
  EXPECT_EQ(usage.input_tokens, 8);
  EXPECT_EQ(usage.output_tokens, 12);
}

TEST(GeminiDecodeChat, FunctionCallsFinishWithToolCalls) {
  Usage usage;
  auto c = decode(R"({"candidates":[{"content":{"role":"model","parts":[
      {"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"sig=="},
      {"functionCall":{"name":"get_time","args":{}}}]},"finishReason":"STOP","index":0}],
    "usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":10,"totalTokenCount":40},"responseId":"r-1"})",
                  usage);
  EXPECT_EQ(c.at("choices"), json::parse(R"([{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
    "tool_calls":[
      {"id":"call_r-1_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
       "extra_content":{"google":{"thought_signature":"sig=="}}},
      {"id":"call_r-1_1","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
    "logprobs":null,"finish_reason":"tool_calls"}])"));
}

TEST(GeminiDecodeChat, ThoughtsCachedTokensAndFinishReasons) {
  Usage usage;
  auto c = decode(R"({"candidates":[{"content":{"role":"model","parts":[
      {"text":"Let me think...","thought":true},{"text":"42"}]},"finishReason":"MAX_TOKENS"}],
    "usageMetadata":{"promptTokenCount":100,"candidatesTokenCount":5,"thoughtsTokenCount":20,
                     "cachedContentTokenCount":64,"totalTokenCount":125},"responseId":"x"})",
                  usage);
  const auto& choice = c.at("choices").at(0);
  EXPECT_EQ(choice.at("message").at("content"), "42");
  EXPECT_EQ(choice.at("message").at("reasoning_content"), "Let me think...");
  EXPECT_EQ(choice.at("finish_reason"), "length");
  EXPECT_EQ(c.at("usage"), json::parse(R"({"prompt_tokens":100,"completion_tokens":25,"total_tokens":125,
      "prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":20}})"));
  EXPECT_EQ(usage.cached_input_tokens, 64);
  EXPECT_EQ(usage.reasoning_tokens, 20);
  EXPECT_EQ(usage.output_tokens, 25);

  for (auto [g, o] : {std::pair{"SAFETY", "content_filter"}, {"RECITATION", "content_filter"},
                      {"BLOCKLIST", "content_filter"}, {"PROHIBITED_CONTENT", "content_filter"},
                      {"SPII", "content_filter"}, {"OTHER", "stop"}, {"MALFORMED_FUNCTION_CALL", "stop"}})
    EXPECT_EQ(wire::finish_reason(g, false), o) << g;
}

TEST(GeminiDecodeChat, SafetyBlockedCandidateAndBlockedPrompt) {
  Usage usage;
  auto c = decode(R"({"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[
      {"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}],
    "usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}})",
                  usage);
  EXPECT_EQ(c.at("choices").at(0).at("finish_reason"), "content_filter");
  EXPECT_TRUE(c.at("choices").at(0).at("message").at("content").is_null());

  // An answer that is merely empty has "" for content, not null.
  auto empty = decode(R"({"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"STOP"}]})", usage);
  EXPECT_EQ(empty.at("choices").at(0).at("message").at("content"), "");
  EXPECT_FALSE(usage.known);

  // A blocked prompt has no candidates at all: an empty, content-filtered answer.
  auto p = decode(R"({"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},
    "usageMetadata":{"promptTokenCount":12559,"totalTokenCount":12559},"modelVersion":"gemini-1.5-flash-002"})",
                  usage);
  EXPECT_EQ(p.at("choices"), json::parse(R"([{"index":0,"message":{"role":"assistant","content":null,"refusal":null},
      "logprobs":null,"finish_reason":"content_filter"}])"));
  EXPECT_EQ(usage.input_tokens, 12559);
  EXPECT_EQ(usage.output_tokens, 0);
  EXPECT_TRUE(p.at("id").as_string().starts_with("chatcmpl-"));
}

TEST(GeminiDecodeChat, UnreadableBodyIsAnUpstreamError) {
  json::object c;
  Usage u;
  auto err = gemini_codec().decode_chat("<html>", "m", c, u);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->status, 502);
}

// ------------------------------------------------------------------------------- decode_error

TEST(GeminiDecodeError, GoogleEnvelopesAreClassified) {
  auto key = gemini_codec().decode_error(400, R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.",
    "status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID",
    "domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}})");
  EXPECT_EQ(key.cls, ErrorClass::auth);
  EXPECT_EQ(key.error.status, 401);
  EXPECT_EQ(key.error.kind, ErrorKind::authentication);
  EXPECT_NE(key.error.message.find("API key not valid"), std::string::npos);

  auto denied = gemini_codec().decode_error(403, R"({"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}})");
  EXPECT_EQ(denied.cls, ErrorClass::auth);
  EXPECT_EQ(denied.error.status, 403);

  auto nf = gemini_codec().decode_error(404, R"({"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.","status":"NOT_FOUND"}})");
  EXPECT_EQ(nf.cls, ErrorClass::not_found);
  EXPECT_EQ(nf.error.status, 404);

  auto rl = gemini_codec().decode_error(429, R"({"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED"}})");
  EXPECT_EQ(rl.cls, ErrorClass::rate_limited);
  EXPECT_EQ(rl.error.status, 429);

  auto i500 = gemini_codec().decode_error(500, R"({"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}})");
  EXPECT_EQ(i500.cls, ErrorClass::retryable);
  EXPECT_GE(i500.error.status, 500);

  auto u503 = gemini_codec().decode_error(503, R"({"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}})");
  EXPECT_EQ(u503.cls, ErrorClass::retryable);
  EXPECT_EQ(u503.error.status, 503);

  auto ctx = gemini_codec().decode_error(400, R"({"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048575).","status":"INVALID_ARGUMENT"}})");
  EXPECT_EQ(ctx.cls, ErrorClass::context_length);
  EXPECT_EQ(ctx.error.status, 400);
  EXPECT_EQ(ctx.error.code, "context_length_exceeded");

  auto inv = gemini_codec().decode_error(400, R"({"error":{"code":400,"message":"* GenerateContentRequest.generation_config.max_output_tokens: must be positive\n","status":"INVALID_ARGUMENT"}})");
  EXPECT_EQ(inv.cls, ErrorClass::invalid_request);
  EXPECT_EQ(inv.error.status, 400);
  EXPECT_NE(inv.error.message.find("max_tokens"), std::string::npos) << inv.error.message;

  auto schema = gemini_codec().decode_error(400, R"({"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"additionalProperties\" at 'tools[0].function_declarations[2].parameters': Cannot find field.","status":"INVALID_ARGUMENT"}})");
  EXPECT_NE(schema.error.message.find("'tools[2].function.parameters'"), std::string::npos) << schema.error.message;

  auto arr = gemini_codec().decode_error(429, R"([{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED"}}])");
  EXPECT_EQ(arr.cls, ErrorClass::rate_limited);

  auto html = gemini_codec().decode_error(502, "<html><body>Bad Gateway</body></html>");
  EXPECT_EQ(html.cls, ErrorClass::retryable);
  EXPECT_EQ(html.error.status, 502);
}

// ------------------------------------------------------------------------------- embeddings

TEST(GeminiEmbeddings, SingleAndBatchRequests) {
  EncodedRequest r;
  EncodeOptions opts{"gemini-embedding-001", false, false};
  ASSERT_FALSE(gemini_codec().encode_embeddings(obj(R"({"model":"emb","input":"Hello World!","dimensions":10})"),
                                                opts, provider(), r));
  EXPECT_EQ(r.path, "/v1beta/models/gemini-embedding-001:embedContent");
  EXPECT_EQ(header(r, "x-goog-api-key"), "AIza-test-key");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"model":"models/gemini-embedding-001",
      "content":{"parts":[{"text":"Hello World!"}]},"outputDimensionality":10})"));

  ASSERT_FALSE(gemini_codec().encode_embeddings(
      obj(R"({"model":"emb","input":["a","b"],"encoding_format":"base64","user":"u"})"), opts, provider(), r));
  EXPECT_EQ(r.path, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"requests":[
      {"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]}},
      {"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]}}]})"));

  auto tokens = gemini_codec().encode_embeddings(obj(R"({"model":"emb","input":[[1,2,3]]})"), opts, provider(), r);
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->param, "input");
  auto fmt = gemini_codec().encode_embeddings(obj(R"({"model":"emb","input":"x","encoding_format":"int8"})"), opts,
                                              provider(), r);
  ASSERT_TRUE(fmt);
  EXPECT_EQ(fmt->param, "encoding_format");
}

TEST(GeminiEmbeddings, DecodeFloatAndBase64) {
  json::object resp;
  Usage usage;
  ASSERT_FALSE(gemini_codec().decode_embeddings(R"({"embedding":{"values":[0.5,-1.0,0.25]}})", "gemini-embedding-001",
                                                resp, usage));
  EXPECT_FALSE(usage.known);
  auto req = obj(R"({"model":"emb","input":"Hello World!"})");
  complete_embeddings(req, resp, usage);
  EXPECT_EQ(resp, json::parse(R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-1.0,0.25]}],
      "model":"gemini-embedding-001","usage":{"prompt_tokens":3,"total_tokens":3}})"));
  EXPECT_TRUE(usage.known);
  EXPECT_EQ(usage.input_tokens, 3);

  ASSERT_FALSE(gemini_codec().decode_embeddings(R"({"embeddings":[{"values":[0.5,-1.0,0.25]},{"values":[1,2]}]})",
                                                "gemini-embedding-001", resp, usage));
  auto b64 = obj(R"({"model":"emb","input":["one","two words here"],"encoding_format":"base64"})");
  complete_embeddings(b64, resp, usage);
  // float32 LE: 0.5 = 00 00 00 3f, -1.0 = 00 00 80 bf, 0.25 = 00 00 80 3e; 1 = 00 00 80 3f, 2 = 00 00 00 40
  EXPECT_EQ(resp.at("data"), json::parse(R"([{"object":"embedding","index":0,"embedding":"AAAAPwAAgL8AAIA+"},
      {"object":"embedding","index":1,"embedding":"AACAPwAAAEA="}])"));
  EXPECT_EQ(resp.at("usage"), json::parse(R"({"prompt_tokens":5,"total_tokens":5})"));

  float f[] = {0.5f, -1.0f, 0.25f};
  EXPECT_EQ(wire::to_base64_floats(f), "AAAAPwAAgL8AAIA+");
}
