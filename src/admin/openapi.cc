// The OpenAPI 3.1 document of the Admin API, served at GET /admin/v1/openapi.json. Made once at
// start: every resource kind's CRUD routes and schemas from core/schema.h, the other routes from
// the table below. tests/admin/openapi.test.mjs checks that every route and kind is in it and
// that an OpenAPI 3.1 validator accepts it.
#include "admin/admin_api.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/schema.h"

namespace tollgate::admin {
namespace json = boost::json;

namespace {

constexpr std::string_view kSchemas = "#/components/schemas/";

// A route that is not a kind's generic CRUD. JSON snippets are parsed at start.
struct Route {
  const char* method;
  const char* path;
  const char* operation_id;
  const char* summary;
  const char* ok;          // "200 description"
  const char* answer;      // schema of the answer (JSON), "" for none
  const char* body;        // schema of the request body (JSON), "" for none
  const char* parameters;  // query / path parameters (JSON array), "" for none
  const char* errors;      // error statuses besides 401 / 403, e.g. "400 404"
};

constexpr const char* kTime =
    R"("unix milliseconds, RFC 3339 (2026-03-01T12:00:00Z) or relative to now (-15m, -24h, -7d))";
constexpr const char* kKeyId =
    R"([{"name":"id","in":"path","required":true,"description":"key id (key_...) or name","schema":{"type":"string"}}])";

constexpr const char* kName = R"([{"name":"name","in":"path","required":true,"schema":{"type":"string"}}])";

const std::vector<Route>& routes() {
  static const std::string usage_params = std::string(R"([
    {"name":"from","in":"query","schema":{"type":"string"},"description":)") + kTime + R"(; default -24h"},
    {"name":"to","in":"query","schema":{"type":"string"},"description":)" + kTime + R"(; default now"},
    {"name":"bucket","in":"query","schema":{"type":"string"},"description":"seconds or 1m, 5m, 1h, 1d; 0 or absent: one bucket"},
    {"name":"group_by","in":"query","schema":{"type":"string","enum":["none","key","model","provider","team"]}},
    {"name":"key","in":"query","schema":{"type":"string"},"description":"key id or name"},
    {"name":"model","in":"query","schema":{"type":"string"}},
    {"name":"provider","in":"query","schema":{"type":"string"}},
    {"name":"team","in":"query","schema":{"type":"string"},"description":"a team-admin's own team always"}])";
  static const std::string request_params = std::string(R"([
    {"name":"from","in":"query","schema":{"type":"string"},"description":)") + kTime + R"("},
    {"name":"to","in":"query","schema":{"type":"string"},"description":)" + kTime + R"("},
    {"name":"key","in":"query","schema":{"type":"string"}},
    {"name":"model","in":"query","schema":{"type":"string"}},
    {"name":"provider","in":"query","schema":{"type":"string"}},
    {"name":"team","in":"query","schema":{"type":"string"}},
    {"name":"status","in":"query","schema":{"type":"string"},"description":"an HTTP status, or 'error' for every status >= 400"},
    {"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":1000,"default":100}},
    {"name":"offset","in":"query","schema":{"type":"integer","minimum":0}}])";
  static const std::vector<Route> table{
      {"get", "/admin/v1/keys", "list_keys", "List virtual keys with spend and last use", "200 ok",
       R"({"type":"object","properties":{"data":{"type":"array","items":{"$ref":"#/components/schemas/Key"}}}})", "",
       R"([{"name":"include_revoked","in":"query","schema":{"type":"boolean"}}])", ""},
      {"post", "/admin/v1/keys", "create_key", "Create a key; the secret is returned once", "201 created",
       R"({"$ref":"#/components/schemas/KeyWithSecret"})", R"({"$ref":"#/components/schemas/KeyWrite"})", "", "400 409"},
      {"get", "/admin/v1/keys/{id}", "get_key", "Get a key (revoked ones too)", "200 ok",
       R"({"$ref":"#/components/schemas/Key"})", "", kKeyId, "404"},
      {"patch", "/admin/v1/keys/{id}", "update_key",
       "Change models, expires_at, limits, budget, model_limits, guardrails (null removes a field)",
       "200 saved; live at once", R"({"$ref":"#/components/schemas/Key"})", R"({"$ref":"#/components/schemas/KeyWrite"})",
       kKeyId, "400 404 409"},
      {"post", "/admin/v1/keys/{id}/revoke", "revoke_key", "Revoke a key (idempotent); it answers 401 at once",
       "200 revoked", R"({"$ref":"#/components/schemas/Key"})", "", kKeyId, "404 409"},
      {"post", "/admin/v1/keys/{id}/rotate", "rotate_key",
       "New secret for the key; id, name, settings, spend stay; the old secret stops working at once", "200 rotated",
       R"({"$ref":"#/components/schemas/KeyWithSecret"})", "", kKeyId, "404 409"},
      {"get", "/admin/v1/admin_keys", "list_admin_keys", "List admin keys (never their secrets)", "200 ok",
       R"({"type":"object","properties":{"data":{"type":"array","items":{"$ref":"#/components/schemas/AdminKey"}}}})", "",
       "", ""},
      {"post", "/admin/v1/admin_keys", "create_admin_key", "Create an admin key; the secret is returned once (role admin only)",
       "201 created", R"({"$ref":"#/components/schemas/AdminKeyWithSecret"})",
       R"({"$ref":"#/components/schemas/AdminKeyWrite"})", "", "400 409"},
      {"get", "/admin/v1/admin_keys/{name}", "get_admin_key", "Get an admin key", "200 ok",
       R"({"$ref":"#/components/schemas/AdminKey"})", "", kName, "404"},
      {"delete", "/admin/v1/admin_keys/{name}", "delete_admin_key", "Delete an admin key; it answers 401 at once",
       "200 deleted", R"({"$ref":"#/components/schemas/Deleted"})", "", kName, "404"},
      {"get", "/admin/v1/mcp_status", "mcp_status",
       "What this process saw of each MCP server: reachable, last error, advertised tools, requests, errors, latency",
       "200 ok",
       R"({"type":"object","properties":{"data":{"type":"array","items":{"type":"object","properties":{
           "name":{"type":"string"},"reachable":{"type":["boolean","null"],"description":"null: not asked yet"},
           "last_error":{"type":["string","null"]},"last_error_at":{"type":["integer","null"],"description":"unix ms"},
           "last_ok_at":{"type":["integer","null"],"description":"unix ms"},
           "tools":{"type":"array","items":{"type":"string"},"description":"advertised by its last tools/list"},
           "requests":{"type":"integer"},"errors":{"type":"integer"},
           "latency_ms":{"type":"object","properties":{"avg":{"type":"number"},"max":{"type":"number"}}},
           "tool_calls":{"type":"array","items":{"type":"object","properties":{"tool":{"type":"string"},
             "calls":{"type":"integer"},"errors":{"type":"integer"},"avg_ms":{"type":"number"}}}}}}}}})",
       "", "", ""},
      {"get", "/admin/v1/audit", "audit", "The audit log of Admin API writes, newest first", "200 ok",
       R"({"type":"object","properties":{"data":{"type":"array","items":{"$ref":"#/components/schemas/AuditEntry"}},
           "limit":{"type":"integer"},"offset":{"type":"integer"}}})",
       "", R"([{"name":"limit","in":"query","schema":{"type":"integer","minimum":1,"maximum":1000,"default":100}},
               {"name":"offset","in":"query","schema":{"type":"integer","minimum":0}}])", ""},
      {"get", "/admin/v1/usage", "usage", "Usage aggregates over time buckets", "200 ok",
       R"({"type":"object","properties":{"from":{"type":"integer"},"to":{"type":"integer"},"bucket_seconds":{"type":"integer"},
           "group_by":{"type":"string"},"data":{"type":"array","items":{"$ref":"#/components/schemas/UsageBucket"}},
           "totals":{"oneOf":[{"$ref":"#/components/schemas/UsageBucket"},{"type":"null"}]}}})",
       "", usage_params.c_str(), "400 503"},
      {"get", "/admin/v1/requests", "requests", "The request log, newest first", "200 ok",
       R"({"type":"object","properties":{"data":{"type":"array","items":{"$ref":"#/components/schemas/RequestRecord"}},
           "limit":{"type":"integer"},"offset":{"type":"integer"},"has_more":{"type":"boolean"}}})",
       "", request_params.c_str(), "400 503"},
      {"get", "/admin/v1/requests/{request_id}", "request", "One request of the log", "200 ok",
       R"({"$ref":"#/components/schemas/RequestRecord"})", "",
       R"([{"name":"request_id","in":"path","required":true,"schema":{"type":"string"}}])", "404 503"},
      {"get", "/admin/v1/config", "config", "The live snapshot: providers (no secrets), models, key count, version, store",
       "200 ok",
       R"({"type":"object","properties":{"version":{"type":"integer"},"gateway_version":{"type":"string"},
           "started_at":{"type":"integer"},"store":{"type":"object","properties":{"kind":{"type":"string"},
           "path":{"type":"string"},"writable":{"type":"boolean"}}},"usage_enabled":{"type":"boolean"},
           "listen":{"type":"object"},"providers":{"type":"array","items":{"$ref":"#/components/schemas/Provider"}},
           "models":{"type":"array","items":{"$ref":"#/components/schemas/Model"}},"key_count":{"type":"integer"},
           "caller":{"type":"object","description":"the admin key asking","properties":{"actor":{"type":"string"},
             "role":{"type":"string","enum":["admin","viewer"]}}}}})",
       "", "", ""},
      {"get", "/admin/v1/schema", "schema",
       "Every resource kind's schema (fields, types, defaults, constraints, secrets, references): what the UI's forms are made from",
       "200 ok", R"({"type":"object","properties":{"kinds":{"type":"array","items":{"type":"object"}},"components":{"type":"object"}}})",
       "", "", ""},
      {"get", "/admin/v1/openapi.json", "openapi", "This document", "200 OpenAPI 3.1 document", "", "", "", ""},
      {"post", "/admin/v1/guardrails/try", "try_guardrails",
       "What each guardrail policy would do to a prompt (allow, redact with the new text, block with the reason); "
       "changes nothing, so role viewer may call it",
       "200 one outcome per policy, in the order asked (all: the snapshot's order)",
       R"({"type":"object","properties":{"data":{"type":"array","items":{"$ref":"#/components/schemas/GuardrailOutcome"}}}})",
       R"({"type":"object","required":["text"],"additionalProperties":false,"properties":{
           "text":{"type":"string","maxLength":65536,"description":"the prompt, as a user message"},
           "policies":{"type":"array","items":{"type":"string"},"description":"guardrail names; absent: every one"}}})",
       "", "400"},
  };
  return table;
}

// Schemas of answers that are not resources.
constexpr const char* kOtherSchemas = R"({
 "Error": {"type":"object","properties":{"error":{"type":"object","properties":{"message":{"type":"string"},
   "type":{"type":"string"},"param":{"type":["string","null"]},"code":{"type":"string"},
   "errors":{"type":"array","items":{"type":"object","properties":{
     "field":{"type":"string","description":"relative to the resource, e.g. targets[0].provider; empty for the whole body"},
     "message":{"type":"string"}}}}}}}},
 "Deleted": {"type":"object","properties":{"name":{"type":"string"},"deleted":{"type":"boolean"}}},
 "KeyWithSecret": {"allOf":[{"$ref":"#/components/schemas/Key"},{"type":"object","properties":{
   "secret":{"type":"string","description":"shown once; only its SHA-256 is stored"}}}]},
 "AdminKeyWithSecret": {"allOf":[{"$ref":"#/components/schemas/AdminKey"},{"type":"object","properties":{
   "secret":{"type":"string","description":"shown once; only its SHA-256 is stored"}}}]},
 "GuardrailOutcome": {"type":"object","properties":{"policy":{"type":"string"},"kind":{"type":"string"},
   "mode":{"type":"string"},"outcome":{"type":"string","enum":["allow","monitor","redact","block","not_tried"],
     "description":"monitor: hits seen, text let through; not_tried: moderation policies, which ask their provider"},
   "text":{"type":"string","description":"redact: the prompt as it would go upstream"},
   "reason":{"type":"string","description":"block: what the caller would be told; not_tried: why"},
   "score":{"type":"number","description":"prompt-injection: the prompt's score"},
   "findings":{"type":"array","items":{"type":"object","properties":{"entity":{"type":"string"},
     "begin":{"type":"integer"},"end":{"type":"integer"},"acted":{"type":"boolean"}}}}}},
 "AuditEntry": {"type":"object","properties":{"ts":{"type":"integer","description":"unix ms"},
   "actor":{"type":"string","description":"config (the admin key in tollgate.yaml) or admin_key:NAME"},
   "action":{"type":"string","description":"method and path"},"status":{"type":"integer"},"kind":{"type":"string"},
   "name":{"type":"string"},"before":{"description":"the resource as GET showed it before (no secrets); null when none"},
   "after":{"description":"the answer (secrets masked); null for a delete or a refused write"}}},
 "UsageBucket": {"type":"object","properties":{"start_ms":{"type":"integer"},"group":{"type":"string"},
   "label":{"type":"string"},"requests":{"type":"integer"},"errors":{"type":"integer"},"input_tokens":{"type":"integer"},
   "output_tokens":{"type":"integer"},"cached_tokens":{"type":"integer"},"cache_creation_tokens":{"type":"integer"},
   "reasoning_tokens":{"type":"integer"},"cost_usd":{"type":"number"},"unpriced":{"type":"integer"},
   "avg_latency_ms":{"type":"number"},"max_latency_ms":{"type":"number"},"avg_ttft_ms":{"type":["number","null"]},
   "cache_hits":{"type":"integer"},"cache_misses":{"type":"integer"},"cache_saved_tokens":{"type":"integer"},
   "cache_saved_usd":{"type":"number","description":"over the priced hits"},"cache_unpriced_hits":{"type":"integer"}}},
 "RequestRecord": {"type":"object","properties":{"request_id":{"type":"string"},"ts":{"type":"integer","description":"unix ms"},
   "key_id":{"type":["string","null"]},"key_name":{"type":["string","null"]},"team":{"type":["string","null"]},"model":{"type":["string","null"]},
   "provider":{"type":["string","null"]},"upstream_model":{"type":["string","null"]},"route":{"type":["string","null"]},
   "status":{"type":"integer"},"stream":{"type":"boolean"},"input_tokens":{"type":["integer","null"]},
   "output_tokens":{"type":["integer","null"]},"cached_tokens":{"type":["integer","null"]},
   "cache_creation_tokens":{"type":["integer","null"]},"reasoning_tokens":{"type":["integer","null"]},
   "cost_usd":{"type":["number","null"]},"latency_ms":{"type":"number"},"ttft_ms":{"type":["number","null"]},
   "attempts":{"type":"integer"},"error":{"type":["string","null"]},
   "guardrails":{"type":"array","description":"guardrail hits, never the matched values","items":{"type":"object",
     "properties":{"policy":{"type":"string"},"entity":{"type":"string",
       "description":"the PII entity, injection rule, keywords[i]/patterns[i] or moderation category"},
     "stage":{"type":"string","enum":["request","answer"]},"acted":{"type":"boolean"},"count":{"type":"integer"}}}}}}
})";

constexpr std::pair<const char*, const char*> kErrors[] = {
    {"400", "Invalid"}, {"401", "Unauthorized"}, {"403", "Disabled"},
    {"404", "NotFound"}, {"409", "Conflict"}, {"503", "Unavailable"}};

constexpr std::pair<const char*, const char*> kErrorDescriptions[] = {
    {"Invalid", "invalid input; error.code invalid_resource, error.errors lists each field"},
    {"Unauthorized", "missing or wrong admin key"},
    {"Disabled", "no admin key configured (the Admin API is off), the admin key's role may only read (read_only_role), "
                 "or a team-admin reached outside its team (outside_team)"},
    {"NotFound", "no such resource"},
    {"Conflict", "name taken, still referred to, built in, revoked, or the store is read-only (code read_only_store)"},
    {"Unavailable", "usage records are off (usage_disabled) or the store cannot be opened"}};

json::object ref_to(std::string_view to) { return json::object{{"$ref", std::string(to)}}; }

json::object json_content(json::value schema) {
  return json::object{{"application/json", json::object{{"schema", std::move(schema)}}}};
}

json::object operation(const std::string& id, const std::string& summary, std::string_view ok,
                       json::value answer, json::value body, std::string_view errors) {
  json::object responses;
  std::size_t space = ok.find(' ');
  json::object okr{{"description", std::string(ok.substr(space + 1))}};
  if (!answer.is_null()) okr["content"] = json_content(std::move(answer));
  responses[ok.substr(0, space)] = std::move(okr);
  for (const auto& [status, name] : kErrors) {
    bool always = std::string_view(status) == "401" || std::string_view(status) == "403";
    if (always || errors.find(status) != std::string_view::npos)
      responses[status] = ref_to(std::string("#/components/responses/") + name);
  }
  json::object op{{"summary", summary}, {"operationId", id}, {"responses", std::move(responses)}};
  if (!body.is_null()) op["requestBody"] = json::object{{"required", true}, {"content", json_content(std::move(body))}};
  return op;
}

// GET / POST /admin/v1/{kind} and GET / PUT / DELETE /admin/v1/{kind}/{name}.
void add_crud(json::object& paths, const core::schema::Kind& k) {
  std::string read = std::string(kSchemas) + k.component, write = read + "Write";
  json::object list_answer{{"type", "object"},
                           {"properties", json::object{{"data", json::object{{"type", "array"}, {"items", ref_to(read)}}}}}};
  const std::string& one = k.singular;
  paths["/admin/v1/" + k.name] = json::object{
      {"get", operation("list_" + k.name, "List " + k.name + " (the live snapshot)", "200 ok", list_answer, nullptr, "")},
      {"post", operation("create_" + one, "Create a " + one, "201 created; live at once", ref_to(read), ref_to(write), "400 409")}};
  json::array params{json::object{{"name", "name"}, {"in", "path"}, {"required", true},
                                  {"schema", json::object{{"type", "string"}}}}};
  paths["/admin/v1/" + k.name + "/{name}"] = json::object{
      {"parameters", std::move(params)},
      {"get", operation("get_" + one, "Get a " + one, "200 ok", ref_to(read), nullptr, "404")},
      {"put", operation("put_" + one, "Replace a " + one + " (created when absent)", "200 saved; live at once", ref_to(read),
                        ref_to(write), "400 409")},
      {"delete", operation("delete_" + one, "Delete a " + one + " (409 while others refer to it)", "200 deleted",
                           ref_to(std::string(kSchemas) + "Deleted"), nullptr, "404 409")}};
}

std::string build_document() {
  json::object schemas = json::parse(kOtherSchemas).as_object();
  for (auto& [name, s] : core::schema::components(kSchemas)) schemas[name] = s;
  json::object paths;
  for (const auto& k : core::schema::kinds()) {
    schemas[k.component] = core::schema::json_schema(k, false, kSchemas);
    schemas[k.component + "Write"] = core::schema::json_schema(k, true, kSchemas);
    if (k.generic_routes) add_crud(paths, k);
  }
  for (const Route& r : routes()) {
    json::value answer = *r.answer ? json::parse(r.answer) : json::value(nullptr);
    json::value body = *r.body ? json::parse(r.body) : json::value(nullptr);
    json::value& at = paths[r.path];
    if (!at.is_object()) at.emplace_object();
    json::object& path = at.as_object();
    json::object op = operation(r.operation_id, r.summary, r.ok, std::move(answer), std::move(body), r.errors);
    if (*r.parameters) {
      json::array all = json::parse(r.parameters).as_array();
      json::array query;
      for (auto& p : all) {
        if (p.at("in") == "path") path["parameters"] = json::array{p};
        else query.push_back(p);
      }
      if (!query.empty()) op["parameters"] = std::move(query);
    }
    path[r.method] = std::move(op);
  }
  json::object responses;
  for (const auto& [name, description] : kErrorDescriptions)
    responses[name] = json::object{{"description", description}, {"content", json_content(ref_to(std::string(kSchemas) + "Error"))}};

  json::object doc{
      {"openapi", "3.1.0"},
      {"info", json::object{{"title", "Tollgate Admin API"},
                            {"version", "1"},
                            {"description",
                             "Manage the gateway's resources (every kind: GET /admin/v1/schema) and read usage. Every "
                             "route needs `Authorization: Bearer <admin key>` (admin.key in tollgate.yaml). Writes are "
                             "live at once (a new snapshot). With a resources file (read-only store) every write "
                             "answers 409 read_only_store. Timestamps: unix seconds on keys, unix milliseconds in "
                             "usage and the request log. Secret fields are write-only: never returned."}}},
      {"servers", json::array{json::object{{"url", "/"}}}},
      {"security", json::array{json::object{{"adminKey", json::array{}}}}},
      {"paths", std::move(paths)},
      {"components", json::object{{"securitySchemes",
                                   json::object{{"adminKey", json::object{{"type", "http"}, {"scheme", "bearer"}}}}},
                                  {"schemas", std::move(schemas)},
                                  {"responses", std::move(responses)}}}};
  return json::serialize(doc);
}

}  // namespace

const std::string& openapi_document() {
  static const std::string kDocument = build_document();
  return kDocument;
}

}  // namespace tollgate::admin
