#include "obs/pricing.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <boost/json.hpp>

namespace tollgate::obs {

namespace json = boost::json;

namespace {

// The reviewed catalog, embedded: the .inc file is the JSON document wrapped in a raw string
// literal, so the data stays one reviewable file and no build step generates code from it.
constexpr std::string_view kBuiltinCatalog =
#include "obs/pricing/catalog.json.inc"
    ;

constexpr double kPerToken = 1e-6;  // rates are per 1M tokens

std::optional<double> pick(const std::optional<double>& a, const std::optional<double>& b) {
  return a ? a : b;
}

bool read_rate(const json::object& o, std::string_view name, std::optional<double>& out,
               std::string* error) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) return true;
  double d;
  if (v->is_double()) d = v->get_double();
  else if (v->is_int64()) d = static_cast<double>(v->get_int64());
  else if (v->is_uint64()) d = static_cast<double>(v->get_uint64());
  else {
    if (error) *error = std::string(name) + ": not a number";
    return false;
  }
  if (!(d >= 0)) {
    if (error) *error = std::string(name) + ": negative";
    return false;
  }
  out = d;
  return true;
}

bool known_member(std::string_view k, bool tier) {
  for (std::string_view n : {"input", "output", "cached_input", "cache_creation", "reasoning"})
    if (k == n) return true;
  return tier ? k == "above_input_tokens" : k == "long_context";
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// Strips one version marker from the end of a model name; false when there is none. The
// markers are the ones providers put on snapshots of one model at one price: dates
// (-2024-08-06, -20250929, @20241022), "-latest"/"@latest", numbered versions (-002, @001).
bool strip_version(std::string& m) {
  if (auto at = m.rfind('@'); at != std::string::npos) {  // Vertex style: model@version
    m.resize(at);
    return true;
  }
  if (m.ends_with("-latest")) {
    m.resize(m.size() - 7);
    return true;
  }
  // -YYYY-MM-DD
  if (m.size() > 11 && m[m.size() - 11] == '-' && m[m.size() - 6] == '-' && m[m.size() - 3] == '-' &&
      all_digits(std::string_view(m).substr(m.size() - 10, 4)) &&
      all_digits(std::string_view(m).substr(m.size() - 5, 2)) &&
      all_digits(std::string_view(m).substr(m.size() - 2, 2))) {
    m.resize(m.size() - 11);
    return true;
  }
  // -YYYYMMDD, -NNN
  if (auto dash = m.rfind('-'); dash != std::string::npos && dash > 0) {
    std::string_view tail = std::string_view(m).substr(dash + 1);
    if (all_digits(tail) && (tail.size() == 8 || tail.size() == 3)) {
      m.resize(dash);
      return true;
    }
  }
  return false;
}

std::string index_key(std::string_view kind, std::string_view model) {
  std::string k(kind);
  k += '\x1f';
  k += model;
  return k;
}

}  // namespace

Price merge(const Price& o, const Price& c) {
  Price p;
  p.input = pick(o.input, c.input);
  p.output = pick(o.output, c.output);
  p.cached_input = pick(o.cached_input, c.cached_input);
  p.cache_creation = pick(o.cache_creation, c.cache_creation);
  p.reasoning = pick(o.reasoning, c.reasoning);
  p.long_context = o.long_context ? o.long_context : c.long_context;
  return p;
}

std::optional<double> cost_usd(const Price& price, const core::Usage& u) {
  if (!u.known) return std::nullopt;
  std::optional<double> in = price.input, out = price.output, cached = price.cached_input,
                        creation = price.cache_creation, reasoning = price.reasoning;
  if (price.long_context && u.input_tokens > price.long_context->above_input_tokens) {
    const auto& t = *price.long_context;
    in = t.input;
    out = t.output;
    cached = t.cached_input;
    creation = t.cache_creation;
    reasoning = t.reasoning;
  }
  // Reasoning tokens are output tokens unless the model prices them apart.
  if (!reasoning) reasoning = out;

  const int64_t cached_tokens = std::max<int64_t>(0, u.cached_input_tokens);
  const int64_t creation_tokens = std::max<int64_t>(0, u.cache_creation_tokens);
  const int64_t plain_input = std::max<int64_t>(0, u.input_tokens - cached_tokens - creation_tokens);
  const int64_t reasoning_tokens = std::clamp<int64_t>(u.reasoning_tokens, 0, std::max<int64_t>(0, u.output_tokens));
  const int64_t plain_output = std::max<int64_t>(0, u.output_tokens - reasoning_tokens);

  double total = 0;
  auto add = [&](int64_t tokens, const std::optional<double>& rate) {
    if (tokens == 0) return true;
    if (!rate) return false;
    total += static_cast<double>(tokens) * *rate;
    return true;
  };
  if (!add(plain_input, in) || !add(cached_tokens, cached) || !add(creation_tokens, creation) ||
      !add(plain_output, out) || !add(reasoning_tokens, reasoning))
    return std::nullopt;
  return total * kPerToken;
}

std::optional<Price> price_from_json(const json::value& v, std::string* error) {
  const json::object* o = v.if_object();
  if (!o) {
    if (error) *error = "a price is an object";
    return std::nullopt;
  }
  for (const auto& kv : *o) {
    if (!known_member(kv.key(), false)) {
      if (error) *error = "unknown member \"" + std::string(kv.key()) + "\"";
      return std::nullopt;
    }
  }
  Price p;
  if (!read_rate(*o, "input", p.input, error) || !read_rate(*o, "output", p.output, error) ||
      !read_rate(*o, "cached_input", p.cached_input, error) ||
      !read_rate(*o, "cache_creation", p.cache_creation, error) ||
      !read_rate(*o, "reasoning", p.reasoning, error))
    return std::nullopt;
  if (const json::value* lc = o->if_contains("long_context"); lc && !lc->is_null()) {
    const json::object* t = lc->if_object();
    const json::value* above = t ? t->if_contains("above_input_tokens") : nullptr;
    if (!t || !above || !above->is_number() || !(above->to_number<double>() > 0)) {
      if (error) *error = "long_context needs a positive above_input_tokens";
      return std::nullopt;
    }
    for (const auto& kv : *t) {
      if (!known_member(kv.key(), true)) {
        if (error) *error = "long_context: unknown member \"" + std::string(kv.key()) + "\"";
        return std::nullopt;
      }
    }
    Price::LongContext tier;
    tier.above_input_tokens = static_cast<int64_t>(above->to_number<double>());
    if (!read_rate(*t, "input", tier.input, error) || !read_rate(*t, "output", tier.output, error) ||
        !read_rate(*t, "cached_input", tier.cached_input, error) ||
        !read_rate(*t, "cache_creation", tier.cache_creation, error) ||
        !read_rate(*t, "reasoning", tier.reasoning, error))
      return std::nullopt;
    p.long_context = tier;
  }
  return p;
}

json::value price_to_json(const Price& p) {
  json::object o;
  auto put = [](json::object& obj, std::string_view k, const std::optional<double>& v) {
    if (v) obj[k] = *v;
  };
  put(o, "input", p.input);
  put(o, "output", p.output);
  put(o, "cached_input", p.cached_input);
  put(o, "cache_creation", p.cache_creation);
  put(o, "reasoning", p.reasoning);
  if (p.long_context) {
    json::object t;
    t["above_input_tokens"] = p.long_context->above_input_tokens;
    put(t, "input", p.long_context->input);
    put(t, "output", p.long_context->output);
    put(t, "cached_input", p.long_context->cached_input);
    put(t, "cache_creation", p.long_context->cache_creation);
    put(t, "reasoning", p.long_context->reasoning);
    o["long_context"] = std::move(t);
  }
  return o;
}

PricingCatalog PricingCatalog::parse(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) throw std::invalid_argument("pricing catalog: " + ec.message());
  const json::object* root = doc.if_object();
  const json::object* providers = root ? root->if_contains("providers") ? root->at("providers").if_object() : nullptr : nullptr;
  if (!providers) throw std::invalid_argument("pricing catalog: no \"providers\" object");

  PricingCatalog cat;
  if (const json::value* r = root->if_contains("reviewed"); r && r->is_string())
    cat.reviewed_ = std::string(r->get_string());
  for (const auto& [kind, pv] : *providers) {
    const json::object* po = pv.if_object();
    const json::object* models = po && po->if_contains("models") ? po->at("models").if_object() : nullptr;
    if (!models) throw std::invalid_argument("pricing catalog: " + std::string(kind) + ": no \"models\" object");
    for (const auto& [name, entry] : *models) {
      // Limits ride beside the rates; the rates alone are a price object.
      json::value mv = entry;
      if (auto* o = mv.if_object()) {
        ModelLimits l;
        for (auto [field, out] : {std::pair{"max_output_tokens", &l.max_output_tokens},
                                  std::pair{"context_window", &l.context_window}}) {
          if (auto* v = o->if_contains(field)) {
            if (!v->is_int64() || v->get_int64() < 1)
              throw std::invalid_argument("pricing catalog: " + std::string(kind) + "/" + std::string(name) + ": " +
                                          field + " must be a positive integer");
            *out = v->get_int64();
            o->erase(field);
          }
        }
        if (l.max_output_tokens || l.context_window) cat.limits_[index_key(kind, lower(name))] = l;
      }
      std::string err;
      auto price = price_from_json(mv, &err);
      if (!price)
        throw std::invalid_argument("pricing catalog: " + std::string(kind) + "/" + std::string(name) + ": " + err);
      cat.prices_[index_key(kind, lower(name))] = *price;
    }
    if (const json::value* av = po->if_contains("aliases"); av && av->is_object()) {
      for (const auto& [alias, target] : av->get_object()) {
        auto it = target.is_string() ? cat.prices_.find(index_key(kind, lower(target.get_string())))
                                     : cat.prices_.end();
        if (it == cat.prices_.end())
          throw std::invalid_argument("pricing catalog: " + std::string(kind) + ": alias " + std::string(alias) +
                                      " names no model");
        Price copy = it->second;
        cat.prices_[index_key(kind, lower(alias))] = copy;
        if (auto l = cat.limits_.find(index_key(kind, lower(target.get_string()))); l != cat.limits_.end()) {
          ModelLimits limits = l->second;
          cat.limits_[index_key(kind, lower(alias))] = limits;
        }
      }
    }
  }
  return cat;
}

const PricingCatalog& PricingCatalog::builtin() {
  static const PricingCatalog catalog = [] {
    try {
      return parse(kBuiltinCatalog);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fatal: built-in %s\n", e.what());
      std::abort();
    }
  }();
  return catalog;
}

namespace {

// The entry for a model however it is named: case, a "models/" or "<kind>/" prefix, dated and
// numbered versions (see find()).
template <class T>
const T* find_entry(const std::unordered_map<std::string, T>& map, std::string_view provider_kind,
                    std::string_view upstream_model) {
  std::string kind = lower(provider_kind);
  std::string m = lower(upstream_model);
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.back()))) m.pop_back();
  while (!m.empty() && std::isspace(static_cast<unsigned char>(m.front()))) m.erase(0, 1);
  if (m.empty() || m.starts_with("ft:")) return nullptr;  // fine-tunes: priced per org
  // "models/gemini-2.5-pro", "openai/gpt-4o": the name is what follows the last '/'.
  if (auto slash = m.rfind('/'); slash != std::string::npos) m.erase(0, slash + 1);
  for (;;) {
    if (auto it = map.find(index_key(kind, m)); it != map.end()) return &it->second;
    if (!strip_version(m) || m.empty()) return nullptr;
  }
}

}  // namespace

std::optional<Price> PricingCatalog::find(std::string_view provider_kind,
                                          std::string_view upstream_model) const {
  if (const Price* p = find_entry(prices_, provider_kind, upstream_model)) return *p;
  return std::nullopt;
}

PricingCatalog::ModelLimits PricingCatalog::limits(std::string_view provider_kind,
                                                   std::string_view upstream_model) const {
  const ModelLimits* l = find_entry(limits_, provider_kind, upstream_model);
  return l ? *l : ModelLimits{};
}

}  // namespace tollgate::obs
