// Preloaded with `node --import` before the conformance suite (0.2.0-alpha.12) so it runs on
// Node 20 and against an authenticated gateway:
// - `fs.globSync` (Node 22) is supplied to the suite's bundle (it uses it only to find checks.json);
// - every request the suite makes (undici's request and global fetch) carries
//   `Authorization: Bearer $TOLLGATE_CONFORMANCE_KEY`, since the suite has no header option and
//   the gateway admits no anonymous caller.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);

const key = process.env.TOLLGATE_CONFORMANCE_KEY;
if (key) {
  const original = globalThis.fetch;
  globalThis.fetch = (input, init = {}) => {
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has('authorization')) headers.set('authorization', `Bearer ${key}`);
    return original(input, { ...init, headers });
  };
}
