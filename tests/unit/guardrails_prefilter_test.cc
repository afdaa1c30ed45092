// detail::pii_candidates(): the cheap pass that rules texts out before the RE2 set reads them
// must never rule out a text one of the patterns matches (issue 18).
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "../guardrails/corpus.h"
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

TEST(GuardrailsPrefilter, TheAvx2PassAgreesWithThePortableOne) {
  // pii_candidates reads 32 bytes at a time where the CPU has AVX2 (and its last block
  // overlaps what it read already); the portable pass, 16 at a time. Same bits, every length.
  const std::string alphabet = "0123456789     ..--__::@+=AAKIZSEGNBJaeksyghxoltpbiuwcrv\"'\n/()";
  std::mt19937 rng(1818);
  for (int i = 0; i < 20000; ++i) {
    std::string text(rng() % 140, ' ');
    for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    ASSERT_EQ(detail::pii_candidates(text), detail::pii_candidates_portable(text)) << text;
  }
  for (const char* file : {"pii_positive.tsv", "pii_lookalike.tsv"})
    for (const auto& row : read_corpus(file))
      for (const auto& field : row)
        for (size_t pad = 0; pad < 40; pad += 3) {
          std::string text = std::string(pad, 'x') + field + std::string(pad % 7, '.');
          ASSERT_EQ(detail::pii_candidates(text), detail::pii_candidates_portable(text)) << text;
          // Every pattern that matches has its bit in the portable pass too.
          for (size_t k = 0; k < detail::pii_patterns().size(); ++k)
            if (RE2::PartialMatch(text, RE2(detail::pii_patterns()[k].pattern)))
              ASSERT_TRUE(detail::pii_candidates_portable(text) >> k & 1) << text;
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
