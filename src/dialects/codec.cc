#include "dialects/codec.h"

namespace tollgate::dialects {

const ProviderCodec* codec_for(core::ProviderKind kind) {
  switch (kind) {
    default: return nullptr;  // TEMPORARY until the anthropic and gemini codecs land
  }
}

}  // namespace tollgate::dialects
