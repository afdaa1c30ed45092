// `tollgate apply` and `tollgate export`: a declarative resources file pushed into any writable
// store, and the store written back out as that file. GitOps and Admin API edits live together:
// apply changes only what differs, and prunes only when asked.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/resources.h"
#include "store/store.h"

namespace tollgate::store {

struct ResourceChange {
  char op;  // '+' create, '~' update, '-' delete (a key: revoke)
  std::string kind, name;
  std::string to_string() const { return std::string(1, op) + " " + kind + " " + name; }
};

struct ApplyPlan {
  std::vector<core::ConfigError> errors;  // the file does not validate: nothing may be applied
  core::Resources desired;                // as parsed, `${ENV}` resolved
  std::vector<core::Provider> providers_to_store;  // as written: references stay references
  std::vector<ResourceChange> changes;
};

// Validates the whole file first, then compares it with what `store` holds. Providers, models,
// guardrails and keys (MCP servers and the generic kinds are not applied yet).
ApplyPlan plan_apply(ResourceStore& store, std::string_view text, const std::string& source, bool prune);

// Makes the changes, in an order that keeps every reference whole (providers before the models
// naming them; referrers removed first). Throws what the store throws, naming the resource.
void apply_plan(ResourceStore& store, const ApplyPlan& plan);

// The store as a resources file: credentials as stored (`${ENV}` references, or sealed with
// the store's key: never in clear), keys by their hash.
std::string export_resources(ResourceStore& store);

}  // namespace tollgate::store
