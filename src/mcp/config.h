// MCP resources: `mcp_servers` (its schema: core/kinds/mcp_server.cc) and a key's `mcp` grant
// (core/kinds/key.cc, read with the key in core/resources.cc), read and checked here; schema_test.cc
// holds the two to each other. Shape (YAML; JSON in the store):
//   mcp_servers:
//     - name: github                      # [A-Za-z0-9_-]{1,64}; also the default prefix
//       url: https://host/mcp             # Streamable HTTP endpoint
//       headers: { X-Api-Key: "${TOKEN}" } # held by the gateway, sent upstream
//       auth: { bearer: "${TOKEN}" }      # or { oauth2: { token_url, client_id, client_secret, scopes } }
//       tools: { include: ["*"], exclude: ["delete_*"] }
//       era: auto                         # auto | 2026-07-28 | legacy
//       prefix: github                    # aggregate names prefix__name; "" for none
//       timeout_ms: 30000
//       limits: { rpm: 600, concurrency: 20 }
//   keys:
//     - { name: team-a, ..., mcp: { allow: ["github__*"], deny: ["github__merge_*"], read_only: false,
//                                   limits: { rpm: 60, concurrency: 4 }, tool_limits: { rpm: 10 } } }
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/resources.h"

namespace YAML {
class Node;
}
namespace tollgate::core {
class YamlReader;
}

namespace tollgate::mcp {

std::optional<core::McpServer> read_server(core::YamlReader& in, const YAML::Node& n, const std::string& at);

// Names, URLs, uniqueness and prefix collisions across the servers.
using Report = std::function<void(std::string_view section, std::size_t index, std::string_view field,
                                  std::string message)>;
void validate(const core::Resources& r, const Report& add);

// The store's documents (JSON, the YAML schema's fields): a server, and a key's grant as the
// `mcp` member of the key's settings. Values are written as given (the store seals secrets).
std::string server_document(const core::McpServer& s);
boost::json::object grant_object(const core::McpGrant& g);
// One server document read with read_server()'s rules; nullopt with errors appended.
std::optional<core::McpServer> parse_server(std::string_view doc, std::string_view source,
                                            std::vector<core::ConfigError>& errors);

// --- the Admin API's mcp_servers (core/kinds/mcp_server.cc) ---
// A server as the API answers it: write-only values (header values, auth.bearer,
// auth.oauth2.client_secret) left out, and named in `secrets_set`.
boost::json::object server_answer(const core::McpServer& s);
// Completes a written document with the stored write-only values it leaves out, since a client
// that read the server cannot send them back: a header not named, the bearer or client secret
// of an `auth` that does not replace them, a whole `auth` not given. null removes one.
void keep_stored_secrets(boost::json::object& doc, const std::optional<std::string>& stored_doc);
// A written document read as the store keeps it: "${ENV}" references left unresolved.
std::optional<core::McpServer> parse_server_unresolved(const boost::json::object& doc, std::string_view source,
                                                       std::vector<core::ConfigError>& errors);

}  // namespace tollgate::mcp
