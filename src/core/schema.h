// One schema per resource kind: its fields, their types, defaults and constraints, which are
// secret and which name another resource. The Admin API's generic routes, GET
// /admin/v1/schema (the UI's forms) and the OpenAPI document are made from it; the resources
// file and the store's rows are read by it (YamlReader::by_schema), so the file and the API give
// the same messages; a store refuses to delete what a reference field names (SqlStore).
//
// Adding a kind: a file under core/kinds/ declaring it, its line in kinds() (schema.cc), and
// its runtime meaning.
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/resources.h"  // ConfigError

namespace tollgate::core::schema {

enum class Type {
  string,
  integer,
  number,
  boolean,
  enumeration,  // a string out of `values`
  list,         // items: fields[0]
  map,          // string keys; values: fields[0]
  object,       // fields
  reference,    // the name of a resource of `kind`
  secret,       // a string never returned by the API, sealed at rest; "${ENV}" stays a reference
};

struct Field {
  std::string name;
  Type type = Type::string;
  std::string description;
  bool required = false;
  bool nullable = false;             // null is accepted (and means "clear" / "none")
  std::optional<double> min, max;    // integer, number
  std::string pattern;               // string: what the whole value must match (ECMA regex)
  std::vector<std::string> values;   // enumeration
  std::string kind;                  // reference: the kind it names ("providers")
  std::vector<Field> fields;         // object: its fields; list / map: the item as fields[0]
  std::string component;             // object: a shared named schema ("Limits")
  std::string default_json;          // the default as JSON text; "" when none
  std::string when_field, when_value;  // applies only where field when_field is when_value
  bool file_only = false;            // only in the resources file (a key's key / key_env / key_hash)
  bool allowlist = false;            // string: names a model, "PROVIDER/*" (a provider) or "*" (references())

  // Builders, so a kind reads as a table (see core/kinds/).
  Field doc(std::string d) const { Field f = *this; f.description = std::move(d); return f; }
  Field req() const { Field f = *this; f.required = true; return f; }
  Field null() const { Field f = *this; f.nullable = true; return f; }
  Field range(double lo, double hi) const { Field f = *this; f.min = lo; f.max = hi; return f; }
  Field matches(std::string re) const { Field f = *this; f.pattern = std::move(re); return f; }
  Field dflt(std::string json) const { Field f = *this; f.default_json = std::move(json); return f; }
  Field named(std::string c) const { Field f = *this; f.component = std::move(c); return f; }
  Field only_if(std::string field, std::string value) const {
    Field f = *this;
    f.when_field = std::move(field);
    f.when_value = std::move(value);
    return f;
  }
  Field in_file_only() const { Field f = *this; f.file_only = true; return f; }
  Field model_allowlist() const { Field f = *this; f.allowlist = true; return f; }
};

Field str(std::string name);
Field integer(std::string name, double min, double max);
Field number(std::string name, double min, double max);
Field boolean(std::string name);
Field one_of(std::string name, std::vector<std::string> values);
Field list(std::string name, Field item);
Field map(std::string name, Field value);
Field object(std::string name, std::vector<Field> fields);
Field ref(std::string name, std::string kind);
Field secret(std::string name);

struct Kind {
  std::string name;       // "providers": the YAML section and /admin/v1/providers
  std::string singular;   // "provider"
  std::string component;  // "Provider": its name in the OpenAPI document
  std::string description;
  std::vector<Field> fields;    // what is written (YAML, Admin API bodies)
  std::vector<Field> returned;  // read-only, added by the API when it answers (builtin, spend, ...)
  std::string example;          // a valid document (JSON), checked by schema_test.cc
  bool generic_routes = true;   // false: the kind's own routes (keys: secret shown once, rotate, revoke)
  bool in_resources_file = true;  // a section of the resources file (admin keys live in a store only)
  // What the fields cannot say (one field required by another's value...): the kind's own
  // reader, run by check() on a document whose fields passed, so the Admin API refuses what
  // a load would.
  std::function<void(const boost::json::object& doc, std::vector<ConfigError>& errors)> check_more;
};

// Every kind, in the order they can be created (each refers only to kinds before it).
const std::vector<Kind>& kinds();
// Adds a kind declared outside core (a module's own, a test's), before the Admin API serves.
// A kind with generic_routes and no handler of its own is kept as documents (store.h) and
// served by the Admin API's generic routes: checked by check(), its references checked, its
// secrets write-only and sealed at rest.
void register_kind(Kind k);
const Kind* find_kind(std::string_view name);

// JSON Schema 2020-12 (as OpenAPI 3.1 takes it) of a kind or field. `write`: the body a client
// sends (secrets writeOnly, nothing read-only); else what the API answers (secrets left out,
// `returned` added). Shared objects become $ref to `ref_prefix` + component.
boost::json::object json_schema(const Kind& k, bool write, std::string_view ref_prefix);
boost::json::object json_schema(const Field& f, bool write, std::string_view ref_prefix);

// The named objects (Limits, Budget, ...) used by the kinds, as JSON Schemas.
boost::json::object components(std::string_view ref_prefix);

// Checks a document against a kind's fields: unknown fields, required ones, types, enum values,
// ranges and patterns, then the kind's check_more. What the Admin API applies to its writes and
// the resources file's readers to each item (YamlReader::by_schema), so both say the same.
// Fields in `errors` are relative to the document ("role"). `in_file`: the fields only the
// resources file has (a key's key / key_env / key_hash) are accepted.
void check(const Kind& k, const boost::json::object& doc, std::vector<ConfigError>& errors, bool in_file = false);

// Calls `visit` for every reference in `doc` (a kind's fields): the field (its `kind` the kind
// named), the name it gives, and its place ("targets[0].provider"). An allowlist entry is a
// reference to a model, or to a provider for "PROVIDER/*"; "*" names nothing.
void references(const std::vector<Field>& fields, const boost::json::object& doc, const std::string& at,
                const std::function<void(const Field&, std::string_view name, const std::string& at)>& visit);

// GET /admin/v1/schema: {"kinds": [{name, singular, description, routes, schema}], "components": {}}.
boost::json::object document();

}  // namespace tollgate::core::schema
