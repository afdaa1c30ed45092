// The outcome of one attempt on one target. Dispatch loops over attempts (retries, failover)
// and answers the caller itself only once no attempt can still succeed; an attempt that
// answered (or streamed its first byte) is final.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/error.h"
#include "http/server.h"

namespace tollgate::gateway {

struct AttemptResult {
  enum class Outcome { answered, failed, client_left };
  Outcome outcome = Outcome::answered;

  // failed: what the caller gets if no later attempt succeeds.
  core::GatewayError error;
  std::string body;     // the exact body (an upstream's own error on a fast path); empty: from `error`
  http::Headers extra;  // upstream headers worth passing on (retry-after, request id)

  // failed: the failure class a retry policy names (connect, timeout, 429, 5xx), or empty
  // when another attempt cannot help (a 400, an auth error).
  std::string retry_class;
  // 429/503 Retry-After (or retry-after-ms): cools the target that long.
  std::optional<std::chrono::milliseconds> retry_after;
  // The gateway's own trouble (out of descriptors or memory): says nothing of the target.
  bool local = false;

  static AttemptResult answered() { return {}; }
  static AttemptResult client_left() {
    AttemptResult r;
    r.outcome = Outcome::client_left;
    return r;
  }
};

}  // namespace tollgate::gateway
