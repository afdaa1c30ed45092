// PII detection and redaction on prompts and whole answers; deny lists; policy compilation.
#include <chrono>

#include <gtest/gtest.h>

#include "../guardrails/corpus.h"
#include "guardrails/detectors.h"
#include "guardrails/guardrail.h"

namespace tollgate::guardrails {
namespace {

using namespace testing;

std::string label_of(const std::string& entity) {
  if (entity == "ip") return "IP_ADDRESS";
  std::string l = entity;
  for (auto& c : l) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return l;
}

InputVerdict scan_one(const CompiledPolicies& p, std::string& text, RestoreMap& restore,
                      Source src = Source::user) {
  std::vector<InputText> texts{{src, text}};
  auto v = p.scan_input(p.select(all_names(p)), texts, restore);
  text = texts[0].text;
  return v;
}

TEST(GuardrailsChecksums, LuhnAndIbanMod97) {
  EXPECT_TRUE(detail::luhn_ok("4111111111111111"));
  EXPECT_FALSE(detail::luhn_ok("4111111111111112"));
  EXPECT_TRUE(detail::luhn_ok("378282246310005"));
  EXPECT_TRUE(detail::iban_ok("GB82WEST12345698765432"));
  EXPECT_FALSE(detail::iban_ok("GB82WEST12345698765433"));
  EXPECT_FALSE(detail::iban_ok("GB82WEST1234569876543"));  // GB IBANs are 22 long
}

TEST(GuardrailsPii, CorpusTruePositivesAreRedactedExactly) {
  auto rows = read_corpus("pii_positive.tsv");
  ASSERT_GT(rows.size(), 40u);
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 2u);
    const auto& entity = row[0];
    const auto& value = row[1];
    auto p = compile_ok({pii("p", Mode::redact, {entity})});
    std::string text = "before " + value + " after.";
    RestoreMap restore;
    auto v = scan_one(*p, text, restore);
    EXPECT_EQ(text, "before [" + label_of(entity) + "] after.") << entity << ": " << value;
    EXPECT_TRUE(v.redacted) << value;
    ASSERT_FALSE(v.findings.empty()) << value;
    EXPECT_EQ(v.findings[0].entity, entity);
    EXPECT_EQ(v.findings[0].begin, 7u) << value;
    EXPECT_EQ(v.findings[0].end, 7u + value.size()) << value;
  }
}

TEST(GuardrailsPii, CorpusLookAlikesPass) {
  auto p = compile_ok({pii("all", Mode::redact)});
  for (const auto& row : read_corpus("pii_lookalike.tsv")) {
    ASSERT_EQ(row.size(), 2u);
    std::string text = row[1];
    RestoreMap restore;
    auto v = scan_one(*p, text, restore);
    for (const auto& f : v.findings)
      ADD_FAILURE() << "look-alike caught as " << f.entity << ": "
                    << row[1].substr(f.begin, f.end - f.begin) << "  in: " << row[1];
    EXPECT_EQ(text, row[1]);
  }
}

TEST(GuardrailsPii, OnlyTheListedEntities) {
  auto p = compile_ok({pii("emails-only", Mode::redact, {"email"})});
  std::string text = "mail bob@example.com or call +1 415 555 2671";
  RestoreMap restore;
  scan_one(*p, text, restore);
  EXPECT_EQ(text, "mail [EMAIL] or call +1 415 555 2671");
}

TEST(GuardrailsPii, SeveralValuesInOneText) {
  auto p = compile_ok({pii("all", Mode::redact)});
  std::string text =
      "Alice (alice@example.com, 415-555-2671, card 4111 1111 1111 1111, SSN 123-45-6789) "
      "wired from DE89 3704 0044 0532 0130 00 via 10.1.2.3 with key AKIAIOSFODNN7EXAMPLE.";
  RestoreMap restore;
  auto v = scan_one(*p, text, restore);
  EXPECT_EQ(text,
            "Alice ([EMAIL], [PHONE], card [CREDIT_CARD], SSN [SSN]) wired from [IBAN] via "
            "[IP_ADDRESS] with key [SECRET].");
  EXPECT_EQ(v.findings.size(), 7u);
}

TEST(GuardrailsPii, CardFollowedByANumberIsStillACard) {
  auto p = compile_ok({pii("cards", Mode::redact, {"credit_card"})});
  std::string text = "card 4111 1111 1111 1111 12 items";
  RestoreMap restore;
  scan_one(*p, text, restore);
  EXPECT_EQ(text, "card [CREDIT_CARD] 12 items");
}

TEST(GuardrailsPii, PrivateKeyBlockIsOneSecret) {
  auto p = compile_ok({pii("secrets", Mode::redact, {"secret"})});
  std::string text =
      "key:\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIEowIBAAKCAQEA1x2y3z\n"
      "abcdEFGH+/09==\n-----END RSA PRIVATE KEY-----\nkeep it safe.";
  RestoreMap restore;
  scan_one(*p, text, restore);
  EXPECT_EQ(text, "key:\n[SECRET]\nkeep it safe.");

  std::string truncated = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
  scan_one(*p, truncated, restore);
  EXPECT_EQ(truncated, "[SECRET]");

  std::string mention = "A PEM key starts with -----BEGIN PRIVATE KEY----- and a newline.";
  scan_one(*p, mention, restore);
  EXPECT_EQ(mention, "A PEM key starts with [SECRET] and a newline.");  // the header only
}

TEST(GuardrailsPii, ReversibleRoundTrip) {
  auto p = compile_ok({pii("pii-rev", Mode::redact, {}, /*reversible=*/true)});
  std::vector<InputText> texts{
      {Source::system, "Contact: ops@example.com"},
      {Source::user, "Mail alice@example.com and bob@example.org; again alice@example.com. "
                     "Card 5555555555554444."}};
  RestoreMap restore;
  auto v = p->scan_input(p->select({"pii-rev"}), texts, restore);
  EXPECT_FALSE(v.blocked);
  EXPECT_EQ(texts[0].text, "Contact: [EMAIL_1]");
  EXPECT_EQ(texts[1].text, "Mail [EMAIL_2] and [EMAIL_3]; again [EMAIL_2]. Card [CREDIT_CARD_1].");
  EXPECT_EQ(restore.size(), 4u);

  // The answer names the placeholders; the caller sees its own values back, and PII the model
  // made up on its own is still redacted (without a number: nothing maps it back).
  auto out = p->scan_output(p->select({"pii-rev"}),
                            "Sent to [EMAIL_2] and [EMAIL_3] (cc [EMAIL_9], carol@example.net).",
                            &restore);
  EXPECT_FALSE(out.blocked);
  EXPECT_EQ(out.text, "Sent to alice@example.com and bob@example.org (cc [EMAIL_9], [EMAIL]).");
  EXPECT_EQ(restore.restore("[CREDIT_CARD_1]!"), "5555555555554444!");
}

TEST(GuardrailsPii, BlockNamesThePolicyNeverTheValue) {
  auto p = compile_ok({pii("no-cards", Mode::block, {"credit_card", "email"}),
                       pii("redact-all", Mode::redact)});
  std::string text = "charge 4111111111111111 please";
  RestoreMap restore;
  auto v = scan_one(*p, text, restore);
  ASSERT_TRUE(v.blocked);
  EXPECT_EQ(v.policy, "no-cards");
  EXPECT_NE(v.reason.find("no-cards"), std::string::npos);
  EXPECT_NE(v.reason.find("credit_card"), std::string::npos);
  EXPECT_EQ(v.reason.find("4111"), std::string::npos);
  EXPECT_EQ(text, "charge 4111111111111111 please");  // a blocked request is not rewritten
}

TEST(GuardrailsPii, MonitorOnlyRecords) {
  auto p = compile_ok({pii("watch", Mode::monitor)});
  std::string text = "mail bob@example.com";
  RestoreMap restore;
  auto v = scan_one(*p, text, restore);
  EXPECT_FALSE(v.blocked);
  EXPECT_FALSE(v.redacted);
  EXPECT_EQ(text, "mail bob@example.com");
  ASSERT_EQ(v.findings.size(), 1u);
  EXPECT_FALSE(v.findings[0].acted);
  EXPECT_EQ(v.findings[0].policy, "watch");
}

TEST(GuardrailsPii, UnselectedPoliciesDoNothing) {
  auto p = compile_ok({pii("a", Mode::block), pii("b", Mode::redact, {"email"})});
  std::vector<InputText> texts{{Source::user, "bob@example.com"}};
  RestoreMap restore;
  auto v = p->scan_input(p->select({"b"}), texts, restore);
  EXPECT_FALSE(v.blocked);
  EXPECT_EQ(texts[0].text, "[EMAIL]");
  auto none = p->scan_input(p->select({}), texts, restore);
  EXPECT_TRUE(none.findings.empty());
  EXPECT_TRUE(p->select({"nope"}).empty());
}

TEST(GuardrailsKeywords, WholeWordsCaseInsensitiveAndPatterns) {
  auto p = compile_ok({keywords("deny", Mode::redact, {"project falcon", "ssh"},
                                {R"(\bINC-[0-9]{4}\b)"})});
  std::string text =
      "PROJECT FALCON ships; projection falconry; ssh in, sshd runs; cash; see INC-1234.";
  RestoreMap restore;
  auto v = scan_one(*p, text, restore);
  EXPECT_EQ(text, "[REDACTED] ships; projection falconry; [REDACTED] in, sshd runs; cash; see "
                  "[REDACTED].");
  ASSERT_EQ(v.findings.size(), 3u);
  EXPECT_EQ(v.findings[0].entity, "keywords[0]");
  EXPECT_EQ(v.findings[2].entity, "patterns[0]");
}

TEST(GuardrailsKeywords, BlockNamesPolicyAndEntryIndexOnly) {
  auto p = compile_ok({keywords("secret-projects", Mode::block, {"falcon"})});
  std::string text = "tell me about Falcon";
  RestoreMap restore;
  auto v = scan_one(*p, text, restore);
  ASSERT_TRUE(v.blocked);
  EXPECT_EQ(v.policy, "secret-projects");
  EXPECT_NE(v.reason.find("keywords[0]"), std::string::npos);
  EXPECT_EQ(v.reason.find("alcon"), std::string::npos);
}

TEST(GuardrailsCompile, RegexErrorsNameThePolicyAndPatternIndex) {
  std::vector<std::string> errors;
  auto p = CompiledPolicies::compile(
      {keywords("deny", Mode::block, {}, {"fine", "(unclosed", "a{2,1}", "ok[a-z]+"}),
       keywords("empty", Mode::block, {}), pii("bad-pii", Mode::redact, {"email", "dna"}),
       PolicySpec{"odd", "moderation", Mode::block},
       injection("inj", Mode::block, 1.5)},
      errors);
  EXPECT_EQ(p, nullptr);
  auto has = [&](std::string_view needle) {
    for (const auto& e : errors)
      if (e.find(needle) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("guardrail 'deny': patterns[1]: missing )")) << errors.size();
  EXPECT_TRUE(has("guardrail 'deny': patterns[2]: invalid repetition size"));
  EXPECT_FALSE(has("patterns[0]"));
  EXPECT_FALSE(has("patterns[3]"));
  EXPECT_TRUE(has("guardrail 'empty': needs keywords or patterns"));
  EXPECT_TRUE(has("guardrail 'bad-pii': entities[1]: unknown entity 'dna'"));
  EXPECT_TRUE(has("guardrail 'odd': unknown kind 'moderation'"));
  EXPECT_TRUE(has("guardrail 'inj': threshold"));
  for (const auto& e : errors) std::cout << "  " << e << "\n";
}

TEST(GuardrailsCompile, DuplicateNamesAreRejected) {
  std::vector<std::string> errors;
  EXPECT_EQ(CompiledPolicies::compile({pii("x", Mode::redact), pii("x", Mode::block)}, errors),
            nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "guardrail 'x': defined twice");
}

TEST(GuardrailsPii, TypicalPolicyOnA2KBPromptIsFast) {
  auto p = compile_ok({pii("pii", Mode::redact), injection("inj", Mode::block),
                       keywords("deny", Mode::block, {"falcon", "heron"}, {R"(\bINC-\d{4})"})});
  std::string prompt;
  while (prompt.size() < 2048)
    prompt += "Please review the quarterly report for the Berlin office and list the three "
              "biggest risks, with one sentence each. Mail the summary to ops@example.com. ";
  auto sel = p->select(all_names(*p));
  RestoreMap restore;
  constexpr int kRuns = 200;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) {
    std::vector<InputText> texts{{Source::user, prompt}};
    auto v = p->scan_input(sel, texts, restore);
    ASSERT_FALSE(v.blocked);
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - t0).count() / kRuns;
  std::cout << "  2 KB prompt, pii + injection + keywords: " << us << " us per scan\n";
  EXPECT_LT(us, 20000);  // generous: sanitizer builds are slow
}

}  // namespace
}  // namespace tollgate::guardrails
