// mcp_servers: the MCP servers the gateway fronts on /mcp and /mcp/{server} (src/mcp). Their
// credentials (header values, bearer, OAuth2 client secret) are held by the gateway: write-only
// through the Admin API and sealed at rest. mcp/config.cc reads the resources file's section.
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Field mcp_limits_field(std::string name) {
  auto limit = [](const char* n, const char* what) { return integer(n, 1, 1099511627776).doc(what); };
  return object(std::move(name), {limit("rpm", "calls per minute"), limit("rpd", "calls per day"),
                                  limit("concurrency", "calls in flight")})
      .named("McpLimits")
      .doc("limits on MCP calls (tools/call, resources/read, prompts/get, ...); an absent one is no limit");
}

Kind mcp_server_kind() {
  Kind k;
  k.name = "mcp_servers";
  k.singular = "MCP server";
  k.component = "McpServer";
  k.description = "An MCP server (Streamable HTTP, either era) whose tools, resources and prompts the gateway "
                  "serves on /mcp (names prefix__name) and /mcp/{name} (its own names), with the gateway's "
                  "credentials for it; keys reach it through their mcp grant.";
  k.fields = {
      str("name").req().matches("^[A-Za-z0-9_-]{1,64}$").doc("1-64 of A-Z a-z 0-9 _ -; the default prefix; cannot change"),
      str("url").req().doc("the server's Streamable HTTP endpoint (http:// or https://)"),
      map("headers", secret("value"))
          .doc("headers sent upstream (API keys, tokens): held by the gateway, write-only, sealed at rest; "
               "a write that leaves one out keeps it, null removes it"),
      object("auth",
             {secret("bearer").doc("sent as Authorization: Bearer"),
              object("oauth2", {str("token_url").req().doc("the token endpoint (http:// or https://)"),
                                str("client_id").req(), secret("client_secret"),
                                list("scopes", str("scope"))})
                  .doc("client credentials grant; the token is cached and refreshed on 401")})
          .doc("the gateway's credential for the server: bearer or oauth2, not both; left out of a write, the "
               "stored one is kept; null removes it"),
      object("tools", {list("include", str("glob")).doc("upstream tool names; absent: every tool"),
                       list("exclude", str("glob")).doc("wins over include")})
          .doc("which of the server's tools the gateway exposes"),
      one_of("era", {"auto", "2026-07-28", "legacy"}).dflt("\"auto\"")
          .doc("auto: detected once (server/discover, else initialize) and cached"),
      str("prefix").null().matches("^[A-Za-z0-9_-]{0,40}$")
          .doc("aggregate names are prefix__name (default: the name); \"\" or null: unprefixed"),
      integer("timeout_ms", 1, 3'600'000).dflt("30000").doc("answer deadline, and the list fan-out's per-server deadline"),
      mcp_limits_field("limits").doc("the server, all keys together"),
      boolean("verify_tls").dflt("true"),
  };
  k.check_more = [](const boost::json::object& doc, std::vector<ConfigError>& errors) {
    const boost::json::value* a = doc.if_contains("auth");
    if (a && a->is_object() && a->as_object().contains("bearer") && a->as_object().contains("oauth2"))
      errors.push_back({"", 0, 0, "auth", "give bearer or oauth2, not both"});
  };
  k.returned = {
      list("secrets_set", str("field")).doc("write-only values that are set (headers.NAME, auth.bearer, "
                                              "auth.oauth2.client_secret); the values are never returned"),
  };
  k.example = R"({"name":"github","url":"https://mcp.example.com/mcp","headers":{"X-Api-Key":"example-key"},
                  "auth":{"oauth2":{"token_url":"https://auth.example.com/token","client_id":"tollgate",
                                    "client_secret":"example-secret","scopes":["repo"]}},
                  "tools":{"include":["*"],"exclude":["delete_*"]},"era":"auto","prefix":"gh","timeout_ms":30000,
                  "limits":{"rpm":600,"concurrency":20},"verify_tls":true})";
  return k;
}

}  // namespace tollgate::core::schema
