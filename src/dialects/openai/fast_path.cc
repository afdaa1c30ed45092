#include "core/numbers.h"
#include "dialects/openai/fast_path.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "core/json_scan.h"

namespace tollgate::dialects::openai {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

GatewayError invalid(std::string message, std::string param = {}) {
  return GatewayError::make(ErrorKind::invalid_request, std::move(message), "invalid_request",
                            std::move(param));
}

struct Edit {
  size_t begin, end;  // byte range replaced
  std::string text;
};

std::string apply_edits(std::string_view body, std::vector<Edit>& edits) {
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(body.size() + 64);
  size_t pos = 0;
  for (const auto& e : edits) {
    out.append(body.substr(pos, e.begin - pos));
    out.append(e.text);
    pos = e.end;
  }
  out.append(body.substr(pos));
  return out;
}

int64_t int_field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return core::double_to_int64(v->get_double());
  return 0;
}

}  // namespace

std::optional<GatewayError> read_request(std::string_view body, Endpoint endpoint,
                                         json::value& doc, RequestFacts& facts) {
  json::parse_options opt;
  opt.max_depth = 64;
  boost::system::error_code ec;
  core::parse_request_document(body, doc, ec, opt);
  if (ec) {
    return invalid(fmt::format("We could not parse the JSON body of your request: {}. The body "
                               "must be a JSON object.",
                               ec.message()));
  }
  auto* obj = doc.if_object();
  if (!obj) return invalid("The request body must be a JSON object.");

  auto* model = obj->if_contains("model");
  if (!model || model->is_null()) return invalid("You must provide a model parameter.", "model");
  if (!model->is_string() || model->get_string().empty())
    return invalid("'model' must be a non-empty string.", "model");
  facts.model.assign(model->get_string().begin(), model->get_string().end());

  if (auto* s = obj->if_contains("stream"); s && !s->is_null()) {
    if (!s->is_bool()) return invalid("'stream' must be a boolean.", "stream");
    facts.stream = s->get_bool();
  }
  if (auto* so = obj->if_contains("stream_options"); so && !so->is_null()) {
    if (!so->is_object()) return invalid("'stream_options' must be an object.", "stream_options");
    if (auto* iu = so->get_object().if_contains("include_usage"); iu && !iu->is_null()) {
      if (!iu->is_bool())
        return invalid("'stream_options.include_usage' must be a boolean.",
                       "stream_options.include_usage");
      facts.caller_wants_usage = iu->get_bool();
    }
  }

  switch (endpoint) {
    case Endpoint::chat_completions: {
      auto* m = obj->if_contains("messages");
      if (!m) return invalid("Missing required parameter: 'messages'.", "messages");
      if (!m->is_array()) return invalid("'messages' must be an array.", "messages");
      if (m->get_array().empty())
        return invalid("'messages' must contain at least one message.", "messages");
      for (std::size_t i = 0; i < m->get_array().size(); ++i) {
        const auto& msg = m->get_array()[i];
        const json::value* role = msg.is_object() ? msg.get_object().if_contains("role") : nullptr;
        if (role && role->is_string()) continue;
        // The parameter's name only for an error (it was ~450 instructions a message, issue 18).
        auto param = fmt::format("messages[{}]", i);
        if (!msg.is_object()) return invalid(fmt::format("'{}' must be an object.", param), param);
        return invalid(fmt::format("Missing required parameter: '{}.role'.", param), param + ".role");
      }
      break;
    }
    case Endpoint::completions:
      if (!obj->if_contains("prompt")) return invalid("Missing required parameter: 'prompt'.", "prompt");
      break;
    case Endpoint::embeddings:
      if (!obj->if_contains("input")) return invalid("Missing required parameter: 'input'.", "input");
      if (facts.stream) return invalid("Embeddings cannot be streamed.", "stream");
      break;
    case Endpoint::responses:
      if (!obj->if_contains("input") && !obj->if_contains("previous_response_id") && !obj->if_contains("prompt"))
        return invalid("Missing required parameter: 'input'.", "input");
      break;
  }
  return std::nullopt;
}

std::string splice_request(std::string_view body, const json::value& doc,
                           std::string_view upstream_model, bool ask_for_usage) {
  core::ScratchMembers scanned;
  auto& members = *scanned;
  const core::JsonMember* model = nullptr;
  if (core::scan_object_members(body, members)) model = core::find_member(members, "model");

  if (model) {
    std::vector<Edit> edits;
    edits.reserve(2);
    edits.push_back({model->value_begin, model->value_end, core::json_quote(upstream_model)});
    bool ok = true;
    if (ask_for_usage) {
      const auto* so = core::find_member(members, "stream_options");
      std::string_view so_val =
          so ? body.substr(so->value_begin, so->value_end - so->value_begin) : std::string_view{};
      core::ScratchMembers scanned_inner;
      auto& inner = *scanned_inner;
      if (!so || so_val == "null") {
        if (so) {
          edits.push_back({so->value_begin, so->value_end, R"({"include_usage":true})"});
        } else {
          // Insert right after the model value: `"model":"x","stream_options":{...}`.
          edits.push_back({model->value_end, model->value_end,
                           R"(,"stream_options":{"include_usage":true})"});
        }
      } else if (core::scan_object_members(so_val, inner)) {
        if (const auto* iu = core::find_member(inner, "include_usage")) {
          edits.push_back({so->value_begin + iu->value_begin, so->value_begin + iu->value_end, "true"});
        } else {
          edits.push_back({so->value_begin, so->value_end,
                           core::insert_first_member(so_val, "include_usage", "true")});
        }
      } else {
        ok = false;
      }
    }
    if (ok) return apply_edits(body, edits);
  }

  // The scanner could not place the edit (a key spelled with escapes, say): rewrite the
  // document. Correct, only slower; real SDKs never get here.
  json::value copy = doc;
  auto& o = copy.as_object();
  o["model"] = upstream_model;
  if (ask_for_usage) {
    auto& so = o["stream_options"];
    if (!so.is_object()) so = json::object();
    so.as_object()["include_usage"] = true;
  }
  return json::serialize(copy);
}

void read_usage(const json::value& usage, core::Usage& out) {
  auto* u = usage.if_object();
  if (!u) return;
  out.known = true;
  // Chat uses prompt/completion tokens; the Responses API and some compatible servers use
  // input/output tokens.
  out.input_tokens = int_field(*u, "prompt_tokens");
  if (!out.input_tokens) out.input_tokens = int_field(*u, "input_tokens");
  out.output_tokens = int_field(*u, "completion_tokens");
  if (!out.output_tokens) out.output_tokens = int_field(*u, "output_tokens");
  if (auto* d = u->if_contains("prompt_tokens_details"); d && d->is_object())
    out.cached_input_tokens = int_field(d->get_object(), "cached_tokens");
  if (auto* d = u->if_contains("completion_tokens_details"); d && d->is_object())
    out.reasoning_tokens = int_field(d->get_object(), "reasoning_tokens");
  // The Responses API's names for the same details.
  if (auto* d = u->if_contains("input_tokens_details"); d && d->is_object())
    out.cached_input_tokens = int_field(d->get_object(), "cached_tokens");
  if (auto* d = u->if_contains("output_tokens_details"); d && d->is_object())
    out.reasoning_tokens = int_field(d->get_object(), "reasoning_tokens");
}

namespace {

// A usage member's number from its raw JSON text, as int_field reads it from a DOM: an
// integer, an unsigned beyond int64, or a double rounded; anything else is 0.
int64_t raw_int(std::string_view t) {
  if (t.empty() || (t[0] != '-' && (t[0] < '0' || t[0] > '9'))) return 0;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec == std::errc() && p == t.data() + t.size()) return v;
  uint64_t u = 0;
  auto [pu, ecu] = std::from_chars(t.data(), t.data() + t.size(), u);
  if (ecu == std::errc() && pu == t.data() + t.size()) return static_cast<int64_t>(u);
  double d = 0;
  auto [pd, ecd] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ecd == std::errc() && pd == t.data() + t.size()) return core::double_to_int64(d);
  return 0;
}

// The members of the object `text`, when it is one whose keys are plain and unique (what
// every provider sends); otherwise false, and the caller reads a parsed document instead.
bool plain_members(std::string_view text, std::vector<core::JsonMember>& out) {
  if (!core::scan_object_members(text, out)) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].key.find('\\') != std::string_view::npos) return false;
    for (std::size_t j = i + 1; j < out.size(); ++j)
      if (out[i].key == out[j].key) return false;
  }
  return true;
}

// read_usage over the scanner's offsets: the same fields, without a DOM for a dozen numbers.
bool read_usage_scanned(std::string_view u, core::Usage& out) {
  core::ScratchMembers scanned;
  auto& m = *scanned;
  if (!plain_members(u, m)) return false;
  auto raw = [](std::string_view text, const core::JsonMember& x) {
    return text.substr(x.value_begin, x.value_end - x.value_begin);
  };
  auto field = [&](std::string_view text, const std::vector<core::JsonMember>& ms, std::string_view k) -> int64_t {
    for (const auto& x : ms)
      if (x.key == k) return raw_int(raw(text, x));
    return 0;
  };
  // The details objects, checked before anything is written so a fallback starts clean.
  core::ScratchMembers scanned_details[4];
  std::vector<core::JsonMember>* details[4] = {&*scanned_details[0], &*scanned_details[1], &*scanned_details[2],
                                               &*scanned_details[3]};
  static constexpr std::string_view kDetails[4] = {"prompt_tokens_details", "completion_tokens_details",
                                                    "input_tokens_details", "output_tokens_details"};
  bool present[4] = {};
  for (int d = 0; d < 4; ++d) {
    for (const auto& x : m) {
      if (x.key != kDetails[d]) continue;
      std::string_view v = raw(u, x);
      if (v.empty() || v[0] != '{') break;  // not an object: ignored, as read_usage does
      if (!plain_members(v, *details[d])) return false;
      present[d] = true;
    }
  }
  out.known = true;
  out.input_tokens = field(u, m, "prompt_tokens");
  if (!out.input_tokens) out.input_tokens = field(u, m, "input_tokens");
  out.output_tokens = field(u, m, "completion_tokens");
  if (!out.output_tokens) out.output_tokens = field(u, m, "output_tokens");
  for (int d = 0; d < 4; ++d) {
    if (!present[d]) continue;
    std::string_view v;
    for (const auto& x : m)
      if (x.key == kDetails[d]) v = raw(u, x);
    if (d % 2 == 0) out.cached_input_tokens = field(v, *details[d], "cached_tokens");
    else out.reasoning_tokens = field(v, *details[d], "reasoning_tokens");
  }
  return true;
}

}  // namespace

void read_usage_from_body(std::string_view body, core::Usage& out) {
  // Only the usage object is read: the scanner finds it, and its numbers, for a fraction of a
  // full parse.
  core::ScratchMembers scanned;
  auto& members = *scanned;
  if (!core::scan_object_members(body, members)) return;
  const auto* usage = core::find_member(members, "usage");
  if (!usage) return;
  std::string_view value = body.substr(usage->value_begin, usage->value_end - usage->value_begin);
  if (!value.empty() && value[0] == '{' && read_usage_scanned(value, out)) return;
  boost::system::error_code ec;
  auto u = json::parse(value, ec);
  if (!ec) read_usage(u, out);
}

StreamTap::Action StreamTap::on_event(const http::SseEvent& ev, std::string& out) {
  if (!ev.has_data) return Action::forward;
  std::string_view data = ev.data;
  if (data == "[DONE]") {
    saw_done_ = true;
    return Action::forward;
  }
  // Most chunks carry no usage: a substring test keeps them off the JSON parser. Horspool's
  // skip table, not string_view::find, which stops at every quote (issue 18: ~600 instructions
  // a chunk).
  static constexpr std::string_view kUsageKey = "\"usage\"";
  static const std::boyer_moore_horspool_searcher usage_key(kUsageKey.begin(), kUsageKey.end());
  const auto key = std::search(data.begin(), data.end(), usage_key);
  if (key == data.end()) return Action::forward;

  // The common chunk of a stream that asked for usage: an object whose last member, and only
  // "usage" key, is "usage":null (what OpenAI sends on every chunk but the last). A quoted
  // "usage" cannot be inside a string (its quotes would be escaped), and the member before the
  // object's last brace is a top-level one: the member scan below would find the same, so the
  // object is not scanned (~2,000 instructions a chunk). An object that is not valid JSON
  // before that tail is stripped here where the scan would have passed it on unchanged.
  static constexpr std::string_view kNullTail = ",\"usage\":null}";
  if (data.size() > kNullTail.size() && data.front() == '{' && data.ends_with(kNullTail) &&
      static_cast<std::size_t>(key - data.begin()) == data.size() - kNullTail.size() + 1) {
    if (!strip_usage_) return Action::forward;
    out.append("data: ").append(data.substr(0, data.size() - kNullTail.size())).append("}\n\n");
    return Action::replace;
  }

  core::ScratchMembers scanned;
  auto& members = *scanned;
  if (!core::scan_object_members(data, members)) return Action::forward;
  const auto* usage = core::find_member(members, "usage");
  if (!usage) return Action::forward;
  std::string_view value = data.substr(usage->value_begin, usage->value_end - usage->value_begin);
  if (value != "null") {
    boost::system::error_code ec;
    auto u = json::parse(value, ec);
    if (!ec) read_usage(u, usage_);
  }
  if (!strip_usage_) return Action::forward;

  // The caller did not ask for usage: the usage-only chunk (empty choices) goes away, and
  // other chunks lose their "usage" member.
  if (value != "null") {
    if (const auto* choices = core::find_member(members, "choices")) {
      std::string_view c = data.substr(choices->value_begin, choices->value_end - choices->value_begin);
      bool empty = c.size() >= 2 && c.front() == '[' &&
                   c.find_first_not_of(" \t\r\n", 1) == c.size() - 1;
      if (empty) return Action::drop;
    }
  }
  // "data: " + the object without its usage member + "\n\n", in one append each (was two
  // strings per chunk: the object, then its SSE framing).
  const auto [cut_begin, cut_end] = core::member_cut(members, *usage);
  out.append("data: ").append(data.substr(0, cut_begin)).append(data.substr(cut_end)).append("\n\n");
  return Action::replace;
}

std::string upstream_error_body(int status, std::string_view body, std::string_view media_type) {
  boost::system::error_code ec;
  json::value doc;
  if (media_type.find("json") != std::string_view::npos || (!body.empty() && body.front() == '{'))
    doc = json::parse(body, ec);
  else
    ec = json::error::syntax;
  if (!ec && doc.is_object()) {
    auto& o = doc.get_object();
    if (auto* e = o.if_contains("error"); e && e->is_object() && e->get_object().contains("message")) {
      const auto& eo = e->get_object();
      if (eo.contains("type") && eo.contains("param") && eo.contains("code"))
        return std::string(body);  // already OpenAI-shaped: byte for byte
      // Azure's envelope lacks type and param: complete it, keeping what it says.
      json::object fixed = eo;
      if (!fixed.contains("type")) {
        auto kind = status == 429 ? core::ErrorKind::rate_limit
                    : status == 401 ? core::ErrorKind::authentication
                    : status == 403 ? core::ErrorKind::permission
                    : status >= 500 ? core::ErrorKind::upstream
                                    : core::ErrorKind::invalid_request;
        auto typed = json::parse(core::to_openai_body(GatewayError::make(kind, "")));
        fixed["type"] = typed.at("error").at("type");
      }
      if (!fixed.contains("param")) fixed["param"] = nullptr;
      if (!fixed.contains("code")) fixed["code"] = nullptr;
      return json::serialize(json::object{{"error", std::move(fixed)}});
    }
    std::string message;
    if (auto* e = o.if_contains("error"); e && e->is_string()) message = e->get_string().c_str();
    else if (auto* d = o.if_contains("detail"); d && d->is_string()) message = d->get_string().c_str();
    else if (auto* m = o.if_contains("message"); m && m->is_string()) message = m->get_string().c_str();
    else message = json::serialize(doc).substr(0, 500);
    auto err = GatewayError::make(core::ErrorKind::upstream, "Upstream error: " + message, "upstream_error");
    return core::to_openai_body(err);
  }
  auto err = GatewayError::make(
      core::ErrorKind::upstream,
      fmt::format("The provider answered HTTP {} with a non-JSON body ({}).", status,
                  media_type.empty() ? "no content type" : std::string(media_type)),
      "upstream_error");
  return core::to_openai_body(err);
}

}  // namespace tollgate::dialects::openai

namespace tollgate::dialects::openai {

core::GatewayError upstream_error(int status, std::string_view body, std::string_view media_type) {
  auto shaped = json::parse(upstream_error_body(status, body, media_type));
  const auto& e = shaped.at("error").as_object();
  core::ErrorKind kind = core::ErrorKind::upstream;
  switch (status) {
    case 400: case 422: kind = core::ErrorKind::invalid_request; break;
    case 401: kind = core::ErrorKind::authentication; break;
    case 403: kind = core::ErrorKind::permission; break;
    case 404: kind = core::ErrorKind::not_found; break;
    case 413: kind = core::ErrorKind::payload_too_large; break;
    case 429: kind = core::ErrorKind::rate_limit; break;
    case 504: kind = core::ErrorKind::timeout; break;
    default: break;
  }
  core::GatewayError out;
  out.status = status >= 400 && status < 600 ? status : 502;
  out.kind = kind;
  if (auto* m = e.if_contains("message"); m && m->is_string()) out.message = m->get_string().c_str();
  if (auto* c = e.if_contains("code"); c && c->is_string()) out.code = c->get_string().c_str();
  if (auto* p = e.if_contains("param"); p && p->is_string()) out.param = p->get_string().c_str();
  return out;
}

}  // namespace tollgate::dialects::openai
