// Phase 2, authenticate: the virtual key. Only SHA-256 hashes are kept, so the lookup hashes
// what the caller sent; comparing hashes in a map leaks nothing useful through timing.
#include <chrono>
#include <string>
#include <unordered_map>

#include "dialects/gemini/inbound.h"
#include "gateway/phases.h"
#include "store/store.h"

namespace tollgate::gateway {
using core::ErrorKind;
using core::GatewayError;

namespace {

// The hash of a secret this thread saw recently: the same few keys arrive again and again, and
// SHA-256 through OpenSSL's EVP costs a context per call. Bounded; cleared when full.
const std::string& hash_of(std::string_view secret) {
  thread_local std::unordered_map<std::string, std::string> recent;
  if (auto it = recent.find(std::string(secret)); it != recent.end()) return it->second;
  if (recent.size() >= 1024) recent.clear();
  return recent.emplace(std::string(secret), store::sha256_hex(secret)).first->second;
}

}  // namespace

std::string presented_secret(const RequestContext& ctx) {
  std::string_view secret;
  std::string_view auth = ctx.ex.header("authorization");
  if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer "))
    secret = auth.substr(7);
  if (secret.empty()) secret = ctx.ex.header("x-api-key");
  // Gemini's clients send `x-goog-api-key`, or `?key=` on the URL.
  std::string from_query;
  if (secret.empty() && dialect_of(ctx.route) == Dialect::gemini) {
    secret = ctx.ex.header("x-goog-api-key");
    if (secret.empty()) secret = from_query = dialects::gemini::query_key(ctx.ex.target());
  }
  while (!secret.empty() && secret.back() == ' ') secret.remove_suffix(1);
  return std::string(secret);
}

std::optional<GatewayError> authenticate(RequestContext& ctx) {
  const std::string secret = presented_secret(ctx);
  if (secret.empty())
    return GatewayError::make(ErrorKind::authentication,
                              "You didn't provide an API key. Send your Tollgate virtual key as "
                              "'Authorization: Bearer <key>'.",
                              "missing_api_key");

  ctx.key = ctx.snapshot->key_by_hash(hash_of(secret));
  if (!ctx.key)
    return GatewayError::make(ErrorKind::authentication, "Incorrect API key provided.",
                              "invalid_api_key");
  if (!ctx.key->rules().team.empty()) ctx.team = ctx.snapshot->team(ctx.key->rules().team);
  if (ctx.key->expires_at) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
    if (now >= *ctx.key->expires_at)
      return GatewayError::make(ErrorKind::authentication, "This API key has expired.",
                                "expired_api_key");
  }
  return std::nullopt;
}

}  // namespace tollgate::gateway
