import { useState } from 'react';
import { Logo } from '../components/Logo.jsx';
import { api } from '../api.js';

export default function Login({ onSignedIn, expired }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState(
    expired === 'link'
      ? 'That sign-in link was not accepted (its admin key may have been deleted). Sign in with an admin key.'
      : expired
        ? 'Your session ended: the admin key was refused. Sign in again.'
        : '',
  );
  const [busy, setBusy] = useState(false);

  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const config = await api.get('/admin/v1/config', { key: key.trim(), quiet401: true });
      onSignedIn(key.trim(), config);
    } catch (err) {
      if (err.status === 401 || err.status === 403) setError('That admin key was not accepted.');
      else setError(err.message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login">
      <form className="card login-card" onSubmit={submit} data-testid="login-form">
        <h1>
          <Logo /> Tollgate
        </h1>
        <p className="muted">Sign in with the gateway's admin key (<code>admin.key</code> in tollgate.yaml).</p>
        <label className="field">
          <span className="field-label">Admin key</span>
          <input type="password" name="admin-key" autoComplete="current-password" autoFocus value={key} onChange={(e) => setKey(e.target.value)} required />
        </label>
        {error && (
          <div className="alert error" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
