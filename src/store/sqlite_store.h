// The SQL stores: the SQLite file (the embedded default) and PostgreSQL (a cluster of
// replicas), read-write (Admin API, `tollgate keys`, `tollgate apply` write here). Each
// provider and model is one JSON document row, read back with the same parse and validation
// code as the YAML file; keys are rows of their own because only their hash is kept. Every
// resource row carries a version that moves with each write of it (If-Match on the Admin API).
// The statements are written once (store/sql_db.h runs them on either engine).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "store/secret_box.h"
#include "store/sql_db.h"
#include "store/store.h"

namespace tollgate::store {

class SqlStore : public ResourceStore {
 public:
  ~SqlStore() override;
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  core::ParseResult load() override;
  // Another connection committed, or this object wrote, since the last load(). True before
  // the first load().
  bool changed() override;
  void close_idle() override;
  bool writable() const override { return true; }
  std::string describe() const override { return db_->describe(); }
  std::optional<int64_t> version_of(const std::string& kind, const std::string& name) override;

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
  void put_key(const core::Key& k) override;
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

  // --- every kind alike (core/schema.h): `tollgate apply` / `export` and the snapshot cache ---
  // The resources of `kind` as a resources file holds them, by name: credentials as stored
  // (sealed, or "${ENV}" references; never opened), a key by its hash. Empty for a kind the
  // store has none of.
  std::vector<std::pair<std::string, std::string>> documents_of(const std::string& kind);
  // The document as this store keeps it (the kind's own form, defaults written out), for
  // comparing a file's document with a stored one. References stay unresolved.
  std::string kept_form(const std::string& kind, const std::string& doc);
  // Writes one such document through the kind's own write (checked, literal credentials
  // sealed), so what documents_of() gives can be written again. A write refused for what it
  // names (InvalidResource), and a removal refused for what names it (ResourceConflict), have
  // written nothing.
  void put_resource(const std::string& kind, const std::string& doc);
  bool remove_resource(const std::string& kind, const std::string& name);  // a key: revoked
  // Runs `writes` as one transaction, then reads the whole store inside it: a finding (thrown
  // as InvalidResource), or anything `writes` throws, leaves the store as it was; so does
  // commit = false (a dry run that checks everything a commit would).
  void write_together(const std::function<void()>& writes, bool commit = true);
  // A credential this store sealed, opened; nullopt when `value` is not sealed or not by it.
  std::optional<std::string> opened(std::string_view value);

 protected:
  explicit SqlStore(std::unique_ptr<SqlDb> db);
  // At open, once the schema is there: a store with a key check value or sealed credentials
  // refuses to open with another key.
  void check_secret_key_at_open();
  // At open: seals what an older store kept in plain text.
  void seal_plaintext_credentials();

  // Everything, read in one transaction and validated; no bookkeeping (load() does that).
  core::ParseResult read_all(int64_t& generation);

  std::unique_ptr<SqlDb> db_;
  // One connection, used by the reload poller and the Admin API; recursive, so a write made
  // inside write_together() takes it again.
  std::recursive_mutex mutex_;
  bool loaded_once_ = false;

 private:
  // The caller holds mutex_. Throws StaleWrite when an ExpectVersion is set and the row found
  // by `where` (?1: `key`; ?2: `kind`, for documents) is not at that version.
  void check_expected_version(const char* table, const char* where, const std::string& key,
                              const std::string& kind = "");
  std::optional<int64_t> stored_version(const char* table, const char* where, const std::string& key,
                                        const std::string& kind);
  std::optional<std::string> document_in(const char* table, const std::string& name);
  std::vector<StoredKey> keys_where(const std::string& where, const std::string& arg);
  core::Resources stored_names(const std::string& except_model);
  std::string sealed_document(const std::string& kind, const std::string& doc, bool seal);
  void check_key_models(const core::Key& k);
  std::vector<std::string> names_in(const char* table);
  // Throws ResourceConflict naming every stored resource that refers to `name` of `kind`.
  void refuse_if_referred(const std::string& kind, const std::string& name);
  // The key that seals provider credentials, made on first use (see secret_box.h).
  const SecretBox& secrets();

  int64_t loaded_version_ = -1;
  bool wrote_since_load_ = false;
  std::optional<SecretBox> secrets_;
};

class SqliteStore final : public SqlStore {
 public:
  // Opens the database, creating its parent directory and the schema the first time.
  // Throws std::runtime_error when it cannot.
  explicit SqliteStore(std::string path);
};

class PostgresStore final : public SqlStore {
 public:
  // Connects, and creates or migrates the schema (once, under an advisory lock, whichever
  // replica comes first). Throws StoreUnavailable when the database cannot be reached, and
  // std::runtime_error for a store this tollgate cannot use (a newer schema, another key).
  //
  // With `snapshot_cache` (a file path), every good load is written there (an export: the
  // credentials still sealed), and a start while the database cannot be reached serves that
  // file instead of refusing; the store is then opened and read as soon as it answers.
  explicit PostgresStore(const std::string& url, std::string snapshot_cache = {});
  core::ParseResult load() override;
  bool changed() override;
  std::chrono::milliseconds change_check_interval() const override { return std::chrono::milliseconds(200); }

 private:
  std::string snapshot_cache_;
  bool from_cache_ = false;    // started from the cache: the database has not been read yet
  bool served_cache_ = false;  // the cache was read (once, at the start)
};

}  // namespace tollgate::store
