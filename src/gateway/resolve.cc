// Phase 4, resolve: the alias the caller named -> a model and a target. "provider/model"
// addresses a provider's model directly (how providers picked up from the environment are
// reached without declaring an alias).
#include <algorithm>

#include <fmt/format.h>

#include "gateway/phases.h"
#include "obs/cost.h"

namespace tollgate::gateway {
using core::ErrorKind;
using core::GatewayError;

namespace {
bool allowlist_allows(const std::vector<std::string>& models, std::string_view alias) {
  if (models.empty()) return true;
  for (const auto& m : models) {
    if (m == "*" || m == alias) return true;
    // "openai/*" allows every model of provider openai addressed directly.
    if (m.size() > 2 && m.ends_with("/*") && alias.starts_with(std::string_view(m).substr(0, m.size() - 1)))
      return true;
  }
  return false;
}
}  // namespace

// The intersection: the key's own list and its team's must both allow the alias.
bool key_allows(const core::Key& key, const core::Team* team, std::string_view alias) {
  return allowlist_allows(key.rules().models, alias) && (!team || allowlist_allows(team->models, alias));
}

namespace {

// Glob match where '*' stands for any run of characters (the only wildcard).
bool glob_match(std::string_view pattern, std::string_view name) {
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

const core::CompiledModel* match_pattern_alias(const core::Snapshot& snapshot, std::string_view name) {
  // The most specific pattern wins: the longest literal prefix, then the most literal
  // characters, then the first declared. Exact names were tried before (Snapshot::model).
  const core::CompiledModel* best = nullptr;
  std::size_t best_prefix = 0, best_literal = 0;
  for (const auto& m : snapshot.models()) {
    const std::string& pat = m.spec.name;
    const auto star = pat.find('*');
    if (star == std::string::npos || !glob_match(pat, name)) continue;
    const std::size_t literal = pat.size() - static_cast<std::size_t>(std::count(pat.begin(), pat.end(), '*'));
    if (!best || star > best_prefix || (star == best_prefix && literal > best_literal)) {
      best = &m;
      best_prefix = star;
      best_literal = literal;
    }
  }
  return best;
}

std::optional<GatewayError> resolve(RequestContext& ctx) {
  const std::string& alias = ctx.facts.model;
  auto not_found = [&] {
    return GatewayError::make(
        ErrorKind::not_found,
        fmt::format("The model `{}` does not exist or you do not have access to it.", alias),
        "model_not_found", "model");
  };

  const auto* m = ctx.snapshot->model(alias);
  // "provider/model" addressing goes before patterns, so a `*` alias cannot shadow it.
  const auto slash = alias.find('/');
  const bool direct = !m && slash != std::string::npos && slash > 0 &&
                      ctx.snapshot->provider(std::string_view(alias).substr(0, slash));
  if (!m && !direct) m = match_pattern_alias(*ctx.snapshot, alias);
  if (m) {
    if (m->targets.empty()) return not_found();
    ctx.model = m;
    // Targets are sorted by priority; the routing strategies pick among them later.
    ctx.target = m->targets.front();
  } else if (direct) {
    const auto* p = ctx.snapshot->provider(std::string_view(alias).substr(0, slash));
    if (!p || slash + 1 == alias.size()) return not_found();
    // Direct addressing: the stats lookup takes the registry's lock, once per such request.
    std::string upstream = alias.substr(slash + 1);
    auto* stats = core::target_stats_for(p->spec.name, upstream);
    auto price = obs::effective_price(p->spec.kind, upstream, {});
    ctx.target = core::CompiledTarget{p, std::move(upstream), 1, 0, stats, std::move(price)};
  } else {
    return not_found();
  }

  // A key's allowlist names aliases: the pattern alias a name landed on is what it must allow.
  if (!key_allows(*ctx.key, ctx.team, ctx.alias())) {
    // Refused before any target is involved: no provider in the records, no span.
    ctx.target.reset();
    ctx.model = nullptr;
    std::string message = key_allows(*ctx.key, nullptr, ctx.alias())
                              ? fmt::format("This API key's team `{}` is not allowed to use the model `{}`.",
                                            ctx.key->rules().team, alias)
                              : fmt::format("This API key is not allowed to use the model `{}`.", alias);
    return GatewayError::make(ErrorKind::permission, std::move(message), "model_not_allowed", "model");
  }
  return std::nullopt;
}

}  // namespace tollgate::gateway
