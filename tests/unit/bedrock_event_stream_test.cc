// The AWS event stream decoder (application/vnd.amazon.eventstream): frames built here with
// their CRCs, fed at every byte split; corrupt CRCs and lengths refused; the SSE adapter the
// gateway wraps ConverseStream bodies with.
#include "dialects/bedrock/event_stream.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "http/sse.h"

using tollgate::dialects::bedrock::crc32;
using tollgate::dialects::bedrock::encode_event_stream_message;
using tollgate::dialects::bedrock::EventStreamDecoder;
using tollgate::dialects::bedrock::EventStreamMessage;
using tollgate::dialects::bedrock::EventStreamToSse;
using tollgate::dialects::bedrock::kMalformedStreamEvent;
using tollgate::dialects::bedrock::to_sse;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int c : b) out.push_back(static_cast<char>(c));
  return out;
}

void put_be32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

// A frame around raw header bytes, with correct CRCs (for header types the encoder never writes).
std::string frame(std::string_view raw_headers, std::string_view payload) {
  std::string out;
  put_be32(out, static_cast<uint32_t>(16 + raw_headers.size() + payload.size()));
  put_be32(out, static_cast<uint32_t>(raw_headers.size()));
  put_be32(out, crc32(out));
  out.append(raw_headers).append(payload);
  put_be32(out, crc32(out));
  return out;
}

std::string event(std::string_view type, std::string_view payload) {
  return encode_event_stream_message({{":event-type", std::string(type)},
                                      {":content-type", "application/json"},
                                      {":message-type", "event"}},
                                     payload);
}

// Three messages, one with multi-byte UTF-8 in its payload.
const std::string kStream = event("messageStart", R"({"p":"abcd","role":"assistant"})") +
                            event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Héllo, 世界 👩‍💻"},"p":"ab"})") +
                            event("messageStop", R"({"p":"abcdefghijklmnop","stopReason":"end_turn"})");

std::vector<EventStreamMessage> decode_all(const std::string& wire, const std::vector<size_t>& cuts) {
  EventStreamDecoder d;
  std::vector<EventStreamMessage> out;
  size_t pos = 0;
  auto drain = [&] {
    EventStreamMessage m;
    while (d.next(m)) out.push_back(m);
  };
  for (size_t c : cuts) {
    d.feed(std::string_view(wire).substr(pos, c - pos));
    drain();
    pos = c;
  }
  d.feed(std::string_view(wire).substr(pos));
  drain();
  EXPECT_FALSE(d.failed()) << d.error();
  EXPECT_EQ(d.pending(), 0u);
  return out;
}

}  // namespace

TEST(BedrockEventStream, Crc32IsTheGzipOne) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the standard check value
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926u);
}

// The published example frames of the format (a payload alone, then with one string header).
TEST(BedrockEventStream, EncodesTheDocumentedFrames) {
  std::string payload = R"({"foo": "bar"})";
  EXPECT_EQ(encode_event_stream_message({}, payload),
            bytes({0, 0, 0, 30, 0, 0, 0, 0, 186, 242, 246, 138}) + payload + bytes({174, 114, 88, 228}));
  EXPECT_EQ(encode_event_stream_message({{"content-type", "application/json"}}, payload),
            bytes({0, 0, 0, 62, 0, 0, 0, 32, 64, 93, 249, 70, 12}) + "content-type" + bytes({7, 0, 16}) +
                "application/json" + payload + bytes({111, 162, 191, 59}));
}

TEST(BedrockEventStream, DecodesTheDocumentedFrame) {
  std::string wire = bytes({0, 0, 0, 62, 0, 0, 0, 32, 64, 93, 249, 70, 12}) + "content-type" + bytes({7, 0, 16}) +
                     "application/json" + R"({"foo": "bar"})" + bytes({111, 162, 191, 59});
  auto msgs = decode_all(wire, {});
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].headers, (Headers{{"content-type", "application/json"}}));
  EXPECT_EQ(msgs[0].payload, R"({"foo": "bar"})");
  EXPECT_EQ(msgs[0].header("content-type"), "application/json");
  EXPECT_EQ(msgs[0].header("absent"), "");
}

TEST(BedrockEventStream, SplitAtEveryByteBoundary) {
  auto whole = decode_all(kStream, {});
  ASSERT_EQ(whole.size(), 3u);
  EXPECT_EQ(whole[0].header(":event-type"), "messageStart");
  EXPECT_EQ(whole[1].payload, R"({"contentBlockIndex":0,"delta":{"text":"Héllo, 世界 👩‍💻"},"p":"ab"})");
  EXPECT_EQ(whole[2].header(":message-type"), "event");
  for (size_t cut = 1; cut < kStream.size(); ++cut) {
    auto msgs = decode_all(kStream, {cut});
    ASSERT_EQ(msgs.size(), 3u) << "cut at " << cut;
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(msgs[i].headers, whole[i].headers) << "cut at " << cut;
      EXPECT_EQ(msgs[i].payload, whole[i].payload) << "cut at " << cut;
    }
  }
  // One byte at a time.
  std::vector<size_t> every;
  for (size_t i = 1; i < kStream.size(); ++i) every.push_back(i);
  auto msgs = decode_all(kStream, every);
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[1].payload, whole[1].payload);
}

TEST(BedrockEventStream, EmptyPayloadAndNoHeaders) {
  auto msgs = decode_all(encode_event_stream_message({}, "") + encode_event_stream_message({{"a", ""}}, "x"), {});
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_TRUE(msgs[0].headers.empty());
  EXPECT_EQ(msgs[0].payload, "");
  EXPECT_EQ(msgs[1].headers, (Headers{{"a", ""}}));
  EXPECT_EQ(msgs[1].payload, "x");
}

TEST(BedrockEventStream, EveryHeaderValueType) {
  std::string h;
  auto name = [&](std::string_view n, int type) {
    h.push_back(static_cast<char>(n.size()));
    h.append(n);
    h.push_back(static_cast<char>(type));
  };
  name("t", 0);
  name("f", 1);
  name("b", 2), h += bytes({0xff});                                   // -1
  name("s", 3), h += bytes({0x01, 0x00});                             // 256
  name("i", 4), h += bytes({0xff, 0xff, 0xff, 0xfe});                 // -2
  name("l", 5), h += bytes({0, 0, 0, 1, 0, 0, 0, 0});                 // 2^32
  name("y", 6), h += bytes({0, 3}) + std::string("a\0b", 3);          // raw bytes
  name(":event-type", 7), h += bytes({0, 5}) + "hello";
  name("ts", 8), h += bytes({0, 0, 1, 0x8a, 0x5b, 0x5e, 0x3c, 0x00});  // ms since epoch
  name("u", 9), h += bytes({0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0, 1, 2, 3, 4, 5, 6, 7});
  auto msgs = decode_all(frame(h, "{}"), {});
  ASSERT_EQ(msgs.size(), 1u);
  Headers want{{"t", "true"},
               {"f", "false"},
               {"b", "-1"},
               {"s", "256"},
               {"i", "-2"},
               {"l", "4294967296"},
               {"y", std::string("a\0b", 3)},
               {":event-type", "hello"},
               {"ts", std::to_string(0x018a5b5e3c00LL)},
               {"u", "123456789abcdef00001020304050607"}};
  EXPECT_EQ(msgs[0].headers, want);
}

TEST(BedrockEventStream, MessageCrcMismatchIsRefused) {
  std::string wire = kStream;
  wire[wire.size() - 10] ^= 0x01;  // inside the last payload
  EventStreamDecoder d;
  d.feed(wire);
  EventStreamMessage m;
  EXPECT_TRUE(d.next(m));
  EXPECT_TRUE(d.next(m));
  EXPECT_FALSE(d.next(m));
  EXPECT_TRUE(d.failed());
  EXPECT_NE(d.error().find("message CRC"), std::string::npos) << d.error();
  // Sticky: nothing more comes out, whatever is fed.
  d.feed(event("messageStart", "{}"));
  EXPECT_FALSE(d.next(m));
}

TEST(BedrockEventStream, PreludeCrcMismatchIsRefusedBeforeWaitingForTheLength) {
  std::string wire = event("messageStart", "{}");
  wire[1] = 0x7f;  // a huge total length, whose prelude CRC no longer matches
  EventStreamDecoder d;
  d.feed(wire.substr(0, 12));
  EventStreamMessage m;
  EXPECT_FALSE(d.next(m));
  EXPECT_TRUE(d.failed());
  EXPECT_NE(d.error().find("prelude CRC"), std::string::npos) << d.error();
}

TEST(BedrockEventStream, ImpossibleLengthsAreRefused) {
  // Headers longer than the message, with a prelude CRC that matches.
  std::string wire;
  put_be32(wire, 20);
  put_be32(wire, 10);
  put_be32(wire, crc32(wire));
  wire.append(8, 'x');
  EventStreamDecoder d;
  d.feed(wire);
  EventStreamMessage m;
  EXPECT_FALSE(d.next(m));
  EXPECT_TRUE(d.failed());
  // A header of an unknown value type.
  std::string h = bytes({1}) + "x" + bytes({42});
  EventStreamDecoder d2;
  d2.feed(frame(h, "{}"));
  EXPECT_FALSE(d2.next(m));
  EXPECT_TRUE(d2.failed());
}

TEST(BedrockEventStream, ToSse) {
  EventStreamMessage ev{{{":event-type", "contentBlockDelta"}, {":message-type", "event"}}, R"({"a":1})"};
  EXPECT_EQ(to_sse(ev), "event: contentBlockDelta\ndata: {\"a\":1}\n\n");

  EventStreamMessage ex{{{":exception-type", "throttlingException"}, {":message-type", "exception"}},
                        R"({"message":"Too many requests"})"};
  EXPECT_EQ(to_sse(ex), "event: throttlingException\ndata: {\"message\":\"Too many requests\"}\n\n");

  EventStreamMessage err{{{":message-type", "error"}, {":error-code", "InternalFailure"}, {":error-message", "boom"}}, ""};
  EXPECT_EQ(to_sse(err), "event: InternalFailure\ndata: {\"message\":\"boom\"}\n\n");

  EventStreamMessage lines{{{":event-type", "metadata"}, {":message-type", "event"}}, "{\n\"a\":1\r\n}"};
  EXPECT_EQ(to_sse(lines), "event: metadata\ndata: {\ndata: \"a\":1\ndata: }\n\n");
  tollgate::http::SseReader reader;
  reader.feed(to_sse(lines));
  tollgate::http::SseEvent sse;
  ASSERT_TRUE(reader.next(sse));
  EXPECT_EQ(boost::json::parse(sse.data), boost::json::parse(R"({"a":1})"));
}

TEST(BedrockEventStream, ToSseAdapterAtEveryByteSplit) {
  for (size_t cut = 0; cut <= kStream.size(); ++cut) {
    EventStreamToSse adapter;
    std::string sse = adapter.feed(std::string_view(kStream).substr(0, cut));
    sse += adapter.feed(std::string_view(kStream).substr(cut));
    sse += adapter.finish();
    tollgate::http::SseReader reader;
    reader.feed(sse);
    tollgate::http::SseEvent ev;
    std::vector<std::string> types, data;
    while (reader.next(ev)) {
      types.push_back(ev.event);
      data.push_back(ev.data);
    }
    ASSERT_EQ(types, (std::vector<std::string>{"messageStart", "contentBlockDelta", "messageStop"})) << cut;
    EXPECT_EQ(data[1], R"({"contentBlockIndex":0,"delta":{"text":"Héllo, 世界 👩‍💻"},"p":"ab"})");
  }
}

TEST(BedrockEventStream, AdapterReportsCorruptionOnceAndTruncation) {
  std::string wire = kStream;
  wire[wire.size() - 10] ^= 0x01;
  EventStreamToSse adapter;
  std::string sse = adapter.feed(wire);
  EXPECT_EQ(adapter.feed(event("messageStart", "{}")), "");
  EXPECT_EQ(adapter.finish(), "");
  std::string tail = "event: " + std::string(kMalformedStreamEvent) + "\ndata: ";
  ASSERT_NE(sse.find(tail), std::string::npos) << sse;
  EXPECT_NE(sse.find("message CRC mismatch"), std::string::npos);

  EventStreamToSse cut;
  std::string part = cut.feed(std::string_view(kStream).substr(0, kStream.size() - 3));
  EXPECT_EQ(part.find(kMalformedStreamEvent), std::string::npos);
  std::string end = cut.finish();
  EXPECT_EQ(end.rfind("event: " + std::string(kMalformedStreamEvent), 0), 0u) << end;
  EXPECT_NE(end.find("ended inside a message"), std::string::npos);
}
