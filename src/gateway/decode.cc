// Phase 3, decode: the body in the route's dialect, checked for what the gateway relies on.
// The parsed document is kept (ctx.doc); the original bytes stay in the exchange for the fast
// path.
#include "dialects/anthropic/fast_path.h"
#include "gateway/dispatch.h"
#include "gateway/phases.h"

namespace tollgate::gateway {

std::optional<core::GatewayError> decode(RequestContext& ctx) {
  using dialects::openai::Endpoint;
  switch (ctx.route) {
    case Route::chat_completions:
      return dialects::openai::read_request(ctx.ex.body(), Endpoint::chat_completions, ctx.doc, ctx.facts);
    case Route::completions:
      return dialects::openai::read_request(ctx.ex.body(), Endpoint::completions, ctx.doc, ctx.facts);
    case Route::embeddings:
      return dialects::openai::read_request(ctx.ex.body(), Endpoint::embeddings, ctx.doc, ctx.facts);
    case Route::responses:
    case Route::responses_input_tokens:
      return dialects::openai::read_request(ctx.ex.body(), Endpoint::responses, ctx.doc, ctx.facts);
    case Route::messages:
    case Route::count_tokens: {
      dialects::anthropic::RequestFacts facts;
      auto err = dialects::anthropic::read_request(
          ctx.ex.body(),
          ctx.route == Route::messages ? dialects::anthropic::Endpoint::messages
                                       : dialects::anthropic::Endpoint::count_tokens,
          ctx.doc, facts);
      ctx.facts.model = std::move(facts.model);
      ctx.facts.stream = facts.stream && ctx.route == Route::messages;
      // Anthropic streams always carry usage; nothing to hide from the caller.
      ctx.facts.caller_wants_usage = true;
      return err;
    }
    case Route::gemini_generate:
    case Route::gemini_stream:
    case Route::gemini_count_tokens:
    case Route::gemini_embed:
    case Route::gemini_batch_embed:
      return decode_gemini(ctx);
    default:
      return std::nullopt;
  }
}

}  // namespace tollgate::gateway
