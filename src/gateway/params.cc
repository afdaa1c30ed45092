// Parameters a target cannot honour, and the target's limits: see params.h.
#include "gateway/params.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "obs/pricing.h"

namespace tollgate::gateway {
namespace json = boost::json;

dialects::EncodeOptions encode_options(RequestContext& ctx, std::string_view upstream_model, bool stream) {
  auto opt_in = ctx.ex.header("x-tollgate-drop-unsupported");
  const bool strict = ctx.model && ctx.model->spec.strict_params && opt_in != "true" && opt_in != "1";
  return dialects::EncodeOptions{upstream_model, stream, !strict, &ctx.dropped};
}

int64_t max_output_tokens(const RequestContext& ctx) {
  if (ctx.model && ctx.model->spec.max_output_tokens > 0) return ctx.model->spec.max_output_tokens;
  if (!ctx.target) return 0;
  return obs::PricingCatalog::builtin()
      .limits(core::to_string(ctx.target->provider->spec.kind), ctx.target->upstream_model)
      .max_output_tokens;
}

void clamp_max_tokens(const RequestContext& ctx, json::object& canonical) {
  const int64_t limit = max_output_tokens(ctx);
  if (limit <= 0) return;
  for (const char* k : {"max_completion_tokens", "max_tokens"}) {
    auto* v = canonical.if_contains(k);
    if (v && v->is_int64() && v->get_int64() > limit) *v = limit;
    else if (v && v->is_uint64()) *v = limit;  // above int64: above every limit
  }
}

const json::object& within_output_limit(const RequestContext& ctx, const json::object& canonical,
                                       json::object& storage) {
  const int64_t limit = max_output_tokens(ctx);
  if (limit <= 0) return canonical;
  bool over = false;
  for (const char* k : {"max_completion_tokens", "max_tokens"}) {
    auto* v = canonical.if_contains(k);
    over = over || (v && ((v->is_int64() && v->get_int64() > limit) || v->is_uint64()));
  }
  if (!over) return canonical;
  storage = canonical;
  clamp_max_tokens(ctx, storage);
  return storage;
}

std::optional<core::GatewayError> strip_for_openai_wire(RequestContext& ctx, json::object& canonical) {
  auto opts = encode_options(ctx, ctx.target->upstream_model, false);
  for (const char* k : {"top_k"}) {
    if (!canonical.contains(k)) continue;
    if (!opts.drop(k))
      return core::GatewayError::make(core::ErrorKind::invalid_request,
                                      fmt::format("{}: not supported by the target provider", k),
                                      "unsupported_parameter", k);
    canonical.erase(k);
  }
  return std::nullopt;
}

void name_dropped(RequestContext& ctx, std::string_view param) {
  if (std::find(ctx.dropped.begin(), ctx.dropped.end(), param) == ctx.dropped.end()) ctx.dropped.emplace_back(param);
}

std::string dropped_header(const RequestContext& ctx) {
  return fmt::format("{}", fmt::join(ctx.dropped, ","));
}

}  // namespace tollgate::gateway
