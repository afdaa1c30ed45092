#include "store/admin_keys.h"

#include <openssl/crypto.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <ctime>

namespace tollgate::store {
namespace json = boost::json;

namespace {
constexpr const char* kKind = "admin_keys";

std::optional<AdminKey> from_document(const std::string& name, const std::string& doc) {
  boost::system::error_code ec;
  json::value v = json::parse(doc, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.as_object();
  auto text = [&](const char* f) {
    const json::value* x = o.if_contains(f);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  AdminKey k{name, text("role"), text("team"), text("key_hash"), text("prefix"), 0};
  if (const json::value* c = o.if_contains("created_at"); c && c->is_int64()) k.created_at = c->as_int64();
  if (k.hash_hex.size() != 64) return std::nullopt;
  return k;
}
}  // namespace

CreatedAdminKey create_admin_key(ResourceStore& store, const std::string& name, const std::string& role,
                                 const std::string& team) {
  if (store.get_document(kKind, name)) throw ResourceConflict("an admin key named \"" + name + "\" already exists");
  std::string secret = "tga-" + generate_key_secret().substr(3);  // tga-: told apart from virtual keys at a glance
  AdminKey k{name, role, team, sha256_hex(secret), secret.substr(0, 8), static_cast<int64_t>(std::time(nullptr))};
  json::object doc{{"name", k.name}, {"role", k.role}, {"key_hash", k.hash_hex}, {"prefix", k.prefix},
                   {"created_at", k.created_at}};
  if (!team.empty()) doc["team"] = team;
  store.put_document(kKind, name, json::serialize(doc));
  return {std::move(k), std::move(secret)};
}

std::vector<AdminKey> list_admin_keys(ResourceStore& store) {
  std::vector<AdminKey> out;
  for (const auto& [name, doc] : store.list_documents(kKind))
    if (auto k = from_document(name, doc)) out.push_back(std::move(*k));
  return out;
}

std::optional<AdminKey> find_admin_key(ResourceStore& store, std::string_view secret) {
  if (secret.empty()) return std::nullopt;
  std::string hash = sha256_hex(secret);
  std::optional<AdminKey> found;
  for (AdminKey& k : list_admin_keys(store))
    if (CRYPTO_memcmp(k.hash_hex.data(), hash.data(), hash.size()) == 0) found = std::move(k);
  return found;
}

}  // namespace tollgate::store
