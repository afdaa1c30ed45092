// Token usage of one answer, in the canonical form every dialect's tap fills in. One source of
// truth for tokens per request: metrics, logs, limits and cost all read this.
#pragma once

#include <cstdint>

namespace tollgate::core {

struct Usage {
  bool known = false;           // false: the provider reported nothing (never read as zero)
  int64_t input_tokens = 0;     // all prompt tokens, cached ones included
  int64_t output_tokens = 0;    // all completion tokens, reasoning ones included
  int64_t cached_input_tokens = 0;     // prompt tokens served from the provider's cache
  int64_t cache_creation_tokens = 0;   // prompt tokens written to the cache (Anthropic)
  int64_t reasoning_tokens = 0;
};

}  // namespace tollgate::core
