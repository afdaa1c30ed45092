#include "store/secret_box.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace tollgate::store {
namespace {

constexpr int kNonce = 12;
constexpr int kTag = 16;

std::string b64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::optional<std::vector<unsigned char>> unb64(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(3 * s.size() / 4);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (len < 0) return std::nullopt;
  std::size_t pad = (!s.empty() && s.back() == '=') + (s.size() > 1 && s[s.size() - 2] == '=');
  out.resize(static_cast<std::size_t>(len) - pad);
  return out;
}

bool parse_hex32(std::string_view hex, std::array<unsigned char, 32>& out) {
  if (hex.size() != 64) return false;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

}  // namespace

SecretBox SecretBox::for_store(const std::string& db_path) {
  std::array<unsigned char, 32> key{};
  if (const char* env = std::getenv("TOLLGATE_SECRET_KEY"); env && *env) {
    if (!parse_hex32(env, key)) SHA256(reinterpret_cast<const unsigned char*>(env), std::strlen(env), key.data());
    return SecretBox(key);
  }
  std::filesystem::path file = std::filesystem::path(db_path).parent_path() / "secret.key";
  if (std::ifstream in(file, std::ios::binary); in) {
    in.read(reinterpret_cast<char*>(key.data()), key.size());
    if (in.gcount() != static_cast<std::streamsize>(key.size()))
      throw std::runtime_error("the key file " + file.string() + " is not 32 bytes");
    return SecretBox(key);
  }
  // The kernel's generator rather than RAND_bytes: OpenSSL's first RAND call initialises its
  // whole provider machinery, ~2 MB of libcrypto paged in for 32 bytes (issue 18: idle RSS).
  if (getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size()))
    throw std::runtime_error("no randomness for a key");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot create the key file " + file.string());
    out.write(reinterpret_cast<const char*>(key.data()), key.size());
  }
  ::chmod(file.c_str(), 0600);
  return SecretBox(key);
}

std::string SecretBox::seal(std::string_view plaintext) const {
  std::vector<unsigned char> buf(kNonce + plaintext.size() + kTag);
  RAND_bytes(buf.data(), kNonce);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), buf.data());
  EVP_EncryptUpdate(ctx, buf.data() + kNonce, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  int fin = 0;
  EVP_EncryptFinal_ex(ctx, buf.data() + kNonce + len, &fin);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTag, buf.data() + kNonce + plaintext.size());
  EVP_CIPHER_CTX_free(ctx);
  return std::string(kPrefix) + b64(buf.data(), buf.size());
}

std::optional<std::string> SecretBox::open(std::string_view sealed) const {
  if (!is_sealed(sealed)) return std::nullopt;
  auto raw = unb64(sealed.substr(kPrefix.size()));
  if (!raw || raw->size() < kNonce + kTag) return std::nullopt;
  const std::size_t n = raw->size() - kNonce - kTag;
  std::string out(n, '\0');
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), raw->data());
  EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, raw->data() + kNonce, static_cast<int>(n));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTag, raw->data() + kNonce + n);
  int fin = 0;
  int ok = EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &fin);
  EVP_CIPHER_CTX_free(ctx);
  if (ok != 1) return std::nullopt;
  return out;
}

}  // namespace tollgate::store
