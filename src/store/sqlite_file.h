// A SQLite file the gateway opens on first use (issue 18: idle RSS). SQLite's code and page
// cache cost ~1.5 MB resident once a connection is open; the usage records and the stored
// responses need theirs only when the first record or response comes. What a bad path would
// make fail at the first open is checked at start instead, without SQLite, so a misconfigured
// gateway still stops there.
#pragma once

#include <string>
#include <string_view>

namespace tollgate::store {

// Creates the file's directory and the file itself if missing, and checks it can be opened
// for reading and writing and, if not empty, starts with SQLite's header. Throws
// std::runtime_error naming `what` and the path otherwise. Returns whether the file was empty
// (new): then it holds no rows yet, and a purge at start has nothing to do.
bool check_sqlite_file(const std::string& path, std::string_view what);

}  // namespace tollgate::store
