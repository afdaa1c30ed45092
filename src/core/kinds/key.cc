// keys: the virtual keys callers present. Their secret is made by the gateway and shown once, so
// they keep routes of their own (create, rotate, revoke) beside the schema.
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Kind key_kind() {
  Kind k;
  k.name = "keys";
  k.singular = "key";
  k.component = "Key";
  k.description = "A virtual key: which models it may call, its limits, budget and guardrails.";
  k.generic_routes = false;
  k.fields = {
      str("name").req().doc("cannot change"),
      secret("key").in_file_only().doc("resources file: the secret itself (only its SHA-256 is kept)"),
      str("key_env").in_file_only().doc("resources file: the environment variable holding the secret"),
      str("key_hash").in_file_only().matches("^(sha256:)?[0-9A-Fa-f]{64}$").doc("resources file: the secret's SHA-256"),
      list("models", str("model")).doc("allowed aliases, PROVIDER/* or *; empty: every model"),
      integer("expires_at", 0, 9.2e18).null().doc("unix seconds"),
      limits_field("limits"),
      budget_field("budget"),
      map("model_limits", limits_field("limits")).doc("this key on one model: alias -> limits"),
      list("guardrails", ref("guardrail", "guardrails")).doc("policies applied to this key's requests"),
      ref("cache", "cache_policies").doc("a cache policy's name (cache_policies); wins over its team's and the model's"),
      ref("team", "teams").doc("the team the key belongs to: its allowlist, limits and budget apply too (and a "
                               "cache policy's scope: team)"),
      object("mcp",
             {list("allow", str("pattern")).doc("globs over server__tool, server__prompt, server__resource-uri"),
              list("deny", str("pattern")).doc("deny wins"),
              boolean("read_only").doc("only tools annotated readOnlyHint"),
              mcp_limits_field("limits").doc("this key on each server"),
              mcp_limits_field("tool_limits").doc("this key on each tool")})
          .doc("MCP access (src/mcp); absent: no MCP access"),
  };
  k.returned = {
      str("id").doc("key_ + 12 hex digits; stable, kept by rotate"),
      str("prefix").doc("the first 8 characters of the secret"),
      integer("created_at", 0, 9.2e18).null().doc("unix seconds"),
      boolean("revoked"),
      integer("revoked_at", 0, 9.2e18).null(),
      object("spend", {number("usd_today", 0, 1e12), number("usd_month", 0, 1e12), number("usd_total", 0, 1e12)})
          .null()
          .doc("USD from usage records (UTC day / month / all time); null when usage records are off"),
      integer("last_used_at", 0, 9.2e18).null().doc("unix seconds of the latest usage record"),
  };
  k.example = R"({"name":"team-a","key":"tg-example-secret-0001","models":["gpt-4o","openai-main/*"],
                  "expires_at":4102444800,"limits":{"rpm":60},"budget":{"usd_per_day":5,"mode":"warn"},
                  "model_limits":{"gpt-4o":{"tpm":1000}},"guardrails":["no-pii"],
                  "mcp":{"allow":["github__*"],"deny":["github__delete_*"],"read_only":false,
                         "limits":{"rpm":60},"tool_limits":{"concurrency":2}}})";
  return k;
}

}  // namespace tollgate::core::schema
