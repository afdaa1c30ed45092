// Sealed, self-contained legacy session ids (session.h).
#include "mcp/session.h"

#include <memory>
#include <mutex>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "store/secret_box.h"

namespace tollgate::mcp {
namespace json = boost::json;

namespace {

std::once_flag once;
std::unique_ptr<store::SecretBox> box;

const store::SecretBox& the_box() {
  // Without init (unit tests, a store without a path): TOLLGATE_SECRET_KEY or a key file
  // in the working directory, as the store would.
  std::call_once(once, [] {
    if (!box) box = std::make_unique<store::SecretBox>(store::SecretBox::for_store("./tollgate.db"));
  });
  return *box;
}

}  // namespace

void init_session_sealing(const std::string& store_path) {
  std::call_once(once, [&] { box = std::make_unique<store::SecretBox>(store::SecretBox::for_store(store_path)); });
}

std::string seal_session(const LegacySession& s) {
  json::object o{{"k", s.key_id}, {"v", s.version}, {"c", s.client_capabilities}, {"i", s.client_info}};
  std::string sealed = the_box().seal(json::serialize(o));
  // Visible ASCII only (base64 already is); drop the "enc:v1:" tag to keep it short.
  return "tgs1." + sealed.substr(store::SecretBox::kPrefix.size());
}

std::optional<LegacySession> open_session(std::string_view id) {
  if (!id.starts_with("tgs1.") || id.size() > 8192) return std::nullopt;
  auto plain = the_box().open(std::string(store::SecretBox::kPrefix) + std::string(id.substr(5)));
  if (!plain) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*plain, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto& o = v.as_object();
  LegacySession s;
  auto str = [&](const char* k) {
    auto* x = o.if_contains(k);
    return x && x->is_string() ? std::string(x->as_string()) : std::string();
  };
  s.key_id = str("k");
  s.version = str("v");
  if (auto* c = o.if_contains("c"); c && c->is_object()) s.client_capabilities = c->as_object();
  if (auto* i = o.if_contains("i"); i && i->is_object()) s.client_info = i->as_object();
  return s;
}

}  // namespace tollgate::mcp
