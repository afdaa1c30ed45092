// The outcome of one attempt on one target. Dispatch loops over attempts (retries, failover)
// and answers the caller itself only once no attempt can still succeed; an attempt that
// answered (or streamed its first byte) is final.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "core/error.h"
#include "http/server.h"

namespace tollgate::gateway {

// What a failed attempt leaves: the caller's answer if no later attempt succeeds, and what
// routing and the retry policy read.
struct AttemptFailure {
  core::GatewayError error;
  std::string body;     // the exact body (an upstream's own error on a fast path); empty: from `error`
  http::Headers extra;  // upstream headers worth passing on (retry-after, request id)

  // The failure class a retry policy names (connect, timeout, 429, 5xx), or empty when another
  // attempt cannot help (a 400, an auth error).
  std::string retry_class;
  // 429/503 Retry-After (or retry-after-ms): cools the target that long.
  std::optional<std::chrono::milliseconds> retry_after;
  // The gateway's own trouble (out of descriptors or memory): says nothing of the target.
  bool local = false;
};

struct AttemptResult {
  enum class Outcome { answered, failed, client_left };
  Outcome outcome = Outcome::answered;

  // failed: why. Out of line, as an AttemptResult sits in several coroutine frames and promises
  // of every open stream (the attempt's, relay_stream's, dispatch's: ~220 bytes each inline,
  // issue 18: memory per open stream), and answered streams need none of it.
  AttemptFailure& failure() {
    if (!failure_) failure_ = std::make_unique<AttemptFailure>();
    return *failure_;
  }
  const AttemptFailure& failure() const {
    static const AttemptFailure kNone;
    return failure_ ? *failure_ : kNone;
  }

  static AttemptResult answered() { return {}; }
  static AttemptResult client_left() {
    AttemptResult r;
    r.outcome = Outcome::client_left;
    return r;
  }
  static AttemptResult failed(core::GatewayError e) {
    AttemptResult r;
    r.outcome = Outcome::failed;
    r.failure().error = std::move(e);
    return r;
  }

 private:
  std::unique_ptr<AttemptFailure> failure_;
};

}  // namespace tollgate::gateway
