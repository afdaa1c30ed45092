#include "http/sse.h"

#include <cstring>

#include "core/spare_strings.h"

namespace tollgate::http {

void SseReader::feed(std::string_view bytes) {
  // Drop what earlier events consumed before growing the buffer; views handed out by next()
  // are documented to die here.
  if (event_start_ > 0) {
    buf_.erase(0, event_start_);
    line_start_ -= event_start_;
    event_start_ = 0;
  }
  if (buf_.empty() && buf_.capacity() < bytes.size()) buf_ = core::take_spare(bytes.size());
  buf_.append(bytes);
}

void SseReader::release() {
  if (event_start_ != buf_.size()) return;  // part of an event is still to come
  core::give_spare(buf_);
  event_start_ = line_start_ = 0;
  core::give_spare(cur_.data);
  core::give_spare(cur_.event);
}

bool SseReader::next(SseEvent& ev) {
  while (line_start_ < buf_.size()) {
    // Find the end of the line: "\n", "\r\n" or a lone "\r". Two memchr passes, not
    // find_first_of, which calls memchr on the set once per byte of the line (issue 18: a
    // quarter of a stream's instructions per chunk).
    const char* start = buf_.data() + line_start_;
    const char* end = buf_.data() + buf_.size();
    const auto* lf = static_cast<const char*>(std::memchr(start, '\n', static_cast<size_t>(end - start)));
    const char* before = lf ? lf : end;
    const auto* cr = static_cast<const char*>(std::memchr(start, '\r', static_cast<size_t>(before - start)));
    const char* found = cr ? cr : lf;
    if (!found) return false;
    size_t eol = static_cast<size_t>(found - buf_.data());
    size_t next_line = eol + 1;
    if (buf_[eol] == '\r') {
      if (eol + 1 == buf_.size()) return false;  // may be the first half of "\r\n"
      if (buf_[eol + 1] == '\n') next_line = eol + 2;
    }
    std::string_view line(buf_.data() + line_start_, eol - line_start_);
    line_start_ = next_line;

    if (line.empty()) {
      // A blank line ends the event.
      if (!lines_in_event_) {
        // A stray blank line with nothing before it: not an event.
        event_start_ = line_start_;
        continue;
      }
      lines_in_event_ = false;
      // Swapped, not moved: `ev`'s buffers are kept for the next event rather than freed.
      ev.event.swap(cur_.event);
      ev.data.swap(cur_.data);
      ev.has_data = cur_.has_data;
      cur_.event.clear();
      cur_.data.clear();
      cur_.has_data = false;
      ev.raw = std::string_view(buf_.data() + event_start_, line_start_ - event_start_);
      event_start_ = line_start_;
      return true;
    }
    lines_in_event_ = true;
    if (line.front() == ':') continue;  // a comment: kept in raw, no field
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      if (!cur_.has_data && cur_.data.capacity() < value.size()) cur_.data = core::take_spare(value.size());
      if (cur_.has_data) cur_.data.push_back('\n');
      cur_.data.append(value);
      cur_.has_data = true;
    } else if (field == "event") {
      cur_.event.assign(value);
    }
    // id and retry are not used by any LLM provider's stream; they stay in raw.
  }
  return false;
}

std::string_view SseReader::pending() const {
  return std::string_view(buf_).substr(event_start_);
}

std::string sse_data(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  out.append("data: ").append(payload).append("\n\n");
  return out;
}

std::string sse_event(std::string_view name, std::string_view payload) {
  std::string out;
  out.reserve(name.size() + payload.size() + 16);
  out.append("event: ").append(name).append("\ndata: ").append(payload).append("\n\n");
  return out;
}

}  // namespace tollgate::http
