// The create / edit form of any resource kind, made from its write schema (GET /admin/v1/schema):
// text and number inputs, enums as selects, booleans, nested objects, lists (rows, or chips for
// enums and references), maps (key/value rows), references as selects of existing resources,
// secrets write-only (empty: keep the stored one; a nullable one can be removed), x-only-if fields shown only where they apply.
// The API's field errors show under the field they name ("targets[0].provider").
//
// `widgets` replaces the input of one field path with a kind-specific one: ({value, set, path,
// s, ctx}) => element.
import { useEffect, useState } from 'react';
import { api, items, one, versionOf, withIfMatch } from '../api.js';
import { applies, blank, isNumeric, isScalar, label, nullable, paths, resolve, toBody, toForm, typeOf } from '../schema.js';
import { Field, FormErrors, fieldError, useLoad } from './ui.jsx';

const names = new Map();
/** Names of the existing resources of a kind (for reference selects), fetched once a form. */
function useNames(kind) {
  const [data] = useLoad(() => {
    if (!names.has(kind)) names.set(kind, api.get(`/admin/v1/${kind}`).then((r) => items(r).map((x) => x.name)).catch(() => []));
    return names.get(kind);
  }, [kind]);
  return data ?? [];
}

const placeholder = (s) => (s.default !== undefined && s.default !== null ? `default ${s.default}` : '');

function RefSelect({ s, value, set, path, disabled }) {
  const options = useNames(s['x-reference']);
  const all = value && !options.includes(value) ? [value, ...options] : options;
  return (
    <select name={path} value={value ?? ''} onChange={(e) => set(e.target.value)} disabled={disabled}>
      <option value="">— choose —</option>
      {all.map((n) => (
        <option key={n}>{n}</option>
      ))}
    </select>
  );
}

/** The input of one scalar field. */
function ScalarInput({ s, value, set, path, disabled, ctx }) {
  if (s['x-reference']) return <RefSelect s={s} value={value} set={set} path={path} disabled={disabled} />;
  if (s.enum) {
    const values = s.enum.filter((x) => x !== null);
    return (
      <select name={path} value={value ?? ''} onChange={(e) => set(e.target.value)} disabled={disabled}>
        <option value="">{s.default !== undefined ? `default (${s.default})` : '— none —'}</option>
        {values.map((x) => (
          <option key={x} value={x}>
            {x}
          </option>
        ))}
      </select>
    );
  }
  if (typeOf(s) === 'boolean') {
    return (
      <label className="check">
        <input type="checkbox" name={path} checked={Boolean(value ?? s.default)} onChange={(e) => set(e.target.checked)} disabled={disabled} />
        {value === undefined && <span className="muted small">default {String(s.default ?? false)}</span>}
      </label>
    );
  }
  if (s.writeOnly) {
    // Whether one is stored: a provider's api_key_set, or the paths in secrets_set.
    const stored = ctx.existing?.[`${path}_set`] ?? ctx.existing?.secrets_set?.includes(path);
    const input = (
      <input
        name={path}
        type="password"
        autoComplete="off"
        value={value ?? ''}
        onChange={(e) => set(e.target.value)}
        placeholder={ctx.existing ? (stored === false ? 'not set' : '•••••• (unchanged)') : ''}
        disabled={disabled || value === null}
      />
    );
    if (!stored || !nullable(s)) return input;
    // Left empty the stored one is kept; null (nullable secrets) removes it.
    return (
      <>
        {input}
        <label className="check small">
          <input type="checkbox" name={`${path}:remove`} checked={value === null} onChange={(e) => set(e.target.checked ? null : '')} /> remove the stored one
        </label>
      </>
    );
  }
  return (
    <input
      name={path}
      inputMode={isNumeric(s) ? (typeOf(s) === 'integer' ? 'numeric' : 'decimal') : undefined}
      value={value ?? ''}
      onChange={(e) => set(e.target.value)}
      placeholder={placeholder(s)}
      disabled={disabled}
    />
  );
}

/** A list of enum values or references: one checkbox each. */
export function Chips({ options, value, set, path }) {
  const chosen = value ?? [];
  const all = [...new Set([...options, ...chosen])];
  if (!all.length) return <span className="muted small">none to choose from yet</span>;
  return (
    <div className="chips" data-field={path}>
      {all.map((o) => (
        <label key={o} className="check chip">
          <input type="checkbox" name={`${path}:${o}`} checked={chosen.includes(o)} onChange={(e) => set(e.target.checked ? [...chosen, o] : chosen.filter((x) => x !== o))} /> {o}
        </label>
      ))}
    </div>
  );
}

function RefChips({ kind, ...rest }) {
  return <Chips options={useNames(kind)} {...rest} />;
}

/** A list of strings: one a line. */
function Lines({ value, set, path, rows = 3 }) {
  return <textarea name={path} rows={rows} value={(value ?? []).join('\n')} onChange={(e) => set(e.target.value.split('\n'))} />;
}

function Rows({ entries, render, onAdd, onRemove, addLabel, path }) {
  return (
    <div className="rows" data-field={path}>
      {entries.map((entry, i) => (
        <div className="row-item" key={i} data-testid={`${path}-${i}`}>
          <div className="row-fields">{render(entry, i)}</div>
          <button type="button" className="link danger" onClick={() => onRemove(i)} aria-label={`Remove ${path} ${i + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" className="secondary small" onClick={onAdd}>
        {addLabel}
      </button>
    </div>
  );
}

/** One field of an object: its widget, or the input its type calls for. */
function FieldFor({ name, p, value, set, path, required, ctx }) {
  const s = resolve(p, ctx.doc);
  const t = typeOf(s);
  const text = `${label(name)}${required ? '' : ' (optional)'}`;
  const disabled = ctx.locked?.includes(path);
  const Widget = ctx.widgets?.[path];
  const wrap = (input, wide, group) => (
    <Field key={path} label={text} name={path} errors={ctx.errors} hint={s.description ?? p.description} wide={wide} group={group}>
      {input}
    </Field>
  );
  if (Widget) return wrap(<Widget s={s} value={value} set={set} path={path} ctx={ctx} />, true, true);
  if (isScalar(s)) return wrap(<ScalarInput s={s} value={value} set={set} path={path} disabled={disabled} ctx={ctx} />, false, typeOf(s) === 'boolean' || s.writeOnly);

  if (t === 'array') {
    const item = resolve(s.items, ctx.doc);
    if (item.enum) return wrap(<Chips options={item.enum.filter((x) => x !== null)} value={value} set={set} path={path} />, true, true);
    if (item['x-reference']) return wrap(<RefChips kind={item['x-reference']} value={value} set={set} path={path} />, true, true);
    if (isScalar(item)) return wrap(<Lines value={value} set={set} path={path} />, true);
    const list = value ?? [];
    return (
      <Group key={path} title={text} path={path} hint={s.description} ctx={ctx} open>
        {fieldError(ctx.errors, path) && <div className="field-error">{fieldError(ctx.errors, path)}</div>}
        <Rows
          path={path}
          entries={list}
          addLabel={`Add ${label(name).replace(/s$/, '')}`}
          onAdd={() => set([...list, blank(item, ctx.doc)])}
          onRemove={(i) => set(list.filter((_, j) => j !== i))}
          render={(entry, i) => <ObjectFields s={item} value={entry} onChange={(v) => set(list.map((x, j) => (j === i ? v : x)))} at={`${path}[${i}]`} ctx={ctx} />}
        />
      </Group>
    );
  }
  if (t === 'object' && !s.properties) {
    const rows = value ?? [];
    const item = resolve(s.additionalProperties, ctx.doc);
    return (
      <Group key={path} title={text} path={path} hint={s.description} ctx={ctx} open={rows.length > 0 || isScalar(item)}>
        <Rows
          path={path}
          entries={rows}
          addLabel="Add entry"
          onAdd={() => set([...rows, ['', blank(item, ctx.doc)]])}
          onRemove={(i) => set(rows.filter((_, j) => j !== i))}
          render={([k, v], i) => {
            const put = (nk, nv) => set(rows.map((r, j) => (j === i ? [nk, nv] : r)));
            return (
              <>
                <Field label="name" name={`${path}[${i}]`} errors={ctx.errors}>
                  <input name={`${path}[${i}].name`} value={k} onChange={(e) => put(e.target.value, v)} />
                </Field>
                {isScalar(item) ? (
                  <Field label="value" name={`${path}.${k}`} errors={ctx.errors}>
                    <ScalarInput s={item} value={v} set={(nv) => put(k, nv)} path={`${path}[${i}].value`} ctx={ctx} />
                  </Field>
                ) : (
                  <ObjectFields s={item} value={v} onChange={(nv) => put(k, nv)} at={`${path}.${k}`} ctx={ctx} />
                )}
              </>
            );
          }}
        />
      </Group>
    );
  }
  // A nested object: shared ones (Limits, Budget, Pricing) open, others folded until used.
  const used = value && Object.keys(value).length > 0;
  return (
    <Group key={path} title={text} path={path} hint={s.description} ctx={ctx} open={Boolean(p.$ref) || required || used}>
      <ObjectFields s={s} value={value ?? {}} onChange={set} at={path} ctx={ctx} />
    </Group>
  );
}

/** A fieldset; folded ones open by themselves when an error is inside. */
function Group({ title: text, path, hint, open, ctx, children }) {
  const inside = (ctx.errors ?? []).some((e) => e.field === path || e.field?.startsWith(`${path}.`) || e.field?.startsWith(`${path}[`));
  return (
    <details className="fieldset wide" open={open || inside} data-group={path}>
      <summary>{text}</summary>
      {hint && <span className="field-hint">{hint}</span>}
      {children}
    </details>
  );
}

/** The fields of one object schema: scalars in a grid, then the nested ones. */
export function ObjectFields({ s, value, onChange, at = '', ctx }) {
  s = resolve(s, ctx.doc);
  const required = new Set(s.required ?? []);
  const shown = Object.entries(s.properties ?? {}).filter(([name, p]) => applies(p, value) && !ctx.hidden?.includes(at ? `${at}.${name}` : name));
  const field = ([name, p]) => {
    const path = at ? `${at}.${name}` : name;
    return <FieldFor key={path} name={name} p={p} value={value?.[name]} set={(v) => onChange({ ...value, [name]: v })} path={path} required={required.has(name)} ctx={ctx} />;
  };
  const simple = ([name, p]) => isScalar(resolve(p, ctx.doc)) && !ctx.widgets?.[at ? `${at}.${name}` : name];
  return (
    <>
      <div className="form-grid tight">{shown.filter(simple).map(field)}</div>
      {shown.filter((f) => !simple(f)).map(field)}
    </>
  );
}

/**
 * The form of one kind. `save(body)` sends it (default: POST, or PUT by name on an edit) and
 * its result goes to onDone. `hidden` / `locked`: field paths left out / shown disabled.
 */
export function ResourceForm({ kind, doc, existing, save, widgets, hidden, locked, onDone, onCancel }) {
  const schema = resolve(kind.write, doc);
  useState(() => names.clear()); // reference choices as they are now
  const [value, setValue] = useState(() => {
    const v = toForm(schema, existing ?? {}, doc) ?? {};
    // A new resource starts with one row in each required list of objects (a model's targets).
    for (const name of existing ? [] : (schema.required ?? [])) {
      const p = resolve(schema.properties?.[name], doc);
      if (typeOf(p) === 'array' && typeOf(resolve(p.items, doc)) === 'object' && !v[name]) v[name] = [blank(p.items, doc)];
    }
    return v;
  });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const ctx = { doc, widgets, hidden, locked: existing ? ['name', ...(locked ?? [])] : locked, errors: error?.fields, existing };
  // An edit is saved with If-Match: the version the resource was at when the form opened.
  const resourcePath = existing && `${kind.path}/${encodeURIComponent(existing.id ?? existing.name)}`;
  const [version, setVersion] = useState(null);
  useEffect(() => {
    if (resourcePath) versionOf(resourcePath).then(setVersion, () => setVersion(null));
  }, [resourcePath]);
  const stale = error?.status === 409 && error.code === 'stale_version';

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = toBody(schema, value, doc) ?? {};
      const send = save ?? ((b) => (existing ? api.put(resourcePath, b) : api.post(kind.path, b)));
      onDone(await withIfMatch(version, () => send(body, value)));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  // Someone saved it meanwhile: load theirs (and its version) into the form, to redo the edit.
  async function loadLatest() {
    try {
      const latest = one(await api.get(resourcePath));
      setValue(toForm(schema, latest ?? {}, doc) ?? {});
      setVersion(await versionOf(resourcePath));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <form onSubmit={submit} className="form" data-testid={`form-${kind.name}`} data-version={version ?? ''} noValidate>
      {stale ? (
        <div className="alert error" role="alert" data-testid="stale-version">
          {error.currentVersion === null
            ? `This ${kind.singular} was deleted by someone else since you opened it; your changes were not saved.`
            : `This ${kind.singular} was changed by someone else since you opened it (it is now at version ${error.currentVersion}); your changes were not saved.`}{' '}
          {error.currentVersion !== null && (
            <button type="button" className="link" onClick={loadLatest} data-testid="load-latest">
              Load the latest version
            </button>
          )}
        </div>
      ) : (
        <FormErrors error={error} names={paths(schema, value, doc)} />
      )}
      <ObjectFields s={schema} value={value} onChange={setValue} ctx={ctx} />
      <div className="form-actions">
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" disabled={busy} data-testid={`save-${kind.name}`}>
          {busy ? 'Saving…' : existing ? 'Save' : `Create ${kind.singular}`}
        </button>
      </div>
    </form>
  );
}
