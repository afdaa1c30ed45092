// Who may use the Admin API and what they did: admin keys (role admin or viewer; the secret is
// shown once) and the audit log of every write. The admin key form is made from the schema.
import { useContext, useState } from 'react';
import { api, items } from '../api.js';
import { ResourceForm } from '../components/ResourceForm.jsx';
import { CanWrite, ErrorBox, Loading, Modal, SecretOnce, useLoad } from '../components/ui.jsx';
import { fmtTime } from '../format.js';
import { kindOf, loadSchema } from '../schema.js';
import { ResourceTable } from './Resources.jsx';

const COLUMNS = [
  { title: 'role', cell: (k) => k.role },
  { title: 'prefix', cell: (k) => <code>{k.prefix}…</code> },
  { title: 'created', cell: (k) => fmtTime(k.created_at * 1000) },
];

export default function Access() {
  const [doc] = useLoad(loadSchema, []);
  const [keys, keysError, keysLoading, reloadKeys] = useLoad(() => api.get('/admin/v1/admin_keys'), []);
  const [audit, auditError, auditLoading, reloadAudit] = useLoad(() => api.get('/admin/v1/audit?limit=100'), []);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState(null);
  const kind = kindOf(doc, 'admin_keys');
  const canWrite = useContext(CanWrite);
  const reload = () => {
    reloadKeys();
    reloadAudit();
  };
  return (
    <div className="page">
      <div className="page-head">
        <h1>Access</h1>
        {kind && canWrite && (
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
        kind && (
          <ResourceTable
            kind={kind}
            doc={doc}
            rows={items(keys)}
            columns={COLUMNS}
            actions={(k) =>
              canWrite && (
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
              )
            }
          />
        )
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
        <Modal title="New admin key" onClose={() => setCreating(false)}>
          <ResourceForm
            kind={kind}
            doc={doc}
            onCancel={() => setCreating(false)}
            onDone={(res) => {
              setCreating(false);
              setSecret(res.secret);
              reload();
            }}
          />
        </Modal>
      )}
      {secret && <SecretOnce title="Admin key created" secret={secret} onClose={() => setSecret(null)} />}
    </div>
  );
}
