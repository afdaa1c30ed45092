// Limits {rpm, rpd, tpm, tpd, concurrency} and budget {usd_per_day, usd_per_month, usd_total,
// mode} as form fields; values stay strings in the form and become numbers in the body.
import { Field } from './ui.jsx';
import { compact, num } from '../format.js';

export const LIMIT_FIELDS = [
  ['rpm', 'Requests / minute'],
  ['rpd', 'Requests / day'],
  ['tpm', 'Tokens / minute'],
  ['tpd', 'Tokens / day'],
  ['concurrency', 'Concurrent requests'],
];
export const BUDGET_FIELDS = [
  ['usd_per_day', 'USD / day'],
  ['usd_per_month', 'USD / month'],
  ['usd_total', 'USD in total'],
];

export const limitsToForm = (l) => Object.fromEntries(LIMIT_FIELDS.map(([k]) => [k, l?.[k] ?? '']));
export const budgetToForm = (b) => ({ ...Object.fromEntries(BUDGET_FIELDS.map(([k]) => [k, b?.[k] ?? ''])), mode: b?.mode ?? (b?.warn_only ? 'warn' : 'hard') });
export const limitsToBody = (f) => compact(Object.fromEntries(LIMIT_FIELDS.map(([k]) => [k, num(f[k])])));
export function budgetToBody(f) {
  const b = compact(Object.fromEntries(BUDGET_FIELDS.map(([k]) => [k, num(f[k])])));
  if (Object.keys(b).length) b.mode = f.mode;
  return b;
}

export function LimitsFields({ value, onChange, errors, prefix = 'limits' }) {
  return (
    <fieldset className="fieldset">
      <legend>Limits</legend>
      <div className="form-grid tight">
        {LIMIT_FIELDS.map(([k, label]) => (
          <Field key={k} label={label} name={`${prefix}.${k}`} errors={errors}>
            <input name={`${prefix}.${k}`} inputMode="numeric" value={value[k]} placeholder="no limit" onChange={(e) => onChange({ ...value, [k]: e.target.value })} />
          </Field>
        ))}
      </div>
    </fieldset>
  );
}

export function BudgetFields({ value, onChange, errors }) {
  return (
    <fieldset className="fieldset">
      <legend>Budget</legend>
      <div className="form-grid tight">
        {BUDGET_FIELDS.map(([k, label]) => (
          <Field key={k} label={label} name={`budget.${k}`} errors={errors}>
            <input name={`budget.${k}`} inputMode="decimal" value={value[k]} placeholder="no cap" onChange={(e) => onChange({ ...value, [k]: e.target.value })} />
          </Field>
        ))}
        <Field label="When exceeded" name="budget.mode" errors={errors}>
          <select name="budget.mode" value={value.mode} onChange={(e) => onChange({ ...value, mode: e.target.value })}>
            <option value="hard">refuse (hard)</option>
            <option value="warn">admit and warn</option>
          </select>
        </Field>
      </div>
    </fieldset>
  );
}

export function limitsSummary(l) {
  if (!l) return '';
  const parts = LIMIT_FIELDS.filter(([k]) => l[k] !== undefined && l[k] !== null).map(([k]) => `${l[k]} ${k}`);
  return parts.join(' · ');
}
