// store/resources_file.cc: what `tollgate apply` reads (a resources file of every kind, admin
// keys included) and what a start from the snapshot cache reads (an export whose credentials are
// sealed). Invariants: neither throws; every error has a message; a file read without errors
// gives each key a 64-digit hash and each document a name; and the documents written out by
// resources_yaml() read back as the same documents.
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/resources_file.h"

using tollgate::store::FileDocuments;

static void check_messages(const std::vector<tollgate::core::ConfigError>& errors) {
  for (const auto& e : errors)
    if (e.message.empty()) abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  FileDocuments file = tollgate::store::read_resources_file(text, "fuzz.yaml");
  check_messages(file.errors);
  if (file.errors.empty()) {
    boost::json::object kinds;
    for (const auto& [kind, docs] : file.documents) {
      boost::json::array list;
      for (const auto& d : docs) {
        if (!d.contains("name")) abort();
        if (kind == "keys" && d.at("key_hash").as_string().size() != 64) abort();
        list.push_back(d);
      }
      kinds[kind] = std::move(list);
    }
    FileDocuments again = tollgate::store::read_resources_file(tollgate::store::resources_yaml(kinds), "again.yaml");
    if (!again.errors.empty()) abort();
    for (const auto& [kind, docs] : file.documents) {
      const auto& back = again.documents[kind];
      if (back.size() != docs.size()) abort();
      for (std::size_t i = 0; i < docs.size(); ++i)
        if (boost::json::serialize(back[i]) != boost::json::serialize(docs[i])) abort();
    }
  }
  // Sealed values: every other one opens (to text holding "${", which must stay literal).
  int n = 0;
  auto r = tollgate::store::read_export(text, "cache.yaml", [&](std::string_view) -> std::optional<std::string> {
    if (++n % 2) return std::nullopt;
    return std::string("opened-${NOT_A_REFERENCE}");
  });
  check_messages(r.errors);
  return 0;
}
