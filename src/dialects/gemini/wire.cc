#include "core/numbers.h"
#include "dialects/gemini/wire.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>
#include <vector>

#include <boost/json/array.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

namespace tollgate::dialects::gemini::wire {
namespace json = boost::json;

std::string method_path(std::string_view model, std::string_view method) {
  std::string out = "/v1beta/";
  if (model.find('/') == std::string_view::npos) out += "models/";
  out.append(model).append(":").append(method);
  return out;
}

std::string model_resource(std::string_view model) {
  if (model.find('/') != std::string_view::npos) return std::string(model);
  return fmt::format("models/{}", model);
}

// ------------------------------------------------------------------------------- Schema subset

namespace {

constexpr int kMaxRefDepth = 8;
constexpr int kMaxDepth = 48;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_integer(const json::value& v) { return v.is_int64() || v.is_uint64(); }
bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

class SchemaReducer {
 public:
  explicit SchemaReducer(const json::value& root) : root_value_(&root), root_(root.if_object()) {}

  json::object reduce(const json::value& schema, int depth, int ref_depth) {
    if (depth > kMaxDepth || !schema.is_object()) return {};
    json::object src = flatten(schema.get_object(), ref_depth);
    return reduce_object(src, depth, ref_depth);
  }

 private:
  const json::value* root_value_;
  const json::object* root_;

  const json::value* resolve(std::string_view ref) const {
    if (!root_) return nullptr;
    for (std::string_view prefix : {"#/$defs/", "#/definitions/"}) {
      if (ref.starts_with(prefix)) {
        auto* defs = root_->if_contains(prefix.substr(2, prefix.size() - 3));
        if (!defs || !defs->is_object()) return nullptr;
        return defs->get_object().if_contains(ref.substr(prefix.size()));
      }
    }
    if (ref == "#") return root_value_;  // the root itself (a recursive schema)
    return nullptr;
  }

  // Inlines $ref and merges allOf into one plain object (not yet reduced).
  json::object flatten(const json::object& in, int& ref_depth) {
    json::object out = in;
    if (auto* ref = in.if_contains("$ref"); ref && ref->is_string()) {
      out.erase("$ref");
      const json::value* target = resolve(ref->get_string());
      if (target && target->is_object() && ref_depth < kMaxRefDepth) {
        ++ref_depth;
        json::object t = flatten(target->get_object(), ref_depth);
        // The referring schema's own keys (a description, say) win over the target's.
        for (auto& kv : t)
          if (!out.contains(kv.key())) out[kv.key()] = kv.value();
      }
    }
    if (auto* all = in.if_contains("allOf"); all && all->is_array()) {
      out.erase("allOf");
      for (const auto& sub : all->get_array()) {
        if (!sub.is_object()) continue;
        int d = ref_depth;
        json::object s = flatten(sub.get_object(), d);
        for (auto& kv : s) {
          if (kv.key() == "properties" && kv.value().is_object()) {
            auto& props = out["properties"];
            if (!props.is_object()) props = json::object();
            for (auto& p : kv.value().get_object()) props.as_object()[p.key()] = p.value();
          } else if (kv.key() == "required" && kv.value().is_array()) {
            auto& req = out["required"];
            if (!req.is_array()) req = json::array();
            for (auto& r : kv.value().get_array()) req.as_array().push_back(r);
          } else if (!out.contains(kv.key())) {
            out[kv.key()] = kv.value();
          }
        }
      }
    }
    return out;
  }

  json::object reduce_object(const json::object& s, int depth, int ref_depth) {
    json::object out;
    bool nullable = false;

    // type: a string, or a list with "null" (nullable) and one or more others.
    std::vector<std::string> types;
    if (auto* t = s.if_contains("type")) {
      if (t->is_string()) {
        types.push_back(upper(t->get_string()));
      } else if (t->is_array()) {
        for (const auto& e : t->get_array())
          if (e.is_string()) types.push_back(upper(e.get_string()));
      }
    }
    if (auto it = std::find(types.begin(), types.end(), "NULL"); it != types.end() && types.size() > 1) {
      nullable = true;
      types.erase(it);
    }

    // anyOf / oneOf: reduce the branches; {type:null} branches make the schema nullable.
    json::array any_of;
    for (const char* key : {"anyOf", "oneOf"}) {
      auto* a = s.if_contains(key);
      if (!a || !a->is_array()) continue;
      for (const auto& b : a->get_array()) {
        json::object r = reduce(b, depth + 1, ref_depth);
        // {type: null} reduces to a bare {nullable: true}.
        if (r.size() == 1 && r.contains("nullable")) {
          nullable = true;
          continue;
        }
        any_of.push_back(std::move(r));
      }
    }

    std::string type = types.size() == 1 ? types.front() : std::string();
    if (types.size() > 1) {
      for (const auto& t : types) any_of.push_back(json::object{{"type", t}});
    }

    // A single anyOf branch is just the schema.
    if (any_of.size() == 1 && type.empty()) {
      for (auto& kv : any_of.front().as_object()) out[kv.key()] = kv.value();
      any_of.clear();
      if (auto* t = out.if_contains("type"); t && t->is_string()) type = t->get_string().c_str();
    }

    if (!type.empty() && type != "NULL") out["type"] = type;
    else if (type == "NULL") out["nullable"] = true;  // a lone null type: nothing better to say

    for (const char* key : {"title", "description", "pattern"}) {
      if (auto* v = s.if_contains(key); v && v->is_string()) out[key] = *v;
    }

    if (auto* f = s.if_contains("format"); f && f->is_string()) {
      std::string_view fmt = f->get_string();
      bool ok = (type == "STRING" && (fmt == "enum" || fmt == "date-time")) ||
                (type == "NUMBER" && (fmt == "float" || fmt == "double")) ||
                (type == "INTEGER" && (fmt == "int32" || fmt == "int64"));
      if (ok) out["format"] = *f;
    }

    // enum: Gemini's are strings only; const is a one-value enum.
    json::array values;
    if (auto* e = s.if_contains("enum"); e && e->is_array()) values = e->get_array();
    else if (auto* c = s.if_contains("const")) values.push_back(*c);
    if (!values.empty()) {
      bool nulls = false;
      json::array strings;
      bool all_strings = true;
      for (const auto& v : values) {
        if (v.is_null()) nulls = true;
        else if (v.is_string()) strings.push_back(v);
        else all_strings = false;
      }
      if (all_strings && !strings.empty()) {
        out["enum"] = std::move(strings);
        if (type.empty()) out["type"] = "STRING";
        if (nulls) nullable = true;
      }
    }

    if (auto* n = s.if_contains("nullable"); n && n->is_bool() && n->get_bool()) nullable = true;
    if (nullable) out["nullable"] = true;

    std::set<std::string, std::less<>> names;
    if (auto* p = s.if_contains("properties"); p && p->is_object() && !p->get_object().empty()) {
      json::object props;
      for (const auto& kv : p->get_object()) {
        props[kv.key()] = reduce(kv.value(), depth + 1, ref_depth);
        names.emplace(kv.key());
      }
      out["properties"] = std::move(props);
      if (!out.contains("type") && any_of.empty()) out["type"] = "OBJECT";
    }
    if (auto* r = s.if_contains("required"); r && r->is_array() && !names.empty()) {
      json::array req;
      for (const auto& n : r->get_array())
        if (n.is_string() && names.count(std::string_view(n.get_string()))) req.push_back(n);
      if (!req.empty()) out["required"] = std::move(req);
    }
    if (auto* po = s.if_contains("propertyOrdering"); po && po->is_array()) out["propertyOrdering"] = *po;

    if (auto* items = s.if_contains("items"); items && items->is_object()) {
      out["items"] = reduce(*items, depth + 1, ref_depth);
    }

    for (const char* key : {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}) {
      if (auto* v = s.if_contains(key); v && is_integer(*v)) out[key] = *v;
    }
    for (const char* key : {"minimum", "maximum"}) {
      if (auto* v = s.if_contains(key); v && is_number(*v)) out[key] = *v;
    }
    if (auto* ex = s.if_contains("example")) out["example"] = *ex;

    if (!any_of.empty()) out["anyOf"] = std::move(any_of);
    return out;
  }
};

}  // namespace

json::object to_gemini_schema(const json::value& json_schema) {
  SchemaReducer r(json_schema);
  return r.reduce(json_schema, 0, 0);
}

// ------------------------------------------------------------------------------- finish reasons

std::string_view finish_reason(std::string_view g, bool has_tool_calls) {
  if (g == "MAX_TOKENS") return "length";
  if (g == "SAFETY" || g == "RECITATION" || g == "BLOCKLIST" || g == "PROHIBITED_CONTENT" ||
      g == "SPII" || g == "IMAGE_SAFETY" || g == "IMAGE_PROHIBITED_CONTENT" ||
      g == "IMAGE_RECITATION")
    return "content_filter";
  // STOP, and the reasons OpenAI has no word for (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL,
  // UNEXPECTED_TOOL_CALL, FINISH_REASON_UNSPECIFIED, ...): the answer simply ended.
  return has_tool_calls ? "tool_calls" : "stop";
}

// ------------------------------------------------------------------------------- usage

namespace {
int64_t int_field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return core::double_to_int64(v->get_double());
  return 0;
}
}  // namespace

void read_usage(const json::object& m, core::Usage& out) {
  out.known = true;
  out.input_tokens = int_field(m, "promptTokenCount") + int_field(m, "toolUsePromptTokenCount");
  out.reasoning_tokens = int_field(m, "thoughtsTokenCount");
  out.output_tokens = int_field(m, "candidatesTokenCount") + out.reasoning_tokens;
  out.cached_input_tokens = int_field(m, "cachedContentTokenCount");
  out.cache_creation_tokens = 0;
}

json::object openai_usage(const core::Usage& u) {
  json::object o;
  o["prompt_tokens"] = u.input_tokens;
  o["completion_tokens"] = u.output_tokens;
  o["total_tokens"] = u.input_tokens + u.output_tokens;
  o["prompt_tokens_details"] = json::object{{"cached_tokens", u.cached_input_tokens}};
  o["completion_tokens_details"] = json::object{{"reasoning_tokens", u.reasoning_tokens}};
  return o;
}

// ------------------------------------------------------------------------------- base64

std::string to_base64_floats(std::span<const float> values) {
  std::string bytes(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits = std::bit_cast<uint32_t>(values[i]);
    for (int b = 0; b < 4; ++b) bytes[i * 4 + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::string tool_call_id(std::string_view response_id, size_t n) {
  std::string out = "call_";
  for (char c : response_id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
      out.push_back(c);
  }
  if (out.size() > 5) out.push_back('_');
  out += std::to_string(n);
  return out;
}

}  // namespace tollgate::dialects::gemini::wire
