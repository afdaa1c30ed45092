// Phase 6, admit: rate limits, concurrency and budgets for the key, its team, the model and the
// key on that model, all together. Tokens are admitted on an estimate and reconciled in settle; the
// concurrency slot (ctx.admission) lives as long as the request, streams included.
#include <algorithm>

#include <fmt/format.h>

#include "gateway/phases.h"
#include "obs/cost.h"

namespace tollgate::gateway {
namespace json = boost::json;

namespace {

limits::LimitSpec spec_of(const core::Limits& l) {
  limits::LimitSpec s;
  s.rpm = l.rpm;
  s.rpd = l.rpd;
  s.tpm = l.tpm;
  s.tpd = l.tpd;
  s.concurrency = l.concurrency;
  return s;
}

limits::BudgetSpec budget_of(const core::Budget& b) {
  limits::BudgetSpec s;
  s.usd_per_day = b.usd_per_day;
  s.usd_per_month = b.usd_per_month;
  s.usd_total = b.usd_total;
  s.warn_only = b.warn_only;
  return s;
}

int64_t int_of(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return 0;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  return 0;
}

int64_t prompt_estimate(const RequestContext& ctx) { return static_cast<int64_t>(ctx.ex.body().size() + 3) / 4; }

// The estimate priced at the dearest known prices of the model's targets (any may answer);
// reserved against the key's budget until settle knows the actual cost.
double estimate_cost_usd(const RequestContext& ctx, int64_t tokens) {
  double in = 0, out = 0;
  auto take = [&](const core::Pricing& p) {
    in = std::max({in, p.input.value_or(0), p.cache_creation.value_or(0)});
    out = std::max({out, p.output.value_or(0), p.reasoning.value_or(0)});
  };
  if (ctx.model)
    for (const auto& t : ctx.model->targets) take(t.pricing);
  else if (ctx.target)
    take(ctx.target->pricing);
  int64_t prompt = std::min(prompt_estimate(ctx), tokens);
  return (static_cast<double>(prompt) * in + static_cast<double>(tokens - prompt) * out) / 1e6;
}

}  // namespace

int64_t estimate_tokens(const RequestContext& ctx) {
  // No tokenizer fits every provider's models: about four bytes of request a token (the body
  // includes JSON punctuation, so this leans high), plus the completion the caller allows.
  // Settle replaces the estimate with the provider's count.
  int64_t prompt = prompt_estimate(ctx);
  int64_t completion = 0;
  if (ctx.doc.is_object()) {
    const auto& o = ctx.doc.as_object();
    // Clamped, so a hostile max_tokens or n cannot overflow the estimate.
    completion = std::max(int_of(o, "max_completion_tokens"), int_of(o, "max_tokens"));
    if (auto* g = o.if_contains("generationConfig"); g && g->is_object())  // Gemini callers
      completion = std::max(completion, int_of(g->get_object(), "maxOutputTokens"));
    completion = std::clamp<int64_t>(completion, 0, int64_t{1} << 40);
    if (auto* n = o.if_contains("n"); n && n->is_int64() && n->get_int64() > 1)
      completion *= std::min<int64_t>(n->get_int64(), 128);
  }
  return prompt + completion;
}

std::optional<core::GatewayError> admit(RequestContext& ctx) {
  auto* limiter = ctx.gateway.limiter.get();
  if (!limiter) return std::nullopt;
  const core::Key& key = *ctx.key;
  limits::AdmissionRequest req;
  req.key_id = key.id;
  req.model = std::string(ctx.alias());
  req.key_limits = spec_of(key.rules().limits);
  if (ctx.model) req.model_limits = spec_of(ctx.model->spec.limits);
  if (auto it = key.rules().model_limits.find(req.model); it != key.rules().model_limits.end())
    req.key_model_limits = spec_of(it->second);
  req.key_budget = budget_of(key.rules().budget);
  if (const core::Team* team = ctx.team) {
    req.team = team->name;
    req.team_limits = spec_of(team->limits);
    req.team_budget = budget_of(team->budget);
  }
  req.estimated_tokens = estimate_tokens(ctx);
  ctx.estimated_tokens = req.estimated_tokens;
  if (!req.key_budget.empty() || !req.team_budget.empty())
    req.estimated_cost_usd = estimate_cost_usd(ctx, req.estimated_tokens);

  auto decision = limiter->admit(req, ctx.admission);
  ctx.limit_decision = decision;
  if (decision.admitted) {
    if (decision.budget_warning) ctx.gateway.metrics.limit_event("budget_warning");
    return std::nullopt;
  }

  using R = limits::Decision::Reason;
  ctx.gateway.metrics.limit_event(decision.reason == R::budget ? "budget"
                                  : decision.reason == R::tokens ? "tokens"
                                  : decision.reason == R::concurrency ? "concurrency"
                                  : decision.reason == R::unavailable ? "unavailable"
                                                                      : "requests");
  if (decision.reason == R::budget) {
    return core::GatewayError::make(
        core::ErrorKind::rate_limit,
        decision.team_budget
            ? "You exceeded your current quota: this key's team budget is spent. Raise the team's budget or wait for "
              "the period to reset."
            : "You exceeded your current quota: this key's budget is spent. Raise the budget or wait for the period "
              "to reset.",
        "insufficient_quota");
  }
  std::string what = decision.reason == R::tokens        ? "tokens"
                     : decision.reason == R::concurrency ? "concurrent requests"
                     : decision.reason == R::unavailable ? "requests (the shared limit store is unreachable)"
                                                         : "requests";
  std::string message =
      decision.too_large
          ? fmt::format("Request too large: about {} tokens is more than this key's token limit allows at once.",
                        req.estimated_tokens)
          : fmt::format("Rate limit reached for {} on model {}. Retry after {} s.", what, ctx.facts.model,
                        limits::retry_after_seconds(decision.retry_after));
  return core::GatewayError::make(core::ErrorKind::rate_limit, std::move(message), "rate_limit_exceeded");
}

void settle(RequestContext& ctx) {
  if (ctx.target && ctx.usage.known) ctx.cost_usd = obs::cost_of(ctx.target->pricing, ctx.usage);
  if (!ctx.admission) return;
  // Unknown usage (the client left before the provider said) keeps the estimate charged.
  if (ctx.usage.known)
    ctx.admission->settle(ctx.usage.input_tokens + ctx.usage.output_tokens, ctx.cost_usd.value_or(0.0));
  ctx.admission.reset();  // releases the concurrency slot
}

}  // namespace tollgate::gateway
