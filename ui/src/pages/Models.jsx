// Models (aliases): targets, strategy, fallbacks, pricing overrides, limits. Fields the form
// does not show (retry, circuit, affinity) are kept as they were on an edit.
import { useState } from 'react';
import { api, items, one } from '../api.js';
import { LimitsFields, limitsSummary, limitsToBody, limitsToForm } from '../components/LimitsFields.jsx';
import { ErrorBox, Field, FormErrors, Loading, Modal, fieldError, useLoad } from '../components/ui.jsx';
import { compact, num } from '../format.js';

const STRATEGIES = ['weighted', 'priority', 'fallback', 'least-latency', 'least-busy', 'lowest-cost'];

const emptyTarget = () => ({ provider: '', model: '', weight: '', priority: '', price_in: '', price_out: '' });

function toForm(m) {
  return {
    name: m?.name ?? '',
    strategy: m?.strategy ?? 'weighted',
    targets: m?.targets?.length
      ? m.targets.map((t) => ({ provider: t.provider ?? '', model: t.model ?? '', weight: t.weight ?? '', priority: t.priority ?? '', price_in: t.pricing?.input ?? '', price_out: t.pricing?.output ?? '', _pricing: t.pricing }))
      : [emptyTarget()],
    fallbacks: (m?.fallbacks ?? []).join(', '),
    timeout_ms: m?.timeout_ms ?? '',
    price_in: m?.pricing?.input ?? '',
    price_out: m?.pricing?.output ?? '',
    limits: limitsToForm(m?.limits),
  };
}

function toBody(f, existing) {
  const { name: _n, strategy: _s, targets: _t, fallbacks: _f, timeout_ms: _tm, pricing: _p, limits: _l, ...kept } = existing ?? {};
  return {
    ...compact(kept),
    ...compact({
      name: f.name.trim(),
      strategy: f.strategy,
      targets: f.targets.map((t) =>
        compact({
          provider: t.provider,
          model: t.model.trim(),
          weight: num(t.weight),
          priority: num(t.priority),
          pricing: { ...(t._pricing ?? {}), input: num(t.price_in), output: num(t.price_out) },
        }),
      ),
      timeout_ms: num(f.timeout_ms),
      pricing: { ...(existing?.pricing ?? {}), input: num(f.price_in), output: num(f.price_out) },
      limits: limitsToBody(f.limits),
    }),
    fallbacks: f.fallbacks
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

const FIELDS = ['name', 'strategy', 'targets', 'fallbacks', 'timeout_ms', 'pricing.input', 'pricing.output', 'limits.rpm', 'limits.rpd', 'limits.tpm', 'limits.tpd', 'limits.concurrency'];

function ModelForm({ existing, providers, models, onDone, onCancel }) {
  const [f, setF] = useState(toForm(existing));
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const errs = error?.fields;
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const setTarget = (i, k, v) => setF({ ...f, targets: f.targets.map((t, j) => (j === i ? { ...t, [k]: v } : t)) });
  const providerNames = [...new Set([...providers.map((p) => p.name), 'demo'])];
  const targetFields = f.targets.flatMap((_, i) => ['provider', 'model', 'weight', 'priority', 'pricing.input', 'pricing.output'].map((k) => `targets[${i}].${k}`));

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = toBody(f, existing);
      if (existing) await api.put(`/admin/v1/models/${encodeURIComponent(existing.name)}`, body);
      else await api.post('/admin/v1/models', body);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="form" data-testid="model-form" noValidate>
      <FormErrors error={error} names={[...FIELDS, ...targetFields]} />
      <div className="form-grid">
        <Field label="Alias (what callers send as model)" name="name" errors={errs}>
          <input name="name" value={f.name} onChange={set('name')} disabled={!!existing} placeholder="gpt-4o" />
        </Field>
        <Field label="Strategy" name="strategy" errors={errs}>
          <select name="strategy" value={f.strategy} onChange={set('strategy')}>
            {STRATEGIES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </Field>
      </div>
      <fieldset className="fieldset">
        <legend>Targets</legend>
        {fieldError(errs, 'targets') && <div className="field-error">{fieldError(errs, 'targets')}</div>}
        {f.targets.map((t, i) => (
          <div className="target-row" key={i} data-testid={`target-${i}`}>
            <Field label="Provider" name={`targets[${i}].provider`} errors={errs}>
              <select name={`targets[${i}].provider`} value={t.provider} onChange={(e) => setTarget(i, 'provider', e.target.value)}>
                <option value="">— choose —</option>
                {providerNames.map((p) => (
                  <option key={p}>{p}</option>
                ))}
              </select>
            </Field>
            <Field label="Upstream model" name={`targets[${i}].model`} errors={errs}>
              <input name={`targets[${i}].model`} value={t.model} onChange={(e) => setTarget(i, 'model', e.target.value)} placeholder="gpt-4o" />
            </Field>
            <Field label="Weight" name={`targets[${i}].weight`} errors={errs}>
              <input name={`targets[${i}].weight`} inputMode="numeric" value={t.weight} onChange={(e) => setTarget(i, 'weight', e.target.value)} placeholder="1" />
            </Field>
            <Field label="Priority" name={`targets[${i}].priority`} errors={errs}>
              <input name={`targets[${i}].priority`} inputMode="numeric" value={t.priority} onChange={(e) => setTarget(i, 'priority', e.target.value)} placeholder="0" />
            </Field>
            <Field label="$ / 1M in" name={`targets[${i}].pricing.input`} errors={errs}>
              <input inputMode="decimal" value={t.price_in} onChange={(e) => setTarget(i, 'price_in', e.target.value)} placeholder="catalog" />
            </Field>
            <Field label="$ / 1M out" name={`targets[${i}].pricing.output`} errors={errs}>
              <input inputMode="decimal" value={t.price_out} onChange={(e) => setTarget(i, 'price_out', e.target.value)} placeholder="catalog" />
            </Field>
            <button type="button" className="link danger" disabled={f.targets.length === 1} onClick={() => setF({ ...f, targets: f.targets.filter((_, j) => j !== i) })} aria-label={`Remove target ${i + 1}`}>
              Remove
            </button>
          </div>
        ))}
        <button type="button" className="secondary" onClick={() => setF({ ...f, targets: [...f.targets, emptyTarget()] })}>
          Add target
        </button>
      </fieldset>
      <div className="form-grid">
        <Field label="Fallback aliases" name="fallbacks" errors={errs} hint={`Comma separated; e.g. ${models.filter((m) => m !== f.name).slice(0, 2).join(', ') || 'demo'}`}>
          <input name="fallbacks" value={f.fallbacks} onChange={set('fallbacks')} />
        </Field>
        <Field label="Overall timeout (ms)" name="timeout_ms" errors={errs} hint="0 or empty: none">
          <input name="timeout_ms" inputMode="numeric" value={f.timeout_ms} onChange={set('timeout_ms')} />
        </Field>
        <Field label="Price $ / 1M input tokens" name="pricing.input" errors={errs} hint="Overrides the catalog for every target">
          <input name="pricing.input" inputMode="decimal" value={f.price_in} onChange={set('price_in')} placeholder="catalog" />
        </Field>
        <Field label="Price $ / 1M output tokens" name="pricing.output" errors={errs}>
          <input name="pricing.output" inputMode="decimal" value={f.price_out} onChange={set('price_out')} placeholder="catalog" />
        </Field>
      </div>
      <LimitsFields value={f.limits} onChange={(limits) => setF({ ...f, limits })} errors={errs} />
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy} data-testid="model-save">
          {busy ? 'Saving…' : existing ? 'Save' : 'Create model'}
        </button>
      </div>
    </form>
  );
}

export default function Models() {
  const [data, error, loading, reload] = useLoad(() => Promise.all([api.get('/admin/v1/models'), api.get('/admin/v1/providers').catch(() => [])]), []);
  const [editing, setEditing] = useState(null);
  const [actionError, setActionError] = useState(null);
  const list = data ? items(data[0], 'models').map((m) => one(m, 'model')) : [];
  const providers = data ? items(data[1], 'providers').map((p) => one(p, 'provider')) : [];

  async function remove(m) {
    if (!window.confirm(`Delete model "${m.name}"? Callers sending it will get 404.`)) return;
    setActionError(null);
    try {
      await api.del(`/admin/v1/models/${encodeURIComponent(m.name)}`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>Models</h1>
        <button onClick={() => setEditing('new')} data-testid="model-new">
          New model
        </button>
      </div>
      <ErrorBox error={error} onRetry={reload} />
      <ErrorBox error={actionError} />
      {loading && !data ? (
        <Loading />
      ) : (
        <div className="table-wrap card">
          <table data-testid="models-table">
            <thead>
              <tr>
                <th>Alias</th>
                <th>Strategy</th>
                <th>Targets</th>
                <th>Fallbacks</th>
                <th>Limits</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.length === 0 && (
                <tr>
                  <td colSpan={6} className="empty">
                    No models yet.
                  </td>
                </tr>
              )}
              {list.map((m) => (
                <tr key={m.name} data-testid={`model-row-${m.name}`}>
                  <td>
                    <strong>{m.name}</strong>
                  </td>
                  <td>{m.strategy}</td>
                  <td>
                    {(m.targets ?? []).map((t, i) => (
                      <div key={i} className="mono small">
                        {t.provider}/{t.model}
                        {t.weight !== undefined && t.weight !== 1 ? ` ×${t.weight}` : ''}
                        {t.priority ? ` p${t.priority}` : ''}
                      </div>
                    ))}
                  </td>
                  <td>{(m.fallbacks ?? []).join(', ') || <span className="muted">—</span>}</td>
                  <td className="small">{limitsSummary(m.limits) || <span className="muted">—</span>}</td>
                  <td className="actions">
                    {m.builtin ? (
                      <span className="badge">built-in</span>
                    ) : (
                      <>
                    <button className="link" onClick={() => setEditing(m)}>
                      Edit
                    </button>
                    <button className="link danger" onClick={() => remove(m)}>
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
        <Modal title={editing === 'new' ? 'New model' : `Edit model ${editing.name}`} onClose={() => setEditing(null)} wide>
          <ModelForm
            existing={editing === 'new' ? null : editing}
            providers={providers}
            models={list.map((m) => m.name)}
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
