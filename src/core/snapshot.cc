#include "core/snapshot.h"

#include <boost/url/parse.hpp>

#include <bit>
#include <cstring>
#include <stdexcept>

namespace tollgate::core {
namespace {

// Each publish() takes a number no holder has used, so a thread's cached (holder, generation)
// can never match a different snapshot, even if a new holder reuses a freed address.
std::atomic<uint64_t> next_generation{1};

struct ThreadView {
  const SnapshotHolder* holder = nullptr;
  uint64_t generation = 0;
  std::shared_ptr<const Snapshot> snapshot;
};
thread_local ThreadView thread_view_slot;

// Providers whose API takes "Authorization: Bearer KEY"; the others carry the key in their
// own header (azure: api-key, anthropic: x-api-key, gemini: x-goog-api-key).
bool uses_bearer(ProviderKind k) {
  return k == ProviderKind::openai || k == ProviderKind::openai_compatible;
}

// Where a key hash starts looking in the slots (a power of two). The hex digits of a SHA-256
// are spread already; the multiply mixes 16 of them into the high bits, which pick the slot.
std::size_t key_slot(std::string_view hash_hex, std::size_t slot_count) {
  uint64_t a = 0, b = 0;
  if (hash_hex.size() >= 16) {
    std::memcpy(&a, hash_hex.data(), 8);
    std::memcpy(&b, hash_hex.data() + 8, 8);
  } else {
    a = std::hash<std::string_view>{}(hash_hex);
  }
  uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xFF51AFD7ED558CCDull;
  return static_cast<std::size_t>(h >> (64 - std::countr_zero(slot_count)));
}

void mix(std::size_t& h, std::size_t v) { h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2); }
void mix(std::size_t& h, std::string_view s) { mix(h, std::hash<std::string_view>{}(s)); }
void mix(std::size_t& h, const std::optional<int64_t>& v) { mix(h, v ? static_cast<std::size_t>(*v) : 0x5A5A); }
void mix(std::size_t& h, const std::optional<double>& v) { mix(h, v ? std::hash<double>{}(*v) : 0x5A5A); }
void mix(std::size_t& h, const Limits& l) {
  for (const auto* v : {&l.rpm, &l.rpd, &l.tpm, &l.tpd, &l.concurrency}) mix(h, *v);
}
void mix(std::size_t& h, const std::vector<std::string>& list) {
  mix(h, list.size());
  for (const std::string& s : list) mix(h, s);
}

// A hash of everything KeyRules::operator== compares, to find equal rules among many keys.
std::size_t rules_hash(const KeyRules& r) {
  std::size_t h = 0;
  mix(h, r.models);
  mix(h, r.limits);
  for (const auto* v : {&r.budget.usd_per_day, &r.budget.usd_per_month, &r.budget.usd_total}) mix(h, *v);
  mix(h, r.budget.warn_only ? 1 : 2);
  for (const auto& [alias, limits] : r.model_limits) {
    mix(h, alias);
    mix(h, limits);
  }
  mix(h, r.guardrails);
  if (r.mcp) {
    mix(h, r.mcp->allow);
    mix(h, r.mcp->deny);
    mix(h, r.mcp->read_only ? 3 : 4);
    mix(h, r.mcp->limits);
    mix(h, r.mcp->tool_limits);
  }
  mix(h, r.cache);
  mix(h, r.team);
  return h;
}

}  // namespace

bool parse_endpoint(std::string_view url, UpstreamEndpoint& out) {
  auto parsed = boost::urls::parse_uri(boost::core::string_view(url.data(), url.size()));
  if (!parsed) return false;
  const boost::urls::url_view& u = *parsed;

  UpstreamEndpoint e;
  if (u.scheme_id() == boost::urls::scheme::https) {
    e.tls = true;
    e.port = 443;
  } else if (u.scheme_id() == boost::urls::scheme::http) {
    e.tls = false;
    e.port = 80;
  } else {
    return false;
  }
  // Credentials in the URL, a query or a fragment would be silently dropped by dispatch.
  if (u.has_userinfo() || u.has_query() || u.has_fragment()) return false;

  bool ipv6 = false;
  switch (u.host_type()) {
    case boost::urls::host_type::name:
    case boost::urls::host_type::ipv4: e.host = std::string(u.encoded_host_address()); break;
    case boost::urls::host_type::ipv6:
      e.host = std::string(u.encoded_host_address());
      ipv6 = true;
      break;
    default: return false;
  }
  if (e.host.empty() || e.host.find('%') != std::string::npos) return false;

  bool explicit_port = u.has_port() && !u.port().empty();
  if (explicit_port) {
    // port_number() wraps an out-of-range port; read the digits ourselves.
    std::string_view digits(u.port().data(), u.port().size());
    if (digits.size() > 5) return false;
    unsigned value = 0;
    for (char d : digits) value = value * 10 + static_cast<unsigned>(d - '0');
    if (value == 0 || value > 65535) return false;
    e.port = static_cast<unsigned short>(value);
  }
  std::string bracketed = ipv6 ? "[" + e.host + "]" : e.host;
  bool default_port = e.port == (e.tls ? 443 : 80);
  e.host_header = default_port ? bracketed : bracketed + ":" + std::to_string(e.port);

  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  e.path_prefix = std::move(path);

  out = std::move(e);
  return true;
}

std::shared_ptr<const Snapshot> Snapshot::build(Resources r, uint64_t version,
                                                const PriceLookup& price,
                                                const GuardrailCompiler& guardrails) {
  std::shared_ptr<Snapshot> s(new Snapshot());
  s->version_ = version;
  s->resources_ = std::move(r);
  const Resources& res = s->resources_;

  // Sized once: the indexes and CompiledTarget::provider point into these vectors.
  s->providers_.reserve(res.providers.size());
  for (const Provider& p : res.providers) {
    CompiledProvider cp;
    cp.spec = p;
    if (cp.spec.base_url.empty()) cp.spec.base_url = std::string(default_base_url(p.kind));
    if (!cp.spec.base_url.empty() && !parse_endpoint(cp.spec.base_url, cp.endpoint)) {
      throw std::invalid_argument("provider " + p.name + ": base_url \"" + cp.spec.base_url +
                                  "\" does not parse");
    }
    if (uses_bearer(p.kind) && !p.api_key.empty()) cp.authorization = "Bearer " + p.api_key;
    s->secrets_.add_credential(p.api_key);
    for (const auto& [name, value] : p.headers) s->secrets_.add(value);
    s->providers_.push_back(std::move(cp));
  }
  for (const CompiledProvider& cp : s->providers_) {
    s->provider_index_.emplace(cp.spec.name, &cp);  // first one wins on a duplicate name
  }

  s->models_.reserve(res.models.size());
  for (const Model& m : res.models) {
    CompiledModel cm;
    cm.spec = m;
    for (const Target& t : m.targets) {
      auto it = s->provider_index_.find(t.provider);
      if (it == s->provider_index_.end()) {
        throw std::invalid_argument("model " + m.name + ": provider " + t.provider +
                                    " is not declared");
      }
      cm.targets.push_back({it->second, t.model, t.weight, t.priority,
                            target_stats_for(t.provider, t.model),
                            t.pricing.empty() ? m.pricing : t.pricing});
      if (price) cm.targets.back().pricing = price(it->second->spec.kind, t.model, cm.targets.back().pricing);
    }
    s->models_.push_back(std::move(cm));
  }
  for (const CompiledModel& cm : s->models_) s->model_index_.emplace(cm.spec.name, &cm);
  s->index_keys();
  for (const Team& t : res.teams) s->team_index_.emplace(t.name, &t);
  // Moderation policies are HTTP calls made by the guard phase; the rest compile into one
  // scanner (a policy list naming a moderation policy just finds no scanner policy by it).
  std::vector<Guardrail> scanned;
  for (const Guardrail& g : res.guardrails) {
    if (g.kind != "moderation") {
      scanned.push_back(g);
      continue;
    }
    auto it = s->provider_index_.find(g.provider);
    if (it == s->provider_index_.end())
      throw std::invalid_argument("guardrail " + g.name + ": provider " + g.provider + " is not declared");
    s->moderation_.push_back({&g, it->second});
  }
  if (guardrails && !scanned.empty()) {
    std::vector<std::string> errors;
    s->guardrails_ = guardrails(scanned, errors);
    if (!s->guardrails_) {
      std::string all;
      for (const auto& e : errors) all += (all.empty() ? "" : "; ") + e;
      throw std::invalid_argument("guardrails: " + all);
    }
  }
  return s;
}

const ModerationPolicy* Snapshot::moderation(std::string_view name) const {
  for (const ModerationPolicy& m : moderation_)
    if (m.spec->name == name) return &m;
  return nullptr;
}

const CompiledProvider* Snapshot::provider(std::string_view name) const {
  auto it = provider_index_.find(name);
  return it == provider_index_.end() ? nullptr : it->second;
}

const CompiledModel* Snapshot::model(std::string_view alias) const {
  auto it = model_index_.find(alias);
  return it == model_index_.end() ? nullptr : it->second;
}

const Team* Snapshot::team(std::string_view name) const {
  auto it = team_index_.find(name);
  return it == team_index_.end() ? nullptr : it->second;
}

void Snapshot::index_keys() {
  std::vector<Key>& keys = resources_.keys;
  keys.shrink_to_fit();  // a loader's growth doubling, up to twice the keys

  // Keys with equal rules share one object: keys minted from one template cost one copy. A
  // hash collision between unequal rules leaves the later key with its own (still right).
  std::unordered_map<std::size_t, std::shared_ptr<const KeyRules>> distinct;
  for (Key& k : keys) {
    if (!k.shared_rules()) continue;
    auto [it, fresh] = distinct.emplace(rules_hash(*k.shared_rules()), k.shared_rules());
    if (!fresh && it->second != k.shared_rules() && *it->second == *k.shared_rules()) k.share_rules(it->second);
  }

  std::size_t slots = 16;
  while (slots < 2 * keys.size()) slots *= 2;
  key_slots_.assign(slots, 0);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // First one wins on a duplicate hash (validation refuses those anyway).
    if (key_by_hash(keys[i].hash_hex)) continue;
    std::size_t at = key_slot(keys[i].hash_hex, slots);
    while (key_slots_[at] != 0) at = (at + 1) & (slots - 1);
    key_slots_[at] = static_cast<uint32_t>(i + 1);
  }
}

const Key* Snapshot::key_by_hash(std::string_view hash_hex) const {
  if (key_slots_.empty()) return nullptr;
  const std::size_t mask = key_slots_.size() - 1;
  for (std::size_t at = key_slot(hash_hex, key_slots_.size());; at = (at + 1) & mask) {
    uint32_t slot = key_slots_[at];
    if (slot == 0) return nullptr;
    const Key& k = resources_.keys[slot - 1];
    if (k.hash_hex == hash_hex) return &k;
  }
}

void SnapshotHolder::publish(std::shared_ptr<const Snapshot> s) {
  std::lock_guard lock(mutex_);
  current_ = std::move(s);
  generation_.store(next_generation.fetch_add(1, std::memory_order_relaxed),
                    std::memory_order_release);
}

const std::shared_ptr<const Snapshot>& SnapshotHolder::thread_view() const {
  ThreadView& view = thread_view_slot;
  if (view.holder != this || view.generation != generation_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    // Read under the lock, so the pair is one that publish() wrote together.
    view.holder = this;
    view.generation = generation_.load(std::memory_order_relaxed);
    view.snapshot = current_;
  }
  return view.snapshot;
}

const Snapshot& SnapshotHolder::current() {
  const std::shared_ptr<const Snapshot>& view = thread_view();
  if (!view) {
    static const std::shared_ptr<const Snapshot> empty = Snapshot::build({}, 0);
    return *empty;
  }
  return *view;
}

std::shared_ptr<const Snapshot> SnapshotHolder::shared() const { return thread_view(); }

}  // namespace tollgate::core
