// CompiledPolicies' insides, shared by guardrail.cc and stream_redactor.cc (internal).
#pragma once

#include <memory>
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
};

// A detector hit in one text: the value's span (capture group 1 when the pattern has one).
struct Hit {
  size_t detector;
  size_t begin, end;
};

struct CompiledPolicies::Impl {
  std::vector<Policy> policies;
  std::vector<Detector> detectors;
  // One set for prompts (every detector) and one for answers (no injection rules); the
  // vectors map a set's indices back to detectors.
  std::unique_ptr<RE2::Set> input_set, output_set;
  std::vector<size_t> input_index, output_index;
  size_t keyword_hold = 0;  // bytes a deny-list entry may span across words (stream hold)

  bool serves(const Detector& d, const Selection& sel) const {
    for (size_t p : d.policies)
      if (sel.has(p)) return true;
    return false;
  }
  // Every validated hit of every detector that serves `sel`, in one pass of the set plus
  // one positional search per detector that matched. Sorted by begin, longer first.
  void scan(std::string_view text, bool output, const Selection& sel,
            std::vector<Hit>& hits) const;
  void find_all(const Detector& d, std::string_view text, std::vector<Hit>& hits,
                size_t index) const;
};

// Answers: a detector hit, or a reversible placeholder to restore (`restored` set).
struct OutputSpan {
  size_t begin, end;
  size_t detector;  // unused when restored
  const std::string* restored = nullptr;
};

// Every span of `text` the output side acts on or reports: hits of the selected policies and
// placeholders found in `restore`. Sorted by begin.
void output_spans(const CompiledPolicies::Impl& impl, const Selection& sel,
                  std::string_view text, const RestoreMap* restore,
                  std::vector<OutputSpan>& spans);

struct OutputStep {
  std::string text;  // what to emit
  bool blocked = false;
  std::string policy;
  bool private_key_open = false;  // a PEM block reaches `cut` without its END line
};
// Emits text[from, cut): spans ending after `from` and by `cut` are reported (offsets plus
// `base`, relative to `from`) and applied; a span that started before `from` is clipped.
OutputStep apply_output(const CompiledPolicies::Impl& impl, const Selection& sel,
                        std::string_view text, size_t from, size_t cut,
                        const std::vector<OutputSpan>& spans, size_t base,
                        std::vector<Finding>& findings);

}  // namespace tollgate::guardrails
