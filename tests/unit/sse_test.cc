#include "http/sse.h"

#include <gtest/gtest.h>

#include "core/spare_strings.h"

#include <string>
#include <vector>

using tollgate::http::SseEvent;
using tollgate::http::SseReader;

namespace {

struct Seen {
  std::string event, data, raw;
  bool has_data;
};

// `relay`: as the relay reads a stream, one event object for every event and the reader's and
// the event's buffers given back to the thread's spares after each piece.
std::vector<Seen> feed_in_pieces(const std::string& wire, const std::vector<size_t>& cuts, bool relay = false) {
  SseReader r;
  std::vector<Seen> out;
  size_t pos = 0;
  SseEvent reused;
  auto drain = [&] {
    SseEvent fresh;
    SseEvent& ev = relay ? reused : fresh;
    while (r.next(ev)) out.push_back({ev.event, ev.data, std::string(ev.raw), ev.has_data});
    if (relay) {
      r.release();
      tollgate::core::give_spare(ev.data);
      tollgate::core::give_spare(ev.event);
    }
  };
  for (size_t c : cuts) {
    r.feed(std::string_view(wire).substr(pos, c - pos));
    drain();
    pos = c;
  }
  r.feed(std::string_view(wire).substr(pos));
  drain();
  return out;
}

}  // namespace

TEST(SseReader, ReadsOpenAiChunksAndDone) {
  std::string wire = "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n";
  auto ev = feed_in_pieces(wire, {});
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].data, "{\"a\":1}");
  EXPECT_EQ(ev[0].raw, "data: {\"a\":1}\n\n");
  EXPECT_EQ(ev[2].data, "[DONE]");
}

TEST(SseReader, SameEventsWhateverByteTheStreamIsSplitAt) {
  // Named events, multi-line data, CRLF, a lone CR, comments and a UTF-8 emoji.
  std::string wire =
      "event: message_start\r\ndata: {\"x\":\"caf\xc3\xa9 \xf0\x9f\x91\x8b\"}\r\n\r\n"
      ": keep-alive\n\n"
      "data: line1\ndata: line2\n\n"
      "event: ping\rdata: {}\r\r"
      "data:no-space\n\n";
  auto whole = feed_in_pieces(wire, {});
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(whole[0].event, "message_start");
  EXPECT_EQ(whole[0].data, "{\"x\":\"caf\xc3\xa9 \xf0\x9f\x91\x8b\"}");
  EXPECT_FALSE(whole[1].has_data);
  EXPECT_EQ(whole[1].raw, ": keep-alive\n\n");
  EXPECT_EQ(whole[2].data, "line1\nline2");
  EXPECT_EQ(whole[3].event, "ping");
  EXPECT_EQ(whole[3].data, "{}");
  EXPECT_EQ(whole[4].data, "no-space");

  for (size_t cut = 1; cut < wire.size(); ++cut) for (bool relay : {false, true}) {
    auto split = feed_in_pieces(wire, {cut}, relay);
    ASSERT_EQ(split.size(), whole.size()) << "split at byte " << cut;
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(split[i].data, whole[i].data) << "split at byte " << cut;
      EXPECT_EQ(split[i].event, whole[i].event) << "split at byte " << cut;
      EXPECT_EQ(split[i].raw, whole[i].raw) << "split at byte " << cut;
    }
  }
  // And one byte at a time.
  std::vector<size_t> every;
  for (size_t i = 1; i < wire.size(); ++i) every.push_back(i);
  for (bool relay : {false, true}) {
    auto bytes = feed_in_pieces(wire, every, relay);
    ASSERT_EQ(bytes.size(), whole.size());
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(bytes[i].raw, whole[i].raw);
      EXPECT_EQ(bytes[i].data, whole[i].data);
      EXPECT_EQ(bytes[i].event, whole[i].event);
      EXPECT_EQ(bytes[i].has_data, whole[i].has_data);
    }
  }
}

// One event object reused, as the relay does: a field of an event is never carried into the next.
TEST(SseReader, AReusedEventHoldsOnlyTheLatestEventsFields) {
  SseReader r;
  SseEvent ev;
  r.feed("event: content_block_delta_long_name\ndata: {\"first event's data, long\":1}\n\n: ping\n\ndata: y\n\n");
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.event, "content_block_delta_long_name");
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.event, "");
  EXPECT_EQ(ev.data, "");
  EXPECT_FALSE(ev.has_data);
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.event, "");
  EXPECT_EQ(ev.data, "y");
  EXPECT_TRUE(ev.has_data);
}

// release() between pieces keeps an event that is not complete yet.
TEST(SseReader, ReleaseKeepsAPendingEvent) {
  SseReader r;
  SseEvent ev;
  r.feed("data: {\"a long first line of the event\":1}\ndata: {\"partial\":");
  EXPECT_FALSE(r.next(ev));
  r.release();
  r.feed("2}\n\ndata: next\n\n");
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.data, "{\"a long first line of the event\":1}\n{\"partial\":2}");
  EXPECT_EQ(ev.raw, "data: {\"a long first line of the event\":1}\ndata: {\"partial\":2}\n\n");
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.data, "next");
  EXPECT_TRUE(r.pending().empty());
}

// The thread's spares: a buffer given back is taken again (no allocation), and the string that
// gave it holds none afterwards (memory per idle stream).
TEST(SpareStrings, ABufferGivenBackIsTakenAgainAndLeavesNothingBehind) {
  using tollgate::core::give_spare;
  using tollgate::core::take_spare;
  tollgate::core::drop_spares();
  std::string s(300, 'x');
  const char* buffer = s.data();
  give_spare(s);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.capacity(), std::string().capacity());
  EXPECT_TRUE(take_spare(1000).empty());  // none that large: a string of its own
  std::string again = take_spare(200);
  EXPECT_EQ(again.data(), buffer);
  EXPECT_TRUE(again.empty());
  EXPECT_GE(again.capacity(), 300u);
  std::string huge(tollgate::core::kMaxSpare + 1, 'x');
  give_spare(huge);  // freed, not kept
  EXPECT_EQ(huge.capacity(), std::string().capacity());
  EXPECT_TRUE(take_spare(tollgate::core::kMaxSpare).empty());
  tollgate::core::drop_spares();
}

TEST(SseReader, IncompleteEventStaysPending) {
  SseReader r;
  r.feed("data: {\"partial\":");
  SseEvent ev;
  EXPECT_FALSE(r.next(ev));
  EXPECT_EQ(r.pending(), "data: {\"partial\":");
  r.feed("1}\n\n");
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.data, "{\"partial\":1}");
  EXPECT_TRUE(r.pending().empty());
}

TEST(SseReader, CrAtEndOfPieceWaitsForPossibleLf) {
  SseReader r;
  SseEvent ev;
  r.feed("data: a\r");
  EXPECT_FALSE(r.next(ev));
  r.feed("\n\r\n");
  ASSERT_TRUE(r.next(ev));
  EXPECT_EQ(ev.data, "a");
  EXPECT_EQ(ev.raw, "data: a\r\n\r\n");
}

TEST(SseWriter, FramesData) {
  EXPECT_EQ(tollgate::http::sse_data("{}"), "data: {}\n\n");
  EXPECT_EQ(tollgate::http::sse_event("ping", "{}"), "event: ping\ndata: {}\n\n");
}
