// Number and time formatting shared by the pages.

export const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));

export function fmtUsd(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (n === 0) return '$0';
  if (Math.abs(n) < 0.01) return `$${n.toPrecision(2)}`;
  return `$${n.toFixed(n < 100 ? 4 : 2)}`;
}

export function fmtMs(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  return `${n < 10 ? n.toFixed(1) : Math.round(n)} ms`;
}

export const fmtPct = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(x < 0.1 ? 2 : 1)}%`);

export function fmtTime(ms, withDate = true) {
  if (!ms && ms !== 0) return '—';
  const d = new Date(ms);
  const t = d.toLocaleTimeString('en-GB', { hour12: false });
  if (!withDate) return t;
  return `${d.toLocaleDateString('en-CA')} ${t}`;
}

/** The timestamp of a value that may be unix seconds, unix ms or an ISO string. */
export function toMs(v) {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v < 1e12 ? v * 1000 : v;
  const n = Date.parse(v);
  return Number.isNaN(n) ? null : n;
}

/** datetime-local input value <-> unix ms. */
export function toLocalInput(ms) {
  if (!ms) return '';
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
export const fromLocalInput = (s) => (s ? new Date(s).getTime() : null);

export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
