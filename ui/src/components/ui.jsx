// Small building blocks: form fields that show their own API error, a modal, copy buttons.
import { createContext, useCallback, useEffect, useState } from 'react';

/** False when the admin key signed in has role viewer: pages offer no writes. */
export const CanWrite = createContext(true);

/** The message for the field path `name` among the API's field errors ("targets[0].provider"). */
export function fieldError(errors, name) {
  if (!errors?.length) return null;
  // A "providers[0]." style prefix (the file's place of a resource) is not part of the path.
  const norm = (f) => String(f || '').replace(/^(providers|models|keys|guardrails)(\[\d+\]|\.[^.[]+)\.?/, '');
  const hit = errors.find((e) => e.field === name || norm(e.field) === name);
  return hit ? hit.message : null;
}

/** The field errors that no input on the form claims. */
export function unclaimed(errors, names) {
  return (errors || []).filter((e) => !names.some((n) => fieldError([e], n)));
}

/** A labelled input; `group`: several inputs (checkboxes), so a div, not a label that would tick the first. */
export function Field({ label, name, errors, hint, children, wide, group }) {
  const msg = fieldError(errors, name);
  const Tag = group ? 'div' : 'label';
  return (
    <Tag className={`field${wide ? ' wide' : ''}${msg ? ' invalid' : ''}`} data-field={name}>
      <span className="field-label">{label}</span>
      {children}
      {msg ? (
        <span className="field-error" role="alert" data-testid={`error-${name}`}>
          {msg}
        </span>
      ) : hint ? (
        <span className="field-hint">{hint}</span>
      ) : null}
    </Tag>
  );
}

export function FormErrors({ error, names }) {
  if (!error) return null;
  const rest = unclaimed(error.fields, names);
  return (
    <div className="alert error" role="alert" data-testid="form-error">
      <strong>{error.message}</strong>
      {rest.length > 0 && (
        <ul>
          {rest.map((e, i) => (
            <li key={i}>
              <code>{e.field}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Modal({ title, onClose, children, wide, testid }) {
  useEffect(() => {
    const onKey = (e) => e.key === 'Escape' && onClose?.();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose?.()}>
      <div className={`modal${wide ? ' wide' : ''}`} role="dialog" aria-modal="true" aria-label={title} data-testid={testid}>
        <div className="modal-head">
          <h2>{title}</h2>
          {onClose && (
            <button className="icon" onClick={onClose} aria-label="Close">
              ×
            </button>
          )}
        </div>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  );
}

export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the textarea way (clipboard permission denied, plain http on a LAN name)
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function CopyButton({ text, label = 'Copy', testid }) {
  const [state, setState] = useState('');
  return (
    <button
      type="button"
      className="secondary"
      data-testid={testid}
      onClick={async () => {
        const ok = await copyText(typeof text === 'function' ? text() : text);
        setState(ok ? 'Copied' : 'Select and copy');
        setTimeout(() => setState(''), 1500);
      }}
    >
      {state || label}
    </button>
  );
}

export function Empty({ children }) {
  return <div className="empty">{children}</div>;
}

export function Loading() {
  return <div className="loading">Loading…</div>;
}

export function ErrorBox({ error, onRetry }) {
  if (!error) return null;
  return (
    <div className="alert error" role="alert">
      {error.status === 404 ? `This Admin API endpoint is not available (${error.message}).` : error.message}
      {onRetry && (
        <button className="link" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** Loads `fn()` on mount and whenever deps change; returns [data, error, loading, reload]. */
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return [state.data, state.error, state.loading, reload];
}

/** A secret the gateway shows once (a new key, a rotated one): copy it now. */
export function SecretOnce({ title, secret, onClose }) {
  return (
    <Modal title={title} onClose={onClose} testid="secret-modal">
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
    </Modal>
  );
}
