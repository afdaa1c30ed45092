// Key material. Secrets are 32 random bytes, base64url: long enough that a hash of them can be
// stored without a salt or a slow KDF, which is what lets authentication be one hash lookup.
// Nothing here touches OpenSSL: libcrypto is opened only when TLS or a feature that needs it
// is first used (http/openssl_loader.cc), and every gateway with a virtual key hashes one at
// resource load, so hashing through libcrypto would page in ~1.6 MB of it at start (issue 18:
// idle RSS). SHA-256 comes from libmd (BSD's message digests, a few kB), base64 from Beast.
// The secrets come from the kernel's generator for the same reason.
#include <sha2.h>
#include <sys/random.h>

#include <array>
#include <stdexcept>

#include <boost/beast/core/detail/base64.hpp>

#include "store/store.h"

namespace tollgate::store {

std::string generate_key_secret() {
  std::array<unsigned char, 32> bytes{};
  if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error("cannot generate a key: the system random source failed");
  }
  // Standard base64 with padding, turned into unpadded base64url.
  namespace b64 = boost::beast::detail::base64;
  std::array<char, b64::encoded_size(32)> encoded{};
  std::size_t n = b64::encode(encoded.data(), bytes.data(), bytes.size());
  std::string out = "tg-";
  for (std::size_t i = 0; i < n; ++i) {
    char c = encoded[i];
    if (c == '=') break;
    out.push_back(c == '+' ? '-' : c == '/' ? '_' : c);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  char hex[SHA256_DIGEST_STRING_LENGTH];  // lower-case hex and a NUL
  SHA256Data(reinterpret_cast<const uint8_t*>(data.data()), data.size(), hex);
  return std::string(hex, SHA256_DIGEST_STRING_LENGTH - 1);
}

core::Key key_for_secret(const std::string& secret, const std::string& name,
                         const std::vector<std::string>& models) {
  core::Key k;
  k.hash_hex = sha256_hex(secret);
  k.id = core::key_id_for_hash(k.hash_hex);
  k.name = name;
  k.prefix = secret.substr(0, 8);
  if (!models.empty()) k.edit_rules().models = models;
  return k;
}

}  // namespace tollgate::store
