// undici with the gateway key added to `request` (see shim.mjs).
import * as undici from '../node_modules/undici/index.js';

export * from '../node_modules/undici/index.js';
export default undici;

const key = process.env.TOLLGATE_CONFORMANCE_KEY;
export function request(url, opts = {}) {
  if (!key) return undici.request(url, opts);
  const headers = { ...(opts.headers ?? {}) };
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.authorization = `Bearer ${key}`;
  return undici.request(url, { ...opts, headers });
}
