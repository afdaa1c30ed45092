// Throwaway certificates for TLS tests, made at run time (no key material in the repository).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace tollgate::test_certs {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
  std::string encrypted_key_pem;  // the same key under the passphrase "secret"
};

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A self-signed P-256 certificate for 127.0.0.1 (CN and subjectAltName), valid for a day.
inline TestCert make_test_cert() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  if (!key || !x) throw std::runtime_error("cannot make a test key");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 24 * 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) throw std::runtime_error("cannot sign");

  TestCert out;
  std::unique_ptr<BIO, decltype(&BIO_free)> cert(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(cert.get(), x.get());
  out.cert_pem = bio_text(cert.get());
  std::unique_ptr<BIO, decltype(&BIO_free)> plain(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(plain.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  out.key_pem = bio_text(plain.get());
  std::unique_ptr<BIO, decltype(&BIO_free)> enc(BIO_new(BIO_s_mem()), BIO_free);
  char pass[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(enc.get(), key.get(), EVP_aes_128_cbc(), pass, 6, nullptr, nullptr);
  out.encrypted_key_pem = bio_text(enc.get());
  return out;
}

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace tollgate::test_certs
