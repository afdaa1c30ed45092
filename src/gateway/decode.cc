// Phase 3, decode: the body in the route's dialect. OpenAI routes only for now; the Anthropic
// Messages route decodes into the same facts.
#include "gateway/phases.h"

namespace tollgate::gateway {

std::optional<core::GatewayError> decode(RequestContext& ctx) {
  using dialects::openai::Endpoint;
  Endpoint ep;
  switch (ctx.route) {
    case Route::chat_completions: ep = Endpoint::chat_completions; break;
    case Route::completions: ep = Endpoint::completions; break;
    case Route::embeddings: ep = Endpoint::embeddings; break;
    default: return std::nullopt;
  }
  return dialects::openai::read_request(ctx.ex.body(), ep, ctx.doc, ctx.facts);
}

}  // namespace tollgate::gateway
