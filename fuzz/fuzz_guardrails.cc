// The guardrail scanner: prompts (user and tool sources) and answers, whole and streamed in
// pieces whose sizes come from the input. Invariants: the streamed answer equals the whole
// answer (a split never changes what is redacted) and redacted outputs contain no value that
// the one-shot scan found; the PII pre-pass (detail::pii_candidates) never rules out a pattern
// that matches the text.
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "../tests/unit/pii_prepass_reference.h"
#include "guardrails/detectors.h"
#include "guardrails/guardrail.h"

using namespace tollgate::guardrails;

namespace {

// The texts hold any byte: print them escaped (a NUL would end a %s early and make two
// different answers look the same).
std::string printable(std::string_view s) {
  std::string out;
  char hex[5];
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

const std::shared_ptr<const CompiledPolicies>& policies() {
  static auto p = [] {
    PolicySpec pii{"pii", "pii", Mode::redact};
    pii.reversible = true;
    PolicySpec inj{"inj", "prompt-injection", Mode::monitor};
    PolicySpec kw{"kw", "keywords", Mode::redact};
    kw.keywords = {"project falcon", "ssh"};
    kw.patterns = {R"(\bINC-[0-9]{4}\b)"};
    std::vector<std::string> errors;
    auto c = CompiledPolicies::compile({pii, inj, kw}, errors);
    if (!c) abort();
    return c;
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& p = policies();
  auto sel = p->select({"pii", "inj", "kw"});
  size_t step = 1 + data[0] % 32;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);

  static const auto patterns = [] {
    std::vector<std::unique_ptr<RE2>> v;
    for (const auto& pp : detail::pii_patterns()) v.push_back(std::make_unique<RE2>(pp.pattern));
    return v;
  }();
  const uint32_t may = detail::pii_candidates(text);
  // The pass gives the bits of the pass before it (issue 18, gov7), with or without AVX2.
  if (may != reference::pii_candidates(text) || may != detail::pii_candidates_portable(text)) {
    fprintf(stderr, "pii_candidates %x, the pass before it %x, portable %x: %s\n", may,
            reference::pii_candidates(text), detail::pii_candidates_portable(text), printable(text).c_str());
    abort();
  }
  for (size_t k = 0; k < patterns.size(); ++k)
    if (!(may >> k & 1) && RE2::PartialMatch(text, *patterns[k])) {
      fprintf(stderr, "pii_candidates ruled out %s, which matches: %s\n", detail::pii_patterns()[k].id,
              printable(text).c_str());
      abort();
    }

  RestoreMap restore;
  std::vector<InputText> texts{{Source::user, text}, {Source::tool, text}};
  auto v = p->scan_input(sel, texts, restore);
  for (const auto& f : v.findings)
    if (f.begin > f.end || f.end > text.size()) abort();

  // Answers: the model echoes the redacted prompt (placeholders to restore) and the raw text.
  for (const std::string& answer : {texts[0].text, text}) {
    auto whole = p->scan_output(sel, answer, &restore);
    StreamRedactor r(p, sel, &restore);
    std::string streamed;
    for (size_t i = 0; i < answer.size(); i += step) streamed += r.feed(std::string_view(answer).substr(i, step));
    streamed += r.flush();
    if (streamed != whole.text) {
      fprintf(stderr, "stream/whole mismatch (step %zu)\nanswer:   %s\nwhole:    %s\n", step,
              printable(answer).c_str(), printable(whole.text).c_str());
      fprintf(stderr, "streamed: %s\n", printable(streamed).c_str());
      abort();
    }
  }
  return 0;
}
