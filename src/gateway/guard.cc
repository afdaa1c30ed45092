// Phase 5, guard: the guardrail policies of the key and the model over the request's texts
// (PII, prompt injection, deny lists), and over the answer on its way back. A block answers
// in the caller's dialect naming the policy, never the matched value; a redaction rewrites the
// request (the fast path then forwards the rewritten body); monitor only records.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include "gateway/phases.h"
#include "gateway/relay.h"
#include "http/sse.h"

namespace tollgate::gateway {
namespace json = boost::json;
using guardrails::InputText;
using guardrails::Source;

namespace {

Source source_of(std::string_view role) {
  if (role == "system" || role == "developer") return Source::system;
  if (role == "assistant" || role == "model") return Source::assistant;
  if (role == "tool" || role == "function") return Source::tool;
  return Source::user;
}

// Every text a request carries, with a pointer back to where it lives in the document.
struct TextRef {
  json::string* at;
  Source source;
};

void collect_content(json::value& content, Source src, std::vector<TextRef>& out) {
  if (auto* s = content.if_string()) {
    out.push_back({s, src});
    return;
  }
  if (auto* parts = content.if_array()) {
    for (auto& p : *parts) {
      auto* o = p.if_object();
      if (!o) continue;
      if (auto* t = o->if_contains("text"); t && t->is_string()) out.push_back({&t->get_string(), src});
      // Anthropic tool results carry the tool's words: judged as tool output.
      if (auto* type = o->if_contains("type"); type && type->is_string() && type->get_string() == "tool_result")
        if (auto* c = o->if_contains("content")) collect_content(*c, Source::tool, out);
    }
  }
}

// Into `out` (cleared first): guard() passes its thread's list, whose buffer is kept.
void texts_of(json::value& doc, std::vector<TextRef>& out) {
  out.clear();
  auto* o = doc.if_object();
  if (!o) return;
  // The members read below, found in one walk of the body's few top-level members rather than
  // a lookup per name (the order texts are listed in stays the one below: placeholders are
  // numbered in it). A parsed object holds each key once.
  json::value *system = nullptr, *instructions = nullptr, *messages = nullptr, *system_instruction = nullptr,
              *contents = nullptr, *prompt = nullptr, *input = nullptr;
  for (auto& kv : *o) {
    const std::string_view k = kv.key();
    json::value* v = &kv.value();
    switch (k.size()) {
      case 5: if (k == "input") input = v; break;
      case 6: if (k == "system") system = v; else if (k == "prompt") prompt = v; break;
      case 8: if (k == "messages") messages = v; else if (k == "contents") contents = v; break;
      case 12: if (k == "instructions") instructions = v; break;
      case 17: if (k == "systemInstruction") system_instruction = v; break;
      default: break;
    }
  }
  out.reserve(messages && messages->is_array() ? messages->get_array().size() + 1 : 2);
  if (auto* sys = system) collect_content(*sys, Source::system, out);           // Anthropic
  if (auto* ins = instructions) collect_content(*ins, Source::system, out);     // Responses
  if (auto* msgs = messages; msgs && msgs->is_array()) {
    for (auto& m : msgs->get_array()) {
      auto* mo = m.if_object();
      if (!mo) continue;
      // Its role and content in one walk of its few members, not a hashed lookup each (issue 18).
      const json::value *role = nullptr;
      json::value* content = nullptr;
      for (auto& kv : *mo) {
        const std::string_view k = kv.key();
        if (k == "role") role = &kv.value();
        else if (k == "content") content = &kv.value();
      }
      Source src = Source::user;
      if (role && role->is_string()) src = source_of(role->get_string());
      if (content) collect_content(*content, src, out);
    }
  }
  // Gemini: systemInstruction and contents, parts with text.
  if (auto* si = system_instruction; si && si->is_object())
    if (auto* parts = si->get_object().if_contains("parts")) collect_content(*parts, Source::system, out);
  if (contents && contents->is_array()) {
    for (auto& c : contents->get_array()) {
      auto* co = c.if_object();
      if (!co) continue;
      Source src = Source::user;
      if (auto* r = co->if_contains("role"); r && r->is_string()) src = source_of(r->get_string());
      if (auto* parts = co->if_contains("parts")) collect_content(*parts, src, out);
    }
  }
  for (json::value* v : {prompt, input}) {
    if (v) {
      if (v->is_string()) out.push_back({&v->get_string(), Source::user});
      else if (auto* a = v->if_array())
        for (auto& x : *a) {
          if (x.is_string()) out.push_back({&x.get_string(), Source::user});
          else if (auto* xo = x.if_object()) {  // Responses input items
            Source src = Source::user;
            if (auto* r = xo->if_contains("role"); r && r->is_string()) src = source_of(r->get_string());
            if (auto* c = xo->if_contains("content")) collect_content(*c, src, out);
          }
        }
    }
  }
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Whether a policy may find anything in the texts guard_answer reads of `body`, a JSON answer
// without a backslash. Each of those texts is the string value of a member named "text" or
// "content" (see guard_answer), so here every such value is put through the pre-pass, wherever
// it sits: a superset. Without escapes a string holds no '"', so `"text"` or `"content"`
// before a ':' is always a key (a string value is followed by ',', '}' or ']'), and the value
// is the bytes up to the next '"'. One memchr per colon and no document (issue 18).
bool texts_may_hit(const guardrails::CompiledPolicies& policies, const guardrails::Selection& sel,
                   std::string_view body) {
  const char* const b = body.data();
  const size_t n = body.size();
  auto key_before = [&](size_t k, std::string_view name) {  // `"name"` ends at k
    return k >= name.size() + 2 && b[k - 1] == '"' && b[k - 2 - name.size()] == '"' &&
           std::memcmp(b + k - 1 - name.size(), name.data(), name.size()) == 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const void* colon = std::memchr(b + i, ':', n - i);
    if (!colon) return false;
    i = static_cast<size_t>(static_cast<const char*>(colon) - b);
    size_t k = i;
    while (k > 0 && is_json_space(b[k - 1])) --k;
    if (!key_before(k, "text") && !key_before(k, "content")) continue;
    size_t v = i + 1;
    while (v < n && is_json_space(b[v])) ++v;
    if (v >= n || b[v] != '"') continue;  // an array, an object or null: its texts have keys of their own
    const void* close = std::memchr(b + v + 1, '"', n - v - 1);
    if (!close) return true;  // not JSON: the parser decides
    const size_t e = static_cast<size_t>(static_cast<const char*>(close) - b);
    if (policies.may_hit(sel, body.substr(v + 1, e - v - 1))) return true;
    i = e;
  }
  return false;
}

}  // namespace

void note_guard_findings(RequestContext& ctx, std::span<const guardrails::Finding> findings, bool output) {
  for (const auto& f : findings) {
    ctx.gateway.metrics.guardrail_hit(f.policy, f.entity, f.acted);
    auto it = std::find_if(ctx.guard_hits.begin(), ctx.guard_hits.end(), [&](const auto& h) {
      return h.output == output && h.acted == f.acted && h.policy == f.policy && h.entity == f.entity;
    });
    if (it == ctx.guard_hits.end()) {
      ctx.guard_hits.push_back({f.policy, f.entity, output, f.acted, 0});
      it = ctx.guard_hits.end() - 1;
    }
    ++it->count;
  }
}

std::vector<std::string> moderation_inputs(RequestContext& ctx) {
  std::vector<std::string> out;
  std::vector<TextRef> refs;
  texts_of(ctx.doc, refs);
  for (const auto& r : refs)
    if ((r.source == Source::user || r.source == Source::tool) && !r.at->empty())
      out.emplace_back(r.at->data(), r.at->size());
  return out;
}

std::optional<core::GatewayError> guard(RequestContext& ctx) {
  const auto& policies = ctx.snapshot->guardrails();
  if (!policies) return std::nullopt;
  static const std::vector<std::string> kNone;
  const auto& model_names = ctx.model ? ctx.model->spec.guardrails : kNone;
  if (ctx.key->rules().guardrails.empty() && model_names.empty()) return std::nullopt;
  ctx.guard = policies->select(ctx.key->rules().guardrails, model_names);
  if (ctx.guard.empty()) return std::nullopt;

  // The thread's list: no allocation per request (it holds pointers into this request's
  // document only until this call returns; the next call clears it).
  thread_local std::vector<TextRef> refs;
  texts_of(ctx.doc, refs);
  // The pre-pass first, over the texts where they are: when no selected policy can find
  // anything in any of them, the scan would find nothing, rewrite nothing and block nothing
  // (issue 18: the copies and the scan's bookkeeping cost more than the pre-pass).
  bool may = false;
  for (const auto& r : refs)
    if (policies->may_hit(ctx.guard, std::string_view(r.at->data(), r.at->size()))) {
      may = true;
      break;
    }
  if (!may) return std::nullopt;
  std::vector<InputText> texts;
  texts.reserve(refs.size());
  for (const auto& r : refs) texts.push_back({r.source, std::string(r.at->c_str(), r.at->size())});
  auto verdict = policies->scan_input(ctx.guard, texts, ctx.restore);
  note_guard_findings(ctx, verdict.findings, false);
  if (verdict.blocked) {
    ctx.error = "guardrail_blocked";
    return core::GatewayError::make(core::ErrorKind::invalid_request, verdict.reason, "guardrail_blocked");
  }
  if (verdict.redacted) {
    for (std::size_t i = 0; i < refs.size(); ++i) *refs[i].at = texts[i].text;
    ctx.body_override = json::serialize(ctx.doc);
  }
  return std::nullopt;
}

bool guards_output(const RequestContext& ctx) {
  const auto& policies = ctx.snapshot ? ctx.snapshot->guardrails() : nullptr;
  return policies && !ctx.guard.empty() && policies->scans_output(ctx.guard, &ctx.restore);
}

std::optional<core::GatewayError> guard_answer(RequestContext& ctx, json::value& answer, bool* rewritten) {
  const auto& policies = ctx.snapshot->guardrails();
  std::string blocked_by;
  auto scan = [&](json::string& s) -> bool {
    auto r = policies->scan_output(ctx.guard, std::string_view(s.data(), s.size()), &ctx.restore);
    note_guard_findings(ctx, r.findings, true);
    if (r.blocked) {
      ctx.error = "guardrail_blocked";
      blocked_by = r.policy;
      return false;
    }
    if (std::string_view(s) != r.text) {
      s = r.text;
      if (rewritten) *rewritten = true;
    }
    return true;
  };
  auto blocked = [&] {
    return core::GatewayError::make(core::ErrorKind::invalid_request,
                                    fmt::format("The answer was blocked by guardrail policy '{}'.", blocked_by),
                                    "guardrail_blocked");
  };
  // Every text read here is the string value of a member named "text" or "content": the
  // pre-check of guard_answer_body (texts_may_hit) relies on it. Change both together.
  auto* o = answer.if_object();
  if (!o) return std::nullopt;
  if (auto* choices = o->if_contains("choices"); choices && choices->is_array()) {  // OpenAI
    for (auto& c : choices->get_array()) {
      auto* co = c.if_object();
      if (!co) continue;
      if (auto* t = co->if_contains("text"); t && t->is_string() && !scan(t->get_string())) return blocked();
      if (auto* m = co->if_contains("message"); m && m->is_object())
        if (auto* t = m->get_object().if_contains("content"); t && t->is_string() && !scan(t->get_string()))
          return blocked();
    }
  }
  if (auto* cands = o->if_contains("candidates"); cands && cands->is_array()) {  // Gemini
    for (auto& c : cands->get_array()) {
      auto* content = c.is_object() ? c.get_object().if_contains("content") : nullptr;
      auto* parts = content && content->is_object() ? content->get_object().if_contains("parts") : nullptr;
      if (!parts || !parts->is_array()) continue;
      for (auto& p : parts->get_array())
        if (auto* t = p.is_object() ? p.get_object().if_contains("text") : nullptr; t && t->is_string() && !scan(t->get_string()))
          return blocked();
    }
  }
  if (auto* output = o->if_contains("output"); output && output->is_array()) {  // a Responses object
    for (auto& item : output->get_array()) {
      auto* io = item.if_object();
      auto* parts = io ? io->if_contains("content") : nullptr;
      if (!parts || !parts->is_array()) continue;
      for (auto& p : parts->get_array())
        if (auto* t = p.is_object() ? p.get_object().if_contains("text") : nullptr; t && t->is_string() && !scan(t->get_string()))
          return blocked();
    }
  }
  if (auto* content = o->if_contains("content"); content && content->is_array()) {  // Anthropic
    for (auto& b : content->get_array())
      if (auto* bo = b.if_object())
        if (auto* t = bo->if_contains("text"); t && t->is_string() && !scan(t->get_string())) return blocked();
  }
  return std::nullopt;
}

std::optional<core::GatewayError> guard_answer_body(RequestContext& ctx, std::string& body) {
  // Without escapes every text guard_answer reads is a run of the answer's bytes: when no
  // policy can find anything in those, the answer needs no document (nor placeholders to
  // restore). Saves a DOM of every clean answer (issue 18).
  if (ctx.restore.empty() && body.find('\\') == std::string::npos &&
      !texts_may_hit(*ctx.snapshot->guardrails(), ctx.guard, body))
    return std::nullopt;
  // The document lives only here: one arena, no frees node by node.
  unsigned char arena[8192];
  json::monotonic_resource mr(arena, sizeof arena);
  boost::system::error_code ec;
  auto answer = json::parse(body, ec, &mr);
  if (ec) return std::nullopt;
  bool rewritten = false;
  if (auto blocked = guard_answer(ctx, answer, &rewritten)) return blocked;
  if (rewritten) body = json::serialize(answer);
  return std::nullopt;
}

}  // namespace tollgate::gateway

namespace tollgate::gateway {
namespace {

// Redacts a stream in the caller's dialect, after the relay that produced it: OpenAI chunks'
// delta.content per choice, Anthropic text deltas per block, Gemini text parts per candidate,
// Responses output_text deltas per content part. A StreamRedactor holds back the tail of the
// text so a value split across chunks is still caught; what it holds is sent before the choice
// finishes (OpenAI), the block stops (Anthropic) or the part is done (Responses).
class GuardedRelay final : public StreamRelay {
 public:
  GuardedRelay(std::unique_ptr<StreamRelay> inner, RequestContext& ctx)
      : inner_(std::move(inner)), ctx_(ctx), caller_(dialect_of(ctx.route)),
        responses_(ctx.route == Route::responses) {}

  void on_event(const http::SseEvent& ev, std::string& out) override {
    std::string produced;
    inner_->on_event(ev, produced);
    rewrite(produced, out);
  }
  void on_end(std::string& out) override {
    std::string produced;
    inner_->on_end(produced);
    rewrite(produced, out);
  }
  void on_sent() override { inner_->on_sent(); }
  core::Usage usage() const override { return inner_->usage(); }
  std::optional<core::GatewayError> provider_error() const override { return inner_->provider_error(); }
  std::string error_event(const core::GatewayError& e) const override { return inner_->error_event(e); }

 private:
  guardrails::StreamRedactor make_redactor() const {
    return guardrails::StreamRedactor(ctx_.snapshot->guardrails(), ctx_.guard, &ctx_.restore);
  }
  guardrails::StreamRedactor& redactor(int64_t index) {
    auto it = redactors_.find(index);
    if (it == redactors_.end())
      it = redactors_.emplace(index, make_redactor()).first;
    return it->second;
  }
  void note(guardrails::StreamRedactor& r) {
    std::size_t& counted = counted_[&r];
    if (counted == r.findings().size()) return;
    note_guard_findings(ctx_, std::span(r.findings()).subspan(counted), true);
    counted = r.findings().size();
  }
  bool stop(guardrails::StreamRedactor& r, std::string& out) {
    if (!r.blocked()) return false;
    stopped_ = true;
    ctx_.error = "guardrail_blocked";
    out.append(inner_->error_event(core::GatewayError::make(
        core::ErrorKind::invalid_request,
        fmt::format("The answer was blocked by guardrail policy '{}'.", r.blocked_by()), "guardrail_blocked")));
    return true;
  }

  void rewrite(const std::string& produced, std::string& out) {
    reader_.feed(produced);
    http::SseEvent ev;
    while (reader_.next(ev)) {
      if (stopped_) continue;
      if (!ev.has_data || ev.data == "[DONE]") {
        out.append(ev.raw);
        continue;
      }
      boost::system::error_code ec;
      auto v = json::parse(ev.data, ec);
      if (ec || !v.is_object()) {
        out.append(ev.raw);
        continue;
      }
      if (responses_) responses_event(ev.event, v.as_object(), out);
      else if (caller_ == Dialect::openai) openai_chunk(v.as_object(), out);
      else if (caller_ == Dialect::gemini) gemini_event(v.as_object(), out);
      else anthropic_event(ev.event, v.as_object(), out);
    }
  }

  void openai_chunk(json::object& chunk, std::string& out) {
    auto* choices = chunk.if_contains("choices");
    if (!choices || !choices->is_array()) {
      out.append(http::sse_data(json::serialize(chunk)));
      return;
    }
    for (auto& c : choices->get_array()) {
      auto* co = c.if_object();
      if (!co) continue;
      int64_t index = co->contains("index") && (*co)["index"].is_int64() ? (*co)["index"].get_int64() : 0;
      auto& r = redactor(index);
      if (auto* d = co->if_contains("delta"); d && d->is_object())
        if (auto* t = d->get_object().if_contains("content"); t && t->is_string())
          *t = r.feed(std::string_view(t->get_string().data(), t->get_string().size()));
      note(r);
      if (stop(r, out)) return;
      if (auto* fr = co->if_contains("finish_reason"); fr && !fr->is_null()) {
        // The held tail goes out in a chunk of its own, just before the finish.
        std::string tail = r.flush();
        note(r);
        if (stop(r, out)) return;
        if (!tail.empty()) {
          json::object extra = chunk;
          extra["choices"] = json::array{json::object{{"index", index},
                                                      {"delta", json::object{{"content", tail}}},
                                                      {"logprobs", nullptr},
                                                      {"finish_reason", nullptr}}};
          extra.erase("usage");
          out.append(http::sse_data(json::serialize(extra)));
        }
      }
    }
    out.append(http::sse_data(json::serialize(chunk)));
  }

  // Gemini: text parts per candidate. The last event of a candidate carries its finishReason
  // and often text too: the held tail goes out at the end of that event's text.
  void gemini_event(json::object& e, std::string& out) {
    if (auto* cands = e.if_contains("candidates"); cands && cands->is_array()) {
      for (auto& c : cands->get_array()) {
        auto* co = c.if_object();
        if (!co) continue;
        int64_t index = co->contains("index") && (*co)["index"].is_int64() ? (*co)["index"].get_int64() : 0;
        auto& r = redactor(index);
        json::array* parts = nullptr;
        if (auto* content = co->if_contains("content"); content && content->is_object())
          if (auto* p = content->get_object().if_contains("parts"); p && p->is_array()) parts = &p->get_array();
        json::string* last_text = nullptr;
        if (parts)
          for (auto& p : *parts)
            if (auto* t = p.is_object() ? p.get_object().if_contains("text") : nullptr; t && t->is_string()) {
              *t = r.feed(std::string_view(t->get_string().data(), t->get_string().size()));
              last_text = &t->get_string();
            }
        note(r);
        if (stop(r, out)) return;
        if (auto* fr = co->if_contains("finishReason"); fr && !fr->is_null()) {
          std::string tail = r.flush();
          note(r);
          if (stop(r, out)) return;
          if (tail.empty()) continue;
          if (last_text) {
            last_text->append(tail);
          } else {
            json::object part{{"text", tail}};
            if (parts) parts->insert(parts->begin(), std::move(part));
            else (*co)["content"] = json::object{{"parts", json::array{std::move(part)}}, {"role", "model"}};
          }
        }
      }
    }
    out.append("data: ").append(json::serialize(e)).append("\r\n\r\n");
  }

  void anthropic_event(const std::string& name, json::object& e, std::string& out) {
    int64_t index = e.contains("index") && e["index"].is_int64() ? e["index"].get_int64() : 0;
    if (name == "content_block_delta") {
      if (auto* d = e.if_contains("delta"); d && d->is_object()) {
        auto& dobj = d->get_object();
        if (auto* t = dobj.if_contains("text"); t && t->is_string()) {
          auto& r = redactor(index);
          *t = r.feed(std::string_view(t->get_string().data(), t->get_string().size()));
          note(r);
          if (stop(r, out)) return;
        }
      }
    } else if (name == "content_block_stop" && redactors_.contains(index)) {
      auto& r = redactor(index);
      std::string tail = r.flush();
      note(r);
      if (stop(r, out)) return;
      if (!tail.empty()) {
        json::object d{{"type", "content_block_delta"}, {"index", index},
                       {"delta", json::object{{"type", "text_delta"}, {"text", tail}}}};
        out.append(http::sse_event("content_block_delta", json::serialize(d)));
      }
    }
    out.append(http::sse_event(name, json::serialize(e)));
  }

  // Responses: output_text deltas per content part (item_id/content_index). The redacted text
  // of each part replaces the text that the done events and the final response repeat, and
  // every event is renumbered, since a held tail goes out as a delta of its own.
  struct ResponsesPart {
    guardrails::StreamRedactor redactor;
    std::string text;  // what the caller was sent
  };
  ResponsesPart* part(const json::object& e, bool create) {
    auto* item = e.if_contains("item_id");
    if (!item || !item->is_string()) return nullptr;
    int64_t index = e.contains("content_index") && e.at("content_index").is_int64() ? e.at("content_index").get_int64() : 0;
    std::string key = fmt::format("{}/{}", std::string_view(item->get_string()), index);
    auto it = parts_.find(key);
    if (it == parts_.end() && create) it = parts_.emplace(key, ResponsesPart{make_redactor(), {}}).first;
    return it == parts_.end() ? nullptr : &it->second;
  }
  // A message item's output_text parts get the text the caller was sent.
  void restate(json::object& item) {
    auto* id = item.if_contains("id");
    auto* content = item.if_contains("content");
    if (!id || !id->is_string() || !content || !content->is_array()) return;
    auto& arr = content->get_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      auto it = parts_.find(fmt::format("{}/{}", std::string_view(id->get_string()), i));
      if (it == parts_.end() || !arr[i].is_object() || !arr[i].as_object().contains("text")) continue;
      arr[i].as_object()["text"] = it->second.text;
    }
  }
  void emit_responses(std::string_view name, json::object& e, std::string& out) {
    if (e.contains("sequence_number")) e["sequence_number"] = seq_++;
    std::string data = json::serialize(e);
    out.append(name.empty() ? http::sse_data(data) : http::sse_event(name, data));
  }
  void responses_event(const std::string& name, json::object& e, std::string& out) {
    std::string_view type;
    if (auto* t = e.if_contains("type"); t && t->is_string()) type = t->get_string();
    if (type == "response.output_text.delta") {
      auto* p = part(e, true);
      auto* d = e.if_contains("delta");
      if (p && d && d->is_string()) {
        std::string safe = p->redactor.feed(std::string_view(d->get_string().data(), d->get_string().size()));
        note(p->redactor);
        if (stop(p->redactor, out)) return;
        if (safe.empty()) return;  // held back for now
        p->text += safe;
        *d = safe;
      }
    } else if (type == "response.output_text.done") {
      if (auto* p = part(e, false)) {
        std::string tail = p->redactor.flush();
        note(p->redactor);
        if (stop(p->redactor, out)) return;
        if (!tail.empty()) {
          p->text += tail;
          json::object delta{{"type", "response.output_text.delta"}, {"sequence_number", 0}};
          for (const char* k : {"item_id", "output_index", "content_index"})
            if (auto* v = e.if_contains(k)) delta[k] = *v;
          delta["delta"] = tail;
          delta["logprobs"] = json::array{};
          emit_responses(name.empty() ? std::string_view{} : std::string_view("response.output_text.delta"), delta, out);
        }
        e["text"] = p->text;
      }
    } else if (type == "response.content_part.done") {
      if (auto* p = part(e, false); p && e.contains("part") && e["part"].is_object() && e["part"].as_object().contains("text"))
        e["part"].as_object()["text"] = p->text;
    } else if (type == "response.output_item.done") {
      if (auto* item = e.if_contains("item"); item && item->is_object()) restate(item->as_object());
    } else if (auto* r = e.if_contains("response"); r && r->is_object()) {  // completed, incomplete, ...
      if (auto* output = r->as_object().if_contains("output"); output && output->is_array())
        for (auto& item : output->get_array())
          if (item.is_object()) restate(item.as_object());
    }
    emit_responses(name, e, out);
  }

  std::unique_ptr<StreamRelay> inner_;
  RequestContext& ctx_;
  Dialect caller_;
  bool responses_;
  std::map<std::string, ResponsesPart> parts_;
  int64_t seq_ = 0;
  http::SseReader reader_;
  std::map<int64_t, guardrails::StreamRedactor> redactors_;
  std::map<const guardrails::StreamRedactor*, std::size_t> counted_;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<StreamRelay> guarded(std::unique_ptr<StreamRelay> relay, RequestContext& ctx) {
  if (!guards_output(ctx)) return relay;
  return std::make_unique<GuardedRelay>(std::move(relay), ctx);
}

}  // namespace tollgate::gateway
