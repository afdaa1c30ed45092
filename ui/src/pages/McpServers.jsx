// MCP servers: what the gateway fronts on /mcp and /mcp/{server}, and what it saw of each one
// since this process started (GET /admin/v1/mcp_status): reachable or its last error, the tools
// it advertised, requests, errors and latency per server and per tool. Self-contained: the
// registration form here is the kind's own small one (name, url, bearer, prefix, era, timeout).
import { useEffect, useState } from 'react';
import { api, items } from '../api.js';
import { SchemaFields, formBody, formDefaults } from '../components/SchemaForm.jsx';
import { Empty, ErrorBox, Field, FormErrors, Loading, Modal, useLoad } from '../components/ui.jsx';
import { fmtMs, fmtTime } from '../format.js';

function NewServer({ schema, onDone }) {
  const [values, setValues] = useState(formDefaults(schema));
  const [bearer, setBearer] = useState('');
  const [error, setError] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null);
    const body = formBody(schema, values);
    if (bearer) body.auth = { bearer };
    try {
      await api.post('/admin/v1/mcp_servers', body);
      onDone(true);
    } catch (err) {
      setError(err);
    }
  }
  return (
    <Modal title="New MCP server" onClose={() => onDone(false)} testid="mcp-server-form">
      <form onSubmit={submit} className="form" noValidate>
        <div className="form-grid">
          <SchemaFields schema={schema} values={values} onChange={setValues} errors={error?.fields} />
          <Field label="bearer token (optional)" name="auth.bearer" errors={error?.fields} hint="held by the gateway, sealed at rest, never shown again">
            <input name="bearer" type="password" autoComplete="off" value={bearer} onChange={(e) => setBearer(e.target.value)} />
          </Field>
        </div>
        <FormErrors error={error} names={[...Object.keys(schema.properties), 'auth.bearer']} />
        <button type="submit" data-testid="mcp-server-save">
          Create
        </button>
      </form>
    </Modal>
  );
}

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
        <code>{server.url}</code> · era {server.era} · prefix <code>{server.prefix ?? server.name}</code> · deadline {server.timeout_ms} ms
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

export default function McpServers({ arg }) {
  const [schema] = useLoad(() => api.get('/admin/v1/schema'), []);
  const [servers, error, loading, reloadServers] = useLoad(() => api.get('/admin/v1/mcp_servers'), []);
  const [status, statusError, , reloadStatus] = useLoad(() => api.get('/admin/v1/mcp_status'), []);
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState(arg);
  const kind = schema?.kinds?.find((k) => k.name === 'mcp_servers');
  // The counters move while agents work: refreshed every few seconds.
  useEffect(() => {
    const t = setInterval(reloadStatus, 5000);
    return () => clearInterval(t);
  }, [reloadStatus]);
  const statusOf = (name) => items(status).find((s) => s.name === name);
  const list = items(servers);
  return (
    <div className="page">
      <div className="page-head">
        <h1>MCP servers</h1>
        <div>
          <button className="secondary" onClick={() => { reloadServers(); reloadStatus(); }}>
            Refresh
          </button>{' '}
          {kind && (
            <button data-testid="mcp-server-new" onClick={() => setCreating(true)}>
              New MCP server
            </button>
          )}
        </div>
      </div>
      <p className="muted">
        Agents reach these on <code>/mcp</code> (every server a key may use, tools named <code>prefix__tool</code>) and on{' '}
        <code>/mcp/&lt;server&gt;</code> (one server, its own names), with their virtual key. Status is what this gateway process saw since it started.
      </p>
      <ErrorBox error={error} onRetry={reloadServers} />
      <ErrorBox error={statusError} onRetry={reloadStatus} />
      {loading && !servers ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty>No MCP servers yet.</Empty>
      ) : (
        <div className="table-wrap card">
          <table className="clickable" data-testid="mcp-servers">
            <thead>
              <tr>
                <th>Name</th><th>Status</th><th>Tools</th><th>Requests</th><th>Errors</th><th>Avg latency</th><th>Max latency</th><th>Last error</th>
              </tr>
            </thead>
            <tbody>
              {list.map((s) => {
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
      )}
      {list.filter((s) => s.name === open).map((s) => (
        <ServerDetails key={s.name} server={s} status={statusOf(s.name)} />
      ))}
      {creating && kind && (
        <NewServer
          schema={kind.write}
          onDone={(made) => {
            setCreating(false);
            if (made) {
              reloadServers();
              reloadStatus();
            }
          }}
        />
      )}
    </div>
  );
}
