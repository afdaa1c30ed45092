// The PII pre-pass as it was before branch gov7 (issue 18): detail::pii_candidates() took each
// trigger byte through a call, 16 or 32 bytes at a time. Kept only as the reference the current
// pass is tested against (tests/unit/guardrails_prefilter_test.cc, fuzz/fuzz_guardrails.cc):
// both must give the same bits for every text. This is its portable (16-byte) form, which gave
// the same bits as its AVX2 form.
#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace tollgate::guardrails::reference {
namespace prepass_detail {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// kPii's indices, for pii_candidates().
enum Pattern : uint32_t {
  kEmail, kPhoneIntl, kPhoneNanp, kCard, kSsn, kIban, kIpv4, kIpv6, kOpenAiKey, kStripeKey,
  kAwsAccessKey, kAwsSecretKey, kGithubToken, kGithubPat, kGitlabToken, kSlackToken, kGoogleKey,
  kJwt, kPrivateKey, kPatterns
};
constexpr uint32_t bit(Pattern p) { return uint32_t{1} << p; }

// The bytes every match of some pattern holds (see pii_candidates), and a few neighbours that
// make the test cheaper ('/', '>', '?': PrePass::at passes over them).
inline bool is_trigger(unsigned char c) {
  return (c >= '-' && c <= ':') || c == '+' || c == '=' || c == '_' || c == '@' || c == 'A' || c == '>' ||
         c == '?';
}
inline bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
inline bool is_hex(unsigned char c) { return is_digit(static_cast<char>(c)) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
inline bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
inline char lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }

// Bit k set: p[k] is a trigger ('-' to ':', '=' to 'A', '+', '_'). Prose is mostly letters and
// spaces, so most blocks of 16 have none and cost a dozen instructions.
inline uint32_t trigger_mask16(const unsigned char* p) {
#if defined(__SSE2__)
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  auto in = [&](unsigned char lo, unsigned char hi) {  // lo <= b <= hi, unsigned
    __m128i d = _mm_sub_epi8(b, _mm_set1_epi8(static_cast<char>(lo)));
    return _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(static_cast<char>(hi - lo))), d);
  };
  __m128i m = _mm_or_si128(in('-', ':'), in('=', 'A'));
  m = _mm_or_si128(m, _mm_cmpeq_epi8(b, _mm_set1_epi8('+')));
  m = _mm_or_si128(m, _mm_cmpeq_epi8(b, _mm_set1_epi8('_')));
  return static_cast<uint32_t>(_mm_movemask_epi8(m));
#else
  uint32_t m = 0;
  for (int k = 0; k < 16; ++k)
    if (is_trigger(p[k])) m |= uint32_t{1} << k;
  return m;
#endif
}

// One pass of pii_candidates: the triggers in order, with what the digit patterns need carried
// from one to the next.
struct PrePass {
  const unsigned char* p;
  size_t n;
  uint32_t may = 0;
  int run = 0;    // consecutive digits up to this one
  int chain = 0;  // digits joined by at most one ' ' or '-' (a card number)
  int dots = 0;   // single dots between digit groups (an IPv4 address)

  bool digit(size_t i) const { return i < n && is_digit(static_cast<char>(p[i])); }
  bool ends_with(size_t end, std::string_view s) const {  // text[end - |s|, end) == s
    return end >= s.size() && std::memcmp(p + end - s.size(), s.data(), s.size()) == 0;
  }
  bool starts_with(size_t at, std::string_view s) const {
    return at + s.size() <= n && std::memcmp(p + at, s.data(), s.size()) == 0;
  }

  void at(size_t i);
  void bits(size_t base, uint32_t m) {  // the triggers of a block, lowest first
    for (; m; m &= m - 1) at(base + static_cast<size_t>(__builtin_ctz(m)));
  }
  size_t blocks16(size_t i) {  // from i while 16 bytes remain; returns where it stopped
    for (; i + 16 <= n; i += 16) bits(i, trigger_mask16(p + i));
    return i;
  }
  void tail(size_t i) {
    for (; i < n; ++i)
      if (is_trigger(p[i])) at(i);
  }
};

inline void PrePass::at(size_t i) {
  const unsigned char c = p[i];
  if (is_digit(static_cast<char>(c))) {
    const bool after_digit = i > 0 && is_digit(static_cast<char>(p[i - 1]));
    run = after_digit ? run + 1 : 1;
    if (run >= 4) may |= bit(kPhoneNanp) | bit(kSsn);  // both end in [0-9]{4}
    if (after_digit || (i >= 2 && (p[i - 1] == ' ' || p[i - 1] == '-') && digit(i - 2))) ++chain;
    else chain = 1;
    if (chain >= 13) may |= bit(kCard);
    if (!after_digit) dots = i >= 2 && p[i - 1] == '.' && digit(i - 2) ? dots + 1 : 0;
    if (dots >= 3) may |= bit(kIpv4);
    if (i >= 2 && is_upper(p[i - 2]) && is_upper(p[i - 1]) && digit(i + 1)) may |= bit(kIban);
    return;
  }
  switch (c) {
    case '@': may |= bit(kEmail); break;
    case '+':
      if (i + 1 < n && p[i + 1] >= '1' && p[i + 1] <= '9') may |= bit(kPhoneIntl);
      break;
    case ':': {
      size_t j = i + 1;
      while (j < n && j <= i + 4 && is_hex(p[j])) ++j;
      if (j < n && p[j] == ':') may |= bit(kIpv6);
    }
      [[fallthrough]];
    case '=': {  // key["']?\s{0,3}[:=]
      size_t k = i;
      for (int s = 0; s < 3 && k > 0 && is_space(p[k - 1]); ++s) --k;
      if (k > 0 && (p[k - 1] == '"' || p[k - 1] == '\'')) --k;
      if (k >= 3 && lower(p[k - 3]) == 'k' && lower(p[k - 2]) == 'e' && lower(p[k - 1]) == 'y')
        may |= bit(kAwsSecretKey);
      break;
    }
    case '_':
      if (i >= 2 && p[i - 1] == 'k' && (p[i - 2] == 'r' || p[i - 2] == 's')) may |= bit(kStripeKey);
      if (i >= 3 && p[i - 3] == 'g' && p[i - 2] == 'h') may |= bit(kGithubToken);
      if (ends_with(i, "github")) may |= bit(kGithubPat);
      break;
    case '-':
      if (i >= 2 && p[i - 1] == 'k' && p[i - 2] == 's') may |= bit(kOpenAiKey);
      if (i >= 5 && p[i - 1] == 't' && ends_with(i, "glpat")) may |= bit(kGitlabToken);
      if (i >= 4 && p[i - 4] == 'x' && ends_with(i - 1, "xox")) may |= bit(kSlackToken);
      if (i + 1 < n && p[i + 1] == '-' && starts_with(i, "-----BEGIN ")) may |= bit(kPrivateKey);
      break;
    case '.':
      if (i + 1 < n && p[i + 1] == 'e' && starts_with(i + 1, "eyJ")) may |= bit(kJwt);
      break;
    case 'A': {
      if (i + 1 < n && p[i + 1] == 'I' && starts_with(i + 1, "Iza")) may |= bit(kGoogleKey);
      size_t j = i + 1;
      while (j < n && j < i + 20 && (is_upper(p[j]) || is_digit(static_cast<char>(p[j])))) ++j;
      if (j == i + 20) may |= bit(kAwsAccessKey);
      break;
    }
  }
}

}  // namespace prepass_detail

inline uint32_t pii_candidates(std::string_view text) {
  prepass_detail::PrePass pass{reinterpret_cast<const unsigned char*>(text.data()), text.size()};
  pass.tail(pass.blocks16(0));
  return pass.may;
}

}  // namespace tollgate::guardrails::reference
