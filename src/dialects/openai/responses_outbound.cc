// A canonical answer -> the Responses API's response object and stream events
// (responses.h). The shapes follow OpenAI's API reference; every event carries sequence_number.
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/json_fields.h"
#include "dialects/openai/responses.h"
#include "http/sse.h"
#include "store/secret_box.h"

namespace tollgate::dialects::openai::responses {
namespace json = boost::json;

namespace {

json::object message_item(std::string_view id, std::string_view text, std::string_view status) {
  json::array content;
  if (status == "completed")
    content.push_back(json::object{{"type", "output_text"}, {"annotations", json::array{}}, {"logprobs", json::array{}}, {"text", text}});
  return json::object{{"id", id}, {"type", "message"}, {"status", status}, {"content", std::move(content)}, {"role", "assistant"}};
}

json::object reasoning_item(std::string_view id, std::string_view text, const json::array& blocks,
                            const json::object& call_signatures, const store::SecretBox* seal) {
  json::array summary;
  if (!text.empty()) summary.push_back(json::object{{"type", "summary_text"}, {"text", text}});
  json::object item{{"id", id}, {"type", "reasoning"}, {"summary", std::move(summary)}};
  // The provider's signed blocks, sealed: only this gateway can open them, and it gives them
  // back to the provider when the caller replays the item.
  if ((!blocks.empty() || !call_signatures.empty()) && seal)
    item["encrypted_content"] = seal->seal(json::serialize(
        json::object{{"v", 1}, {"blocks", blocks}, {"call_signatures", call_signatures}}));
  return item;
}

// Gemini's signature on a function call (the canonical chunk's extra_content).
std::string_view google_signature(const json::object& tool_call) {
  auto* ec = tool_call.if_contains("extra_content");
  auto* g = ec && ec->is_object() ? ec->get_object().if_contains("google") : nullptr;
  return g && g->is_object() ? str(g->get_object(), "thought_signature") : std::string_view{};
}

// A call's name as the caller declared it: a flattened namespace tool is named back.
void name_call(json::object& item, std::string_view name, const Turn& t) {
  for (const auto& [flat, orig] : t.flattened) {
    if (flat == name) {
      item["name"] = orig.second;
      item["namespace"] = orig.first;
      return;
    }
  }
  item["name"] = name;
}

json::object call_item(std::string_view id, std::string_view call_id, std::string_view name, std::string_view args,
                       std::string_view status, const Turn& t) {
  json::object item{{"id", id}, {"type", "function_call"}, {"status", status}, {"arguments", args}, {"call_id", call_id}};
  name_call(item, name, t);
  return item;
}

json::object base(const Turn& t, std::string_view id, int64_t created_at, std::string_view model,
                  std::string_view status) {
  json::object r{{"id", id},
                 {"object", "response"},
                 {"created_at", created_at},
                 {"status", status},
                 {"background", false},
                 {"error", nullptr},
                 {"incomplete_details", nullptr},
                 {"instructions", nullptr},
                 {"max_output_tokens", nullptr},
                 {"max_tool_calls", nullptr},
                 {"model", model},
                 {"output", json::array{}},
                 {"parallel_tool_calls", true},
                 {"previous_response_id", t.previous_response_id.empty() ? json::value(nullptr) : json::value(t.previous_response_id)},
                 {"reasoning", json::object{{"effort", nullptr}, {"summary", nullptr}}},
                 {"service_tier", "default"},
                 {"store", t.store},
                 {"temperature", 1},
                 {"text", json::object{{"format", json::object{{"type", "text"}}}}},
                 {"tool_choice", "auto"},
                 {"tools", json::array{}},
                 {"top_p", 1},
                 {"truncation", "disabled"},
                 {"usage", nullptr},
                 {"user", nullptr},
                 {"metadata", json::object{}}};
  for (const auto& kv : t.echo) r[kv.key()] = kv.value();
  return r;
}

void finish_status(json::object& r, std::string_view finish_reason) {
  if (finish_reason == "length") {
    r["status"] = "incomplete";
    r["incomplete_details"] = json::object{{"reason", "max_output_tokens"}};
  } else if (finish_reason == "content_filter") {
    r["status"] = "incomplete";
    r["incomplete_details"] = json::object{{"reason", "content_filter"}};
  } else {
    r["status"] = "completed";
  }
}

}  // namespace

json::object responses_usage(const core::Usage& u) {
  return json::object{{"input_tokens", u.input_tokens},
                      {"input_tokens_details", json::object{{"cached_tokens", u.cached_input_tokens}}},
                      {"output_tokens", u.output_tokens},
                      {"output_tokens_details", json::object{{"reasoning_tokens", u.reasoning_tokens}}},
                      {"total_tokens", u.input_tokens + u.output_tokens}};
}

json::object to_response(const json::object& completion, const Turn& t, std::string_view id, int64_t created_at,
                         std::string_view model, const core::Usage& usage, const store::SecretBox* seal) {
  json::object r = base(t, id, created_at, model, "completed");
  json::array output;
  std::string_view finish;
  if (auto* ch = completion.if_contains("choices"); ch && ch->is_array() && !ch->get_array().empty() &&
                                                    ch->get_array()[0].is_object()) {
    const auto& choice = ch->get_array()[0].get_object();
    finish = str(choice, "finish_reason");
    if (auto* mv = choice.if_contains("message"); mv && mv->is_object()) {
      const auto& m = mv->get_object();
      std::string_view reasoning = str(m, "reasoning_content");
      json::array blocks;
      if (auto* tb = m.if_contains("thinking_blocks"); tb && tb->is_array()) blocks = tb->get_array();
      json::object signatures;
      if (auto* tcs = m.if_contains("tool_calls"); tcs && tcs->is_array())
        for (const auto& tc : tcs->get_array())
          if (auto* o = tc.if_object(); o && !google_signature(*o).empty()) signatures[str(*o, "id")] = google_signature(*o);
      if (!reasoning.empty() || !blocks.empty() || !signatures.empty())
        output.push_back(reasoning_item(item_id("rs_", id, output.size()), reasoning, blocks, signatures, seal));
      std::string text;
      if (auto* c = m.if_contains("content"); c && c->is_string()) text = c->get_string();
      else if (c && c->is_array())
        for (const auto& p : c->get_array())
          if (auto* po = p.if_object()) text.append(str(*po, "text"));
      if (!text.empty()) output.push_back(message_item(item_id("msg_", id, output.size()), text, "completed"));
      if (auto* tcs = m.if_contains("tool_calls"); tcs && tcs->is_array()) {
        for (const auto& tc : tcs->get_array()) {
          auto* o = tc.if_object();
          if (!o) continue;
          auto* f = o->if_contains("function");
          if (!f || !f->is_object()) continue;
          output.push_back(call_item(item_id("fc_", id, output.size()), str(*o, "id"), str(f->get_object(), "name"),
                                     str(f->get_object(), "arguments"), "completed", t));
        }
      }
    }
  }
  r["output"] = std::move(output);
  finish_status(r, finish);
  if (usage.known) r["usage"] = responses_usage(usage);
  return r;
}

StreamEncoder::StreamEncoder(const Turn& turn, std::string id, int64_t created_at, std::string model,
                             const store::SecretBox* seal)
    : turn_(turn), id_(std::move(id)), model_(std::move(model)), created_at_(created_at), seal_(seal) {}

json::object StreamEncoder::base_response(std::string_view status) const {
  return base(turn_, id_, created_at_, model_, status);
}

void StreamEncoder::event(std::string_view type, json::object data, std::string& out) {
  json::object ev{{"type", type}};
  for (auto& kv : data) ev[kv.key()] = std::move(kv.value());
  ev["sequence_number"] = seq_++;
  out.append(http::sse_event(type, json::serialize(ev)));
}

void StreamEncoder::start(std::string& out) {
  if (started_) return;
  started_ = true;
  event("response.created", json::object{{"response", base_response("in_progress")}}, out);
  event("response.in_progress", json::object{{"response", base_response("in_progress")}}, out);
}

void StreamEncoder::open_reasoning(std::string& out) {
  close_item(out);
  open_ = Open::reasoning;
  item_id_ = item_id("rs_", id_, output_.size());
  event("response.output_item.added",
        json::object{{"output_index", output_.size()},
                     {"item", json::object{{"id", item_id_}, {"type", "reasoning"}, {"summary", json::array{}}}}},
        out);
  event("response.reasoning_summary_part.added",
        json::object{{"item_id", item_id_}, {"output_index", output_.size()}, {"summary_index", 0},
                     {"part", json::object{{"type", "summary_text"}, {"text", ""}}}},
        out);
}

void StreamEncoder::open_message(std::string& out) {
  close_item(out);
  open_ = Open::message;
  item_id_ = item_id("msg_", id_, output_.size());
  event("response.output_item.added",
        json::object{{"output_index", output_.size()}, {"item", message_item(item_id_, "", "in_progress")}}, out);
  event("response.content_part.added",
        json::object{{"item_id", item_id_}, {"output_index", output_.size()}, {"content_index", 0},
                     {"part", json::object{{"type", "output_text"}, {"annotations", json::array{}}, {"logprobs", json::array{}}, {"text", ""}}}},
        out);
}

void StreamEncoder::close_item(std::string& out) {
  const auto index = output_.size();
  switch (open_) {
    case Open::none:
      return;
    case Open::reasoning: {
      if (!pending_thinking_.empty()) {
        // Thinking without a signature (Gemini's, a chat provider's reasoning_content): shown,
        // but nothing to give back.
        pending_thinking_.clear();
      }
      event("response.reasoning_summary_text.done",
            json::object{{"item_id", item_id_}, {"output_index", index}, {"summary_index", 0}, {"text", text_}}, out);
      event("response.reasoning_summary_part.done",
            json::object{{"item_id", item_id_}, {"output_index", index}, {"summary_index", 0},
                         {"part", json::object{{"type", "summary_text"}, {"text", text_}}}},
            out);
      json::object item = reasoning_item(item_id_, text_, thinking_blocks_, call_signatures_, seal_);
      event("response.output_item.done", json::object{{"output_index", index}, {"item", item}}, out);
      output_.push_back(std::move(item));
      thinking_blocks_ = {};
      call_signatures_ = {};
      break;
    }
    case Open::message: {
      event("response.output_text.done",
            json::object{{"item_id", item_id_}, {"output_index", index}, {"content_index", 0}, {"text", text_}, {"logprobs", json::array{}}},
            out);
      event("response.content_part.done",
            json::object{{"item_id", item_id_}, {"output_index", index}, {"content_index", 0},
                         {"part", json::object{{"type", "output_text"}, {"annotations", json::array{}}, {"logprobs", json::array{}}, {"text", text_}}}},
            out);
      json::object item = message_item(item_id_, text_, "completed");
      event("response.output_item.done", json::object{{"output_index", index}, {"item", item}}, out);
      output_.push_back(std::move(item));
      break;
    }
    case Open::call: {
      json::object done{{"item_id", item_id_}, {"output_index", index}, {"arguments", call_args_}};
      name_call(done, call_name_, turn_);
      done.erase("namespace");
      event("response.function_call_arguments.done", std::move(done), out);
      json::object item = call_item(item_id_, call_id_, call_name_, call_args_, "completed", turn_);
      event("response.output_item.done", json::object{{"output_index", index}, {"item", item}}, out);
      output_.push_back(std::move(item));
      call_args_.clear();
      call_index_ = -1;
      break;
    }
  }
  open_ = Open::none;
  text_.clear();
}

void StreamEncoder::on_chunk(const json::object& chunk, std::string& out) {
  start(out);
  auto* ch = chunk.if_contains("choices");
  if (!ch || !ch->is_array()) return;
  for (const auto& cv : ch->get_array()) {
    auto* choice = cv.if_object();
    if (!choice) continue;
    if (auto fr = str(*choice, "finish_reason"); !fr.empty()) finish_reason_ = fr;
    auto* dv = choice->if_contains("delta");
    if (!dv || !dv->is_object()) continue;
    const auto& d = dv->get_object();

    if (auto r = str(d, "reasoning_content"); !r.empty()) {
      if (open_ != Open::reasoning) open_reasoning(out);
      text_.append(r);
      pending_thinking_.append(r);
      event("response.reasoning_summary_text.delta",
            json::object{{"item_id", item_id_}, {"output_index", output_.size()}, {"summary_index", 0}, {"delta", r}}, out);
    }
    if (auto sig = str(d, "thinking_signature"); !sig.empty()) {
      if (open_ != Open::reasoning) open_reasoning(out);
      thinking_blocks_.push_back(json::object{{"type", "thinking"}, {"thinking", pending_thinking_}, {"signature", sig}});
      pending_thinking_.clear();
    }
    if (auto* tb = d.if_contains("thinking_blocks"); tb && tb->is_array()) {
      if (open_ != Open::reasoning) open_reasoning(out);
      for (const auto& b : tb->get_array()) thinking_blocks_.push_back(b);
    }
    if (auto c = str(d, "content"); !c.empty()) {
      if (open_ != Open::message) open_message(out);
      text_.append(c);
      event("response.output_text.delta",
            json::object{{"item_id", item_id_}, {"output_index", output_.size()}, {"content_index", 0}, {"delta", c}, {"logprobs", json::array{}}},
            out);
    }
    if (auto* tcs = d.if_contains("tool_calls"); tcs && tcs->is_array()) {
      for (const auto& tv : tcs->get_array()) {
        auto* tc = tv.if_object();
        if (!tc) continue;
        int64_t index = 0;
        if (auto* i = tc->if_contains("index"); i && i->is_int64()) index = i->get_int64();
        const json::object* fn = nullptr;
        if (auto* f = tc->if_contains("function"); f && f->is_object()) fn = &f->get_object();
        if (open_ != Open::call || index != call_index_) {
          std::string call_id(str(*tc, "id"));
          if (call_id.empty()) call_id = new_id("call_");
          if (auto sig = google_signature(*tc); !sig.empty()) {
            // The signature goes in a reasoning item just before the call (see responses.h).
            if (open_ != Open::reasoning) open_reasoning(out);
            call_signatures_[call_id] = sig;
          }
          close_item(out);
          open_ = Open::call;
          call_index_ = index;
          item_id_ = item_id("fc_", id_, output_.size());
          call_id_ = std::move(call_id);
          call_name_ = fn ? str(*fn, "name") : std::string_view{};
          event("response.output_item.added",
                json::object{{"output_index", output_.size()},
                             {"item", call_item(item_id_, call_id_, call_name_, "", "in_progress", turn_)}},
                out);
        }
        if (auto a = fn ? str(*fn, "arguments") : std::string_view{}; !a.empty()) {
          call_args_.append(a);
          event("response.function_call_arguments.delta",
                json::object{{"item_id", item_id_}, {"output_index", output_.size()}, {"delta", a}}, out);
        }
      }
    }
  }
}

void StreamEncoder::finish(const core::Usage& usage, std::string& out) {
  start(out);
  close_item(out);
  final_ = base_response("completed");
  final_["output"] = output_;
  finish_status(final_, finish_reason_);
  if (usage.known) final_["usage"] = responses_usage(usage);
  std::string_view type = str(final_, "status") == "completed" ? "response.completed" : "response.incomplete";
  event(type, json::object{{"response", final_}}, out);
}

void StreamEncoder::fail(const core::GatewayError& e, std::string& out) {
  start(out);
  std::string code = e.code.empty() ? "server_error" : e.code;
  event("error", json::object{{"code", code}, {"message", e.message}, {"param", e.param.empty() ? json::value(nullptr) : json::value(e.param)}}, out);
  json::object r = base_response("failed");
  r["output"] = output_;
  r["error"] = json::object{{"code", code}, {"message", e.message}};
  event("response.failed", json::object{{"response", std::move(r)}}, out);
}

}  // namespace tollgate::dialects::openai::responses
