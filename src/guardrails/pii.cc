// Built-in PII patterns and their validators. The regexes find candidates; the validators
// (checksums, ranges, the bytes around a candidate) keep the look-alikes out. Every pattern
// that has a validator is bounded in length, so rejecting a candidate and searching again
// one byte later costs at most that bound (the scan stays linear in the text).
#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "guardrails/detectors.h"

namespace tollgate::guardrails::detail {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
char at(std::string_view t, size_t i) { return i < t.size() ? t[i] : '\0'; }

// A number that is one part of a longer dotted or dashed number ("1.2.3.4.5", "3.14159...",
// "1-800-...-5"): the candidate is a fragment, not a value.
bool inside_longer_number(std::string_view t, size_t b, size_t e, const char* seps) {
  if (b >= 2 && std::strchr(seps, t[b - 1]) && is_digit(t[b - 2])) return true;
  if (e + 1 < t.size() && std::strchr(seps, t[e]) && is_digit(t[e + 1])) return true;
  return false;
}

bool email(std::string_view t, size_t& b, size_t& e) {
  auto v = t.substr(b, e - b);
  size_t at_pos = v.find('@');
  auto local = v.substr(0, at_pos), domain = v.substr(at_pos + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != local.npos) return false;
  // "icon@2x.png", "logo@3x.webp": asset names, not addresses (one label + a file extension).
  static constexpr std::array<std::string_view, 9> kFileExt = {
      "png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "ico", "bmp"};
  size_t dot = domain.rfind('.');
  if (domain.find('.') == dot) {
    std::string tld(domain.substr(dot + 1));
    for (auto& c : tld) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto x : kFileExt)
      if (tld == x) return false;
  }
  for (size_t i = 0; i < domain.size(); ++i) {  // labels neither start nor end with '-'
    if (domain[i] != '-') continue;
    if (i == 0 || domain[i - 1] == '.' || i + 1 == domain.size() || domain[i + 1] == '.')
      return false;
  }
  return true;
}

int count_digits(std::string_view s) {
  int n = 0;
  for (char c : s) n += is_digit(c);
  return n;
}

bool phone_international(std::string_view t, size_t& b, size_t& e) {
  if (b > 0 && (is_word(t[b - 1]) || t[b - 1] == '+')) return false;
  while (e > b && !is_digit(t[e - 1])) --e;  // a trailing ')' or separator is not the number
  int n = count_digits(t.substr(b, e - b));
  if (n < 8 || n > 15) return false;
  return !inside_longer_number(t, b, e, ".-");
}

bool phone_nanp(std::string_view t, size_t& b, size_t& e) {
  size_t d = t[b] == '(' ? b + 1 : b;
  if (t[d] < '2') return false;  // NANP area codes start with 2-9 ("123-456-7890" passes)
  if (b > 0 && (t[b - 1] == '+' || is_word(t[b - 1]))) return false;
  // "555-123-4567" glued to more digit groups is a part number or an id
  return !inside_longer_number(t, b, e, ".-");
}

bool ssn(std::string_view t, size_t& b, size_t& e) {
  auto v = t.substr(b, e - b);  // ddd-dd-dddd
  int area = std::stoi(std::string(v.substr(0, 3)));
  if (area == 0 || area == 666 || area >= 900) return false;  // never issued
  if (v.substr(4, 2) == "00" || v.substr(7, 4) == "0000") return false;
  return !inside_longer_number(t, b, e, ".-");
}

}  // namespace

bool luhn_ok(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

namespace {

bool credit_card(std::string_view t, size_t& b, size_t& e) {
  if (inside_longer_number(t, b, e, ".,")) return false;  // decimals, versions
  // Try the whole run, then shorter prefixes ending at a group boundary: "card 4111 1111
  // 1111 1111 12 items" is a card followed by a number.
  char sep = 0;
  for (size_t i = b; i < e; ++i) {
    if (is_digit(t[i])) continue;
    if (sep && t[i] != sep) return false;  // "4111-1111 1111-1111": mixed separators
    sep = t[i];
  }
  for (size_t end = e; end > b;) {
    std::string digits;
    for (size_t i = b; i < end; ++i)
      if (is_digit(t[i])) digits.push_back(t[i]);
    if (digits.size() >= 13 && digits.size() <= 19 && digits[0] >= '2' && digits[0] <= '6' &&
        luhn_ok(digits)) {
      e = end;
      return true;
    }
    if (!sep) return false;
    size_t prev = t.rfind(sep, end - 1);
    if (prev == t.npos || prev <= b) return false;
    end = prev;
  }
  return false;
}

struct IbanLength {
  const char* cc;
  int len;
};
constexpr IbanLength kIbanLengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

int iban_length(std::string_view cc) {
  for (const auto& x : kIbanLengths)
    if (cc == x.cc) return x.len;
  return 0;
}

}  // namespace

bool iban_ok(std::string_view s) {
  if (s.size() < 15 || s.size() > 34) return false;
  int want = iban_length(s.substr(0, 2));
  if (want && static_cast<int>(s.size()) != want) return false;
  // mod 97 of the number formed by moving the first four characters to the end, letters as
  // 10..35, computed piecewise so no big integers are needed.
  int rem = 0;
  auto feed = [&](char c) {
    if (is_digit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    }
  };
  for (size_t i = 4; i < s.size(); ++i) feed(s[i]);
  for (size_t i = 0; i < 4; ++i) feed(s[i]);
  return rem == 1;
}

namespace {

bool iban(std::string_view t, size_t& b, size_t& e) {
  int want = iban_length(t.substr(b, 2));
  // Walk the candidate collecting characters; an IBAN of a known country ends at its length,
  // others at the longest group boundary whose checksum holds.
  std::string compact;
  size_t best_end = 0;
  for (size_t i = b; i < e; ++i) {
    if (t[i] == ' ') continue;
    compact.push_back(t[i]);
    bool boundary = i + 1 == e || t[i + 1] == ' ';
    if (want && static_cast<int>(compact.size()) == want) {
      if (iban_ok(compact) && !is_alnum(at(t, i + 1))) best_end = i + 1;
      break;
    }
    if (!want && boundary && iban_ok(compact) && !is_alnum(at(t, i + 1))) best_end = i + 1;
  }
  if (!best_end) return false;
  e = best_end;
  return true;
}

bool ipv4(std::string_view t, size_t& b, size_t& e) {
  if (inside_longer_number(t, b, e, ".")) return false;
  if (b > 0 && is_word(t[b - 1])) return false;
  // "v1.2.3.4" and "version 1.2.3.4" are versions; a bare dotted quad is an address.
  if (b > 0 && (t[b - 1] == 'v' || t[b - 1] == 'V') && (b < 2 || !is_alnum(t[b - 2])))
    return false;
  size_t k = b;
  while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == ':')) --k;
  static constexpr std::string_view kWords[] = {"version", "release", "build", "ver", "v."};
  for (auto w : kWords) {
    if (k < w.size()) continue;
    bool same = true;
    for (size_t i = 0; i < w.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(t[k - w.size() + i])) == w[i];
    if (same && (k == w.size() || !is_alnum(t[k - w.size() - 1]))) return false;
  }
  int octet = 0, len = 0;
  for (size_t i = b; i <= e; ++i) {
    if (i == e || t[i] == '.') {
      if (len == 0 || octet > 255) return false;
      octet = len = 0;
      continue;
    }
    if (len == 1 && octet == 0) return false;  // leading zero ("01.02.03.04")
    octet = octet * 10 + (t[i] - '0');
    ++len;
  }
  return true;
}

bool ipv6(std::string_view t, size_t& b, size_t& e) {
  while (e > b && t[e - 1] == '.') --e;
  if (b > 0 && (is_word(t[b - 1]) || t[b - 1] == ':' || t[b - 1] == '.')) return false;
  if (e < t.size() && (is_word(t[e]) || t[e] == ':')) return false;
  std::string v(t.substr(b, e - b));
  int groups = 0;
  bool in_group = false;
  for (char c : v) {
    bool g = c != ':';
    if (g && !in_group) ++groups;
    in_group = g;
  }
  if (groups < 2) return false;  // "::", "::1", "a::": not worth a placeholder
  in6_addr addr;
  return inet_pton(AF_INET6, v.c_str(), &addr) == 1;
}

bool api_key(std::string_view t, size_t& b, size_t& e) {
  bool digit = false, alpha = false;
  for (size_t i = b; i < e; ++i) {
    digit |= is_digit(t[i]);
    alpha |= std::isalpha(static_cast<unsigned char>(t[i])) != 0;
  }
  return digit && alpha;  // "sk-this-is-not-a-key-just-a-long-slug" passes
}

constexpr PiiPattern kPii[] = {
    {"email", "EMAIL", "email",
     R"([A-Za-z0-9._%+\-]{1,64}@(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}\b)", email, false},
    {"phone", "PHONE", "phone_intl", R"(\+[1-9](?:[ .()\-]{0,2}[0-9]){6,14}\)?)",
     phone_international, false},
    {"phone", "PHONE", "phone_nanp", R"((?:\([0-9]{3}\) ?|\b[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}\b)",
     phone_nanp, false},
    {"credit_card", "CREDIT_CARD", "credit_card", R"(\b[0-9](?:[ \-]?[0-9]){12,18}\b)",
     credit_card, false},
    {"ssn", "SSN", "ssn", R"(\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b)", ssn, false},
    {"iban", "IBAN", "iban", R"(\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30})", iban, false},
    {"ip", "IP_ADDRESS", "ipv4", R"(\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b)", ipv4, false},
    {"ip", "IP_ADDRESS", "ipv6", R"([0-9A-Fa-f:]{0,39}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{0,39})",
     ipv6, false},
    {"secret", "SECRET", "openai_key", R"(\bsk-[A-Za-z0-9_\-]{20,250})", api_key, false},
    {"secret", "SECRET", "stripe_key", R"(\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,250})", api_key,
     false},
    {"secret", "SECRET", "aws_access_key",
     R"(\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b)", nullptr,
     false},
    {"secret", "SECRET", "aws_secret_key",
     R"((?i)\baws_?secret(?:_access)?_?key["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9/+]{40})\b)",
     nullptr, false},
    {"secret", "SECRET", "github_token", R"(\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,251}\b)",
     nullptr, false},
    {"secret", "SECRET", "github_pat", R"(\bgithub_pat_[A-Za-z0-9_]{22,250}\b)", nullptr, false},
    {"secret", "SECRET", "gitlab_token", R"(\bglpat-[A-Za-z0-9_\-]{20,250})", nullptr, false},
    {"secret", "SECRET", "slack_token", R"(\bxox[abposre]-[A-Za-z0-9\-]{10,250})", nullptr,
     false},
    {"secret", "SECRET", "google_api_key", R"(\bAIza[0-9A-Za-z_\-]{35}\b)", nullptr, false},
    {"secret", "SECRET", "jwt",
     R"(\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{8,})", nullptr, false},
    // A PEM private key: header, optional "Proc-Type: ..." lines, the base64 body, and the END
    // line when there is one. A truncated key is still a leak, so the END line is optional;
    // the body class stops at the first character base64 never has, so prose after a header
    // that only names the format is not swallowed.
    {"secret", "SECRET", "private_key",
     R"(-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:\r?\n[A-Za-z][A-Za-z0-9\-]*: [^\r\n]*)*[A-Za-z0-9+/=\r\n]*(?:-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)?)",
     nullptr, true},
};

// kPii's indices, for pii_candidates().
enum Pattern : uint32_t {
  kEmail, kPhoneIntl, kPhoneNanp, kCard, kSsn, kIban, kIpv4, kIpv6, kOpenAiKey, kStripeKey,
  kAwsAccessKey, kAwsSecretKey, kGithubToken, kGithubPat, kGitlabToken, kSlackToken, kGoogleKey,
  kJwt, kPrivateKey, kPatterns
};
constexpr bool same(const char* a, const char* b) {
  while (*a && *a == *b) ++a, ++b;
  return *a == *b;
}
static_assert(std::size(kPii) == kPatterns);
static_assert(same(kPii[kEmail].id, "email") && same(kPii[kPhoneNanp].id, "phone_nanp") &&
              same(kPii[kCard].id, "credit_card") && same(kPii[kIpv6].id, "ipv6") &&
              same(kPii[kAwsSecretKey].id, "aws_secret_key") && same(kPii[kGoogleKey].id, "google_api_key") &&
              same(kPii[kPrivateKey].id, "private_key"));

constexpr uint32_t bit(Pattern p) { return uint32_t{1} << p; }

bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
bool is_hex(unsigned char c) { return is_digit(static_cast<char>(c)) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
char lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }
bool is_other_trigger(unsigned char c) {
  return c == '+' || c == '-' || c == ':' || c == '=' || c == '@' || c == 'A' || c == 'J' || c == '_';
}

// One block of 64 bytes as masks, bit k for the byte at base + k (bytes past the text: zero).
struct Masks {
  uint64_t triggers = 0;  // digits and + - : = @ A J _: every match of a pattern holds one
  uint64_t digits = 0;
  uint64_t seps = 0;      // ' ' and '-' (a card's groups)
  uint64_t dots = 0;      // '.' (an IPv4 address's)
};

// One pass of pii_candidates, 64 bytes at a time. What it must find is in the patterns (kPii),
// each reduced to bytes it always holds and what it needs around them:
//   - the digit patterns from the masks: a run of 4 digits (NANP, SSN: both end in [0-9]{4}),
//     13 digits chained by at most one ' ' or '-' (a card), two capitals then two digits (an
//     IBAN), three dots between digit groups (an IPv4 address). Only a digit that continues a
//     number (right after a digit, or after one ' ' or '-' after a digit) and a digit right
//     after "d." are looked at, so the small numbers of prose ("version 4.2", "30%") cost no
//     call (issue 18: a call per digit was most of the pass's cost on a 2 KB prompt).
//   - the others one trigger at a time (other()).
// It gives the bits of the pass before it (tests/unit/pii_prepass_reference.h), tested and fuzzed.
struct PrePass {
  const unsigned char* p;
  size_t n;
  uint32_t may = 0;
  // The last digit that continued a number, and the run and chain it ended (a digit that starts
  // one is 1 and 1: not kept).
  size_t last_linked = SIZE_MAX;
  int run = 0;    // consecutive digits
  int chain = 0;  // digits joined by at most one ' ' or '-'
  // The last digit right after "d.", and how many "d." joined only by digits end there.
  size_t last_dotted = SIZE_MAX;
  int dotted = 0;

  bool digit(size_t i) const { return i < n && is_digit(static_cast<char>(p[i])); }
  bool ends_with(size_t end, std::string_view s) const {  // text[end - |s|, end) == s
    return end >= s.size() && std::memcmp(p + end - s.size(), s.data(), s.size()) == 0;
  }
  bool starts_with(size_t at, std::string_view s) const {
    return at + s.size() <= n && std::memcmp(p + at, s.data(), s.size()) == 0;
  }

  void other(size_t i);
  void linked_digit(size_t i);
  void dotted_digit(size_t i);
  // The block at `base` (its bytes before base are read from the text); only the bits in
  // `keep` (the last block overlaps the one before it).
  [[gnu::always_inline]] inline void block(size_t base, const Masks& m, uint64_t keep);
  // The whole text, masks from masks_of(64 bytes, Masks&) -> false when the block has no trigger.
  template <class MasksOf>
  [[gnu::always_inline]] inline void all(MasksOf masks_of) {
    size_t i = 0;
    Masks m;
    for (; i + 64 <= n; i += 64)
      if (masks_of(p + i, m)) block(i, m, ~uint64_t{0});
    if (i == n) return;
    if (n >= 64) {  // the last 64 bytes, without those already read
      if (masks_of(p + n - 64, m)) block(n - 64, m, ~uint64_t{0} << (64 - (n - i)));
      return;
    }
    unsigned char padded[64] = {};  // a short text: zeros are no trigger
    std::memcpy(padded, p, n);
    if (masks_of(padded, m)) block(0, m, ~uint64_t{0});
  }
};

// Inlined in the loop: a call per block with a trigger cost ~20 instructions of its own, and
// most blocks of prose have one (a digit, a hyphen).
void PrePass::block(size_t base, const Masks& m, uint64_t keep) {
  for (uint64_t o = m.triggers & ~m.digits & keep; o; o &= o - 1) {
    const size_t i = base + static_cast<size_t>(__builtin_ctzll(o));
    // Prose's hyphens and capital Js, passed over here rather than in a call.
    if (p[i] == '-' && !(i >= 2 && ((p[i - 1] == 'k' && p[i - 2] == 's') || (p[i - 1] == 't' && p[i - 2] == 'a'))) &&
        !(i >= 4 && p[i - 4] == 'x') && !(i + 1 < n && p[i + 1] == '-'))
      continue;
    if (p[i] == 'J' && !(i >= 3 && p[i - 1] == 'y')) continue;
    other(i);
  }
  if (!m.digits) return;
  // Each mask shifted to the byte after: bit k says what byte base + k - 1 (or - 2) is.
  uint64_t d1 = m.digits << 1, d2 = m.digits << 2, s1 = m.seps << 1, p1 = m.dots << 1;
  if (base >= 1) {
    const unsigned char c = p[base - 1];
    d1 |= is_digit(static_cast<char>(c));
    d2 |= uint64_t{is_digit(static_cast<char>(c))} << 1;
    s1 |= c == ' ' || c == '-';
    p1 |= c == '.';
  }
  if (base >= 2) d2 |= is_digit(static_cast<char>(p[base - 2]));
  for (uint64_t l = m.digits & (d1 | (d2 & s1)) & keep; l; l &= l - 1)
    linked_digit(base + static_cast<size_t>(__builtin_ctzll(l)));
  for (uint64_t d = m.digits & p1 & d2 & keep; d; d &= d - 1)
    dotted_digit(base + static_cast<size_t>(__builtin_ctzll(d)));
}

// A digit after a digit, or after one ' ' or '-' after a digit (i >= 1).
void PrePass::linked_digit(size_t i) {
  const bool after_digit = is_digit(static_cast<char>(p[i - 1]));
  if (after_digit ? i - 1 == last_linked : i - 2 == last_linked) {
    run = after_digit ? run + 1 : 1;
    ++chain;
  } else {  // the digit before starts the number: run 1, chain 1
    run = after_digit ? 2 : 1;
    chain = 2;
  }
  last_linked = i;
  if (run >= 4) may |= bit(kPhoneNanp) | bit(kSsn);  // both end in [0-9]{4}
  if (chain >= 13) may |= bit(kCard);
  if (after_digit && i >= 3 && is_upper(p[i - 3]) && is_upper(p[i - 2])) may |= bit(kIban);  // [A-Z]{2}[0-9]{2}
}

// A digit right after "d." (i >= 2): the group before the dot starts at g; the dots chain on
// when g is itself right after "d.", which is then the last one seen (only digits between).
void PrePass::dotted_digit(size_t i) {
  size_t g = i - 2;
  while (g > 0 && is_digit(static_cast<char>(p[g - 1]))) --g;
  dotted = g == last_dotted ? dotted + 1 : 1;
  last_dotted = i;
  if (dotted >= 3) may |= bit(kIpv4);
}

void PrePass::other(size_t i) {
  switch (p[i]) {
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
    case 'J':  // ".eyJ": a JWT's second part
      if (i >= 3 && p[i - 1] == 'y' && p[i - 2] == 'e' && p[i - 3] == '.') may |= bit(kJwt);
      break;
    case 'A': {
      if (i + 1 < n && p[i + 1] == 'I' && starts_with(i + 1, "Iza")) may |= bit(kGoogleKey);
      size_t j = i + 1;
      while (j < n && j < i + 20 && (is_upper(p[j]) || is_digit(static_cast<char>(p[j])))) ++j;
      if (j == i + 20) may |= bit(kAwsAccessKey);
      break;
    }
    default: break;
  }
}

// A byte at a time: where the CPU has no AVX2.
bool masks_portable(const unsigned char* q, Masks& m) {
  m = {};
  for (int k = 0; k < 64; ++k) {
    const unsigned char c = q[k];
    const uint64_t b = uint64_t{1} << k;
    if (is_digit(static_cast<char>(c))) m.digits |= b;
    if (is_digit(static_cast<char>(c)) || is_other_trigger(c)) m.triggers |= b;
    if (c == ' ' || c == '-') m.seps |= b;
    if (c == '.') m.dots |= b;
  }
  return m.triggers != 0;
}

#if defined(__x86_64__)
#define TOLLGATE_PREPASS_AVX2 1
// 32 bytes at a time where the CPU has AVX2 (chosen at run time: the build targets plain x86-64).
// A byte's class is lo[its low nibble] & hi[its high nibble] (two table lookups): bit 7 for a
// digit, another bit for each other trigger's high nibble; bytes >= 0x80 look up zero. A block
// without a trigger (most of prose) costs the two lookups and a test per 32 bytes.
__attribute__((target("avx2"))) inline uint64_t mask(__m256i lo32, __m256i hi32) {  // the high bits
  return static_cast<uint32_t>(_mm256_movemask_epi8(lo32)) |
         uint64_t{static_cast<uint32_t>(_mm256_movemask_epi8(hi32))} << 32;
}

__attribute__((target("avx2"))) inline bool masks_avx2(const unsigned char* q, Masks& m) {
  //                                     0     1     2     3     4     5     6     7     8     9     A     B  C     D  E     F
  const __m256i lo = _mm256_setr_epi8(
      '\x84', '\x84', '\x80', '\x80', '\x80', '\x80', '\x80', '\x80', '\x80', '\x80', 0x06, 0x01, 0, 0x03, 0, 0x08,
      '\x84', '\x84', '\x80', '\x80', '\x80', '\x80', '\x80', '\x80', '\x80', '\x80', 0x06, 0x01, 0, 0x03, 0, 0x08);
  // 0x2_: + -   0x3_: digits (0x80), : =   0x4_: @ A J   0x5_: _
  const __m256i hi = _mm256_setr_epi8(0, 0, 0x01, '\x82', 0x04, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                      0, 0, 0x01, '\x82', 0x04, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
  const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32));
  const __m256i c0 = _mm256_and_si256(_mm256_shuffle_epi8(lo, b0),
                                      _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(b0, 4), nibble)));
  const __m256i c1 = _mm256_and_si256(_mm256_shuffle_epi8(lo, b1),
                                      _mm256_shuffle_epi8(hi, _mm256_and_si256(_mm256_srli_epi16(b1, 4), nibble)));
  const __m256i any = _mm256_or_si256(c0, c1);
  if (_mm256_testz_si256(any, any)) return false;
  const __m256i zero = _mm256_setzero_si256();
  m.triggers = ~mask(_mm256_cmpeq_epi8(c0, zero), _mm256_cmpeq_epi8(c1, zero));
  m.digits = mask(c0, c1);
  if (m.digits) {
    const __m256i space = _mm256_set1_epi8(' '), dash = _mm256_set1_epi8('-'), dot = _mm256_set1_epi8('.');
    m.seps = mask(_mm256_or_si256(_mm256_cmpeq_epi8(b0, space), _mm256_cmpeq_epi8(b0, dash)),
                  _mm256_or_si256(_mm256_cmpeq_epi8(b1, space), _mm256_cmpeq_epi8(b1, dash)));
    m.dots = mask(_mm256_cmpeq_epi8(b0, dot), _mm256_cmpeq_epi8(b1, dot));
  }
  return true;
}

__attribute__((target("avx2"))) uint32_t candidates_avx2(std::string_view text) {
  PrePass pass{reinterpret_cast<const unsigned char*>(text.data()), text.size()};
  pass.all(masks_avx2);
  return pass.may;
}

bool has_avx2() {
  __builtin_cpu_init();  // may run before the constructor that initialises what the next call reads
  return __builtin_cpu_supports("avx2");
}
const bool kHasAvx2 = has_avx2();
#endif

}  // namespace

uint32_t pii_candidates_portable(std::string_view text) {
  PrePass pass{reinterpret_cast<const unsigned char*>(text.data()), text.size()};
  pass.all(masks_portable);
  return pass.may;
}

uint32_t pii_candidates(std::string_view text) {
#if TOLLGATE_PREPASS_AVX2
  if (kHasAvx2) return candidates_avx2(text);
#endif
  return pii_candidates_portable(text);
}

std::span<const PiiPattern> pii_patterns() { return kPii; }

bool known_pii_entity(std::string_view entity) {
  for (const auto& p : kPii)
    if (entity == p.entity) return true;
  return false;
}

}  // namespace tollgate::guardrails::detail
