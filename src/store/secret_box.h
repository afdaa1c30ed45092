// Provider credentials (api_key, header values) at rest in the SQLite store: sealed with
// AES-256-GCM. The key comes from the environment (TOLLGATE_SECRET_KEY: 64 hex digits, or any
// passphrase, which is hashed to 32 bytes), else from a key file created beside the database on
// first use (mode 0600). A "${ENV}" reference is not a secret and is kept as written.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::store {

class SecretBox {
 public:
  // The key for a store at `db_path` (see above). Throws std::runtime_error when the key file
  // cannot be read or created.
  static SecretBox for_store(const std::string& db_path);
  explicit SecretBox(const std::array<unsigned char, 32>& key) : key_(key) {}

  static constexpr std::string_view kPrefix = "enc:v1:";
  static bool is_sealed(std::string_view v) { return v.starts_with(kPrefix); }

  // "enc:v1:" + base64(nonce | ciphertext | tag).
  std::string seal(std::string_view plaintext) const;
  // nullopt when the value was not sealed with this key or was tampered with.
  std::optional<std::string> open(std::string_view sealed) const;

 private:
  std::array<unsigned char, 32> key_;
};

}  // namespace tollgate::store
