// Typed reads of JSON members, as every dialect's translation does them: a member of the wrong
// type reads as absent, so a hostile or sloppy document never reaches a bad cast.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/numbers.h"

namespace tollgate::dialects {

// The value of `key`, or nullptr when absent or null (JSON null means "not set" in OpenAI chat).
inline const boost::json::value* present(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && !v->is_null() ? v : nullptr;
}

// The string at `key`; "" when absent or not a string.
inline std::string_view str(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// The object at `key`; nullptr when absent or not an object.
inline const boost::json::object* obj(const boost::json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

// An integer, also written as a whole double (2.0); nullopt otherwise.
inline std::optional<int64_t> as_int(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<int64_t>(v.get_uint64());
  // Range-checked before the cast: a double out of int64's range is undefined behaviour.
  if (v.is_double() && core::fits_int64(v.get_double()) &&
      v.get_double() == static_cast<double>(static_cast<int64_t>(v.get_double())))
    return static_cast<int64_t>(v.get_double());
  return std::nullopt;
}

}  // namespace tollgate::dialects
