#include "core/schema.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fmt/format.h>

#include <re2/re2.h>

#include <cmath>
#include <functional>

#include "core/kinds/kinds.h"

namespace tollgate::core::schema {
namespace json = boost::json;

namespace {

Field make(std::string name, Type type) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  return f;
}

json::value type_of(std::string_view t, bool nullable) {
  if (!nullable) return json::value(t);
  return json::array{json::value(t), json::value("null")};
}

// Walks the objects of a field tree, calling `visit` on each named one.
template <class F>
void each_component(const Field& f, F&& visit) {
  if (f.type == Type::object && !f.component.empty()) visit(f);
  for (const Field& sub : f.fields) each_component(sub, visit);
}

}  // namespace

Field str(std::string name) { return make(std::move(name), Type::string); }
Field integer(std::string name, double min, double max) { return make(std::move(name), Type::integer).range(min, max); }
Field number(std::string name, double min, double max) { return make(std::move(name), Type::number).range(min, max); }
Field boolean(std::string name) { return make(std::move(name), Type::boolean); }
Field one_of(std::string name, std::vector<std::string> values) {
  Field f = make(std::move(name), Type::enumeration);
  f.values = std::move(values);
  return f;
}
Field list(std::string name, Field item) {
  Field f = make(std::move(name), Type::list);
  f.fields.push_back(std::move(item));
  return f;
}
Field map(std::string name, Field value) {
  Field f = make(std::move(name), Type::map);
  f.fields.push_back(std::move(value));
  return f;
}
Field object(std::string name, std::vector<Field> fields) {
  Field f = make(std::move(name), Type::object);
  f.fields = std::move(fields);
  return f;
}
Field ref(std::string name, std::string kind) {
  Field f = make(std::move(name), Type::reference);
  f.kind = std::move(kind);
  return f;
}
Field secret(std::string name) { return make(std::move(name), Type::secret); }

namespace {
std::vector<Kind>& registry() {
  static std::vector<Kind> all{provider_kind(), guardrail_kind(), model_kind(),
                               team_kind(),  // teams (issue 16)
                               key_kind(), admin_key_kind(), cache_policy_kind(),
                               mcp_server_kind()};  // MCP servers (issue 14)
  return all;
}
}  // namespace

const std::vector<Kind>& kinds() { return registry(); }

void register_kind(Kind k) {
  for (Kind& existing : registry())
    if (existing.name == k.name) {
      existing = std::move(k);
      return;
    }
  registry().push_back(std::move(k));
}

const Kind* find_kind(std::string_view name) {
  for (const Kind& k : kinds())
    if (k.name == name) return &k;
  return nullptr;
}

namespace {

json::object object_schema(const std::vector<Field>& fields, const std::vector<Field>& returned, bool write,
                           std::string_view ref_prefix) {
  json::object props;
  json::array required;
  for (const Field& f : fields) {
    if (f.file_only || (!write && f.type == Type::secret)) continue;
    props[f.name] = json_schema(f, write, ref_prefix);
    // Required in a body; an answer always names the resource but may leave defaults out.
    if (f.required && (write || f.name == "name")) required.emplace_back(f.name);
  }
  if (!write)
    for (const Field& f : returned) {
      json::object s = json_schema(f, false, ref_prefix);
      s["readOnly"] = true;
      props[f.name] = std::move(s);
    }
  json::object o{{"type", "object"}, {"properties", std::move(props)}};
  if (!required.empty()) o["required"] = std::move(required);
  if (write) o["additionalProperties"] = false;  // an unknown field is an error, as in YAML
  return o;
}

}  // namespace

json::object json_schema(const Field& f, bool write, std::string_view ref_prefix) {
  json::object s;
  switch (f.type) {
    case Type::string:
    case Type::reference:
    case Type::secret:
      s["type"] = type_of("string", f.nullable);
      if (!f.pattern.empty()) s["pattern"] = f.pattern;
      if (f.type == Type::reference) s["x-reference"] = f.kind;  // the kind whose name this is
      if (f.allowlist) s["x-allowlist"] = true;  // a model, "PROVIDER/*" or "*"
      if (f.type == Type::secret) s["writeOnly"] = true;
      break;
    case Type::integer:
    case Type::number:
      s["type"] = type_of(f.type == Type::integer ? "integer" : "number", f.nullable);
      if (f.min) s["minimum"] = *f.min;
      if (f.max && *f.max < 9e15) s["maximum"] = *f.max;  // beyond: int64's own bound
      break;
    case Type::boolean: s["type"] = type_of("boolean", f.nullable); break;
    case Type::enumeration: {
      s["type"] = type_of("string", f.nullable);
      json::array values(f.values.begin(), f.values.end());
      if (f.nullable) values.emplace_back(nullptr);
      s["enum"] = std::move(values);
      break;
    }
    case Type::list:
      s["type"] = type_of("array", f.nullable);
      s["items"] = json_schema(f.fields.at(0), write, ref_prefix);
      break;
    case Type::map:
      s["type"] = type_of("object", f.nullable);
      s["additionalProperties"] = json_schema(f.fields.at(0), write, ref_prefix);
      break;
    case Type::object:
      if (!f.component.empty() && !ref_prefix.empty()) {
        s["$ref"] = std::string(ref_prefix) + f.component;
      } else {
        s = object_schema(f.fields, {}, write, ref_prefix);
        if (f.nullable) s["type"] = type_of("object", true);
      }
      break;
  }
  if (!f.description.empty() && !s.contains("$ref")) s["description"] = f.description;
  if (!f.when_field.empty()) s["x-only-if"] = json::object{{f.when_field, f.when_value}};
  if (!f.default_json.empty()) s["default"] = json::parse(f.default_json);
  return s;
}

json::object json_schema(const Kind& k, bool write, std::string_view ref_prefix) {
  json::object s = object_schema(k.fields, k.returned, write, ref_prefix);
  s["description"] = k.description;
  return s;
}

json::object components(std::string_view ref_prefix) {
  json::object out;
  for (const Kind& k : kinds())
    for (const Field& f : k.fields)
      each_component(f, [&](const Field& c) {
        if (out.contains(c.component)) return;
        Field whole = c;
        whole.component.clear();  // the component itself, not a $ref to it
        out[c.component] = json_schema(whole, true, ref_prefix);
      });
  return out;
}

namespace {

// What a wrong value is, for a message. A string is quoted only when short: a long one is
// often a credential written in the wrong place, and messages reach logs.
std::string kind_of(const json::value& v) {
  if (v.is_object()) return "a map";
  if (v.is_array()) return "a list";
  if (v.is_null()) return "null";
  if (v.is_string() && v.as_string().size() > 24) return "a string";
  return json::serialize(v);
}

void check_fields(const std::vector<Field>& fields, const json::object& doc, const std::string& at,
                  std::vector<ConfigError>& errors, bool in_file = false);

void check_value(const Field& f, const json::value& v, const std::string& at, std::vector<ConfigError>& errors) {
  auto bad = [&](std::string message) { errors.push_back({"", 0, 0, at, std::move(message)}); };
  if (v.is_null()) {
    if (!f.nullable) bad("must not be null");
    return;
  }
  switch (f.type) {
    case Type::string:
    case Type::reference:
    case Type::secret:
      if (!v.is_string()) return bad("must be a string, not " + kind_of(v));
      // RE2: linear in the input whatever its length (std::regex recurses per character).
      if (!f.pattern.empty() && !RE2::FullMatch(std::string_view(v.as_string()), RE2(f.pattern)))
        bad((v.as_string().size() <= 24 ? "\"" + std::string(v.as_string()) + "\" " : std::string()) +
            "does not match " + f.pattern);
      return;
    case Type::enumeration: {
      std::string all;
      for (const auto& x : f.values) all += (all.empty() ? "" : ", ") + x;
      if (!v.is_string() || std::find(f.values.begin(), f.values.end(), v.as_string()) == f.values.end())
        bad("must be one of: " + all + ", not " + kind_of(v));
      return;
    }
    case Type::integer:
    case Type::number: {
      // 1e300 is whole too; no cast to an integer type (out of its range that is undefined).
      bool whole = v.is_int64() || v.is_uint64() || (v.is_double() && std::trunc(v.as_double()) == v.as_double());
      if (!v.is_number() || (f.type == Type::integer && !whole))
        return bad(std::string("must be ") + (f.type == Type::integer ? "a whole number" : "a number") + ", not " + kind_of(v));
      double x = v.to_number<double>();
      if ((f.min && x < *f.min) || (f.max && x > *f.max))
        bad(fmt::format("must be between {} and {}, not {}", f.min.value_or(0), f.max.value_or(0), kind_of(v)));
      return;
    }
    case Type::boolean:
      if (!v.is_bool()) bad("must be true or false, not " + kind_of(v));
      return;
    case Type::list:
      if (!v.is_array()) return bad("must be a list, not " + kind_of(v));
      for (std::size_t i = 0; i < v.as_array().size(); ++i)
        check_value(f.fields[0], v.as_array()[i], at + "[" + std::to_string(i) + "]", errors);
      return;
    case Type::map:
      if (!v.is_object()) return bad("must be a map, not " + kind_of(v));
      for (const auto& [key, item] : v.as_object()) check_value(f.fields[0], item, at + "." + std::string(key), errors);
      return;
    case Type::object:
      if (!v.is_object()) return bad("must be a map, not " + kind_of(v));
      check_fields(f.fields, v.as_object(), at, errors);
      return;
  }
}

void check_fields(const std::vector<Field>& fields, const json::object& doc, const std::string& at,
                  std::vector<ConfigError>& errors, bool in_file) {
  auto place = [&](std::string_view name) { return at.empty() ? std::string(name) : at + "." + std::string(name); };
  auto here = [&](const Field& f) { return in_file || !f.file_only; };
  std::string known;
  for (const Field& f : fields)
    if (here(f)) known += (known.empty() ? "" : ", ") + f.name;
  for (const auto& entry : doc) {
    std::string_view name = entry.key();
    auto it = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.name == name && here(f); });
    if (it == fields.end()) errors.push_back({"", 0, 0, place(name), "unknown field (expected one of: " + known + ")"});
    else check_value(*it, entry.value(), place(name), errors);
  }
  for (const Field& f : fields)
    if (f.required && here(f) && !doc.contains(f.name)) errors.push_back({"", 0, 0, place(f.name), "is required"});
}

}  // namespace

void references(const std::vector<Field>& fields, const json::object& doc, const std::string& at,
                const std::function<void(const Field&, std::string_view name, const std::string& at)>& visit) {
  std::function<void(const Field&, const json::value&, const std::string&)> walk =
      [&](const Field& f, const json::value& v, const std::string& here) {
        if (f.type == Type::reference && v.is_string()) visit(f, v.as_string(), here);
        else if (f.allowlist && v.is_string()) {
          // Marked allowlist, so a visitor can tell them from a plain reference.
          static const Field model = ref("model", "models").model_allowlist(),
                             provider = ref("provider", "providers").model_allowlist();
          std::string_view name = v.as_string();
          if (name == "*") return;
          if (name.ends_with("/*")) visit(provider, name.substr(0, name.size() - 2), here);
          else visit(model, name, here);
        }
        else if (f.type == Type::list && v.is_array())
          for (std::size_t i = 0; i < v.as_array().size(); ++i)
            walk(f.fields[0], v.as_array()[i], here + "[" + std::to_string(i) + "]");
        else if (f.type == Type::map && v.is_object())
          for (const auto& entry : v.as_object()) walk(f.fields[0], entry.value(), here + "." + std::string(entry.key()));
        else if (f.type == Type::object && v.is_object())
          references(f.fields, v.as_object(), here, visit);
      };
  for (const Field& f : fields)
    if (const json::value* v = doc.if_contains(f.name)) walk(f, *v, at.empty() ? f.name : at + "." + f.name);
}

void check(const Kind& k, const json::object& doc, std::vector<ConfigError>& errors, bool in_file) {
  std::size_t before = errors.size();
  check_fields(k.fields, doc, "", errors, in_file);
  if (k.check_more && errors.size() == before) k.check_more(doc, errors);
}

json::object document() {
  constexpr std::string_view kPrefix = "#/components/";
  json::array list;
  for (const Kind& k : kinds()) {
    json::object o{{"name", k.name},
                   {"singular", k.singular},
                   {"component", k.component},
                   {"description", k.description},
                   {"generic_routes", k.generic_routes},
                   {"in_resources_file", k.in_resources_file},
                   {"path", "/admin/v1/" + k.name},
                   {"write", json_schema(k, true, kPrefix)},
                   {"read", json_schema(k, false, kPrefix)},
                   {"example", json::parse(k.example)}};
    list.push_back(std::move(o));
  }
  return json::object{{"kinds", std::move(list)}, {"components", components(kPrefix)}};
}

}  // namespace tollgate::core::schema
