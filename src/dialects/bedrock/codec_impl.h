// The Bedrock codec's pieces, shared by the files of this folder only. Callers use codec.h.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/usage.h"
#include "dialects/codec.h"

namespace tollgate::dialects::bedrock {

class BedrockCodec final : public ProviderCodec {
 public:
  // request.cc
  std::optional<core::GatewayError> encode_chat(const boost::json::object& request, const EncodeOptions& opts,
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
  std::optional<core::GatewayError> decode_embeddings(std::string_view body, std::string_view upstream_model,
                                                      boost::json::object& response,
                                                      core::Usage& usage) const override;
  ClassifiedError decode_error(int status, std::string_view body) const override;
  // stream.cc
  std::unique_ptr<ChatStreamDecoder> stream_decoder(std::string_view upstream_model) const override;
};

// response.cc: Bedrock's stopReason -> OpenAI finish_reason.
std::string_view finish_reason_for(std::string_view stop_reason);
// response.cc: a Converse `usage` object -> canonical usage (inputTokens + cache reads + cache
// writes = all prompt tokens).
void read_usage(const boost::json::object& usage, core::Usage& out);
// response.cc: "chatcmpl-" and 24 random hex digits (Bedrock answers carry no id).
std::string new_completion_id();

}  // namespace tollgate::dialects::bedrock
