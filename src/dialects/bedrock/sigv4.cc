#include "dialects/bedrock/sigv4.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace tollgate::dialects::bedrock::sigv4 {

namespace {

std::atomic<ClockFn> g_clock{nullptr};

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 0xf];
  }
  return out;
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Canonical header value: outer whitespace trimmed, inner runs of spaces collapsed to one.
std::string trim_all(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

int from_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = from_hex(s[i + 1]), lo = from_hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Query parameters sorted by encoded name, then value; each name and value normalised to the
// strict encoding (whatever encoding the sender used).
std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    std::string_view k = pair.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    params.emplace_back(uri_encode(percent_decode(k), false), uri_encode(percent_decode(v), false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out.append(k).append("=").append(v);
  }
  return out;
}

// Lower-cased name -> canonical value (repeated headers joined by ','), sorted by name.
std::map<std::string, std::string> canonical_header_map(const Request& r) {
  std::map<std::string, std::string> m;
  if (!r.headers) return m;
  for (const auto& [name, value] : *r.headers) {
    auto& slot = m[lower(name)];
    if (!slot.empty()) slot.push_back(',');
    slot.append(trim_all(value));
  }
  return m;
}

}  // namespace

std::optional<Credentials> Credentials::parse(std::string_view api_key) {
  auto first = api_key.find(':');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = api_key.find(':', first + 1);
  Credentials c;
  c.access_key_id = api_key.substr(0, first);
  if (second == std::string_view::npos) {
    c.secret_access_key = api_key.substr(first + 1);
  } else {
    c.secret_access_key = api_key.substr(first + 1, second - first - 1);
    c.session_token = api_key.substr(second + 1);
    if (c.session_token.empty()) return std::nullopt;
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty()) return std::nullopt;
  return c;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return hex(digest, len);
}

std::string amz_date(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[17];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string signed_headers(const Request& r) {
  std::string out;
  for (const auto& [name, value] : canonical_header_map(r)) {
    if (!out.empty()) out.push_back(';');
    out.append(name);
  }
  return out;
}

std::string canonical_request(const Request& r) {
  std::string out;
  out.append(r.method).push_back('\n');
  // Not S3: the path as sent is encoded once more (see the header).
  std::string uri = uri_encode(r.path.empty() ? std::string_view("/") : r.path, true);
  out.append(uri).push_back('\n');
  out.append(canonical_query(r.query)).push_back('\n');
  for (const auto& [name, value] : canonical_header_map(r)) out.append(name).append(":").append(value).push_back('\n');
  out.push_back('\n');
  out.append(signed_headers(r)).push_back('\n');
  out.append(r.payload_sha256_hex);
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view creq) {
  return fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date, scope, sha256_hex(creq));
}

std::string authorization(const Credentials& creds, const Request& r, std::string_view region,
                          std::string_view service, std::string_view amz_date) {
  std::string_view date = amz_date.substr(0, 8);
  std::string scope = fmt::format("{}/{}/{}/aws4_request", date, region, service);
  std::string sts = string_to_sign(amz_date, scope, canonical_request(r));
  std::string key = hmac("AWS4" + creds.secret_access_key, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, "aws4_request");
  std::string sig = hmac(key, sts);
  return fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}", creds.access_key_id,
                     scope, signed_headers(r), hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()));
}

void set_clock(ClockFn fn) { g_clock.store(fn, std::memory_order_relaxed); }

std::time_t now() {
  ClockFn fn = g_clock.load(std::memory_order_relaxed);
  return fn ? fn() : std::time(nullptr);
}

}  // namespace tollgate::dialects::bedrock::sigv4
