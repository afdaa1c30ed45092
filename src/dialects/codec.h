// Translation between the canonical form and a provider's own dialect. The canonical form is
// OpenAI chat shaped (DESIGN.md): a request is an OpenAI chat.completions request document,
// an answer a chat.completion object, a stream a sequence of chat.completion.chunk objects.
// So N dialects need N codecs, not N^2 translators. Each dialect lives in its own folder with
// its wire types beside its translation (dialects/anthropic, dialects/gemini, ...).
//
// Same dialect in and out never comes here: that is the fast path (dialects/openai/fast_path.h,
// dialects/anthropic/fast_path.h).
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/error.h"
#include "core/snapshot.h"
#include "core/usage.h"
#include "http/server.h"
#include "http/sse.h"

namespace tollgate::dialects {

// How an error is classified, so routing can act on it (retry, fall back, give up).
enum class ErrorClass { none, retryable, rate_limited, auth, invalid_request, context_length,
                        content_filter, not_found, other };

struct ClassifiedError {
  core::GatewayError error;  // status, kind, message and code for the caller
  ErrorClass cls = ErrorClass::other;
};

// A request ready for the provider: path (after the provider's base URL path), headers
// (auth included), body.
struct EncodedRequest {
  std::string path;
  http::Headers headers;
  std::string body;
};

// Turns a provider's stream into OpenAI chat.completion.chunk documents, event by event.
// Stateful: it remembers tool-call indexes, the message id, usage seen so far.
class ChatStreamDecoder {
 public:
  virtual ~ChatStreamDecoder() = default;
  // One provider SSE event in; zero or more serialized chunk objects appended to `out`.
  virtual void on_event(const http::SseEvent& ev, std::vector<std::string>& out) = 0;
  // The provider's stream ended: append any last chunks (finish reason, usage).
  virtual void finish(std::vector<std::string>& out) = 0;
  virtual const core::Usage& usage() const = 0;
  // Set when the provider sent an error event mid-stream.
  virtual const std::optional<ClassifiedError>& error() const = 0;
};

// Options every encoder honours.
struct EncodeOptions {
  std::string_view upstream_model;
  bool stream = false;
  // Drop parameters the target cannot honour instead of answering 400 naming them. The gateway
  // drops by default (a model with strict_params: true asks for the 400).
  bool drop_unsupported = false;
  // Where the names of dropped parameters go (the request's list: x-tollgate-dropped and the
  // access log), or nowhere.
  std::vector<std::string>* dropped = nullptr;

  // True when `param` may be dropped, and then named in `dropped` once; false: answer 400.
  bool drop(std::string_view param) const {
    if (!drop_unsupported) return false;
    if (dropped && std::find(dropped->begin(), dropped->end(), param) == dropped->end())
      dropped->emplace_back(param);
    return true;
  }
};

// One provider family's translation of chat (and embeddings, where the provider has them).
class ProviderCodec {
 public:
  virtual ~ProviderCodec() = default;

  // canonical chat request -> provider request. A parameter the provider cannot honour is a
  // 400 naming it, unless opts.drop() allows dropping it.
  virtual std::optional<core::GatewayError> encode_chat(const boost::json::object& request,
                                                        const EncodeOptions& opts,
                                                        const core::CompiledProvider& provider,
                                                        EncodedRequest& out) const = 0;
  // A whole provider answer (2xx) -> chat.completion object, and its usage.
  virtual std::optional<core::GatewayError> decode_chat(std::string_view body,
                                                        std::string_view upstream_model,
                                                        boost::json::object& completion,
                                                        core::Usage& usage) const = 0;
  virtual std::unique_ptr<ChatStreamDecoder> stream_decoder(std::string_view upstream_model) const = 0;

  // A provider error answer (status >= 400) -> the caller's error and its class.
  virtual ClassifiedError decode_error(int status, std::string_view body) const = 0;

  // Embeddings; providers without them answer 400 from encode.
  virtual std::optional<core::GatewayError> encode_embeddings(const boost::json::object& request,
                                                              const EncodeOptions& opts,
                                                              const core::CompiledProvider& provider,
                                                              EncodedRequest& out) const = 0;
  virtual std::optional<core::GatewayError> decode_embeddings(std::string_view body,
                                                              std::string_view upstream_model,
                                                              boost::json::object& response,
                                                              core::Usage& usage) const = 0;
};

// The codec for a provider kind; nullptr for kinds that speak OpenAI chat natively
// (openai, openai-compatible, azure: the fast path) and for demo.
const ProviderCodec* codec_for(core::ProviderKind kind);

}  // namespace tollgate::dialects
