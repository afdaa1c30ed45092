// The YAML resources file as a store: read-only (GitOps: the file is the truth, edits go
// through the file, not the Admin API), reloaded when it changes or on SIGHUP.
#pragma once

#include <cstdint>
#include <string>

#include "store/store.h"

namespace tollgate::store {

class FileStore final : public ResourceStore {
 public:
  explicit FileStore(std::string path);

  core::ParseResult load() override;
  // Cheap (one stat): the file's mtime, size or inode moved since the last load().
  bool changed() override;
  bool writable() const override { return false; }
  std::string describe() const override { return "file:" + path_; }

  CreatedKey create_key(const std::string& name, const std::vector<std::string>& models) override;
  void put_provider(const core::Provider& p) override;
  void put_model(const core::Model& m) override;
  bool remove_provider(const std::string& name) override;
  bool remove_model(const std::string& name) override;
  bool revoke_key(const std::string& id_or_name) override;
  CreatedKey create_key(const core::Key& spec) override;
  bool update_key(const core::Key& spec) override;
  std::optional<CreatedKey> rotate_key(const std::string& id_or_name) override;

 private:
  // What stat() said; an editor that saves by rename changes the inode even when size and
  // mtime (to the second on some file systems) do not.
  struct FileStamp {
    bool exists = false;
    int64_t mtime_ns = 0;
    int64_t size = 0;
    uint64_t inode = 0;
    bool operator==(const FileStamp&) const = default;
  };
  FileStamp stamp() const;
  [[noreturn]] void refuse_write() const;

  std::string path_;
  FileStamp loaded_;
  bool loaded_once_ = false;
};

}  // namespace tollgate::store
