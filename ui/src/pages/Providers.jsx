// Providers: list, create, edit, delete. The api_key is write-only: the API answers
// api_key_set, and an edit that leaves the field empty keeps the stored key (the field is
// left out of the PUT body).
import { useState } from 'react';
import { api, items, one } from '../api.js';
import { ErrorBox, Field, FormErrors, Loading, Modal, useLoad } from '../components/ui.jsx';
import { compact, num } from '../format.js';

const KINDS = ['openai', 'openai-compatible', 'azure', 'anthropic', 'gemini'];

function toForm(p) {
  return {
    name: p?.name ?? '',
    kind: p?.kind ?? 'openai',
    base_url: p?.base_url ?? '',
    api_key: '',
    api_version: p?.api_version ?? '',
    connect_ms: p?.timeouts?.connect_ms ?? '',
    read_ms: p?.timeouts?.read_ms ?? '',
    idle_ms: p?.timeouts?.idle_ms ?? '',
    verify_tls: p?.verify_tls ?? true,
    headers: Object.entries(p?.headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
  };
}

function toBody(f) {
  const headers = {};
  for (const line of f.headers.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  const body = compact({
    name: f.name.trim(),
    kind: f.kind,
    base_url: f.base_url.trim(),
    api_key: f.api_key,
    api_version: f.api_version.trim(),
    timeouts: { connect_ms: num(f.connect_ms), read_ms: num(f.read_ms), idle_ms: num(f.idle_ms) },
    headers,
  });
  body.verify_tls = f.verify_tls;
  return body;
}

const FIELDS = ['name', 'kind', 'base_url', 'api_key', 'api_version', 'timeouts.connect_ms', 'timeouts.read_ms', 'timeouts.idle_ms', 'headers', 'verify_tls'];

function ProviderForm({ existing, onDone, onCancel }) {
  const [f, setF] = useState(toForm(existing));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const errs = error?.fields;

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (existing) await api.put(`/admin/v1/providers/${encodeURIComponent(existing.name)}`, toBody(f));
      else await api.post('/admin/v1/providers', toBody(f));
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="form" data-testid="provider-form" noValidate>
      <FormErrors error={error} names={FIELDS} />
      <div className="form-grid">
        <Field label="Name" name="name" errors={errs}>
          <input name="name" value={f.name} onChange={set('name')} disabled={!!existing} required placeholder="openai-main" />
        </Field>
        <Field label="Kind" name="kind" errors={errs}>
          <select name="kind" value={f.kind} onChange={set('kind')}>
            {KINDS.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </Field>
        <Field label="Base URL" name="base_url" errors={errs} hint="Empty: the kind's default" wide>
          <input name="base_url" value={f.base_url} onChange={set('base_url')} placeholder="https://…/v1" />
        </Field>
        <Field
          label="API key"
          name="api_key"
          errors={errs}
          hint={existing ? (existing.api_key_set ? 'A key is set; leave empty to keep it.' : 'No key set.') : 'Stored by the gateway; never shown again.'}
          wide
        >
          <input name="api_key" type="password" autoComplete="off" value={f.api_key} onChange={set('api_key')} placeholder={existing?.api_key_set ? '•••••••• (unchanged)' : ''} />
        </Field>
        {(f.kind === 'azure' || f.kind === 'anthropic') && (
          <Field label="API version" name="api_version" errors={errs}>
            <input name="api_version" value={f.api_version} onChange={set('api_version')} />
          </Field>
        )}
        <Field label="Connect timeout (ms)" name="timeouts.connect_ms" errors={errs}>
          <input name="connect_ms" inputMode="numeric" value={f.connect_ms} onChange={set('connect_ms')} placeholder="5000" />
        </Field>
        <Field label="Read timeout (ms)" name="timeouts.read_ms" errors={errs}>
          <input name="read_ms" inputMode="numeric" value={f.read_ms} onChange={set('read_ms')} placeholder="120000" />
        </Field>
        <Field label="Idle timeout (ms)" name="timeouts.idle_ms" errors={errs}>
          <input name="idle_ms" inputMode="numeric" value={f.idle_ms} onChange={set('idle_ms')} placeholder="60000" />
        </Field>
        <Field label="Extra headers" name="headers" errors={errs} hint="One 'Name: value' a line" wide>
          <textarea name="headers" rows={2} value={f.headers} onChange={set('headers')} />
        </Field>
        <label className="check">
          <input type="checkbox" name="verify_tls" checked={f.verify_tls} onChange={set('verify_tls')} /> Verify TLS certificates
        </label>
      </div>
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy} data-testid="provider-save">
          {busy ? 'Saving…' : existing ? 'Save' : 'Create provider'}
        </button>
      </div>
    </form>
  );
}

export default function Providers() {
  const [data, error, loading, reload] = useLoad(() => api.get('/admin/v1/providers'), []);
  const [editing, setEditing] = useState(null); // null | 'new' | provider
  const [actionError, setActionError] = useState(null);
  const list = items(data, 'providers').map((p) => one(p, 'provider'));

  async function remove(p) {
    if (!window.confirm(`Delete provider "${p.name}"? Models that use it must be changed first.`)) return;
    setActionError(null);
    try {
      await api.del(`/admin/v1/providers/${encodeURIComponent(p.name)}`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>Providers</h1>
        <button onClick={() => setEditing('new')} data-testid="provider-new">
          New provider
        </button>
      </div>
      <ErrorBox error={error} onRetry={reload} />
      <ErrorBox error={actionError} />
      {loading && !data ? (
        <Loading />
      ) : (
        <div className="table-wrap card">
          <table data-testid="providers-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Base URL</th>
                <th>API key</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && (
                <tr>
                  <td colSpan={5} className="empty">
                    No providers yet. The built-in <code>demo</code> provider always exists.
                  </td>
                </tr>
              )}
              {list.map((p) => (
                <tr key={p.name} data-testid={`provider-row-${p.name}`}>
                  <td>
                    <strong>{p.name}</strong>
                  </td>
                  <td>{p.kind}</td>
                  <td className="mono ellipsis" title={p.base_url}>
                    {p.base_url || <span className="muted">default</span>}
                  </td>
                  <td>{p.api_key_set ? <span className="badge ok">set</span> : <span className="badge">not set</span>}</td>
                  <td className="actions">
                    {p.builtin ? (
                      <span className="badge">built-in</span>
                    ) : (
                      <>
                    <button className="link" onClick={() => setEditing(p)}>
                      Edit
                    </button>
                    <button className="link danger" onClick={() => remove(p)}>
                      Delete
                    </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <Modal title={editing === 'new' ? 'New provider' : `Edit provider ${editing.name}`} onClose={() => setEditing(null)} wide>
          <ProviderForm
            existing={editing === 'new' ? null : editing}
            onCancel={() => setEditing(null)}
            onDone={() => {
              setEditing(null);
              reload();
            }}
          />
        </Modal>
      )}
    </div>
  );
}
