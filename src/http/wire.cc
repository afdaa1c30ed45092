#include "http/wire.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

namespace tollgate::http {
namespace {

namespace bhttp = boost::beast::http;

bool framing(std::string_view name) {
  return boost::beast::iequals(name, "content-length") || boost::beast::iequals(name, "transfer-encoding") ||
         boost::beast::iequals(name, "connection");
}

// Beast's set(): a field replaces every earlier one of its name, so each name is written once,
// where its last occurrence stands.
bool replaced_later(const Headers& headers, std::size_t i) {
  for (std::size_t j = i + 1; j < headers.size(); ++j)
    if (headers[j].first.size() == headers[i].first.size() && boost::beast::iequals(headers[j].first, headers[i].first))
      return true;
  return false;
}

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

void append_fields(std::string& out, const Headers& headers) {
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto& [name, value] = headers[i];
    if (framing(name) || replaced_later(headers, i)) continue;
    out.append(name).append(": ").append(value).append("\r\n");
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
