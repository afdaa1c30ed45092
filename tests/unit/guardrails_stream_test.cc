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

// A monitor policy only reports: a key longer than the hold goes out untouched, body and all
// (the body after a forced cut used to be swallowed as if the key had been replaced).
TEST(GuardrailsStream, AMonitoredPrivateKeyGoesOutWhole) {
  auto p = compile_ok({pii("watch", Mode::monitor, {"secret"})});
  std::string body;
  for (int i = 0; i < 40; ++i) body += "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n";
  std::string text = "Here:\n-----BEGIN PRIVATE KEY-----\n" + body +
                     "-----END PRIVATE KEY-----\nDone, store it well.";
  for (size_t chunk : {1u, 7u, 64u, 500u}) {
    StreamRedactor r(p, p->select({"watch"}), nullptr, 256);
    std::string out;
    for (size_t i = 0; i < text.size(); i += chunk) out += r.feed(text.substr(i, chunk));
    out += r.flush();
    EXPECT_EQ(out, text) << chunk;
    EXPECT_FALSE(r.findings().empty()) << chunk;
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

// What the fuzzer runs (fuzz/fuzz_guardrails.cc): reversible PII, injection (monitor) and a deny
// list with a pattern, so at least 64 bytes are always held and the cut may fall mid-word.
std::shared_ptr<const CompiledPolicies> fuzz_policies() {
  auto p = pii("pii", Mode::redact, {}, true);
  auto kw = keywords("kw", Mode::redact, {"project falcon", "ssh"}, {R"(\bINC-[0-9]{4}\b)"});
  return compile_ok({p, injection("inj", Mode::monitor), kw});
}

std::string in_chunks(const std::shared_ptr<const CompiledPolicies>& p, std::string_view text,
                      size_t step) {
  StreamRedactor r(p, p->select(all_names(*p)), nullptr);
  std::string out;
  for (size_t i = 0; i < text.size(); i += step) out += r.feed(text.substr(i, step));
  return out + r.flush();
}

// fuzz/corpus/guardrails/stream-vs-whole-jwt (was fuzz/known-crashes/): a JWT followed by
// one more ".part" of the same word, fed 12 bytes at a time. The whole scan finds the JWT from
// its first "eyJ" and goes on after it; the stream emitted the JWT, kept its last 64 bytes as
// context, and the next scan of that context found a second JWT starting at the *payload*'s
// "eyJ" and running into ".SflKx...", then redacted the part after the cut: "[SECRET][SECRET]".
TEST(GuardrailsStream, AHitIsNotFoundAgainInsideTheContextItLeftBehind) {
  const std::string answer(
      "kepk sy-roj-4fJ8kL2mN9pQ3rS7tU1vW5xY0zA6bC \x00\x00\x00\x00\x00\xff\xff\xff\xff\xff"
      "\x00\x00\x00\x00\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "AKIAIODOFNSN7EXAMPLE eyJhbGciOiJIUzI1NyJ9.eyJzdWIiOiIxMjM1NyJ9.eyJzdWIiOiIxMjM0NTY3ODkw"
      "In0.SflKxwRJSMe45F\xff\xff\xff\xff\xff"
      "2QT4fwp]]]]]]]]Me\n-----BEG5xY0zA6bC AKIN PR4",
      240);
  auto p = fuzz_policies();
  std::string whole = p->scan_output(p->select(all_names(*p)), answer, nullptr).text;
  ASSERT_NE(whole.find("[SECRET] [SECRET].SflKxwRJSMe45F"), std::string::npos);
  EXPECT_EQ(in_chunks(p, answer, 12), whole);
  for (size_t step = 1; step <= 32; ++step) ASSERT_EQ(in_chunks(p, answer, step), whole) << step;
}

// The same, readable: any value whose tail can start a new match of its own detector.
TEST(GuardrailsStream, OverlappingMatchesOfOneDetectorAreJudgedAsInTheWholeAnswer) {
  auto p = fuzz_policies();
  const std::string text =
      "the token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.eyJpYXQiOjE1MTYyMzkwMjJ9"
      ".SflKxwRJSMeKKF2QT4fwpMe is revoked; nothing else to see here, really nothing.";
  std::string whole = p->scan_output(p->select(all_names(*p)), text, nullptr).text;
  EXPECT_EQ(whole,
            "the token [SECRET].SflKxwRJSMeKKF2QT4fwpMe is revoked; nothing else to see here, "
            "really nothing.");
  for (size_t step = 1; step <= 32; ++step) ASSERT_EQ(in_chunks(p, text, step), whole) << step;
  for (size_t k = 0; k <= text.size(); ++k)
    ASSERT_EQ(run(p, nullptr, {text.substr(0, k), text.substr(k)}), whole) << "split at " << k;
}

// fuzz/corpus/guardrails/stream-vs-whole-utf8, found (step 4) against a first version of the
// fix above that never let a match start at the context's first byte: an answer that starts
// with stray UTF-8 continuation bytes. They go out alone, the context keeps none of them (it
// starts on a code point), so the email right after them is the first byte of what is scanned
// and must still be searched from there.
TEST(GuardrailsStream, AValueRightAfterStrayContinuationBytesIsFoundWhole) {
  auto p = fuzz_policies();
  const std::string text =
      "\xb3\x9e" "ce@example.com, card 4111 1111 1111 1111111, IBAN GB82 WEST 2234 5698 7654 32, "
      "and more.";
  std::string whole = p->scan_output(p->select(all_names(*p)), text, nullptr).text;
  EXPECT_EQ(whole.substr(0, 9), "\xb3\x9e[EMAIL]");
  EXPECT_EQ(in_chunks(p, text, 4), whole);
  for (size_t step = 1; step <= 32; ++step) ASSERT_EQ(in_chunks(p, text, step), whole) << step;
}

}  // namespace
}  // namespace tollgate::guardrails
