// detail::pii_candidates(): the cheap pass that rules texts out before the RE2 set reads them
// must never rule out a text one of the patterns matches (issue 18).
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "../guardrails/corpus.h"
#include "pii_prepass_reference.h"
#include "guardrails/detectors.h"
#include "guardrails/guardrail.h"

namespace tollgate::guardrails {
namespace {

using namespace testing;

// The PII patterns, compiled once: a compile per text made the random test take minutes
// (seven and a half under ASan).
const std::vector<std::unique_ptr<RE2>>& compiled_patterns() {
  static const auto compiled = [] {
    std::vector<std::unique_ptr<RE2>> out;
    for (const auto& p : detail::pii_patterns()) out.push_back(std::make_unique<RE2>(p.pattern));
    return out;
  }();
  return compiled;
}

// Every pattern that matches somewhere in `text` has its bit set.
void expect_superset(const std::string& text) {
  const uint32_t may = detail::pii_candidates(text);
  const auto patterns = detail::pii_patterns();
  const auto& compiled = compiled_patterns();
  for (size_t k = 0; k < patterns.size(); ++k) {
    ASSERT_TRUE(compiled[k]->ok()) << patterns[k].id;
    if (RE2::PartialMatch(text, *compiled[k]))
      EXPECT_TRUE(may >> k & 1) << patterns[k].id << " matches but was ruled out: " << text;
  }
}

TEST(GuardrailsPrefilter, NeverRulesOutACorpusValue) {
  for (const char* file : {"pii_positive.tsv", "pii_lookalike.tsv", "injection.tsv"})
    for (const auto& row : read_corpus(file))
      for (const auto& field : row) {
        expect_superset(field);
        expect_superset("before " + field + " after.");
        // Across the 16-byte blocks the pass skips by.
        for (size_t pad = 1; pad < 17; pad += 5) expect_superset(std::string(pad, 'x') + field);
      }
}

TEST(GuardrailsPrefilter, NeverRulesOutARandomText) {
  // Text made of what the patterns are made of, so most draws match something.
  const std::string alphabet = "0123456789     ..--__::@+=AAKIZSEGNBJaeksyghxoltpbiuwcrv\"'\n/()";
  std::mt19937 rng(18);
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 90, ' ');
    for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    expect_superset(text);
    // A part never has a bit its whole lacks: a body with no escapes is ruled out for all of its
    // texts at once (gateway/guard.cc).
    size_t b = text.empty() ? 0 : rng() % text.size(), e = b + (text.size() == b ? 0 : rng() % (text.size() - b + 1));
    const uint32_t part = detail::pii_candidates(std::string_view(text).substr(b, e - b));
    EXPECT_EQ(part & ~detail::pii_candidates(text), 0u) << text << " [" << b << ", " << e << ")";
    if (HasFatalFailure() || HasFailure()) return;
  }
}

TEST(GuardrailsPrefilter, TheAvx2PassAgreesWithThePortableOneAndThePassBeforeThem) {
  // pii_candidates reads 64 bytes at a time (AVX2 where the CPU has it, else a byte at a time;
  // the last block overlaps what it read already, a short text is padded), and reads the digit
  // patterns from masks; the pass before it took every trigger byte through a call, 16 bytes at
  // a time (pii_prepass_reference.h). Same bits, every length, across block edges.
  const std::string alphabet = "0123456789     ..--__::@+=AAKIZSEGNBJaeksyghxoltpbiuwcrv\"'\n/()";
  std::mt19937 rng(1818);
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 300, ' ');
    const bool prose = i % 2;  // mostly letters: long runs of blocks without a trigger
    for (auto& c : text)
      c = prose && rng() % 4 ? static_cast<char>('a' + rng() % 26) : alphabet[rng() % alphabet.size()];
    const uint32_t before = reference::pii_candidates(text);
    ASSERT_EQ(detail::pii_candidates(text), before) << text;
    ASSERT_EQ(detail::pii_candidates_portable(text), before) << text;
  }
  for (int i = 0; i < 2000; ++i) {  // any byte, and numbers: digits, spaces, dashes, dots
    std::string text(rng() % 400, ' ');
    for (auto& c : text) c = i % 2 ? static_cast<char>(rng() % 256) : "0123456789 .-AZ"[rng() % 15];
    ASSERT_EQ(detail::pii_candidates(text), reference::pii_candidates(text));
    ASSERT_EQ(detail::pii_candidates_portable(text), reference::pii_candidates(text));
  }
  for (const char* file : {"pii_positive.tsv", "pii_lookalike.tsv"})
    for (const auto& row : read_corpus(file))
      for (const auto& field : row)
        for (size_t pad = 0; pad < 80; pad += 3) {
          std::string text = std::string(pad, 'x') + field + std::string(pad % 7, '.');
          ASSERT_EQ(detail::pii_candidates(text), reference::pii_candidates(text)) << text;
          ASSERT_EQ(detail::pii_candidates_portable(text), reference::pii_candidates(text)) << text;
          // Every pattern that matches has its bit in the portable pass too.
          for (size_t k = 0; k < detail::pii_patterns().size(); ++k)
            if (RE2::PartialMatch(text, *compiled_patterns()[k]))
              ASSERT_TRUE(detail::pii_candidates_portable(text) >> k & 1) << text;
        }
}

TEST(GuardrailsPrefilter, NumbersAcrossBlockEdges) {
  // The digit patterns read the bytes before a block; each value put across every offset of
  // the first two blocks' edge, in prose.
  for (std::string value : {"4111 1111 1111 1111", "415-555-2671", "10.20.30.40", "DE89370400440532013000",
                            "123-45-6789", "1.2.3", "12 34 56 78 90 12 3", "v4.2 and 3.1"}) {
    for (size_t at = 40; at < 140; ++at) {
      std::string text(at, 'a');
      text += value;
      text += " tail of the text, long enough for a block more";
      ASSERT_EQ(detail::pii_candidates(text), reference::pii_candidates(text)) << text;
      ASSERT_EQ(detail::pii_candidates_portable(text), reference::pii_candidates(text)) << text;
    }
  }
}

TEST(GuardrailsPrefilter, RulesOutProseWithSmallNumbers) {
  std::string prompt;
  while (prompt.size() < 2048)
    prompt += "Version 4.2 moves the scheduler to a work-stealing pool (see section 3.1), which cuts "
              "tail latency by 30% for mixed batch jobs; at 12:30 the queue_name label = 'default'. ";
  EXPECT_EQ(detail::pii_candidates(prompt), 0u);
  // The same prose with one address in it: that pattern, and the scan finds it.
  std::string with_mail = prompt + " Mail ops@example.com.";
  EXPECT_NE(detail::pii_candidates(with_mail), 0u);
  auto p = compile_ok({pii("p", Mode::redact)});
  std::vector<InputText> texts{{Source::user, with_mail}};
  RestoreMap restore;
  auto v = p->scan_input(p->select({"p"}), texts, restore);
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_EQ(v.findings[0].entity, "email");
}

TEST(GuardrailsPrefilter, OtherPolicyKindsAreAlwaysScanned) {
  // A deny list is not PII: the pass says nothing about it, so the set reads the text.
  auto p = compile_ok({pii("p", Mode::redact), keywords("kw", Mode::block, {"falcon"}, {})});
  std::vector<InputText> texts{{Source::user, "project falcon, version 4.2"}};
  RestoreMap restore;
  auto v = p->scan_input(p->select({"p", "kw"}), texts, restore);
  EXPECT_TRUE(v.blocked);
}

}  // namespace
}  // namespace tollgate::guardrails
