#include "core/snapshot.h"

#include <boost/url/parse.hpp>

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
  for (const Key& k : res.keys) s->key_index_.emplace(k.hash_hex, &k);
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

const Key* Snapshot::key_by_hash(std::string_view hash_hex) const {
  auto it = key_index_.find(hash_hex);
  return it == key_index_.end() ? nullptr : it->second;
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
