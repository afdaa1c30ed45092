// Admin keys (core/kinds/admin_key.cc) in a store: one document each, holding the SHA-256 of
// the secret, never the secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace tollgate::store {

struct AdminKey {
  std::string name;
  std::string role;  // admin | viewer | team-admin
  std::string team;  // team-admin: the team it manages
  std::string hash_hex;
  std::string prefix;
  int64_t created_at = 0;
};

// A new admin key: the secret ("tga-..."), here once. Throws ResourceConflict for a name taken.
struct CreatedAdminKey {
  AdminKey key;
  std::string secret;
};
CreatedAdminKey create_admin_key(ResourceStore& store, const std::string& name, const std::string& role,
                                 const std::string& team = {});

std::vector<AdminKey> list_admin_keys(ResourceStore& store);
// The admin key whose secret this is (compared by hash, in constant time), or nullopt.
std::optional<AdminKey> find_admin_key(ResourceStore& store, std::string_view secret);

}  // namespace tollgate::store
