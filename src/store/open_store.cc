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
bool ResourceStore::revoke_key(const std::string&) {
  throw std::runtime_error(describe() + " cannot revoke keys");
}

std::unique_ptr<ResourceStore> open_store(const core::StoreConfig& cfg) {
  if (cfg.kind == "sqlite") return std::make_unique<SqliteStore>(cfg.path);
  if (cfg.kind == "file") return std::make_unique<FileStore>(cfg.path);
  throw std::invalid_argument("unknown store kind \"" + cfg.kind + "\" (expected sqlite or file)");
}

}  // namespace tollgate::store
