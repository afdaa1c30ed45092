// The Gemini API as an inbound dialect (POST /v1beta/models/{m}:generateContent and friends):
// Gemini-speaking clients (@google/genai, Gemini CLI, the AI SDK's google()) reach ANY provider
// through the canonical form. To a `gemini` provider the gateway takes the fast path instead
// (the body forwarded, only the model in the URL replaced); this file is for every other target.
//
// What the translation decides:
// - systemInstruction (any role; @google/genai sends "user") -> one system message.
// - contents: role "model" -> assistant (text joined, functionCall -> tool_calls, thought parts
//   dropped: they mean nothing elsewhere); role "user" (or none) -> tool messages for its
//   functionResponse parts first (OpenAI wants them right after the calls), then a user message
//   for its text and images. A call without `id` gets "call_<n>" (n counts calls in the
//   request); a functionResponse finds its call by `id`, else by name among the unanswered calls
//   of the turn before. `response` {"result": "<text>"} (or {"output": ...}) alone -> that text,
//   any other object -> its JSON.
// - inlineData / fileData with an image/* type -> image_url; other media are a 400 naming the part.
// - tools: functionDeclarations -> function tools (Gemini Schema -> JSON Schema: types lower-cased,
//   nullable -> ["T","null"]); parametersJsonSchema is taken as is. Other tools (googleSearch,
//   codeExecution, urlContext ...) are a 400 naming them for non-Gemini targets.
// - toolConfig.functionCallingConfig: AUTO -> "auto", NONE -> "none", ANY -> "required" (one
//   allowed name -> that function).
// - generationConfig: temperature, topP, topK (-> top_k, which OpenAI-wire targets drop and
//   name), maxOutputTokens (-> max_completion_tokens),
//   stopSequences, candidateCount (-> n), seed, presence/frequencyPenalty, responseMimeType
//   application/json (+ responseSchema / responseJsonSchema -> json_schema "response"),
//   thinkingConfig (thinkingBudget 0 -> none, <= 1024 low, <= 8192 medium, else high, -1 medium;
//   thinkingLevel as named) -> reasoning_effort.
// - A replayed thoughtSignature (Gemini's signed thinking, on a functionCall or text part of a
//   model turn) cannot be verified by any other provider: dropped and named in `dropped` as
//   kThoughtSignature, which the gateway names even for a strict model (it is the provider's
//   state the client replays, not a parameter the caller chose; refusing it would end the
//   conversation). Thought text parts are dropped with it.
// - Dropped, only steering, named in `dropped` (the gateway names them in x-tollgate-dropped,
//   or refuses them for a strict model): safetySettings, labels, serviceTier,
//   generationConfig.responseLogprobs/logprobs/mediaResolution. Refused (400): cachedContent,
//   responseModalities other than TEXT, speechConfig, unknown top-level fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/error.h"
#include "core/usage.h"

namespace tollgate::dialects::gemini {

// The name under which replayed thought signatures are dropped (x-tollgate-dropped).
inline constexpr std::string_view kThoughtSignature = "contents[].parts[].thoughtSignature";

enum class Method { generate, stream, count_tokens, embed, batch_embed };

// "/v1beta/models/{model}:{method}" (query string ignored) -> the model (percent-decoded, a
// leading "models/" dropped) and the method; nullopt when the path is not one of these.
struct CallerPath {
  std::string model;
  Method method = Method::generate;
};
std::optional<CallerPath> parse_caller_path(std::string_view target);
// The query asks for SSE (alt=sse); without it a stream is one JSON array.
bool wants_sse(std::string_view target);
// `key=` from the query string (percent-decoded), empty when absent.
std::string query_key(std::string_view target);

// Parses a request body: a JSON object, `contents` (for generate / stream / count_tokens: an
// array of objects when present) checked enough for the fast path. On success `doc` holds it.
std::optional<core::GatewayError> read_request(std::string_view body, Method method,
                                               boost::json::value& doc);

// Gemini GenerateContentRequest -> canonical chat request (stream + include_usage when
// `stream`). The names of what was dropped are appended to `dropped`.
std::optional<core::GatewayError> generate_to_chat(const boost::json::value& req, bool stream,
                                                   boost::json::object& chat,
                                                   std::vector<std::string>& dropped);

// A canonical chat.completion -> GenerateContentResponse; `model` is shown as modelVersion.
boost::json::object chat_to_generate(const boost::json::object& completion, std::string_view model);

// usage -> usageMetadata (candidatesTokenCount excludes thoughts, as Gemini counts them apart).
boost::json::object usage_metadata(const core::Usage& u);

// Canonical chunks -> Gemini's stream: one GenerateContentResponse per text or thought delta;
// function calls (streamed in pieces by OpenAI-shaped providers) gathered and sent whole with
// the finishReason in the last event, which carries usageMetadata (where clients read it).
// Events are SSE ("data: {...}\r\n\r\n", as Gemini frames them); ArrayFraming turns them into
// the one JSON array a caller without alt=sse reads.
class GenerateStreamEncoder {
 public:
  explicit GenerateStreamEncoder(std::string model) : model_(std::move(model)) {}
  void on_chunk(const boost::json::object& chunk, std::string& out);
  // The upstream ended well: the last event (finishReason, function calls, usage). `usage`
  // unknown: the usage seen in chunks is used.
  void finish(const core::Usage& usage, std::string& out);
  bool finished() const { return finished_; }

 private:
  struct Call {
    std::string id, name, args;
  };
  void emit(boost::json::object candidate, const core::Usage* usage, std::string& out);

  std::string model_;
  bool finished_ = false;
  std::string response_id_;
  std::string finish_reason_;
  std::vector<Call> calls_;
  core::Usage chunk_usage_;
};

// {"error":{"code":<status>,"message":...,"status":"INVALID_ARGUMENT"|...}}: Google's envelope.
std::string error_body(const core::GatewayError& e);
// An event of Google's error object, for a stream that fails after it started.
std::string stream_error_event(const core::GatewayError& e);

// SSE events (from the encoder or from Gemini itself) -> the one JSON array Gemini streams
// without alt=sse: "[" + each event's data joined by ",\r\n" + "]".
class ArrayFraming {
 public:
  void feed(std::string_view sse, std::string& out);
  void close(std::string& out);
  // An error object as the array's last element, closing it.
  void fail(std::string_view error_json, std::string& out);

 private:
  void element(std::string_view json, std::string& out);
  std::string pending_;
  bool opened_ = false;
  bool closed_ = false;
};

// Estimated tokens of a countTokens (or generateContent) request for targets that cannot count:
// ceil(bytes of every string in contents, systemInstruction and tools -- text, roles, names,
// args, declarations -- / 4) + 4 per content + 258 per image (Gemini's own size for an image up
// to 384 px). An estimate, never used for billing.
int64_t count_tokens_estimate(const boost::json::value& req);

// embedContent / batchEmbedContents request -> canonical embeddings request (input: texts).
std::optional<core::GatewayError> embed_to_openai(const boost::json::value& req, bool batch,
                                                  boost::json::object& out);
// OpenAI embeddings list -> EmbedContentResponse / BatchEmbedContentsResponse.
boost::json::object openai_to_embed(const boost::json::object& list, bool batch);

// The fast path's embed body: every `model` field set to "models/<upstream>" (Gemini requires
// the requests of a batch to name the URL's model).
std::string splice_embed(const boost::json::value& doc, std::string_view upstream_model);

// {"name":"models/<alias>", ...}: one entry of GET /v1beta/models.
boost::json::object model_entry(std::string_view alias);

}  // namespace tollgate::dialects::gemini
