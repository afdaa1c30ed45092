#include "dialects/anthropic/fast_path.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/json_scan.h"

namespace tollgate::dialects::anthropic {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

GatewayError invalid(std::string message, std::string param = {}) {
  return GatewayError::make(ErrorKind::invalid_request, std::move(message), "invalid_request",
                            std::move(param));
}

bool absent(const json::value* v) { return !v || v->is_null(); }

}  // namespace

std::optional<GatewayError> read_request(std::string_view body, Endpoint endpoint, json::value& doc,
                                         RequestFacts& facts) {
  json::parse_options opt;
  opt.max_depth = 64;
  boost::system::error_code ec;
  core::parse_request_document(body, doc, ec, opt);
  if (ec) return invalid(fmt::format("The request body is not valid JSON: {}.", ec.message()));
  auto* obj = doc.if_object();
  if (!obj) return invalid("The request body must be a JSON object.");

  auto* model = obj->if_contains("model");
  if (absent(model)) return invalid("model: Field required", "model");
  if (!model->is_string() || model->get_string().empty())
    return invalid("model: Input should be a valid string", "model");
  facts.model.assign(model->get_string().begin(), model->get_string().end());

  if (endpoint == Endpoint::messages) {
    auto* mt = obj->if_contains("max_tokens");
    if (absent(mt)) return invalid("max_tokens: Field required", "max_tokens");
    if (!mt->is_int64() && !mt->is_uint64())
      return invalid("max_tokens: Input should be a valid integer", "max_tokens");
    if (json_int(mt) < 1) return invalid("max_tokens: Input should be greater than or equal to 1", "max_tokens");
  }

  facts.stream = false;
  if (auto* s = obj->if_contains("stream"); !absent(s)) {
    if (!s->is_bool()) return invalid("stream: Input should be a valid boolean", "stream");
    facts.stream = s->get_bool();
  }
  if (endpoint == Endpoint::count_tokens && facts.stream)
    return invalid("stream: Extra inputs are not permitted", "stream");

  auto* m = obj->if_contains("messages");
  if (absent(m)) return invalid("messages: Field required", "messages");
  if (!m->is_array()) return invalid("messages: Input should be a valid list", "messages");
  if (m->get_array().empty()) return invalid("messages: at least one message is required", "messages");
  for (std::size_t i = 0; i < m->get_array().size(); ++i) {
    auto param = fmt::format("messages.{}", i);
    auto* msg = m->get_array()[i].if_object();
    if (!msg) return invalid(param + ": Input should be a valid dictionary", param);
    auto role = json_str(*msg, "role");
    // Claude Code sends system entries between turns (and last); Anthropic takes them.
    if (role != "user" && role != "assistant" && role != "system")
      return invalid(param + ".role: Input should be 'user', 'assistant' or 'system'", param + ".role");
    auto* c = msg->if_contains("content");
    if (absent(c)) return invalid(param + ".content: Field required", param + ".content");
    if (!c->is_string() && !c->is_array())
      return invalid(param + ".content: Input should be a valid string or list", param + ".content");
  }
  return std::nullopt;
}

std::string splice_request(std::string_view body, const json::value& doc, std::string_view upstream_model) {
  core::ScratchMembers scanned;
  auto& members = *scanned;
  if (core::scan_object_members(body, members)) {
    if (const auto* model = core::find_member(members, "model")) {
      std::string out;
      out.reserve(body.size() + upstream_model.size());
      out.append(body.substr(0, model->value_begin));
      out.append(core::json_quote(upstream_model));
      out.append(body.substr(model->value_end));
      return out;
    }
  }
  // The scanner could not place the edit (a key spelled with escapes, say): rewrite the
  // document. Correct, only slower; real SDKs never get here.
  json::value copy = doc;
  copy.as_object()["model"] = upstream_model;
  return json::serialize(copy);
}

void read_usage_from_body(std::string_view body, core::Usage& out) {
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec || !doc.is_object()) return;
  auto* u = doc.get_object().if_contains("usage");
  if (!u || !u->is_object()) return;
  WireUsage w;
  w.merge(*u);
  out = w.canonical();
}

void StreamTap::on_event(const http::SseEvent& ev) {
  if (!ev.has_data) return;
  std::string_view name = ev.event;
  if (name == "message_stop") saw_stop_ = true;
  if (name == "error") saw_error_ = true;
  // Deltas are most of the stream and carry no usage: keep them off the JSON parser.
  if (!name.empty() && name != "message_start" && name != "message_delta") return;
  if (std::string_view(ev.data).find("\"usage\"") == std::string_view::npos && !name.empty()) return;

  boost::system::error_code ec;
  auto doc = json::parse(ev.data, ec);
  if (ec || !doc.is_object()) return;
  const auto& o = doc.get_object();
  std::string_view type = json_str(o, "type");
  if (name.empty()) {  // a stream without `event:` lines: the data's type says it
    if (type == "message_stop") saw_stop_ = true;
    if (type == "error") saw_error_ = true;
  }
  const json::value* usage = nullptr;
  if (type == "message_start") {
    if (auto* m = o.if_contains("message"); m && m->is_object()) usage = m->get_object().if_contains("usage");
  } else if (type == "message_delta") {
    usage = o.if_contains("usage");
  }
  if (!usage) return;
  wire_.merge(*usage);
  usage_ = wire_.canonical();
}

std::string upstream_error_body(int status, std::string_view body, std::string_view media_type) {
  boost::system::error_code ec;
  json::value doc;
  if (media_type.find("json") != std::string_view::npos || (!body.empty() && body.front() == '{'))
    doc = json::parse(body, ec);
  else
    ec = json::error::syntax;

  std::string_view type = error_type_for_status(status);
  std::string message;
  if (!ec && doc.is_object()) {
    auto& o = doc.get_object();
    auto* e = o.if_contains("error");
    if (json_str(o, "type") == "error" && e && e->is_object() && e->get_object().contains("message"))
      return std::string(body);  // already Anthropic-shaped
    if (e && e->is_object()) message = json_str(e->get_object(), "message");  // OpenAI-shaped
    else if (e && e->is_string()) message = e->get_string();
    else if (auto d = json_str(o, "detail"); !d.empty()) message = d;
    else if (auto m = json_str(o, "message"); !m.empty()) message = m;
    if (message.empty()) message = json::serialize(doc).substr(0, 500);
    message = "Upstream error: " + message;
  } else {
    message = fmt::format("The provider answered HTTP {} with a non-JSON body ({}).", status,
                          media_type.empty() ? "no content type" : std::string(media_type));
  }
  json::object root{{"type", "error"}, {"error", json::object{{"type", type}, {"message", message}}}};
  return json::serialize(root);
}

}  // namespace tollgate::dialects::anthropic
