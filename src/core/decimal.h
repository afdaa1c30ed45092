// Numbers written as text on the request path (the access log line, request ids) without fmt:
// fmt's format-string interpretation is ~1k instructions a call and its fixed-precision path
// for doubles ~2k (issue 18: five calls per request were 6% of a request's instructions).
// Byte for byte what fmt writes (unit test core_decimal_test.cc).
#pragma once

#include <cstdint>
#include <string>

namespace tollgate::core {

// What fmt's "{}" writes for an integer.
void append_int(std::string& out, int64_t v);

// What fmt's "{:.<digits>f}" writes for `v`, digits 0-9: most values as an integer count of
// 10^-digits, correctly rounded, fmt itself for the rest (negative, huge, NaN, or within the
// product's rounding error of a half).
void append_fixed(std::string& out, double v, int digits);

// What fmt's "{:0<width>x}" writes for `v` (lower-case hex, zero-padded to `width`, at most 16).
void append_hex(std::string& out, uint64_t v, int width);

}  // namespace tollgate::core
