// The resources file as `tollgate apply` reads it and `tollgate export` writes it, every kind of
// core/schema.h alike (admin keys included, which only a store keeps), and the export read back
// to serve (the snapshot cache of a postgres store). No store here: these are the parsers.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/resources.h"
#include "core/schema.h"

namespace tollgate::store {

// Calls `visit` on every string of `doc` that `fields` declare secret, at any depth (each value
// of a map of secrets): what a store seals at rest and an export never shows in clear.
void each_secret(const std::vector<core::schema::Field>& fields, boost::json::object& doc,
                 const std::function<void(boost::json::value&)>& visit);

// True when the resources file's own reader (core::parse_resources, and so a store's load)
// reads the section of `kind`. The other kinds (admin keys; a kind registered by a module) are
// checked by their schema alone here, and kept as documents by the stores.
bool read_into_snapshot(const std::string& kind);

// A resources file, validated whole (every kind, including those only a store keeps, such as
// admin_keys), and its documents by kind as written: `${ENV}` references unresolved, a key's
// secret (key, key_env) replaced by its hash. A section given, even empty, has its entry.
// Never throws.
struct FileDocuments {
  std::vector<core::ConfigError> errors;
  std::map<std::string, std::vector<boost::json::object>> documents;
};
FileDocuments read_resources_file(std::string_view text, const std::string& source);

// `{kind: [documents]}` as YAML, read back by read_resources_file() as the same values (a
// string that would read as a number or a bool is quoted).
std::string resources_yaml(const boost::json::object& kinds);

// An export (the snapshot cache) read back to serve: its sealed credentials opened with `open`
// (nullopt: cannot be opened, an error), then read and validated as a resources file; the
// sections only a store keeps (admin keys) are left out. Never throws.
using OpenSealed = std::function<std::optional<std::string>(std::string_view sealed)>;
core::ParseResult read_export(std::string_view text, const std::string& source, const OpenSealed& open);

}  // namespace tollgate::store
