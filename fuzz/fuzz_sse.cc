// The SSE reader: arbitrary bytes, fed in pieces whose sizes come from the input itself.
// Invariants: events come out whole, and raw bytes + pending bytes account for the input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/sse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 16;  // piece size: splits land everywhere across runs
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  tollgate::http::SseReader reader;
  tollgate::http::SseEvent ev;
  size_t raw_total = 0;
  for (size_t i = 0; i < in.size(); i += step) {
    reader.feed(in.substr(i, step));
    while (reader.next(ev)) {
      raw_total += ev.raw.size();
      if (ev.raw.empty()) abort();  // an event is at least its blank line
      (void)tollgate::http::sse_event(ev.event, ev.data.find('\n') == std::string::npos ? ev.data : "");
    }
    // As the relay does between pieces: buffers back to the spares unless an event is pending.
    if (data[0] & 0x80) reader.release();
  }
  if (raw_total + reader.pending().size() > in.size()) abort();
  return 0;
}
