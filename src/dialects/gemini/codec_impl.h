// The Gemini codec's pieces, shared by the files of this folder only. Callers use codec.h.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "dialects/codec.h"

namespace tollgate::dialects::gemini {

class GeminiCodec final : public ProviderCodec {
 public:
  // request.cc
  std::optional<core::GatewayError> encode_chat(const boost::json::object& request,
                                                const EncodeOptions& opts,
                                                const core::CompiledProvider& provider,
                                                EncodedRequest& out) const override;
  std::optional<core::GatewayError> encode_embeddings(const boost::json::object& request,
                                                      const EncodeOptions& opts,
                                                      const core::CompiledProvider& provider,
                                                      EncodedRequest& out) const override;
  // response.cc
  std::optional<core::GatewayError> decode_chat(std::string_view body, std::string_view upstream_model,
                                                boost::json::object& completion,
                                                core::Usage& usage) const override;
  std::optional<core::GatewayError> decode_embeddings(std::string_view body,
                                                      std::string_view upstream_model,
                                                      boost::json::object& response,
                                                      core::Usage& usage) const override;
  // stream.cc
  std::unique_ptr<ChatStreamDecoder> stream_decoder(std::string_view upstream_model) const override;
  // errors.cc
  ClassifiedError decode_error(int status, std::string_view body) const override;
};

// errors.cc: a Google error object ({code, message, status, details}) -> the caller's error.
// `http_status` is the HTTP status of the answer (0 when the error came inside a stream: the
// object's own `code` is used then).
ClassifiedError classify_google_error(int http_status, const boost::json::object* error);

// "chatcmpl-<responseId>", or a random id when Gemini sent none.
std::string completion_id(const boost::json::object& response);

}  // namespace tollgate::dialects::gemini
