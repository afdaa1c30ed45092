// The schema (core/schema.h) and the resources file's readers say the same thing: every kind's
// example is valid; at every level the fields the reader accepts are the schema's; every
// constraint the schema states (range, enum, required) is refused by the reader, naming the field.
#include "core/schema.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <map>
#include <set>
#include <string>

#include "core/resources.h"

namespace tollgate::core::schema {
namespace {
namespace json = boost::json;

// A resources document holding every kind's example (kinds() is in creation order).
json::object all_examples() {
  json::object doc;
  for (const Kind& k : kinds())
    if (k.in_resources_file) doc[k.name] = json::array{json::parse(k.example)};
  return doc;
}

ParseResult parse(const json::object& doc) { return parse_resources(json::serialize(doc), "test.yaml"); }

std::string listing(const ParseResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += "\n  " + e.to_string();
  return out;
}

const ConfigError* error_at(const ParseResult& r, const std::string& field) {
  for (const auto& e : r.errors)
    if (e.field == field) return &e;
  return nullptr;
}

// Runs `check` on every object of the example the schema describes: (its place in the document,
// the JSON object, the schema's fields for it).
template <class F>
void each_object(json::object& o, const std::string& at, const std::vector<Field>& fields, F&& check) {
  check(at, o, fields);
  for (const Field& f : fields) {
    json::value* v = o.if_contains(f.name);
    if (!v) continue;
    std::string here = at + "." + f.name;
    if (f.type == Type::object && v->is_object()) {
      each_object(v->as_object(), here, f.fields, check);
    } else if (f.type == Type::list && f.fields[0].type == Type::object && v->is_array() && !v->as_array().empty()) {
      each_object(v->as_array()[0].as_object(), here + "[0]", f.fields[0].fields, check);
    } else if (f.type == Type::map && f.fields[0].type == Type::object && v->is_object() && !v->as_object().empty()) {
      auto& first = *v->as_object().begin();
      each_object(first.value().as_object(), here + "." + std::string(first.key()), f.fields[0].fields, check);
    }
  }
}

TEST(Schema, EveryExampleIsValid) {
  ParseResult r = parse(all_examples());
  EXPECT_TRUE(r.ok()) << listing(r);
  for (const Kind& k : kinds()) {
    EXPECT_FALSE(k.example.empty()) << k.name;
    EXPECT_NE(find_kind(k.name), nullptr);
  }
  EXPECT_EQ(find_kind("no-such-kind"), nullptr);
}

TEST(Schema, TheReaderAcceptsExactlyTheSchemasFieldsAtEveryLevel) {
  for (const Kind& k : kinds()) {
    if (!k.in_resources_file) continue;
    json::object shape = all_examples();
    std::vector<std::pair<std::string, std::set<std::string>>> levels;
    each_object(shape[k.name].as_array()[0].as_object(), k.name + "[0]", k.fields,
                [&](const std::string& at, json::object& o, const std::vector<Field>& fields) {
                  std::set<std::string> names;
                  for (const Field& f : fields) names.insert(f.name);
                  levels.emplace_back(at, names);
                  o["zz_unknown"] = 1;  // every level at once: each is reported on its own
                });
    ParseResult r = parse(shape);
    for (const auto& [at, names] : levels) {
      const ConfigError* e = error_at(r, at + ".zz_unknown");
      ASSERT_NE(e, nullptr) << at << listing(r);
      constexpr std::string_view kLead = "unknown field (expected one of: ";
      ASSERT_TRUE(e->message.starts_with(kLead)) << e->message;
      std::string list = e->message.substr(kLead.size(), e->message.size() - kLead.size() - 1);
      std::set<std::string> accepted;
      for (std::size_t from = 0; from <= list.size();) {
        std::size_t comma = list.find(", ", from);
        accepted.insert(list.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
        if (comma == std::string::npos) break;
        from = comma + 2;
      }
      EXPECT_EQ(accepted, names) << "the reader and the schema disagree on the fields of " << at;
    }
  }
}

// Each value the schema refuses, at its place in the example, is refused by the reader with an
// error naming that place.
TEST(Schema, TheReaderEnforcesEveryConstraintTheSchemaStates) {
  int checked = 0;
  for (const Kind& k : kinds()) {
    if (!k.in_resources_file) continue;
    std::vector<std::pair<std::string, Field>> targets;  // (place of the object, field)
    json::object shape = all_examples();
    each_object(shape[k.name].as_array()[0].as_object(), k.name + "[0]", k.fields,
                [&](const std::string& at, json::object&, const std::vector<Field>& fields) {
                  for (const Field& f : fields) targets.emplace_back(at, f);
                });
    for (const auto& [place, f] : targets) {
      std::vector<json::value> bad, good;
      if (f.type == Type::integer || f.type == Type::number) {
        // The bounds themselves are accepted: the schema says no less than the reader.
        if (f.max && *f.max < 9e15) good.emplace_back(f.type == Type::integer ? json::value(int64_t(*f.max)) : json::value(*f.max));
        if (f.min) good.emplace_back(f.type == Type::integer ? json::value(int64_t(*f.min)) : json::value(*f.min));
        if (f.max && *f.max < 9e15) bad.emplace_back(f.type == Type::integer ? json::value(int64_t(*f.max) + 1) : json::value(*f.max * 2 + 1));
        if (f.min) bad.emplace_back(f.type == Type::integer ? json::value(int64_t(*f.min) - 1) : json::value(*f.min - 1));
      } else if (f.type == Type::enumeration) {
        bad.emplace_back("zz-not-a-value");
      } else if (f.type == Type::list && f.fields[0].type == Type::enumeration) {
        bad.emplace_back(json::array{"zz-not-a-value"});
      } else if (f.type == Type::boolean) {
        bad.emplace_back("zz-not-a-bool");
      }
      for (const json::value& value : good) {
        json::object doc = all_examples();
        each_object(doc[k.name].as_array()[0].as_object(), k.name + "[0]", k.fields,
                    [&](const std::string& at, json::object& o, const std::vector<Field>&) {
                      if (at != place) return;
                      o[f.name] = value;
                      if (!f.when_field.empty()) o[f.when_field] = f.when_value;
                    });
        ParseResult r = parse(doc);
        EXPECT_EQ(error_at(r, place + "." + f.name), nullptr)
            << place << "." << f.name << " = " << json::serialize(value) << " is within the schema but refused"
            << listing(r);
      }
      for (const json::value& value : bad) {
        json::object doc = all_examples();
        each_object(doc[k.name].as_array()[0].as_object(), k.name + "[0]", k.fields,
                    [&](const std::string& at, json::object& o, const std::vector<Field>&) {
                      if (at == place) o[f.name] = value;
                    });
        ParseResult r = parse(doc);
        // A bad item of a list is refused at the item.
        std::string item = place + "." + f.name + (f.type == Type::list ? "[0]" : "");
        EXPECT_NE(error_at(r, item), nullptr)
            << item << " = " << json::serialize(value) << " was not refused there" << listing(r);
        ++checked;
      }
      if (f.required) {
        json::object doc = all_examples();
        each_object(doc[k.name].as_array()[0].as_object(), k.name + "[0]", k.fields,
                    [&](const std::string& at, json::object& o, const std::vector<Field>&) {
                      if (at == place) o.erase(f.name);
                    });
        ParseResult r = parse(doc);
        EXPECT_NE(error_at(r, place + "." + f.name), nullptr)
            << place << "." << f.name << " left out was not refused there" << listing(r);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 60);
}

TEST(Schema, JsonSchemaKeepsSecretsOutOfAnswersAndNamesReferences) {
  const Kind* providers = find_kind("providers");
  ASSERT_NE(providers, nullptr);
  json::object write = json_schema(*providers, true, "#/c/");
  json::object read = json_schema(*providers, false, "#/c/");
  EXPECT_TRUE(write.at("properties").as_object().at("api_key").as_object().at("writeOnly").as_bool());
  EXPECT_FALSE(read.at("properties").as_object().contains("api_key"));
  EXPECT_TRUE(read.at("properties").as_object().at("api_key_set").as_object().at("readOnly").as_bool());
  EXPECT_EQ(write.at("additionalProperties"), json::value(false));

  const Kind* models = find_kind("models");
  json::object m = json_schema(*models, true, "#/c/");
  EXPECT_EQ(m.at("properties").at("fallbacks").at("items").at("x-reference"), "models");
  EXPECT_EQ(m.at("properties").at("limits").at("$ref"), "#/c/Limits");
  json::object c = components("#/c/");
  for (const char* name : {"Limits", "Budget", "Pricing", "Target"}) EXPECT_TRUE(c.contains(name)) << name;
  EXPECT_EQ(c.at("Target").at("properties").at("provider").at("x-reference"), "providers");

  const Kind* keys = find_kind("keys");
  json::object kw = json_schema(*keys, true, "#/c/");
  EXPECT_FALSE(kw.at("properties").as_object().contains("key_hash")) << "file-only fields are not in API bodies";
}

// check(): what the Admin API applies to kinds kept as documents, with the reader's messages.
TEST(Schema, CheckAcceptsEveryExampleAndNamesEachMistake) {
  for (const Kind& k : kinds()) {
    json::object doc = json::parse(k.example).as_object();
    for (const Field& f : k.fields)
      if (f.file_only) doc.erase(f.name);
    std::vector<ConfigError> errors;
    check(k, doc, errors);
    EXPECT_TRUE(errors.empty()) << k.name << ": " << (errors.empty() ? "" : errors[0].field + ": " + errors[0].message);
  }
  std::vector<ConfigError> errors;
  check(*find_kind("admin_keys"), json::parse(R"({"name":"a b","role":"root","extra":1})").as_object(), errors);
  std::map<std::string, std::string> by_field;
  for (const auto& e : errors) by_field[e.field] = e.message;
  EXPECT_EQ(by_field["role"], "must be one of: admin, viewer, team-admin, not \"root\"");
  EXPECT_EQ(by_field["extra"], "unknown field (expected one of: name, role, team)");
  EXPECT_TRUE(by_field["name"].find("does not match") != std::string::npos) << by_field["name"];
  errors.clear();
  check(*find_kind("models"), json::parse(R"({"retry":{"max_attempts":21},"targets":[{"weight":"x"}]})").as_object(), errors);
  by_field.clear();
  for (const auto& e : errors) by_field[e.field] = e.message;
  EXPECT_EQ(by_field["name"], "is required");
  EXPECT_EQ(by_field["retry.max_attempts"], "must be between 1 and 20, not 21");
  EXPECT_EQ(by_field["targets[0].weight"], "must be a whole number, not \"x\"");
  EXPECT_EQ(by_field["targets[0].provider"], "is required");
}

// Teams are read by their schema in the resources file too: each mistake gets the Admin API's
// message, at its field, with the file's line.
TEST(Schema, TeamsSayTheSameInTheResourcesFileAndTheAdminApi) {
  ParseResult r = parse_resources(
      "teams:\n"
      "  - name: red\n"
      "    limits: { rpm: 0, tpd: x }\n"
      "    budget: { mode: soft }\n"
      "    colour: blue\n",
      "t.yaml");
  std::vector<ConfigError> api;
  check(*find_kind("teams"),
        json::parse(R"({"name":"red","limits":{"rpm":0,"tpd":"x"},"budget":{"mode":"soft"},"colour":"blue"})").as_object(),
        api);
  ASSERT_EQ(api.size(), 4u);
  for (const auto& e : api) {
    const ConfigError* f = error_at(r, "teams[0]." + e.field);
    ASSERT_NE(f, nullptr) << e.field << listing(r);
    EXPECT_EQ(f->message, e.message) << e.field;
    EXPECT_GT(f->line, 1) << e.field << ": the file's error has its line";
  }
  EXPECT_EQ(r.errors.size(), api.size()) << listing(r);
  // A key naming a team that is not declared.
  ParseResult k = parse_resources("keys:\n  - { name: k, key: tg-abcdefgh12345678, team: nope }\n", "t.yaml");
  const ConfigError* e = error_at(k, "keys[0].team");
  ASSERT_NE(e, nullptr) << listing(k);
  EXPECT_EQ(e->message, "team \"nope\" is not declared");
}

// Every kind is read from the resources file by its schema: each value the schema refuses gets,
// in the file (with its line), the very message schema::check gives the Admin API.
TEST(Schema, EveryKindSaysTheSameInTheResourcesFileAndTheAdminApi) {
  int compared = 0;
  for (const Kind& k : kinds()) {
    if (!k.in_resources_file) continue;
    std::vector<std::pair<std::string, Field>> targets;
    json::object shape = all_examples();
    each_object(shape[k.name].as_array()[0].as_object(), k.name + "[0]", k.fields,
                [&](const std::string& at, json::object&, const std::vector<Field>& fields) {
                  for (const Field& f : fields) targets.emplace_back(at, f);
                });
    for (const auto& [place, f] : targets) {
      json::value bad;
      if (f.type == Type::integer || f.type == Type::number) bad = "zz";
      else if (f.type == Type::enumeration) bad = "zz-not-a-value";
      else if (f.type == Type::boolean) bad = "zz-not-a-bool";
      else if (f.type == Type::object || f.type == Type::list || f.type == Type::map) bad = "zz-not-a-structure";
      else continue;
      json::object doc = all_examples();
      each_object(doc[k.name].as_array()[0].as_object(), k.name + "[0]", k.fields,
                  [&](const std::string& at, json::object& o, const std::vector<Field>&) {
                    if (at == place) o[f.name] = bad;
                  });
      ParseResult r = parse(doc);
      std::string field = place + "." + f.name;
      const ConfigError* in_file = error_at(r, field);
      ASSERT_NE(in_file, nullptr) << field << listing(r);
      EXPECT_GT(in_file->line, 0) << field;
      std::vector<ConfigError> api;
      check(k, doc[k.name].as_array()[0].as_object(), api, true);
      std::string relative = field.substr(k.name.size() + 4);  // "providers[0]." left out
      auto it = std::find_if(api.begin(), api.end(), [&](const ConfigError& e) { return e.field == relative; });
      ASSERT_NE(it, api.end()) << relative;
      EXPECT_EQ(in_file->message, it->message) << field;
      ++compared;
    }
  }
  EXPECT_GT(compared, 80);
}

// references(): every name a document gives through the schema, with its place; an allowlist
// entry names a model, or a provider for PROVIDER/*, and "*" names nothing.
TEST(Schema, ReferencesFindsEveryNamedResourceWithItsPlace) {
  auto found = [](const char* kind, const char* doc) {
    std::set<std::string> out;
    references(find_kind(kind)->fields, json::parse(doc).as_object(), "",
               [&](const Field& f, std::string_view name, const std::string& at) {
                 out.insert(f.kind + ":" + std::string(name) + "@" + at);
               });
    return out;
  };
  EXPECT_EQ(found("models", R"({"name":"m","targets":[{"provider":"p","model":"x"},{"provider":"q","model":"y"}],
                                "fallbacks":["f"],"guardrails":["g"],"cache":"c"})"),
            (std::set<std::string>{"providers:p@targets[0].provider", "providers:q@targets[1].provider",
                                   "models:f@fallbacks[0]", "guardrails:g@guardrails[0]", "cache_policies:c@cache"}));
  EXPECT_EQ(found("keys", R"({"name":"k","models":["m","p/*","*"],"team":"t"})"),
            (std::set<std::string>{"models:m@models[0]", "providers:p@models[1]", "teams:t@team"}));
  EXPECT_EQ(found("teams", R"({"name":"t","models":["*"]})"), std::set<std::string>{});
  EXPECT_EQ(found("admin_keys", R"({"name":"a","role":"team-admin","team":"t"})"), std::set<std::string>{"teams:t@team"});
  json::object kw = json_schema(*find_kind("keys"), true, "#/c/");
  EXPECT_EQ(kw.at("properties").at("models").at("items").at("x-allowlist"), json::value(true));
}

}  // namespace
}  // namespace tollgate::core::schema
