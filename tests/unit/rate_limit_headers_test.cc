// The x-ratelimit-* headers of a limiter's decision, pinned byte for byte as they go out
// (OpenAI's names and formats; issue 18 rewrote how they are built, not what they say).
#include <gtest/gtest.h>

#include <string>

#include "gateway/phases.h"
#include "http/wire.h"

using namespace std::chrono_literals;
using tollgate::limits::Decision;
using tollgate::limits::WindowStatus;

namespace {

std::string head_of(const Decision& d, tollgate::http::Headers h = {}, std::size_t n = 0) {
  tollgate::gateway::rate_limit_headers(d, h, n);
  h.erase(h.begin() + static_cast<std::ptrdiff_t>(n), h.end());
  return tollgate::http::response_head(200, h, true, 0);
}

}  // namespace

TEST(RateLimitHeaders, AdmittedUnderBothWindows) {
  Decision d;
  d.requests = WindowStatus{100000000, 99999999, 1ms};
  d.tokens = WindowStatus{10000000000, 9999998700, 7800ms};
  EXPECT_EQ(head_of(d),
            "HTTP/1.1 200 OK\r\n"
            "x-ratelimit-limit-requests: 100000000\r\n"
            "x-ratelimit-remaining-requests: 99999999\r\n"
            "x-ratelimit-reset-requests: 1ms\r\n"
            "x-ratelimit-limit-tokens: 10000000000\r\n"
            "x-ratelimit-remaining-tokens: 9999998700\r\n"
            "x-ratelimit-reset-tokens: 7.8s\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(RateLimitHeaders, RefusedWithRetryAfterOverFieldsAlreadyThere) {
  Decision d;
  d.admitted = false;
  d.reason = Decision::Reason::requests;
  d.retry_after = 61001ms;
  d.requests = WindowStatus{20, 0, 3723004ms};
  // Written over a recycled list's fields (longer and shorter strings than the new ones).
  tollgate::http::Headers old{{"content-type", "application/json"},
                              {"x-a-much-longer-name-than-any-header-here", std::string(300, 'v')},
                              {"b", ""},
                              {"c", "d"}};
  EXPECT_EQ(head_of(d, old, 1),
            "HTTP/1.1 200 OK\r\n"
            "content-type: application/json\r\n"
            "x-ratelimit-limit-requests: 20\r\n"
            "x-ratelimit-remaining-requests: 0\r\n"
            "x-ratelimit-reset-requests: 1h2m3.004s\r\n"
            "retry-after: 62\r\n"
            "Content-Length: 0\r\n\r\n");
}

TEST(RateLimitHeaders, NoRetryAfterWhereWaitingCannotHelp) {
  Decision total;  // a total budget spent: never
  total.admitted = false;
  total.reason = Decision::Reason::budget;
  EXPECT_EQ(head_of(total), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  Decision large;  // more than a whole window
  large.admitted = false;
  large.reason = Decision::Reason::tokens;
  large.too_large = true;
  large.retry_after = 5s;
  large.tokens = WindowStatus{200, 200, 0ms};
  EXPECT_EQ(head_of(large),
            "HTTP/1.1 200 OK\r\n"
            "x-ratelimit-limit-tokens: 200\r\n"
            "x-ratelimit-remaining-tokens: 200\r\n"
            "x-ratelimit-reset-tokens: 0s\r\n"
            "Content-Length: 0\r\n\r\n");
  Decision month;  // a monthly budget: Retry-After until the month turns
  month.admitted = false;
  month.reason = Decision::Reason::budget;
  month.retry_after = 86400000ms;
  EXPECT_EQ(head_of(month), "HTTP/1.1 200 OK\r\nretry-after: 86400\r\nContent-Length: 0\r\n\r\n");
}

TEST(RateLimitHeaders, ALimitThatChangesIsWrittenAnew) {
  // The limits' digits are kept per thread from one answer to the next (respond.cc): a key
  // with other limits, or a reload that changes them, must still show its own.
  for (int64_t limit : std::initializer_list<int64_t>{60, 1000000, 60, 7, 7, int64_t{1} << 40, 0}) {
    Decision d;
    d.requests = WindowStatus{limit, 5, 1ms};
    d.tokens = WindowStatus{limit * 3, 4, 2ms};
    std::string want = "HTTP/1.1 200 OK\r\nx-ratelimit-limit-requests: ";
    want += std::to_string(limit);
    want += "\r\nx-ratelimit-remaining-requests: 5\r\nx-ratelimit-reset-requests: 1ms\r\nx-ratelimit-limit-tokens: ";
    want += std::to_string(limit * 3);
    want += "\r\nx-ratelimit-remaining-tokens: 4\r\nx-ratelimit-reset-tokens: 2ms\r\nContent-Length: 0\r\n\r\n";
    EXPECT_EQ(head_of(d), want);
  }
}
