// Legacy-era session ids, minted by the gateway: self-contained and sealed (AES-256-GCM with
// the store's secret key, or TOLLGATE_SECRET_KEY), so any replica sharing that key can serve
// any request of the session, with no table and no sticky routing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace tollgate::mcp {

struct LegacySession {
  std::string key_id;                       // the virtual key that opened it
  std::string version;                      // the negotiated protocol version
  boost::json::object client_capabilities;  // forwarded upstream on each request
  boost::json::object client_info;
};

// Called once at start with the store path (for the key file beside it).
void init_session_sealing(const std::string& store_path);
std::string seal_session(const LegacySession& s);
// nullopt: not minted by a gateway holding this key, or tampered with.
std::optional<LegacySession> open_session(std::string_view id);

}  // namespace tollgate::mcp
