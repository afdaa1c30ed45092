// Server-sent events: an incremental reader that turns arbitrary byte pieces into whole events
// (the wire splits events, lines and UTF-8 code points anywhere), and the writer's framing.
#pragma once

#include <string>
#include <string_view>

namespace tollgate::http {

struct SseEvent {
  std::string_view raw;  // the event's exact bytes including its terminating blank line
  std::string event;     // the `event:` field ("" when absent)
  std::string data;      // `data:` lines joined with '\n'
  bool has_data = false; // false for comment-only blocks such as ": keep-alive"
};

// Usage: feed() each piece as it arrives, then call next() until it returns false.
// Events come out only when complete, so a JSON payload is never parsed half-received.
class SseReader {
 public:
  void feed(std::string_view bytes);
  // Fills `ev` with the next complete event. `ev.raw` stays valid until the next feed().
  bool next(SseEvent& ev);
  // Bytes received that do not (yet) form a complete event.
  std::string_view pending() const;
  // When nothing is pending, the reader's buffers go back to the thread's spares
  // (core/spare_strings.h): a stream waiting for its next piece holds none (issue 18).
  void release();

 private:
  std::string buf_;
  size_t event_start_ = 0;  // start of the event being assembled
  size_t line_start_ = 0;   // start of the line not yet consumed
  SseEvent cur_;
  bool lines_in_event_ = false;
};

// "data: <payload>\n\n" (payload must not contain newlines; JSON from a serializer never does).
std::string sse_data(std::string_view payload);
// "event: <name>\ndata: <payload>\n\n"
std::string sse_event(std::string_view name, std::string_view payload);

}  // namespace tollgate::http
