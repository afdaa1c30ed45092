// Byte offsets of the members of a JSON object, without building a DOM. The fast path splices
// a request body (the model name, stream_options) and strips members from stream chunks by
// offset so every other byte reaches the upstream untouched. Boost.JSON gives values, not
// positions, hence this small scanner; it validates structure only as far as it walks, so
// callers parse the document with Boost.JSON first (or accept a failed scan).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>

namespace tollgate::core {

struct JsonMember {
  std::string_view key;  // raw key text between the quotes (escapes not decoded)
  size_t begin = 0;      // offset of the key's opening quote
  size_t value_begin = 0;
  size_t value_end = 0;  // one past the value's last byte
};

// A member list for scans that end before the calling function returns: one of a few lists
// kept per thread, so the request path's scans allocate nothing (issue 18: ~9 allocations a
// request, growing vectors). Never held across a co_await (another request on the thread
// would take the same list); a list grown past 32 members is freed on release.
class ScratchMembers {
 public:
  ScratchMembers();
  ~ScratchMembers();
  ScratchMembers(const ScratchMembers&) = delete;
  ScratchMembers& operator=(const ScratchMembers&) = delete;
  std::vector<JsonMember>& operator*() { return *list_; }
  std::vector<JsonMember>* operator->() { return list_; }

 private:
  std::vector<JsonMember>* list_;
  int index_ = -1;                // which of the thread's lists, -1 for own_
  std::vector<JsonMember> own_;  // when the thread's lists are all taken
};

// Fills `out` with the members of the object that starts at the first non-space byte of
// `json`. False when that is not a well-formed object.
bool scan_object_members(std::string_view json, std::vector<JsonMember>& out);

// The member named `key` (raw comparison), or nullptr when absent OR given more than once:
// a duplicated key is ambiguous (parsers differ on which one wins), so callers fall back to
// rewriting the parsed document, which keeps one.
const JsonMember* find_member(const std::vector<JsonMember>& members, std::string_view key);

// `json` with member `m` (and the comma that separates it from a neighbour) removed.
// The bytes remove_member cuts: [first, second) of the object's text.
std::pair<size_t, size_t> member_cut(const std::vector<JsonMember>& members, const JsonMember& m);
std::string remove_member(std::string_view json, const std::vector<JsonMember>& members,
                          const JsonMember& m);

// Appends `"key":value` as the object's first member (`value` is raw JSON).
std::string insert_first_member(std::string_view json, std::string_view key,
                                std::string_view raw_value);

// Writes `s` as a JSON string literal (quotes included).
std::string json_quote(std::string_view s);

// Parses a request body into `doc` (which is replaced), its values allocated from one growing
// block instead of one allocation per key, string, object and array (~14 for a small chat
// request) and released at once, without walking the tree (issue 18). The block is counted: a
// sub-value copy-constructed from `doc` shares it and keeps it alive, but also keeps all of it
// and must not be modified on another thread; copy into a value of its own storage
// (`json::value(v, {})`) anything that outlives the request by much or crosses threads.
void parse_request_document(std::string_view body, boost::json::value& doc, boost::system::error_code& ec,
                            const boost::json::parse_options& opt);
// Gives `doc`'s storage back (it becomes null, of the default storage): assigning a null, or
// moving another value in, would keep the block parse_request_document gave it.
void release_request_document(boost::json::value& doc);

}  // namespace tollgate::core
