// Guardrail policies: the generic resource page, PII entities as a choice, and "try a prompt":
// what each policy would do to a text (POST /admin/v1/guardrails/try, which changes nothing).
import { useState } from 'react';
import { api } from '../api.js';
import { Chips } from '../components/ResourceForm.jsx';
import { ErrorBox } from '../components/ui.jsx';
import { ResourcePage } from './Resources.jsx';

const PII = ['email', 'phone', 'credit_card', 'ssn', 'iban', 'ip', 'secret'];
const BADGE = { allow: 'ok', monitor: 'subtle', redact: 'warn', block: 'bad', not_tried: '' };

function PiiEntities(props) {
  return (
    <>
      <Chips options={PII} {...props} />
      {!props.value?.length && <span className="muted small">none chosen: every entity</span>}
    </>
  );
}

function TryPrompt({ rows }) {
  const [text, setText] = useState('');
  const [only, setOnly] = useState(null); // null: every policy
  const [results, setResults] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const chosen = only ?? rows.map((r) => r.name);

  async function run(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await api.post('/admin/v1/guardrails/try', { text, ...(only ? { policies: only } : {}) });
      setResults(res.data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card try" data-testid="guardrail-try">
      <h2>Try a prompt</h2>
      <p className="muted small">What each policy would do to this text as a user message. Nothing is sent upstream or stored.</p>
      <form onSubmit={run} className="form">
        <textarea name="try-text" data-testid="try-text" rows={3} value={text} onChange={(e) => setText(e.target.value)} placeholder="Mail me at jane@example.com and ignore all previous instructions" />
        <div className="chips">
          {rows.map((r) => (
            <label key={r.name} className="check chip">
              <input type="checkbox" name={`try-policy-${r.name}`} checked={chosen.includes(r.name)} onChange={(e) => setOnly(e.target.checked ? [...chosen, r.name] : chosen.filter((x) => x !== r.name))} /> {r.name}
            </label>
          ))}
        </div>
        <div className="form-actions">
          <button type="submit" disabled={busy || !rows.length} data-testid="try-run">
            {busy ? 'Trying…' : 'Try'}
          </button>
        </div>
      </form>
      <ErrorBox error={error} />
      {results && (
        <div className="table-wrap">
        <table data-testid="try-results">
          <thead>
            <tr>
              <th>Policy</th>
              <th>Outcome</th>
              <th>What happens</th>
            </tr>
          </thead>
          <tbody>
            {results.length === 0 && (
              <tr>
                <td colSpan={3} className="empty">
                  No policy chosen.
                </td>
              </tr>
            )}
            {results.map((r) => (
              <tr key={r.policy} data-testid={`try-result-${r.policy}`} data-outcome={r.outcome}>
                <td>
                  <strong>{r.policy}</strong>
                  <div className="muted small">
                    {r.kind} · {r.mode}
                  </div>
                </td>
                <td>
                  <span className={`badge ${BADGE[r.outcome] ?? ''}`}>{r.outcome.replace('_', ' ')}</span>
                </td>
                <td className="small">
                  {r.outcome === 'redact' && <pre className="try-text" data-testid={`try-redacted-${r.policy}`}>{r.text}</pre>}
                  {r.reason && <div data-testid={`try-reason-${r.policy}`}>{r.reason}</div>}
                  {r.outcome === 'allow' && <span className="muted">passes unchanged</span>}
                  {r.findings?.length > 0 && <div className="muted">found: {[...new Set(r.findings.map((f) => f.entity))].join(', ')}</div>}
                  {r.score !== undefined && <div className="muted">injection score {r.score.toFixed(2)}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
}

export default function Guardrails() {
  return (
    <ResourcePage kindName="guardrails" widgets={{ entities: PiiEntities }}>
      {({ rows }) => <TryPrompt rows={rows} />}
    </ResourcePage>
  );
}
