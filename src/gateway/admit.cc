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

int64_t int_of(const json::value* v) {
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
    // The four members read here, in one walk of the body's top-level members rather than a
    // lookup each (a parsed object holds each key once).
    const json::value *max_completion = nullptr, *max_tokens = nullptr, *generation = nullptr, *n = nullptr;
    for (const auto& kv : ctx.doc.get_object()) {
      const std::string_view k = kv.key();
      if (k == "max_tokens") max_tokens = &kv.value();
      else if (k == "max_completion_tokens") max_completion = &kv.value();
      else if (k == "generationConfig") generation = &kv.value();
      else if (k == "n") n = &kv.value();
    }
    // Clamped, so a hostile max_tokens or n cannot overflow the estimate.
    completion = std::max(int_of(max_completion), int_of(max_tokens));
    if (generation && generation->is_object())  // Gemini callers
      if (auto* g = generation->get_object().if_contains("maxOutputTokens")) completion = std::max(completion, int_of(g));
    completion = std::clamp<int64_t>(completion, 0, int64_t{1} << 40);
    if (n && n->is_int64() && n->get_int64() > 1) completion *= std::min<int64_t>(n->get_int64(), 128);
  }
  return prompt + completion;
}

std::optional<core::GatewayError> admit(RequestContext& ctx) {
  auto* limiter = ctx.gateway.limiter.get();
  if (!limiter) return std::nullopt;
  const core::Key& key = *ctx.key;
  // One request per thread whose strings keep their buffers from one admission to the next
  // (a key id outgrows the short-string buffer): the limiter reads it synchronously. Every
  // field is set below.
  thread_local limits::AdmissionRequest req;
  req.key_id.assign(key.id);
  req.model.assign(ctx.alias());
  req.key_limits = spec_of(key.rules().limits);
  req.model_limits = ctx.model ? spec_of(ctx.model->spec.limits) : limits::LimitSpec{};
  auto it = key.rules().model_limits.find(req.model);
  req.key_model_limits = it != key.rules().model_limits.end() ? spec_of(it->second) : limits::LimitSpec{};
  req.key_budget = budget_of(key.rules().budget);
  if (const core::Team* team = ctx.team) {
    req.team.assign(team->name);
    req.team_limits = spec_of(team->limits);
    req.team_budget = budget_of(team->budget);
  } else {
    req.team.clear();
    req.team_limits = {};
    req.team_budget = {};
  }
  req.estimated_tokens = estimate_tokens(ctx);
  ctx.estimated_tokens = req.estimated_tokens;
  req.estimated_cost_usd = !req.key_budget.empty() || !req.team_budget.empty()
                               ? estimate_cost_usd(ctx, req.estimated_tokens)
                               : 0;

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
