// Streamed output redaction: values split anywhere across deltas are still caught, placeholders
// are restored across splits, the hold-back stays bounded and code points stay whole.
#include <random>

#include <gtest/gtest.h>

#include "../guardrails/corpus.h"
#include "guardrails/guardrail.h"

namespace tollgate::guardrails {
namespace {

using namespace testing;

std::string run(const std::shared_ptr<const CompiledPolicies>& p, const RestoreMap* restore,
                const std::vector<std::string>& deltas, StreamRedactor** keep = nullptr) {
  static thread_local std::unique_ptr<StreamRedactor> last;
  last = std::make_unique<StreamRedactor>(p, p->select(all_names(*p)), restore);
  std::string out;
  for (const auto& d : deltas) out += last->feed(d);
  out += last->flush();
  if (keep) *keep = last.get();
  return out;
}

// Every value of the positive corpus, in a sentence, split in two at every byte: the stream
// must produce exactly what the one-shot answer scan produces.
TEST(GuardrailsStream, EveryValueSplitAtEveryByteIsRedacted) {
  auto p = compile_ok({pii("pii", Mode::redact)});
  auto sel = p->select({"pii"});
  size_t cases = 0;
  for (const auto& row : read_corpus("pii_positive.tsv")) {
    std::string text = "Sure: " + row[1] + " is the value.";
    std::string want = p->scan_output(sel, text, nullptr).text;
    ASSERT_EQ(want.find(row[1]), std::string::npos) << row[1];
    for (size_t k = 0; k <= text.size(); ++k) {
      std::string got = run(p, nullptr, {text.substr(0, k), text.substr(k)});
      ASSERT_EQ(got, want) << "split at " << k << " of: " << text;
      ++cases;
    }
  }
  std::cout << "  " << cases << " split cases\n";
}

TEST(GuardrailsStream, ByteByByteAndRandomChunks) {
  auto p = compile_ok({pii("pii", Mode::redact)});
  std::string text =
      "Reach me at alice@example.com or +44 20 7946 0958. Card: 3782 822463 10005, IBAN "
      "GB82 WEST 1234 5698 7654 32, server 2001:db8::8a2e:370:7334, token "
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMe, "
      "and the version 1.2.3.4 stays.";
  std::string want = p->scan_output(p->select({"pii"}), text, nullptr).text;
  EXPECT_EQ(want,
            "Reach me at [EMAIL] or [PHONE]. Card: [CREDIT_CARD], IBAN [IBAN], server "
            "[IP_ADDRESS], token [SECRET], and the version 1.2.3.4 stays.");
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  EXPECT_EQ(run(p, nullptr, bytes), want);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < text.size();) {
      size_t n = std::uniform_int_distribution<size_t>(1, 12)(rng);
      parts.push_back(text.substr(i, n));
      i += n;
    }
    ASSERT_EQ(run(p, nullptr, parts), want) << "trial " << trial;
  }
}

TEST(GuardrailsStream, PlaceholdersSplitAcrossDeltasAreRestored) {
  auto p = compile_ok({pii("rev", Mode::redact, {}, true)});
  RestoreMap restore;
  std::vector<InputText> texts{{Source::user, "write to alice@example.com about 4111111111111111"}};
  p->scan_input(p->select({"rev"}), texts, restore);
  ASSERT_EQ(texts[0].text, "write to [EMAIL_1] about [CREDIT_CARD_1]");
  std::string answer = "Done: mailed [EMAIL_1] about card [CREDIT_CARD_1].";
  for (size_t k = 0; k <= answer.size(); ++k) {
    for (size_t j = k; j <= answer.size(); j += 3) {
      std::string got = run(p, &restore,
                            {answer.substr(0, k), answer.substr(k, j - k), answer.substr(j)});
      ASSERT_EQ(got, "Done: mailed alice@example.com about card 4111111111111111.")
          << k << "," << j;
    }
  }
}

TEST(GuardrailsStream, ProseIsNotHeldBackBeyondTheCurrentWord) {
  auto p = compile_ok({pii("pii", Mode::redact)});
  StreamRedactor r(p, p->select({"pii"}), nullptr);
  EXPECT_EQ(r.feed("Hello there, "), "Hello there, ");
  EXPECT_EQ(r.feed("how are yo"), "how are ");
  EXPECT_EQ(r.held(), 2u);
  EXPECT_EQ(r.feed("u today?"), "you ");
  EXPECT_EQ(r.flush(), "today?");
}

TEST(GuardrailsStream, HoldBackIsBounded) {
  auto p = compile_ok({pii("pii", Mode::redact)});
  StreamRedactor r(p, p->select({"pii"}), nullptr, 1024);
  std::string out;
  for (int i = 0; i < 100; ++i) {
    out += r.feed(std::string(100, 'x'));
    EXPECT_LE(r.held(), 1024u);
  }
  out += r.flush();
  EXPECT_EQ(out, std::string(10000, 'x'));
}

TEST(GuardrailsStream, PrivateKeyAcrossManyChunks) {
  auto p = compile_ok({pii("pii", Mode::redact, {"secret"})});
  std::string body;
  for (int i = 0; i < 40; ++i) body += "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n";
  std::string text = "Here:\n-----BEGIN PRIVATE KEY-----\n" + body +
                     "-----END PRIVATE KEY-----\nDone, store it well.";
  for (size_t chunk : {1u, 7u, 64u, 500u}) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < text.size(); i += chunk) parts.push_back(text.substr(i, chunk));
    // a small max hold forces the block out early: the rest of its body is swallowed
    StreamRedactor r(p, p->select({"pii"}), nullptr, 256);
    std::string out;
    for (const auto& d : parts) out += r.feed(d);
    out += r.flush();
    EXPECT_EQ(out.find("MIIE"), std::string::npos) << chunk;
    EXPECT_NE(out.find("[SECRET]"), std::string::npos) << chunk;
    EXPECT_NE(out.find("Done, store it well."), std::string::npos) << chunk << ": " << out;
    EXPECT_EQ(run(p, nullptr, parts), "Here:\n[SECRET]\nDone, store it well.") << chunk;
  }
}

TEST(GuardrailsStream, CodePointsAreNeverSplit) {
  auto p = compile_ok({pii("pii", Mode::redact)});
  StreamRedactor r(p, p->select({"pii"}), nullptr, 256);
  std::string text = "Grüße aus Köln — 東京 😀 " + std::string(600, 'x') + "ü😀";
  std::string out;
  for (char c : text) {
    std::string piece = r.feed(std::string(1, c));
    if (!piece.empty()) {
      EXPECT_NE(static_cast<unsigned char>(piece.front()) & 0xC0, 0x80u);
      size_t i = piece.size();
      while (i > 0 && (static_cast<unsigned char>(piece[i - 1]) & 0xC0) == 0x80) --i;
      ASSERT_GT(i, 0u);
      unsigned char lead = static_cast<unsigned char>(piece[i - 1]);
      size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
      EXPECT_EQ(piece.size() - (i - 1), need) << "split code point";
    }
    out += piece;
  }
  out += r.flush();
  EXPECT_EQ(out, text);
}

TEST(GuardrailsStream, BlockPolicyStopsTheStream) {
  auto p = compile_ok({keywords("no-falcon", Mode::block, {"project falcon"})});
  StreamRedactor r(p, p->select({"no-falcon"}), nullptr);
  std::string out = r.feed("The plan for proj");
  out += r.feed("ect fal");
  out += r.feed("con is secret. More text.");
  out += r.flush();
  EXPECT_TRUE(r.blocked());
  EXPECT_EQ(r.blocked_by(), "no-falcon");
  EXPECT_EQ(out.find("falcon"), std::string::npos);
  EXPECT_EQ(r.feed("anything"), "");
}

TEST(GuardrailsStream, MultiWordKeywordSplitIsRedacted) {
  auto p = compile_ok({keywords("deny", Mode::redact, {"project falcon"})});
  std::string text = "We discussed Project Falcon yesterday and project falcon today.";
  for (size_t k = 0; k <= text.size(); ++k)
    ASSERT_EQ(run(p, nullptr, {text.substr(0, k), text.substr(k)}),
              "We discussed [REDACTED] yesterday and [REDACTED] today.")
        << k;
}

TEST(GuardrailsStream, FindingsCarryStreamOffsets) {
  auto p = compile_ok({pii("pii", Mode::monitor, {"email"})});
  StreamRedactor r(p, p->select({"pii"}), nullptr);
  std::string out = r.feed("first line\nmail bob@exa");
  out += r.feed("mple.com now");
  out += r.flush();
  EXPECT_EQ(out, "first line\nmail bob@example.com now");
  ASSERT_EQ(r.findings().size(), 1u);
  EXPECT_EQ(r.findings()[0].begin, 16u);
  EXPECT_EQ(r.findings()[0].end, 31u);
  EXPECT_FALSE(r.findings()[0].acted);
}

}  // namespace
}  // namespace tollgate::guardrails
