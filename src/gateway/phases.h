// The request path, one function per phase, in the order a request meets them (DESIGN.md).
// proxy.cc runs them; each lives in its own file with its own tests.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/error.h"
#include "gateway/context.h"

namespace tollgate::gateway {

// 1. accept (accept.cc): which route, and the request id.
Route match_route(std::string_view method, std::string_view target);
std::string request_id_for(std::string_view caller_supplied);

// 2. authenticate (authenticate.cc): the virtual key from `Authorization: Bearer` or
//    `x-api-key`, looked up by its SHA-256 in the snapshot.
std::optional<core::GatewayError> authenticate(RequestContext& ctx);
// The secret the caller presented, wherever its dialect puts it ("" when none).
std::string presented_secret(const RequestContext& ctx);

// 3. decode (decode.cc): parse the body in the route's dialect.
std::optional<core::GatewayError> decode(RequestContext& ctx);

// 4. resolve (resolve.cc): alias -> model -> target; the key must be allowed to use it.
std::optional<core::GatewayError> resolve(RequestContext& ctx);
bool key_allows(const core::Key& key, const core::Team* team, std::string_view alias);
// The pattern alias (a model name with '*') that `name` lands on, or nullptr.
const core::CompiledModel* match_pattern_alias(const core::Snapshot& snapshot, std::string_view name);

// 5. guard (guard.cc): guardrail policies over the request's texts; and over answers.
std::optional<core::GatewayError> guard(RequestContext& ctx);
bool guards_output(const RequestContext& ctx);
// `rewritten`, when given, is set when a text of the answer changed.
std::optional<core::GatewayError> guard_answer(RequestContext& ctx, boost::json::value& answer,
                                               bool* rewritten = nullptr);
// A whole answer's bytes guarded: rewritten only when a policy changed a text (the caller gets
// the upstream's bytes otherwise); a block is returned. Bodies that are not JSON pass as they are.
std::optional<core::GatewayError> guard_answer_body(RequestContext& ctx, std::string& body);
// Counts hits in metrics and in the request's record (`output`: found in the answer).
void note_guard_findings(RequestContext& ctx, std::span<const guardrails::Finding> findings, bool output);
// The texts a moderation endpoint judges: the user's and tools' (as the guard left them).
std::vector<std::string> moderation_inputs(RequestContext& ctx);

// 5b. moderate (moderate.cc): the moderation guardrails, one endpoint call per policy.
boost::asio::awaitable<std::optional<core::GatewayError>> moderate(RequestContext& ctx);

// 6. admit (admit.cc): rate limits, concurrency and budgets; the slot is held in ctx.
std::optional<core::GatewayError> admit(RequestContext& ctx);
int64_t estimate_tokens(const RequestContext& ctx);

// 6b. cache (cache.cc): a stored answer to this request, answered in the caller's dialect
//     (whole or streamed) through the output guardrails: true when it answered. On a miss the
//     answer is tapped as it goes out, and store_in_cache() keeps it once it completed well.
boost::asio::awaitable<bool> serve_from_cache(RequestContext& ctx);
void store_in_cache(RequestContext& ctx);
// The vector of `text` from the embeddings alias `alias`, asked as the caller's key asks
// (cache_embed.cc): a request of its own through this path, routed, limited, billed and
// recorded like any. nullopt when it did not answer with a vector.
boost::asio::awaitable<std::optional<std::vector<float>>> embed_for_cache(RequestContext& ctx, const std::string& alias,
                                                                         const std::string& text);

// 7-8. dispatch and relay (dispatch.cc, relay.cc): send to the target and stream the answer
//      back. Always answers the caller (or notes that the caller left).
boost::asio::awaitable<void> dispatch(RequestContext& ctx);

// Records the current attempt's success for routing (once), before the answer's last byte.
void judge_attempt_success(RequestContext& ctx);

// 9. settle (admit.cc): actual tokens and cost reconcile the limits and budgets; the
//    concurrency slot is released.
void settle(RequestContext& ctx);

// 10. record (record.cc): metrics and the access log line.
void record(RequestContext& ctx);

// Answers (respond.cc): every answer carries x-request-id; errors use the route's dialect.
boost::asio::awaitable<void> respond_error(RequestContext& ctx, const core::GatewayError& e);
// `e` in the envelope of the route's dialect.
std::string error_body(Route route, const core::GatewayError& e);
boost::asio::awaitable<void> respond_json(RequestContext& ctx, int status, std::string body);
http::Headers base_headers(const RequestContext& ctx, std::string_view content_type);
// Hands headers that went out back to base_headers(), whose next list on this thread reuses
// their strings' buffers (optional: headers simply destroyed are fine too).
void recycle_headers(http::Headers&& headers);
// The x-ratelimit-* headers (and Retry-After on a refusal) of a limiter's decision, written at
// `h[n]` on (over the fields there, else appended); `n` ends past the last one.
void rate_limit_headers(const limits::Decision& d, http::Headers& h, std::size_t& n);

// GET /v1/models (models.cc).
boost::asio::awaitable<void> list_models(RequestContext& ctx);
// GET /v1beta/models and /v1beta/models/{m} (models_gemini.cc).
boost::asio::awaitable<void> list_gemini_models(RequestContext& ctx);

// GET / DELETE /v1/responses/{id} (dispatch_responses.cc): the caller's stored responses.
boost::asio::awaitable<void> stored_response(RequestContext& ctx);

}  // namespace tollgate::gateway
