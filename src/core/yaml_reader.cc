#include "core/yaml_reader.h"

#include <fmt/format.h>

#include <boost/json.hpp>

#include <charconv>
#include <set>

#include "core/env_interpolate.h"

namespace tollgate::core {
namespace {

// yaml-cpp marks are 0-based; ConfigError is 1-based with 0 meaning "unknown".
void place(ConfigError& e, const YAML::Mark& m) {
  if (m.is_null() || m.line < 0) return;
  e.line = m.line + 1;
  e.column = m.column + 1;
}

std::string kind_of(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "null";
    default: return "a scalar";
  }
}

}  // namespace

std::optional<YAML::Node> YamlReader::load(std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    ConfigError err{source_, 0, 0, "", "YAML syntax error: " + e.msg};
    place(err, e.mark);
    errors_.push_back(std::move(err));
    return std::nullopt;
  }
}

void YamlReader::error(const YAML::Node& at, const std::string& field, std::string message) {
  error(at ? at.Mark() : find_mark(field), field, std::move(message));
}

void YamlReader::error(const YAML::Mark& at, const std::string& field, std::string message) {
  ConfigError err{source_, 0, 0, field, std::move(message)};
  place(err, at);
  errors_.push_back(std::move(err));
}

bool YamlReader::fields(const YAML::Node& node, const std::string& field,
                        std::initializer_list<std::string_view> known) {
  mark(field, node);
  if (!node.IsMap()) {
    error(node, field, "must be a map, not " + kind_of(node));
    return false;
  }
  std::set<std::string> seen;
  // By value: yaml-cpp's iterator hands out a temporary pair.
  for (const auto& entry : node) {
    const YAML::Node key = entry.first;
    if (!key.IsScalar()) {
      error(key, field, "has a key that is not a plain name");
      continue;
    }
    const std::string& name = key.Scalar();
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || k == name;
    if (!is_known) {
      std::string expected;
      for (std::string_view k : known) expected += (expected.empty() ? "" : ", ") + std::string(k);
      error(key, child(field, name), "unknown field (expected one of: " + expected + ")");
    } else if (!seen.insert(name).second) {
      error(key, child(field, name), "is given twice");
    }
  }
  return true;
}

std::optional<std::string> YamlReader::string(const YAML::Node& node, const std::string& field) {
  if (!node) return std::nullopt;
  mark(field, node);
  if (!node.IsScalar()) {
    error(node, field, "must be a string, not " + kind_of(node));
    return std::nullopt;
  }
  Interpolated v = interpolate_env(node.Scalar());
  if (!v.ok()) {
    error(node, field, v.error);
    return std::nullopt;
  }
  return std::move(v.value);
}

std::optional<int64_t> YamlReader::integer(const YAML::Node& node, const std::string& field,
                                           int64_t min, int64_t max) {
  std::optional<std::string> text = string(node, field);
  if (!text) return std::nullopt;
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec == std::errc::invalid_argument || ptr != end) {
    error(node, field, "must be a whole number, not \"" + *text + "\"");
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    error(node, field,
          "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " +
              *text);
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlReader::number(const YAML::Node& node, const std::string& field,
                                         double min, double max) {
  std::optional<std::string> text = string(node, field);
  if (!text) return std::nullopt;
  double value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || !(value >= min && value <= max)) {
    error(node, field, "must be a number between " + fmt::format("{}", min) + " and " +
                           fmt::format("{}", max) + ", not \"" + *text + "\"");
    return std::nullopt;
  }
  return value;
}

std::optional<bool> YamlReader::boolean(const YAML::Node& node, const std::string& field) {
  std::optional<std::string> text = string(node, field);
  if (!text) return std::nullopt;
  // The YAML 1.1 spellings yaml-cpp accepts too, so `verify_tls: no` means what it says.
  static const std::set<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
  static const std::set<std::string> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
  if (yes.contains(*text)) return true;
  if (no.contains(*text)) return false;
  error(node, field, "must be true or false, not \"" + *text + "\"");
  return std::nullopt;
}

std::optional<std::vector<std::string>> YamlReader::strings(const YAML::Node& node,
                                                            const std::string& field) {
  if (!node) return std::nullopt;
  mark(field, node);
  if (node.IsNull()) return std::vector<std::string>{};
  if (!node.IsSequence()) {
    error(node, field, "must be a list, not " + kind_of(node));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (std::size_t i = 0; i < node.size(); ++i) {
    std::optional<std::string> s = string(node[i], item(field, i));
    if (s) out.push_back(std::move(*s));
    ok = ok && s.has_value();
  }
  if (!ok) return std::nullopt;
  return out;
}

void YamlReader::mark(const std::string& field, const YAML::Node& node) {
  if (node) marks_[field] = node.Mark();
}

namespace {

// The child of `n` that `path` (".name..." or "[i]...", as child() and item() write them) starts
// with, and what is left of the path after it; a null node when there is none. A map key may hold
// dots itself (a model alias "gpt-4.1"): the longest key that fits wins, the last of equal ones
// (as a mark per field had it).
YAML::Node step(const YAML::Node& n, std::string_view& path, YAML::Node* key_out = nullptr) {
  if (path.starts_with("[")) {
    std::size_t close = path.find(']');
    std::size_t index = 0;
    if (close == std::string_view::npos || !n.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
    auto [p, ec] = std::from_chars(path.data() + 1, path.data() + close, index);
    if (ec != std::errc() || p != path.data() + close || index >= n.size()) return YAML::Node(YAML::NodeType::Undefined);
    path.remove_prefix(close + 1);
    if (key_out) *key_out = YAML::Node(YAML::NodeType::Undefined);  // an item has no key
    return n[index];
  }
  if (!path.starts_with(".") || !n.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  std::string_view rest = path.substr(1);
  YAML::Node found(YAML::NodeType::Undefined), found_key(YAML::NodeType::Undefined);
  std::size_t best = 0;
  for (const auto& entry : n) {
    const YAML::Node key = entry.first;
    std::string_view name = key.IsScalar() ? std::string_view(key.Scalar()) : std::string_view("?");
    bool fits = rest.starts_with(name) && (rest.size() == name.size() || rest[name.size()] == '.' || rest[name.size()] == '[');
    if (fits && name.size() + 1 >= best) {
      best = name.size() + 1;
      found = entry.second;
      found_key = key;
    }
  }
  if (!found.IsDefined()) return found;
  path.remove_prefix(best);
  if (key_out) *key_out = found_key;
  return found;
}

}  // namespace

YAML::Mark YamlReader::item_mark(const std::string& field, bool at_key) const {
  for (std::size_t cut = field.size();;) {
    std::string_view prefix = std::string_view(field).substr(0, cut);
    if (auto it = items_.find(std::string(prefix)); it != items_.end()) {
      std::string_view rest = std::string_view(field).substr(cut);
      YAML::Node n = it->second, key(YAML::NodeType::Undefined);
      while (!rest.empty()) {
        YAML::Node next = step(n, rest, &key);
        if (!next.IsDefined()) break;
        n = next;
      }
      if (at_key) return rest.empty() && key.IsDefined() ? key.Mark() : YAML::Mark::null_mark();
      return n.Mark();
    }
    cut = prefix.find_last_of(".[");
    if (cut == std::string_view::npos) return YAML::Mark::null_mark();
  }
}

YAML::Mark YamlReader::key_mark(const std::string& field) const {
  if (auto it = key_marks_.find(field); it != key_marks_.end()) return it->second;
  return item_mark(field, true);
}

YAML::Mark YamlReader::find_mark(std::string field) const {
  const std::string whole = field;
  while (true) {
    if (auto it = marks_.find(field); it != marks_.end()) return it->second;
    if (items_.contains(field)) return item_mark(whole, false);
    std::size_t cut = field.find_last_of(".[");
    if (cut == std::string::npos) {
      if (auto root = marks_.find(""); root != marks_.end()) return root->second;
      return YAML::Mark::null_mark();
    }
    field.resize(cut);
  }
}

namespace {

// A YAML node as JSON, remembering the place of every node. A scalar is typed as the schema's
// field for it expects, so `api_version: 2024` is a string and `weight: "2"` a number, as a
// hand-written reader would take them (what does not read as the type stays a string, for
// check() to name); where no field is known, as YAML's core schema types plain scalars. `~`,
// `null` and an empty value are null. Strings are ${ENV}-interpolated like every other
// string of the file, before they are typed.
// `fields` stands for f->fields where the caller has them without a Field (a kind's own list:
// by_schema reads each item of a file with it, and a copy per item was most of its cost).
boost::json::value to_json(YamlReader& in, const YAML::Node& n, const std::string& at, const schema::Field* f,
                           const std::vector<schema::Field>* fields = nullptr) {
  using schema::Type;
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      boost::json::object o;
      for (const auto& entry : n) {
        const YAML::Node key = entry.first;  // by value: the iterator's pair is a temporary
        std::string name = key.IsScalar() ? key.Scalar() : "?";
        if (o.contains(name)) in.error(key, YamlReader::child(at, name), "is given twice");
        const schema::Field* sub = nullptr;
        if (fields) {
          for (const schema::Field& x : *fields) sub = x.name == name ? &x : sub;
        } else if (f && f->type == Type::map) {
          sub = &f->fields[0];
        } else if (f && f->type == Type::object) {
          for (const schema::Field& x : f->fields) sub = x.name == name ? &x : sub;
        }
        o[name] = to_json(in, entry.second, YamlReader::child(at, name), sub);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      boost::json::array a;
      const schema::Field* item = f && f->type == Type::list ? &f->fields[0] : nullptr;
      for (std::size_t i = 0; i < n.size(); ++i) a.push_back(to_json(in, n[i], YamlReader::item(at, i), item));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& raw = n.Scalar();
      bool plain = n.Tag() != "!";  // not quoted
      if (plain && (raw == "~" || raw == "null" || raw == "Null" || raw == "NULL")) return nullptr;
      Interpolated interpolated = interpolate_env(raw);
      if (!interpolated.ok()) {
        in.error(n, at, interpolated.error);
        return nullptr;
      }
      const std::string& text = interpolated.value;
      const char* end = text.data() + text.size();
      auto whole = [&]() -> std::optional<int64_t> {
        int64_t i = 0;
        auto [p, ec] = std::from_chars(text.data(), end, i);
        if (ec == std::errc() && p == end && !text.empty()) return i;
        return std::nullopt;
      };
      auto real = [&]() -> std::optional<double> {
        double d = 0;
        auto [p, ec] = std::from_chars(text.data(), end, d);
        if (ec == std::errc() && p == end && !text.empty()) return d;
        return std::nullopt;
      };
      // The YAML 1.1 spellings yaml-cpp accepts too, so `verify_tls: no` means what it says.
      static const std::set<std::string> yes{"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
      static const std::set<std::string> no{"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
      Type type = f && !fields ? f->type : Type::object;  // object: no scalar expected, typed as YAML does
      switch (type) {
        case Type::string:
        case Type::reference:
        case Type::secret:
        case Type::enumeration: return boost::json::value(text);
        case Type::integer:
        case Type::number:
          if (auto i = whole()) return *i;
          if (auto d = real()) return *d;
          return boost::json::value(text);
        case Type::boolean:
          if (yes.contains(text)) return true;
          if (no.contains(text)) return false;
          return boost::json::value(text);
        default:
          if (!plain) return boost::json::value(text);
          if (text == "true" || text == "True" || text == "TRUE") return true;
          if (text == "false" || text == "False" || text == "FALSE") return false;
          if (auto i = whole()) return *i;
          if (auto d = real()) return *d;
          return boost::json::value(text);
      }
    }
    default: return nullptr;  // an empty value
  }
}

}  // namespace

std::optional<boost::json::object> YamlReader::by_schema(const YAML::Node& node, const std::string& field,
                                                         const schema::Kind& kind, bool partial) {
  std::size_t before = error_count();
  // The item's node stands for the places of all its fields (find_mark walks down from it):
  // a mark per field of every item cost more than reading the item.
  if (node) items_[field] = node;
  boost::json::value v = to_json(*this, node, field, nullptr, &kind.fields);
  if (!v.is_object()) {
    error(node, field, "must be a map, not " + kind_of(node));
    return std::nullopt;
  }
  std::vector<ConfigError> found;
  schema::check(kind, v.as_object(), found, true);
  for (auto& e : found) {
    std::string at = e.field.empty() ? field : child(field, e.field);
    YAML::Mark key = e.message.starts_with("unknown field") ? key_mark(at) : YAML::Mark::null_mark();
    error(!key.is_null() ? key : find_mark(at), at, std::move(e.message));
  }
  if (!partial && error_count() != before) return std::nullopt;
  return std::move(v.as_object());
}

std::string YamlReader::child(const std::string& parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  return parent + "." + std::string(name);
}

std::string YamlReader::item(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

}  // namespace tollgate::core
