// Shared by tests/unit/guardrails_*_test.cc: compiling specs, and reading the corpus files
// beside this header.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "guardrails/guardrail.h"

namespace tollgate::guardrails::testing {

inline std::shared_ptr<const CompiledPolicies> compile_ok(const std::vector<PolicySpec>& specs) {
  std::vector<std::string> errors;
  auto p = CompiledPolicies::compile(specs, errors);
  for (const auto& e : errors) ADD_FAILURE() << e;
  return p;
}

inline PolicySpec pii(std::string name, Mode mode, std::vector<std::string> entities = {},
                      bool reversible = false) {
  PolicySpec s;
  s.name = std::move(name);
  s.kind = "pii";
  s.mode = mode;
  s.entities = std::move(entities);
  s.reversible = reversible;
  return s;
}

inline PolicySpec injection(std::string name, Mode mode, double threshold = 0.5) {
  PolicySpec s;
  s.name = std::move(name);
  s.kind = "prompt-injection";
  s.mode = mode;
  s.threshold = threshold;
  return s;
}

inline PolicySpec keywords(std::string name, Mode mode, std::vector<std::string> words,
                           std::vector<std::string> patterns = {}) {
  PolicySpec s;
  s.name = std::move(name);
  s.kind = "keywords";
  s.mode = mode;
  s.keywords = std::move(words);
  s.patterns = std::move(patterns);
  return s;
}

inline std::vector<std::string> all_names(const CompiledPolicies& p) {
  std::vector<std::string> names;
  for (size_t i = 0; i < p.size(); ++i) names.push_back(p.name(i));
  return names;
}

// Rows of a tab-separated corpus file; '#' lines and blank lines are skipped, "\n" in a field
// is a newline.
inline std::vector<std::vector<std::string>> read_corpus(const std::string& file) {
  auto path = std::filesystem::path(__FILE__).parent_path() / file;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields(1);
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\t') {
        fields.emplace_back();
      } else if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == 'n') {
        fields.back().push_back('\n');
        ++i;
      } else {
        fields.back().push_back(line[i]);
      }
    }
    rows.push_back(std::move(fields));
  }
  return rows;
}

}  // namespace tollgate::guardrails::testing
