// Guardrails: PII redaction, prompt-injection detection and keyword/regex deny lists, applied
// to a prompt before it leaves (the guard phase) and to the answer before it reaches the
// caller (the relay), streaming included.
//
// Shape (Envoy's config/filter split): `CompiledPolicies::compile()` turns the snapshot's
// guardrail resources into one immutable object, once per snapshot. Every detector of every
// policy (built-in PII patterns, injection rules, deny-list keywords and patterns) sits in one
// RE2::Set, so a text is read in ONE linear pass; only the detectors that pass report
// positions, with their own RE2 (also linear). Requests never compile anything; per request
// there is a `Selection` (which policies apply: the key's plus the model's), a `RestoreMap`
// (reversible placeholders) and, for answers, a `StreamRedactor`.
//
// What is caught and what passes on purpose (look-alikes) is in NOTES.md beside this file.
// Findings carry offsets and entity names, never the matched text: nothing here ever puts a
// matched value in an error, a log line or a metric label.
#pragma once

#include "core/resources.h"
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::guardrails {

enum class Mode { block, redact, monitor };

// One guardrail resource, as validated by the config loader.
struct PolicySpec {
  std::string name;
  std::string kind;  // "pii" | "prompt-injection" | "keywords"
  Mode mode = Mode::block;
  // pii: any of email, phone, credit_card, ssn, iban, ip, secret; empty = all of them.
  std::vector<std::string> entities;
  // pii + redact: placeholders are numbered ("[EMAIL_1]") and restored in the answer.
  bool reversible = false;
  // keywords: literals (case-insensitive, whole words) and RE2 patterns (as written).
  std::vector<std::string> keywords;
  std::vector<std::string> patterns;
  // prompt-injection: block/redact when a text's score reaches this (0..1].
  double threshold = 0.5;
};

// Where an input text came from. Injection rules weigh instructions hidden in tool results
// (and retrieved content handed back by tools) more, and skip system/assistant texts: the
// application wrote those, and system prompts say "never reveal your instructions" a lot.
enum class Source { system, user, assistant, tool };

struct InputText {
  Source source = Source::user;
  std::string text;  // rewritten in place when a redact policy hits
};

// One hit. `entity` is a PII entity name ("email"), an injection rule id
// ("ignore_previous"), or "keywords[i]" / "patterns[i]" for deny lists.
struct Finding {
  std::string policy;
  std::string entity;
  size_t text = 0;    // index of the input text (0 for answers)
  size_t begin = 0;   // byte offsets into that text as it was scanned
  size_t end = 0;
  double score = 1.0; // injection: the rule's weight (the text's total is in the verdict)
  bool acted = false; // false: monitor mode, or below the injection threshold
};

// Which policies apply to one request (the key's and the model's guardrails). Built per
// request without an allocation for up to 64 policies.
class Selection {
 public:
  bool empty() const { return !any_; }
  bool has(size_t policy) const {
    return policy < 64 ? (low_ >> policy & 1) != 0 : policy - 64 < more_.size() && more_[policy - 64];
  }
  bool pii_only() const { return pii_only_; }
  uint32_t pii_patterns() const { return pii_patterns_; }

 private:
  friend class CompiledPolicies;
  uint64_t low_ = 0;         // policies 0..63
  std::vector<bool> more_;   // policies 64..
  bool any_ = false;
  // What the pre-pass needs (CompiledPolicies::may_hit): whether every selected policy is a
  // built-in PII one, and the built-in patterns they use (bit i: detail::pii_patterns()[i]).
  bool pii_only_ = true;
  uint32_t pii_patterns_ = 0;
};

// Reversible redaction, per request: placeholder <-> original value. Values stay in memory
// for the life of the request only; the same value always gets the same placeholder.
class RestoreMap {
 public:
  bool empty() const { return by_placeholder_.empty(); }
  size_t size() const { return by_placeholder_.size(); }
  // The placeholder for `value` ("[EMAIL_2]"), allocating the next number on first sight.
  std::string placeholder_for(std::string_view label, std::string_view value);
  // The original value behind a placeholder, or nullptr.
  const std::string* original(std::string_view placeholder) const;
  // `text` with every known placeholder replaced by its value (whole answers).
  std::string restore(std::string_view text) const;

 private:
  std::map<std::string, std::string, std::less<>> by_placeholder_;
  std::map<std::string, std::string, std::less<>> by_value_;  // label + '\0' + value
  std::map<std::string, int, std::less<>> next_;
};

struct InputVerdict {
  bool blocked = false;
  std::string policy;  // the blocking policy (the first in configuration order)
  std::string reason;  // for the caller: names the policy and what kind of hit, never the value
  bool redacted = false;           // some text was rewritten
  double injection_score = 0;      // highest score over texts and injection policies
  std::vector<Finding> findings;   // every hit of every selected policy (metrics, usage row)
};

class StreamRedactor;

// The policy a guardrail resource (core/resources.h) describes.
PolicySpec policy_spec(const core::Guardrail& g);

// All guardrail policies of one snapshot, compiled. Immutable and thread-safe.
class CompiledPolicies {
 public:
  // Compiles `specs`. Every problem is appended to `errors` ("guardrail 'x': patterns[2]:
  // missing ): (ab"), and the result is nullptr when there is any: a snapshot with a broken
  // policy is rejected whole.
  static std::shared_ptr<const CompiledPolicies> compile(const std::vector<PolicySpec>& specs,
                                                         std::vector<std::string>& errors);
  ~CompiledPolicies();

  // The policies named (unknown names are ignored: the config validator reports them).
  Selection select(const std::vector<std::string>& names) const;
  // The policies named in either list (a key's and its model's).
  Selection select(const std::vector<std::string>& names, const std::vector<std::string>& more) const;
  size_t size() const;
  const std::string& name(size_t policy) const;

  // Input side (guard phase). Scans every text with the selected policies. When a block
  // policy hits, the verdict is blocked and nothing is rewritten. Otherwise redact policies
  // rewrite the texts in place (placeholders; numbered and recorded in `restore` when the
  // policy is reversible) and monitor policies only add findings.
  InputVerdict scan_input(const Selection& sel, std::vector<InputText>& texts,
                          RestoreMap& restore) const;

  // Output side, whole answers: what the caller may see of `text` (PII redacted, reversible
  // placeholders restored from `restore`, which may be null). `blocked`/`policy` report an
  // answer a block policy stops. Same semantics as the StreamRedactor, in one call.
  struct OutputResult {
    std::string text;
    bool blocked = false;
    std::string policy;
    std::vector<Finding> findings;
  };
  OutputResult scan_output(const Selection& sel, std::string_view text,
                           const RestoreMap* restore) const;

  // True when answers must go through scan_output / a StreamRedactor: a selected pii or
  // keywords policy (monitor included, for its findings) or placeholders to restore. The
  // relay forwards answers untouched otherwise (injection rules read prompts only).
  bool scans_output(const Selection& sel, const RestoreMap* restore) const;

  // False when no selected policy can find anything in `text` nor in any part of it: only
  // built-in PII policies are selected and a cheap pass rules out each of their patterns
  // (detail::pii_candidates). True means: scan to know.
  bool may_hit(const Selection& sel, std::string_view text) const;

  struct Impl;

 private:
  friend class StreamRedactor;
  explicit CompiledPolicies(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Output side, streamed: feed the text deltas of one answer field (one per choice), emit what
// feed() returns. A value split across deltas is still caught because the redactor holds
// back the tail that might be the start of one: the trailing whitespace-free run (emails,
// keys, JWTs, placeholders), digit groups before it ("4111 1111 1111 1"), an open
// "-----BEGIN ... PRIVATE KEY-----" block, and at least `min_hold` bytes when a deny-list
// pattern could span words. The hold is bounded by `max_hold`; past it the front is emitted
// (after being scanned). Emitted text always ends on a UTF-8 code point boundary.
class StreamRedactor {
 public:
  static constexpr size_t kDefaultMaxHold = 4096;

  StreamRedactor(std::shared_ptr<const CompiledPolicies> policies, Selection sel,
                 const RestoreMap* restore, size_t max_hold = kDefaultMaxHold);

  // Text that is safe to send now (may be empty). After a block it returns "" forever.
  std::string feed(std::string_view delta);
  // The rest, at the end of the answer.
  std::string flush();

  bool blocked() const { return blocked_; }
  const std::string& blocked_by() const { return blocked_by_; }
  // Hits so far; offsets count bytes of the whole stream as fed.
  const std::vector<Finding>& findings() const { return findings_; }
  size_t held() const { return buf_.size(); }

 private:
  std::string drain(bool final);

  std::shared_ptr<const CompiledPolicies> policies_;
  Selection sel_;
  const RestoreMap* restore_;
  size_t max_hold_;
  std::string buf_;       // received, not yet emitted
  std::string context_;   // the last emitted bytes, so \b and "version 1.2.3.4" see behind
  size_t base_ = 0;       // stream offset of buf_[0]
  // Where each detector's next search starts (stream offsets), as in a whole-answer scan: the
  // context is never searched again from its own start, which may lie inside a value already
  // emitted (a new match could start there that the whole answer never has).
  std::vector<size_t> resume_;
  size_t replaced_begin_ = 0, replaced_end_ = 0;  // the last replacement emitted (stream)
  bool in_private_key_ = false;  // a forced flush happened inside a PEM block: swallow to END
  bool blocked_ = false;
  std::string blocked_by_;
  std::vector<Finding> findings_;
};

}  // namespace tollgate::guardrails
