// Name minting and globs for the aggregate endpoint (names.h).
#include "mcp/names.h"

#include <fmt/format.h>

namespace tollgate::mcp {

namespace {

constexpr std::size_t kMaxName = 64;
constexpr std::string_view kSep = "__";
constexpr std::string_view kUriScheme = "tollgate-mcp://";

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// FNV-1a 64: stable across builds and platforms (the minted names are part of what clients cache).
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

bool is_llm_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxName) return false;
  for (char c : s)
    if (!name_char(c)) return false;
  return true;
}

std::string mint(std::string_view prefix, std::string_view name) {
  std::string full = prefix.empty() ? std::string(name) : fmt::format("{}{}{}", prefix, kSep, name);
  if (is_llm_name(full)) return full;
  // Invalid characters become '_', and a hash of the original name keeps two names that
  // differ only there (or past the cut) apart.
  std::string out;
  out.reserve(kMaxName);
  for (char c : full) out.push_back(name_char(c) ? c : '_');
  std::string suffix = fmt::format("_{:010x}", fnv1a(name) & 0xff'ffff'ffffULL);
  if (out.size() + suffix.size() > kMaxName) out.resize(kMaxName - suffix.size());
  if (out.empty()) out = "t";
  return out + suffix;
}

bool looks_shortened(std::string_view m) {
  if (m.size() < 11 || m[m.size() - 11] != '_') return false;
  for (char c : m.substr(m.size() - 10))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool strip_prefix(std::string_view prefix, std::string_view minted, std::string_view& rest) {
  if (prefix.empty()) {
    rest = minted;
    return true;
  }
  if (minted.size() <= prefix.size() + kSep.size() || !minted.starts_with(prefix) ||
      minted.substr(prefix.size(), kSep.size()) != kSep)
    return false;
  rest = minted.substr(prefix.size() + kSep.size());
  return true;
}

std::string mint_uri(std::string_view prefix, std::string_view server, std::string_view uri) {
  if (prefix.empty()) return std::string(uri);
  return fmt::format("{}{}/{}", kUriScheme, server, uri);
}

bool strip_uri(std::string_view prefix, std::string_view server, std::string_view minted, std::string& uri) {
  if (prefix.empty()) {
    uri = minted;
    return true;
  }
  if (!minted.starts_with(kUriScheme)) return false;
  minted.remove_prefix(kUriScheme.size());
  if (minted.size() <= server.size() || !minted.starts_with(server) || minted[server.size()] != '/') return false;
  uri = minted.substr(server.size() + 1);
  return true;
}

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative with one backtrack point: linear in practice, no recursion on hostile input.
  std::size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

}  // namespace tollgate::mcp
