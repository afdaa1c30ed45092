// AWS Signature Version 4 for requests to bedrock-runtime: the canonical request, the string to
// sign, the derived key and the Authorization header, with the `x-amz-*` headers they need.
//
// Two details a reader would otherwise get wrong:
// - The canonical URI of every service but S3 is the path as sent, URI-encoded once more: a
//   model id `anthropic.claude-3-haiku-20240307-v1:0` goes on the wire as `...v1%3A0` and is
//   signed as `...v1%253A0`. The AWS SDKs do the same, and Bedrock checks it.
// - The signed `host` must be byte for byte the Host header the gateway sends
//   (endpoint.host_header, with the port when it is not the default).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tollgate::dialects::bedrock::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // temporary credentials only: sent as x-amz-security-token

  // A provider's api_key: "ACCESS_KEY_ID:SECRET_ACCESS_KEY" or
  // "ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN". nullopt for anything else.
  static std::optional<Credentials> parse(std::string_view api_key);
};

// The parts of an HTTP request that the signature covers.
struct Request {
  std::string_view method;        // "POST"
  std::string_view path;          // as sent on the wire (already percent-encoded), no query
  std::string_view query;         // as sent, without '?'; "" for none
  // Every header listed here is signed (name in any case). Must include host and x-amz-date.
  const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
  std::string_view payload_sha256_hex;
};

// Task 1: the canonical request (method, canonical URI, canonical query, canonical headers,
// signed header names, payload hash, joined by '\n').
std::string canonical_request(const Request& r);
// "a;b;c": the lower-cased names of r.headers, sorted.
std::string signed_headers(const Request& r);
// Task 2: "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of canonical request>".
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);
// Tasks 3 and 4: the value of the Authorization header.
std::string authorization(const Credentials& creds, const Request& r, std::string_view region,
                          std::string_view service, std::string_view amz_date);

// RFC 3986 encoding of every byte but the unreserved ones (A-Z a-z 0-9 - _ . ~), and '/' too
// when `keep_slash`. Upper-case hex, as SigV4 requires.
std::string uri_encode(std::string_view s, bool keep_slash);
std::string sha256_hex(std::string_view data);
// "20150830T123600Z" (UTC).
std::string amz_date(std::time_t t);

// The clock signatures are dated by. Tests pin it to get golden signatures; nullptr restores
// the system clock.
using ClockFn = std::time_t (*)();
void set_clock(ClockFn fn);
std::time_t now();

}  // namespace tollgate::dialects::bedrock::sigv4
