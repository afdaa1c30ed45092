// What a target cannot honour (issue 13, clauses 4 and 5), decided the same way for every
// translation: a parameter with an equivalent is mapped by the codecs; one without is dropped
// and named (ctx.dropped -> the x-tollgate-dropped header and the access log), or refused
// with a 400 naming it when the model sets strict_params. max_tokens above the target's
// output limit (the model resource's max_output_tokens, else the pricing catalog's) is
// clamped to it.
#pragma once

#include <cstdint>
#include <string_view>

#include <boost/json/object.hpp>

#include "dialects/codec.h"
#include "gateway/context.h"

namespace tollgate::gateway {

// Encoder options for the current target: drop and name in ctx.dropped, unless the model is
// strict (a caller's `x-tollgate-drop-unsupported: true` still drops).
dialects::EncodeOptions encode_options(RequestContext& ctx, std::string_view upstream_model, bool stream);

// The current target's output limit; 0 when neither the model nor the catalog knows it.
int64_t max_output_tokens(const RequestContext& ctx);

// A canonical request's max_completion_tokens / max_tokens clamped to the target's limit.
void clamp_max_tokens(const RequestContext& ctx, boost::json::object& canonical);
// `canonical` itself when its max tokens are within the target's limit, else a clamped copy
// made in `storage` (the common case copies nothing).
const boost::json::object& within_output_limit(const RequestContext& ctx, const boost::json::object& canonical,
                                               boost::json::object& storage);

// The canonical form's extensions an OpenAI-wire target would reject (top_k): removed and
// named, or a 400 when the model is strict.
std::optional<core::GatewayError> strip_for_openai_wire(RequestContext& ctx, boost::json::object& canonical);

// Names `param` as dropped (once) whatever the model's strictness: for provider state a client
// replays that the target cannot verify (a Gemini thought signature).
void name_dropped(RequestContext& ctx, std::string_view param);

// "a,b" for the x-tollgate-dropped header.
std::string dropped_header(const RequestContext& ctx);

}  // namespace tollgate::gateway
