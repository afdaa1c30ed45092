// schema::check, what the Admin API applies to a written document of a stored kind: arbitrary
// bytes parsed as JSON, checked against every kind. Invariants: never throws, every error names
// a message, and a document it accepts has every required field.
#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !v.is_object()) return 0;
  for (const auto& kind : tollgate::core::schema::kinds()) {
    std::vector<tollgate::core::ConfigError> errors;
    tollgate::core::schema::check(kind, v.as_object(), errors);
    for (const auto& e : errors)
      if (e.message.empty()) abort();
    if (errors.empty())
      for (const auto& f : kind.fields)
        if (f.required && !f.file_only && !v.as_object().contains(f.name)) abort();
  }
  return 0;
}
