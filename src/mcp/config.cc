// Reads and checks `mcp_servers` and keys' `mcp` grants (see config.h for the shape).
#include "mcp/config.h"

#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

#include "core/snapshot.h"
#include "core/yaml_reader.h"
#include "mcp/names.h"

namespace tollgate::mcp {
using core::YamlReader;

using core::doc_fields::object_at;
using core::doc_fields::take;

// Read by its schema (core/kinds/mcp_server.cc, whose check_more holds the rules between fields).
std::optional<core::McpServer> read_server(YamlReader& in, const YAML::Node& n, const std::string& at) {
  auto doc = in.by_schema(n, at, *core::schema::find_kind("mcp_servers"), true);
  if (!doc) return std::nullopt;
  core::McpServer s;
  take(*doc, "name", s.name);
  take(*doc, "url", s.url);
  take(*doc, "headers", s.headers);
  if (auto* a = object_at(*doc, "auth")) {
    take(*a, "bearer", s.bearer);
    if (auto* o = object_at(*a, "oauth2")) {
      take(*o, "token_url", s.oauth2.token_url);
      take(*o, "client_id", s.oauth2.client_id);
      take(*o, "client_secret", s.oauth2.client_secret);
      take(*o, "scopes", s.oauth2.scopes);
    }
  }
  if (auto* t = object_at(*doc, "tools")) {
    take(*t, "include", s.include);
    take(*t, "exclude", s.exclude);
  }
  take(*doc, "era", s.era);
  if (auto* p = doc->if_contains("prefix")) s.prefix = p->is_string() ? std::string(p->as_string()) : "";
  take(*doc, "timeout_ms", s.timeout_ms);
  if (auto* l = object_at(*doc, "limits")) {
    take(*l, "rpm", s.limits.rpm);
    take(*l, "rpd", s.limits.rpd);
    take(*l, "concurrency", s.limits.concurrency);
  }
  take(*doc, "verify_tls", s.verify_tls);
  return s;
}

void validate(const core::Resources& r, const Report& add) {
  std::set<std::string> names;
  std::map<std::string, std::string> prefixes;  // prefix -> server
  for (std::size_t i = 0; i < r.mcp_servers.size(); ++i) {
    const auto& s = r.mcp_servers[i];
    if (s.name.empty()) add("mcp_servers", i, "name", "is required");
    else if (!is_llm_name(s.name)) add("mcp_servers", i, "name", "must be 1-64 characters of A-Z a-z 0-9 _ -");
    else if (!names.insert(s.name).second)
      add("mcp_servers", i, "name", "MCP server \"" + s.name + "\" is declared twice");
    core::UpstreamEndpoint ep;
    if (s.url.empty()) add("mcp_servers", i, "url", "is required");
    else if (!core::parse_endpoint(s.url, ep)) add("mcp_servers", i, "url", "must be an http:// or https:// URL without credentials, query or fragment");
    const std::string& p = s.name_prefix();
    if (!p.empty() && (p.size() > 40 || !is_llm_name(p)))
      add("mcp_servers", i, "prefix", "must be at most 40 characters of A-Z a-z 0-9 _ -");
    if (p.find("__") != std::string::npos)
      add("mcp_servers", i, "prefix", "must not contain \"__\" (it separates the prefix from the tool name)");
    auto [it, fresh] = prefixes.emplace(p, s.name);
    if (!fresh)
      add("mcp_servers", i, "prefix",
          "name collision: servers \"" + it->second + "\" and \"" + s.name + "\" both mint names with prefix \"" +
              p + "\" (set a distinct prefix)");
    if (!s.oauth2.token_url.empty()) {
      core::UpstreamEndpoint tep;
      if (!core::parse_endpoint(s.oauth2.token_url, tep))
        add("mcp_servers", i, "auth.oauth2.token_url", "must be an http:// or https:// URL");
    }
  }
}

namespace {

boost::json::array strings(const std::vector<std::string>& v) {
  boost::json::array a;
  for (const auto& s : v) a.push_back(boost::json::value(s));
  return a;
}

boost::json::object limits_object(const core::Limits& l) {
  boost::json::object o;
  if (l.rpm) o["rpm"] = *l.rpm;
  if (l.rpd) o["rpd"] = *l.rpd;
  if (l.concurrency) o["concurrency"] = *l.concurrency;
  return o;
}

}  // namespace

std::string server_document(const core::McpServer& s) {
  boost::json::object doc{{"name", s.name}, {"url", s.url}};
  if (!s.headers.empty()) {
    boost::json::object h;
    for (const auto& [k, v] : s.headers) h[k] = v;
    doc["headers"] = std::move(h);
  }
  if (!s.bearer.empty()) doc["auth"] = boost::json::object{{"bearer", s.bearer}};
  if (!s.oauth2.token_url.empty())
    doc["auth"] = boost::json::object{{"oauth2", {{"token_url", s.oauth2.token_url}, {"client_id", s.oauth2.client_id},
                                                  {"client_secret", s.oauth2.client_secret},
                                                  {"scopes", strings(s.oauth2.scopes)}}}};
  doc["tools"] = boost::json::object{{"include", strings(s.include)}, {"exclude", strings(s.exclude)}};
  doc["era"] = s.era;
  if (s.prefix) doc["prefix"] = *s.prefix;
  doc["timeout_ms"] = s.timeout_ms;
  if (!s.limits.empty()) doc["limits"] = limits_object(s.limits);
  if (!s.verify_tls) doc["verify_tls"] = false;
  return boost::json::serialize(doc);
}

boost::json::object grant_object(const core::McpGrant& g) {
  boost::json::object o{{"allow", strings(g.allow)}, {"deny", strings(g.deny)}};
  if (g.read_only) o["read_only"] = true;
  if (!g.limits.empty()) o["limits"] = limits_object(g.limits);
  if (!g.tool_limits.empty()) o["tool_limits"] = limits_object(g.tool_limits);
  return o;
}

std::optional<core::McpServer> parse_server(std::string_view doc, std::string_view source,
                                            std::vector<core::ConfigError>& errors) {
  return core::read_document(doc, source, errors, read_server);
}

boost::json::object server_answer(const core::McpServer& s) {
  boost::json::object doc = boost::json::parse(server_document(s)).as_object();
  boost::json::array set;
  doc.erase("headers");
  for (const auto& [name, value] : s.headers) set.push_back(boost::json::value("headers." + name));
  if (auto* a = doc.if_contains("auth"); a && a->is_object()) {
    auto& auth = a->as_object();
    if (auth.erase("bearer")) set.push_back(boost::json::value("auth.bearer"));
    if (auto* o = auth.if_contains("oauth2"); o && o->is_object())
      if (o->as_object().erase("client_secret") && !s.oauth2.client_secret.empty())
        set.push_back(boost::json::value("auth.oauth2.client_secret"));
  }
  doc["secrets_set"] = std::move(set);
  return doc;
}

void keep_stored_secrets(boost::json::object& doc, const std::optional<std::string>& stored_doc) {
  boost::json::object stored;
  if (stored_doc) {
    boost::system::error_code ec;
    auto v = boost::json::parse(*stored_doc, ec);
    if (!ec && v.is_object()) stored = std::move(v.as_object());
  }
  auto object_at = [](boost::json::object& o, std::string_view f) -> boost::json::object* {
    auto* v = o.if_contains(f);
    return v && v->is_object() ? &v->as_object() : nullptr;
  };
  // headers: the stored ones the write does not name stay; null removes one, or all.
  if (auto* h = doc.if_contains("headers"); h && h->is_null()) {
    doc.erase("headers");
  } else if (!h || h->is_object()) {
    boost::json::object merged;
    if (auto* sh = object_at(stored, "headers")) merged = *sh;
    if (h)
      for (const auto& [name, value] : h->as_object()) {
        for (auto it = merged.begin(); it != merged.end();) {  // header names are case-insensitive
          bool same = it->key().size() == name.size() &&
                      std::equal(name.begin(), name.end(), it->key().begin(),
                                 [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                             std::tolower(static_cast<unsigned char>(b)); });
          it = same ? merged.erase(it) : it + 1;
        }
        if (!value.is_null()) merged[name] = value;
      }
    if (merged.empty()) doc.erase("headers");
    else doc["headers"] = std::move(merged);
  }
  // auth: absent keeps the stored one; null removes it; given, it keeps the stored secret of
  // the same scheme when it leaves that out.
  auto* stored_auth = object_at(stored, "auth");
  auto* a = doc.if_contains("auth");
  if (a && a->is_null()) {
    doc.erase("auth");
  } else if (!a) {
    if (stored_auth) doc["auth"] = *stored_auth;
  } else if (a->is_object() && stored_auth) {
    auto& auth = a->as_object();
    if (!auth.contains("bearer") && !auth.contains("oauth2") && stored_auth->contains("bearer"))
      auth["bearer"] = stored_auth->at("bearer");
    if (auto* bearer = auth.if_contains("bearer"); bearer && bearer->is_null()) auth.erase("bearer");
    auto* o = object_at(auth, "oauth2");
    auto* so = object_at(*stored_auth, "oauth2");
    if (o) {
      if (auto* cs = o->if_contains("client_secret"); cs && cs->is_null()) o->erase("client_secret");
      else if (!cs && so && so->contains("client_secret")) (*o)["client_secret"] = so->at("client_secret");
    }
  }
}

namespace {
// "${" becomes "$${" in every string, so reading keeps references as written.
void escape_references(boost::json::value& v) {
  if (v.is_string()) {
    std::string_view in = v.get_string();
    if (in.find("${") == std::string_view::npos) return;
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in.compare(i, 2, "${") == 0) out += '$';
      out += in[i];
    }
    v = out;
  } else if (v.is_object()) {
    for (auto& [k, item] : v.as_object()) escape_references(item);
  } else if (v.is_array()) {
    for (auto& item : v.as_array()) escape_references(item);
  }
}
}  // namespace

std::optional<core::McpServer> parse_server_unresolved(const boost::json::object& doc, std::string_view source,
                                                       std::vector<core::ConfigError>& errors) {
  boost::json::value v = doc;
  escape_references(v);
  return parse_server(boost::json::serialize(v), source, errors);
}

}  // namespace tollgate::mcp
