// Numbers from providers' JSON, taken safely: a double outside int64's range (a hostile or
// broken "input_tokens": 1e300) must not reach a cast, which would be undefined behaviour.
// Found by the gemini_stream fuzzer.
#pragma once

#include <cmath>
#include <cstdint>

namespace tollgate::core {

inline bool fits_int64(double d) { return std::isfinite(d) && d >= -9.2e18 && d <= 9.2e18; }

// Clamped to int64's range; NaN is 0.
inline int64_t double_to_int64(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return INT64_C(9200000000000000000);
  if (d <= -9.2e18) return -INT64_C(9200000000000000000);
  return static_cast<int64_t>(d);
}

}  // namespace tollgate::core
