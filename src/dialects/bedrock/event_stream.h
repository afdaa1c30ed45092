// The AWS event stream (application/vnd.amazon.eventstream) that ConverseStream answers with,
// and its translation to server-sent events so the gateway's SSE relay carries it unchanged.
//
// A message on the wire, all integers big-endian:
//   total length u32 | headers length u32 | prelude CRC32 u32 (of the 8 bytes before it)
//   headers: { name length u8 | name | value type u8 | value }...
//   payload (total - headers - 16 bytes)
//   message CRC32 u32 (of every byte of the message before it)
// Value types: 0 true, 1 false (no bytes), 2 byte, 3 short, 4 int, 5 long, 6 bytes (u16 length),
// 7 string (u16 length), 8 timestamp (i64 ms), 9 uuid (16 bytes). CRC32 is the gzip/zlib one.
//
// Bedrock sends string headers :message-type ("event", "exception" or "error"), :event-type
// (messageStart, contentBlockDelta, ...), :exception-type (throttlingException, ...),
// :content-type, and for "error" messages :error-code / :error-message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::dialects::bedrock {

struct EventStreamMessage {
  // In wire order; non-string values rendered as text (integers in decimal, bools as
  // "true"/"false", timestamps in ms, uuids in hex, bytes raw).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload;

  // The value of a header, "" when absent.
  std::string_view header(std::string_view name) const;
};

// Usage: feed() pieces as they arrive (split anywhere), then next() until it returns false.
// Both CRCs are checked; the first malformed message stops the decoder for good (failed()),
// since nothing after a corrupt length can be trusted.
class EventStreamDecoder {
 public:
  void feed(std::string_view bytes);
  bool next(EventStreamMessage& out);
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // Bytes received that do not (yet) form a whole message.
  size_t pending() const { return buf_.size() - pos_; }

  // A message larger than this is refused (AWS caps messages at 16 MiB).
  static constexpr uint32_t kMaxMessageBytes = 16u * 1024 * 1024;

 private:
  bool fail(std::string why);

  std::string buf_;
  size_t pos_ = 0;
  std::string error_;
};

// The CRC32 of the event stream (reflected polynomial 0xEDB88320, as zlib's crc32()).
// `crc` continues an earlier value.
uint32_t crc32(std::string_view data, uint32_t crc = 0);

// One message with string headers, CRCs included. For tests and mocks of the wire format.
std::string encode_event_stream_message(const std::vector<std::pair<std::string, std::string>>& headers,
                                        std::string_view payload);

// The event type an SSE event gets when the event stream itself is broken (bad CRC, truncated
// message). ChatStreamDecoder treats it as a provider error.
inline constexpr std::string_view kMalformedStreamEvent = "malformedEventStreamException";

// "event: <type>\ndata: <payload>\n\n". The type is :event-type for events, :exception-type
// for exceptions, :error-code for errors (whose data becomes {"message": :error-message}).
// A payload with line breaks gets one data: line per line (SSE joins them back with '\n',
// which JSON reads as the same whitespace).
std::string to_sse(const EventStreamMessage& m);

// Wraps an upstream event-stream body for the SSE relay: byte pieces in, SSE text out.
class EventStreamToSse {
 public:
  // The SSE text of every message the bytes complete ("" when none). After a framing error,
  // one `event: malformedEventStreamException` and nothing more.
  std::string feed(std::string_view bytes);
  // The body ended: a message left half-received is reported the same way.
  std::string finish();

 private:
  std::string failure(std::string_view why);

  EventStreamDecoder decoder_;
  bool failed_ = false;
};

}  // namespace tollgate::dialects::bedrock
