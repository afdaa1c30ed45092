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

namespace {

void read_limits(YamlReader& in, const YAML::Node& n, const std::string& at, core::Limits& out) {
  if (YamlReader::empty(n)) return;
  if (!in.fields(n, at, {"rpm", "rpd", "concurrency"})) return;
  auto take = [&](const char* f, std::optional<int64_t>& into) {
    if (n[f]) into = in.integer(n[f], YamlReader::child(at, f), 1, int64_t{1} << 40);
  };
  take("rpm", out.rpm);
  take("rpd", out.rpd);
  take("concurrency", out.concurrency);
}

}  // namespace

std::optional<core::McpServer> read_server(YamlReader& in, const YAML::Node& n, const std::string& at) {
  if (!in.fields(n, at, {"name", "url", "headers", "auth", "tools", "era", "prefix", "timeout_ms", "limits",
                         "verify_tls"}))
    return std::nullopt;
  core::McpServer s;
  if (auto v = in.string(n["name"], YamlReader::child(at, "name"))) s.name = *v;
  if (auto v = in.string(n["url"], YamlReader::child(at, "url"))) s.url = *v;
  if (auto h = n["headers"]; !YamlReader::empty(h)) {
    std::string hf = YamlReader::child(at, "headers");
    if (!h.IsMap()) {
      in.error(h, hf, "must map header names to values");
    } else {
      for (auto it = h.begin(); it != h.end(); ++it) {
        std::string name = it->first.as<std::string>();
        if (auto v = in.string(it->second, YamlReader::child(hf, name))) s.headers[name] = *v;
      }
    }
  }
  if (auto a = n["auth"]; !YamlReader::empty(a)) {
    std::string af = YamlReader::child(at, "auth");
    if (in.fields(a, af, {"bearer", "oauth2"})) {
      if (auto v = in.string(a["bearer"], YamlReader::child(af, "bearer"))) s.bearer = *v;
      if (auto o = a["oauth2"]; !YamlReader::empty(o)) {
        std::string of = YamlReader::child(af, "oauth2");
        if (in.fields(o, of, {"token_url", "client_id", "client_secret", "scopes"})) {
          if (auto v = in.string(o["token_url"], YamlReader::child(of, "token_url"))) s.oauth2.token_url = *v;
          if (auto v = in.string(o["client_id"], YamlReader::child(of, "client_id"))) s.oauth2.client_id = *v;
          if (auto v = in.string(o["client_secret"], YamlReader::child(of, "client_secret")))
            s.oauth2.client_secret = *v;
          if (auto v = in.strings(o["scopes"], YamlReader::child(of, "scopes"))) s.oauth2.scopes = *v;
          for (const char* f : {"token_url", "client_id"})
            if (!o[f]) in.error(o, YamlReader::child(of, f), "is required");
        }
      }
      if (!s.bearer.empty() && !s.oauth2.token_url.empty())
        in.error(a, af, "give bearer or oauth2, not both");
    }
  }
  if (auto t = n["tools"]; !YamlReader::empty(t)) {
    std::string tf = YamlReader::child(at, "tools");
    if (in.fields(t, tf, {"include", "exclude"})) {
      if (auto v = in.strings(t["include"], YamlReader::child(tf, "include"))) s.include = *v;
      if (auto v = in.strings(t["exclude"], YamlReader::child(tf, "exclude"))) s.exclude = *v;
    }
  }
  if (auto v = in.string(n["era"], YamlReader::child(at, "era"))) {
    if (*v != "auto" && *v != "2026-07-28" && *v != "legacy")
      in.error(n["era"], YamlReader::child(at, "era"), "must be auto, 2026-07-28 or legacy");
    else
      s.era = *v;
  }
  if (n["prefix"]) {
    if (n["prefix"].IsNull()) s.prefix = "";
    else if (auto v = in.string(n["prefix"], YamlReader::child(at, "prefix"))) s.prefix = *v;
  }
  if (n["timeout_ms"])
    if (auto v = in.integer(n["timeout_ms"], YamlReader::child(at, "timeout_ms"), 1, 3'600'000)) s.timeout_ms = *v;
  read_limits(in, n["limits"], YamlReader::child(at, "limits"), s.limits);
  if (auto v = in.boolean(n["verify_tls"], YamlReader::child(at, "verify_tls"))) s.verify_tls = *v;
  return s;
}

void read_grant(YamlReader& in, const YAML::Node& n, const std::string& at, std::optional<core::McpGrant>& out) {
  if (YamlReader::empty(n)) return;
  if (!in.fields(n, at, {"allow", "deny", "read_only", "limits", "tool_limits"})) return;
  core::McpGrant g;
  if (auto v = in.strings(n["allow"], YamlReader::child(at, "allow"))) g.allow = *v;
  if (auto v = in.strings(n["deny"], YamlReader::child(at, "deny"))) g.deny = *v;
  if (auto v = in.boolean(n["read_only"], YamlReader::child(at, "read_only"))) g.read_only = *v;
  read_limits(in, n["limits"], YamlReader::child(at, "limits"), g.limits);
  read_limits(in, n["tool_limits"], YamlReader::child(at, "tool_limits"), g.tool_limits);
  out = std::move(g);
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
  YamlReader in(std::string(source), errors);
  auto root = in.load(doc);
  if (!root || !root->IsMap()) {
    if (root) in.error(*root, "", "must be a map");
    return std::nullopt;
  }
  std::size_t before = in.error_count();
  auto s = read_server(in, *root, "");
  if (in.error_count() != before) return std::nullopt;
  return s;
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
