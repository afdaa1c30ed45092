// Golden tests of the Gemini stream decoder: streamGenerateContent?alt=sse events (terminated
// by "\r\n\r\n" as Google sends them) -> chat.completion.chunk documents, fed through
// http::SseReader at every possible byte split.
#include "dialects/gemini/codec.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "http/sse.h"

namespace json = boost::json;
using tollgate::dialects::ErrorClass;
using tollgate::dialects::gemini::gemini_codec;
using tollgate::http::SseEvent;
using tollgate::http::SseReader;

namespace {

std::string sse(std::initializer_list<std::string_view> events) {
  std::string out;
  for (auto e : events) out.append("data: ").append(e).append("\r\n\r\n");
  return out;
}

struct Run {
  std::vector<json::value> chunks;  // "created" removed
  std::vector<std::string> raw;
  tollgate::core::Usage usage;
  std::optional<tollgate::dialects::ClassifiedError> error;
};

// Feeds `wire` in pieces cut at `cuts`, then finishes.
Run run(const std::string& wire, const std::vector<size_t>& cuts = {}) {
  auto dec = gemini_codec().stream_decoder("gemini-2.0-flash");
  SseReader reader;
  std::vector<std::string> out;
  size_t pos = 0;
  auto drain = [&] {
    SseEvent ev;
    while (reader.next(ev)) dec->on_event(ev, out);
  };
  for (size_t c : cuts) {
    reader.feed(std::string_view(wire).substr(pos, c - pos));
    drain();
    pos = c;
  }
  reader.feed(std::string_view(wire).substr(pos));
  drain();
  dec->finish(out);
  Run r;
  r.raw = out;
  for (const auto& s : out) {
    auto v = json::parse(s);
    EXPECT_TRUE(v.as_object().contains("created"));
    EXPECT_EQ(v.at("object"), "chat.completion.chunk");
    v.as_object().erase("created");
    r.chunks.push_back(std::move(v));
  }
  r.usage = dec->usage();
  r.error = dec->error();
  return r;
}

json::value chunk(std::string_view choices_json, std::string_view id = "chatcmpl-resp1") {
  return json::object{{"id", id}, {"object", "chat.completion.chunk"}, {"model", "gemini-2.0-flash"},
                      {"choices", json::parse(choices_json)}};
}

json::value delta(std::string_view d, std::string_view finish = {}) {
  std::string s = R"([{"index":0,"delta":)" + std::string(d) + R"(,"logprobs":null,"finish_reason":)" +
                  (finish.empty() ? std::string("null") : "\"" + std::string(finish) + "\"") + "}]";
  return chunk(s);
}

// Text with multi-byte characters (CJK, an emoji with a zero-width joiner) so that byte cuts
// fall inside code points.
const std::string kTextStream = sse({
    R"({"candidates":[{"content":{"parts":[{"text":"Héllo, 世界"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7},"modelVersion":"gemini-2.0-flash","responseId":"resp1"})",
    R"({"candidates":[{"content":{"parts":[{"text":" 👩‍💻 done"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7},"modelVersion":"gemini-2.0-flash","responseId":"resp1"})",
    R"({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":6,"totalTokenCount":13,"promptTokensDetails":[{"modality":"TEXT","tokenCount":7}]},"modelVersion":"gemini-2.0-flash","responseId":"resp1"})",
});

}  // namespace

TEST(GeminiStream, TextDeltasFinishAndUsageFromTheLastMetadata) {
  auto r = run(kTextStream);
  ASSERT_FALSE(r.error);
  std::vector<json::value> want = {
      delta(R"({"role":"assistant","content":""})"),
      delta(R"({"content":"Héllo, 世界"})"),
      delta(R"({"content":" 👩‍💻 done"})"),
      delta("{}", "stop"),
      chunk("[]"),
  };
  want.back().as_object()["usage"] = json::parse(R"({"prompt_tokens":7,"completion_tokens":6,"total_tokens":13,
      "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}})");
  ASSERT_EQ(r.chunks.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.chunks[i], want[i]) << i << ": " << r.raw[i];
  EXPECT_TRUE(r.usage.known);
  EXPECT_EQ(r.usage.input_tokens, 7);
  EXPECT_EQ(r.usage.output_tokens, 6);
}

TEST(GeminiStream, SameOutputAtEveryByteSplit) {
  auto whole = run(kTextStream);
  for (size_t cut = 1; cut < kTextStream.size(); ++cut) {
    auto split = run(kTextStream, {cut});
    ASSERT_EQ(split.chunks, whole.chunks) << "cut at " << cut;
  }
  // Byte by byte, too.
  std::vector<size_t> every;
  for (size_t i = 1; i < kTextStream.size(); ++i) every.push_back(i);
  EXPECT_EQ(run(kTextStream, every).chunks, whole.chunks);
}

TEST(GeminiStream, FunctionCallIsOneToolCallDeltaAndFinishesWithToolCalls) {
  auto wire = sse({
      R"({"candidates":[{"content":{"parts":[{"text":"Checking."}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":20,"totalTokenCount":20},"responseId":"resp1"})",
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Zürich"}},"thoughtSignature":"c2ln"},{"functionCall":{"name":"get_time","args":{}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":9,"thoughtsTokenCount":4,"totalTokenCount":33},"responseId":"resp1"})",
  });
  auto r = run(wire);
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.chunks.size(), 6u);
  EXPECT_EQ(r.chunks[0], delta(R"({"role":"assistant","content":""})"));
  EXPECT_EQ(r.chunks[1], delta(R"({"content":"Checking."})"));
  EXPECT_EQ(r.chunks[2], delta(R"({"tool_calls":[{"index":0,"id":"call_resp1_0","type":"function",
      "function":{"name":"get_weather","arguments":"{\"city\":\"Zürich\"}"},
      "extra_content":{"google":{"thought_signature":"c2ln"}}}]})"));
  EXPECT_EQ(r.chunks[3], delta(R"({"tool_calls":[{"index":1,"id":"call_resp1_1","type":"function",
      "function":{"name":"get_time","arguments":"{}"}}]})"));
  EXPECT_EQ(r.chunks[4], delta("{}", "tool_calls"));
  EXPECT_EQ(r.chunks[5].at("usage").at("completion_tokens"), 13);
  EXPECT_EQ(r.chunks[5].at("usage").at("completion_tokens_details").at("reasoning_tokens"), 4);
  EXPECT_EQ(r.usage.reasoning_tokens, 4);
}

TEST(GeminiStream, ThoughtsBecomeReasoningContent) {
  auto r = run(sse({
      R"({"candidates":[{"content":{"parts":[{"text":"Thinking about it","thought":true}],"role":"model"}}],"responseId":"resp1"})",
      R"({"candidates":[{"content":{"parts":[{"text":"Answer"}],"role":"model"},"finishReason":"MAX_TOKENS"}],"responseId":"resp1"})",
  }));
  ASSERT_EQ(r.chunks.size(), 4u);  // no usage seen: no usage chunk
  EXPECT_EQ(r.chunks[1], delta(R"({"reasoning_content":"Thinking about it"})"));
  EXPECT_EQ(r.chunks[2], delta(R"({"content":"Answer"})"));
  EXPECT_EQ(r.chunks[3], delta("{}", "length"));
  EXPECT_FALSE(r.usage.known);
}

TEST(GeminiStream, SafetyStopAndBlockedPrompt) {
  auto safety = run(sse({
      R"({"candidates":[{"content":{"parts":[{"text":"Sure, "}],"role":"model"}}],"responseId":"resp1"})",
      R"({"candidates":[{"finishReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"totalTokenCount":7},"responseId":"resp1"})",
  }));
  ASSERT_EQ(safety.chunks.size(), 4u);
  EXPECT_EQ(safety.chunks[2], delta("{}", "content_filter"));

  auto blocked = run(sse({
      R"({"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"responseId":"resp1"})",
  }));
  ASSERT_EQ(blocked.chunks.size(), 3u);
  EXPECT_EQ(blocked.chunks[0], delta(R"({"role":"assistant","content":""})"));
  EXPECT_EQ(blocked.chunks[1], delta("{}", "content_filter"));
  EXPECT_EQ(blocked.chunks[2].at("usage").at("prompt_tokens"), 12);
}

TEST(GeminiStream, ErrorEventMidStream) {
  auto r = run(sse({
      R"({"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"}}],"responseId":"resp1"})",
      R"({"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}})",
      R"({"candidates":[{"content":{"parts":[{"text":"ignored"}],"role":"model"}}],"responseId":"resp1"})",
  }));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->cls, ErrorClass::retryable);
  EXPECT_EQ(r.error->error.status, 503);
  ASSERT_EQ(r.chunks.size(), 2u);  // role + "Hi"; nothing after the error, no usage chunk
}

TEST(GeminiStream, SeveralCandidatesKeepTheirOwnIndexes) {
  auto r = run(sse({
      R"({"candidates":[{"content":{"parts":[{"text":"A"}],"role":"model"},"index":0},{"content":{"parts":[{"text":"B"}],"role":"model"},"index":1}],"responseId":"resp1"})",
      R"({"candidates":[{"content":{"parts":[{"text":"."}],"role":"model"},"finishReason":"STOP","index":1},{"content":{"parts":[{"text":"!"}],"role":"model"},"finishReason":"STOP","index":0}],"responseId":"resp1"})",
  }));
  std::string a, b;
  int finishes = 0;
  for (const auto& c : r.chunks) {
    const auto& ch = c.at("choices").at(0);
    if (auto* t = ch.at("delta").as_object().if_contains("content"); t && ch.at("index") == 0) a += t->as_string();
    if (auto* t = ch.at("delta").as_object().if_contains("content"); t && ch.at("index") == 1) b += t->as_string();
    if (!ch.at("finish_reason").is_null()) ++finishes;
  }
  EXPECT_EQ(a, "A!");
  EXPECT_EQ(b, "B.");
  EXPECT_EQ(finishes, 2);
}
