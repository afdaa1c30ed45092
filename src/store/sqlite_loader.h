// SQLite is loaded while a connection is open (store/sqlite_loader.cc): the sqlite3_* API of
// <sqlite3.h> is called as usual; the library is mapped by the first open and unmapped when the
// last connection closes.
#pragma once

namespace tollgate::store {

// True while libsqlite3 is loaded, i.e. while some SQLite connection of this process is open.
bool sqlite_library_loaded();

}  // namespace tollgate::store
