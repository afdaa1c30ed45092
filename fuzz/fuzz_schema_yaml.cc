// The resources file's readers, every kind read by its schema (YamlReader::by_schema): arbitrary
// bytes as YAML, read against every kind alone, as one resource document of each kind (a store
// row, an Admin API body) and as a whole resources file. Invariants: nothing throws past the
// readers (yaml-cpp's own exceptions are the caller's around by_schema, caught by the others),
// every error names a message, and a document by_schema accepts has every required field.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "cache/policy_config.h"
#include "core/resources.h"
#include "core/yaml_reader.h"
#include "mcp/config.h"

namespace {
void named(const std::vector<tollgate::core::ConfigError>& errors) {
  for (const auto& e : errors)
    if (e.message.empty()) abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tollgate;
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& kind : core::schema::kinds()) {
    std::vector<core::ConfigError> errors;
    core::YamlReader in("fuzz.yaml", errors);
    auto root = in.load(text);
    if (!root) break;
    std::optional<boost::json::object> doc;
    try {
      doc = in.by_schema(*root, "", kind);
    } catch (const YAML::Exception&) {
      continue;  // parse_resources turns these into a "cannot read" error
    }
    named(errors);
    if (doc) {
      if (!errors.empty()) abort();
      for (const auto& f : kind.fields)
        if (f.required && !f.file_only && !doc->contains(f.name)) abort();
    }
  }
  std::vector<core::ConfigError> errors;
  core::parse_provider(text, "p", errors);
  core::parse_model(text, "m", errors);
  core::parse_guardrail(text, "g", errors);
  std::size_t before = errors.size();
  if (core::parse_key(text, "k", errors) && errors.size() != before) abort();  // only when clean
  before = errors.size();
  if (core::parse_team(text, "t", errors) && errors.size() != before) abort();
  cache::parse_cache_policy(text, "c", errors);
  mcp::parse_server(text, "s", errors);
  named(errors);
  core::ParseResult whole = core::parse_resources(text, "fuzz.yaml");
  named(whole.errors);
  return 0;
}
