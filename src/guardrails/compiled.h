// CompiledPolicies' insides, shared by guardrail.cc and stream_redactor.cc (internal).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <re2/re2.h>
#include <re2/set.h>

#include "guardrails/detectors.h"
#include "guardrails/guardrail.h"

namespace tollgate::guardrails {

enum class Kind { pii, injection, keywords };

struct Detector {
  Kind kind;
  std::string entity;  // what findings name: "email", "ignore_previous", "patterns[2]"
  std::string label;   // placeholder label (PII): "EMAIL"
  std::unique_ptr<RE2> re;
  detail::Validator validate = nullptr;
  bool private_key = false;
  int pii_pattern = -1;  // its index in detail::pii_patterns() (a built-in PII detector)
  double weight_user = 1, weight_tool = 1;
  detail::InjectionRule::Special special = detail::InjectionRule::none;
  std::vector<size_t> policies;  // the policies this detector serves
};

struct Policy {
  std::string name;
  Kind kind;
  Mode mode;
  bool reversible;
  double threshold;
  uint32_t pii_patterns = 0;  // a PII policy's built-in patterns (bit i: detail::pii_patterns()[i])
};

// A detector hit in one text: the value's span (capture group 1 when the pattern has one,
// maybe shrunk by the validator), and the whole regex match it came from. The detector's next
// search starts at `next`, so its hits never overlap.
struct Hit {
  size_t detector;
  size_t begin, end;
  size_t match_begin, match_end;
  size_t next;
};

struct CompiledPolicies::Impl {
  std::vector<Policy> policies;
  std::vector<Detector> detectors;
  // One set for prompts (every detector) and one for answers (no injection rules); the
  // vectors map a set's indices back to detectors.
  std::unique_ptr<RE2::Set> input_set, output_set;
  std::vector<size_t> input_index, output_index;
  size_t keyword_hold = 0;  // bytes a deny-list entry may span across words (stream hold)

  // False when no detector serving `sel` can match `text`: only built-in PII policies are
  // selected and detail::pii_candidates() rules out every one of their patterns.
  bool may_match(std::string_view text, const Selection& sel) const;
  bool serves(const Detector& d, const Selection& sel) const {
    for (size_t p : d.policies)
      if (sel.has(p)) return true;
    return false;
  }
  // Every validated hit of every detector that serves `sel`, in one pass of the set plus
  // one positional search per detector that matched. Sorted by begin, longer first.
  // `start[d]`, when given, is where detector d's search starts (the StreamRedactor resumes
  // each detector where the whole-text search would be); the text before it is context.
  void scan(std::string_view text, bool output, const Selection& sel, std::vector<Hit>& hits,
            std::span<const size_t> start = {}) const;
  void find_all(const Detector& d, std::string_view text, std::vector<Hit>& hits, size_t index,
                size_t start) const;
};

// Answers: a detector hit, or a reversible placeholder to restore (`restored` set).
// [match_begin, match_end) is what the text must hold for the hit to stay what it is (the
// regex match; the span itself for a placeholder); `next` as in Hit.
struct OutputSpan {
  size_t begin, end;
  size_t detector;  // unused when restored
  const std::string* restored = nullptr;
  size_t match_begin = begin, match_end = end, next = end;
};

// Every span of `text` the output side acts on or reports: hits of the selected policies and
// placeholders found in `restore`. Sorted by begin. `start` as in Impl::scan.
void output_spans(const CompiledPolicies::Impl& impl, const Selection& sel,
                  std::string_view text, const RestoreMap* restore,
                  std::vector<OutputSpan>& spans, std::span<const size_t> start = {});

// A replacement already emitted before `from` (text offsets; empty when begin == end).
struct Replaced {
  size_t begin = 0, end = 0;
};

struct OutputStep {
  std::string text;  // what to emit
  bool blocked = false;
  std::string policy;
  bool private_key_open = false;  // a PEM block reaches `cut` without its END line
  Replaced last;                  // the last replacement applied (end == 0: none)
};
// Emits text[from, cut): spans ending after `from` and by `cut` are reported (offsets plus
// `base`, relative to `from`) and applied, earliest then longest first, skipping any that
// starts inside one already applied (`before`: the last one emitted by an earlier step). A span
// that started before `from` otherwise is clipped.
OutputStep apply_output(const CompiledPolicies::Impl& impl, const Selection& sel,
                        std::string_view text, size_t from, size_t cut,
                        const std::vector<OutputSpan>& spans, size_t base,
                        std::vector<Finding>& findings, Replaced before = {});

}  // namespace tollgate::guardrails
