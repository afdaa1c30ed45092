#include "limits/rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "limits/plan.h"

namespace tollgate::limits {

namespace {
bool set(const std::optional<int64_t>& v) { return v && *v > 0; }
bool set(const std::optional<double>& v) { return v && *v > 0; }
}  // namespace

bool LimitSpec::empty() const {
  return !set(rpm) && !set(rpd) && !set(tpm) && !set(tpd) && !set(concurrency);
}

bool BudgetSpec::empty() const {
  return !set(usd_per_day) && !set(usd_per_month) && !set(usd_total);
}

RateLimiter::~RateLimiter() = default;

std::string format_reset(std::chrono::milliseconds d) {
  // Written into one buffer: two of these go into every answer with a rate limit (issue 18).
  int64_t ms = d.count();
  if (ms <= 0) return "0s";
  char buf[80];  // three int64 and six more bytes at most
  char* p = buf;
  auto put = [&](int64_t v) { p = std::to_chars(p, p + 20, v).ptr; };  // 20: an int64's digits and sign
  if (ms < 1000) {
    put(ms);
    *p++ = 'm';
  } else {
    int64_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
    if (h > 0) put(h), *p++ = 'h';
    if (h > 0 || m > 0) put(m), *p++ = 'm';
    put(s);
    if (frac > 0) {  // ".250" -> ".25"
      *p++ = '.';
      for (int64_t unit = 100; unit > 0 && frac > 0; unit /= 10) {
        *p++ = static_cast<char>('0' + frac / unit);
        frac %= unit;
      }
    }
  }
  *p++ = 's';
  return std::string(buf, p);
}

int64_t retry_after_seconds(std::chrono::milliseconds d) {
  int64_t s = (d.count() + 999) / 1000;
  return s < 1 ? 1 : s;
}

namespace detail {

namespace {
using i128 = __int128;

// Scope ids are joined with ':'; escaping ':' and '%' in names keeps "km:a:b:c" unambiguous.
void append_escaped(std::string& out, const std::string& name) {
  if (name.find_first_of(":%") == std::string::npos) {  // the usual name: one append
    out += name;
    return;
  }
  for (char c : name) {
    if (c == ':') out += "%3A";
    else if (c == '%') out += "%25";
    else out += c;
  }
}

int64_t cap(const std::optional<double>& usd) { return set(usd) ? usd_to_nano(*usd) : 0; }

void add_scope(Plan& p, ScopeKind kind, const LimitSpec& limits, const BudgetSpec* budget,
               const AdmissionRequest& req, bool with_ids) {
  if (limits.empty() && (!budget || budget->empty())) return;
  auto idx = p.n_scopes++;
  PlannedScope& s = p.scopes[idx];
  s.kind = kind;
  if (with_ids) s.id = scope_id(kind, req);
  s.concurrency = set(limits.concurrency) ? *limits.concurrency : 0;
  if (budget && !budget->empty()) {
    PlannedBudget& b = p.budgets[p.n_budgets++];
    b.scope = idx;
    b.team = kind == ScopeKind::team;
    b.warn_only = budget->warn_only;
    if (b.warn_only) b.owner = b.team ? req.team : req.key_id;  // only warn budgets report crossings
    b.day = cap(budget->usd_per_day);
    b.month = cap(budget->usd_per_month);
    b.total = cap(budget->usd_total);
    // At most $1M: Redis sums reservations as integers and compares them as doubles.
    b.reserve = std::min<int64_t>(usd_to_nano(req.estimated_cost_usd), 1'000'000'000'000'000);
  }
  auto window = [&](const std::optional<int64_t>& v, WindowKind k, bool day) {
    if (set(v)) p.windows[p.n_windows++] = PlannedWindow{idx, k, day, *v};
  };
  window(limits.rpm, WindowKind::requests, false);
  window(limits.rpd, WindowKind::requests, true);
  window(limits.tpm, WindowKind::tokens, false);
  window(limits.tpd, WindowKind::tokens, true);
}

}  // namespace

std::string scope_id(ScopeKind kind, const AdmissionRequest& req) {
  std::string id;
  id.reserve(4 + req.key_id.size() + req.model.size() + req.team.size());
  switch (kind) {
    case ScopeKind::key: id = "k:"; append_escaped(id, req.key_id); break;
    case ScopeKind::team: id = "t:"; append_escaped(id, req.team); break;
    case ScopeKind::model: id = "m:"; append_escaped(id, req.model); break;
    case ScopeKind::key_model:
      id = "km:";
      append_escaped(id, req.key_id);
      id += ':';
      append_escaped(id, req.model);
      break;
  }
  return id;
}

const char* PlannedWindow::suffix() const {
  if (kind == WindowKind::requests) return per_day ? "rd" : "rm";
  return per_day ? "td" : "tm";
}

bool Plan::has_concurrency() const {
  for (uint8_t i = 0; i < n_scopes; ++i)
    if (scopes[i].concurrency > 0) return true;
  return false;
}

Plan make_plan(const AdmissionRequest& req, bool with_ids) {
  Plan p;
  p.estimated_tokens = req.estimated_tokens > 0 ? req.estimated_tokens : 0;
  if (!req.key_id.empty()) add_scope(p, ScopeKind::key, req.key_limits, &req.key_budget, req, with_ids);
  if (!req.key_id.empty() && !req.team.empty())
    add_scope(p, ScopeKind::team, req.team_limits, &req.team_budget, req, with_ids);
  if (!req.model.empty()) add_scope(p, ScopeKind::model, req.model_limits, nullptr, req, with_ids);
  if (!req.key_id.empty() && !req.model.empty())
    add_scope(p, ScopeKind::key_model, req.key_model_limits, nullptr, req, with_ids);
  return p;
}

void budget_crossings(const PlannedBudget& b, const std::array<int64_t, 3>& before,
                      const std::array<int64_t, 3>& after, std::vector<BudgetCrossing>& out) {
  if (!b.warn_only) return;
  const std::array<int64_t, 3> caps{b.day, b.month, b.total};
  static constexpr std::array<const char*, 3> kPeriods{"day", "month", "total"};
  for (std::size_t i = 0; i < 3; ++i) {
    if (caps[i] <= 0) continue;
    for (int pct : {50, 80, 100}) {
      const i128 threshold = static_cast<i128>(caps[i]) * pct;  // x100, to stay in integers
      if (static_cast<i128>(before[i]) * 100 < threshold && static_cast<i128>(after[i]) * 100 >= threshold)
        out.push_back({b.team, b.owner, kPeriods[i], pct, static_cast<double>(after[i]) / 1e9,
                       static_cast<double>(caps[i]) / 1e9});
    }
  }
}

bool decide_budgets(const Plan& plan, int64_t over_hard, int64_t over_warn, const BudgetPeriods& p, Decision& d) {
  auto bits = [](int64_t all, uint8_t g) { return (all >> (3 * g)) & 7; };
  bool refused = false;
  for (uint8_t g = 0; g < plan.n_budgets; ++g) {
    int64_t over = bits(over_hard, g);
    if (!over) continue;
    std::chrono::milliseconds wait = (over & 4)   ? std::chrono::milliseconds{0}
                                     : (over & 2) ? p.until_next_month
                                                  : p.until_next_day;
    if (!refused || (d.retry_after.count() != 0 && (wait.count() == 0 || wait > d.retry_after))) {
      d.retry_after = wait;
      d.team_budget = plan.budgets[g].team;
    }
    refused = true;
  }
  d.budget_warning = over_warn != 0;
  if (!refused)
    for (uint8_t g = 0; g < plan.n_budgets; ++g)
      if (bits(over_warn, g)) {
        d.team_budget = plan.budgets[g].team;
        break;
      }
  return refused;
}

int64_t usd_to_nano(double usd) {
  if (!(usd > 0)) return 0;
  return std::llround(std::min(usd, 1e9) * 1e9);  // clamped: a hostile estimate cannot overflow
}

const BudgetPeriods& budget_periods(std::chrono::system_clock::time_point wall) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(wall.time_since_epoch());
  sys_days today = floor<days>(sys_time<milliseconds>(ms));
  // The calendar part changes once a day: computed once per day and thread (it was ~4k
  // instructions on every admission with a budget, issue 18).
  struct Cached {
    sys_days day{days::min()};
    sys_days month_start_next;
    BudgetPeriods p;
  };
  thread_local Cached cached;
  if (cached.day == today) {
    BudgetPeriods& p = cached.p;
    p.until_next_day = duration_cast<milliseconds>(today + days{1} - sys_time<milliseconds>(ms));
    p.until_next_month = duration_cast<milliseconds>(cached.month_start_next - sys_time<milliseconds>(ms));
    return p;
  }
  year_month_day ymd{today};
  year_month next_month = year_month{ymd.year(), ymd.month()} + months{1};
  sys_days month_start_next = sys_days{next_month / 1};
  BudgetPeriods p;
  p.day = today.time_since_epoch().count();
  p.month = static_cast<int>(ymd.year()) * 12 + static_cast<unsigned>(ymd.month()) - 1;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02u%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  p.day_tag = buf;
  p.month_tag = p.day_tag.substr(0, 6);
  p.until_next_day = duration_cast<milliseconds>(today + days{1} - sys_time<milliseconds>(ms));
  p.until_next_month = duration_cast<milliseconds>(month_start_next - sys_time<milliseconds>(ms));
  cached = {today, month_start_next, std::move(p)};
  return cached.p;
}

}  // namespace detail
}  // namespace tollgate::limits
