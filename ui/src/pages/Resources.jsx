// The page of any resource kind with generic routes: its table and its create / edit form, both
// made from GET /admin/v1/schema. A kind the UI has never heard of (one merged after this UI
// was written) gets this page from the navigation with no code of its own; Providers, Models
// and Guardrails are this page with a few kind-specific widgets.
import { useContext, useState } from 'react';
import { api, items } from '../api.js';
import { BudgetBars, hasBudget } from '../components/BudgetBars.jsx';
import { ResourceForm } from '../components/ResourceForm.jsx';
import { CanWrite, ErrorBox, Loading, Modal, useLoad } from '../components/ui.jsx';
import { kindOf, label, loadSchema, resolve, title, typeOf } from '../schema.js';

const empty = (v) => v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length) || (typeof v === 'object' && !Object.keys(v).length);

/** One value as a short text: lists joined, objects as "600 rpm · 5 tpm" or "provider/model". */
export function summary(v) {
  if (empty(v)) return '';
  if (Array.isArray(v)) return v.map(summary).join(', ');
  if (typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => !empty(x) && typeof x !== 'object');
    if (entries.every(([, x]) => typeof x === 'number')) return entries.map(([k, x]) => `${x} ${k}`).join(' · ');
    const strings = entries.filter(([, x]) => typeof x === 'string').map(([, x]) => x);
    return strings.length ? strings.join('/') : entries.map(([k, x]) => `${k}: ${x}`).join(' · ');
  }
  return String(v);
}

const dash = <span className="muted">—</span>;

/**
 * The table's columns when the page names none: the name, then the kind's fields that some row
 * has a value for, choices and lists before plain values (secrets as
 * "set" when the API says so; booleans and deep objects are for the form), then budget bars
 * when the kind has a budget and a spend.
 */
function defaultColumns(kind, doc, rows) {
  const write = resolve(kind.write, doc).properties ?? {};
  const read = resolve(kind.read, doc);
  const budget = hasBudget(read);
  const first = [];
  const later = [];
  for (const [name, p] of Object.entries(write)) {
    if (name === 'name' || (budget && name === 'budget')) continue;
    const s = resolve(p, doc);
    const t = typeOf(s);
    if (s.writeOnly) {
      if (read.properties?.[`${name}_set`])
        first.push({ title: label(name), cell: (r) => (r[`${name}_set`] ? <span className="badge ok">set</span> : <span className="badge">not set</span>) });
      continue;
    }
    if (t === 'boolean' || (t === 'object' && !p.$ref) || !rows.some((r) => !empty(r[name]))) continue;
    (s.enum || s['x-reference'] || t === 'array' || p.$ref ? first : later).push({ title: label(name), cell: (r) => summary(r[name]) || dash });
  }
  const shown = [...first, ...later].slice(0, 6);
  if (budget) shown.push({ title: 'budget', cell: (r) => <BudgetBars budget={r.budget} spend={r.spend} /> });
  return shown;
}

/** `nameHref(row)`: the name links to a page of its own (a team's). */
export function ResourceTable({ kind, doc, rows, columns, actions, rowKey = (r) => r.name, nameHref }) {
  const cols = columns ?? defaultColumns(kind, doc, rows);
  return (
    <div className="table-wrap card">
      <table data-testid={`table-${kind.name}`}>
        <thead>
          <tr>
            <th>Name</th>
            {cols.map((c) => (
              <th key={c.title}>{c.title}</th>
            ))}
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 && (
            <tr>
              <td colSpan={cols.length + 2} className="empty">
                No {kind.name.replace(/_/g, ' ')} yet.
              </td>
            </tr>
          )}
          {rows.map((r) => (
            <tr key={rowKey(r)} data-testid={`row-${kind.name}-${r.name}`}>
              <td>
                <strong>{nameHref ? <a href={nameHref(r)} data-testid={`open-${kind.name}-${r.name}`}>{r.name}</a> : r.name}</strong>
                {r.id && r.id !== r.name && <div className="mono small muted">{r.id}</div>}
              </td>
              {cols.map((c) => (
                <td key={c.title} className="small">
                  {c.cell(r)}
                </td>
              ))}
              <td className="actions">{r.builtin ? <span className="badge">built-in</span> : actions(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A kind's page. `query` goes on the list's URL; `save(body, existing)` overrides how the form
 * is sent, `onSaved(result)` sees the answer (a secret shown once), `rowActions(row, reload)`
 * adds buttons, `children` goes under the table (the guardrails' "try a prompt").
 */
export function ResourcePage({ kindName, query = '', widgets, hidden, columns, save, onSaved, rowActions, rowKey = (r) => r.name, nameHref, children }) {
  const [data, error, loading, reload] = useLoad(
    () => loadSchema().then((doc) => Promise.all([doc, api.get(`${kindOf(doc, kindName)?.path ?? `/admin/v1/${kindName}`}${query}`)])),
    [kindName],
  );
  const [editing, setEditing] = useState(null); // null | 'new' | a row
  const [actionError, setActionError] = useState(null);
  const canWrite = useContext(CanWrite);
  const doc = data?.[0];
  const kind = kindOf(doc, kindName);
  const rows = data ? items(data[1]) : [];

  async function remove(r) {
    if (!window.confirm(`Delete ${kind.singular} "${r.name}"?`)) return;
    setActionError(null);
    try {
      await api.del(`${kind.path}/${encodeURIComponent(rowKey(r))}`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <div className="page">
      <div className="page-head">
        <h1>{title(kindName)}</h1>
        {kind && canWrite && (
          <button onClick={() => setEditing('new')} data-testid={`new-${kindName}`}>
            New {kind.singular}
          </button>
        )}
      </div>
      {kind?.description && <p className="muted">{kind.description}</p>}
      <ErrorBox error={error} onRetry={reload} />
      <ErrorBox error={actionError} />
      {loading && !data ? (
        <Loading />
      ) : kind ? (
        <ResourceTable
          kind={kind}
          doc={doc}
          rows={rows}
          columns={columns}
          rowKey={rowKey}
          nameHref={nameHref}
          actions={(r) =>
            canWrite && (
            <>
              <button className="link" onClick={() => setEditing(r)} data-testid={`edit-${kindName}-${r.name}`}>
                Edit
              </button>
              {rowActions?.(r, reload, setActionError)}
              <button className="link danger" onClick={() => remove(r)} data-testid={`delete-${kindName}-${r.name}`}>
                Delete
              </button>
            </>
            )
          }
        />
      ) : (
        data && <ErrorBox error={{ message: `The gateway's schema has no kind "${kindName}".` }} />
      )}
      {kind && children?.({ doc, kind, rows, reload })}
      {editing && (
        <Modal title={editing === 'new' ? `New ${kind.singular}` : `Edit ${kind.singular} ${editing.name}`} onClose={() => setEditing(null)} wide>
          <ResourceForm
            kind={kind}
            doc={doc}
            existing={editing === 'new' ? null : editing}
            widgets={widgets}
            hidden={typeof hidden === 'function' ? hidden(editing === 'new' ? null : editing) : hidden}
            save={save && ((body, value) => save(body, editing === 'new' ? null : editing, value))}
            onCancel={() => setEditing(null)}
            onDone={(result) => {
              setEditing(null);
              onSaved?.(result);
              reload();
            }}
          />
        </Modal>
      )}
    </div>
  );
}

/** The page of a kind known only from the schema. */
export default function Resources({ kindName }) {
  return <ResourcePage kindName={kindName} />;
}
