// The Admin API on the same origin, with the admin key from sessionStorage.
//
// The UI is tolerant about list envelopes (a bare array, or {data|items|<name>: [...]}) so it
// keeps working while the API settles; errors follow the gateway's envelope:
// {"error": {"message", "type", "code", "errors": [{"field", "message"}]}}.

const KEY_STORAGE = 'tollgate.adminKey';

export const auth = {
  get: () => sessionStorage.getItem(KEY_STORAGE) || '',
  set: (k) => sessionStorage.setItem(KEY_STORAGE, k),
  clear: () => sessionStorage.removeItem(KEY_STORAGE),
};

const listeners = new Set();
/** Called with no argument when any Admin API call answers 401 (the key stopped working). */
export function onUnauthorized(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export class ApiError extends Error {
  constructor(status, body, fallback) {
    const e = body && typeof body === 'object' ? body.error : null;
    super((e && e.message) || fallback || `HTTP ${status}`);
    this.status = status;
    this.code = e?.code ?? null;
    // Field errors: [{field, message}], from error.errors (or error.fields).
    this.fields = Array.isArray(e?.errors) ? e.errors : Array.isArray(e?.fields) ? e.fields : [];
    // 409 stale_version: the version the resource is at now (null: no longer stored).
    this.currentVersion = e?.current_version ?? null;
  }
}

// The version an edit was loaded at (an ETag), sent as If-Match by the writes `withIfMatch`
// makes: a write made meanwhile by someone else answers 409 instead of being overwritten.
let pendingIfMatch = null;
export function withIfMatch(etag, fn) {
  pendingIfMatch = etag;
  try {
    return fn();
  } finally {
    pendingIfMatch = null;
  }
}

/** The version (ETag) of one resource as the Admin API answers it now; null when it has none. */
export async function versionOf(path) {
  const res = await fetch(path, { headers: { accept: 'application/json', authorization: `Bearer ${auth.get()}` } });
  await res.arrayBuffer();
  return res.ok ? res.headers.get('etag') : null;
}

export async function request(method, path, body, { key = auth.get(), signal, quiet401 = false, ifMatch } = {}) {
  const headers = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  // Read before the first await: only the writes made inside withIfMatch() carry it.
  const match = ifMatch ?? (method === 'GET' || method === 'POST' ? null : pendingIfMatch);
  if (match) headers['if-match'] = match;
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, null, `Cannot reach the gateway: ${err.message}`);
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !quiet401) for (const fn of listeners) fn();
    const fallback = res.status === 404 && !json ? `Not found: ${method} ${path}` : text.slice(0, 200) || res.statusText;
    throw new ApiError(res.status, json, fallback);
  }
  return json;
}

export const api = {
  get: (p, o) => request('GET', p, undefined, o),
  post: (p, b, o) => request('POST', p, b ?? {}, o),
  put: (p, b, o) => request('PUT', p, b, o),
  patch: (p, b, o) => request('PATCH', p, b, o),
  del: (p, o) => request('DELETE', p, undefined, o),
};

/** The array inside a list answer, whatever its envelope. */
export function items(x, ...names) {
  if (Array.isArray(x)) return x;
  if (!x || typeof x !== 'object') return [];
  for (const n of [...names, 'data', 'items']) if (Array.isArray(x[n])) return x[n];
  for (const v of Object.values(x)) if (Array.isArray(v)) return v;
  return [];
}

/** The single resource inside an answer ({data: {...}} or the object itself). */
export function one(x, name) {
  if (!x || typeof x !== 'object') return x;
  if (name && x[name] && typeof x[name] === 'object' && !Array.isArray(x[name])) return x[name];
  if (x.data && typeof x.data === 'object' && !Array.isArray(x.data)) return x.data;
  return x;
}

export function qs(params) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const out = s.toString();
  return out ? `?${out}` : '';
}

/** Model aliases from GET /admin/v1/config (or /admin/v1/models), whatever their shape. */
export function modelNames(config) {
  const list = items(config?.models ?? config, 'models');
  const names = list.map((m) => (typeof m === 'string' ? m : m?.name)).filter(Boolean);
  return [...new Set(names)];
}
