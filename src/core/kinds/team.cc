// teams: groups of keys with a model allowlist, limits and a budget of their own, drawn from
// by all their keys together on top of each key's own (gateway/admit.cc, src/limits).
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Kind team_kind() {
  Kind k;
  k.name = "teams";
  k.singular = "team";
  k.component = "Team";
  k.description = "A group of keys: its model allowlist narrows each key's own (a key gets the intersection), and "
                  "its limits and budget are shared by all its keys, on top of each key's own.";
  k.fields = {
      str("name").req().matches("^[A-Za-z0-9._@-]+$").doc("letters, digits, '.', '_', '@' and '-'"),
      list("models", str("model")).doc("allowed aliases, PROVIDER/* or *; empty: every model"),
      limits_field("limits").doc("for all the team's keys together"),
      budget_field("budget").doc("for all the team's keys together; warn budgets alert at 50, 80 and 100%"),
      str("webhook").matches("^https?://[^\\s]+$")
          .doc("budget alerts of this team and its keys (POST JSON, signed); absent: budget_alerts.webhook of "
               "tollgate.yaml"),
      ref("cache", "cache_policies")
          .doc("a cache policy's name (cache_policies) for the team's keys: a key's own wins, and this wins over "
               "the model's"),
  };
  k.returned = {
      object("spend", {number("usd_today", 0, 1e12), number("usd_month", 0, 1e12), number("usd_total", 0, 1e12)})
          .null()
          .doc("USD from usage records (UTC day / month / all time); null when usage records are off"),
      list("keys", str("key")).doc("names of the team's keys"),
  };
  k.example = R"({"name":"research","models":["gpt-4o","demo"],"limits":{"rpm":600,"concurrency":20},
                  "budget":{"usd_per_month":500,"mode":"warn"},"webhook":"https://alerts.example.com/tollgate"})";
  return k;
}

}  // namespace tollgate::core::schema
