// Who may use the Admin API and what they did: admin keys (role admin or viewer; the secret is
// shown once) and the audit log of every write. The admin key form is made from the schema.
import { useState } from 'react';
import { api, items } from '../api.js';
import { SchemaFields, formBody, formDefaults } from '../components/SchemaForm.jsx';
import { CopyButton, ErrorBox, FormErrors, Loading, Modal, useLoad } from '../components/ui.jsx';
import { fmtTime } from '../format.js';

function NewAdminKey({ schema, onDone }) {
  const [values, setValues] = useState(formDefaults(schema));
  const [error, setError] = useState(null);
  const [secret, setSecret] = useState(null);
  async function submit(e) {
    e.preventDefault();
    setError(null);
    try {
      const res = await api.post('/admin/v1/admin_keys', formBody(schema, values));
      setSecret(res.secret);
    } catch (err) {
      setError(err);
    }
  }
  if (secret) {
    return (
      <Modal title="Admin key created" onClose={onDone} testid="admin-key-secret">
        <p>Copy it now: it is shown once, only its hash is stored.</p>
        <code className="secret-box" data-testid="admin-key-secret-value">{secret}</code>
        <CopyButton text={secret} />
        <button onClick={onDone}>Done</button>
      </Modal>
    );
  }
  return (
    <Modal title="New admin key" onClose={onDone} testid="admin-key-form">
      <form onSubmit={submit} className="form" noValidate>
        <div className="form-grid">
          <SchemaFields schema={schema} values={values} onChange={setValues} errors={error?.fields} />
        </div>
        <FormErrors error={error} names={Object.keys(schema.properties)} />
        <button type="submit">Create</button>
      </form>
    </Modal>
  );
}

export default function Access() {
  const [schema] = useLoad(() => api.get('/admin/v1/schema'), []);
  const [keys, keysError, keysLoading, reloadKeys] = useLoad(() => api.get('/admin/v1/admin_keys'), []);
  const [audit, auditError, auditLoading, reloadAudit] = useLoad(() => api.get('/admin/v1/audit?limit=100'), []);
  const [creating, setCreating] = useState(false);
  const kind = schema?.kinds?.find((k) => k.name === 'admin_keys');
  const reload = () => {
    reloadKeys();
    reloadAudit();
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Access</h1>
        {kind && (
          <button data-testid="admin-key-new" onClick={() => setCreating(true)}>
            New admin key
          </button>
        )}
      </div>
      <p className="muted">{kind?.description}</p>
      <ErrorBox error={keysError} onRetry={reloadKeys} />
      {keysLoading && !keys ? (
        <Loading />
      ) : (
        <div className="table-wrap card">
        <table data-testid="admin-keys">
          <thead>
            <tr><th>Name</th><th>Role</th><th>Prefix</th><th>Created</th><th /></tr>
          </thead>
          <tbody>
            {items(keys).map((k) => (
              <tr key={k.name}>
                <td>{k.name}</td>
                <td>{k.role}</td>
                <td><code>{k.prefix}…</code></td>
                <td>{fmtTime(k.created_at * 1000)}</td>
                <td>
                  <button
                    className="link danger"
                    onClick={async () => {
                      if (!window.confirm(`Delete admin key ${k.name}? It stops working at once.`)) return;
                      await api.del(`/admin/v1/admin_keys/${encodeURIComponent(k.name)}`);
                      reload();
                    }}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      <h2>Audit log</h2>
      <ErrorBox error={auditError} onRetry={reloadAudit} />
      {auditLoading && !audit ? (
        <Loading />
      ) : (
        <div className="table-wrap card">
        <table data-testid="audit-log">
          <thead>
            <tr><th>When</th><th>Who</th><th>What</th><th>Status</th><th>Change</th></tr>
          </thead>
          <tbody>
            {items(audit).map((e, i) => (
              <tr key={i}>
                <td>{fmtTime(e.ts)}</td>
                <td>{e.actor}</td>
                <td><code>{e.action}</code></td>
                <td>{e.status}</td>
                <td>
                  <details>
                    <summary>{e.kind} {e.name}</summary>
                    <pre className="small">{JSON.stringify({ before: e.before, after: e.after }, null, 1)}</pre>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {creating && kind && (
        <NewAdminKey
          schema={kind.write}
          onDone={() => {
            setCreating(false);
            reload();
          }}
        />
      )}
    </div>
  );
}
