// Key material. Secrets are 32 random bytes, base64url: long enough that a hash of them can be
// stored without a salt or a slow KDF, which is what lets authentication be one hash lookup.
// SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP, but EVP's first digest
// runs OpenSSL's whole initialisation (config file, default provider, every algorithm's
// tables): ~2 MB of libcrypto paged in at resource load, in every gateway with a key (issue 18:
// idle RSS). The plain functions hash the same bytes with the same code and initialise nothing.
// The secrets come from the kernel's generator for the same reason: OpenSSL's first RAND call
// initialises its providers, and every first start creates an admin key and a virtual key.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <sys/random.h>

#include <array>
#include <stdexcept>

#include "store/store.h"

namespace tollgate::store {

std::string generate_key_secret() {
  std::array<unsigned char, 32> bytes{};
  if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    throw std::runtime_error("cannot generate a key: the system random source failed");
  }
  // EVP_EncodeBlock writes standard base64 with padding; turn it into unpadded base64url.
  std::array<unsigned char, 4 * ((32 + 2) / 3) + 1> encoded{};
  int n = EVP_EncodeBlock(encoded.data(), bytes.data(), static_cast<int>(bytes.size()));
  std::string out = "tg-";
  for (int i = 0; i < n; ++i) {
    char c = static_cast<char>(encoded[static_cast<std::size_t>(i)]);
    if (c == '=') break;
    out.push_back(c == '+' ? '-' : c == '/' ? '_' : c);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  constexpr unsigned int length = SHA256_DIGEST_LENGTH;
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data.data(), data.size()) != 1 || SHA256_Final(digest, &ctx) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
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
