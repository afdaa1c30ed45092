// A warn budget crossing 50/80/100% (reported once by the limiter, limits::BudgetCrossing)
// becomes a log line and a webhook alert: the team's webhook for the team and its keys, else
// budget_alerts.webhook of tollgate.yaml. Runs on whichever thread settled the request or on the
// Redis limiter's background thread: it only looks the names up and queues the POST.
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

#include "gateway/state.h"
#include "obs/budget_alerts.h"

namespace tollgate::gateway {
namespace json = boost::json;

limits::BudgetObserver budget_observer(GatewayState& state) {
  return [&state](const limits::BudgetCrossing& c) {
    auto snapshot = state.snapshots.shared();
    const core::Key* key = nullptr;
    std::string team = c.team ? c.id : std::string();
    if (snapshot && !c.team)
      for (const auto& k : snapshot->resources().keys)
        if (k.id == c.id) key = &k;
    if (key) team = key->rules().team;
    const core::Team* t = snapshot && !team.empty() ? snapshot->team(team) : nullptr;

    spdlog::warn("budget: {} {} spent {:.4f} USD of its {} budget of {:.4f} USD ({}%)", c.team ? "team" : "key",
                 c.team ? c.id : (key ? key->name : c.id), c.spent_usd, c.period, c.cap_usd, c.percent);
    std::string url = t && !t->webhook_url.empty() ? t->webhook_url : state.config.budget_webhook_url;
    if (url.empty() || !state.budget_alerts) return;
    json::object body{
        {"type", "budget.threshold"},
        {"scope", c.team ? "team" : "key"},
        {"team", team.empty() ? json::value(nullptr) : json::value(team)},
        {"key", c.team ? json::value(nullptr)
                       : json::value(json::object{{"id", c.id}, {"name", key ? key->name : std::string()}})},
        {"period", c.period},
        {"percent", c.percent},
        {"spent_usd", c.spent_usd},
        {"budget_usd", c.cap_usd},
        {"mode", "warn"},
        {"at", std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count()},
    };
    state.budget_alerts->submit(url, state.config.budget_webhook_secret, json::serialize(body));
  };
}

}  // namespace tollgate::gateway
