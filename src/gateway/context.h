// The per-request state (the CTX every phase reads and writes), from accept to record.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/snapshot.h"
#include "core/usage.h"
#include "dialects/openai/fast_path.h"
#include "gateway/state.h"
#include "guardrails/guardrail.h"
#include "http/server.h"
#include "limits/rate_limiter.h"

namespace tollgate::cache {
class AnswerTap;
class Backend;
class SemanticIndex;
}  // namespace tollgate::cache

namespace tollgate::gateway {

using Clock = std::chrono::steady_clock;

enum class Route {
  chat_completions, completions, embeddings, models, responses,  // OpenAI
  stored_response,  // GET / DELETE /v1/responses/{id}[/input_items]
  responses_input_tokens,  // POST /v1/responses/input_tokens
  messages, count_tokens,                             // Anthropic
  mcp,                                                // MCP (src/mcp)
  gemini_generate, gemini_stream, gemini_count_tokens, gemini_embed, gemini_batch_embed,
  gemini_models, gemini_model,                        // Gemini (/v1beta/models...)
  livez, readyz, not_found,
};

// The dialect the caller speaks: the shape of its request, answer, stream and errors.
enum class Dialect { openai, anthropic, gemini };
Dialect dialect_of(Route r);

std::string_view route_name(Route r);

struct RequestContext {
  RequestContext(GatewayState& g, http::Exchange& e) : gateway(g), ex(e) {}

  GatewayState& gateway;
  http::Exchange& ex;

  // accept
  std::string request_id;
  Clock::time_point started = Clock::now();
  std::chrono::system_clock::time_point started_wall = std::chrono::system_clock::now();
  Route route = Route::not_found;

  // authenticate; the snapshot is held for the whole request so a reload cannot free what
  // the request points into.
  std::shared_ptr<const core::Snapshot> snapshot;
  const core::Key* key = nullptr;
  const core::Team* team = nullptr;  // the key's team, when it has one

  // decode
  boost::json::value doc;
  dialects::openai::RequestFacts facts;
  // Set by an attempt that needs nothing of `doc` once its stream's head is out (the OpenAI
  // fast path): relay_stream then gives the document back for the rest of the stream (issue 18:
  // memory per open stream). Until the head is out a failed attempt may be followed by another,
  // which reads it again.
  bool doc_done_at_head = false;

  // resolve
  const core::CompiledModel* model = nullptr;  // null for "provider/model" addressing
  std::optional<core::CompiledTarget> target;
  // The alias the caller's name landed on (a pattern alias answers to many names): what limits,
  // allowlists and metrics go by. The name as sent for "provider/model" addressing.
  std::string_view alias() const { return model ? std::string_view(model->spec.name) : std::string_view(facts.model); }

  // Parameters the target cannot honour, dropped and named (x-tollgate-dropped, the access
  // log); every translation adds to it (gateway/params.h).
  std::vector<std::string> dropped;
  // What the Anthropic -> canonical translation left out: named only once an attempt goes to a
  // non-Anthropic target (the fast path keeps every byte).
  std::vector<std::string> translation_dropped;
  // Anthropic callers on a translated stream: message_start's input_tokens until the upstream counts.
  int64_t prompt_estimate = 0;

  // outcome (relay / record)
  int status = 0;
  core::Usage usage;
  std::optional<Clock::time_point> first_byte;
  std::string error;  // machine-readable cause, for the access log
  int attempts = 0;
  double upstream_seconds = -1;  // the answering attempt, sent to answered; < 0: none
  Clock::time_point deadline = Clock::time_point::max();  // the model's timeout_ms, across attempts
  // The attempt in progress, so its success is recorded before the answer's last byte goes
  // out (a caller's next request must see the target's circuit already closed).
  core::TargetStats* attempt_stats = nullptr;
  Clock::time_point attempt_started;
  bool attempt_judged = false;

  // guard: the policies that apply, the placeholders to restore, and the body when a policy
  // rewrote it (the fast path then forwards that instead of the caller's bytes)
  guardrails::Selection guard;
  guardrails::RestoreMap restore;
  std::optional<std::string> body_override;
  // Every hit, counted per policy, entity and side, for the usage record and the access log.
  struct GuardHit {
    std::string policy, entity;
    bool output = false;  // found in the answer (false: in the request)
    bool acted = false;
    int count = 0;
  };
  std::vector<GuardHit> guard_hits;
  const std::string& request_body() const { return body_override ? *body_override : ex.body(); }

  // admit / settle
  std::unique_ptr<limits::Admission> admission;  // holds the concurrency slot
  std::optional<limits::Decision> limit_decision;
  int64_t estimated_tokens = 0;
  std::optional<double> cost_usd;  // unknown price: nullopt, never zero

  // MCP requests: what the record names (server, method, tool or URI, client)
  std::string mcp_server, mcp_method, mcp_subject, mcp_client;

  // cache (gateway/cache.cc): what the response cache did with this request. On a miss that
  // may be stored, `tap` reads the answer as the relay sends it; a hit records what it saved.
  struct CacheOutcome {
    std::string_view status;  // "" (no policy) | hit | miss | bypass
    const core::CachePolicy* policy = nullptr;
    cache::Backend* backend = nullptr;
    std::string key;
    std::shared_ptr<cache::AnswerTap> tap;
    core::Usage saved;  // a hit: the tokens the stored answer cost when it was made
    std::optional<double> saved_usd;
    double similarity = -1;  // a semantic hit
    // A semantic policy's miss: where the answer joins the index, and its request's vector.
    cache::SemanticIndex* index = nullptr;
    std::string partition;
    std::vector<float> embedding;
  };
  CacheOutcome cache;

  // body capture (sampled at accept): the answer's bytes as the caller got them, capped
  bool capture = false;
  std::string captured_answer;
};

}  // namespace tollgate::gateway
