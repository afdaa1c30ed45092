// Where resources live. One interface, several stores (DESIGN.md): the SQLite file (the
// embedded default, read-write), the YAML resources file (read-only, GitOps), PostgreSQL
// (read-write, shared by the replicas of a cluster).
#pragma once

#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/process_config.h"
#include "core/resources.h"

namespace tollgate::store {

// A new key as created: the secret is here once and nowhere else.
struct CreatedKey {
  core::Key key;
  std::string secret;
};

// A key as stored, with what only the store knows: when it was created and revoked.
struct StoredKey {
  core::Key key;  // hash_hex included: callers never show it
  std::optional<int64_t> created_at;  // unix seconds; nullopt where the store does not know
  std::optional<int64_t> revoked_at;
};

// One Admin API write: who, what, when, and the resource before and after (as the API shows
// it, so with secrets masked).
struct AuditEntry {
  int64_t ts_ms = 0;
  std::string actor;   // "config" (the admin key in tollgate.yaml) or "admin_key:NAME"
  std::string action;  // "POST /admin/v1/providers"
  int status = 0;
  std::string kind, name;
  std::string before, after;  // JSON; "null" when absent
};

class ResourceStore {
 public:
  virtual ~ResourceStore() = default;

  // Reads and validates everything; errors name the place of each problem.
  virtual core::ParseResult load() = 0;

  // True when the store changed since the last load() (polled off the request path).
  virtual bool changed() = 0;

  // Lets go of what the store keeps open between uses (the SQLite store: its connection and
  // the library; opened again by the next call). load() and a changed() that finds nothing do
  // it themselves; the Admin API after each call.
  virtual void close_idle() {}

  virtual bool writable() const = 0;
  virtual std::string describe() const = 0;
  // How often the runtime asks changed(): a shared store is polled often enough that every
  // replica serves a change within a second.
  virtual std::chrono::milliseconds change_check_interval() const { return std::chrono::seconds(1); }

  // The version of one stored resource (by the Admin API's kind name, and name, or id for keys):
  // it moves with every write of it. nullopt: not stored, or a store without versions.
  virtual std::optional<int64_t> version_of(const std::string& kind, const std::string& name);

  // Write operations; a read-only store throws std::runtime_error explaining why. A write
  // that is not valid on its own, or names a provider / model not stored, throws
  // InvalidResource; a key name already taken throws ResourceConflict.
  virtual CreatedKey create_key(const std::string& name, const std::vector<std::string>& models) = 0;
  virtual void put_provider(const core::Provider& p) = 0;
  virtual void put_model(const core::Model& m) = 0;

  // Removals. False when nothing had that name. The default is for stores that cannot.
  virtual bool remove_provider(const std::string& name);
  virtual bool remove_model(const std::string& name);
  // Guardrail policies (the SQLite store; a read-only store throws).
  virtual void put_guardrail(const core::Guardrail& g);
  virtual bool remove_guardrail(const std::string& name);
  // MCP servers (the SQLite store; a read-only store throws). Credentials are sealed at rest.
  virtual void put_mcp_server(const core::McpServer& s);
  virtual bool remove_mcp_server(const std::string& name);
  // Revokes a key by id or name; a revoked key is no longer loaded, and its name stays taken.
  virtual bool revoke_key(const std::string& id_or_name);
  // Creates or replaces the key named k.name with the hash and settings given (a declarative
  // file's key: `tollgate apply`); throws ResourceConflict for a revoked name.
  virtual void put_key(const core::Key& k);

  // What the Admin API needs beyond load(). The defaults are for stores that cannot: reads
  // return nothing, writes throw std::runtime_error.
  //
  // A new key with its settings (name, models, expires_at, limits, budget, model_limits of
  // `spec`; its id, hash and prefix are made here), in one write.
  virtual CreatedKey create_key(const core::Key& spec);
  // Replaces models, expires_at, limits, budget, model_limits, guardrails and mcp of the active key spec.id.
  // False when no key has that id; throws ResourceConflict for a revoked key.
  virtual bool update_key(const core::Key& spec);
  // A new secret for the key (by id or name); id, name and settings stay, so usage, spend and
  // budgets carry on. The old secret stops working with the next snapshot. nullopt: no such
  // active key.
  virtual std::optional<CreatedKey> rotate_key(const std::string& id_or_name);
  virtual std::vector<StoredKey> list_keys(bool include_revoked);
  virtual std::optional<StoredKey> find_key(const std::string& id_or_name);
  // The provider's document as written (api_key still a "${ENV}" reference if it was one),
  // so a write that leaves the credential out can keep it. nullopt: not stored.
  virtual std::optional<std::string> stored_provider_document(const std::string& name);
  virtual std::optional<std::string> stored_model_document(const std::string& name);
  // An MCP server's document as stored (credentials still sealed, references unresolved).
  virtual std::optional<std::string> stored_mcp_server_document(const std::string& name);

  // Resources of the kinds kept as one JSON document each (core/schema.h: admin_keys, and the
  // kinds to come), by kind and name. Reads return nothing where the store has none; writes
  // throw std::runtime_error on a store that cannot.
  virtual std::vector<std::pair<std::string, std::string>> list_documents(const std::string& kind);  // (name, doc)
  virtual std::optional<std::string> get_document(const std::string& kind, const std::string& name);
  virtual void put_document(const std::string& kind, const std::string& name, const std::string& doc);
  virtual bool remove_document(const std::string& kind, const std::string& name);

  // The audit log of Admin API writes, newest first.
  virtual void append_audit(const AuditEntry& entry);
  virtual std::vector<AuditEntry> list_audit(int limit, int offset);
};

// A write refused because the resource is not valid; `errors` says what and where.
class InvalidResource : public std::runtime_error {
 public:
  explicit InvalidResource(std::vector<core::ConfigError> errors);
  std::vector<core::ConfigError> errors;
};

// A write refused because it collides with what is stored (a key name already taken).
class ResourceConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A write refused because the resource moved on since the version the writer read (If-Match).
class StaleWrite : public ResourceConflict {
 public:
  StaleWrite(const std::string& what, std::optional<int64_t> current) : ResourceConflict(what), current(current) {}
  std::optional<int64_t> current;  // nullopt: no longer stored
};

// The store cannot be reached now (a database down); the last good snapshot keeps serving.
class StoreUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// While one lives, the resource writes this thread makes must find their resource at
// `version` (an Admin API If-Match), else throw StaleWrite. nullopt expects nothing.
class ExpectVersion {
 public:
  explicit ExpectVersion(std::optional<int64_t> version);
  ~ExpectVersion();
  ExpectVersion(const ExpectVersion&) = delete;
  ExpectVersion& operator=(const ExpectVersion&) = delete;
  static std::optional<int64_t> current();

 private:
  std::optional<int64_t> previous_;
};

// Opens (and for sqlite creates) the store; throws std::runtime_error when it cannot.
std::unique_ptr<ResourceStore> open_store(const core::StoreConfig& cfg);

// The JSON document a store keeps for a resource: the same fields as the YAML schema, so
// core::parse_provider() / parse_model() read it back. Values are written as given: an
// api_key of "${OPENAI_API_KEY}" stays a reference, resolved at each load.
std::string provider_document(const core::Provider& p);
std::string model_document(const core::Model& m);
std::string guardrail_document(const core::Guardrail& g);
// A key's limits, budget and model_limits as the resources document has them ("{}" when none).
std::string key_settings_document(const core::Key& k);

// Key material: a fresh random secret, and the SHA-256 hex digest the stores keep.
std::string generate_key_secret();
std::string sha256_hex(std::string_view data);
core::Key key_for_secret(const std::string& secret, const std::string& name,
                         const std::vector<std::string>& models);

}  // namespace tollgate::store
