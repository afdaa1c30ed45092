// streamGenerateContent?alt=sse -> chat.completion.chunk, event by event. Each SSE event is a
// whole GenerateContentResponse holding the next piece of each candidate. Gemini sends a
// function call whole in one event, so each call becomes one tool_calls delta carrying id,
// name and all its arguments. Intermediate events carry usageMetadata without
// candidatesTokenCount: only the last one counts, and it goes out at finish() in a chunk with
// `choices: []` (OpenAI's include_usage shape).
#include <ctime>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/gemini/codec_impl.h"
#include "dialects/gemini/wire.h"

namespace tollgate::dialects::gemini {
namespace json = boost::json;

namespace {

class GeminiStreamDecoder final : public ChatStreamDecoder {
 public:
  explicit GeminiStreamDecoder(std::string_view model) : model_(model) {}

  void on_event(const http::SseEvent& ev, std::vector<std::string>& out) override {
    if (!ev.has_data || error_) return;
    std::string_view data = ev.data;
    while (!data.empty() && (data.back() == '\r' || data.back() == ' ')) data.remove_suffix(1);
    if (data.empty() || data == "[DONE]") return;

    boost::system::error_code ec;
    json::value doc = json::parse(data, ec);
    if (ec || !doc.is_object()) {
      error_ = ClassifiedError{
          core::GatewayError::make(core::ErrorKind::upstream,
                                   "The provider (Google Gemini) sent a stream event the gateway could not read.",
                                   "upstream_error"),
          ErrorClass::retryable};
      return;
    }
    const auto& r = doc.get_object();
    if (auto* err = r.if_contains("error"); err && err->is_object()) {
      error_ = classify_google_error(0, &err->get_object());
      return;
    }
    if (id_.empty()) {
      id_ = completion_id(r);
      created_ = static_cast<int64_t>(std::time(nullptr));
      if (auto* rid = r.if_contains("responseId"); rid && rid->is_string()) response_id_ = rid->get_string();
    }

    bool any_candidate = false;
    if (auto* cands = r.if_contains("candidates"); cands && cands->is_array()) {
      const auto& arr = cands->get_array();
      for (size_t ci = 0; ci < arr.size(); ++ci) {
        const auto* cand = arr[ci].if_object();
        if (!cand) continue;
        any_candidate = true;
        int64_t index = static_cast<int64_t>(ci);
        if (auto* ix = cand->if_contains("index"); ix && ix->is_int64()) index = ix->get_int64();
        on_candidate(index, *cand, out);
      }
    }
    if (!any_candidate) {
      if (auto* pf = r.if_contains("promptFeedback"); pf && pf->is_object() && pf->get_object().contains("blockReason")) {
        // The prompt was blocked: an empty answer that ends with content_filter.
        Choice& c = choices_[0];
        start(0, c, out);
        if (!c.finished) {
          c.finished = true;
          out.push_back(chunk(0, json::object{}, "content_filter"));
        }
      }
    }
    if (auto* um = r.if_contains("usageMetadata"); um && um->is_object()) {
      core::Usage u;
      wire::read_usage(um->get_object(), u);
      usage_ = u;
    }
  }

  void finish(std::vector<std::string>& out) override {
    if (error_ || finished_) return;
    finished_ = true;
    if (!usage_.known || id_.empty()) return;
    json::object c = envelope();
    c["choices"] = json::array();
    c["usage"] = wire::openai_usage(usage_);
    out.push_back(json::serialize(c));
  }

  const core::Usage& usage() const override { return usage_; }
  const std::optional<ClassifiedError>& error() const override { return error_; }

 private:
  struct Choice {
    bool started = false;
    bool finished = false;
    int64_t tool_calls = 0;  // the next tool_calls[].index of this choice
  };

  std::string model_;
  std::string id_;
  std::string response_id_;
  int64_t created_ = 0;
  std::map<int64_t, Choice> choices_;
  size_t call_number_ = 0;  // numbers the generated tool-call ids across choices
  core::Usage usage_;
  std::optional<ClassifiedError> error_;
  bool finished_ = false;

  json::object envelope() const {
    return json::object{{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
  }

  std::string chunk(int64_t index, json::object delta, std::string_view finish_reason = {}) const {
    json::object c = envelope();
    c["choices"] = json::array{json::object{
        {"index", index},
        {"delta", std::move(delta)},
        {"logprobs", nullptr},
        {"finish_reason", finish_reason.empty() ? json::value(nullptr) : json::value(finish_reason)}}};
    return json::serialize(c);
  }

  void start(int64_t index, Choice& c, std::vector<std::string>& out) {
    if (c.started) return;
    c.started = true;
    out.push_back(chunk(index, json::object{{"role", "assistant"}, {"content", ""}}));
  }

  void on_candidate(int64_t index, const json::object& cand, std::vector<std::string>& out) {
    Choice& c = choices_[index];
    if (c.finished) return;
    start(index, c, out);
    const json::value* content = cand.if_contains("content");
    const json::value* parts = content && content->is_object() ? content->get_object().if_contains("parts") : nullptr;
    if (parts && parts->is_array()) {
      for (const auto& pv : parts->get_array()) {
        const auto* p = pv.if_object();
        if (!p) continue;
        if (auto* t = p->if_contains("text"); t && t->is_string()) {
          if (t->get_string().empty()) continue;  // a bare thoughtSignature carrier
          bool thought = false;
          if (auto* th = p->if_contains("thought"); th && th->is_bool()) thought = th->get_bool();
          out.push_back(chunk(index, json::object{{thought ? "reasoning_content" : "content", *t}}));
        } else if (auto* fc = p->if_contains("functionCall"); fc && fc->is_object()) {
          const auto& f = fc->get_object();
          const json::value* name = f.if_contains("name");
          const json::value* args = f.if_contains("args");
          json::object call{
              {"index", c.tool_calls++},
              {"id", wire::tool_call_id(response_id_, call_number_++)},
              {"type", "function"},
              {"function", json::object{{"name", name && name->is_string() ? *name : json::value("")},
                                        {"arguments", args && args->is_object() ? json::serialize(*args)
                                                                                : std::string("{}")}}}};
          if (auto* sig = p->if_contains("thoughtSignature"); sig && sig->is_string())
            call["extra_content"] = json::object{{"google", json::object{{"thought_signature", *sig}}}};
          out.push_back(chunk(index, json::object{{"tool_calls", json::array{std::move(call)}}}));
        }
      }
    }
    if (auto* fr = cand.if_contains("finishReason"); fr && fr->is_string() && !fr->get_string().empty()) {
      c.finished = true;
      out.push_back(chunk(index, json::object{}, wire::finish_reason(fr->get_string(), c.tool_calls > 0)));
    }
  }
};

}  // namespace

std::unique_ptr<ChatStreamDecoder> GeminiCodec::stream_decoder(std::string_view upstream_model) const {
  return std::make_unique<GeminiStreamDecoder>(upstream_model);
}

}  // namespace tollgate::dialects::gemini
