// Golden tests of the Bedrock codec: SigV4 against AWS's documented examples, canonical ->
// Converse requests (signed), Converse answers and ConverseStream event streams -> canonical,
// Bedrock errors -> classified gateway errors.
#include "dialects/bedrock/codec.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/bedrock/event_stream.h"
#include "dialects/bedrock/sigv4.h"
#include "http/sse.h"

namespace json = boost::json;
namespace sigv4 = tollgate::dialects::bedrock::sigv4;
using tollgate::core::CompiledProvider;
using tollgate::core::ErrorKind;
using tollgate::core::Usage;
using tollgate::dialects::EncodedRequest;
using tollgate::dialects::EncodeOptions;
using tollgate::dialects::ErrorClass;
using tollgate::dialects::bedrock::bedrock_codec;
using tollgate::dialects::bedrock::encode_event_stream_message;
using tollgate::dialects::bedrock::EventStreamToSse;

namespace {

constexpr std::string_view kAkid = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kModel = "anthropic.claude-3-haiku-20240307-v1:0";

std::time_t fixed_clock() { return 1440938160; }  // 20150830T123600Z, the test suite's date

// Pins the signing clock for one test.
struct PinnedClock {
  PinnedClock() { sigv4::set_clock(&fixed_clock); }
  ~PinnedClock() { sigv4::set_clock(nullptr); }
};

CompiledProvider provider(std::string host = "bedrock-runtime.us-east-1.amazonaws.com") {
  CompiledProvider p;
  p.spec.name = "aws";
  p.spec.kind = tollgate::core::ProviderKind::bedrock;
  p.spec.api_key = std::string(kAkid) + ":" + std::string(kSecret);
  p.endpoint.host = host;
  p.endpoint.host_header = host;
  return p;
}

json::object obj(std::string_view s) { return json::parse(s).as_object(); }

std::string header(const EncodedRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "<absent>";
}

struct Encoded {
  EncodedRequest req;
  json::value body;
  std::optional<tollgate::core::GatewayError> error;
};

Encoded encode(std::string_view request, std::string_view model = kModel, bool drop = false, bool stream = false,
               const CompiledProvider& p = provider()) {
  Encoded e;
  EncodeOptions opts{model, stream, drop};
  e.error = bedrock_codec().encode_chat(obj(request), opts, p, e.req);
  if (!e.error) e.body = json::parse(e.req.body);
  return e;
}

json::value body_of(std::string_view request, std::string_view model = kModel) {
  auto e = encode(request, model);
  EXPECT_FALSE(e.error) << (e.error ? e.error->message : "");
  return e.body;
}

}  // namespace

// ------------------------------------------------------------------------------------ SigV4

// AWS's documented signed POST (General Reference, "Signed Signature Version 4 Requests Examples").
TEST(BedrockSigV4, DocumentedPostExample) {
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-type", "application/x-www-form-urlencoded; charset=utf-8"},
      {"host", "iam.amazonaws.com"},
      {"x-amz-date", "20110909T233600Z"}};
  std::string hash = sigv4::sha256_hex("Action=ListUsers&Version=2010-05-08");
  sigv4::Request r{"POST", "/", "", &headers, hash};
  auto creds = *sigv4::Credentials::parse(std::string(kAkid) + ":" + std::string(kSecret));
  EXPECT_EQ(sigv4::authorization(creds, r, "us-east-1", "iam", "20110909T233600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20110909/us-east-1/iam/aws4_request, "
            "SignedHeaders=content-type;host;x-amz-date, "
            "Signature=ced6826de92d2bdeed8f846f0bf508e8559e98e4b0199114b84c54174deb456c");
}

// The Signature Version 4 test suite's get-vanilla-query-order-key-case.
TEST(BedrockSigV4, TestSuiteQueryOrder) {
  std::vector<std::pair<std::string, std::string>> headers{{"Host", "example.amazonaws.com"},
                                                           {"X-Amz-Date", "20150830T123600Z"}};
  std::string hash = sigv4::sha256_hex("");
  EXPECT_EQ(hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sigv4::Request r{"GET", "/", "Param2=value2&Param1=value1", &headers, hash};
  EXPECT_EQ(sigv4::canonical_request(r),
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto creds = *sigv4::Credentials::parse(std::string(kAkid) + ":" + std::string(kSecret));
  EXPECT_EQ(sigv4::authorization(creds, r, "us-east-1", "service", "20150830T123600Z"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(BedrockSigV4, Pieces) {
  EXPECT_EQ(sigv4::amz_date(fixed_clock()), "20150830T123600Z");
  EXPECT_EQ(sigv4::uri_encode("a b/c:d~e_f-g.h%", true), "a%20b/c%3Ad~e_f-g.h%25");
  EXPECT_EQ(sigv4::uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(sigv4::uri_encode("é", false), "%C3%A9");

  auto two = sigv4::Credentials::parse("AKID:SECRET");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->access_key_id, "AKID");
  EXPECT_EQ(two->secret_access_key, "SECRET");
  EXPECT_EQ(two->session_token, "");
  auto three = sigv4::Credentials::parse("AKID:SECRET:TOKEN/with+chars=");
  ASSERT_TRUE(three);
  EXPECT_EQ(three->session_token, "TOKEN/with+chars=");
  for (std::string_view bad : {"", "AKID", "AKID:", ":SECRET", "AKID:SECRET:"})
    EXPECT_FALSE(sigv4::Credentials::parse(bad)) << bad;

  // Header values: trimmed, inner runs of spaces collapsed; names lower-cased and sorted.
  std::vector<std::pair<std::string, std::string>> headers{{"X-B", "  a   b  "}, {"x-a", "1"}, {"X-A", "2"}};
  sigv4::Request r{"POST", "/model/a%3Ab/converse", "", &headers, "h"};
  EXPECT_EQ(sigv4::canonical_request(r), "POST\n/model/a%253Ab/converse\n\nx-a:1,2\nx-b:a b\n\nx-a;x-b\nh");
}

// ---------------------------------------------------------------------------------- encode

// A Converse call as the Bedrock user guide shows it (system prompt, one user turn, inference
// parameters), signed: the signature was computed independently (node:crypto, the mock's code).
TEST(BedrockEncode, GoldenSignedConverseRequest) {
  PinnedClock clock;
  auto e = encode(R"({"model":"claude","messages":[
      {"role":"system","content":"You are an app that creates playlists for a radio station."},
      {"role":"user","content":"Create a list of 3 pop songs."}],
      "max_tokens":512,"temperature":0.5,"top_p":0.9,"stop":["END"]})");
  ASSERT_FALSE(e.error) << e.error->message;
  EXPECT_EQ(e.req.path, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  EXPECT_EQ(e.body, json::parse(R"({
      "messages":[{"role":"user","content":[{"text":"Create a list of 3 pop songs."}]}],
      "system":[{"text":"You are an app that creates playlists for a radio station."}],
      "inferenceConfig":{"maxTokens":512,"temperature":0.5,"topP":0.9,"stopSequences":["END"]}})"));
  EXPECT_EQ(e.req.body,
            R"({"messages":[{"role":"user","content":[{"text":"Create a list of 3 pop songs."}]}],)"
            R"("system":[{"text":"You are an app that creates playlists for a radio station."}],)"
            R"("inferenceConfig":{"maxTokens":512,"temperature":5E-1,"topP":9E-1,"stopSequences":["END"]}})");
  std::string hash = "1ee72efe8934012bb9b98e2ebce1b4efe1dff979e3ef42b22219c8da55920c6c";
  EXPECT_EQ(sigv4::sha256_hex(e.req.body), hash);
  std::vector<std::pair<std::string, std::string>> want{
      {"content-type", "application/json"},
      {"host", "bedrock-runtime.us-east-1.amazonaws.com"},
      {"x-amz-content-sha256", hash},
      {"x-amz-date", "20150830T123600Z"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, "
       "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, "
       "Signature=3ce86661aa3f7841c0bbe831dc2c6d83001d7eaf047cea391d8ba14d07b55e19"},
      {"accept", "application/json"}};
  EXPECT_EQ(e.req.headers, want);
}

TEST(BedrockEncode, SignsTheModelPathEncodedTwiceAndThePathPrefix) {
  PinnedClock clock;
  CompiledProvider p = provider("127.0.0.1");
  p.endpoint.host_header = "127.0.0.1:8443";
  p.endpoint.path_prefix = "/proxy";
  p.spec.api_version = "eu-west-3";  // the region, since the host names none
  auto e = encode(R"({"messages":[{"role":"user","content":"hi"}]})", "arn:aws:bedrock:eu-west-3:1:inference-profile/eu.x:0",
                  false, true, p);
  ASSERT_FALSE(e.error) << e.error->message;
  EXPECT_EQ(e.req.path, "/model/arn%3Aaws%3Abedrock%3Aeu-west-3%3A1%3Ainference-profile%2Feu.x%3A0/converse-stream");
  EXPECT_EQ(header(e.req, "host"), "127.0.0.1:8443");
  EXPECT_EQ(header(e.req, "accept"), "application/vnd.amazon.eventstream");

  std::vector<std::pair<std::string, std::string>> signed_headers{
      {"content-type", "application/json"},
      {"host", "127.0.0.1:8443"},
      {"x-amz-content-sha256", sigv4::sha256_hex(e.req.body)},
      {"x-amz-date", "20150830T123600Z"}};
  std::string path = "/proxy" + e.req.path;
  sigv4::Request r{"POST", path, "", &signed_headers, signed_headers[2].second};
  EXPECT_NE(sigv4::canonical_request(r).find("\n/proxy/model/arn%253Aaws%253Abedrock%253Aeu-west-3"), std::string::npos);
  auto creds = *sigv4::Credentials::parse(provider().spec.api_key);
  EXPECT_EQ(header(e.req, "authorization"), sigv4::authorization(creds, r, "eu-west-3", "bedrock", "20150830T123600Z"));
}

TEST(BedrockEncode, SessionTokenIsSentAndSigned) {
  PinnedClock clock;
  CompiledProvider p = provider();
  p.spec.api_key += ":FwoGZXIvYXdzEBYaDH+token/==";
  auto e = encode(R"({"messages":[{"role":"user","content":"hi"}]})", kModel, false, false, p);
  ASSERT_FALSE(e.error);
  EXPECT_EQ(header(e.req, "x-amz-security-token"), "FwoGZXIvYXdzEBYaDH+token/==");
  EXPECT_NE(header(e.req, "authorization").find("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;"
                                                "x-amz-security-token,"),
            std::string::npos);
}

TEST(BedrockEncode, RegionFromTheHostOrApiVersion) {
  PinnedClock clock;
  const char* req = R"({"messages":[{"role":"user","content":"hi"}]})";
  auto scope = [&](const CompiledProvider& p) {
    auto e = encode(req, kModel, false, false, p);
    if (e.error) return "error: " + e.error->code;
    auto a = header(e.req, "authorization");
    auto from = a.find("/20150830/") + 10;
    return a.substr(from, a.find("/bedrock/") - from);
  };
  EXPECT_EQ(scope(provider("bedrock-runtime.ap-northeast-1.amazonaws.com")), "ap-northeast-1");
  EXPECT_EQ(scope(provider("bedrock-runtime-fips.us-gov-west-1.amazonaws.com")), "us-gov-west-1");
  EXPECT_EQ(scope(provider("bedrock-runtime.cn-north-1.amazonaws.com.cn")), "cn-north-1");
  EXPECT_EQ(scope(provider("vpce-0a1b.bedrock-runtime.eu-central-1.vpce.amazonaws.com")), "eu-central-1");
  CompiledProvider both = provider("bedrock-runtime.us-east-1.amazonaws.com");
  both.spec.api_version = "us-west-2";
  EXPECT_EQ(scope(both), "us-west-2");
  EXPECT_EQ(scope(provider("localhost")), "error: provider_misconfigured");

  CompiledProvider bad_key = provider();
  bad_key.spec.api_key = "just-a-token";
  auto e = encode(req, kModel, false, false, bad_key);
  ASSERT_TRUE(e.error);
  EXPECT_EQ(e.error->kind, ErrorKind::internal);
  EXPECT_NE(e.error->message.find("ACCESS_KEY_ID:SECRET_ACCESS_KEY"), std::string::npos);
}

TEST(BedrockEncode, ProviderHeadersAreSentButCannotReplaceTheSignedOnes) {
  CompiledProvider p = provider();
  p.spec.headers["x-extra"] = "1";
  p.spec.headers["Host"] = "evil.example";
  p.spec.headers["Authorization"] = "Bearer nope";
  auto e = encode(R"({"messages":[{"role":"user","content":"hi"}]})", kModel, false, false, p);
  ASSERT_FALSE(e.error);
  EXPECT_EQ(header(e.req, "x-extra"), "1");
  EXPECT_EQ(header(e.req, "Host"), "<absent>");
  EXPECT_EQ(header(e.req, "Authorization"), "<absent>");
  EXPECT_EQ(header(e.req, "host"), "bedrock-runtime.us-east-1.amazonaws.com");
}

TEST(BedrockEncode, MessagesMergedSystemAnywhereEmptyTextDropped) {
  EXPECT_EQ(body_of(R"({"messages":[
      {"role":"developer","content":[{"type":"text","text":"Be brief."}]},
      {"role":"user","content":"Hello"},
      {"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"again"}]},
      {"role":"assistant","content":"Hi!"},
      {"role":"system","content":"Late system."},
      {"role":"assistant","content":[{"type":"refusal","refusal":"No."}]},
      {"role":"user","content":"Why?"}]})"),
            json::parse(R"({"messages":[
      {"role":"user","content":[{"text":"Hello"},{"text":"again"}]},
      {"role":"assistant","content":[{"text":"Hi!"},{"text":"No."}]},
      {"role":"user","content":[{"text":"Why?"}]}],
      "system":[{"text":"Be brief."},{"text":"Late system."}]})"));
}

TEST(BedrockEncode, ImagesInlineOnly) {
  EXPECT_EQ(body_of(R"({"messages":[{"role":"user","content":[
      {"type":"text","text":"What is this?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
      {"type":"image_url","image_url":{"url":"data:image/JPG;base64,/9j/4AAQ","detail":"high"}}]}]})"),
            json::parse(R"({"messages":[{"role":"user","content":[
      {"text":"What is this?"},
      {"image":{"format":"png","source":{"bytes":"iVBORw0KGgo="}}},
      {"image":{"format":"jpeg","source":{"bytes":"/9j/4AAQ"}}}]}]})"));

  auto url = encode(R"({"messages":[{"role":"user","content":[{"type":"text","text":"x"},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]})");
  ASSERT_TRUE(url.error);
  EXPECT_EQ(url.error->status, 400);
  EXPECT_EQ(url.error->param, "messages[0].content[1]");
  EXPECT_NE(url.error->message.find("base64 data URL"), std::string::npos);

  auto bmp = encode(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,Qk0="}}]}]})");
  ASSERT_TRUE(bmp.error);
  EXPECT_EQ(bmp.error->param, "messages[0].content[0]");

  auto dropped = encode(R"({"messages":[{"role":"user","content":[{"type":"text","text":"x"},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]})",
                        kModel, true);
  ASSERT_FALSE(dropped.error);
  EXPECT_EQ(dropped.body.at("messages"), json::parse(R"([{"role":"user","content":[{"text":"x"}]}])"));
}

TEST(BedrockEncode, DocumentsFromFileParts) {
  EXPECT_EQ(body_of(R"({"messages":[{"role":"user","content":[
      {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"Q3 report.v2.pdf"}},
      {"type":"file","file":{"file_data":"data:text/plain;base64,aGk="}},
      {"type":"text","text":"Summarise."}]}]})"),
            json::parse(R"({"messages":[{"role":"user","content":[
      {"document":{"format":"pdf","name":"Q3 report-v2","source":{"bytes":"JVBERi0="}}},
      {"document":{"format":"txt","name":"document-2","source":{"bytes":"aGk="}}},
      {"text":"Summarise."}]}]})"));
  auto id = encode(R"({"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]})");
  ASSERT_TRUE(id.error);
  EXPECT_EQ(id.error->param, "messages[0].content[0].file");
}

// A full tool-use loop in the canonical form: tools, tool_choice, the assistant's calls, the
// tool answers (merged into one user turn), ids outside Bedrock's alphabet rewritten alike.
TEST(BedrockEncode, ToolsRoundTrip) {
  EXPECT_EQ(body_of(R"({"messages":[
      {"role":"user","content":"What is the most popular song on WZPZ?"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"call.1","type":"function","function":{"name":"top_song","arguments":"{\"sign\":\"WZPZ\"}"}},
        {"id":"tooluse_2","type":"function","function":{"name":"top_song","arguments":""}}]},
      {"role":"tool","tool_call_id":"call.1","content":"Elemental Hotel by 8 Storey Hike"},
      {"role":"tool","tool_call_id":"tooluse_2","content":""},
      {"role":"user","content":"Thanks"}],
      "tools":[{"type":"function","function":{"name":"top_song","description":"Get the most popular song played on a radio station.",
        "parameters":{"type":"object","properties":{"sign":{"type":"string","description":"The call sign for the radio station."}},"required":["sign"]},"strict":true}},
        {"type":"function","function":{"name":"no_args"}}],
      "tool_choice":{"type":"function","function":{"name":"top_song"}},
      "parallel_tool_calls":true})"),
            json::parse(R"({"messages":[
      {"role":"user","content":[{"text":"What is the most popular song on WZPZ?"}]},
      {"role":"assistant","content":[
        {"toolUse":{"toolUseId":"call_1","name":"top_song","input":{"sign":"WZPZ"}}},
        {"toolUse":{"toolUseId":"tooluse_2","name":"top_song","input":{}}}]},
      {"role":"user","content":[
        {"toolResult":{"toolUseId":"call_1","content":[{"text":"Elemental Hotel by 8 Storey Hike"}]}},
        {"toolResult":{"toolUseId":"tooluse_2","content":[{"json":{}}]}},
        {"text":"Thanks"}]}],
      "toolConfig":{"tools":[
        {"toolSpec":{"name":"top_song","description":"Get the most popular song played on a radio station.",
          "inputSchema":{"json":{"type":"object","properties":{"sign":{"type":"string","description":"The call sign for the radio station."}},"required":["sign"]}}}},
        {"toolSpec":{"name":"no_args","inputSchema":{"json":{"type":"object","properties":{}}}}}],
        "toolChoice":{"tool":{"name":"top_song"}}}})"));
}

TEST(BedrockEncode, ToolChoice) {
  const char* tools = R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}])";
  auto choice = [&](std::string_view tc, bool history = false, bool drop = false) -> std::string {
    std::string msgs = history ? R"([{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}])"
                               : R"([{"role":"user","content":"a"}])";
    auto e = encode(fmt::format(R"({{"messages":{},{},"tool_choice":{}}})", msgs, tools, tc), kModel, drop);
    if (e.error) return "error " + e.error->param;
    auto* tcfg = e.body.as_object().if_contains("toolConfig");
    if (!tcfg) return "no toolConfig";
    auto* c = tcfg->as_object().if_contains("toolChoice");
    return c ? json::serialize(*c) : "no toolChoice";
  };
  EXPECT_EQ(choice(R"("auto")"), R"({"auto":{}})");
  EXPECT_EQ(choice(R"("required")"), R"({"any":{}})");
  EXPECT_EQ(choice(R"("none")"), "no toolConfig");
  EXPECT_EQ(choice(R"("none")", true), "error tool_choice");
  EXPECT_EQ(choice(R"("none")", true, true), "no toolChoice");
  EXPECT_EQ(choice(R"({"type":"function","function":{"name":"g"}})"), "error tool_choice");
  EXPECT_EQ(choice(R"("sometimes")"), "error tool_choice");

  auto no_tools = encode(R"({"messages":[{"role":"user","content":"a"}],"tool_choice":"required"})");
  ASSERT_TRUE(no_tools.error);
  EXPECT_EQ(no_tools.error->param, "tool_choice");
  auto bad_args = encode(R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]})");
  ASSERT_TRUE(bad_args.error);
  EXPECT_EQ(bad_args.error->param, "messages[1].tool_calls[0].function.arguments");
}

TEST(BedrockEncode, UnsupportedParametersAreNamed) {
  for (std::string_view p : {R"("seed":1)", R"("n":2)", R"("response_format":{"type":"json_object"})",
                             R"("presence_penalty":0.5)", R"("logprobs":true)", R"("audio":{})",
                             R"("parallel_tool_calls":false)", R"("whatever":1)"}) {
    std::string req = fmt::format(R"({{"messages":[{{"role":"user","content":"a"}}],{}}})", p);
    auto e = encode(req);
    ASSERT_TRUE(e.error) << p;
    EXPECT_EQ(e.error->status, 400);
    EXPECT_EQ(e.error->code, "unsupported_parameter");
    std::string name(p.substr(1, p.find('"', 1) - 1));
    EXPECT_EQ(e.error->param, name);
    EXPECT_NE(e.error->message.find("'" + name + "'"), std::string::npos) << e.error->message;
    // Dropped when dropping is allowed; n > 1 (a shape of answer, not a steer) never is.
    EXPECT_EQ(encode(req, kModel, true).error.has_value(), name == "n") << p;
  }
  // Neutral values and bookkeeping pass.
  EXPECT_FALSE(encode(R"({"messages":[{"role":"user","content":"a"}],"n":1,"logprobs":false,"presence_penalty":0,
      "frequency_penalty":0,"logit_bias":{},"response_format":{"type":"text"},"modalities":["text"],"user":"u",
      "metadata":{"a":"b"},"store":false,"stream":true,"stream_options":{"include_usage":true},"service_tier":"auto"})")
                   .error);
}

TEST(BedrockEncode, ReasoningAndTopKForAnthropicModels) {
  EXPECT_EQ(body_of(R"({"messages":[{"role":"user","content":"a"}],"reasoning_effort":"medium","top_k":40})"),
            json::parse(R"({"messages":[{"role":"user","content":[{"text":"a"}]}],
      "inferenceConfig":{"maxTokens":8192},
      "additionalModelRequestFields":{"top_k":40,"thinking":{"type":"enabled","budget_tokens":4096}}})"));
  // A caller's max tokens at or below the budget shrinks it.
  EXPECT_EQ(body_of(R"({"messages":[{"role":"user","content":"a"}],"reasoning_effort":"high","max_tokens":2000})")
                .at("additionalModelRequestFields"),
            json::parse(R"({"thinking":{"type":"enabled","budget_tokens":1999}})"));
  auto small = encode(R"({"messages":[{"role":"user","content":"a"}],"reasoning_effort":"low","max_tokens":500})");
  ASSERT_TRUE(small.error);
  EXPECT_EQ(small.error->param, "reasoning_effort");
  EXPECT_FALSE(body_of(R"({"messages":[{"role":"user","content":"a"}],"reasoning_effort":"none"})").as_object().contains(
      "additionalModelRequestFields"));

  auto nova = encode(R"({"messages":[{"role":"user","content":"a"}],"reasoning_effort":"high"})", "amazon.nova-pro-v1:0");
  ASSERT_TRUE(nova.error);
  EXPECT_EQ(nova.error->param, "reasoning_effort");
  auto topk = encode(R"({"messages":[{"role":"user","content":"a"}],"top_k":5})", "meta.llama3-70b-instruct-v1:0");
  ASSERT_TRUE(topk.error);
  EXPECT_EQ(topk.error->param, "top_k");
}

TEST(BedrockEncode, CacheControlBecomesCachePoints) {
  EXPECT_EQ(body_of(R"({"messages":[
      {"role":"system","content":[{"type":"text","text":"Long instructions.","cache_control":{"type":"ephemeral"}}]},
      {"role":"user","content":"Question","cache_control":{"type":"ephemeral","ttl":"1h"}}],
      "tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}]})"),
            json::parse(R"({"messages":[{"role":"user","content":[{"text":"Question"},{"cachePoint":{"type":"default","ttl":"1h"}}]}],
      "system":[{"text":"Long instructions."},{"cachePoint":{"type":"default"}}],
      "toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{"type":"object","properties":{}}}}},
        {"cachePoint":{"type":"default"}}]}})"));
}

TEST(BedrockEncode, ThinkingBlocksAreReplayedAsReasoningContent) {
  EXPECT_EQ(body_of(R"({"messages":[{"role":"user","content":"a"},
      {"role":"assistant","content":"b","thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"c2ln"},
        {"type":"redacted_thinking","data":"ZW5j"}]},{"role":"user","content":"c"}]})")
                .at("messages")
                .at(1),
            json::parse(R"({"role":"assistant","content":[
      {"reasoningContent":{"reasoningText":{"text":"hmm","signature":"c2ln"}}},
      {"reasoningContent":{"redactedContent":"ZW5j"}},{"text":"b"}]})"));
}

TEST(BedrockEncode, InvalidRequests) {
  for (auto [req, param] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {R"({"messages":[]})", "messages"},
           {R"({"messages":[{"role":"system","content":"only"}]})", "messages"},
           {R"({"messages":[{"content":"x"}]})", "messages[0].role"},
           {R"({"messages":[{"role":"robot","content":"x"}]})", "messages[0].role"},
           {R"({"messages":[{"role":"tool","content":"x"}]})", "messages[0].tool_call_id"},
           {R"({"messages":[{"role":"user","content":"x"}],"max_tokens":0})", "max_tokens"},
           {R"({"messages":[{"role":"user","content":"x"}],"temperature":"hot"})", "temperature"},
           {R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})", "stop"},
           {R"({"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},{"role":"user","content":"x"}]})",
            "messages[0].content[0].type"}}) {
    auto e = encode(req);
    ASSERT_TRUE(e.error) << req;
    EXPECT_EQ(e.error->status, 400) << req;
    EXPECT_EQ(e.error->param, param) << req;
  }
}

TEST(BedrockEncode, EmbeddingsAreNotServed) {
  EncodedRequest out;
  auto e = bedrock_codec().encode_embeddings(obj(R"({"input":"x"})"), EncodeOptions{"amazon.titan-embed-text-v2:0"},
                                             provider(), out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  EXPECT_EQ(e->code, "unsupported_endpoint");
  json::object resp;
  Usage u;
  EXPECT_TRUE(bedrock_codec().decode_embeddings("{}", "m", resp, u));
}

// ---------------------------------------------------------------------------------- decode

namespace {

json::object decode(std::string_view body, Usage* usage = nullptr) {
  json::object completion;
  Usage u;
  auto err = bedrock_codec().decode_chat(body, kModel, completion, u);
  EXPECT_FALSE(err) << (err ? err->message : "");
  EXPECT_TRUE(completion.at("id").as_string().starts_with("chatcmpl-"));
  EXPECT_TRUE(completion.at("created").is_int64());
  completion.erase("id");
  completion.erase("created");
  if (usage) *usage = u;
  return completion;
}

}  // namespace

// The Converse answer of the user guide's example.
TEST(BedrockDecode, DocumentedTextAnswer) {
  Usage u;
  auto c = decode(R"({"output":{"message":{"role":"assistant","content":[{"text":"Here is a list of 3 pop songs."}]}},
      "stopReason":"end_turn","usage":{"inputTokens":125,"outputTokens":60,"totalTokens":185},"metrics":{"latencyMs":1175}})",
                  &u);
  EXPECT_EQ(c, json::parse(R"({"object":"chat.completion","model":"anthropic.claude-3-haiku-20240307-v1:0",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Here is a list of 3 pop songs.","refusal":null},
        "logprobs":null,"finish_reason":"stop"}],
      "usage":{"prompt_tokens":125,"completion_tokens":60,"total_tokens":185,"prompt_tokens_details":{"cached_tokens":0},
        "cache_read_input_tokens":0,"cache_creation_input_tokens":0}})"));
  EXPECT_TRUE(u.known);
  EXPECT_EQ(u.input_tokens, 125);
  EXPECT_EQ(u.output_tokens, 60);
}

// The tool-use answer of the user guide's example (top_song, WZPZ).
TEST(BedrockDecode, DocumentedToolUseAnswer) {
  auto c = decode(R"({"output":{"message":{"role":"assistant","content":[
      {"toolUse":{"toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","name":"top_song","input":{"sign":"WZPZ"}}}]}},
      "stopReason":"tool_use","usage":{"inputTokens":375,"outputTokens":36,"totalTokens":411},"metrics":{"latencyMs":2134}})");
  EXPECT_EQ(c.at("choices").at(0), json::parse(R"({"index":0,"message":{"role":"assistant","content":null,"refusal":null,
      "tool_calls":[{"id":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","type":"function",
        "function":{"name":"top_song","arguments":"{\"sign\":\"WZPZ\"}"}}]},
      "logprobs":null,"finish_reason":"tool_calls"})"));
}

TEST(BedrockDecode, StopReasons) {
  for (auto [stop, finish] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
           {"end_turn", "stop"}, {"stop_sequence", "stop"}, {"max_tokens", "length"},
           {"tool_use", "tool_calls"}, {"guardrail_intervened", "content_filter"},
           {"content_filtered", "content_filter"}, {"model_context_window_exceeded", "length"},
           {"something_new", "stop"}}) {
    auto c = decode(fmt::format(R"({{"output":{{"message":{{"role":"assistant","content":[{{"text":"x"}}]}}}},"stopReason":"{}"}})",
                                stop));
    EXPECT_EQ(c.at("choices").at(0).at("finish_reason"), json::value(finish)) << stop;
  }
}

TEST(BedrockDecode, CacheUsageAndReasoning) {
  Usage u;
  auto c = decode(R"({"output":{"message":{"role":"assistant","content":[
      {"reasoningContent":{"reasoningText":{"text":"Let me think.","signature":"c2ln"}}},
      {"reasoningContent":{"redactedContent":"ZW5j"}},
      {"text":"Answer."}]}},"stopReason":"end_turn",
      "usage":{"inputTokens":10,"outputTokens":5,"totalTokens":1215,"cacheReadInputTokens":1000,"cacheWriteInputTokens":200}})",
                  &u);
  EXPECT_EQ(c.at("choices").at(0).at("message"), json::parse(R"({"role":"assistant","content":"Answer.","refusal":null,
      "reasoning_content":"Let me think.",
      "thinking_blocks":[{"type":"thinking","thinking":"Let me think.","signature":"c2ln"},{"type":"redacted_thinking","data":"ZW5j"}]})"));
  EXPECT_EQ(c.at("usage"), json::parse(R"({"prompt_tokens":1210,"completion_tokens":5,"total_tokens":1215,
      "prompt_tokens_details":{"cached_tokens":1000},"cache_read_input_tokens":1000,"cache_creation_input_tokens":200})"));
  EXPECT_EQ(u.input_tokens, 1210);
  EXPECT_EQ(u.cached_input_tokens, 1000);
  EXPECT_EQ(u.cache_creation_tokens, 200);
}

TEST(BedrockDecode, NotAConverseAnswer) {
  json::object completion;
  Usage u;
  auto err = bedrock_codec().decode_chat(R"({"message":"x"})", kModel, completion, u);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->kind, ErrorKind::upstream);
  EXPECT_TRUE(bedrock_codec().decode_chat("not json", kModel, completion, u));
}

// ---------------------------------------------------------------------------------- stream

namespace {

std::string frame(std::string_view type, std::string_view payload) {
  return encode_event_stream_message({{":event-type", std::string(type)},
                                      {":content-type", "application/json"},
                                      {":message-type", "event"}},
                                     payload);
}

std::string exception_frame(std::string_view type, std::string_view message) {
  return encode_event_stream_message({{":exception-type", std::string(type)},
                                      {":content-type", "application/json"},
                                      {":message-type", "exception"}},
                                     json::serialize(json::object{{"message", message}}));
}

struct StreamRun {
  std::vector<json::value> chunks;  // "id" and "created" checked, then removed
  Usage usage;
  std::optional<tollgate::dialects::ClassifiedError> error;
};

// Event-stream bytes -> EventStreamToSse -> SseReader -> the decoder, cut at `cut`.
StreamRun run(const std::string& wire, size_t cut) {
  auto dec = bedrock_codec().stream_decoder(kModel);
  EventStreamToSse adapter;
  tollgate::http::SseReader reader;
  std::vector<std::string> out;
  auto pump = [&](std::string sse) {
    reader.feed(sse);
    tollgate::http::SseEvent ev;
    while (reader.next(ev)) dec->on_event(ev, out);
  };
  pump(adapter.feed(std::string_view(wire).substr(0, cut)));
  pump(adapter.feed(std::string_view(wire).substr(cut)));
  pump(adapter.finish());
  dec->finish(out);
  StreamRun r;
  std::string id;
  for (const auto& s : out) {
    auto v = json::parse(s).as_object();
    if (id.empty()) id = v.at("id").as_string();
    EXPECT_EQ(v.at("id").as_string(), id);
    EXPECT_TRUE(v.at("created").is_int64());
    v.erase("id");
    v.erase("created");
    r.chunks.push_back(std::move(v));
  }
  EXPECT_TRUE(id.empty() || id.starts_with("chatcmpl-"));
  r.usage = dec->usage();
  r.error = dec->error();
  return r;
}

json::value chunk(std::string_view delta, std::string_view finish = {}) {
  return json::parse(fmt::format(R"({{"object":"chat.completion.chunk","model":"{}","choices":[{{"index":0,"delta":{},"logprobs":null,"finish_reason":{}}}]}})",
                                 kModel, delta, finish.empty() ? "null" : fmt::format("\"{}\"", finish)));
}

// Text (with multi-byte characters), then a tool call whose input arrives in pieces, then
// messageStop and metadata, as ConverseStream sends them (with the "p" padding member).
const std::string kToolStream =
    frame("messageStart", R"({"p":"abcdefghijk","role":"assistant"})") +
    frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Let me look "},"p":"abcd"})") +
    frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"that up — 世界 👩‍💻."},"p":"ab"})") +
    frame("contentBlockStop", R"({"contentBlockIndex":0,"p":"abcdefg"})") +
    frame("contentBlockStart",
          R"({"contentBlockIndex":1,"p":"abc","start":{"toolUse":{"name":"top_song","toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"}}})") +
    frame("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"sign\": "}},"p":"abcdef"})") +
    frame("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"WZPZ\"}"}},"p":"a"})") +
    frame("contentBlockStop", R"({"contentBlockIndex":1,"p":"abcdefghijklmnop"})") +
    frame("messageStop", R"({"p":"abcdefghijklmnopqrstu","stopReason":"tool_use"})") +
    frame("metadata",
          R"({"metrics":{"latencyMs":1620},"p":"abc","usage":{"inputTokens":375,"outputTokens":36,"totalTokens":511,"cacheReadInputTokens":100}})");

}  // namespace

TEST(BedrockStream, TextToolUseAndMetadataAtEveryByteSplit) {
  std::vector<json::value> want{
      chunk(R"({"role":"assistant","content":""})"),
      chunk(R"({"content":"Let me look "})"),
      chunk(R"({"content":"that up — 世界 👩‍💻."})"),
      chunk(R"({"tool_calls":[{"index":0,"id":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q","type":"function","function":{"name":"top_song","arguments":""}}]})"),
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"sign\": "}}]})"),
      chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"WZPZ\"}"}}]})"),
      chunk("{}", "tool_calls"),
      json::parse(fmt::format(R"({{"object":"chat.completion.chunk","model":"{}","choices":[],
          "usage":{{"prompt_tokens":475,"completion_tokens":36,"total_tokens":511,"prompt_tokens_details":{{"cached_tokens":100}},
          "cache_read_input_tokens":100,"cache_creation_input_tokens":0}}}})",
                              kModel))};
  for (size_t cut = 0; cut <= kToolStream.size(); ++cut) {
    StreamRun r = run(kToolStream, cut);
    ASSERT_FALSE(r.error) << cut;
    ASSERT_EQ(r.chunks, want) << "cut at " << cut;
    EXPECT_EQ(r.usage.input_tokens, 475);
    EXPECT_EQ(r.usage.output_tokens, 36);
    EXPECT_EQ(r.usage.cached_input_tokens, 100);
  }
}

TEST(BedrockStream, TwoToolCallsAndReasoning) {
  std::string wire = frame("messageStart", R"({"role":"assistant"})") +
                     frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hmm."}}})") +
                     frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"c2ln"}}})") +
                     frame("contentBlockStart", R"({"contentBlockIndex":1,"start":{"toolUse":{"name":"a","toolUseId":"t1"}}})") +
                     frame("contentBlockStart", R"({"contentBlockIndex":2,"start":{"toolUse":{"name":"b","toolUseId":"t2"}}})") +
                     frame("contentBlockDelta", R"({"contentBlockIndex":2,"delta":{"toolUse":{"input":"{}"}}})") +
                     frame("contentBlockDelta", R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"x\":1}"}}})") +
                     frame("messageStop", R"({"stopReason":"tool_use"})");
  StreamRun r = run(wire, 0);
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.chunks.size(), 8u);
  EXPECT_EQ(r.chunks[1], chunk(R"({"reasoning_content":"Hmm."})"));
  EXPECT_EQ(r.chunks[2].at("choices").at(0).at("delta").at("tool_calls").at(0).at("index"), 0);
  EXPECT_EQ(r.chunks[3].at("choices").at(0).at("delta").at("tool_calls").at(0).at("index"), 1);
  EXPECT_EQ(r.chunks[4], chunk(R"({"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]})"));
  EXPECT_EQ(r.chunks[5], chunk(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":1}"}}]})"));
  EXPECT_EQ(r.chunks[6], chunk("{}", "tool_calls"));
  // No metadata event: the usage chunk still ends the stream, with usage unknown.
  EXPECT_EQ(r.chunks[7].at("choices"), json::array{});
  EXPECT_FALSE(r.usage.known);
}

TEST(BedrockStream, ExceptionMidStream) {
  std::string wire = frame("messageStart", R"({"role":"assistant"})") +
                     frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})") +
                     exception_frame("throttlingException", "Too many tokens, please wait before trying again.") +
                     frame("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"lo"}})");
  StreamRun r = run(wire, 7);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->cls, ErrorClass::rate_limited);
  EXPECT_EQ(r.error->error.status, 429);
  EXPECT_NE(r.error->error.message.find("Too many tokens"), std::string::npos);
  ASSERT_EQ(r.chunks.size(), 2u);  // nothing after the exception, and no usage chunk
}

TEST(BedrockStream, ValidationAndModelStreamExceptions) {
  StreamRun v = run(frame("messageStart", "{}") + exception_frame("validationException", "Input is too long for requested model."), 0);
  ASSERT_TRUE(v.error);
  EXPECT_EQ(v.error->cls, ErrorClass::context_length);
  StreamRun m = run(exception_frame("modelStreamErrorException", "The model stream failed."), 0);
  ASSERT_TRUE(m.error);
  EXPECT_EQ(m.error->cls, ErrorClass::retryable);
}

TEST(BedrockStream, CorruptOrTruncatedEventStreamIsAnError) {
  std::string corrupt = kToolStream;
  corrupt[200] ^= 0x20;
  StreamRun c = run(corrupt, 0);
  ASSERT_TRUE(c.error);
  EXPECT_EQ(c.error->cls, ErrorClass::retryable);
  EXPECT_NE(c.error->error.message.find("CRC"), std::string::npos) << c.error->error.message;

  StreamRun t = run(kToolStream.substr(0, kToolStream.size() - 5), 0);
  ASSERT_TRUE(t.error);
  EXPECT_EQ(t.error->cls, ErrorClass::retryable);
}

// ---------------------------------------------------------------------------------- errors

TEST(BedrockErrors, Classified) {
  struct Case {
    int status;
    std::string_view body;
    int want_status;
    ErrorKind kind;
    ErrorClass cls;
    std::string_view code;
  };
  for (const Case& c : std::initializer_list<Case>{
           {429, R"({"message":"Too many requests, please wait before trying again."})", 429, ErrorKind::rate_limit,
            ErrorClass::rate_limited, "rate_limit_exceeded"},
           {400, R"({"message":"Malformed input request: #: required key [messages] not found"})", 400,
            ErrorKind::invalid_request, ErrorClass::invalid_request, "invalid_request"},
           {400, R"({"message":"Input is too long for requested model."})", 400, ErrorKind::invalid_request,
            ErrorClass::context_length, "context_length_exceeded"},
           {400, R"({"message":"The model returned the following errors: prompt is too long: 215000 tokens > 200000 maximum"})",
            400, ErrorKind::invalid_request, ErrorClass::context_length, "context_length_exceeded"},
           {400, R"({"message":"The maximum tokens you requested exceeds the model limit of 4096."})", 400,
            ErrorKind::invalid_request, ErrorClass::context_length, "context_length_exceeded"},
           {403, R"({"message":"You don't have access to the model with the specified model ID."})", 403,
            ErrorKind::permission, ErrorClass::auth, "upstream_permission_error"},
           {403, R"({"message":"The security token included in the request is invalid."})", 401,
            ErrorKind::authentication, ErrorClass::auth, "upstream_authentication_error"},
           {403, R"({"message":"The request signature we calculated does not match the signature you provided."})", 401,
            ErrorKind::authentication, ErrorClass::auth, "upstream_authentication_error"},
           {403, R"({"message":"Credential should be scoped to a valid region."})", 401, ErrorKind::authentication,
            ErrorClass::auth, "upstream_authentication_error"},
           {404, R"({"message":"The provided model identifier is invalid."})", 404, ErrorKind::not_found,
            ErrorClass::not_found, "model_not_found"},
           {408, R"({"message":"Model has timed out in processing the request."})", 504, ErrorKind::timeout,
            ErrorClass::retryable, "upstream_timeout"},
           {503, R"({"message":"Bedrock is unable to process your request."})", 503, ErrorKind::unavailable,
            ErrorClass::retryable, "upstream_unavailable"},
           {500, R"({"message":"The server encountered an internal error."})", 502, ErrorKind::upstream,
            ErrorClass::retryable, "upstream_error"},
           {424, R"({"message":"Received error from model"})", 502, ErrorKind::upstream, ErrorClass::other,
            "upstream_error"},
           {400, R"({"__type":"com.amazon.coral.service#ThrottlingException","Message":"Rate exceeded"})", 429,
            ErrorKind::rate_limit, ErrorClass::rate_limited, "rate_limit_exceeded"},
           {502, "<html>Bad Gateway</html>", 502, ErrorKind::upstream, ErrorClass::retryable, "upstream_error"}}) {
    auto ce = bedrock_codec().decode_error(c.status, c.body);
    EXPECT_EQ(ce.error.status, c.want_status) << c.body;
    EXPECT_EQ(ce.error.kind, c.kind) << c.body;
    EXPECT_EQ(ce.cls, c.cls) << c.body;
    EXPECT_EQ(ce.error.code, c.code) << c.body;
    EXPECT_FALSE(ce.error.message.empty());
  }
}

TEST(BedrockErrors, TypeSpellings) {
  using tollgate::dialects::bedrock::classify_error;
  EXPECT_EQ(classify_error(0, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/", "x").cls,
            ErrorClass::rate_limited);
  EXPECT_EQ(classify_error(0, "serviceUnavailableException", "x").cls, ErrorClass::retryable);
  EXPECT_EQ(classify_error(0, "accessDeniedException", "x").cls, ErrorClass::auth);
  EXPECT_EQ(classify_error(0, "UnrecognizedClientException", "x").error.status, 401);
  EXPECT_EQ(classify_error(0, "resourceNotFoundException", "x").cls, ErrorClass::not_found);
  EXPECT_EQ(classify_error(0, "modelTimeoutException", "x").cls, ErrorClass::retryable);
  EXPECT_EQ(classify_error(0, "internalServerException", "x").cls, ErrorClass::retryable);
  EXPECT_EQ(classify_error(0, "validationException", "bad").cls, ErrorClass::invalid_request);
  EXPECT_EQ(classify_error(0, "modelNotReadyException", "x").error.status, 503);
}
