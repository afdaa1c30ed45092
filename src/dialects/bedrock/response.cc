// Bedrock Converse answers and errors -> canonical (chat.completion, ClassifiedError).
#include <algorithm>
#include <cctype>
#include <ctime>
#include <random>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "dialects/anthropic/wire.h"
#include "dialects/bedrock/codec.h"
#include "dialects/bedrock/codec_impl.h"
#include "dialects/bedrock/event_stream.h"
#include "dialects/json_fields.h"

namespace tollgate::dialects::bedrock {
namespace json = boost::json;
using core::ErrorKind;
using core::GatewayError;

namespace {

bool contains(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

// "ValidationException:http://internal...", "com.amazon.coral#ValidationException",
// "validationException" -> "validationexception".
std::string normalise_type(std::string_view type) {
  if (auto colon = type.find(':'); colon != std::string_view::npos) type = type.substr(0, colon);
  if (auto hash = type.rfind('#'); hash != std::string_view::npos) type = type.substr(hash + 1);
  std::string out;
  for (char c : type) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

ClassifiedError make(ErrorKind kind, ErrorClass cls, std::string message, std::string code) {
  return ClassifiedError{GatewayError::make(kind, std::move(message), std::move(code)), cls};
}

}  // namespace

std::string_view finish_reason_for(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "guardrail_intervened" || stop_reason == "content_filtered") return "content_filter";
  return "stop";  // end_turn, stop_sequence, and anything newer
}

void read_usage(const json::object& u, core::Usage& out) {
  out.known = true;
  int64_t input = anthropic::json_int(u.if_contains("inputTokens"));
  out.cached_input_tokens = anthropic::json_int(u.if_contains("cacheReadInputTokens"));
  out.cache_creation_tokens = anthropic::json_int(u.if_contains("cacheWriteInputTokens"));
  out.input_tokens = input + out.cached_input_tokens + out.cache_creation_tokens;
  out.output_tokens = anthropic::json_int(u.if_contains("outputTokens"));
}

std::string new_completion_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("chatcmpl-{:016x}{:08x}", rng(), static_cast<uint32_t>(rng()));
}

std::optional<GatewayError> BedrockCodec::decode_chat(std::string_view body, std::string_view upstream_model,
                                                      json::object& completion, core::Usage& usage) const {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  const json::object* output = !ec && doc.is_object() ? obj(doc.get_object(), "output") : nullptr;
  const json::object* message = output ? obj(*output, "message") : nullptr;
  if (!message)
    return GatewayError::make(ErrorKind::upstream, "AWS Bedrock answered with a body that is not a Converse answer.",
                              "upstream_error");
  const auto& r = doc.get_object();

  std::string text, reasoning;
  json::array tool_calls, thinking_blocks;
  if (auto* c = message->if_contains("content"); c && c->is_array()) {
    for (const auto& bv : c->get_array()) {
      const auto* b = bv.if_object();
      if (!b) continue;
      if (auto* t = b->if_contains("text"); t && t->is_string()) {
        text.append(t->get_string());
      } else if (const auto* tu = obj(*b, "toolUse")) {
        const json::value* input = tu->if_contains("input");
        tool_calls.push_back(json::object{
            {"id", str(*tu, "toolUseId")},
            {"type", "function"},
            {"function", json::object{{"name", str(*tu, "name")},
                                      {"arguments", input && !input->is_null() ? json::serialize(*input) : "{}"}}}});
      } else if (const auto* rc = obj(*b, "reasoningContent")) {
        // Kept in Anthropic's shape too (thinking_blocks), as the anthropic codec does, so the
        // signed reasoning can be sent back in a tool-use loop.
        if (const auto* rt = obj(*rc, "reasoningText")) {
          reasoning.append(str(*rt, "text"));
          json::object tb{{"type", "thinking"}, {"thinking", str(*rt, "text")}};
          if (auto sig = str(*rt, "signature"); !sig.empty()) tb["signature"] = sig;
          thinking_blocks.push_back(std::move(tb));
        } else if (auto red = str(*rc, "redactedContent"); !red.empty()) {
          thinking_blocks.push_back(json::object{{"type", "redacted_thinking"}, {"data", red}});
        }
      }
      // image, document, citationsContent, guardContent: nothing an OpenAI client reads.
    }
  }

  json::object msg{{"role", "assistant"}};
  if (text.empty() && !tool_calls.empty()) msg["content"] = nullptr;
  else msg["content"] = text;
  msg["refusal"] = nullptr;
  if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
  if (!thinking_blocks.empty()) msg["thinking_blocks"] = std::move(thinking_blocks);
  if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);

  usage = core::Usage{};
  if (const auto* u = obj(r, "usage")) read_usage(*u, usage);

  completion = json::object{
      {"id", new_completion_id()},
      {"object", "chat.completion"},
      {"created", static_cast<int64_t>(std::time(nullptr))},
      {"model", upstream_model},
      {"choices", json::array{json::object{{"index", 0},
                                           {"message", std::move(msg)},
                                           {"logprobs", nullptr},
                                           {"finish_reason", finish_reason_for(str(r, "stopReason"))}}}},
      {"usage", anthropic::openai_usage(usage)}};
  return std::nullopt;
}

std::optional<GatewayError> BedrockCodec::decode_embeddings(std::string_view, std::string_view, json::object&,
                                                            core::Usage&) const {
  return GatewayError::make(ErrorKind::invalid_request,
                            "Embeddings are not available for provider kind bedrock (Converse serves chat only).",
                            "unsupported_endpoint", "model");
}

ClassifiedError BedrockCodec::decode_error(int status, std::string_view body) const {
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  std::string_view type, message;
  if (!ec && doc.is_object()) {
    const auto& o = doc.get_object();
    message = str(o, "message");
    if (message.empty()) message = str(o, "Message");
    type = str(o, "__type");
    if (type.empty()) type = str(o, "code");
  }
  if (message.empty() && ec) message = body.substr(0, 512);  // a proxy's page, say
  return classify_error(status, type, message);
}

ClassifiedError classify_error(int status, std::string_view raw_type, std::string_view message) {
  std::string type = normalise_type(raw_type);
  std::string said = message.empty() ? fmt::format("HTTP {}{}{}", status, raw_type.empty() ? "" : " ", raw_type)
                                     : std::string(message);
  auto is = [&](std::string_view t) { return type == t; };

  if (is("throttlingexception") || is("servicequotaexceededexception") || status == 429) {
    if (is("modelnotreadyexception"))
      return make(ErrorKind::unavailable, ErrorClass::retryable,
                  fmt::format("The provider (AWS Bedrock) is not ready to serve this model: {}", said),
                  "upstream_unavailable");
    return make(ErrorKind::rate_limit, ErrorClass::rate_limited,
                fmt::format("The provider (AWS Bedrock) is rate limiting requests: {}", said), "rate_limit_exceeded");
  }
  if (is("modelnotreadyexception"))
    return make(ErrorKind::unavailable, ErrorClass::retryable,
                fmt::format("The provider (AWS Bedrock) is not ready to serve this model: {}", said),
                "upstream_unavailable");
  if (is("unrecognizedclientexception") || is("invalidsignatureexception") || is("expiredtokenexception") ||
      is("incompletesignatureexception") || is("missingauthenticationtokenexception") ||
      is("invalidclienttokenid") || is("signaturedoesnotmatch") || status == 401 ||
      (status == 403 && (contains(said, "security token") || contains(said, "signature") ||
                          contains(said, "credential"))))
    return make(ErrorKind::authentication, ErrorClass::auth,
                fmt::format("The provider (AWS Bedrock) rejected the gateway's credentials for this model: {} The "
                            "gateway operator must fix the provider's AWS credentials.",
                            said),
                "upstream_authentication_error");
  if (is("accessdeniedexception") || status == 403)
    return make(ErrorKind::permission, ErrorClass::auth,
                fmt::format("The provider (AWS Bedrock) denied access: {}", said), "upstream_permission_error");
  if (is("resourcenotfoundexception") || status == 404)
    return make(ErrorKind::not_found, ErrorClass::not_found,
                fmt::format("The provider (AWS Bedrock) does not know this model: {}", said), "model_not_found");
  if (is("modeltimeoutexception") || status == 408)
    return make(ErrorKind::timeout, ErrorClass::retryable, fmt::format("The provider (AWS Bedrock) timed out: {}", said),
                "upstream_timeout");
  if (is("serviceunavailableexception") || status == 503)
    return make(ErrorKind::unavailable, ErrorClass::retryable,
                fmt::format("The provider (AWS Bedrock) is unavailable: {}", said), "upstream_unavailable");
  if (is("internalserverexception") || is("modelstreamerrorexception") || is(normalise_type(kMalformedStreamEvent)) ||
      status >= 500)
    return make(ErrorKind::upstream, ErrorClass::retryable, fmt::format("The provider (AWS Bedrock) failed: {}", said),
                "upstream_error");
  if (is("modelerrorexception") || status == 424)
    return make(ErrorKind::upstream, ErrorClass::other,
                fmt::format("The model behind the provider (AWS Bedrock) failed: {}", said), "upstream_error");
  if (contains(said, "too long") || contains(said, "too many input tokens") || contains(said, "context length") ||
      contains(said, "context window") ||
      ((contains(said, "max tokens") || contains(said, "maximum tokens") || contains(said, "max_tokens")) &&
       (contains(said, "exceed") || contains(said, "too"))))
    return make(ErrorKind::invalid_request, ErrorClass::context_length,
                fmt::format("This model's maximum context length was exceeded: {}", said), "context_length_exceeded");
  if (status == 413)
    return make(ErrorKind::payload_too_large, ErrorClass::invalid_request,
                fmt::format("The request is too large for the provider (AWS Bedrock): {}", said), "request_too_large");
  if (is("validationexception") || (status >= 400 && status < 500)) {
    ClassifiedError c = make(ErrorKind::invalid_request, ErrorClass::invalid_request,
                             fmt::format("The provider (AWS Bedrock) rejected the request: {}", said), "invalid_request");
    return c;
  }
  return make(ErrorKind::upstream, ErrorClass::other,
              fmt::format("The provider (AWS Bedrock) answered with an error: {}", said), "upstream_error");
}

const ProviderCodec& bedrock_codec() {
  static const BedrockCodec codec;
  return codec;
}

}  // namespace tollgate::dialects::bedrock
