#include <stdexcept>

#include "store/file_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace tollgate::store {

bool ResourceStore::remove_provider(const std::string&) {
  throw std::runtime_error(describe() + " cannot remove providers");
}
bool ResourceStore::remove_model(const std::string&) {
  throw std::runtime_error(describe() + " cannot remove models");
}
void ResourceStore::put_mcp_server(const core::McpServer&) {
  throw std::runtime_error(describe() + " cannot store MCP servers");
}
bool ResourceStore::remove_mcp_server(const std::string&) {
  throw std::runtime_error(describe() + " cannot remove MCP servers");
}
void ResourceStore::put_guardrail(const core::Guardrail&) {
  throw std::runtime_error(describe() + " cannot store guardrails");
}
bool ResourceStore::remove_guardrail(const std::string&) {
  throw std::runtime_error(describe() + " cannot remove guardrails");
}
bool ResourceStore::revoke_key(const std::string&) {
  throw std::runtime_error(describe() + " cannot revoke keys");
}
void ResourceStore::put_key(const core::Key&) { throw std::runtime_error(describe() + " cannot store keys"); }

CreatedKey ResourceStore::create_key(const core::Key&) {
  throw std::runtime_error(describe() + " cannot create keys");
}
bool ResourceStore::update_key(const core::Key&) {
  throw std::runtime_error(describe() + " cannot change keys");
}
std::optional<CreatedKey> ResourceStore::rotate_key(const std::string&) {
  throw std::runtime_error(describe() + " cannot rotate keys");
}
std::vector<StoredKey> ResourceStore::list_keys(bool) { return {}; }
std::optional<StoredKey> ResourceStore::find_key(const std::string&) { return std::nullopt; }
std::optional<std::string> ResourceStore::stored_provider_document(const std::string&) {
  return std::nullopt;
}
std::optional<std::string> ResourceStore::stored_model_document(const std::string&) {
  return std::nullopt;
}
std::optional<std::string> ResourceStore::stored_mcp_server_document(const std::string&) { return std::nullopt; }

std::vector<std::pair<std::string, std::string>> ResourceStore::list_documents(const std::string&) { return {}; }
std::optional<std::string> ResourceStore::get_document(const std::string&, const std::string&) {
  return std::nullopt;
}
void ResourceStore::put_document(const std::string& kind, const std::string&, const std::string&) {
  throw std::runtime_error(describe() + " cannot store " + kind);
}
bool ResourceStore::remove_document(const std::string& kind, const std::string&) {
  throw std::runtime_error(describe() + " cannot remove " + kind);
}
void ResourceStore::append_audit(const AuditEntry&) {}  // a read-only store takes no writes to audit
std::vector<AuditEntry> ResourceStore::list_audit(int, int) { return {}; }
std::optional<int64_t> ResourceStore::version_of(const std::string&, const std::string&) { return std::nullopt; }

std::unique_ptr<ResourceStore> open_store(const core::StoreConfig& cfg) {
  if (cfg.kind == "sqlite") return std::make_unique<SqliteStore>(cfg.path);
  if (cfg.kind == "file") return std::make_unique<FileStore>(cfg.path);
  if (cfg.kind == "postgres") return std::make_unique<PostgresStore>(cfg.url, cfg.snapshot_cache);
  throw std::invalid_argument("unknown store kind \"" + cfg.kind + "\" (expected sqlite, file or postgres)");
}

}  // namespace tollgate::store
