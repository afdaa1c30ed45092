// SQLite, loaded while a connection is open and unloaded when the last one closes (issue 18:
// idle RSS). Linked in, SQLite's code pages touched at start (opening the resource store,
// parsing its schema, reading the resources) stayed mapped for the process's life, ~1 MB of an
// idle gateway that then never runs SQLite. The stores keep calling the API as declared in
// <sqlite3.h>; the functions they use are defined here and forward to libsqlite3.so.0, opened
// with dlopen by the first sqlite3_open / sqlite3_open_v2 and closed with dlclose by the
// sqlite3_close that ends the last connection, so its mappings go with it.
//
// Every other function takes a connection (or something made by one), so while it runs the
// library is loaded and its pointers are set: they change only under the mutex, with no
// connection open. The binary is linked with --as-needed and --exclude-libs (the forwarders
// are not exported: the library's own calls bind to itself), so libsqlite3 is not loaded at
// start; ctest tollgate_starts_without_sqlite fails if a call without a forwarder here links
// it in again.
#include <dlfcn.h>
#include <sqlite3.h>

#include <cstdarg>
#include <mutex>
#include <stdexcept>
#include <string>

#include "store/sqlite_loader.h"

namespace {

#define TOLLGATE_SQLITE_FUNCTIONS(X)                                                                      \
  X(sqlite3_open) X(sqlite3_open_v2) X(sqlite3_close) X(sqlite3_errmsg) X(sqlite3_exec) X(sqlite3_free)  \
  X(sqlite3_prepare_v2) X(sqlite3_step) X(sqlite3_reset) X(sqlite3_finalize) X(sqlite3_clear_bindings)    \
  X(sqlite3_bind_text) X(sqlite3_bind_int) X(sqlite3_bind_int64) X(sqlite3_bind_double)                   \
  X(sqlite3_bind_null) X(sqlite3_column_count) X(sqlite3_column_type) X(sqlite3_column_text)              \
  X(sqlite3_column_bytes) X(sqlite3_column_int) X(sqlite3_column_int64) X(sqlite3_column_double)          \
  X(sqlite3_changes) X(sqlite3_busy_timeout) X(sqlite3_db_release_memory) X(sqlite3_db_config)

struct Libsqlite {
#define TOLLGATE_SQLITE_POINTER(name) decltype(&::name) name = nullptr;
  TOLLGATE_SQLITE_FUNCTIONS(TOLLGATE_SQLITE_POINTER)
#undef TOLLGATE_SQLITE_POINTER
};

Libsqlite lib;           // set while connections > 0
void* handle = nullptr;  // the dlopen handle, likewise
int connections = 0;     // open (and failed but not yet closed) sqlite3 handles
std::mutex mutex;

// One more connection is about to be opened: the library, loaded if it is not. Throws when
// it cannot be (the stores report it as a failure to open).
void acquire() {
  std::lock_guard lock(mutex);
  if (connections++ > 0) return;
  void* h = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
  std::string error;
  if (!h) {
    const char* e = dlerror();
    error = std::string("cannot load SQLite (libsqlite3.so.0): ") + (e ? e : "unknown error");
  } else {
#define TOLLGATE_SQLITE_RESOLVE(name)                                  \
  lib.name = reinterpret_cast<decltype(&::name)>(dlsym(h, #name));     \
  if (!lib.name && error.empty()) error = "libsqlite3.so.0 lacks " #name;
    TOLLGATE_SQLITE_FUNCTIONS(TOLLGATE_SQLITE_RESOLVE)
#undef TOLLGATE_SQLITE_RESOLVE
  }
  if (!error.empty()) {
    if (h) dlclose(h);
    lib = Libsqlite{};
    --connections;
    throw std::runtime_error(error);
  }
  handle = h;
}

// A connection is gone: the library with the last one.
void release() {
  std::lock_guard lock(mutex);
  if (--connections > 0) return;
  lib = Libsqlite{};
  dlclose(handle);
  handle = nullptr;
}

}  // namespace

namespace tollgate::store {
bool sqlite_library_loaded() {
  std::lock_guard lock(mutex);
  return handle != nullptr;
}
}  // namespace tollgate::store

extern "C" {
int sqlite3_open(const char* filename, sqlite3** db) {
  acquire();
  int rc = lib.sqlite3_open(filename, db);
  if (!*db) release();  // out of memory: there is no handle to close
  return rc;
}
int sqlite3_open_v2(const char* filename, sqlite3** db, int flags, const char* vfs) {
  acquire();
  int rc = lib.sqlite3_open_v2(filename, db, flags, vfs);
  if (!*db) release();
  return rc;
}
int sqlite3_close(sqlite3* db) {
  if (!db) return SQLITE_OK;
  int rc = lib.sqlite3_close(db);
  if (rc == SQLITE_OK) release();  // SQLITE_BUSY: statements still open, the connection stays
  return rc;
}
const char* sqlite3_errmsg(sqlite3* db) { return db ? lib.sqlite3_errmsg(db) : "out of memory"; }
int sqlite3_exec(sqlite3* db, const char* sql, int (*callback)(void*, int, char**, char**), void* arg, char** errmsg) {
  return lib.sqlite3_exec(db, sql, callback, arg, errmsg);
}
void sqlite3_free(void* p) {
  if (p) lib.sqlite3_free(p);  // only ever what a live connection handed out (an exec's message)
}
int sqlite3_prepare_v2(sqlite3* db, const char* sql, int bytes, sqlite3_stmt** stmt, const char** tail) {
  return lib.sqlite3_prepare_v2(db, sql, bytes, stmt, tail);
}
int sqlite3_step(sqlite3_stmt* s) { return lib.sqlite3_step(s); }
int sqlite3_reset(sqlite3_stmt* s) { return lib.sqlite3_reset(s); }
int sqlite3_finalize(sqlite3_stmt* s) { return s ? lib.sqlite3_finalize(s) : SQLITE_OK; }
int sqlite3_clear_bindings(sqlite3_stmt* s) { return lib.sqlite3_clear_bindings(s); }
int sqlite3_bind_text(sqlite3_stmt* s, int i, const char* v, int n, void (*destructor)(void*)) {
  return lib.sqlite3_bind_text(s, i, v, n, destructor);
}
int sqlite3_bind_int(sqlite3_stmt* s, int i, int v) { return lib.sqlite3_bind_int(s, i, v); }
int sqlite3_bind_int64(sqlite3_stmt* s, int i, sqlite3_int64 v) { return lib.sqlite3_bind_int64(s, i, v); }
int sqlite3_bind_double(sqlite3_stmt* s, int i, double v) { return lib.sqlite3_bind_double(s, i, v); }
int sqlite3_bind_null(sqlite3_stmt* s, int i) { return lib.sqlite3_bind_null(s, i); }
int sqlite3_column_count(sqlite3_stmt* s) { return lib.sqlite3_column_count(s); }
int sqlite3_column_type(sqlite3_stmt* s, int c) { return lib.sqlite3_column_type(s, c); }
const unsigned char* sqlite3_column_text(sqlite3_stmt* s, int c) { return lib.sqlite3_column_text(s, c); }
int sqlite3_column_bytes(sqlite3_stmt* s, int c) { return lib.sqlite3_column_bytes(s, c); }
int sqlite3_column_int(sqlite3_stmt* s, int c) { return lib.sqlite3_column_int(s, c); }
sqlite3_int64 sqlite3_column_int64(sqlite3_stmt* s, int c) { return lib.sqlite3_column_int64(s, c); }
double sqlite3_column_double(sqlite3_stmt* s, int c) { return lib.sqlite3_column_double(s, c); }
int sqlite3_changes(sqlite3* db) { return lib.sqlite3_changes(db); }
int sqlite3_busy_timeout(sqlite3* db, int ms) { return lib.sqlite3_busy_timeout(db, ms); }
int sqlite3_db_release_memory(sqlite3* db) { return lib.sqlite3_db_release_memory(db); }
// Only the options that take an int and an int* (SQLITE_DBCONFIG_ENABLE_*, _NO_CKPT_ON_CLOSE
// and the like) are forwarded: a variadic call cannot be passed on as it is.
int sqlite3_db_config(sqlite3* db, int op, ...) {
  va_list args;
  va_start(args, op);
  int value = va_arg(args, int);
  int* out = va_arg(args, int*);
  va_end(args);
  return lib.sqlite3_db_config(db, op, value, out);
}
}
