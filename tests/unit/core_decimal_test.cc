// Numbers written without fmt on the request path (core/decimal.h) are byte for byte what fmt
// writes: the access log's latency_ms/ttft_ms/cost_usd, its integers, request ids.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <fmt/format.h>

#include "core/decimal.h"

using tollgate::core::append_fixed;
using tollgate::core::append_hex;
using tollgate::core::append_int;

namespace {

std::string fixed(double v, int digits) {
  std::string s = "x";
  append_fixed(s, v, digits);
  return s.substr(1);
}

}  // namespace

TEST(CoreDecimal, FixedIsFmtsForValuesThatMatter) {
  for (double v : {0.0, -0.0, 0.5, 1.5, 2.5, 0.0005, 0.0015, 1.0005, 0.125, 0.1, 0.7, 1e-9, 123.456789, 1e6 + 0.0005,
                   999.9995, 999.99949999, 1e11, 1e12, 1e15, 1e20, -1.25, -0.0004, 5e-324,
                   std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()})
    for (int d : {0, 1, 3, 4, 8, 9}) EXPECT_EQ(fixed(v, d), fmt::format("{:.{}f}", v, d)) << v << " " << d;
}

TEST(CoreDecimal, FixedIsFmtsForRandomLatenciesAndCosts) {
  std::mt19937_64 rng(18);
  std::uniform_real_distribution<double> ms(0, 120'000), usd(0, 2), small(0, 1e-4);
  for (int i = 0; i < 200'000; ++i) {
    double a = ms(rng), b = usd(rng), c = small(rng);
    ASSERT_EQ(fixed(a, 3), fmt::format("{:.3f}", a));
    ASSERT_EQ(fixed(b, 8), fmt::format("{:.8f}", b));
    ASSERT_EQ(fixed(c, 8), fmt::format("{:.8f}", c));
    // Values a few units above a printed half, where the product's rounding matters.
    double h = (std::floor(a) + 0.5) / 1000;
    ASSERT_EQ(fixed(h, 3), fmt::format("{:.3f}", h)) << h;
  }
}

TEST(CoreDecimal, IntAndHexAreFmts) {
  for (int64_t v : {INT64_C(0), INT64_C(7), INT64_C(-42), INT64_C(1234567890123), std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    std::string s;
    append_int(s, v);
    EXPECT_EQ(s, fmt::format("{}", v));
  }
  for (uint64_t v : {UINT64_C(0), UINT64_C(0xabc), UINT64_C(0xffffffffffff), UINT64_C(0x123456789abcdef0),
                     std::numeric_limits<uint64_t>::max()}) {
    std::string s;
    append_hex(s, v, 12);
    EXPECT_EQ(s, fmt::format("{:012x}", v));
  }
}
