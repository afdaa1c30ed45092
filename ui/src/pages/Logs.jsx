// The request log (GET /admin/v1/requests, newest first) with filters, and one request's
// detail (GET /admin/v1/requests/{id}) at #/logs/<id>.
import { useState } from 'react';
import { api, items, one, qs } from '../api.js';
import { navigate } from '../nav.js';
import { ErrorBox, Loading, Modal, useLoad } from '../components/ui.jsx';
import { fmtInt, fmtMs, fmtTime, fmtUsd, fromLocalInput, toLocalInput } from '../format.js';

const PAGE = 50;

function StatusBadge({ status }) {
  const cls = status >= 500 ? 'bad' : status >= 400 ? 'warn' : status >= 200 ? 'ok' : '';
  return <span className={`badge ${cls}`}>{status || '—'}</span>;
}

function Detail({ id, onClose }) {
  const [data, error, loading] = useLoad(() => api.get(`/admin/v1/requests/${encodeURIComponent(id)}`), [id]);
  const r = data ? one(data, 'request') : null;
  const rows = r
    ? [
        ['Request id', <code key="id">{r.request_id}</code>],
        ['Time', fmtTime(r.ts)],
        ['Status', <StatusBadge key="s" status={r.status} />],
        ['Route', r.route ?? '—'],
        ['Stream', r.stream ? 'yes' : 'no'],
        ['Key', r.key_name ? `${r.key_name} (${r.key_id})` : r.key_id ?? '—'],
        ['Model (alias)', r.model ?? '—'],
        ['Target', r.provider ? `${r.provider} / ${r.upstream_model ?? '?'}` : '—'],
        ['Attempts', Array.isArray(r.attempts) ? r.attempts.length : r.attempts ?? '—'],
        ['Error', r.error ? <code key="e" className="danger">{r.error}</code> : '—'],
      ]
    : [];
  const timings = r ? [['Latency', fmtMs(r.latency_ms)], ['Time to first token', fmtMs(r.ttft_ms)]] : [];
  const tokens = r
    ? [
        ['Input', fmtInt(r.input_tokens)],
        ['Output', fmtInt(r.output_tokens)],
        ['Cached input', fmtInt(r.cached_tokens)],
        ['Cache creation', fmtInt(r.cache_creation_tokens)],
        ['Reasoning', fmtInt(r.reasoning_tokens)],
        ['Cost', r.cost_usd === null || r.cost_usd === undefined ? 'unknown price' : fmtUsd(r.cost_usd)],
      ]
    : [];
  return (
    <Modal title="Request" onClose={onClose} wide testid="request-detail">
      <ErrorBox error={error} />
      {loading && !r ? (
        <Loading />
      ) : r ? (
        <div className="detail-grid">
          <dl className="kv">
            {rows.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
          <div>
            <h4>Timings</h4>
            <div className="timing">
              <div className="timing-bar">
                {r.ttft_ms !== null && r.ttft_ms !== undefined && r.latency_ms > 0 && <span className="ttft" style={{ width: `${Math.min(100, (r.ttft_ms / r.latency_ms) * 100)}%` }} title="until the first token" />}
              </div>
            </div>
            <dl className="kv">
              {timings.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
            <h4>Tokens and cost</h4>
            <dl className="kv">
              {tokens.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
            {Array.isArray(r.attempts) && r.attempts.length > 0 && (
              <>
                <h4>Attempts</h4>
                <table className="compact">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>Target</th>
                      <th>Status</th>
                      <th>Time</th>
                      <th>Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.attempts.map((a, i) => (
                      <tr key={i}>
                        <td>{i + 1}</td>
                        <td>
                          {a.provider ?? ''}
                          {a.model ? ` / ${a.model}` : ''}
                        </td>
                        <td>{a.status ?? '—'}</td>
                        <td>{fmtMs(a.latency_ms ?? a.duration_ms)}</td>
                        <td>{a.error ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </div>
        </div>
      ) : null}
    </Modal>
  );
}

export default function Logs({ arg }) {
  const [filters, setFilters] = useState({ from: '', to: '', key: '', model: '', status: '' });
  const [applied, setApplied] = useState(filters);
  const [offset, setOffset] = useState(0);
  const query = {
    from: fromLocalInput(applied.from),
    to: fromLocalInput(applied.to),
    key: applied.key.trim(),
    model: applied.model.trim(),
    status: applied.status.trim(),
    limit: PAGE,
    offset,
  };
  const [data, error, loading, reload] = useLoad(() => api.get(`/admin/v1/requests${qs(query)}`), [JSON.stringify(query)]);
  const rows = items(data, 'requests');

  const set = (k) => (e) => setFilters({ ...filters, [k]: e.target.value });
  const apply = (e) => {
    e?.preventDefault();
    setOffset(0);
    setApplied(filters);
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Logs</h1>
        <button className="secondary" onClick={reload} data-testid="logs-refresh">
          Refresh
        </button>
      </div>
      <form className="filters card" onSubmit={apply} data-testid="logs-filters">
        <label className="field">
          <span className="field-label">From</span>
          <input type="datetime-local" name="from" value={filters.from} onChange={set('from')} />
        </label>
        <label className="field">
          <span className="field-label">To</span>
          <input type="datetime-local" name="to" value={filters.to} onChange={set('to')} />
        </label>
        <label className="field">
          <span className="field-label">Key id</span>
          <input name="key" value={filters.key} onChange={set('key')} placeholder="key_…" />
        </label>
        <label className="field">
          <span className="field-label">Model</span>
          <input name="model" value={filters.model} onChange={set('model')} placeholder="alias" />
        </label>
        <label className="field">
          <span className="field-label">Status</span>
          <input name="status" value={filters.status} onChange={set('status')} placeholder="200, 429…" inputMode="numeric" />
        </label>
        <div className="filter-actions">
          <button type="submit" data-testid="logs-apply">
            Apply
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              const empty = { from: '', to: '', key: '', model: '', status: '' };
              setFilters(empty);
              setApplied(empty);
              setOffset(0);
            }}
          >
            Clear
          </button>
          <button
            type="button"
            className="link"
            onClick={() => {
              const f = { ...filters, from: toLocalInput(Date.now() - 3_600_000), to: '' };
              setFilters(f);
              setApplied(f);
              setOffset(0);
            }}
          >
            Last hour
          </button>
        </div>
      </form>
      <ErrorBox error={error} onRetry={reload} />
      {loading && !data ? (
        <Loading />
      ) : (
        <div className="table-wrap card">
          <table data-testid="logs-table" className="clickable">
            <thead>
              <tr>
                <th>Time</th>
                <th>Status</th>
                <th>Model</th>
                <th>Target</th>
                <th>Key</th>
                <th className="num">Tokens in/out</th>
                <th className="num">Cost</th>
                <th className="num">Latency</th>
                <th className="num">TTFT</th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 && (
                <tr>
                  <td colSpan={9} className="empty">
                    No requests match.
                  </td>
                </tr>
              )}
              {rows.map((r) => (
                <tr key={r.request_id} onClick={() => navigate('logs', r.request_id)} data-testid="log-row" data-request-id={r.request_id} tabIndex={0} onKeyDown={(e) => e.key === 'Enter' && navigate('logs', r.request_id)}>
                  <td className="nowrap">{fmtTime(r.ts)}</td>
                  <td>
                    <StatusBadge status={r.status} />
                    {r.stream ? <span className="badge subtle">stream</span> : null}
                  </td>
                  <td>{r.model ?? '—'}</td>
                  <td className="small">{r.provider ? `${r.provider}/${r.upstream_model ?? ''}` : '—'}</td>
                  <td className="small">{r.key_name ?? r.key_id ?? '—'}</td>
                  <td className="num">
                    {fmtInt(r.input_tokens)} / {fmtInt(r.output_tokens)}
                  </td>
                  <td className="num">{fmtUsd(r.cost_usd)}</td>
                  <td className="num">{fmtMs(r.latency_ms)}</td>
                  <td className="num">{fmtMs(r.ttft_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <button className="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Newer
            </button>
            <span className="muted small">
              {rows.length ? `${offset + 1}–${offset + rows.length}` : '0'}
            </span>
            <button className="secondary" disabled={data?.has_more === false || rows.length < PAGE} onClick={() => setOffset(offset + PAGE)}>
              Older
            </button>
          </div>
        </div>
      )}
      {arg && <Detail id={arg} onClose={() => navigate('logs')} />}
    </div>
  );
}
