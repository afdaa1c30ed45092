// Reads configuration YAML field by field and collects every problem with its place, instead
// of stopping at the first (a config with three mistakes should say three things). Shared by
// the resources document and tollgate.yaml. Internal to src/core and src/store: keep yaml-cpp
// out of the public headers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/resources.h"
#include "core/schema.h"

namespace tollgate::core {

class YamlReader {
 public:
  YamlReader(std::string source, std::vector<ConfigError>& errors)
      : source_(std::move(source)), errors_(errors) {}

  // Parses a document; a syntax error becomes one ConfigError with its line and column.
  // A document that is empty or only comments comes back as a Null node.
  std::optional<YAML::Node> load(std::string_view text);

  void error(const YAML::Node& at, const std::string& field, std::string message);
  void error(const YAML::Mark& at, const std::string& field, std::string message);

  // Checks that `node` is a map whose keys are all in `known`: any other key is an error
  // naming it ("unknown field"), so a typo never passes silently; a key given twice is too.
  // False when `node` is not a map (reported).
  bool fields(const YAML::Node& node, const std::string& field,
              std::initializer_list<std::string_view> known);

  // Scalars, `${ENV}`-interpolated. nullopt when absent, or wrong (reported).
  std::optional<std::string> string(const YAML::Node& node, const std::string& field);
  std::optional<int64_t> integer(const YAML::Node& node, const std::string& field, int64_t min,
                                 int64_t max);
  std::optional<bool> boolean(const YAML::Node& node, const std::string& field);
  std::optional<double> number(const YAML::Node& node, const std::string& field, double min,
                               double max);
  // A list of strings. nullopt when absent or wrong; a null node is an empty list.
  std::optional<std::vector<std::string>> strings(const YAML::Node& node, const std::string& field);

  // A resource of a kind read by its schema (core/schema.h): the node as JSON, each scalar typed
  // as its field expects, checked by schema::check (what the Admin API applies to its writes),
  // each finding reported at its field with the file's line, so the file and the API say the
  // same. nullopt when the node is not a map, or after a finding unless `partial` (a resource
  // kept as far as it reads, so what refers to it is not blamed too).
  std::optional<boost::json::object> by_schema(const YAML::Node& node, const std::string& field,
                                               const schema::Kind& kind, bool partial = false);

  // True for a node that is absent or explicitly null (`field:` or `field: ~`): optional
  // sections and maps accept both as "nothing".
  static bool empty(const YAML::Node& node) { return !node || node.IsNull(); }

  // Remembers where `field` is, for findings made after reading (cross-references).
  void mark(const std::string& field, const YAML::Node& node);
  // The place of `field`, or of its closest enclosing field that was read; null mark if none.
  YAML::Mark find_mark(std::string field) const;
  // Where the key naming `field` is (an unknown field is reported there, not at its value).
  void mark_key(const std::string& field, const YAML::Node& key) { key_marks_[field] = key.Mark(); }

  const std::string& source() const { return source_; }
  std::size_t error_count() const { return errors_.size(); }

  static std::string child(const std::string& parent, std::string_view name);  // "a" + "b" = "a.b"
  static std::string item(const std::string& parent, std::size_t index);       // "a" + 3 = "a[3]"

 private:
  std::string source_;
  std::vector<ConfigError>& errors_;
  std::unordered_map<std::string, YAML::Mark> marks_, key_marks_;
  // Items read by_schema, by field: the places of their fields are found by walking down.
  std::unordered_map<std::string, YAML::Node> items_;
  // The place of `field` inside an item of items_ (of the key naming it when `at_key`); null
  // when no item holds it (or, at_key, the path does not reach a key).
  YAML::Mark item_mark(const std::string& field, bool at_key) const;
  YAML::Mark key_mark(const std::string& field) const;
};

// Reading a document by_schema checked into the struct the gateway serves. A value of the wrong
// type (already reported by the check) leaves the field at its default, so a resource reads as
// far as it can.
namespace doc_fields {
inline const boost::json::object* object_at(const boost::json::object& o, std::string_view f) {
  const boost::json::value* v = o.if_contains(f);
  return v && v->is_object() ? &v->as_object() : nullptr;
}
inline void take(const boost::json::object& o, std::string_view f, std::string& into) {
  if (auto* v = o.if_contains(f); v && v->is_string()) into = std::string(v->as_string());
}
inline void take(const boost::json::object& o, std::string_view f, bool& into) {
  if (auto* v = o.if_contains(f); v && v->is_bool()) into = v->as_bool();
}
inline void take(const boost::json::object& o, std::string_view f, int64_t& into) {
  if (auto* v = o.if_contains(f); v && v->is_int64()) into = v->as_int64();
}
inline void take(const boost::json::object& o, std::string_view f, uint32_t& into) {
  constexpr int64_t kMax = std::numeric_limits<uint32_t>::max();
  if (auto* v = o.if_contains(f); v && v->is_int64() && v->as_int64() >= 0 && v->as_int64() <= kMax)
    into = static_cast<uint32_t>(v->as_int64());
}
inline void take(const boost::json::object& o, std::string_view f, std::optional<int64_t>& into) {
  if (auto* v = o.if_contains(f); v && v->is_int64()) into = v->as_int64();
}
inline void take(const boost::json::object& o, std::string_view f, std::optional<double>& into) {
  if (auto* v = o.if_contains(f); v && v->is_number()) into = v->to_number<double>();
}
inline void take(const boost::json::object& o, std::string_view f, std::chrono::milliseconds& into) {
  if (auto* v = o.if_contains(f); v && v->is_int64()) into = std::chrono::milliseconds(v->as_int64());
}
inline void take(const boost::json::object& o, std::string_view f, std::vector<std::string>& into) {
  auto* v = o.if_contains(f);
  if (!v || !v->is_array()) return;
  into.clear();
  for (const auto& x : v->as_array())
    if (x.is_string()) into.emplace_back(x.as_string());
}
inline void take(const boost::json::object& o, std::string_view f, std::map<std::string, std::string>& into) {
  if (auto* v = o.if_contains(f); v && v->is_object())
    for (const auto& [name, value] : v->as_object())
      if (value.is_string()) into[std::string(name)] = std::string(value.as_string());
}
inline void take(const boost::json::object& o, std::string_view f, double& into) {
  if (auto* v = o.if_contains(f); v && v->is_number()) into = v->to_number<double>();
}
inline void take(const boost::json::object& o, std::string_view f, std::optional<bool>& into) {
  if (auto* v = o.if_contains(f); v && v->is_bool()) into = v->as_bool();
}
}  // namespace doc_fields

// One resource as a document of its own (a store's row, an Admin API body: JSON, which is
// YAML), read by `read` (a section's item reader: (YamlReader&, node, field) -> optional<T>).
// Fields in errors are relative to the document. nullopt when it is not YAML, or (unless
// `partial`) not a map or read with a finding. A throw of yaml-cpp's becomes an error too.
template <class Read>
auto read_document(std::string_view doc, std::string_view source, std::vector<ConfigError>& errors, Read read,
                   bool partial = false) -> decltype(read(std::declval<YamlReader&>(), YAML::Node(), std::string())) {
  try {
    YamlReader in(std::string(source), errors);
    std::optional<YAML::Node> root = in.load(doc);
    if (!root) return std::nullopt;
    if (!partial && !root->IsMap()) {
      in.error(*root, "", "must be a map");
      return std::nullopt;
    }
    std::size_t before = in.error_count();
    auto item = read(in, *root, std::string());
    if (!partial && in.error_count() != before) return std::nullopt;
    return item;
  } catch (const std::exception& e) {
    errors.push_back({std::string(source), 0, 0, "", std::string("cannot read: ") + e.what()});
    return std::nullopt;
  }
}

}  // namespace tollgate::core
