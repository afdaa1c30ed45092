// Virtual keys: create (the secret is shown once), edit name/models/limits/budget (PATCH),
// revoke, rotate (a new secret, shown once), and each key's spend and last use.
import { useState } from 'react';
import { api, items, modelNames, one } from '../api.js';
import { BudgetFields, LimitsFields, budgetToBody, budgetToForm, limitsSummary, limitsToBody, limitsToForm } from '../components/LimitsFields.jsx';
import { CopyButton, ErrorBox, Field, FormErrors, Loading, Modal, useLoad } from '../components/ui.jsx';
import { fmtTime, fmtUsd, toMs } from '../format.js';

/** The secret in a create/rotate answer, wherever the API put it. */
function secretOf(res) {
  if (!res || typeof res !== 'object') return null;
  for (const k of ['secret', 'key', 'api_key', 'value']) if (typeof res[k] === 'string') return res[k];
  if (res.data) return secretOf(res.data);
  if (res.key && typeof res.key === 'object') return secretOf(res.key);
  return null;
}

function toForm(k) {
  const exp = toMs(k?.expires_at);
  return {
    name: k?.name ?? '',
    allModels: !k?.models?.length,
    models: k?.models ?? [],
    expires: exp ? new Date(exp).toISOString().slice(0, 10) : '',
    limits: limitsToForm(k?.limits),
    budget: budgetToForm(k?.budget),
  };
}

function toBody(f) {
  return {
    name: f.name.trim(),
    models: f.allModels ? [] : f.models,
    ...(f.expires ? { expires_at: Math.floor(new Date(`${f.expires}T23:59:59Z`).getTime() / 1000) } : { expires_at: null }),
    limits: limitsToBody(f.limits),
    budget: budgetToBody(f.budget),
  };
}

const FIELDS = ['name', 'models', 'expires_at', 'limits.rpm', 'limits.rpd', 'limits.tpm', 'limits.tpd', 'limits.concurrency', 'budget.usd_per_day', 'budget.usd_per_month', 'budget.usd_total', 'budget.mode'];

function KeyForm({ existing, models, onDone, onCancel }) {
  const [f, setF] = useState(toForm(existing));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const errs = error?.fields;
  const modelChoices = [...new Set([...models, ...f.models])];

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = toBody(f);
      if (existing) {
        await api.patch(`/admin/v1/keys/${encodeURIComponent(existing.id)}`, body);
        onDone(null);
      } else {
        if (body.expires_at === null) delete body.expires_at;
        const res = await api.post('/admin/v1/keys', body);
        onDone({ secret: secretOf(res), key: one(res, 'key') });
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="form" data-testid="key-form" noValidate>
      <FormErrors error={error} names={FIELDS} />
      <div className="form-grid">
        <Field label="Name" name="name" errors={errs}>
          <input name="name" value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} placeholder="team-search" />
        </Field>
        <Field label="Expires (end of day, UTC)" name="expires_at" errors={errs} hint="Empty: never">
          <input name="expires_at" type="date" value={f.expires} onChange={(e) => setF({ ...f, expires: e.target.value })} />
        </Field>
      </div>
      <Field label="Models this key may use" name="models" errors={errs} wide>
        <div className="chips">
          <label className="check">
            <input type="checkbox" name="all-models" checked={f.allModels} onChange={(e) => setF({ ...f, allModels: e.target.checked })} /> every model
          </label>
          {!f.allModels &&
            modelChoices.map((m) => (
              <label key={m} className="check chip">
                <input
                  type="checkbox"
                  name={`model-${m}`}
                  checked={f.models.includes(m)}
                  onChange={(e) => setF({ ...f, models: e.target.checked ? [...f.models, m] : f.models.filter((x) => x !== m) })}
                />{' '}
                {m}
              </label>
            ))}
        </div>
      </Field>
      <LimitsFields value={f.limits} onChange={(limits) => setF({ ...f, limits })} errors={errs} />
      <BudgetFields value={f.budget} onChange={(budget) => setF({ ...f, budget })} errors={errs} />
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy} data-testid="key-save">
          {busy ? 'Saving…' : existing ? 'Save' : 'Create key'}
        </button>
      </div>
    </form>
  );
}

function Secret({ secret, onClose, title }) {
  return (
    <Modal title={title} onClose={onClose} testid="secret-modal">
      {secret ? (
        <>
          <p>
            Copy this key now. <strong>It will not be shown again</strong>; the gateway keeps only its hash.
          </p>
          <div className="secret-box">
            <code data-testid="key-secret">{secret}</code>
          </div>
          <div className="form-actions">
            <CopyButton text={secret} label="Copy key" testid="copy-secret" />
            <button onClick={onClose} data-testid="secret-done">
              I have copied it
            </button>
          </div>
        </>
      ) : (
        <p>The key was saved, but the answer held no secret.</p>
      )}
    </Modal>
  );
}

function Spend({ k }) {
  const s = k.spend ?? k.spend_usd ?? k.usage;
  if (s === undefined || s === null) return <span className="muted">—</span>;
  if (typeof s === 'number') return <span>{fmtUsd(s)}</span>;
  const entries = Object.entries(s).filter(([, v]) => typeof v === 'number');
  if (!entries.length) return <span className="muted">—</span>;
  const budget = k.budget ?? {};
  const capFor = (name) => (/day/.test(name) ? budget.usd_per_day : /month/.test(name) ? budget.usd_per_month : /total/.test(name) ? budget.usd_total : undefined);
  return (
    <div className="small">
      {entries.map(([name, v]) => {
        const cap = capFor(name);
        const pct = cap ? Math.min(100, (v / cap) * 100) : null;
        return (
          <div key={name} className="spend-line" title={name}>
            <span className="muted">{name.replace(/^usd_?/, '').replace(/_/g, ' ')}</span> {fmtUsd(v)}
            {cap ? <span className="muted"> / {fmtUsd(cap)}</span> : null}
            {pct !== null && (
              <span className="bar">
                <span style={{ width: `${pct}%` }} className={pct >= 100 ? 'over' : ''} />
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
}

function statusOf(k) {
  if (k.revoked || k.revoked_at || k.status === 'revoked') return <span className="badge bad">revoked</span>;
  const exp = toMs(k.expires_at);
  if (exp && exp < Date.now()) return <span className="badge bad">expired</span>;
  return <span className="badge ok">active</span>;
}

export default function Keys() {
  const [data, error, loading, reload] = useLoad(() => Promise.all([api.get('/admin/v1/keys'), api.get('/admin/v1/models').catch(() => [])]), []);
  const [editing, setEditing] = useState(null);
  const [secret, setSecret] = useState(null); // {title, secret}
  const [actionError, setActionError] = useState(null);
  const list = data ? items(data[0], 'keys').map((k) => one(k, 'key')) : [];
  const models = data ? [...modelNames(data[1]), 'demo'] : [];

  async function act(k, action) {
    const q = action === 'revoke' ? `Revoke key "${k.name}"? Callers using it get 401 at once.` : `Rotate key "${k.name}"? The old secret stops working at once.`;
    if (!window.confirm(q)) return;
    setActionError(null);
    try {
      const res = await api.post(`/admin/v1/keys/${encodeURIComponent(k.id)}/${action}`);
      if (action === 'rotate') setSecret({ title: `New secret for ${k.name}`, secret: secretOf(res) });
      reload();
    } catch (err) {
      setActionError(err);
    }
  }

  async function remove(k) {
    if (!window.confirm(`Delete key "${k.name}"? Its usage history is kept.`)) return;
    setActionError(null);
    try {
      await api.del(`/admin/v1/keys/${encodeURIComponent(k.id)}`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>Keys</h1>
        <button onClick={() => setEditing('new')} data-testid="key-new">
          New key
        </button>
      </div>
      <ErrorBox error={error} onRetry={reload} />
      <ErrorBox error={actionError} />
      {loading && !data ? (
        <Loading />
      ) : (
        <div className="table-wrap card">
          <table data-testid="keys-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Models</th>
                <th>Limits</th>
                <th>Spend</th>
                <th>Last used</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && (
                <tr>
                  <td colSpan={8} className="empty">
                    No keys yet.
                  </td>
                </tr>
              )}
              {list.map((k) => (
                <tr key={k.id} data-testid={`key-row-${k.name}`}>
                  <td>
                    <strong>{k.name}</strong>
                    <div className="mono small muted">{k.id}</div>
                  </td>
                  <td className="mono">{k.prefix ? `${k.prefix}…` : '—'}</td>
                  <td className="small">{k.models?.length ? k.models.join(', ') : <span className="muted">every model</span>}</td>
                  <td className="small">{limitsSummary(k.limits) || <span className="muted">—</span>}</td>
                  <td>
                    <Spend k={k} />
                  </td>
                  <td className="small">{k.last_used_at || k.last_used ? fmtTime(toMs(k.last_used_at ?? k.last_used)) : <span className="muted">never</span>}</td>
                  <td>{statusOf(k)}</td>
                  <td className="actions">
                    <button className="link" onClick={() => setEditing(k)}>
                      Edit
                    </button>
                    <button className="link" onClick={() => act(k, 'rotate')}>
                      Rotate
                    </button>
                    <button className="link danger" onClick={() => act(k, 'revoke')}>
                      Revoke
                    </button>
                    <button className="link danger" onClick={() => remove(k)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && (
        <Modal title={editing === 'new' ? 'New key' : `Edit key ${editing.name}`} onClose={() => setEditing(null)} wide>
          <KeyForm
            existing={editing === 'new' ? null : editing}
            models={models}
            onCancel={() => setEditing(null)}
            onDone={(created) => {
              setEditing(null);
              if (created) setSecret({ title: `Key ${created.key?.name ?? ''} created`, secret: created.secret });
              reload();
            }}
          />
        </Modal>
      )}
      {secret && <Secret title={secret.title} secret={secret.secret} onClose={() => setSecret(null)} />}
    </div>
  );
}
