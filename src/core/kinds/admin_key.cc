// admin_keys: who may use the Admin API, and for what. Made by the gateway (the secret is shown
// once, only its SHA-256 is kept, as for virtual keys), so they have routes of their own. The
// admin key in tollgate.yaml stays the bootstrap admin beside them.
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Kind admin_key_kind() {
  Kind k;
  k.name = "admin_keys";
  k.singular = "admin key";
  k.component = "AdminKey";
  k.description = "A key for the Admin API with a role: admin (everything), viewer (read-only; no secret is "
                  "ever returned to anyone) or team-admin (the keys of one team, and that team's usage and budget).";
  k.generic_routes = false;
  k.in_resources_file = false;
  k.fields = {
      str("name").req().matches("^[A-Za-z0-9._@-]+$").doc("letters, digits, '.', '_', '@' and '-'"),
      one_of("role", {"admin", "viewer", "team-admin"}).dflt("\"viewer\""),
      ref("team", "teams").only_if("role", "team-admin").doc("team-admin: the team it manages (required)"),
      str("key_hash").in_file_only().matches("^[0-9a-f]{64}$")
          .doc("`tollgate export` / `apply`: the secret's SHA-256 (the secret itself is never kept)"),
  };
  k.returned = {
      str("prefix").doc("the first 8 characters of the secret"),
      integer("created_at", 0, 9.2e18).doc("unix seconds"),
  };
  k.example = R"({"name":"ops-viewer","role":"viewer"})";  // team-admin: {"role":"team-admin","team":"research"}
  return k;
}

}  // namespace tollgate::core::schema
