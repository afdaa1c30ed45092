// The streamed output side. Each drain scans (the last emitted bytes as context) + (what is
// held), then emits up to a cut:
//   1. the cut starts where the tail that could still grow into a value begins (hold_start);
//   2. it moves back to the start of any span it would split, so a value is emitted whole,
//      replaced, or not yet;
//   3. when more than max_hold bytes are held, the cut is forced forward and spans crossing it
//      are redacted whole (a runaway PEM block then swallows its remaining body lines);
//   4. it never splits a UTF-8 code point (the relay puts this text into JSON strings).
// Spans are only acted on once they end by the cut, so a hit that more text could still
// change (a card number with digits still arriving) is never judged early.
//
// The result must be byte-identical to a whole-answer scan (fuzz/fuzz_guardrails.cc checks it
// for any split). The whole scan searches each detector left to right, resuming after each hit,
// and skips a value starting inside one already replaced. A rescan of context + held text from
// the context's first byte does neither: the context may start inside an emitted value, and a
// second match can start there ("eyJ<payload>.eyJ<claims>.<sig>" re-read from the payload is a
// new JWT that runs on past the cut). So each detector resumes where the whole scan would
// (`resume_`), never at the context's first byte (its \b cannot see what came before), and
// the last replacement emitted is remembered (`replaced_*`).
#include <re2/re2.h>

#include "guardrails/compiled.h"

namespace tollgate::guardrails {
namespace {

constexpr size_t kContext = 64;     // bytes of emitted text kept for \b, labels, "version "
constexpr size_t kGroupSpan = 64;   // digit groups held before the trailing run
constexpr size_t kGroupLen = 6;     // longest group of a spaced number ("822463" in Amex)

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f'; }
bool is_group_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || c == '(' || c == ')' ||
         c == '+' || c == '.' || c == '-';
}
bool is_pem_body(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         c == '+' || c == '/' || c == '=' || c == '\r' || c == '\n';
}

// Where the tail that might still become (part of) a value starts.
size_t hold_start(std::string_view t, size_t from, size_t min_hold) {
  const size_t n = t.size();
  size_t i = n;
  while (i > from && !is_space(t[i - 1])) --i;  // the trailing word: emails, keys, JWTs, ...
  bool numberish = i == n;
  for (size_t k = i; k < n && !numberish; ++k) numberish = is_group_char(t[k]);
  if (numberish) {
    // ... and the short groups before it: "4111 1111 1111 11", "+44 20 79", "DE89 3704 0"
    while (i >= from + 2 && t[i - 1] == ' ' && n - i < kGroupSpan) {
      size_t r = i - 1;
      while (r > from && !is_space(t[r - 1]) && is_group_char(t[r - 1]) && i - 1 - r < kGroupLen)
        --r;
      size_t len = i - 1 - r;
      if (len == 0 || (r > from && !is_space(t[r - 1]))) break;  // not a short group
      i = r;
    }
  }
  // A PEM header still arriving ("-----BEGIN RSA PRIV"): its words are long, hold it whole.
  if (size_t h = t.rfind("-----BEGIN"); h != t.npos && h >= from && n - h < 64 &&
                                        t.find("-----", h + 10) == t.npos)
    i = std::min(i, h);
  if (min_hold) i = std::min(i, n - std::min(n - from, min_hold));
  return std::max(i, from);
}

const RE2& pem_end() {
  static const RE2 re(R"(-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----)");
  return re;
}

}  // namespace

StreamRedactor::StreamRedactor(std::shared_ptr<const CompiledPolicies> policies, Selection sel,
                               const RestoreMap* restore, size_t max_hold)
    : policies_(std::move(policies)), sel_(std::move(sel)), restore_(restore),
      max_hold_(std::max<size_t>(max_hold, 256)),
      resume_(policies_->impl_->detectors.size(), 0) {}

std::string StreamRedactor::feed(std::string_view delta) {
  if (blocked_) return {};
  buf_.append(delta);
  return drain(false);
}

std::string StreamRedactor::flush() {
  if (blocked_) return {};
  return drain(true);
}

std::string StreamRedactor::drain(bool final) {
  const auto& impl = *policies_->impl_;
  if (in_private_key_) {
    // Swallow the rest of a key body already replaced by its placeholder, up to its END line
    // or the first byte a PEM body never contains.
    size_t pos = 0;
    bool done = false;
    while (pos < buf_.size() && !done) {
      if (is_pem_body(buf_[pos])) {
        ++pos;
      } else if (buf_[pos] == '-') {
        re2::StringPiece m;
        if (pem_end().Match(re2::StringPiece(buf_.data(), buf_.size()), pos, buf_.size(),
                            RE2::ANCHOR_START, &m, 1)) {
          pos += m.size();
          done = true;
        } else if (!final && buf_.size() - pos < 64) {
          break;  // maybe an END line still arriving
        } else {
          done = true;
        }
      } else {
        done = true;
      }
    }
    // The swallowed body counts as part of the key's replacement, and the key detector goes
    // on after it, as in the whole answer.
    std::string seen = context_ + buf_.substr(0, pos);
    size_t ctx = seen.size() > kContext ? seen.size() - kContext : 0;
    while (ctx < seen.size() && (static_cast<unsigned char>(seen[ctx]) & 0xC0) == 0x80) ++ctx;
    context_ = seen.substr(ctx);
    base_ += pos;
    buf_.erase(0, pos);
    replaced_end_ = base_;
    for (size_t d = 0; d < impl.detectors.size(); ++d)
      if (impl.detectors[d].private_key) resume_[d] = std::max(resume_[d], base_);
    if (!done && !final) return {};
    in_private_key_ = false;
  }

  std::string text = context_ + buf_;
  const size_t from = context_.size();
  const size_t text_base = base_ - from;  // stream offset of text[0]
  // No match starts at the context's first byte: what came before it is gone, so \b there
  // would read as the start of the answer. (A context trimmed away to nothing leaves buf_[0]
  // first: the bytes before it were UTF-8 continuation bytes, not word characters.)
  const size_t first = text_base > 0 && from > 0 ? 1 : 0;
  std::vector<size_t> start(impl.detectors.size());
  for (size_t d = 0; d < start.size(); ++d)
    start[d] = std::max(resume_[d] > text_base ? resume_[d] - text_base : 0, first);
  std::vector<OutputSpan> spans;
  output_spans(impl, sel_, text, restore_, spans, start);

  size_t min_hold = 0;
  for (size_t pi = 0; pi < impl.policies.size(); ++pi)
    if (sel_.has(pi) && impl.policies[pi].kind == Kind::keywords)
      min_hold = std::max(min_hold, impl.keyword_hold);

  auto continuation = [&](size_t c) {
    return c < text.size() && (static_cast<unsigned char>(text[c]) & 0xC0) == 0x80;
  };
  size_t cut = final ? text.size() : hold_start(text, from, min_hold);
  // Back off until the cut splits neither a match nor a code point (both moves go left). The
  // whole regex match counts, not only the value: a card the validator cut short, or the label
  // before an AWS secret, may still read differently once more text arrives.
  for (bool moved = true; moved && cut > from;) {
    moved = false;
    while (cut > from && continuation(cut)) --cut, moved = true;
    for (const auto& s : spans)
      if (s.match_begin < cut && s.match_end > cut)
        cut = std::max(s.match_begin, from), moved = true;
  }
  if (!final && text.size() - cut > max_hold_) {
    // Too much held: force the cut forward; spans crossing it go out whole (redacted).
    cut = text.size() - max_hold_;
    for (bool moved = true; moved;) {
      moved = false;
      while (continuation(cut)) ++cut, moved = true;
      for (const auto& s : spans)
        if (s.match_begin < cut && s.match_end > cut) cut = s.match_end, moved = true;
    }
  }

  Replaced before;
  if (replaced_end_ > text_base)
    before = {replaced_begin_ > text_base ? replaced_begin_ - text_base : 0,
              replaced_end_ - text_base};
  auto step = apply_output(impl, sel_, text, from, cut, spans, base_, findings_, before);
  if (step.blocked) {
    blocked_ = true;
    blocked_by_ = std::move(step.policy);
    buf_.clear();
    context_.clear();
    return {};
  }
  for (const auto& s : spans)  // every hit by the cut is final: its detector goes on after it
    if (!s.restored && s.match_end <= cut)
      resume_[s.detector] = std::max(resume_[s.detector], text_base + s.next);
  if (step.last.end > 0) {
    replaced_begin_ = text_base + step.last.begin;
    replaced_end_ = text_base + step.last.end;
  }
  base_ += cut - from;
  size_t ctx = cut > kContext ? cut - kContext : 0;
  while (ctx < cut && (static_cast<unsigned char>(text[ctx]) & 0xC0) == 0x80) ++ctx;
  context_ = text.substr(ctx, cut - ctx);
  buf_ = text.substr(cut);
  if (step.private_key_open && !final) {
    in_private_key_ = true;
    step.text += drain(false);  // swallow what is already held
  }
  return std::move(step.text);
}

}  // namespace tollgate::guardrails
