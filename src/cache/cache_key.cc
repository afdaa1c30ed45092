#include "cache/cache_key.h"

#include <algorithm>
#include <vector>

#include <boost/json/serialize.hpp>

#include <openssl/evp.h>

namespace tollgate::cache {
namespace json = boost::json;

namespace {

// Fields that change who asked, how the answer travels or what the provider bills, not the
// answer itself.
bool ignored(std::string_view k) {
  static constexpr std::string_view kIgnored[] = {
      "model", "user", "metadata", "stream", "stream_options", "store", "service_tier",
      "safety_identifier", "prompt_cache_key", "prompt_cache_retention"};
  return std::find(std::begin(kIgnored), std::end(kIgnored), k) != std::end(kIgnored);
}

void write(const json::value& v, std::string& out);

void write_object(const json::object& o, std::string& out, bool top) {
  std::vector<std::pair<std::string_view, const json::value*>> fields;
  fields.reserve(o.size());
  for (const auto& kv : o) {
    std::string_view k = kv.key();
    if (top && ignored(k)) continue;
    if (top && k == "max_tokens" && o.contains("max_completion_tokens")) continue;
    if (top && k == "max_tokens") k = "max_completion_tokens";
    fields.emplace_back(k, &kv.value());
  }
  std::sort(fields.begin(), fields.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out += '{';
  bool first = true;
  for (const auto& [k, v] : fields) {
    if (!first) out += ',';
    first = false;
    out += json::serialize(json::string_view(k.data(), k.size()));
    out += ':';
    // [{"type":"text","text":"x"}] says what "x" says.
    if (k == "content" && v->is_array() && v->get_array().size() == 1) {
      const auto* part = v->get_array()[0].if_object();
      if (part && part->size() == 2 && part->contains("text") && (*part).at("text").is_string() &&
          part->contains("type") && (*part).at("type") == "text") {
        out += json::serialize((*part).at("text"));
        continue;
      }
    }
    write(*v, out);
  }
  out += '}';
}

void write(const json::value& v, std::string& out) {
  if (const auto* o = v.if_object()) return write_object(*o, out, false);
  if (const auto* a = v.if_array()) {
    out += '[';
    for (std::size_t i = 0; i < a->size(); ++i) {
      if (i) out += ',';
      write((*a)[i], out);
    }
    out += ']';
    return;
  }
  out += json::serialize(v);
}

}  // namespace

std::string canonical_request(const json::object& chat) {
  std::string out;
  out.reserve(256);
  write_object(chat, out, true);
  return out;
}

std::string exact_key(std::string_view scope_tag, std::string_view alias, std::string_view canonical) {
  std::string material;
  material.reserve(scope_tag.size() + alias.size() + canonical.size() + 8);
  material.append("v1\n").append(scope_tag).append("\n").append(alias).append("\n").append(canonical);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(material.data(), material.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(length * 2, '0');
  for (unsigned i = 0; i < length; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

}  // namespace tollgate::cache
