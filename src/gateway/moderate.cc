// Phase 5b, moderate: the moderation guardrails of the key and the model (kind: moderation)
// post the request's user and tool texts, after the guard phase redacted them, to an OpenAI
// moderation-compatible endpoint and judge its answer. Blocks answer in the caller's dialect
// naming the policy and the categories; monitor only records. An endpoint that fails or is
// late refuses the request with 503, or lets it through when the policy says fail_open.
#include <algorithm>
#include <chrono>
#include <map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "gateway/dispatch.h"
#include "gateway/phases.h"
#include "http/client.h"

namespace tollgate::gateway {
namespace json = boost::json;
namespace net = boost::asio;
using core::ErrorKind;
using core::GatewayError;

namespace {

constexpr std::size_t kMaxModerationAnswer = 1 << 20;

// What one policy concluded: the categories that count, or why it could not tell.
struct Judgement {
  std::vector<guardrails::Finding> findings;
  std::string failure;  // "" when the endpoint answered
};

bool category_wanted(const core::Guardrail& g, std::string_view category) {
  if (g.categories.empty()) return true;
  for (const auto& c : g.categories)
    if (c == category) return true;
  return false;
}

// The endpoint's answer: one result per input; a category counts when the policy's threshold
// is reached by its score, or (no threshold) when the endpoint flagged it.
Judgement judge(const core::Guardrail& g, std::string_view body) {
  Judgement j;
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  const json::array* results = nullptr;
  if (!ec && doc.is_object())
    if (auto* r = doc.get_object().if_contains("results"); r && r->is_array()) results = &r->get_array();
  if (!results) {
    j.failure = "the moderation endpoint's answer has no results";
    return j;
  }
  const bool block = g.mode == "block";
  std::map<std::string, double, std::less<>> hits;  // category -> highest score over inputs
  for (const auto& result : *results) {
    const auto* ro = result.if_object();
    if (!ro) continue;
    const json::object* flags = nullptr;
    const json::object* scores = nullptr;
    if (auto* c = ro->if_contains("categories"); c && c->is_object()) flags = &c->get_object();
    if (auto* s = ro->if_contains("category_scores"); s && s->is_object()) scores = &s->get_object();
    auto score_of = [&](std::string_view category) -> double {
      if (!scores) return 0;
      auto* v = scores->if_contains(category);
      if (!v) return 0;
      if (v->is_double()) return v->get_double();
      if (v->is_int64()) return static_cast<double>(v->get_int64());
      return 0;
    };
    auto consider = [&](std::string_view category) {
      if (!category_wanted(g, category)) return;
      double score = score_of(category);
      bool counts = false;
      if (g.threshold_given) {
        counts = score >= g.threshold;
      } else if (flags) {
        auto* f = flags->if_contains(category);
        counts = f && f->is_bool() && f->get_bool();
      }
      if (!counts) return;
      auto [it, fresh] = hits.emplace(std::string(category), score);
      if (!fresh) it->second = std::max(it->second, score);
    };
    // Scores name every category the endpoint knows; flags alone when it sent no scores.
    if (scores) {
      for (const auto& kv : *scores) consider(kv.key());
    } else if (flags) {
      for (const auto& kv : *flags) consider(kv.key());
    }
  }
  for (const auto& [category, score] : hits) {
    guardrails::Finding f;
    f.policy = g.name;
    f.entity = category;
    f.score = score;
    f.acted = block;
    j.findings.push_back(std::move(f));
  }
  return j;
}

net::awaitable<Judgement> ask(const core::ModerationPolicy& policy, const std::vector<std::string>& inputs) {
  const core::Guardrail& g = *policy.spec;
  const core::CompiledProvider& provider = *policy.provider;
  Judgement j;
  json::object payload;
  json::array input;
  for (const auto& t : inputs) input.emplace_back(json::string_view(t));
  payload["input"] = std::move(input);
  if (!g.model.empty()) payload["model"] = g.model;

  http::OutgoingRequest req;
  req.target = provider.endpoint.path_prefix + "/moderations";
  openai_headers(provider, req);
  req.body = json::serialize(payload);

  // The policy's timeout caps each wait: connecting, the answer's head, its body.
  const core::Timeouts timeouts = within(provider.spec.timeouts, std::chrono::milliseconds(g.timeout_ms));

  http::UpstreamCall call;
  auto f = co_await call.send(provider.endpoint, timeouts, provider.spec.verify_tls, req);
  if (f != http::UpstreamFailure::none) {
    j.failure = fmt::format("the moderation endpoint failed ({})", http::describe(f));
    co_return j;
  }
  std::string body;
  f = co_await call.read_all(body, kMaxModerationAnswer);
  if (f != http::UpstreamFailure::none) {
    j.failure = fmt::format("the moderation endpoint failed ({})", http::describe(f));
    co_return j;
  }
  if (call.status() != 200) {
    // Its body is not repeated: an endpoint's 401 may quote the credential.
    j.failure = fmt::format("the moderation endpoint answered HTTP {}", call.status());
    co_return j;
  }
  co_return judge(g, body);
}

}  // namespace

net::awaitable<std::optional<GatewayError>> moderate(RequestContext& ctx) {
  // Counting tokens sends nothing to a model: nothing to judge.
  if (!ctx.snapshot->has_moderation() || ctx.route == Route::count_tokens) co_return std::nullopt;
  std::vector<const core::ModerationPolicy*> policies;
  auto add = [&](const std::vector<std::string>& names) {
    for (const auto& n : names)
      if (const auto* p = ctx.snapshot->moderation(n))
        if (std::find(policies.begin(), policies.end(), p) == policies.end()) policies.push_back(p);
  };
  add(ctx.key->rules().guardrails);
  if (ctx.model) add(ctx.model->spec.guardrails);
  if (policies.empty()) co_return std::nullopt;

  std::vector<std::string> inputs = moderation_inputs(ctx);
  if (inputs.empty()) co_return std::nullopt;

  for (const auto* policy : policies) {
    const core::Guardrail& g = *policy->spec;
    auto started = std::chrono::steady_clock::now();
    Judgement j = co_await ask(*policy, inputs);
    ctx.gateway.metrics.moderation_call(g.name, j.failure.empty() ? "ok" : "error",
                                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (!j.failure.empty()) {
      if (g.fail_open) continue;
      ctx.error = "guardrail_unavailable";
      GatewayError e = GatewayError::make(
          ErrorKind::unavailable,
          fmt::format("Guardrail policy '{}' could not judge the request: {}.", g.name, j.failure),
          "guardrail_unavailable");
      co_return e;
    }
    note_guard_findings(ctx, j.findings, false);
    std::string categories;
    for (const auto& f : j.findings)
      if (f.acted) categories += (categories.empty() ? "" : ", ") + f.entity;
    if (!categories.empty()) {
      ctx.error = "guardrail_blocked";
      GatewayError e = GatewayError::make(
          ErrorKind::invalid_request,
          fmt::format("The request was blocked by guardrail policy '{}' (moderation: {}).", g.name, categories),
          "guardrail_blocked");
      co_return e;
    }
  }
  co_return std::nullopt;
}

}  // namespace tollgate::gateway
