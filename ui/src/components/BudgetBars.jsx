// Spent / limit bars for any resource with a `budget` {usd_per_day, usd_per_month, usd_total,
// mode} and the `spend` {usd_today, usd_month, usd_total} the API returns beside it (keys,
// teams). A period with no cap shows what was spent, without a bar.
import { fmtUsd } from '../format.js';

const PERIODS = [
  ['day', 'usd_per_day', 'usd_today'],
  ['month', 'usd_per_month', 'usd_month'],
  ['total', 'usd_total', 'usd_total'],
];

/** Whether a kind's answers carry both (its read schema). */
export function hasBudget(readSchema) {
  const p = readSchema?.properties ?? {};
  return Boolean(p.budget && p.spend);
}

export function BudgetBars({ budget, spend }) {
  const lines = PERIODS.map(([period, cap, spent]) => ({ period, cap: budget?.[cap], spent: spend?.[spent] })).filter(
    (l) => typeof l.cap === 'number' || (typeof l.spent === 'number' && l.spent > 0),
  );
  if (!lines.length) return <span className="muted">—</span>;
  return (
    <div className="small">
      {lines.map(({ period, cap, spent = 0 }) => {
        const capped = typeof cap === 'number';
        const pct = capped && cap > 0 ? Math.min(100, (spent / cap) * 100) : capped ? 100 : null;
        const over = capped && spent >= cap;
        return (
          <div key={period} className="spend-line" data-testid={`budget-${period}`} data-spent={spent} data-limit={capped ? cap : ''}>
            <span className="muted">{period}</span> {fmtUsd(spent)}
            {capped && <span className="muted"> / {fmtUsd(cap)}</span>}
            {pct !== null && (
              <span className="bar" role="meter" aria-label={`${period} budget`} aria-valuemin={0} aria-valuemax={cap} aria-valuenow={spent}>
                <span style={{ width: `${pct}%` }} className={over ? 'over' : pct >= 80 ? 'near' : ''} />
              </span>
            )}
            {over && <span className={`badge ${budget?.mode === 'warn' ? 'warn' : 'bad'}`}>{budget?.mode === 'warn' ? 'over (warn)' : 'exhausted'}</span>}
          </div>
        );
      })}
    </div>
  );
}
