// Phase 1, accept: route matching and request ids. Size and time limits on what the caller
// sends are enforced earlier, by the listener (http/server.cc).
#include <chrono>
#include <random>

#include "core/decimal.h"
#include "dialects/gemini/inbound.h"
#include "gateway/phases.h"

namespace tollgate::gateway {

std::string_view route_name(Route r) {
  switch (r) {
    case Route::chat_completions: return "chat.completions";
    case Route::completions: return "completions";
    case Route::embeddings: return "embeddings";
    case Route::responses: return "responses";
    case Route::stored_response: return "responses.stored";
    case Route::responses_input_tokens: return "responses.input_tokens";
    case Route::models: return "models";
    case Route::messages: return "messages";
    case Route::count_tokens: return "messages.count_tokens";
    case Route::mcp: return "mcp";
    case Route::gemini_generate: return "gemini.generateContent";
    case Route::gemini_stream: return "gemini.streamGenerateContent";
    case Route::gemini_count_tokens: return "gemini.countTokens";
    case Route::gemini_embed: return "gemini.embedContent";
    case Route::gemini_batch_embed: return "gemini.batchEmbedContents";
    case Route::gemini_models: return "gemini.models";
    case Route::gemini_model: return "gemini.model";
    case Route::livez: return "livez";
    case Route::readyz: return "readyz";
    case Route::not_found: return "not_found";
  }
  return "unknown";
}

Dialect dialect_of(Route r) {
  if (r == Route::messages || r == Route::count_tokens) return Dialect::anthropic;
  if (r >= Route::gemini_generate && r <= Route::gemini_model) return Dialect::gemini;
  return Dialect::openai;
}

Route match_route(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  // MCP: /mcp and /mcp/{server}, every method (GET and DELETE get 405 there, in MCP's terms).
  if (path == "/mcp" || (path.starts_with("/mcp/") && path.find('/', 5) == std::string_view::npos))
    return Route::mcp;
  if (method == "POST") {
    if (path == "/v1/chat/completions" || path == "/chat/completions") return Route::chat_completions;
    if (path == "/v1/completions" || path == "/completions") return Route::completions;
    if (path == "/v1/embeddings" || path == "/embeddings") return Route::embeddings;
    if (path == "/v1/responses" || path == "/responses") return Route::responses;
    if (path == "/v1/responses/input_tokens") return Route::responses_input_tokens;
    if (path == "/v1/messages") return Route::messages;
    if (path == "/v1/messages/count_tokens") return Route::count_tokens;
    if (auto g = dialects::gemini::parse_caller_path(path)) {
      switch (g->method) {
        case dialects::gemini::Method::generate: return Route::gemini_generate;
        case dialects::gemini::Method::stream: return Route::gemini_stream;
        case dialects::gemini::Method::count_tokens: return Route::gemini_count_tokens;
        case dialects::gemini::Method::embed: return Route::gemini_embed;
        case dialects::gemini::Method::batch_embed: return Route::gemini_batch_embed;
      }
    }
  } else if (method == "GET") {
    if (path == "/v1/models" || path == "/models") return Route::models;
    if (path.starts_with("/v1/responses/")) return Route::stored_response;
    if (path == "/v1beta/models") return Route::gemini_models;
    if (path.starts_with("/v1beta/models/") && path.size() > 15) return Route::gemini_model;
    if (path == "/livez") return Route::livez;
    if (path == "/readyz") return Route::readyz;
  }
  if (method == "DELETE" && path.starts_with("/v1/responses/")) return Route::stored_response;
  return Route::not_found;
}

std::string request_id_for(std::string_view caller_supplied) {
  // A caller's own id is kept (it ties the gateway's log to the caller's) when it is sane.
  if (!caller_supplied.empty() && caller_supplied.size() <= 128) {
    bool sane = true;
    for (char c : caller_supplied)
      if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') sane = false;
    if (sane) return std::string(caller_supplied);
  }
  // Time-ordered (unix ms, then 48 random bits), so the usage store's request-id index grows
  // at its right edge instead of dirtying a random page per row (bench/RESULTS.md: the random
  // ids made that index most of the usage writer's cost).
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  std::string id = "req_";
  core::append_hex(id, static_cast<uint64_t>(ms) & 0xffff'ffff'ffffULL, 12);
  core::append_hex(id, rng() & 0xffff'ffff'ffffULL, 12);
  return id;
}

}  // namespace tollgate::gateway
