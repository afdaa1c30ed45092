#include "dialects/gemini/codec.h"

#include "dialects/gemini/codec_impl.h"

namespace tollgate::dialects::gemini {

const ProviderCodec& gemini_codec() {
  static const GeminiCodec codec;
  return codec;
}

}  // namespace tollgate::dialects::gemini
