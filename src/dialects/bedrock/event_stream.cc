#include "dialects/bedrock/event_stream.h"

#include <array>
#include <cstring>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "http/sse.h"

namespace tollgate::dialects::bedrock {

namespace {

constexpr size_t kPreludeBytes = 12;  // total length, headers length, prelude CRC
constexpr size_t kOverheadBytes = 16; // prelude + message CRC

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

uint32_t be32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

uint64_t be_n(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Headers of one message -> `out`. False when they do not parse.
bool parse_headers(std::string_view h, std::vector<std::pair<std::string, std::string>>& out) {
  size_t i = 0;
  auto need = [&](size_t n) { return h.size() - i >= n; };
  while (i < h.size()) {
    size_t name_len = static_cast<unsigned char>(h[i++]);
    if (name_len == 0 || !need(name_len + 1)) return false;
    std::string name(h.substr(i, name_len));
    i += name_len;
    int type = static_cast<unsigned char>(h[i++]);
    std::string value;
    switch (type) {
      case 0: value = "true"; break;
      case 1: value = "false"; break;
      case 2:
      case 3:
      case 4:
      case 5:
      case 8: {
        int n = type == 2 ? 1 : type == 3 ? 2 : type == 4 ? 4 : 8;
        if (!need(n)) return false;
        uint64_t raw = be_n(h.data() + i, n);
        // Sign-extend: these are signed integers on the wire.
        int64_t v = n == 8 ? static_cast<int64_t>(raw) : static_cast<int64_t>(raw << (64 - 8 * n)) >> (64 - 8 * n);
        value = std::to_string(v);
        i += n;
        break;
      }
      case 6:
      case 7: {
        if (!need(2)) return false;
        size_t len = be_n(h.data() + i, 2);
        i += 2;
        if (!need(len)) return false;
        value.assign(h.substr(i, len));
        i += len;
        break;
      }
      case 9: {
        if (!need(16)) return false;
        static constexpr char digits[] = "0123456789abcdef";
        for (int k = 0; k < 16; ++k) {
          auto c = static_cast<unsigned char>(h[i + k]);
          value.push_back(digits[c >> 4]);
          value.push_back(digits[c & 0xf]);
        }
        i += 16;
        break;
      }
      default: return false;
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

}  // namespace

uint32_t crc32(std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (unsigned char c : data) crc = kCrcTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::string_view EventStreamMessage::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

bool EventStreamDecoder::fail(std::string why) {
  error_ = std::move(why);
  return false;
}

void EventStreamDecoder::feed(std::string_view bytes) {
  if (failed()) return;
  // Drop what was consumed before growing, so a long stream does not keep its history.
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 64 * 1024) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(bytes);
}

bool EventStreamDecoder::next(EventStreamMessage& out) {
  if (failed() || pending() < kPreludeBytes) return false;
  const char* p = buf_.data() + pos_;
  uint32_t total = be32(p);
  uint32_t headers_len = be32(p + 4);
  // The prelude CRC first: a length is only believed once its CRC matches.
  if (crc32(std::string_view(p, 8)) != be32(p + 8))
    return fail("event stream prelude CRC mismatch");
  if (total < kOverheadBytes || total > kMaxMessageBytes || headers_len > total - kOverheadBytes)
    return fail(fmt::format("event stream message has impossible lengths (total {}, headers {})", total,
                            headers_len));
  if (pending() < total) return false;
  if (crc32(std::string_view(p, total - 4)) != be32(p + total - 4))
    return fail("event stream message CRC mismatch");
  out.headers.clear();
  if (!parse_headers(std::string_view(p + kPreludeBytes, headers_len), out.headers))
    return fail("event stream message headers do not parse");
  out.payload.assign(p + kPreludeBytes + headers_len, total - kOverheadBytes - headers_len);
  pos_ += total;
  return true;
}

std::string encode_event_stream_message(const std::vector<std::pair<std::string, std::string>>& headers,
                                        std::string_view payload) {
  std::string h;
  for (const auto& [name, value] : headers) {
    h.push_back(static_cast<char>(name.size()));
    h.append(name);
    h.push_back(7);
    h.push_back(static_cast<char>((value.size() >> 8) & 0xff));
    h.push_back(static_cast<char>(value.size() & 0xff));
    h.append(value);
  }
  std::string out;
  put_be32(out, static_cast<uint32_t>(kOverheadBytes + h.size() + payload.size()));
  put_be32(out, static_cast<uint32_t>(h.size()));
  put_be32(out, crc32(out));
  out.append(h);
  out.append(payload);
  put_be32(out, crc32(out));
  return out;
}

std::string to_sse(const EventStreamMessage& m) {
  std::string_view kind = m.header(":message-type");
  std::string_view type;
  std::string data;
  if (kind == "exception") {
    type = m.header(":exception-type");
    data = m.payload;
  } else if (kind == "error") {
    type = m.header(":error-code");
    data = boost::json::serialize(boost::json::object{{"message", m.header(":error-message")}});
  } else {
    type = m.header(":event-type");
    data = m.payload;
  }
  std::string out;
  if (!type.empty()) out.append("event: ").append(type).push_back('\n');
  // One data: line per line of the payload (CR, LF or CRLF).
  std::string_view rest = data;
  do {
    size_t eol = rest.find_first_of("\r\n");
    out.append("data: ").append(rest.substr(0, eol)).push_back('\n');
    if (eol == std::string_view::npos) break;
    size_t skip = (rest[eol] == '\r' && eol + 1 < rest.size() && rest[eol + 1] == '\n') ? 2 : 1;
    rest.remove_prefix(eol + skip);
  } while (true);
  out.push_back('\n');
  return out;
}

std::string EventStreamToSse::failure(std::string_view why) {
  failed_ = true;
  std::string payload = boost::json::serialize(boost::json::object{{"message", why}});
  return http::sse_event(kMalformedStreamEvent, payload);
}

std::string EventStreamToSse::feed(std::string_view bytes) {
  if (failed_) return {};
  decoder_.feed(bytes);
  std::string out;
  EventStreamMessage m;
  while (decoder_.next(m)) out.append(to_sse(m));
  if (decoder_.failed()) out.append(failure(decoder_.error()));
  return out;
}

std::string EventStreamToSse::finish() {
  if (failed_ || decoder_.pending() == 0) return {};
  return failure(fmt::format("the event stream ended inside a message ({} bytes left over)", decoder_.pending()));
}

}  // namespace tollgate::dialects::bedrock
