// Responses API answers the gateway served, kept so a caller can continue them
// (previous_response_id) on any provider and read or delete them (GET/DELETE
// /v1/responses/{id}): the translated ones under the gateway's ids, and the fast path's under
// the upstream's ids (so a chain begun on OpenAI continues elsewhere). One table: in a SQLite
// file of its own beside the store, or in PostgreSQL when usage records go there; rows older
// than the retention are deleted. A key sees only the responses it created.
//
// Also holds the key that seals reasoning handed to callers (encrypted_content): the
// store's key (store/secret_box.h), so sealed items survive restarts with the store.
//
// Reads and writes are synchronous: an answer is stored once its last event went out but before
// its stream (or exchange) ends, so a caller's next turn always finds it (a few hundred
// microseconds with SQLite in WAL mode, a round trip with PostgreSQL).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "store/secret_box.h"

namespace tollgate::gateway {

class ResponseStore {
 public:
  struct Stored {
    boost::json::object response;
    boost::json::array input_items;
    std::string previous_id;
  };

  // The table in the SQLite file at `path` (made when absent), or in PostgreSQL (`conninfo`,
  // where usage records go: every replica then continues every chain). Throw
  // std::runtime_error when the store cannot be opened.
  static std::shared_ptr<ResponseStore> open_sqlite(const std::string& path, int retention_days, store::SecretBox seal);
  static std::shared_ptr<ResponseStore> open_postgres(const std::string& conninfo, int retention_days,
                                                      store::SecretBox seal);
  virtual ~ResponseStore() = default;

  virtual void put(std::string_view id, std::string_view key_id, const boost::json::object& response,
                   const boost::json::array& input_items, std::string_view previous_id) = 0;
  virtual std::optional<Stored> get(std::string_view id, std::string_view key_id) = 0;
  virtual bool remove(std::string_view id, std::string_view key_id) = 0;
  // The items of the chain ending at `id` (each turn's input, then its output), oldest first.
  // False when `id` (or a response it continues) is not this key's.
  bool history(std::string_view id, std::string_view key_id, boost::json::array& items);

  const store::SecretBox& seal() const { return seal_; }

 protected:
  ResponseStore(int retention_days, store::SecretBox seal) : retention_days_(retention_days), seal_(std::move(seal)) {}
  // Rows created before this (unix seconds) are past the retention.
  int64_t oldest_kept() const;
  // Parses a stored row; nullopt when it does not parse.
  static std::optional<Stored> row(std::string_view response, std::string_view input_items, std::string_view previous_id);

  int retention_days_;
  store::SecretBox seal_;
};

}  // namespace tollgate::gateway
