#include "dialects/codec.h"

#include "dialects/anthropic/codec.h"
#include "dialects/bedrock/codec.h"
#include "dialects/gemini/codec.h"

namespace tollgate::dialects {

const ProviderCodec* codec_for(core::ProviderKind kind) {
  switch (kind) {
    case core::ProviderKind::anthropic: return &anthropic::anthropic_codec();
    case core::ProviderKind::gemini: return &gemini::gemini_codec();
    case core::ProviderKind::bedrock: return &bedrock::bedrock_codec();
    default: return nullptr;  // OpenAI wire (the fast path) and the demo provider
  }
}

}  // namespace tollgate::dialects
