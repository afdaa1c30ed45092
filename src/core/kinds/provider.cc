// providers: where requests go upstream, and the credential they carry.
#include "core/kinds/kinds.h"

namespace tollgate::core::schema {

Kind provider_kind() {
  auto ms = [](const char* n, const char* def) {
    return integer(n, 1, 86'400'000).dflt(def);
  };
  Kind k;
  k.name = "providers";
  k.singular = "provider";
  k.component = "Provider";
  k.description = "An upstream LLM API and its credential.";
  k.fields = {
      str("name").req().matches("^[A-Za-z0-9._-]+$").doc("letters, digits, '.', '_' and '-'"),
      one_of("kind", {"openai", "openai-compatible", "azure", "anthropic", "gemini", "bedrock", "demo"}).req(),
      str("base_url").doc("http:// or https:// URL; the kind's default when absent (required for "
                          "openai-compatible, azure, bedrock)"),
      secret("api_key").null().doc("literal secret or a ${ENV} reference (kept as a reference). Left out on "
                                   "PUT: the stored one is kept; null: cleared"),
      str("api_version").doc("azure / anthropic"),
      map("headers", str("value").null())
          .doc("extra headers sent upstream; credential-like ones (authorization, *key*, *token*, *secret*, "
               "*auth*, cookie) are write-only like api_key; null removes one"),
      object("timeouts", {ms("connect_ms", "5000").doc("TCP + TLS handshake"),
                          ms("read_ms", "120000").doc("request sent -> response head"),
                          ms("idle_ms", "60000").doc("between two reads of the body")}),
      boolean("verify_tls").dflt("true"),
  };
  k.returned = {
      boolean("api_key_set").doc("an api_key is stored (it is never returned)"),
      list("secret_headers", str("name")).doc("names of write-only headers that are set"),
      boolean("builtin").doc("added by the gateway (demo, OPENAI_API_KEY), not stored"),
  };
  k.example = R"({"name":"openai-main","kind":"openai","api_key":"sk-example","headers":{"x-team":"a"},
                  "timeouts":{"connect_ms":2000,"read_ms":60000,"idle_ms":30000},"verify_tls":true})";
  return k;
}

}  // namespace tollgate::core::schema
