#include "http/wire.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace tollgate::http {
namespace {

namespace bhttp = boost::beast::http;

bool framing(std::string_view name) {
  return boost::beast::iequals(name, "content-length") || boost::beast::iequals(name, "transfer-encoding") ||
         boost::beast::iequals(name, "connection");
}

// A header name's fingerprint: its length and its first, middle and last eight bytes with
// ASCII's case bit (0x20) set. Names equal ignoring case have equal fingerprints, so only
// names whose fingerprints match are compared byte by byte: the framing check and Beast's
// "a later field replaces an earlier one" cost an integer compare per pair rather than a
// case-blind string compare (the six x-ratelimit-* names share lengths and prefixes, and the
// pairwise compare was ~2.5k instructions an answer, issue 18).
constexpr uint64_t load8(std::string_view s, std::size_t at) {  // little-endian; past the end: 0
  uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && at + i < s.size(); ++i) v |= uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}

constexpr uint64_t fingerprint(std::string_view name) {
  constexpr uint64_t kCaseBits = 0x2020202020202020;
  const std::size_t n = name.size();
  uint64_t first, middle = 0, last = 0;
  if (std::is_constant_evaluated()) {
    first = load8(name, 0);
    if (n >= 8) middle = load8(name, n / 2 - 4), last = load8(name, n - 8);
  } else if (n >= 8) {
    std::memcpy(&first, name.data(), 8);
    std::memcpy(&middle, name.data() + n / 2 - 4, 8);
    std::memcpy(&last, name.data() + n - 8, 8);
  } else {
    first = 0;
    std::memcpy(&first, name.data(), n);
  }
  return ((first | kCaseBits) * 0x9E3779B97F4A7C15ull ^ (middle | kCaseBits) * 0xC2B2AE3D27D4EB4Full ^
          (last | kCaseBits)) + n;
}

constexpr uint64_t kContentLength = fingerprint("content-length"), kTransferEncoding = fingerprint("transfer-encoding"),
                   kConnection = fingerprint("connection");

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

// Every field but the framing ones, each name once, where its last occurrence stands (Beast's
// set(): a field replaces every earlier one of its name). The kept fields are sized first and
// written with one resize, not four appends each.
void append_fields(std::string& out, const Headers& headers) {
  constexpr std::size_t kMax = 64;
  const std::size_t count = headers.size();
  if (count > kMax) {  // more than any answer or upstream request has: the plain way
    for (std::size_t i = 0; i < count; ++i) {
      const auto& [name, value] = headers[i];
      bool replaced = false;
      for (std::size_t j = i + 1; j < count && !replaced; ++j)
        replaced = boost::beast::iequals(headers[j].first, name);
      if (!framing(name) && !replaced) out.append(name).append(": ").append(value).append("\r\n");
    }
    return;
  }
  uint64_t prints[kMax];
  for (std::size_t i = 0; i < count; ++i) prints[i] = fingerprint(headers[i].first);
  // From the last field back: `later` has a bit for each later name (the fingerprint's top six
  // bits), so a field whose bit is clear has no later namesake without a look at them.
  bool keep[kMax];
  std::size_t size = 0;
  uint64_t later = 0;
  for (std::size_t i = count; i-- > 0;) {
    const uint64_t p = prints[i];
    const uint64_t b = uint64_t{1} << (p >> 58);
    const std::string& name = headers[i].first;
    bool k = !((p == kContentLength || p == kTransferEncoding || p == kConnection) && framing(name));
    if (later & b)
      for (std::size_t j = i + 1; j < count && k; ++j)
        if (prints[j] == p && boost::beast::iequals(headers[j].first, name)) k = false;
    later |= b;
    keep[i] = k;
    if (k) size += name.size() + headers[i].second.size() + 4;
  }
  std::size_t at = out.size();
  out.resize(at + size);
  char* p = out.data() + at;
  for (std::size_t i = 0; i < count; ++i) {
    if (!keep[i]) continue;
    const auto& [name, value] = headers[i];
    std::memcpy(p, name.data(), name.size());
    p += name.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, value.data(), value.size());
    p += value.size();
    *p++ = '\r';
    *p++ = '\n';
  }
}

std::size_t fields_size(const Headers& headers) {
  std::size_t n = 0;
  for (const auto& [k, v] : headers) n += k.size() + v.size() + 4;
  return n;
}

}  // namespace

namespace {

void append_status_line(std::string& out, int status) {
  out.append("HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(status));
  out.push_back(' ');
  out.append(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
  out.append("\r\n");
}

}  // namespace

std::string response_head(int status, const Headers& headers, bool keep_alive, std::size_t content_length) {
  std::string out;
  out.reserve(64 + fields_size(headers));
  append_status_line(out, status);
  append_fields(out, headers);
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("Content-Length: ");
  append_number(out, content_length);
  out.append("\r\n\r\n");
  return out;
}

std::string stream_head(int status, const Headers& headers, bool keep_alive) {
  std::string out;
  out.reserve(64 + fields_size(headers));
  append_status_line(out, status);
  append_fields(out, headers);
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("Transfer-Encoding: chunked\r\n\r\n");
  return out;
}

bool send_now(int fd, std::span<boost::asio::const_buffer> pieces, boost::system::error_code& ec) {
  constexpr std::size_t kMaxPieces = 8;
  iovec iov[kMaxPieces];
  std::size_t count = 0, total = 0;
  for (const auto& p : pieces) {
    if (p.size() == 0) continue;
    if (count == kMaxPieces) return false;  // more than a message has: the caller's write does it
    iov[count++] = {const_cast<void*>(p.data()), p.size()};
    total += p.size();
  }
  if (total == 0) return true;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  ssize_t n;
  do n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) ec.assign(errno, boost::system::system_category());
    return false;
  }
  auto written = static_cast<std::size_t>(n);
  if (written == total) return true;
  for (auto& p : pieces) {
    const std::size_t k = std::min(written, p.size());
    p += k;
    written -= k;
  }
  return false;
}

std::size_t chunk_size_line(char (&out)[20], std::size_t size) {
  auto [end, ec] = std::to_chars(out, out + 16, size, 16);
  *end++ = '\r';
  *end++ = '\n';
  return static_cast<std::size_t>(end - out);
}

std::string request_head(std::string_view method, std::string_view target, std::string_view host,
                         const Headers& headers, std::size_t content_length) {
  std::string out;
  out.reserve(64 + method.size() + target.size() + host.size() + fields_size(headers));
  out.append(method).push_back(' ');
  out.append(target).append(" HTTP/1.1\r\n");
  bool host_given = false;
  for (const auto& [k, v] : headers) host_given |= boost::beast::iequals(k, "host");
  if (!host_given) out.append("Host: ").append(host).append("\r\n");
  append_fields(out, headers);
  if (content_length > 0 || method == "POST" || method == "PUT" || method == "OPTIONS") {
    out.append("Content-Length: ");
    append_number(out, content_length);
    out.append("\r\n");
  }
  out.append("\r\n");
  return out;
}

}  // namespace tollgate::http
