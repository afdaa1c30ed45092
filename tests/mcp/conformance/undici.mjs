// undici with the gateway key added to `request` (see shim.mjs).
import * as undici from '../node_modules/undici/index.js';

export * from '../node_modules/undici/index.js';
export default undici;

const key = process.env.TOLLGATE_CONFORMANCE_KEY;
export function request(url, opts = {}) {
  if (!key) return undici.request(url, opts);
  let headers = opts.headers ?? {};
  if (Array.isArray(headers)) {  // flat [name, value, name, value, ...]
    const names = headers.filter((_, i) => i % 2 === 0).map((h) => String(h).toLowerCase());
    if (!names.includes('authorization')) headers = [...headers, 'authorization', `Bearer ${key}`];
  } else if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
    headers = { ...headers, authorization: `Bearer ${key}` };
  }
  return undici.request(url, { ...opts, headers });
}
