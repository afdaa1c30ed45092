// The SQLite file as a store: the embedded default, read-write (Admin API and `tollgate keys`
// write here). Each provider and model is one JSON document row, read back with the same
// parse and validation code as the YAML file; keys are rows of their own because only their
// hash is kept.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "store/secret_box.h"
#include "store/store.h"

struct sqlite3;

namespace tollgate::store {

class SqliteStore final : public ResourceStore {
 public:
  // Opens the database, creating its parent directory and the schema the first time.
  // Throws std::runtime_error when it cannot.
  explicit SqliteStore(std::string path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  core::ParseResult load() override;
  // Another connection committed (PRAGMA data_version moved), or this object wrote, since the
  // last load(). True before the first load().
  bool changed() override;
  bool writable() const override { return true; }
  std::string describe() const override { return "sqlite:" + path_; }

  CreatedKey create_key(const std::string& name, const std::vector<std::string>& models) override;
  void put_provider(const core::Provider& p) override;
  void put_model(const core::Model& m) override;
  bool remove_provider(const std::string& name) override;
  bool remove_model(const std::string& name) override;
  void put_guardrail(const core::Guardrail& g) override;
  bool remove_guardrail(const std::string& name) override;
  void put_mcp_server(const core::McpServer& s) override;
  bool remove_mcp_server(const std::string& name) override;
  bool revoke_key(const std::string& id_or_name) override;
  CreatedKey create_key(const core::Key& spec) override;
  bool update_key(const core::Key& spec) override;
  std::optional<CreatedKey> rotate_key(const std::string& id_or_name) override;
  std::vector<StoredKey> list_keys(bool include_revoked) override;
  std::optional<StoredKey> find_key(const std::string& id_or_name) override;
  std::optional<std::string> stored_provider_document(const std::string& name) override;
  std::optional<std::string> stored_model_document(const std::string& name) override;
  std::optional<std::string> stored_mcp_server_document(const std::string& name) override;
  std::vector<std::pair<std::string, std::string>> list_documents(const std::string& kind) override;
  std::optional<std::string> get_document(const std::string& kind, const std::string& name) override;
  void put_document(const std::string& kind, const std::string& name, const std::string& doc) override;
  bool remove_document(const std::string& kind, const std::string& name) override;
  void append_audit(const AuditEntry& entry) override;
  std::vector<AuditEntry> list_audit(int limit, int offset) override;

 private:
  // The caller holds mutex_.
  std::optional<std::string> document_in(const char* table, const std::string& name);
  std::vector<StoredKey> keys_where(const std::string& where, const std::string& arg);
  core::Resources stored_names(const std::string& except_model);
  std::string sealed_document(const std::string& kind, const std::string& doc, bool seal);
  void check_key_models(const core::Key& k);
  int64_t data_version();
  std::vector<std::string> names_in(const char* table);
  // The key that seals provider credentials, made on first use (see secret_box.h).
  const SecretBox& secrets();
  // At open: seals what an older store kept in plain text.
  void seal_plaintext_credentials();

  std::string path_;
  std::mutex mutex_;  // one connection, used by the reload poller and the Admin API
  sqlite3* db_ = nullptr;
  int64_t loaded_version_ = -1;
  bool wrote_since_load_ = false;
  std::optional<SecretBox> secrets_;
};

}  // namespace tollgate::store
