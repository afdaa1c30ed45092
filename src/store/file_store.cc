#include "store/file_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace tollgate::store {

FileStore::FileStore(std::string path) : path_(std::move(path)) {}

FileStore::FileStamp FileStore::stamp() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return {};
  return {true, static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino)};
}

core::ParseResult FileStore::load() {
  // Stamp before reading: a write racing the read shows up as a change next poll.
  loaded_ = stamp();
  loaded_once_ = true;
  std::ifstream file(path_, std::ios::binary);
  if (!file) {
    core::ParseResult result;
    result.errors.push_back(
        {path_, 0, 0, "", "cannot read the resources file: " + std::string(std::strerror(errno))});
    return result;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return core::parse_resources(text.str(), path_);
}

bool FileStore::changed() { return !loaded_once_ || stamp() != loaded_; }

void FileStore::refuse_write() const {
  throw std::runtime_error("the resources file " + path_ +
                           " is read-only: edit it and send SIGHUP, or use the sqlite store");
}

CreatedKey FileStore::create_key(const std::string&, const std::vector<std::string>&) {
  refuse_write();
}
void FileStore::put_provider(const core::Provider&) { refuse_write(); }
void FileStore::put_model(const core::Model&) { refuse_write(); }
bool FileStore::remove_provider(const std::string&) { refuse_write(); }
bool FileStore::remove_model(const std::string&) { refuse_write(); }
bool FileStore::revoke_key(const std::string&) { refuse_write(); }
CreatedKey FileStore::create_key(const core::Key&) { refuse_write(); }
bool FileStore::update_key(const core::Key&) { refuse_write(); }
std::optional<CreatedKey> FileStore::rotate_key(const std::string&) { refuse_write(); }

}  // namespace tollgate::store
