// YamlReader::by_schema, how the resources file reads the kinds read by their schema alone
// (teams): arbitrary bytes as YAML, read against every kind. Invariants: never throws past the
// reader (yaml-cpp's own exceptions are the caller's, caught in parse_resources), every error
// names a message, and a document it accepts has every required field.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/yaml_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  for (const auto& kind : tollgate::core::schema::kinds()) {
    std::vector<tollgate::core::ConfigError> errors;
    tollgate::core::YamlReader in("fuzz.yaml", errors);
    auto root = in.load(text);
    if (!root) return 0;
    std::optional<boost::json::object> doc;
    try {
      doc = in.by_schema(*root, "", kind);
    } catch (const YAML::Exception&) {
      continue;  // parse_resources turns these into a "cannot read" error
    }
    for (const auto& e : errors)
      if (e.message.empty()) abort();
    if (doc) {
      if (!errors.empty()) abort();
      for (const auto& f : kind.fields)
        if (f.required && !f.file_only && !doc->contains(f.name)) abort();
    }
  }
  return 0;
}
