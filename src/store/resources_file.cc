#include "store/resources_file.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <set>

#include "core/env_interpolate.h"
#include "core/schema.h"
#include "store/secret_box.h"

namespace tollgate::store {
namespace {
namespace json = boost::json;
namespace schema = core::schema;

// A YAML node as JSON, typed as the resources file's reader types it (plain scalars: null, bool,
// integer, float, else string; quoted ones stay strings), but with `${ENV}` references left as
// written: they are stored as references and resolved by whoever loads the store.
json::value raw_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& entry : n) {
        const YAML::Node key = entry.first;
        o[key.IsScalar() ? key.Scalar() : "?"] = raw_json(entry.second);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& item : n) a.push_back(raw_json(item));
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = n.Scalar();
      if (n.Tag() != "!") {
        if (text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
        if (text == "true" || text == "True" || text == "TRUE") return true;
        if (text == "false" || text == "False" || text == "FALSE") return false;
        const char* end = text.data() + text.size();
        int64_t i = 0;
        if (auto [p, ec] = std::from_chars(text.data(), end, i); ec == std::errc() && p == end && !text.empty()) return i;
        double d = 0;
        if (auto [p, ec] = std::from_chars(text.data(), end, d); ec == std::errc() && p == end && !text.empty()) return d;
      }
      return json::value(text);
    }
    default: return nullptr;
  }
}

// Where `text` stops being UTF-8 (npos: it is): a resources file is text, and what it says is
// written back (export) exactly.
std::size_t invalid_utf8_at(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size()) return i;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
    for (std::size_t k = 1; k < n; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc >> 6) != 0x2) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and beyond U+10FFFF are not UTF-8 either.
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += n;
  }
  return std::string_view::npos;
}

// True when a string written plain would be read back as something else (a number, a bool).
bool needs_quotes(std::string_view s) {
  if (s.empty()) return true;
  YAML::Node n = YAML::Load(std::string(s));
  json::value v = n.IsScalar() ? raw_json(n) : json::value(nullptr);
  return !v.is_string() || v.get_string() != s;
}

void emit(YAML::Emitter& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      out << YAML::BeginMap;
      for (const auto& [k, x] : v.get_object()) {
        out << YAML::Key << std::string(k) << YAML::Value;
        emit(out, x);
      }
      out << YAML::EndMap;
      return;
    case json::kind::array:
      out << YAML::BeginSeq;
      for (const auto& x : v.get_array()) emit(out, x);
      out << YAML::EndSeq;
      return;
    case json::kind::string: {
      std::string s(v.get_string());
      bool quoted = false;
      try {
        quoted = needs_quotes(s);
      } catch (const YAML::Exception&) {
        quoted = true;
      }
      if (quoted) out << YAML::DoubleQuoted;
      out << s;
      return;
    }
    case json::kind::int64: out << v.get_int64(); return;
    case json::kind::uint64: out << v.get_uint64(); return;
    case json::kind::double_: out << v.get_double(); return;
    case json::kind::bool_: out << v.get_bool(); return;
    case json::kind::null: out << YAML::Null; return;
  }
}

// The text with the sections `drop` blanked out (kept as spaces, so every line and column the
// reader reports stays where it was). A flow-style document (JSON) is written out again.
std::string without_sections(std::string_view text, const YAML::Node& root, const std::set<std::string>& drop) {
  if (drop.empty()) return std::string(text);
  if (root.Style() == YAML::EmitterStyle::Flow) {
    json::object kept;
    for (const auto& entry : root)
      if (!drop.contains(entry.first.Scalar())) kept[entry.first.Scalar()] = raw_json(entry.second);
    // Strings as written: the reader resolves their references as it would have in the file.
    return json::serialize(kept);
  }
  std::string out(text);
  std::vector<std::pair<std::size_t, std::string>> starts;  // each top-level key, in order
  for (const auto& entry : root) starts.emplace_back(static_cast<std::size_t>(entry.first.Mark().pos), entry.first.Scalar());
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = 0; i < starts.size(); ++i) {
    if (!drop.contains(starts[i].second)) continue;
    std::size_t end = i + 1 < starts.size() ? starts[i + 1].first : out.size();
    for (std::size_t c = std::min(starts[i].first, out.size()); c < end && c < out.size(); ++c)
      if (out[c] != '\n') out[c] = ' ';
  }
  return out;
}

// A kind as the resources file writes it: its file-only fields (a hash) allowed.
schema::Kind as_in_file(schema::Kind k) {
  for (auto& f : k.fields) f.file_only = false;
  k.check_more = nullptr;
  return k;
}

}  // namespace

void each_secret(const std::vector<schema::Field>& fields, json::object& doc,
                 const std::function<void(json::value&)>& visit) {
  std::function<void(const schema::Field&, json::value&)> walk = [&](const schema::Field& f, json::value& v) {
    if (f.type == schema::Type::secret && v.is_string()) visit(v);
    else if (f.type == schema::Type::object && v.is_object()) each_secret(f.fields, v.as_object(), visit);
    else if (f.type == schema::Type::list && v.is_array() && !f.fields.empty())
      for (auto& item : v.as_array()) walk(f.fields[0], item);
    else if (f.type == schema::Type::map && v.is_object() && !f.fields.empty())
      for (auto& entry : v.as_object()) walk(f.fields[0], entry.value());
  };
  for (const auto& f : fields)
    if (json::value* v = doc.if_contains(f.name)) walk(f, *v);
}

bool read_into_snapshot(const std::string& kind) {
  // Asked of the reader itself, once per kind: a kind it learns to read is read from then on.
  static std::mutex mutex;
  static std::map<std::string, bool> known;
  std::lock_guard lock(mutex);
  auto [it, fresh] = known.emplace(kind, false);
  if (fresh) {
    const schema::Kind* k = schema::find_kind(kind);
    it->second = k && k->in_resources_file && core::parse_resources(kind + ": []\n", "probe").ok();
  }
  return it->second;
}

FileDocuments read_resources_file(std::string_view text, const std::string& source) {
  FileDocuments file;
  if (std::size_t bad = invalid_utf8_at(text); bad != std::string_view::npos) {
    std::string_view before = text.substr(0, bad);
    int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    std::size_t line_start = before.rfind('\n');
    int column = static_cast<int>(bad - (line_start == std::string_view::npos ? 0 : line_start + 1)) + 1;
    file.errors.push_back({source, line, column, "", "is not UTF-8 text (byte " + std::to_string(bad) + ")"});
    return file;
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception&) {
    file.errors = core::parse_resources(text, source).errors;  // says where, as `validate` does
    if (file.errors.empty()) file.errors.push_back({source, 0, 0, "", "is not YAML"});
    return file;
  }
  if (!root.IsMap()) {
    file.errors = core::parse_resources(text, source).errors;
    return file;
  }

  // The kinds the resources file's reader does not read (admin keys, which only a store keeps):
  // checked here by their schema; the others by that reader, which knows their references.
  std::set<std::string> store_only;
  for (const auto& entry : root) {
    const std::string section = entry.first.Scalar();
    const schema::Kind* k = schema::find_kind(section);
    if (!k || read_into_snapshot(section)) continue;
    store_only.insert(section);
    const schema::Kind kind = as_in_file(*k);
    auto error = [&](const YAML::Node& at, std::string field, std::string message) {
      YAML::Mark m = at.Mark();
      file.errors.push_back({source, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, std::move(field),
                             std::move(message)});
    };
    if (entry.second.IsNull()) continue;
    if (!entry.second.IsSequence()) {
      error(entry.second, section, "must be a list");
      continue;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < entry.second.size(); ++i) {
      const YAML::Node item = entry.second[i];
      const std::string at = section + "[" + std::to_string(i) + "]";
      json::value doc = raw_json(item);
      if (!doc.is_object()) {
        error(item, at, "must be a map");
        continue;
      }
      std::vector<core::ConfigError> found;
      schema::check(kind, doc.as_object(), found);
      for (auto& e : found) error(item, at + (e.field.empty() ? "" : "." + e.field), e.message);
      if (const json::value* n = doc.as_object().if_contains("name"); n && n->is_string())
        if (!names.insert(std::string(n->get_string())).second) error(item, at + ".name", "is declared twice");
    }
  }

  core::ParseResult parsed = core::parse_resources(without_sections(text, root, store_only), source);
  for (auto& e : parsed.errors) file.errors.push_back(std::move(e));
  if (!file.errors.empty()) return file;

  std::map<std::string, std::string> key_hashes;
  for (const core::Key& k : parsed.resources.keys) key_hashes[k.name] = k.hash_hex;
  for (const auto& entry : root) {
    const std::string section = entry.first.Scalar();
    auto& docs = file.documents[section];  // a section given, even empty: --prune looks at it
    if (!entry.second.IsSequence()) continue;
    for (const auto& item : entry.second) {
      json::value doc = raw_json(item);
      const json::value* name = doc.is_object() ? doc.as_object().if_contains("name") : nullptr;
      if (!name || !name->is_string()) continue;  // reported above
      if (section == "keys") {
        // Only the hash is kept: the secret, or the variable holding it, becomes its hash.
        std::string key(name->get_string());
        doc.as_object().erase("key");
        doc.as_object().erase("key_env");
        doc.as_object()["key_hash"] = key_hashes[key];
      }
      docs.push_back(std::move(doc.as_object()));
    }
  }
  return file;
}

std::string resources_yaml(const json::object& kinds) {
  YAML::Emitter out;
  out.SetDoublePrecision(17);  // every double reads back as itself
  // Non-ASCII as \u escapes: a character YAML would fold or trim (NEL, a line separator) reads
  // back as itself.
  out.SetOutputCharset(YAML::EscapeNonAscii);
  emit(out, kinds);
  return std::string(out.c_str()) + "\n";
}

core::ParseResult read_export(std::string_view text, const std::string& source, const OpenSealed& open) {
  core::ParseResult result;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    result.errors.push_back({source, e.mark.line + 1, e.mark.column + 1, "", e.msg});
    return result;
  }
  if (!root.IsMap()) {
    result.errors.push_back({source, 0, 0, "", "is not a map of resource kinds"});
    return result;
  }
  json::object doc;
  for (const auto& entry : root) {
    const schema::Kind* k = schema::find_kind(entry.first.Scalar());
    if (k && !read_into_snapshot(k->name)) continue;  // admin keys: the Admin API reads the store itself
    doc[entry.first.Scalar()] = raw_json(entry.second);
  }
  // Sealed values opened, with a literal "${" escaped: an opened secret is not a reference.
  std::function<void(json::value&, const std::string&)> unseal = [&](json::value& v, const std::string& at) {
    if (v.is_string() && SecretBox::is_sealed(v.get_string())) {
      std::optional<std::string> opened = open(v.get_string());
      if (!opened) {
        result.errors.push_back({source, 0, 0, at, "cannot be decrypted with this store's key (TOLLGATE_SECRET_KEY)"});
        return;
      }
      v = core::escape_references(*opened);
    } else if (v.is_array()) {
      for (std::size_t i = 0; i < v.get_array().size(); ++i) unseal(v.get_array()[i], at + "[" + std::to_string(i) + "]");
    } else if (v.is_object()) {
      for (auto& entry : v.get_object()) unseal(entry.value(), at.empty() ? std::string(entry.key()) : at + "." + std::string(entry.key()));
    }
  };
  json::value all = std::move(doc);
  unseal(all, "");
  if (!result.errors.empty()) return result;
  return core::parse_resources(json::serialize(all), source);
}

}  // namespace tollgate::store
