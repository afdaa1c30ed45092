// MCP servers: the kind's generic page (table and schema-made form, credentials write-only),
// and under it what the gateway saw of each server since this process started
// (GET /admin/v1/mcp_status): reachable or its last error, the tools it advertised, requests,
// errors and latency per server and per tool. Refreshed every few seconds.
import { useEffect, useState } from 'react';
import { api, items } from '../api.js';
import { ErrorBox, useLoad } from '../components/ui.jsx';
import { fmtMs, fmtTime } from '../format.js';
import { ResourcePage } from './Resources.jsx';

function Reach({ status }) {
  if (!status || status.reachable === null) return <span className="badge">not asked yet</span>;
  return status.reachable ? <span className="badge ok">reachable</span> : <span className="badge bad">unreachable</span>;
}

function ServerDetails({ server, status }) {
  const calls = status?.tool_calls ?? [];
  return (
    <div className="card" data-testid={`mcp-details-${server.name}`}>
      <h3>{server.name}</h3>
      <p className="muted small">
        <code>{server.url}</code> · era {server.era ?? 'auto'} · prefix <code>{server.prefix ?? server.name}</code> · deadline{' '}
        {server.timeout_ms ?? 30000} ms
        {server.secrets_set?.length > 0 && <> · credentials set: {server.secrets_set.join(', ')}</>}
      </p>
      {status?.last_error && (
        <div className="alert error" data-testid={`mcp-last-error-${server.name}`}>
          Last error{status.last_error_at ? ` (${fmtTime(status.last_error_at)})` : ''}: {status.last_error}
        </div>
      )}
      <h4>Tools ({status?.tools?.length ?? 0})</h4>
      {status?.tools?.length ? (
        <p data-testid={`mcp-tools-${server.name}`}>
          {status.tools.map((t) => (
            <span key={t} className="badge subtle">
              {t}
            </span>
          ))}
        </p>
      ) : (
        <p className="muted">Not listed yet: a tools/list through /mcp fills this in.</p>
      )}
      {calls.length > 0 && (
        <div className="table-wrap">
          <table data-testid={`mcp-tool-calls-${server.name}`}>
            <thead>
              <tr><th>Tool</th><th>Calls</th><th>Errors</th><th>Avg latency</th></tr>
            </thead>
            <tbody>
              {calls.map((c) => (
                <tr key={c.tool}>
                  <td><code>{c.tool}</code></td>
                  <td>{c.calls}</td>
                  <td>{c.errors}</td>
                  <td>{fmtMs(c.avg_ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function Status({ rows, status, error, reload, open, setOpen }) {
  // Servers added elsewhere (the API, another admin) since the page loaded are listed too.
  const known = new Set(rows.map((r) => r.name));
  rows = [...rows, ...items(status).filter((s) => !known.has(s.name)).map((s) => ({ name: s.name }))];
  const statusOf = (name) => items(status).find((s) => s.name === name);
  return (
    <div data-testid="mcp-status">
      <div className="page-head">
        <h2>Status</h2>
        <button className="secondary" onClick={reload} data-testid="mcp-status-refresh">
          Refresh
        </button>
      </div>
      <p className="muted">
        Agents reach these on <code>/mcp</code> (every server a key may use, tools named <code>prefix__tool</code>) and on{' '}
        <code>/mcp/&lt;server&gt;</code> (one server, its own names), with their virtual key. What this gateway process saw since it started:
      </p>
      <ErrorBox error={error} onRetry={reload} />
      <div className="table-wrap card">
        <table className="clickable" data-testid="mcp-servers">
          <thead>
            <tr>
              <th>Name</th><th>Status</th><th>Tools</th><th>Requests</th><th>Errors</th><th>Avg latency</th><th>Max latency</th><th>Last error</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => {
              const st = statusOf(s.name);
              return (
                <tr key={s.name} data-testid={`mcp-row-${s.name}`} onClick={() => setOpen(open === s.name ? null : s.name)}>
                  <td><strong>{s.name}</strong></td>
                  <td><Reach status={st} /></td>
                  <td>{st?.tools?.length ?? 0}</td>
                  <td>{st?.requests ?? 0}</td>
                  <td>{st?.errors ?? 0}</td>
                  <td>{st?.requests ? fmtMs(st.latency_ms.avg) : '—'}</td>
                  <td>{st?.requests ? fmtMs(st.latency_ms.max) : '—'}</td>
                  <td className="muted small">{st?.last_error ?? ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {rows.filter((s) => s.name === open).map((s) => (
        <ServerDetails key={s.name} server={s} status={statusOf(s.name)} />
      ))}
    </div>
  );
}

export default function McpServers({ arg }) {
  const [status, error, , reload] = useLoad(() => api.get('/admin/v1/mcp_status'), []);
  const [open, setOpen] = useState(arg);
  // The counters move while agents work.
  useEffect(() => {
    const t = setInterval(reload, 5000);
    return () => clearInterval(t);
  }, [reload]);
  return (
    <ResourcePage kindName="mcp_servers" onSaved={reload}>
      {({ rows, reload: reloadRows }) => (
        <Status rows={rows} status={status} error={error} reload={() => { reload(); reloadRows(); }} open={open} setOpen={setOpen} />
      )}
    </ResourcePage>
  );
}
