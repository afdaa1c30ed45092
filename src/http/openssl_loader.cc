// libssl and libcrypto, loaded when TLS or a feature that needs OpenSSL is first used rather
// than at start. Linked in, the two cost ~1.8 MB of resident memory in every gateway (their
// relocations and symbol tables, read and written by the loader at start), most of which
// never speaks TLS: plain listeners, plain upstreams on loopback or a private network (issue
// 18: idle RSS). The rest of the code calls OpenSSL as declared in its headers (Asio's SSL
// streams included); the functions it uses are defined here and forward to the libraries
// opened with dlopen on first call, as obs/libpq_loader.cc does for libpq. The binary is
// linked with --as-needed, so libssl.so and libcrypto.so are no longer loaded at start.
//
// A function called without a forwarder here links the libraries in again, silently (the
// ctest tollgate_starts_without_openssl says so): add it to the lists and below. Keys are
// hashed without OpenSSL (store/keys.cc): every gateway with a virtual key hashes one at
// resource load and again for each new caller.
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

namespace {

#define TOLLGATE_LIBSSL_FUNCTIONS(X) \
  X(SSL_CTX_check_private_key) X(SSL_CTX_ctrl) X(SSL_CTX_free) \
  X(SSL_CTX_get_default_passwd_cb_userdata) X(SSL_CTX_get_ex_data) \
  X(SSL_CTX_get_verify_callback) X(SSL_CTX_new) X(SSL_CTX_set_alpn_select_cb) \
  X(SSL_CTX_set_default_passwd_cb) X(SSL_CTX_set_default_passwd_cb_userdata) \
  X(SSL_CTX_set_default_verify_paths) X(SSL_CTX_set_ex_data) X(SSL_CTX_set_options) \
  X(SSL_CTX_set_verify) X(SSL_CTX_use_PrivateKey_file) X(SSL_CTX_use_certificate_chain_file) \
  X(SSL_accept) X(SSL_connect) X(SSL_ctrl) X(SSL_free) X(SSL_get_error) X(SSL_get_ex_data) \
  X(SSL_get_ex_data_X509_STORE_CTX_idx) X(SSL_get_shutdown) X(SSL_get_verify_mode) X(SSL_new) \
  X(SSL_read) X(SSL_select_next_proto) X(SSL_set_bio) X(SSL_set_ex_data) X(SSL_set_verify) \
  X(SSL_shutdown) X(SSL_write) X(TLS_client_method) X(TLS_method) X(TLS_server_method)

#define TOLLGATE_LIBCRYPTO_FUNCTIONS(X) \
  X(BIO_ctrl) X(BIO_ctrl_pending) X(BIO_free) X(BIO_new_bio_pair) X(BIO_read) X(BIO_write) \
  X(CRYPTO_free) X(CRYPTO_memcmp) X(ERR_clear_error) X(ERR_get_error) X(ERR_lib_error_string) \
  X(ERR_peek_error) X(ERR_reason_error_string) X(EVP_CIPHER_CTX_ctrl) X(EVP_CIPHER_CTX_free) \
  X(EVP_CIPHER_CTX_new) X(EVP_DecodeBlock) X(EVP_DecryptFinal_ex) X(EVP_DecryptInit_ex) \
  X(EVP_DecryptUpdate) X(EVP_Digest) X(EVP_EncodeBlock) X(EVP_EncryptFinal_ex) \
  X(EVP_EncryptInit_ex) X(EVP_EncryptUpdate) X(EVP_aes_256_gcm) X(EVP_sha1) X(EVP_sha256) \
  X(HMAC) X(RAND_bytes) X(SHA256) X(X509_STORE_CTX_get_current_cert) \
  X(X509_STORE_CTX_get_error_depth) X(X509_STORE_CTX_get_ex_data) X(X509_check_host) \
  X(X509_check_ip_asc)

struct OpenSsl {
#define TOLLGATE_OPENSSL_POINTER(name) decltype(&::name) name = nullptr;
  TOLLGATE_LIBSSL_FUNCTIONS(TOLLGATE_OPENSSL_POINTER)
  TOLLGATE_LIBCRYPTO_FUNCTIONS(TOLLGATE_OPENSSL_POINTER)
#undef TOLLGATE_OPENSSL_POINTER
};

// The libraries are a dependency of the package, so not finding them (or a function in them)
// is a broken installation: said, and the process ends, rather than TLS failing in some
// harder-to-read way later. Many callers (destructors, OpenSSL's own callbacks) cannot take an
// exception.
[[noreturn]] void missing(const char* what) {
  const char* e = dlerror();
  std::fprintf(stderr, "tollgate: cannot load %s: %s\n", what, e ? e : "not found");
  std::abort();
}

OpenSsl load() {
  OpenSsl lib;
  // libssl first: it brings libcrypto in as its dependency, the same copy a later libpq uses.
  void* ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
  if (!ssl) missing("libssl.so.3");
  void* crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
  if (!crypto) missing("libcrypto.so.3");
#define TOLLGATE_OPENSSL_RESOLVE(from, name)                             \
  lib.name = reinterpret_cast<decltype(&::name)>(dlsym(from, #name)); \
  if (!lib.name) missing(#name);
#define TOLLGATE_LIBSSL_RESOLVE(name) TOLLGATE_OPENSSL_RESOLVE(ssl, name)
#define TOLLGATE_LIBCRYPTO_RESOLVE(name) TOLLGATE_OPENSSL_RESOLVE(crypto, name)
  TOLLGATE_LIBSSL_FUNCTIONS(TOLLGATE_LIBSSL_RESOLVE)
  TOLLGATE_LIBCRYPTO_FUNCTIONS(TOLLGATE_LIBCRYPTO_RESOLVE)
#undef TOLLGATE_LIBCRYPTO_RESOLVE
#undef TOLLGATE_LIBSSL_RESOLVE
#undef TOLLGATE_OPENSSL_RESOLVE
  return lib;
}

// Loaded by whichever thread calls first (a static's initialisation is thread-safe); after
// that, one load of a guard byte per call.
const OpenSsl& lib() {
  static const OpenSsl loaded = load();
  return loaded;
}

}  // namespace

extern "C" {
int SSL_CTX_check_private_key(const SSL_CTX* a0) { return lib().SSL_CTX_check_private_key(a0); }
long SSL_CTX_ctrl(SSL_CTX* a0, int a1, long a2, void* a3) { return lib().SSL_CTX_ctrl(a0, a1, a2, a3); }
void SSL_CTX_free(SSL_CTX* a0) { lib().SSL_CTX_free(a0); }
void* SSL_CTX_get_default_passwd_cb_userdata(SSL_CTX* a0) {
  return lib().SSL_CTX_get_default_passwd_cb_userdata(a0);
}
void* SSL_CTX_get_ex_data(const SSL_CTX* a0, int a1) { return lib().SSL_CTX_get_ex_data(a0, a1); }
SSL_verify_cb SSL_CTX_get_verify_callback(const SSL_CTX* a0) { return lib().SSL_CTX_get_verify_callback(a0); }
SSL_CTX* SSL_CTX_new(const SSL_METHOD* a0) { return lib().SSL_CTX_new(a0); }
void SSL_CTX_set_alpn_select_cb(SSL_CTX* a0, SSL_CTX_alpn_select_cb_func a1, void* a2) {
  lib().SSL_CTX_set_alpn_select_cb(a0, a1, a2);
}
void SSL_CTX_set_default_passwd_cb(SSL_CTX* a0, pem_password_cb* a1) {
  lib().SSL_CTX_set_default_passwd_cb(a0, a1);
}
void SSL_CTX_set_default_passwd_cb_userdata(SSL_CTX* a0, void* a1) {
  lib().SSL_CTX_set_default_passwd_cb_userdata(a0, a1);
}
int SSL_CTX_set_default_verify_paths(SSL_CTX* a0) { return lib().SSL_CTX_set_default_verify_paths(a0); }
int SSL_CTX_set_ex_data(SSL_CTX* a0, int a1, void* a2) { return lib().SSL_CTX_set_ex_data(a0, a1, a2); }
uint64_t SSL_CTX_set_options(SSL_CTX* a0, uint64_t a1) { return lib().SSL_CTX_set_options(a0, a1); }
void SSL_CTX_set_verify(SSL_CTX* a0, int a1, SSL_verify_cb a2) { lib().SSL_CTX_set_verify(a0, a1, a2); }
int SSL_CTX_use_PrivateKey_file(SSL_CTX* a0, const char* a1, int a2) {
  return lib().SSL_CTX_use_PrivateKey_file(a0, a1, a2);
}
int SSL_CTX_use_certificate_chain_file(SSL_CTX* a0, const char* a1) {
  return lib().SSL_CTX_use_certificate_chain_file(a0, a1);
}
int SSL_accept(SSL* a0) { return lib().SSL_accept(a0); }
int SSL_connect(SSL* a0) { return lib().SSL_connect(a0); }
long SSL_ctrl(SSL* a0, int a1, long a2, void* a3) { return lib().SSL_ctrl(a0, a1, a2, a3); }
void SSL_free(SSL* a0) { lib().SSL_free(a0); }
int SSL_get_error(const SSL* a0, int a1) { return lib().SSL_get_error(a0, a1); }
void* SSL_get_ex_data(const SSL* a0, int a1) { return lib().SSL_get_ex_data(a0, a1); }
int SSL_get_ex_data_X509_STORE_CTX_idx() { return lib().SSL_get_ex_data_X509_STORE_CTX_idx(); }
int SSL_get_shutdown(const SSL* a0) { return lib().SSL_get_shutdown(a0); }
int SSL_get_verify_mode(const SSL* a0) { return lib().SSL_get_verify_mode(a0); }
SSL* SSL_new(SSL_CTX* a0) { return lib().SSL_new(a0); }
int SSL_read(SSL* a0, void* a1, int a2) { return lib().SSL_read(a0, a1, a2); }
int SSL_select_next_proto(unsigned char** a0, unsigned char* a1, const unsigned char* a2,
    unsigned int a3, const unsigned char* a4, unsigned int a5) {
  return lib().SSL_select_next_proto(a0, a1, a2, a3, a4, a5);
}
void SSL_set_bio(SSL* a0, BIO* a1, BIO* a2) { lib().SSL_set_bio(a0, a1, a2); }
int SSL_set_ex_data(SSL* a0, int a1, void* a2) { return lib().SSL_set_ex_data(a0, a1, a2); }
void SSL_set_verify(SSL* a0, int a1, SSL_verify_cb a2) { lib().SSL_set_verify(a0, a1, a2); }
int SSL_shutdown(SSL* a0) { return lib().SSL_shutdown(a0); }
int SSL_write(SSL* a0, const void* a1, int a2) { return lib().SSL_write(a0, a1, a2); }
const SSL_METHOD* TLS_client_method() { return lib().TLS_client_method(); }
const SSL_METHOD* TLS_method() { return lib().TLS_method(); }
const SSL_METHOD* TLS_server_method() { return lib().TLS_server_method(); }
long BIO_ctrl(BIO* a0, int a1, long a2, void* a3) { return lib().BIO_ctrl(a0, a1, a2, a3); }
size_t BIO_ctrl_pending(BIO* a0) { return lib().BIO_ctrl_pending(a0); }
int BIO_free(BIO* a0) { return lib().BIO_free(a0); }
int BIO_new_bio_pair(BIO** a0, size_t a1, BIO** a2, size_t a3) {
  return lib().BIO_new_bio_pair(a0, a1, a2, a3);
}
int BIO_read(BIO* a0, void* a1, int a2) { return lib().BIO_read(a0, a1, a2); }
int BIO_write(BIO* a0, const void* a1, int a2) { return lib().BIO_write(a0, a1, a2); }
void CRYPTO_free(void* a0, const char* a1, int a2) { lib().CRYPTO_free(a0, a1, a2); }
int CRYPTO_memcmp(const void* a0, const void* a1, size_t a2) { return lib().CRYPTO_memcmp(a0, a1, a2); }
void ERR_clear_error() { lib().ERR_clear_error(); }
unsigned long ERR_get_error() { return lib().ERR_get_error(); }
const char* ERR_lib_error_string(unsigned long a0) { return lib().ERR_lib_error_string(a0); }
unsigned long ERR_peek_error() { return lib().ERR_peek_error(); }
const char* ERR_reason_error_string(unsigned long a0) { return lib().ERR_reason_error_string(a0); }
int EVP_CIPHER_CTX_ctrl(EVP_CIPHER_CTX* a0, int a1, int a2, void* a3) {
  return lib().EVP_CIPHER_CTX_ctrl(a0, a1, a2, a3);
}
void EVP_CIPHER_CTX_free(EVP_CIPHER_CTX* a0) { lib().EVP_CIPHER_CTX_free(a0); }
EVP_CIPHER_CTX* EVP_CIPHER_CTX_new() { return lib().EVP_CIPHER_CTX_new(); }
int EVP_DecodeBlock(unsigned char* a0, const unsigned char* a1, int a2) {
  return lib().EVP_DecodeBlock(a0, a1, a2);
}
int EVP_DecryptFinal_ex(EVP_CIPHER_CTX* a0, unsigned char* a1, int* a2) {
  return lib().EVP_DecryptFinal_ex(a0, a1, a2);
}
int EVP_DecryptInit_ex(EVP_CIPHER_CTX* a0, const EVP_CIPHER* a1, ENGINE* a2,
    const unsigned char* a3, const unsigned char* a4) {
  return lib().EVP_DecryptInit_ex(a0, a1, a2, a3, a4);
}
int EVP_DecryptUpdate(EVP_CIPHER_CTX* a0, unsigned char* a1, int* a2, const unsigned char* a3, int a4) {
  return lib().EVP_DecryptUpdate(a0, a1, a2, a3, a4);
}
int EVP_Digest(const void* a0, size_t a1, unsigned char* a2, unsigned int* a3, const EVP_MD* a4, ENGINE* a5) {
  return lib().EVP_Digest(a0, a1, a2, a3, a4, a5);
}
int EVP_EncodeBlock(unsigned char* a0, const unsigned char* a1, int a2) {
  return lib().EVP_EncodeBlock(a0, a1, a2);
}
int EVP_EncryptFinal_ex(EVP_CIPHER_CTX* a0, unsigned char* a1, int* a2) {
  return lib().EVP_EncryptFinal_ex(a0, a1, a2);
}
int EVP_EncryptInit_ex(EVP_CIPHER_CTX* a0, const EVP_CIPHER* a1, ENGINE* a2,
    const unsigned char* a3, const unsigned char* a4) {
  return lib().EVP_EncryptInit_ex(a0, a1, a2, a3, a4);
}
int EVP_EncryptUpdate(EVP_CIPHER_CTX* a0, unsigned char* a1, int* a2, const unsigned char* a3, int a4) {
  return lib().EVP_EncryptUpdate(a0, a1, a2, a3, a4);
}
const EVP_CIPHER* EVP_aes_256_gcm() { return lib().EVP_aes_256_gcm(); }
const EVP_MD* EVP_sha1() { return lib().EVP_sha1(); }
const EVP_MD* EVP_sha256() { return lib().EVP_sha256(); }
unsigned char* HMAC(const EVP_MD* a0, const void* a1, int a2, const unsigned char* a3, size_t a4,
    unsigned char* a5, unsigned int* a6) {
  return lib().HMAC(a0, a1, a2, a3, a4, a5, a6);
}
int RAND_bytes(unsigned char* a0, int a1) { return lib().RAND_bytes(a0, a1); }
unsigned char* SHA256(const unsigned char* a0, size_t a1, unsigned char* a2) {
  return lib().SHA256(a0, a1, a2);
}
X509* X509_STORE_CTX_get_current_cert(const X509_STORE_CTX* a0) {
  return lib().X509_STORE_CTX_get_current_cert(a0);
}
int X509_STORE_CTX_get_error_depth(const X509_STORE_CTX* a0) {
  return lib().X509_STORE_CTX_get_error_depth(a0);
}
void* X509_STORE_CTX_get_ex_data(const X509_STORE_CTX* a0, int a1) {
  return lib().X509_STORE_CTX_get_ex_data(a0, a1);
}
int X509_check_host(X509* a0, const char* a1, size_t a2, unsigned int a3, char** a4) {
  return lib().X509_check_host(a0, a1, a2, a3, a4);
}
int X509_check_ip_asc(X509* a0, const char* a1, unsigned int a2) {
  return lib().X509_check_ip_asc(a0, a1, a2);
}
}
