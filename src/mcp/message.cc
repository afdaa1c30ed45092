// Parsing and writing JSON-RPC messages (message.h). Bad input is answered, never thrown.
#include "mcp/message.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/beast/core/detail/base64.hpp>

namespace tollgate::mcp {
namespace json = boost::json;

json::object& Message::params() {
  auto& o = doc.as_object();
  auto* p = o.if_contains("params");
  if (!p || !p->is_object()) {
    o["params"] = json::object();
    p = o.if_contains("params");
  }
  return p->as_object();
}

const json::object* Message::params_if() const {
  if (!doc.is_object()) return nullptr;
  auto* p = doc.as_object().if_contains("params");
  return p && p->is_object() ? &p->as_object() : nullptr;
}

const json::value* Message::meta(std::string_view key) const {
  auto* p = params_if();
  if (!p) return nullptr;
  auto* m = p->if_contains("_meta");
  if (!m || !m->is_object()) return nullptr;
  return m->as_object().if_contains(key);
}

std::string_view Message::meta_string(std::string_view key) const {
  auto* v = meta(key);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view{};
}

std::string_view Message::subject() const {
  auto* p = params_if();
  if (!p) return {};
  for (const char* k : {"name", "uri"})
    if (auto* v = p->if_contains(k); v && v->is_string()) return v->as_string();
  return {};
}

bool has_subject(std::string_view method) {
  return method == "tools/call" || method == "resources/read" || method == "prompts/get";
}

std::optional<int> parse_message(std::string_view body, Message& out, std::string& error,
                                 const ParseLimits& limits) {
  if (body.size() > limits.max_bytes) {
    error = "message larger than " + std::to_string(limits.max_bytes) + " bytes";
    return code::invalid_request;
  }
  json::parse_options opt;
  opt.max_depth = limits.max_depth;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(body.data(), body.size()), ec, {}, opt);
  if (ec) {
    error = "Parse error: " + ec.message();
    return code::parse_error;
  }
  if (v.is_array()) {
    error = "JSON-RPC batches are not supported: send one message per request";
    return code::invalid_request;
  }
  if (!v.is_object()) {
    error = "a JSON-RPC message must be an object";
    return code::invalid_request;
  }
  auto& o = v.as_object();
  auto* jv = o.if_contains("jsonrpc");
  if (!jv || !jv->is_string() || jv->as_string() != "2.0") {
    error = "jsonrpc must be \"2.0\"";
    return code::invalid_request;
  }
  json::value id = nullptr;
  if (auto* i = o.if_contains("id")) {
    if (!i->is_string() && !i->is_int64() && !i->is_uint64() && !i->is_null()) {
      error = "id must be a string or an integer";
      return code::invalid_request;
    }
    id = *i;
  }
  auto* m = o.if_contains("method");
  if (m) {
    if (!m->is_string() || m->as_string().empty()) {
      error = "method must be a non-empty string";
      return code::invalid_request;
    }
    if (auto* p = o.if_contains("params"); p && !p->is_object()) {
      error = "params must be an object";
      return code::invalid_request;
    }
    out.method = std::string(m->as_string());
    out.kind = o.contains("id") ? Kind::request : Kind::notification;
  } else if (o.contains("result") || o.contains("error")) {
    out.kind = Kind::response;
  } else {
    error = "neither a request, a notification nor a response";
    return code::invalid_request;
  }
  out.id = std::move(id);
  out.doc = std::move(v);
  return std::nullopt;
}

std::optional<std::string> decode_header_value(std::string_view v) {
  namespace b64 = boost::beast::detail::base64;
  if (!v.starts_with("=?base64?")) return std::string(v);
  if (!v.ends_with("?=") || v.size() < 11) return std::nullopt;
  std::string_view enc = v.substr(9, v.size() - 11);
  // decoded_size() is n / 4 * 3, but Beast writes a trailing partial group too (unpadded input).
  std::string out((enc.size() + 3) / 4 * 3, '\0');
  auto [n, used] = b64::decode(out.data(), enc.data(), enc.size());
  // Beast's decoder stops at the padding: only '=' may be left over.
  if (enc.find_first_not_of('=', used) != std::string_view::npos) return std::nullopt;
  out.resize(n);
  return out;
}

std::string encode_header_value(std::string_view v) {
  namespace b64 = boost::beast::detail::base64;
  bool safe = !v.empty() && v.front() != ' ' && v.back() != ' ';
  for (unsigned char c : v)
    if (c < 0x20 || c > 0x7e) safe = false;
  if (safe && !v.starts_with("=?")) return std::string(v);
  std::string out(b64::encoded_size(v.size()), '\0');
  out.resize(b64::encode(out.data(), v.data(), v.size()));
  return "=?base64?" + out + "?=";
}

std::string error_body(const json::value& id, int c, std::string_view message, const json::value* data) {
  json::object err{{"code", c}, {"message", message}};
  if (data) err["data"] = *data;
  return json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}});
}

std::string result_body(const json::value& id, json::value result) {
  return json::serialize(json::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
}

}  // namespace tollgate::mcp
