#include "core/decimal.h"

#include <charconv>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace tollgate::core {

void append_int(std::string& out, int64_t v) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void append_fixed(std::string& out, double v, int digits) {
  static constexpr int64_t kPow10[] = {1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000, 100'000'000,
                                       1'000'000'000};
  if (digits >= 0 && digits <= 9 && !std::signbit(v)) {
    const int64_t unit = kPow10[digits];
    // One rounding in the product: below 1e12 its error is < 1.2e-4 of a unit, so a fraction
    // more than 1e-3 away from a half rounds the same way as the exact binary value (fmt's).
    const double scaled = v * static_cast<double>(unit);
    if (scaled < 1e12) {
      const double whole = std::floor(scaled);
      if (std::fabs(scaled - whole - 0.5) > 1e-3) {
        const auto units = static_cast<int64_t>(scaled - whole > 0.5 ? whole + 1 : whole);
        char buf[40];
        char* p = std::to_chars(buf, buf + 20, units / unit).ptr;
        if (digits > 0) {
          *p++ = '.';
          int64_t frac = units % unit;
          for (int64_t u = unit / 10; u > 0; u /= 10) {
            *p++ = static_cast<char>('0' + frac / u);
            frac %= u;
          }
        }
        out.append(buf, p);
        return;
      }
    }
  }
  fmt::format_to(std::back_inserter(out), "{:.{}f}", v, digits);
}

void append_hex(std::string& out, uint64_t v, int width) {
  static constexpr char kDigits[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[15 - n++] = kDigits[v & 0xf];
    v >>= 4;
  } while (v);
  for (; n < width && n < 16; ++n) buf[15 - n] = '0';
  out.append(buf + 16 - n, n);
}

}  // namespace tollgate::core
