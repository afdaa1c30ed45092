// Traffic at a glance, from GET /admin/v1/usage (buckets over time, and one bucket per key,
// per model and per team). A team's page shows the same view narrowed to the team (`team=` on
// every call), without the per-team table. Latency and TTFT percentiles come from the buckets
// when the API provides them (p50_latency_ms, p95_latency_ms, p50_ttft_ms, p95_ttft_ms);
// otherwise they are computed here from the request log of the same range (up to 1000 newest
// requests). The response cache's hits, misses and savings come with every bucket.
import { useEffect, useMemo, useState } from 'react';
import { api, items, qs } from '../api.js';
import { ChartView } from '../components/Chart.jsx';
import { ErrorBox } from '../components/ui.jsx';
import { fmtInt, fmtMs, fmtPct, fmtTime, fmtUsd, percentile } from '../format.js';

const RANGES = [
  { id: '15m', label: '15 min', ms: 15 * 60_000, bucket: 30 },
  { id: '1h', label: '1 hour', ms: 3_600_000, bucket: 60 },
  { id: '6h', label: '6 hours', ms: 6 * 3_600_000, bucket: 300 },
  { id: '24h', label: '24 hours', ms: 24 * 3_600_000, bucket: 1800 },
  { id: '7d', label: '7 days', ms: 7 * 24 * 3_600_000, bucket: 3 * 3600 },
  { id: '30d', label: '30 days', ms: 30 * 24 * 3_600_000, bucket: 24 * 3600 },
];

const pick = (o, ...names) => {
  for (const n of names) if (o && o[n] !== undefined && o[n] !== null) return o[n];
  return null;
};

async function loadOverview(range, team) {
  const to = Date.now();
  const from = to - range.ms;
  const base = { from, to, team };
  const grouped = (by) => api.get(`/admin/v1/usage${qs({ ...base, bucket: 0, group_by: by })}`).then((r) => items(r, 'buckets'));
  const [timeline, byKey, byModel, byTeam, log] = await Promise.all([
    api.get(`/admin/v1/usage${qs({ ...base, bucket: range.bucket, group_by: 'none' })}`),
    grouped('key'),
    grouped('model'),
    team ? null : grouped('team'),
    api.get(`/admin/v1/requests${qs({ ...base, limit: 1000 })}`).catch(() => null),
  ]);
  return { from, to, timeline: items(timeline, 'buckets'), byKey, byModel, byTeam, log: log ? items(log, 'requests') : null };
}

function buildSeries(data, range) {
  const step = range.bucket * 1000;
  const first = Math.floor(data.from / step) * step;
  const slots = [];
  for (let t = first; t < data.to; t += step) slots.push(t);
  const byStart = new Map();
  for (const b of data.timeline) {
    const slot = Math.floor(b.start_ms / step) * step;
    const prev = byStart.get(slot);
    byStart.set(slot, prev ? merge(prev, b) : { ...b });
  }
  // Percentiles from the request log, per slot, when the buckets have none.
  const hasPct = data.timeline.some((b) => pick(b, 'p50_latency_ms', 'latency_p50_ms') !== null);
  const samples = new Map();
  if (!hasPct && data.log) {
    for (const r of data.log) {
      const slot = Math.floor(r.ts / step) * step;
      if (!samples.has(slot)) samples.set(slot, { lat: [], ttft: [] });
      const s = samples.get(slot);
      if (typeof r.latency_ms === 'number') s.lat.push(r.latency_ms);
      if (typeof r.ttft_ms === 'number') s.ttft.push(r.ttft_ms);
    }
    for (const s of samples.values()) {
      s.lat.sort((a, b) => a - b);
      s.ttft.sort((a, b) => a - b);
    }
  }
  const showDate = range.ms > 24 * 3_600_000;
  const labels = slots.map((t) => {
    const d = new Date(t);
    const hm = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: range.bucket < 60 ? '2-digit' : undefined });
    return showDate ? `${d.toLocaleDateString('en-CA').slice(5)} ${hm}` : hm;
  });
  const col = (fn) => slots.map((t) => fn(byStart.get(t), samples.get(t)));
  return {
    labels,
    requests: col((b) => b?.requests ?? 0),
    errors: col((b) => b?.errors ?? 0),
    input: col((b) => b?.input_tokens ?? 0),
    output: col((b) => b?.output_tokens ?? 0),
    cost: col((b) => b?.cost_usd ?? 0),
    errorRate: col((b) => (b?.requests ? b.errors / b.requests : null)),
    p50: col((b, s) => (hasPct ? pick(b, 'p50_latency_ms', 'latency_p50_ms') : s ? percentile(s.lat, 50) : null)),
    p95: col((b, s) => (hasPct ? pick(b, 'p95_latency_ms', 'latency_p95_ms') : s ? percentile(s.lat, 95) : null)),
    ttft50: col((b, s) => (hasPct ? pick(b, 'p50_ttft_ms', 'ttft_p50_ms') : s ? percentile(s.ttft, 50) : null)),
    ttft95: col((b, s) => (hasPct ? pick(b, 'p95_ttft_ms', 'ttft_p95_ms') : s ? percentile(s.ttft, 95) : null)),
    avgLatency: col((b) => (b?.requests ? b.avg_latency_ms : null)),
    avgTtft: col((b) => b?.avg_ttft_ms ?? null),
    pctSource: hasPct ? 'api' : data.log ? 'log' : 'none',
  };
}

// Two buckets that fell into one display slot (the API aligned differently).
function merge(a, b) {
  const n = a.requests + b.requests || 1;
  return {
    ...a,
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cost_usd: a.cost_usd + b.cost_usd,
    avg_latency_ms: (a.avg_latency_ms * a.requests + b.avg_latency_ms * b.requests) / n,
    max_latency_ms: Math.max(a.max_latency_ms, b.max_latency_ms),
    avg_ttft_ms: a.avg_ttft_ms ?? b.avg_ttft_ms,
  };
}

function totals(data) {
  const t = { requests: 0, errors: 0, input: 0, output: 0, cost: 0, unpriced: 0, latW: 0, ttftW: 0, ttftN: 0 };
  for (const b of data.timeline) {
    t.requests += b.requests;
    t.errors += b.errors;
    t.input += b.input_tokens;
    t.output += b.output_tokens;
    t.cost += b.cost_usd;
    t.unpriced += b.unpriced ?? 0;
    t.latW += b.avg_latency_ms * b.requests;
    if (b.avg_ttft_ms !== null && b.avg_ttft_ms !== undefined) {
      t.ttftW += b.avg_ttft_ms * b.requests;
      t.ttftN += b.requests;
    }
  }
  let p50 = null;
  let p95 = null;
  let ttft50 = null;
  if (data.log?.length) {
    const lat = data.log.map((r) => r.latency_ms).filter((x) => typeof x === 'number').sort((a, b) => a - b);
    const tt = data.log.map((r) => r.ttft_ms).filter((x) => typeof x === 'number').sort((a, b) => a - b);
    p50 = percentile(lat, 50);
    p95 = percentile(lat, 95);
    ttft50 = percentile(tt, 50);
  }
  return { ...t, avgLatency: t.requests ? t.latW / t.requests : null, avgTtft: t.ttftN ? t.ttftW / t.ttftN : null, p50, p95, ttft50 };
}

// The response cache from the usage aggregates (each record's cache verdict, summed by the
// store): hits and misses of requests under a policy, what hits saved (USD only where the
// price is known: unpriced hits are counted, never a $0), in all and per model, key and team.
function cacheSummary(data) {
  const of = (b) => ({
    hits: b.cache_hits ?? 0,
    misses: b.cache_misses ?? 0,
    tokens: b.cache_saved_tokens ?? 0,
    usd: b.cache_saved_usd ?? 0,
    unpriced: b.cache_unpriced_hits ?? 0,
  });
  const all = { hits: 0, misses: 0, tokens: 0, usd: 0, unpriced: 0 };
  for (const b of data.timeline) for (const [k, v] of Object.entries(of(b))) all[k] += v;
  const rows = [];
  for (const [dim, buckets] of [['model', data.byModel], ['key', data.byKey], ['team', data.byTeam]]) {
    for (const b of buckets ?? []) {
      const name = dim === 'key' ? b.label : b.group;
      const row = of(b);
      if (name && row.hits + row.misses > 0) rows.push({ dim, name, ...row });
    }
  }
  rows.sort((x, y) => y.hits + y.misses - (x.hits + x.misses));
  return { ...all, rows };
}

function CacheTable({ cache }) {
  return (
    <section className="card" data-testid="cache-table">
      <h3>
        Response cache
      </h3>
      <div className="table-wrap">
        <table className="compact">
          <thead>
            <tr>
              <th>By</th>
              <th>Name</th>
              <th className="num">Hits</th>
              <th className="num">Misses</th>
              <th className="num">Saved tokens</th>
              <th className="num">Saved</th>
            </tr>
          </thead>
          <tbody>
            {cache.rows.slice(0, 15).map((r) => (
              <tr key={`${r.dim}:${r.name}`} data-testid={`cache-${r.dim}-${r.name}`}>
                <td>{r.dim}</td>
                <td>{r.name}</td>
                <td className="num">{fmtInt(r.hits)}</td>
                <td className="num">{fmtInt(r.misses)}</td>
                <td className="num">{fmtInt(r.tokens)}</td>
                <td className="num">{r.unpriced === r.hits && r.hits ? 'unknown' : fmtUsd(r.usd)}{r.unpriced && r.unpriced !== r.hits ? ` + ${fmtInt(r.unpriced)} unpriced` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Stat({ label, value, sub, testid }) {
  return (
    <div className="stat card" data-testid={testid}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {sub && <div className="stat-sub muted">{sub}</div>}
    </div>
  );
}

/** The ten busiest groups; `href(row)` links a row's name (a team to its page). */
function TopTable({ title, rows, testid, kind, none = '(none)', href }) {
  const sorted = [...rows].sort((a, b) => b.requests - a.requests).slice(0, 10);
  const name = (r) => r.label || r.group || none;
  const labels = sorted.map(name);
  return (
    <section className="card" data-testid={testid}>
      <h3>{title}</h3>
      {sorted.length === 0 ? (
        <div className="empty">No traffic in this range.</div>
      ) : (
        <>
          <ChartView
            type="bar"
            labels={labels}
            datasets={[{ label: 'requests', data: sorted.map((r) => r.requests) }, { label: 'errors', data: sorted.map((r) => r.errors), color: '#dc2626' }]}
            options={{ indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }}
            height={Math.max(120, 34 * sorted.length + 50)}
            testid={`${testid}-chart`}
          />
          <div className="table-wrap">
            <table className="compact">
              <thead>
                <tr>
                  <th>{kind}</th>
                  <th className="num">Requests</th>
                  <th className="num">Errors</th>
                  <th className="num">Tokens</th>
                  <th className="num">Cost</th>
                </tr>
              </thead>
              <tbody>
                {sorted.map((r) => (
                  <tr key={r.group} data-testid={`${testid}-row-${r.group}`}>
                    <td title={r.group}>{href && r.group ? <a href={href(r)}>{name(r)}</a> : name(r)}</td>
                    <td className="num">{fmtInt(r.requests)}</td>
                    <td className="num">{fmtInt(r.errors)}</td>
                    <td className="num">{fmtInt(r.input_tokens + r.output_tokens)}</td>
                    <td className="num">{fmtUsd(r.cost_usd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

/** Stats, charts over time and the busiest keys and models (and teams, unless `team` narrows it). */
export function UsageView({ team, heading = <h1>Overview</h1> }) {
  const [rangeId, setRangeId] = useState('1h');
  const [auto, setAuto] = useState(true);
  const [tick, setTick] = useState(0);
  const [state, setState] = useState({ data: null, error: null });
  const range = RANGES.find((r) => r.id === rangeId);

  useEffect(() => {
    let live = true;
    loadOverview(range, team).then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState((s) => ({ data: s.data, error })),
    );
    return () => {
      live = false;
    };
  }, [range, team, tick]);

  useEffect(() => {
    if (!auto) return;
    const id = setInterval(() => setTick((t) => t + 1), 10_000);
    return () => clearInterval(id);
  }, [auto]);

  const data = state.data;
  const series = useMemo(() => (data ? buildSeries(data, range) : null), [data, range]);
  const tot = useMemo(() => (data ? totals(data) : null), [data]);
  const cache = useMemo(() => (data ? cacheSummary(data) : null), [data]);

  return (
    <div className="page">
      <div className="page-head">
        {heading}
        <div className="toolbar">
          <select aria-label="Time range" value={rangeId} onChange={(e) => setRangeId(e.target.value)} data-testid="range">
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                Last {r.label}
              </option>
            ))}
          </select>
          <label className="check">
            <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> Auto-refresh
          </label>
          <button className="secondary" onClick={() => setTick((t) => t + 1)} data-testid="refresh">
            Refresh
          </button>
        </div>
      </div>
      <ErrorBox error={state.error} onRetry={() => setTick((t) => t + 1)} />
      {!data ? (
        !state.error && <div className="loading">Loading…</div>
      ) : (
        <>
          <div className="stats">
            <Stat label="Requests" value={fmtInt(tot.requests)} sub={data.to ? `since ${fmtTime(data.from)}` : null} testid="stat-requests" />
            <Stat label="Tokens" value={fmtInt(tot.input + tot.output)} sub={`${fmtInt(tot.input)} in · ${fmtInt(tot.output)} out`} testid="stat-tokens" />
            <Stat label="Cost" value={fmtUsd(tot.cost)} sub={tot.unpriced ? `${fmtInt(tot.unpriced)} unpriced` : null} testid="stat-cost" />
            <Stat label="Error rate" value={tot.requests ? fmtPct(tot.errors / tot.requests) : '—'} sub={`${fmtInt(tot.errors)} errors`} testid="stat-errors" />
            <Stat label="Latency" value={fmtMs(tot.p50 ?? tot.avgLatency)} sub={tot.p95 !== null ? `p50 · p95 ${fmtMs(tot.p95)}` : 'average'} testid="stat-latency" />
            <Stat label="TTFT" value={fmtMs(tot.ttft50 ?? tot.avgTtft)} sub={tot.ttft50 !== null ? 'p50, streams' : 'average, streams'} testid="stat-ttft" />
            {cache.hits + cache.misses > 0 && (
              <Stat
                label="Cache hits"
                value={fmtPct(cache.hits / (cache.hits + cache.misses))}
                sub={`${fmtInt(cache.hits)} of ${fmtInt(cache.hits + cache.misses)} · saved ${fmtUsd(cache.usd)}${cache.unpriced ? ` + ${fmtInt(cache.unpriced)} unpriced` : ''} · ${fmtInt(cache.tokens)} tokens`}
                testid="stat-cache"
              />
            )}
          </div>
          <div className="grid2">
            <section className="card">
              <h3>Requests and errors</h3>
              <ChartView
                type="bar"
                labels={series.labels}
                datasets={[
                  { label: 'requests', data: series.requests, stack: 's' },
                  { label: 'errors', data: series.errors, color: '#dc2626', stack: 'e' },
                ]}
                options={{ scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } }, y: { beginAtZero: true, ticks: { precision: 0 } } } }}
                testid="chart-requests"
              />
            </section>
            <section className="card">
              <h3>Tokens</h3>
              <ChartView
                type="bar"
                labels={series.labels}
                datasets={[
                  { label: 'input', data: series.input, stack: 't' },
                  { label: 'output', data: series.output, stack: 't', color: '#16a34a' },
                ]}
                options={{ scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } }, y: { stacked: true, beginAtZero: true } } }}
                testid="chart-tokens"
              />
            </section>
            <section className="card">
              <h3>Cost (USD)</h3>
              <ChartView type="line" labels={series.labels} datasets={[{ label: 'cost', data: series.cost, fill: true, color: '#d97706' }]} testid="chart-cost" />
            </section>
            <section className="card">
              <h3>Error rate</h3>
              <ChartView
                type="line"
                labels={series.labels}
                datasets={[{ label: 'error rate', data: series.errorRate, color: '#dc2626' }]}
                options={{ scales: { x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } }, y: { beginAtZero: true, suggestedMax: 0.05, ticks: { callback: (v) => `${Math.round(v * 1000) / 10}%` } } } }}
                testid="chart-error-rate"
              />
            </section>
            <section className="card">
              <h3>
                Latency <span className="muted small">{series.pctSource === 'log' ? '(percentiles from the request log)' : ''}</span>
              </h3>
              <ChartView
                type="line"
                labels={series.labels}
                datasets={
                  series.pctSource === 'none'
                    ? [{ label: 'avg ms', data: series.avgLatency }]
                    : [
                        { label: 'p50 ms', data: series.p50 },
                        { label: 'p95 ms', data: series.p95, color: '#7c3aed' },
                      ]
                }
                testid="chart-latency"
              />
            </section>
            <section className="card">
              <h3>Time to first token</h3>
              <ChartView
                type="line"
                labels={series.labels}
                datasets={
                  series.pctSource === 'none'
                    ? [{ label: 'avg ms', data: series.avgTtft, color: '#0891b2' }]
                    : [
                        { label: 'p50 ms', data: series.ttft50, color: '#0891b2' },
                        { label: 'p95 ms', data: series.ttft95, color: '#db2777' },
                      ]
                }
                testid="chart-ttft"
              />
            </section>
          </div>
          <div className="grid2">
            <TopTable title="Top keys" rows={data.byKey} testid="top-keys" kind="Key" />
            <TopTable title="Top models" rows={data.byModel} testid="top-models" kind="Model" />
            {data.byTeam && (
              <TopTable title="Top teams" rows={data.byTeam} testid="top-teams" kind="Team" none="(no team)" href={(r) => `#/teams/${encodeURIComponent(r.group)}`} />
            )}
          </div>
          {cache.rows.length > 0 && <CacheTable cache={cache} />}
        </>
      )}
    </div>
  );
}

export default function Overview() {
  return <UsageView />;
}
