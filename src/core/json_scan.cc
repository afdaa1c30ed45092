#include "core/json_scan.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace tollgate::core {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && is_space(s[i])) ++i;
  return i;
}

// i points at '"'; returns one past the closing quote, or npos. memchr finds each candidate
// quote; it closes the string unless an odd run of backslashes precedes it (most strings have
// no escapes, so this is one memchr per string rather than a test per byte).
size_t skip_string(std::string_view s, size_t i) {
  const char* base = s.data();
  const size_t first = i + 1;  // the string's first content byte
  for (size_t from = first; from < s.size();) {
    const void* q = std::memchr(base + from, '"', s.size() - from);
    if (!q) return std::string_view::npos;
    const size_t j = static_cast<size_t>(static_cast<const char*>(q) - base);
    size_t k = j;
    while (k > first && base[k - 1] == '\\') --k;
    if (((j - k) & 1) == 0) return j + 1;
    from = j + 1;
  }
  return std::string_view::npos;
}

// i points at a value's first byte; returns one past its end, or npos.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  char c = s[i];
  if (c == '"') return skip_string(s, i);
  if (c == '{' || c == '[') {
    // Nesting depth only; strings are skipped whole so brackets inside them do not count.
    int depth = 0;
    for (; i < s.size(); ++i) {
      char d = s[i];
      if (d == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        --i;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return std::string_view::npos;
  }
  // number, true, false, null
  size_t j = i;
  while (j < s.size() && !is_space(s[j]) && s[j] != ',' && s[j] != '}' && s[j] != ']') ++j;
  return j == i ? std::string_view::npos : j;
}

}  // namespace

namespace {

constexpr int kScratchLists = 8;
struct ScratchLists {
  std::vector<JsonMember> lists[kScratchLists];
  unsigned taken = 0;  // bit i: lists[i] is in use
};
thread_local ScratchLists scratch;

}  // namespace

ScratchMembers::ScratchMembers() : list_(&own_) {
  for (int i = 0; i < kScratchLists; ++i) {
    if (scratch.taken & (1u << i)) continue;
    scratch.taken |= 1u << i;
    index_ = i;
    list_ = &scratch.lists[i];
    break;
  }
}

ScratchMembers::~ScratchMembers() {
  if (index_ < 0) return;
  if (list_->capacity() > 32) std::vector<JsonMember>().swap(*list_);
  else list_->clear();
  scratch.taken &= ~(1u << index_);
}

bool scan_object_members(std::string_view s, std::vector<JsonMember>& out) {
  out.clear();
  if (out.capacity() < 16) out.reserve(16);  // one allocation, not four, for a typical object
  size_t i = skip_space(s, 0);
  if (i >= s.size() || s[i] != '{') return false;
  i = skip_space(s, i + 1);
  if (i < s.size() && s[i] == '}') return true;
  while (i < s.size()) {
    if (s[i] != '"') return false;
    JsonMember m;
    m.begin = i;
    size_t key_end = skip_string(s, i);
    if (key_end == std::string_view::npos) return false;
    m.key = s.substr(i + 1, key_end - i - 2);
    i = skip_space(s, key_end);
    if (i >= s.size() || s[i] != ':') return false;
    i = skip_space(s, i + 1);
    m.value_begin = i;
    i = skip_value(s, i);
    if (i == std::string_view::npos) return false;
    m.value_end = i;
    out.push_back(m);
    i = skip_space(s, i);
    if (i >= s.size()) return false;
    if (s[i] == '}') return true;
    if (s[i] != ',') return false;
    i = skip_space(s, i + 1);
  }
  return false;
}

const JsonMember* find_member(const std::vector<JsonMember>& members, std::string_view key) {
  const JsonMember* found = nullptr;
  for (const auto& m : members) {
    if (m.key != key) continue;
    if (found) return nullptr;
    found = &m;
  }
  return found;
}

std::pair<size_t, size_t> member_cut(const std::vector<JsonMember>& members, const JsonMember& m) {
  size_t idx = static_cast<size_t>(&m - members.data());
  size_t cut_begin, cut_end;
  if (idx + 1 < members.size()) {
    // Remove "key": value, up to the next key.
    cut_begin = m.begin;
    cut_end = members[idx + 1].begin;
  } else if (idx > 0) {
    // The last member: remove from the end of the previous value (its comma included).
    cut_begin = members[idx - 1].value_end;
    cut_end = m.value_end;
  } else {
    cut_begin = m.begin;
    cut_end = m.value_end;
  }
  return {cut_begin, cut_end};
}

std::string remove_member(std::string_view json, const std::vector<JsonMember>& members,
                          const JsonMember& m) {
  const auto [cut_begin, cut_end] = member_cut(members, m);
  std::string out;
  out.reserve(json.size());
  out.append(json.substr(0, cut_begin)).append(json.substr(cut_end));
  return out;
}

std::string insert_first_member(std::string_view json, std::string_view key,
                                std::string_view raw_value) {
  size_t brace = json.find('{');
  std::string out;
  out.reserve(json.size() + key.size() + raw_value.size() + 4);
  out.append(json.substr(0, brace + 1));
  out.append(json_quote(key)).push_back(':');
  out.append(raw_value);
  size_t rest = skip_space(json, brace + 1);
  if (rest < json.size() && json[rest] != '}') out.push_back(',');
  out.append(json.substr(brace + 1));
  return out;
}

std::string json_quote(std::string_view s) {
  return boost::json::serialize(boost::json::string_view(s.data(), s.size()));
}

void parse_request_document(std::string_view body, boost::json::value& doc, boost::system::error_code& ec,
                            const boost::json::parse_options& opt) {
  namespace json = boost::json;
  // A DOM takes about twice its text (a small chat body's ~600 bytes in ~1 KiB); a large body
  // is mostly strings, which take a block of their own size once the first is used up.
  const std::size_t first_block = std::clamp<std::size_t>(body.size() * 2 + 512, 1024, 16 * 1024);
  json::value parsed = json::parse(body, ec, json::make_shared_resource<json::monotonic_resource>(first_block), opt);
  // Assigning a value of another storage would copy it into doc's; the move constructor takes
  // the storage along (noexcept).
  std::destroy_at(&doc);
  std::construct_at(&doc, std::move(parsed));
}

void release_request_document(boost::json::value& doc) {
  std::destroy_at(&doc);
  std::construct_at(&doc);
}

}  // namespace tollgate::core
