#include "store/apply.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/schema.h"
#include "store/secret_box.h"

namespace tollgate::store {
namespace {
namespace json = boost::json;
namespace schema = core::schema;

const schema::Field* field_named(const std::vector<schema::Field>& fields, std::string_view name) {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

// What is compared of a document: sealed credentials opened, nulls, empty lists and maps and
// values equal to their default left out, numbers as numbers, keys in order. `f` says what the
// value is (nullptr: not declared, compared as it is).
json::value canonical(const json::value& v, const schema::Field* f, SqlStore& store);

json::value canonical_object(const json::object& o, const std::vector<schema::Field>* fields, SqlStore& store,
                             bool declared_only) {
  std::map<std::string, json::value> sorted;
  for (const auto& [k, x] : o) {
    const schema::Field* f = fields ? field_named(*fields, k) : nullptr;
    if (declared_only && !f) continue;  // what the store adds (an admin key's prefix) is not compared
    json::value c = canonical(x, f, store);
    if (c.is_null() || (c.is_array() && c.get_array().empty()) || (c.is_object() && c.get_object().empty())) continue;
    if (f && !f->default_json.empty() && c == canonical(json::parse(f->default_json), nullptr, store)) continue;
    sorted.emplace(std::string(k), std::move(c));
  }
  json::object out;
  for (auto& [k, x] : sorted) out[k] = std::move(x);
  return out;
}

json::value canonical(const json::value& v, const schema::Field* f, SqlStore& store) {
  const schema::Field* item = f && !f->fields.empty() ? &f->fields[0] : nullptr;
  switch (v.kind()) {
    case json::kind::string:
      if (auto opened = store.opened(v.get_string())) return json::value(*opened);
      return v;
    case json::kind::double_: {
      double d = v.get_double();
      if (std::trunc(d) == d && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
      return v;
    }
    case json::kind::uint64:
      if (v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.get_uint64());
      return v;
    case json::kind::array: {
      json::array out;
      for (const auto& x : v.get_array()) out.push_back(canonical(x, f && f->type == schema::Type::list ? item : nullptr, store));
      return out;
    }
    case json::kind::object: {
      if (f && f->type == schema::Type::map) {  // every value is the one item field (headers: value)
        std::map<std::string, json::value> sorted;
        for (const auto& [k, x] : v.get_object()) sorted.emplace(std::string(k), canonical(x, item, store));
        json::object out;
        for (auto& [k, x] : sorted) out[k] = std::move(x);
        return out;
      }
      return canonical_object(v.get_object(), f && f->type == schema::Type::object ? &f->fields : nullptr, store, false);
    }
    default: return v;
  }
}

std::string comparable(SqlStore& store, const schema::Kind& kind, const std::string& doc) {
  boost::system::error_code ec;
  json::value v = json::parse(store.kept_form(kind.name, doc), ec);
  if (ec) return doc;
  if (!v.is_object()) return doc;
  return json::serialize(canonical_object(v.get_object(), &kind.fields, store, true));
}

}  // namespace

std::string ResourceChange::to_string() const {
  const schema::Kind* k = schema::find_kind(kind);
  return std::string(1, op) + " " + (k ? k->singular : kind) + " " + name;
}

ApplyPlan plan_apply(SqlStore& store, std::string_view text, const std::string& source, bool prune) {
  ApplyPlan plan;
  FileDocuments file = read_resources_file(text, source);
  plan.errors = std::move(file.errors);
  if (!plan.errors.empty()) return plan;
  for (const schema::Kind& kind : schema::kinds()) {
    auto given = file.documents.find(kind.name);
    if (given == file.documents.end()) continue;  // a section not given is left as it is
    std::map<std::string, std::string> now;
    for (const auto& [name, doc] : store.documents_of(kind.name)) now[name] = doc;
    std::set<std::string> named;
    for (const json::object& o : given->second) {
      std::string name(o.at("name").as_string());
      std::string doc = json::serialize(o);
      named.insert(name);
      auto it = now.find(name);
      if (it == now.end()) plan.changes.push_back({'+', kind.name, name, doc});
      else if (comparable(store, kind, it->second) != comparable(store, kind, doc))
        plan.changes.push_back({'~', kind.name, name, doc});
    }
    if (prune)
      for (const auto& [name, _] : now)
        if (!named.contains(name)) plan.changes.push_back({'-', kind.name, name, ""});
  }
  return plan;
}

namespace {

// Makes each change; one refused with `Refused` (a write naming what a later one makes: a
// model's cache policy; a removal of what a later removal still uses) is tried again after the
// others, until a round makes no progress. Refused writes have written nothing (sqlite_store.h).
template <class Refused>
void in_rounds(std::vector<const ResourceChange*> pending, const std::function<void(const ResourceChange&)>& make) {
  while (!pending.empty()) {
    std::vector<const ResourceChange*> refused;
    std::string first;
    for (const ResourceChange* c : pending) {
      try {
        make(*c);
      } catch (const Refused& e) {
        refused.push_back(c);
        if (first.empty()) first = c->to_string() + ": " + e.what();
      } catch (const std::exception& e) {
        throw std::runtime_error(c->to_string() + ": " + e.what());
      }
    }
    if (refused.size() == pending.size()) throw std::runtime_error(first);
    pending = std::move(refused);
  }
}

}  // namespace

void apply_plan(SqlStore& store, const ApplyPlan& plan, bool commit) {
  store.write_together(
      [&] {
        std::vector<const ResourceChange*> writes, removals;
        for (const auto& c : plan.changes) (c.op == '-' ? removals : writes).push_back(&c);
        in_rounds<InvalidResource>(writes, [&](const ResourceChange& c) { store.put_resource(c.kind, c.doc); });
        // Referrers first: the kinds name only kinds before them.
        std::reverse(removals.begin(), removals.end());
        in_rounds<ResourceConflict>(removals, [&](const ResourceChange& c) { store.remove_resource(c.kind, c.name); });
      },
      commit);
}

std::string export_resources(SqlStore& store) {
  json::object out;
  for (const schema::Kind& kind : schema::kinds()) {
    auto docs = store.documents_of(kind.name);
    if (docs.empty()) continue;
    json::array list;
    for (const auto& [name, doc] : docs) {
      json::object stored = json::parse(doc).as_object();
      json::object o;
      for (const auto& f : kind.fields)  // what a file can say, in the schema's order
        if (const json::value* v = stored.if_contains(f.name)) o[f.name] = *v;
      // A credential is written sealed or as a reference, never in clear.
      each_secret(kind.fields, o, [&](json::value& v) {
        std::string_view value = v.get_string();
        if (!value.empty() && !SecretBox::is_sealed(value) && value.find("${") == std::string_view::npos)
          throw std::runtime_error(kind.singular + " " + name + " holds a credential in clear; write it again "
                                   "through the Admin API (or apply) to seal it, then export");
      });
      list.push_back(std::move(o));
    }
    out[kind.name] = std::move(list);
  }
  return resources_yaml(out);
}

}  // namespace tollgate::store
