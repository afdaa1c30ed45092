// The Gemini codec's pieces, shared by the files of this folder only. Callers use codec.h.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "dialects/codec.h"
#include "dialects/gemini/codec.h"

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


// "chatcmpl-<responseId>", or a random id when Gemini sent none.
std::string completion_id(const boost::json::object& response);

}  // namespace tollgate::dialects::gemini
