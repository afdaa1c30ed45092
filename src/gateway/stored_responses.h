// Responses API answers the gateway served through translation, kept so a caller can continue
// them (previous_response_id) on any provider and read or delete them
// (GET/DELETE /v1/responses/{id}). One SQLite table in a file of its own beside the store;
// rows older than the retention are deleted. A key sees only the responses it created.
//
// Also holds the key that seals reasoning handed to callers (encrypted_content): the
// store's key (store/secret_box.h), so sealed items survive restarts with the store.
//
// Reads and writes are synchronous: an answer is stored before its last byte goes out, so a
// caller's next turn always finds it (a few hundred microseconds in WAL mode).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "store/secret_box.h"

struct sqlite3;

namespace tollgate::gateway {

class ResponseStore {
 public:
  // Opens (creates) the table in the SQLite file at `path`. Throws std::runtime_error.
  ResponseStore(const std::string& path, int retention_days, store::SecretBox seal);
  ~ResponseStore();
  ResponseStore(const ResponseStore&) = delete;
  ResponseStore& operator=(const ResponseStore&) = delete;

  struct Stored {
    boost::json::object response;
    boost::json::array input_items;
    std::string previous_id;
  };

  void put(std::string_view id, std::string_view key_id, const boost::json::object& response,
           const boost::json::array& input_items, std::string_view previous_id);
  std::optional<Stored> get(std::string_view id, std::string_view key_id);
  bool remove(std::string_view id, std::string_view key_id);
  // The items of the chain ending at `id` (each turn's input, then its output), oldest first.
  // False when `id` (or a response it continues) is not this key's.
  bool history(std::string_view id, std::string_view key_id, boost::json::array& items);

  const store::SecretBox& seal() const { return seal_; }

 private:
  void expire();

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  int retention_days_;
  store::SecretBox seal_;
  uint64_t puts_ = 0;
};

}  // namespace tollgate::gateway
