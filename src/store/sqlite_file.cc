#include "store/sqlite_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

namespace tollgate::store {

bool check_sqlite_file(const std::string& path, std::string_view what) {
  std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error(fmt::format("{}: cannot open {}: {}", what, path, std::strerror(errno)));
  struct stat st {};
  char head[16] = {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  const bool empty = ok && st.st_size == 0;
  // Every SQLite database starts with this 16-byte string, in a header of 100 bytes.
  static constexpr char kMagic[] = "SQLite format 3";  // with its NUL: 16 bytes
  if (ok && !empty) ok = st.st_size >= 100 && ::pread(fd, head, sizeof head, 0) == sizeof head &&
                         std::memcmp(head, kMagic, sizeof head) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error(fmt::format("{}: cannot open {}: file is not a database", what, path));
  return empty;
}

}  // namespace tollgate::store
