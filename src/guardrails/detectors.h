// The built-in detectors (internal to src/guardrails): PII patterns with their validators,
// and the prompt-injection rules. Patterns are RE2 syntax; each one is added to the snapshot's
// RE2::Set and also compiled alone to report positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tollgate::guardrails::detail {

// Checks a candidate the regex found in `text` at [begin, end) (or its capture group 1), with
// the text around it as context, and may shrink it. False rejects it (a look-alike).
using Validator = bool (*)(std::string_view text, size_t& begin, size_t& end);

struct PiiPattern {
  const char* entity;  // as policies name it: "email", "credit_card", ...
  const char* label;   // as placeholders show it: "EMAIL", "CREDIT_CARD", ...
  const char* id;      // distinguishes several patterns of one entity
  const char* pattern;
  Validator validate;  // may be null
  bool private_key;    // the PEM block pattern (may run to the end of the text)
};
std::span<const PiiPattern> pii_patterns();
bool known_pii_entity(std::string_view entity);

// Bit i set: pii_patterns()[i] may match somewhere in `text`; clear: it cannot. One cheap pass
// over the bytes that every match must hold (a digit, '@', '+', ':', '=', '_', '-', 'J', 'A'),
// checking what the pattern needs around them: most prompts are ruled out for every pattern
// without the set reading them (a 2 KB prompt: ~38k instructions in RE2's DFA). A superset by
// construction: keep it beside the patterns, and change both together (the unit test and the
// guardrails fuzzer check every pattern's matches against it).
uint32_t pii_candidates(std::string_view text);
// The same a byte at a time (what pii_candidates runs on a CPU without AVX2): for tests.
uint32_t pii_candidates_portable(std::string_view text);

// Scored prompt-injection rules. A text's score is 1 - prod(1 - w) over the distinct rules
// that hit it, with w the rule's weight for the text's source.
struct InjectionRule {
  const char* id;
  const char* pattern;
  double weight_user;
  double weight_tool;  // tool results and retrieved content
  enum Special { none, base64_payload, tag_characters } special;
};
std::span<const InjectionRule> injection_rules();

// Decoders for encoded payloads (bounded output; empty when it is not text).
std::string decode_base64_text(std::string_view s, size_t max_out);
// Unicode "tag" characters (U+E0020..U+E007E) mirror ASCII invisibly ("ASCII smuggling").
std::string decode_tag_characters(std::string_view s, size_t max_out);

// Exposed for tests.
bool luhn_ok(std::string_view digits);
bool iban_ok(std::string_view compact);  // no spaces, upper case

}  // namespace tollgate::guardrails::detail
