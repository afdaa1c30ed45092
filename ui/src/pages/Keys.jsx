// Virtual keys: the generic resource page (form and table from the schema) with the keys' own
// flows: the secret shown once on create and rotate, revoke, edits by PATCH (only the patchable
// fields; one left empty is removed), and each key's spend against its budget.
import { useState } from 'react';
import { api, items, one } from '../api.js';
import { BudgetBars } from '../components/BudgetBars.jsx';
import { SecretOnce, useLoad } from '../components/ui.jsx';
import { fmtTime, toMs } from '../format.js';
import { ResourcePage, summary } from './Resources.jsx';

const PATCHABLE = ['models', 'expires_at', 'limits', 'budget', 'model_limits', 'guardrails'];

/** models: every model (empty list), or a choice of the aliases there are. */
function ModelChoice({ value, set, path }) {
  const [data] = useLoad(() => api.get('/admin/v1/models').catch(() => []), []);
  const chosen = value ?? [];
  const [every, setEvery] = useState(!chosen.length);
  const all = [...new Set([...items(data).map((m) => m.name), ...chosen])];
  return (
    <div className="chips" data-field={path}>
      <label className="check">
        <input
          type="checkbox"
          name="all-models"
          checked={every}
          onChange={(e) => {
            setEvery(e.target.checked);
            if (e.target.checked) set([]);
          }}
        />{' '}
        every model
      </label>
      {!every &&
        all.map((m) => (
          <label key={m} className="check chip">
            <input type="checkbox" name={`model-${m}`} checked={chosen.includes(m)} onChange={(e) => set(e.target.checked ? [...chosen, m] : chosen.filter((x) => x !== m))} /> {m}
          </label>
        ))}
    </div>
  );
}

/** expires_at (unix seconds) as a date: the end of that day, UTC. */
function ExpiryDate({ value, set, path }) {
  const day = value ? new Date(Number(value) * 1000).toISOString().slice(0, 10) : '';
  return (
    <input
      name={path}
      type="date"
      value={day}
      onChange={(e) => set(e.target.value ? String(Math.floor(Date.parse(`${e.target.value}T23:59:59Z`) / 1000)) : '')}
    />
  );
}

function statusOf(k) {
  if (k.revoked) return <span className="badge bad">revoked</span>;
  const exp = toMs(k.expires_at);
  if (exp && exp < Date.now()) return <span className="badge bad">expired</span>;
  return <span className="badge ok">active</span>;
}

export const KEY_COLUMNS = [
  { title: 'prefix', cell: (k) => <span className="mono">{k.prefix ? `${k.prefix}…` : '—'}</span> },
  { title: 'models', cell: (k) => (k.models?.length ? k.models.join(', ') : <span className="muted">every model</span>) },
  { title: 'limits', cell: (k) => summary(k.limits) || <span className="muted">—</span> },
  { title: 'budget', cell: (k) => <BudgetBars budget={k.budget} spend={k.spend} /> },
  { title: 'last used', cell: (k) => (k.last_used_at ? fmtTime(toMs(k.last_used_at)) : <span className="muted">never</span>) },
  { title: 'status', cell: statusOf },
];

export default function Keys() {
  const [secret, setSecret] = useState(null); // {title, secret}

  async function act(k, action, reload, setError) {
    const q = action === 'revoke' ? `Revoke key "${k.name}"? Callers using it get 401 at once.` : `Rotate key "${k.name}"? The old secret stops working at once.`;
    if (!window.confirm(q)) return;
    setError(null);
    try {
      const res = await api.post(`/admin/v1/keys/${encodeURIComponent(k.id)}/${action}`);
      if (action === 'rotate') setSecret({ title: `New secret for ${k.name}`, secret: res.secret });
      reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <>
      <ResourcePage
        kindName="keys"
        query="?include_revoked=true"
        rowKey={(k) => k.id}
        columns={KEY_COLUMNS}
        widgets={{ models: ModelChoice, expires_at: ExpiryDate }}
        hidden={(existing) => (existing ? ['cache', 'team', 'mcp'] : [])}
        save={(body, existing) => {
          if (!existing) return api.post('/admin/v1/keys', body);
          // PATCH replaces the fields it names: name them all, an empty one as null (removed).
          const patch = Object.fromEntries(PATCHABLE.map((f) => [f, body[f] ?? null]));
          return api.patch(`/admin/v1/keys/${encodeURIComponent(existing.id)}`, patch);
        }}
        onSaved={(res) => res?.secret && setSecret({ title: `Key ${one(res).name} created`, secret: res.secret })}
        rowActions={(k, reload, setError) =>
          !k.revoked && (
            <>
              <button className="link" onClick={() => act(k, 'rotate', reload, setError)} data-testid={`rotate-keys-${k.name}`}>
                Rotate
              </button>
              <button className="link danger" onClick={() => act(k, 'revoke', reload, setError)} data-testid={`revoke-keys-${k.name}`}>
                Revoke
              </button>
            </>
          )
        }
      />
      {secret && <SecretOnce title={secret.title} secret={secret.secret} onClose={() => setSecret(null)} />}
    </>
  );
}
