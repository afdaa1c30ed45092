// ConverseStream -> chat.completion.chunk, event by event. The event stream arrives as SSE
// events (event_stream.h: EventStreamToSse), `event` = the Bedrock event type, `data` = its
// JSON payload:
//   messageStart {role}                                  -> the role chunk
//   contentBlockStart {contentBlockIndex, start:{toolUse:{toolUseId, name}}}
//                                                        -> tool_calls delta (index, id, name, "")
//   contentBlockDelta {contentBlockIndex, delta:{text} | {toolUse:{input: "<json piece>"}}
//                     | {reasoningContent:{text} | {signature} | {redactedContent}}}
//                                                        -> content / arguments / reasoning_content
//   contentBlockStop                                     -> nothing
//   messageStop {stopReason}                             -> the finish chunk
//   metadata {usage, metrics}                            -> usage, sent from finish()
//   <xxx>Exception {message}                             -> error()
// Payloads carry a padding member "p" (against length side channels): ignored, like every
// member not listed here.
#include <ctime>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "dialects/anthropic/wire.h"
#include "dialects/bedrock/codec.h"
#include "dialects/bedrock/codec_impl.h"
#include "dialects/bedrock/event_stream.h"
#include "dialects/json_fields.h"

namespace tollgate::dialects::bedrock {
namespace json = boost::json;

namespace {

bool ends_with_exception(std::string_view type) {
  constexpr std::string_view suffix = "Exception";
  return type.size() > suffix.size() && type.substr(type.size() - suffix.size()) == suffix;
}

class BedrockStreamDecoder final : public ChatStreamDecoder {
 public:
  explicit BedrockStreamDecoder(std::string_view model)
      : id_(new_completion_id()), model_(model), created_(static_cast<int64_t>(std::time(nullptr))) {}

  void on_event(const http::SseEvent& ev, std::vector<std::string>& out) override {
    if (error_) return;
    std::string_view type = ev.event;
    std::string_view data = ev.data;
    while (!data.empty() && (data.back() == '\r' || data.back() == ' ' || data.back() == '\n')) data.remove_suffix(1);

    json::value doc = json::object{};
    if (!data.empty()) {
      boost::system::error_code ec;
      doc = json::parse(data, ec);
      if (ec || !doc.is_object()) {
        if (ends_with_exception(type)) {
          error_ = classify_error(0, type, data);
        } else {
          error_ = ClassifiedError{
              core::GatewayError::make(core::ErrorKind::upstream,
                                       "The provider (AWS Bedrock) sent a stream event the gateway could not read.",
                                       "upstream_error"),
              ErrorClass::retryable};
        }
        return;
      }
    }
    const auto& o = doc.get_object();

    if (ends_with_exception(type)) {
      error_ = classify_error(0, type, str(o, "message"));
    } else if (type == "messageStart") {
      ensure_role(out);
    } else if (type == "contentBlockStart") {
      ensure_role(out);
      const auto* start = obj(o, "start");
      const auto* tu = start ? obj(*start, "toolUse") : nullptr;
      if (!tu) return;
      int64_t idx = next_tool_index_++;
      tool_index_[anthropic::json_int(o.if_contains("contentBlockIndex"))] = idx;
      json::object call{{"index", idx},
                        {"id", str(*tu, "toolUseId")},
                        {"type", "function"},
                        {"function", json::object{{"name", str(*tu, "name")}, {"arguments", ""}}}};
      emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
    } else if (type == "contentBlockDelta") {
      ensure_role(out);
      const auto* delta = obj(o, "delta");
      if (!delta) return;
      if (auto* t = delta->if_contains("text"); t && t->is_string()) {
        if (!t->get_string().empty()) emit(json::object{{"content", *t}}, out);
      } else if (const auto* tu = obj(*delta, "toolUse")) {
        auto it = tool_index_.find(anthropic::json_int(o.if_contains("contentBlockIndex")));
        auto piece = str(*tu, "input");
        if (it == tool_index_.end() || piece.empty()) return;
        json::object call{{"index", it->second}, {"function", json::object{{"arguments", piece}}}};
        emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
      } else if (const auto* rc = obj(*delta, "reasoningContent")) {
        if (auto t = str(*rc, "text"); !t.empty()) emit(json::object{{"reasoning_content", t}}, out);
        // The canonical chunk's extensions for signed reasoning (as the Anthropic decoder's).
        if (auto sig = str(*rc, "signature"); !sig.empty()) emit(json::object{{"thinking_signature", sig}}, out);
        if (auto data = str(*rc, "redactedContent"); !data.empty())
          emit(json::object{{"thinking_blocks", json::array{json::object{{"type", "redacted_thinking"}, {"data", data}}}}}, out);
      }
    } else if (type == "messageStop") {
      ensure_role(out);
      if (!finish_sent_) {
        finish_sent_ = true;
        emit(json::object{}, out, finish_reason_for(str(o, "stopReason")));
      }
    } else if (type == "metadata") {
      if (const auto* u = obj(o, "usage")) {
        core::Usage usage;
        read_usage(*u, usage);
        usage_ = usage;
      }
    }
    // contentBlockStop and event types added later: nothing to say.
  }

  // The usage chunk (`choices: []`, OpenAI's include_usage shape) always ends a stream that
  // did not fail; a stream cut before messageStop gets no invented finish reason.
  void finish(std::vector<std::string>& out) override {
    if (error_ || usage_sent_) return;
    usage_sent_ = true;
    json::object c = envelope();
    c["choices"] = json::array{};
    c["usage"] = anthropic::openai_usage(usage_);
    out.push_back(json::serialize(c));
  }

  const core::Usage& usage() const override { return usage_; }
  const std::optional<ClassifiedError>& error() const override { return error_; }

 private:
  json::object envelope() const {
    return json::object{{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
  }

  void emit(json::object delta, std::vector<std::string>& out, std::string_view finish_reason = {}) {
    json::object c = envelope();
    c["choices"] = json::array{json::object{
        {"index", 0},
        {"delta", std::move(delta)},
        {"logprobs", nullptr},
        {"finish_reason", finish_reason.empty() ? json::value(nullptr) : json::value(finish_reason)}}};
    out.push_back(json::serialize(c));
  }

  void ensure_role(std::vector<std::string>& out) {
    if (role_sent_) return;
    role_sent_ = true;
    emit(json::object{{"role", "assistant"}, {"content", ""}}, out);
  }

  std::string id_;
  std::string model_;
  int64_t created_;
  bool role_sent_ = false;
  bool finish_sent_ = false;
  bool usage_sent_ = false;
  std::map<int64_t, int64_t> tool_index_;  // contentBlockIndex -> tool_calls[].index
  int64_t next_tool_index_ = 0;
  core::Usage usage_;
  std::optional<ClassifiedError> error_;
};

}  // namespace

std::unique_ptr<ChatStreamDecoder> BedrockCodec::stream_decoder(std::string_view upstream_model) const {
  return std::make_unique<BedrockStreamDecoder>(upstream_model);
}

}  // namespace tollgate::dialects::bedrock
