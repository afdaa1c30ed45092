// Phase 6b, cache: between admit and dispatch. A request under a cache policy (the key's, else
// its team's, else the model's) is looked up by the hash of what determines its answer (cache/cache_key.h);
// a hit is answered from the stored canonical completion in the caller's dialect, whole or as
// a stream, through the output guardrails like a fresh answer; a miss taps the answer on its
// way out (relay.cc, respond_completion) and stores it once it completed well.
//
// A hit was admitted (it counts against request limits and holds no concurrency slot for
// long) but spends no tokens and no budget: its admission is settled at zero before the answer
// goes out. What it saved is recorded instead (ctx.cache.saved, saved_usd).
//
// A semantic policy looks the exact key up first, then embeds the request's text
// (cache_embed.cc) and asks the policy's index (cache/semantic.h) for the nearest stored
// request of the same partition above the threshold; a miss's answer joins the index.
#include <boost/json/serialize.hpp>

#include "cache/cache_key.h"
#include "cache/entry.h"
#include "cache/policy.h"
#include "cache/semantic.h"
#include "dialects/gemini/inbound.h"
#include "gateway/dispatch.h"
#include "gateway/phases.h"
#include "obs/cost.h"

namespace tollgate::gateway {
namespace net = boost::asio;
namespace json = boost::json;

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

net::awaitable<void> answer_hit(RequestContext& ctx, cache::Entry& entry) {
  if (ctx.admission) {
    ctx.admission->settle(0, 0.0);
    ctx.admission.reset();
  }
  ctx.cache.status = "hit";
  if (auto* u = entry.completion.if_contains("usage")) dialects::openai::read_usage(*u, ctx.cache.saved);
  ctx.cache.saved_usd = entry.cost_usd;
  const Dialect caller = dialect_of(ctx.route);
  // An entry an Anthropic caller stored may not name a model: the alias stands in.
  if (auto* m = entry.completion.if_contains("model"); !m || !m->is_string() || m->get_string().empty())
    entry.completion["model"] = ctx.facts.model;
  if (ctx.route == Route::responses) {
    ctx.usage = ctx.cache.saved;  // the response object reports the stored answer's usage
    co_await respond_response_from(ctx, entry.completion);
  } else if (ctx.facts.stream) {
    auto source = text_source(cache::completion_to_sse(entry.completion));
    auto relay = guarded(translated_relay(nullptr, caller, !ctx.facts.caller_wants_usage, ctx.facts.model), ctx);
    co_await relay_stream(ctx, *source, *relay, {});
  } else {
    co_await respond_completion(ctx, entry.completion, caller);
  }
  // Nothing was spent: known zero tokens at a known zero cost, whether or not the price is
  // known (the unknown is what the hit saved: saved_usd null).
  ctx.usage = core::Usage{};
  ctx.usage.known = true;
  ctx.cost_usd = 0.0;
}

std::optional<cache::Entry> stored_entry(cache::Backend& backend, const std::string& key) {
  auto text = backend.get(key);
  return text ? cache::decode_entry(*text) : std::nullopt;
}

// The shape of the caller's answers (what the tap reads); nullopt for routes never cached.
std::optional<cache::AnswerShape> shape_of(const RequestContext& ctx) {
  switch (ctx.route) {
    case Route::chat_completions: return cache::AnswerShape::openai_chat;
    case Route::messages: return cache::AnswerShape::anthropic;
    case Route::responses: return cache::AnswerShape::responses;
    case Route::gemini_generate: return cache::AnswerShape::gemini;
    case Route::gemini_stream:
      return dialects::gemini::wants_sse(ctx.ex.target()) ? cache::AnswerShape::gemini : cache::AnswerShape::gemini_array;
    default: return std::nullopt;
  }
}

// The request in the canonical form, which every dialect's entries share; false when it
// cannot be read (dispatch reports why) or must not be cached (a Responses request continuing
// a stored response: its answer depends on the chain, which the key would not hold).
bool canonical_of(RequestContext& ctx, json::object& storage, const json::object*& chat) {
  switch (ctx.route) {
    case Route::messages:
      if (anthropic_canonical(ctx, storage)) return false;
      break;
    case Route::responses:
      if (!responses_canonical(ctx, storage)) return false;  // a chain of stored responses
      break;
    case Route::gemini_generate:
    case Route::gemini_stream: {
      std::vector<std::string> dropped;  // named by dispatch, which translates again
      if (dialects::gemini::generate_to_chat(ctx.doc, ctx.route == Route::gemini_stream, storage, dropped)) return false;
      break;
    }
    default:
      chat = &ctx.doc.as_object();
      return true;
  }
  chat = &storage;
  return true;
}

}  // namespace

net::awaitable<bool> serve_from_cache(RequestContext& ctx) {
  const auto shape = shape_of(ctx);
  if (!shape || !ctx.doc.is_object()) co_return false;
  const core::CachePolicy* policy =
      cache::policy_for(ctx.snapshot->resources(), *ctx.key, ctx.team, ctx.model ? &ctx.model->spec : nullptr);
  if (!policy || !ctx.gateway.cache) co_return false;
  auto directive = cache::directive_of(ctx.ex.header("cache-control"), ctx.ex.header("x-tollgate-cache"));
  // Reversibly redacted requests are never cached: their answers carry the caller's own values
  // back, while their keys (placeholders) would match another caller's.
  if (directive == cache::Directive::bypass || !ctx.restore.empty()) {
    ctx.cache.status = "bypass";
    co_return false;
  }
  json::object translated;
  const json::object* chat = nullptr;
  if (!canonical_of(ctx, translated, chat)) {
    if (ctx.route == Route::responses) ctx.cache.status = "bypass";  // else dispatch reports the error
    co_return false;
  }
  if (!cache::ineligible(*policy, *chat).empty()) {
    ctx.cache.status = "bypass";
    co_return false;
  }
  ctx.cache.policy = policy;
  ctx.cache.backend = &ctx.gateway.cache->for_policy(*policy);
  const std::string scope = cache::scope_tag(*policy, *ctx.key);
  ctx.cache.key = cache::exact_key(scope, ctx.facts.model, cache::canonical_request(*chat));
  const bool lookup = directive == cache::Directive::use;
  const bool semantic = policy->mode == "semantic";
  // The same request again needs no embedding, semantic policy or not.
  if (lookup)
    if (auto entry = stored_entry(*ctx.cache.backend, ctx.cache.key)) {
      if (semantic) ctx.cache.similarity = 1;
      co_await answer_hit(ctx, *entry);
      co_return true;
    }
  if (semantic)
    if (auto query = cache::semantic_query(scope, ctx.facts.model, policy->embedding_model, *chat)) {
      auto vector = co_await embed_for_cache(ctx, policy->embedding_model, query->text);
      if (vector && cache::normalize(*vector)) {
        cache::SemanticIndex& index = ctx.gateway.cache->index_for(*policy);
        const int64_t now = unix_ms();
        index.catch_up(query->partition, *ctx.cache.backend, std::chrono::seconds(policy->ttl_s), now);
        if (lookup)
          for (const auto& match : index.nearest(query->partition, *vector, policy->threshold, now)) {
            if (auto entry = stored_entry(*ctx.cache.backend, match.key)) {
              ctx.cache.similarity = match.similarity;
              co_await answer_hit(ctx, *entry);
              co_return true;
            }
            index.forget(query->partition, match.key);  // expired or evicted
          }
        ctx.cache.index = &index;
        ctx.cache.partition = std::move(query->partition);
        ctx.cache.embedding = std::move(*vector);
      }
    }
  ctx.cache.status = "miss";
  ctx.cache.tap = std::make_shared<cache::AnswerTap>(*shape);
  co_return false;
}

void store_in_cache(RequestContext& ctx) {
  auto tap = std::move(ctx.cache.tap);  // once, whichever path the answer took
  if (!tap || !ctx.error.empty() || !ctx.cache.backend) return;
  auto completion = tap->result(ctx.usage);
  if (!completion) return;
  cache::Entry e;
  e.completion = std::move(*completion);
  if (ctx.target && ctx.usage.known) e.cost_usd = obs::cost_of(ctx.target->pricing, ctx.usage);
  e.stored_at_ms = unix_ms();
  e.embedding = ctx.cache.embedding;
  const auto ttl = std::chrono::seconds(ctx.cache.policy->ttl_s);
  ctx.cache.backend->put(ctx.cache.key, cache::encode_entry(e), ttl);
  if (ctx.cache.index) {
    ctx.cache.backend->log_add(ctx.cache.partition, ctx.cache.key, ttl, ctx.cache.policy->max_entries);
    ctx.cache.index->add(ctx.cache.partition, ctx.cache.key, ctx.cache.embedding,
                         e.stored_at_ms + std::chrono::milliseconds(ttl).count(), e.stored_at_ms);
  }
}

}  // namespace tollgate::gateway
