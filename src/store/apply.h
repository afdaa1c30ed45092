// `tollgate apply` and `tollgate export`: a declarative resources file pushed into a writable
// store, and the store written back out as that file. Every kind of core/schema.h is covered by
// the same code, in the order of the kinds (each names only kinds before it), so a new kind is
// applied and exported without a line here. GitOps and Admin API edits live together: apply
// changes only what differs, and removes only when asked (--prune).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/resources.h"
#include "store/resources_file.h"
#include "store/sqlite_store.h"

namespace tollgate::store {

struct ResourceChange {
  char op;           // '+' create, '~' update, '-' remove (a key: revoke)
  std::string kind;  // the schema kind: "providers", "cache_policies"
  std::string name;
  std::string doc;   // '+', '~': the document written, as the file has it
  std::string to_string() const;  // "+ provider openai-main"
};

struct ApplyPlan {
  std::vector<core::ConfigError> errors;  // the file does not validate: nothing may be applied
  std::vector<ResourceChange> changes;    // in the order of the kinds
};

// Validates the whole file first, then compares it with what `store` holds, kind by kind.
ApplyPlan plan_apply(SqlStore& store, std::string_view text, const std::string& source, bool prune);

// Makes the changes in one transaction: the store is read whole and validated before it
// commits, so either every change lands or none (a model naming a provider the plan removes,
// a write that fails half way). commit = false checks all that and writes nothing (--dry-run).
// Throws InvalidResource with the findings, or what the store throws, naming the resource.
void apply_plan(SqlStore& store, const ApplyPlan& plan, bool commit = true);

// The store as a resources file, every kind: credentials as stored (`${ENV}` references, or
// sealed with the store's key: never in clear), keys and admin keys by their hash.
std::string export_resources(SqlStore& store);

}  // namespace tollgate::store
