#include "guardrails/guardrail.h"

#include <algorithm>
#include <fmt/format.h>

#include "guardrails/compiled.h"

namespace tollgate::guardrails {
namespace {

constexpr size_t kDecodedMax = 4096;  // encoded payloads are rescored up to this many bytes
constexpr int64_t kSetMemory = 64 << 20;

RE2::Options re2_options() {
  RE2::Options o;
  o.set_log_errors(false);  // errors go to the config validator, never to stderr
  o.set_max_mem(kSetMemory / 4);
  return o;
}

bool is_word_byte(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// A deny-list literal: case-insensitive, and whole words where it starts/ends with a word
// character ("ssh" does not hit "sshd" nor "cash").
std::string keyword_pattern(std::string_view kw) {
  std::string p = "(?i)";
  if (is_word_byte(kw.front())) p += "\\b";
  p += RE2::QuoteMeta(re2::StringPiece(kw.data(), kw.size()));
  if (is_word_byte(kw.back())) p += "\\b";
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RestoreMap

std::string RestoreMap::placeholder_for(std::string_view label, std::string_view value) {
  std::string key;
  key.reserve(label.size() + 1 + value.size());
  key.append(label).push_back('\0');
  key.append(value);
  if (auto it = by_value_.find(key); it != by_value_.end()) return it->second;
  int n = ++next_[std::string(label)];
  std::string ph = fmt::format("[{}_{}]", label, n);
  by_value_.emplace(std::move(key), ph);
  by_placeholder_.emplace(ph, std::string(value));
  return ph;
}

const std::string* RestoreMap::original(std::string_view placeholder) const {
  auto it = by_placeholder_.find(placeholder);
  return it == by_placeholder_.end() ? nullptr : &it->second;
}

std::string RestoreMap::restore(std::string_view text) const {
  if (empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find('[', i);
    if (open == text.npos) break;
    size_t close = text.find(']', open);
    if (close == text.npos) break;
    if (const auto* v = original(text.substr(open, close - open + 1))) {
      out.append(text.substr(i, open - i)).append(*v);
      i = close + 1;
    } else {
      out.append(text.substr(i, open + 1 - i));
      i = open + 1;
    }
  }
  out.append(text.substr(i));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compilation

CompiledPolicies::CompiledPolicies(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledPolicies::~CompiledPolicies() = default;

std::shared_ptr<const CompiledPolicies> CompiledPolicies::compile(
    const std::vector<PolicySpec>& specs, std::vector<std::string>& errors) {
  auto impl = std::make_unique<Impl>();
  size_t errors_before = errors.size();
  auto pii = detail::pii_patterns();
  auto rules = detail::injection_rules();
  std::vector<size_t> pii_detector(pii.size(), SIZE_MAX), rule_detector(rules.size(), SIZE_MAX);
  std::vector<std::string> sources;  // pattern text per detector, for the sets

  auto add_detector = [&](Detector d, std::string pattern, const std::string& where) -> bool {
    d.re = std::make_unique<RE2>(pattern, re2_options());
    if (!d.re->ok()) {
      errors.push_back(fmt::format("{}: {}", where, d.re->error()));
      return false;
    }
    impl->detectors.push_back(std::move(d));
    sources.push_back(std::move(pattern));
    return true;
  };

  for (size_t pi = 0; pi < specs.size(); ++pi) {
    const auto& s = specs[pi];
    std::string who = fmt::format("guardrail '{}'", s.name);
    if (s.name.empty()) errors.push_back(fmt::format("guardrails[{}]: name is required", pi));
    for (size_t k = 0; k < pi; ++k)
      if (specs[k].name == s.name) errors.push_back(fmt::format("{}: defined twice", who));
    Policy p{s.name, Kind::pii, s.mode, s.reversible, s.threshold};
    if (s.kind == "pii") {
      p.kind = Kind::pii;
      for (size_t i = 0; i < s.entities.size(); ++i)
        if (!detail::known_pii_entity(s.entities[i]))
          errors.push_back(fmt::format(
              "{}: entities[{}]: unknown entity '{}' (email, phone, credit_card, ssn, iban, "
              "ip, secret)",
              who, i, s.entities[i]));
      for (size_t k = 0; k < pii.size(); ++k) {
        bool wanted = s.entities.empty() ||
                      std::find(s.entities.begin(), s.entities.end(), pii[k].entity) !=
                          s.entities.end();
        if (!wanted) continue;
        if (pii_detector[k] == SIZE_MAX) {
          Detector d{Kind::pii, pii[k].entity, pii[k].label};
          d.validate = pii[k].validate;
          d.private_key = pii[k].private_key;
          d.pii_pattern = static_cast<int>(k);
          if (!add_detector(std::move(d), pii[k].pattern, fmt::format("built-in {}", pii[k].id)))
            continue;
          pii_detector[k] = impl->detectors.size() - 1;
        }
        impl->detectors[pii_detector[k]].policies.push_back(pi);
        p.pii_patterns |= uint32_t{1} << k;
      }
    } else if (s.kind == "prompt-injection") {
      p.kind = Kind::injection;
      if (!(s.threshold > 0 && s.threshold <= 1))
        errors.push_back(fmt::format("{}: threshold must be in (0, 1]", who));
      for (size_t k = 0; k < rules.size(); ++k) {
        if (rule_detector[k] == SIZE_MAX) {
          Detector d{Kind::injection, rules[k].id, ""};
          d.weight_user = rules[k].weight_user;
          d.weight_tool = rules[k].weight_tool;
          d.special = rules[k].special;
          if (!add_detector(std::move(d), rules[k].pattern,
                            fmt::format("built-in rule {}", rules[k].id)))
            continue;
          rule_detector[k] = impl->detectors.size() - 1;
        }
        impl->detectors[rule_detector[k]].policies.push_back(pi);
      }
    } else if (s.kind == "keywords") {
      p.kind = Kind::keywords;
      if (s.keywords.empty() && s.patterns.empty())
        errors.push_back(fmt::format("{}: needs keywords or patterns", who));
      for (size_t i = 0; i < s.keywords.size(); ++i) {
        if (s.keywords[i].empty()) {
          errors.push_back(fmt::format("{}: keywords[{}]: empty", who, i));
          continue;
        }
        Detector d{Kind::keywords, fmt::format("keywords[{}]", i), ""};
        d.policies.push_back(pi);
        if (add_detector(std::move(d), keyword_pattern(s.keywords[i]),
                         fmt::format("{}: keywords[{}]", who, i)))
          impl->keyword_hold = std::max(impl->keyword_hold, s.keywords[i].size());
      }
      for (size_t i = 0; i < s.patterns.size(); ++i) {
        Detector d{Kind::keywords, fmt::format("patterns[{}]", i), ""};
        d.policies.push_back(pi);
        if (s.patterns[i].empty()) {
          errors.push_back(fmt::format("{}: patterns[{}]: empty", who, i));
          continue;
        }
        if (add_detector(std::move(d), s.patterns[i], fmt::format("{}: patterns[{}]", who, i)))
          impl->keyword_hold = std::max<size_t>(impl->keyword_hold, 64);
      }
    } else {
      errors.push_back(fmt::format(
          "{}: unknown kind '{}' (pii, prompt-injection, keywords)", who, s.kind));
    }
    impl->policies.push_back(std::move(p));
  }

  auto build_set = [&](bool output, std::unique_ptr<RE2::Set>& set, std::vector<size_t>& index) {
    RE2::Options o = re2_options();
    o.set_max_mem(kSetMemory);
    set = std::make_unique<RE2::Set>(o, RE2::UNANCHORED);
    for (size_t i = 0; i < impl->detectors.size(); ++i) {
      if (output && impl->detectors[i].kind == Kind::injection) continue;
      std::string err;
      if (set->Add(sources[i], &err) < 0) {
        errors.push_back(fmt::format("guardrails: pattern set: {}", err));
        return;
      }
      index.push_back(i);
    }
    if (!set->Compile()) errors.push_back("guardrails: the pattern set is too large to compile");
  };
  // No detector (no guardrail configured, the usual case): no sets, which scan() never reaches
  // then (nothing can be selected), and RE2's compiler is not paged in at start (issue 18:
  // idle RSS, ~0.3 MB).
  if (errors.size() == errors_before && !impl->detectors.empty()) {
    build_set(false, impl->input_set, impl->input_index);
    build_set(true, impl->output_set, impl->output_index);
  }
  if (errors.size() != errors_before) return nullptr;
  return std::shared_ptr<const CompiledPolicies>(new CompiledPolicies(std::move(impl)));
}

Selection CompiledPolicies::select(const std::vector<std::string>& names) const {
  static const std::vector<std::string> kNone;
  return select(names, kNone);
}

Selection CompiledPolicies::select(const std::vector<std::string>& names,
                                   const std::vector<std::string>& more) const {
  Selection s;
  auto named = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (size_t i = 0; i < impl_->policies.size(); ++i) {
    const Policy& p = impl_->policies[i];
    if (!named(names, p.name) && !named(more, p.name)) continue;
    s.any_ = true;
    if (i < 64) {
      s.low_ |= uint64_t{1} << i;
    } else {
      if (s.more_.empty()) s.more_.resize(impl_->policies.size() - 64);
      s.more_[i - 64] = true;
    }
    if (p.kind != Kind::pii) s.pii_only_ = false;
    s.pii_patterns_ |= p.pii_patterns;
  }
  return s;
}

size_t CompiledPolicies::size() const { return impl_->policies.size(); }
const std::string& CompiledPolicies::name(size_t policy) const {
  return impl_->policies.at(policy).name;
}

// ---------------------------------------------------------------------------------------------
// Scanning

void CompiledPolicies::Impl::find_all(const Detector& d, std::string_view text,
                                      std::vector<Hit>& hits, size_t index, size_t start) const {
  const int groups = d.re->NumberOfCapturingGroups() >= 1 ? 2 : 1;
  re2::StringPiece whole(text.data(), text.size());
  re2::StringPiece m[2];
  size_t pos = start;
  while (pos <= text.size()) {
    if (!d.re->Match(whole, pos, text.size(), RE2::UNANCHORED, m, groups)) break;
    size_t mb = static_cast<size_t>(m[0].data() - text.data()), me = mb + m[0].size();
    size_t b = mb, e = me;
    if (groups == 2 && m[1].data()) {
      b = static_cast<size_t>(m[1].data() - text.data());
      e = b + m[1].size();
    }
    if (e > b && (!d.validate || d.validate(text, b, e))) {
      hits.push_back({index, b, e, mb, me, std::max(me, mb + 1)});
      pos = hits.back().next;
    } else {
      pos = mb + 1;  // a look-alike: a real value may still start inside it
    }
  }
}

bool CompiledPolicies::Impl::may_match(std::string_view text, const Selection& sel) const {
  if (!sel.pii_only()) return true;
  return (detail::pii_candidates(text) & sel.pii_patterns()) != 0;
}

void CompiledPolicies::Impl::scan(std::string_view text, bool output, const Selection& sel,
                                  std::vector<Hit>& hits, std::span<const size_t> start) const {
  hits.clear();
  if (sel.empty() || text.empty() || !may_match(text, sel)) return;
  const auto& set = output ? *output_set : *input_set;
  const auto& index = output ? output_index : input_index;
  std::vector<int> matched;
  RE2::Set::ErrorInfo info{RE2::Set::kNoError};
  if (!set.Match(re2::StringPiece(text.data(), text.size()), &matched, &info) &&
      info.kind != RE2::Set::kNoError) {
    // The set's DFA ran out of memory on this text: still answer, detector by detector.
    matched.clear();
    for (size_t i = 0; i < index.size(); ++i) matched.push_back(static_cast<int>(i));
  }
  for (int m : matched) {
    size_t di = index[static_cast<size_t>(m)];
    const auto& d = detectors[di];
    if (serves(d, sel)) find_all(d, text, hits, di, di < start.size() ? start[di] : 0);
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
}

namespace {

// A text's injection score from its hits (see injection.cc). `per_rule` gets each rule's
// weight as counted (0 for an encoded blob that decoded to nothing).
double injection_score(const CompiledPolicies::Impl& impl, std::string_view text, Source src,
                       const std::vector<Hit>& hits, std::vector<double>& hit_weight,
                       bool nested);

// Scores decoded text with the plain rules, one level deep.
double rescore(const CompiledPolicies::Impl& impl, std::string_view decoded, Source src) {
  std::vector<Hit> hits;
  for (size_t i = 0; i < impl.detectors.size(); ++i) {
    const auto& d = impl.detectors[i];
    if (d.kind != Kind::injection || d.special != detail::InjectionRule::none) continue;
    re2::StringPiece m;
    if (d.re->Match(re2::StringPiece(decoded.data(), decoded.size()), 0, decoded.size(),
                    RE2::UNANCHORED, &m, 1)) {
      size_t b = static_cast<size_t>(m.data() - decoded.data());
      hits.push_back({i, b, b + m.size(), b, b + m.size(), b + m.size()});
    }
  }
  std::vector<double> w;
  return injection_score(impl, decoded, src, hits, w, true);
}

double injection_score(const CompiledPolicies::Impl& impl, std::string_view text, Source src,
                       const std::vector<Hit>& hits, std::vector<double>& hit_weight,
                       bool nested) {
  std::vector<double> rule_max(impl.detectors.size(), 0.0);
  hit_weight.assign(hits.size(), 0.0);
  for (size_t h = 0; h < hits.size(); ++h) {
    const auto& d = impl.detectors[hits[h].detector];
    if (d.kind != Kind::injection) continue;
    double w = src == Source::tool ? d.weight_tool : d.weight_user;
    if (d.special != detail::InjectionRule::none) {
      if (nested) continue;
      auto piece = text.substr(hits[h].begin, hits[h].end - hits[h].begin);
      std::string decoded = d.special == detail::InjectionRule::base64_payload
                                ? detail::decode_base64_text(piece, kDecodedMax)
                                : detail::decode_tag_characters(piece, kDecodedMax);
      double s = decoded.empty() ? 0 : rescore(impl, decoded, src);
      // Hiding an attack in an encoding is itself a signal: the decoded score plus a bit.
      if (s > 0) w = std::max(w, std::min(1.0, s + 0.1));
    }
    hit_weight[h] = w;
    rule_max[hits[h].detector] = std::max(rule_max[hits[h].detector], w);
  }
  double keep = 1.0;
  for (double w : rule_max) keep *= 1.0 - w;
  return 1.0 - keep;
}

std::string entity_list(const std::vector<Finding>& fs, const std::string& policy) {
  std::vector<std::string> names;
  for (const auto& f : fs)
    if (f.policy == policy && f.acted &&
        std::find(names.begin(), names.end(), f.entity) == names.end())
      names.push_back(f.entity);
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

struct Replacement {
  size_t begin, end;
  std::string text;
  size_t starts = begin;  // where the value starts (before `begin` when clipped at a cut)
};

// Applies non-overlapping replacements (the earliest, then the longest, wins). `last`, when
// given, gets the last one applied.
std::string rewrite(std::string_view text, size_t from, size_t to,
                    std::vector<Replacement>& reps, Replaced* last = nullptr) {
  std::sort(reps.begin(), reps.end(), [](const Replacement& a, const Replacement& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::string out;
  out.reserve(to - from);
  size_t at = from;
  for (const auto& r : reps) {
    if (r.begin < at) continue;
    out.append(text.substr(at, r.begin - at)).append(r.text);
    at = r.end;
    if (last) *last = {r.starts, r.end};
  }
  if (at < to) out.append(text.substr(at, to - at));
  return out;
}

std::string block_reason(const Policy& p, const std::vector<Finding>& fs, double score) {
  switch (p.kind) {
    case Kind::pii:
      return fmt::format("Blocked by guardrail '{}': the text contains {}.", p.name,
                         entity_list(fs, p.name));
    case Kind::keywords:
      return fmt::format("Blocked by guardrail '{}': the text matches its deny list ({}).",
                         p.name, entity_list(fs, p.name));
    case Kind::injection:
      return fmt::format(
          "Blocked by guardrail '{}': likely prompt injection (score {:.2f}, threshold {:.2f}; "
          "rules: {}).",
          p.name, score, p.threshold, entity_list(fs, p.name));
  }
  return {};
}

}  // namespace

InputVerdict CompiledPolicies::scan_input(const Selection& sel, std::vector<InputText>& texts,
                                          RestoreMap& restore) const {
  const Impl& im = *impl_;
  InputVerdict v;
  if (sel.empty()) return v;
  std::vector<std::vector<Hit>> hits(texts.size());
  std::vector<std::vector<double>> weights(texts.size());
  std::vector<double> scores(texts.size(), 0.0);
  std::vector<size_t> finding_begin(texts.size() + 1, 0);

  for (size_t t = 0; t < texts.size(); ++t) {
    finding_begin[t] = v.findings.size();
    im.scan(texts[t].text, false, sel, hits[t]);
    bool scored = texts[t].source == Source::user || texts[t].source == Source::tool;
    if (scored) scores[t] = injection_score(im, texts[t].text, texts[t].source, hits[t], weights[t], false);
    else weights[t].assign(hits[t].size(), 0.0);
    v.injection_score = std::max(v.injection_score, scores[t]);
    for (size_t h = 0; h < hits[t].size(); ++h) {
      const auto& hit = hits[t][h];
      const auto& d = im.detectors[hit.detector];
      if (d.kind == Kind::injection && weights[t][h] <= 0) continue;
      for (size_t pi : d.policies) {
        if (!sel.has(pi)) continue;
        const auto& p = im.policies[pi];
        Finding f{p.name, d.entity, t, hit.begin, hit.end, 1.0, p.mode != Mode::monitor};
        if (d.kind == Kind::injection) {
          f.score = weights[t][h];
          f.acted = f.acted && scores[t] >= p.threshold;
        }
        v.findings.push_back(std::move(f));
      }
    }
  }
  finding_begin[texts.size()] = v.findings.size();

  for (size_t pi = 0; pi < im.policies.size() && !v.blocked; ++pi) {
    const auto& p = im.policies[pi];
    if (!sel.has(pi) || p.mode != Mode::block) continue;
    for (const auto& f : v.findings) {
      if (f.policy != p.name || !f.acted) continue;
      v.blocked = true;
      v.policy = p.name;
      v.reason = block_reason(p, v.findings, v.injection_score);
      break;
    }
  }
  if (v.blocked) return v;

  for (size_t t = 0; t < texts.size(); ++t) {
    std::vector<Replacement> reps;
    auto& text = texts[t].text;
    // Findings of text t are in the same order as its hits, policy by policy.
    for (size_t fi = finding_begin[t]; fi < finding_begin[t + 1]; ++fi) {
      const auto& f = v.findings[fi];
      if (!f.acted) continue;
      size_t pi = 0;
      while (im.policies[pi].name != f.policy) ++pi;
      const auto& p = im.policies[pi];
      if (p.mode != Mode::redact) continue;
      std::string rep = "[REDACTED]";
      if (p.kind == Kind::pii) {
        std::string label;
        for (const auto& d : im.detectors)
          if (d.kind == Kind::pii && d.entity == f.entity) label = d.label;
        rep = p.reversible ? restore.placeholder_for(label, std::string_view(text).substr(
                                                                f.begin, f.end - f.begin))
                           : "[" + label + "]";
      }
      reps.push_back({f.begin, f.end, std::move(rep)});
    }
    if (reps.empty()) continue;
    text = rewrite(text, 0, text.size(), reps);
    v.redacted = true;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Output side

void output_spans(const CompiledPolicies::Impl& impl, const Selection& sel,
                  std::string_view text, const RestoreMap* restore,
                  std::vector<OutputSpan>& spans, std::span<const size_t> start) {
  spans.clear();
  std::vector<Hit> hits;
  impl.scan(text, true, sel, hits, start);
  for (const auto& h : hits)
    spans.push_back({h.begin, h.end, h.detector, nullptr, h.match_begin, h.match_end, h.next});
  if (restore && !restore->empty()) {
    // Placeholders look like "[LABEL_N]"; only those this request handed out are restored.
    for (size_t i = text.find('['); i != text.npos; i = text.find('[', i + 1)) {
      size_t close = text.find(']', i);
      if (close == text.npos || close - i > 32) continue;
      if (const auto* v = restore->original(text.substr(i, close - i + 1)))
        spans.push_back({i, close + 1, 0, v});
    }
    std::sort(spans.begin(), spans.end(), [](const OutputSpan& a, const OutputSpan& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
    });
  }
}

OutputStep apply_output(const CompiledPolicies::Impl& impl, const Selection& sel,
                        std::string_view text, size_t from, size_t cut,
                        const std::vector<OutputSpan>& spans, size_t base,
                        std::vector<Finding>& findings, Replaced before) {
  OutputStep step;
  std::vector<Replacement> reps;
  size_t first_finding = findings.size();
  for (const auto& s : spans) {
    if (s.end <= from || s.end > cut || s.begin >= cut) continue;
    size_t b = std::max(s.begin, from);
    // The whole answer skips a value that starts inside one it already replaced (the text
    // after that replacement goes out as it is): so does the step after the one that did.
    bool covered = s.begin >= before.begin && s.begin < before.end;
    if (s.restored) {
      if (!covered) reps.push_back({b, s.end, *s.restored, s.begin});
      continue;
    }
    const auto& d = impl.detectors[s.detector];
    bool redact = false;
    for (size_t pi : d.policies) {
      if (!sel.has(pi)) continue;
      const auto& p = impl.policies[pi];
      findings.push_back(
          {p.name, d.entity, 0, base + b - from, base + s.end - from, 1.0, p.mode != Mode::monitor});
      redact |= p.mode == Mode::redact;
    }
    if (!redact || covered) continue;
    reps.push_back({b, s.end, d.kind == Kind::pii ? "[" + d.label + "]" : "[REDACTED]", s.begin});
    // A key body that runs to the end of what is held may go on in the next delta (only a
    // replaced key is swallowed: a monitored one goes out as it is).
    if (d.private_key && s.end == text.size() &&
        text.substr(s.begin, s.end - s.begin).find("-----END") == std::string_view::npos)
      step.private_key_open = true;
  }
  for (size_t pi = 0; pi < impl.policies.size() && !step.blocked; ++pi) {
    const auto& p = impl.policies[pi];
    if (!sel.has(pi) || p.mode != Mode::block) continue;
    for (size_t f = first_finding; f < findings.size(); ++f)
      if (findings[f].policy == p.name) {
        step.blocked = true;
        step.policy = p.name;
        break;
      }
  }
  if (step.blocked) return step;
  step.text = rewrite(text, from, cut, reps, &step.last);
  return step;
}

CompiledPolicies::OutputResult CompiledPolicies::scan_output(const Selection& sel,
                                                             std::string_view text,
                                                             const RestoreMap* restore) const {
  OutputResult r;
  std::vector<OutputSpan> spans;
  output_spans(*impl_, sel, text, restore, spans);
  auto step = apply_output(*impl_, sel, text, 0, text.size(), spans, 0, r.findings);
  r.text = std::move(step.text);
  r.blocked = step.blocked;
  r.policy = std::move(step.policy);
  return r;
}

bool CompiledPolicies::scans_output(const Selection& sel, const RestoreMap* restore) const {
  if (restore && !restore->empty()) return true;
  for (size_t pi = 0; pi < impl_->policies.size(); ++pi)
    if (sel.has(pi) && impl_->policies[pi].kind != Kind::injection) return true;
  return false;
}

bool CompiledPolicies::may_hit(const Selection& sel, std::string_view text) const {
  return !sel.empty() && impl_->may_match(text, sel);
}

PolicySpec policy_spec(const core::Guardrail& g) {
  PolicySpec s;
  s.name = g.name;
  s.kind = g.kind;
  s.mode = g.mode == "redact" ? Mode::redact : g.mode == "monitor" ? Mode::monitor : Mode::block;
  s.entities = g.entities;
  s.reversible = g.reversible;
  s.keywords = g.keywords;
  s.patterns = g.patterns;
  s.threshold = g.threshold;
  return s;
}

}  // namespace tollgate::guardrails
