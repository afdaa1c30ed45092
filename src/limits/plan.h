// What one admission checks, flattened from an AdmissionRequest: the scopes that have limits,
// each rate window with its limit and cost, the concurrency caps and the budgets (the key's
// and its team's). Both
// backends walk the same plan, so they agree on what "all scopes together" means.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "limits/rate_limiter.h"

namespace tollgate::limits::detail {

enum class ScopeKind : uint8_t { key, team, model, key_model };
enum class WindowKind : uint8_t { requests, tokens };

inline constexpr std::chrono::milliseconds kMinute{60'000};
inline constexpr std::chrono::milliseconds kDay{86'400'000};

struct PlannedScope {
  ScopeKind kind;
  std::string id;            // "k:<key>", "t:<team>", "m:<model>", "km:<key>:<model>" (':' and '%' escaped)
  int64_t concurrency = 0;   // 0: none
};

struct PlannedWindow {
  uint8_t scope;             // index into Plan::scopes
  WindowKind kind;
  bool per_day;              // else per minute
  int64_t limit;
  std::chrono::milliseconds length() const { return per_day ? kDay : kMinute; }
  // Suffix of the window inside its scope: "rm", "rd", "tm", "td".
  const char* suffix() const;
};

// Caps in nano-USD; 0 means none.
struct PlannedBudget {
  uint8_t scope;  // index into Plan::scopes: the key's or the team's
  bool team = false;
  std::string owner;  // the key id or the team name, as BudgetCrossing names it (warn_only only)
  int64_t day = 0, month = 0, total = 0;
  bool warn_only = false;
  int64_t reserve = 0;  // the estimated cost, reserved at admit
  bool any() const { return day > 0 || month > 0 || total > 0; }
};

struct Plan {
  std::array<PlannedScope, 4> scopes;
  uint8_t n_scopes = 0;
  std::array<PlannedWindow, 16> windows;
  uint8_t n_windows = 0;
  std::array<PlannedBudget, 2> budgets;  // the key's, then the team's
  uint8_t n_budgets = 0;
  int64_t estimated_tokens = 0;

  bool empty() const { return n_scopes == 0; }
  bool has_concurrency() const;
};

// Without ids, PlannedScope::id stays empty (the local backend resolves scopes by name, see
// local_limiter.cc, and builds an id only the first time; scope_id() builds one).
Plan make_plan(const AdmissionRequest& req, bool with_ids = true);
std::string scope_id(ScopeKind kind, const AdmissionRequest& req);

// Whether spend plus live reservations leave no room for `reserve` under `cap` (0: no cap).
// With no estimate it is the old rule: over once spent reaches the cap.
inline bool over_cap(int64_t cap, int64_t used, int64_t reserve) {
  return cap > 0 && (used >= cap || used + reserve > cap);
}

// The 50/80/100% thresholds of a warn-only budget's caps that spend crossed going from
// `before` to `after` (nano-USD per period: day, month, total), appended to `out`.
void budget_crossings(const PlannedBudget& b, const std::array<int64_t, 3>& before,
                      const std::array<int64_t, 3>& after, std::vector<BudgetCrossing>& out);

// Keeps the window with the least remaining (ties: the longer reset) in `best`.
inline void keep_tightest(std::optional<WindowStatus>& best, const WindowStatus& w) {
  if (!best || w.remaining < best->remaining || (w.remaining == best->remaining && w.reset > best->reset))
    best = w;
}

int64_t usd_to_nano(double usd);

// UTC calendar periods of the budgets at `wall`.
struct BudgetPeriods {
  int64_t day;    // days since the epoch
  int64_t month;  // year * 12 + month - 1
  std::string day_tag, month_tag;  // "20260314", "202603"
  std::chrono::milliseconds until_next_day, until_next_month;
};
// The calling thread's copy, valid until its next call.
const BudgetPeriods& budget_periods(std::chrono::system_clock::time_point wall);

// Budget group g's exceeded caps are bits (1 day, 2 month, 4 total) << 3g. Sets the decision's
// budget fields from them: a hard group over refuses until the longest exceeded period ends
// (a total: never, retry_after 0), a warn group over flags; team_budget names whose budget
// spoke. True when refused. Both backends answer through it, so they agree.
bool decide_budgets(const Plan& plan, int64_t over_hard, int64_t over_warn, const BudgetPeriods& p, Decision& d);
inline int64_t budget_bit(uint8_t group, int period_bit) { return int64_t{period_bit} << (3 * group); }

}  // namespace tollgate::limits::detail
