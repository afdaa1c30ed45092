#!/usr/bin/env node
// For UI development only: a fake admin listener that serves ui/dist at /ui and mimics the
// Admin API (in memory) and the Playground's same-origin POST /v1/chat/completions (a fake
// stream). The browser tests run against the real gateway, never this.
//
//   node dev-server.mjs [--port 8081] [--admin-key dev-admin-key]
//   (or `npm run dev` with TOLLGATE_ADMIN=http://127.0.0.1:8081 for hot reload)
//
// With --gateway ADMIN_URL --proxy PROXY_URL it fakes nothing: /ui is served from ui/dist,
// /admin/* goes to a real gateway's admin listener and /v1/* to its proxy listener (what the
// embedded UI and the admin listener's Playground pass-through do, before they are built in).

import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const PORT = Number(arg('--port', 8081));
const ADMIN_KEY = arg('--admin-key', 'dev-admin-key');
const GATEWAY = arg('--gateway', null);
const PROXY = arg('--proxy', null);

// The headers the real /ui route should send too (see ui/README.md).
export const UI_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const state = {
  providers: [{ name: 'openai', kind: 'openai', base_url: 'https://example.invalid/v1', api_key_set: true, timeouts: { connect_ms: 5000, read_ms: 120000, idle_ms: 60000 }, verify_tls: true, headers: {} }],
  models: [
    { name: 'demo', strategy: 'weighted', targets: [{ provider: 'demo', model: 'demo', weight: 1, priority: 0 }], fallbacks: [] },
    { name: 'gpt', strategy: 'weighted', targets: [{ provider: 'openai', model: 'gpt-4o', weight: 1, priority: 0 }], fallbacks: ['demo'] },
  ],
  keys: [],
  secrets: new Map(), // secret -> key id
  records: [],
};

function addKey(body) {
  const secret = `tg-${crypto.randomBytes(18).toString('base64url')}`;
  const hash = crypto.createHash('sha256').update(secret).digest('hex');
  const key = {
    id: `key_${hash.slice(0, 12)}`,
    name: body.name,
    prefix: secret.slice(0, 8),
    models: body.models ?? [],
    expires_at: body.expires_at ?? null,
    limits: body.limits ?? {},
    budget: body.budget ?? {},
    model_limits: {},
    spend: { usd_today: 0, usd_month: 0, usd_total: 0 },
    last_used_at: null,
    revoked: false,
    created_at: Math.floor(Date.now() / 1000),
  };
  state.keys.push(key);
  state.secrets.set(secret, key.id);
  return { key, secret };
}
addKey({ name: 'dev' });

// Some history, so the Overview has something to draw.
(function seed() {
  const now = Date.now();
  for (let i = 0; i < 400; i++) {
    const ts = now - Math.floor(Math.random() * 6 * 3_600_000);
    const model = Math.random() < 0.6 ? 'gpt' : 'demo';
    const status = Math.random() < 0.05 ? 500 : Math.random() < 0.03 ? 429 : 200;
    const input = 20 + Math.floor(Math.random() * 400);
    const output = status === 200 ? 10 + Math.floor(Math.random() * 300) : 0;
    state.records.push(record({ ts, model, status, input, output, key: state.keys[0], stream: Math.random() < 0.5, latency: 200 + Math.random() * 1500 }));
  }
})();

function record({ ts, model, status, input, output, key, stream, latency, ttft }) {
  const m = state.models.find((x) => x.name === model);
  const t = m?.targets?.[0] ?? {};
  const priced = model !== 'demo';
  return {
    request_id: crypto.randomUUID(),
    ts,
    key_id: key?.id ?? null,
    key_name: key?.name ?? null,
    model,
    provider: t.provider ?? null,
    upstream_model: t.model ?? null,
    route: 'chat.completions',
    status,
    stream,
    input_tokens: input,
    output_tokens: output,
    cached_tokens: 0,
    cache_creation_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: priced ? (input * 2.5 + output * 10) / 1e6 : null,
    latency_ms: latency,
    ttft_ms: stream ? (ttft ?? latency * 0.3) : null,
    attempts: 1,
    error: status >= 400 ? (status === 429 ? 'rate_limited' : 'upstream_error') : null,
  };
}

const NAME_RE = /^[A-Za-z0-9._-]+$/;
function validate(kind, b, { creating }) {
  const errors = [];
  const need = (f, v) => (v === undefined || v === null || v === '' ? errors.push({ field: f, message: 'is required' }) : null);
  need('name', b.name);
  if (b.name && !NAME_RE.test(b.name)) errors.push({ field: 'name', message: `"${b.name}" may only contain letters, digits, '.', '_' and '-'` });
  if (creating && b.name && state[kind].some((x) => x.name === b.name)) errors.push({ field: 'name', message: `"${b.name}" already exists` });
  if (kind === 'providers') {
    if (b.kind && !['openai', 'openai-compatible', 'azure', 'anthropic', 'gemini'].includes(b.kind)) errors.push({ field: 'kind', message: 'unknown kind' });
    if (b.base_url && !/^https?:\/\/.+/.test(b.base_url)) errors.push({ field: 'base_url', message: `"${b.base_url}" is not a valid http:// or https:// URL` });
    for (const k of ['connect_ms', 'read_ms', 'idle_ms']) if (b.timeouts?.[k] !== undefined && !Number.isInteger(b.timeouts[k])) errors.push({ field: `timeouts.${k}`, message: 'must be an integer' });
  }
  if (kind === 'models') {
    if (!b.targets?.length) errors.push({ field: 'targets', message: 'needs at least one target' });
    (b.targets ?? []).forEach((t, i) => {
      if (!t.provider) errors.push({ field: `targets[${i}].provider`, message: 'is required' });
      else if (t.provider !== 'demo' && !state.providers.some((p) => p.name === t.provider)) errors.push({ field: `targets[${i}].provider`, message: `unknown provider "${t.provider}"` });
      if (!t.model) errors.push({ field: `targets[${i}].model`, message: 'is required' });
    });
  }
  for (const k of ['rpm', 'rpd', 'tpm', 'tpd', 'concurrency']) {
    const v = b.limits?.[k];
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) errors.push({ field: `limits.${k}`, message: 'must be a positive integer' });
  }
  for (const k of ['usd_per_day', 'usd_per_month', 'usd_total']) {
    const v = b.budget?.[k];
    if (v !== undefined && (typeof v !== 'number' || v < 0)) errors.push({ field: `budget.${k}`, message: 'must be a number >= 0' });
  }
  return errors;
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}
const fail = (res, status, message, code, errors) => send(res, status, { error: { message, type: 'invalid_request_error', param: null, code, ...(errors ? { errors } : {}) } });

async function readJson(req) {
  let s = '';
  for await (const c of req) s += c;
  if (!s) return {};
  return JSON.parse(s);
}

function usage(q) {
  const from = Number(q.get('from') ?? 0);
  const to = Number(q.get('to') ?? Date.now() + 1);
  const bucket = Number(q.get('bucket') ?? 0) * 1000;
  const group = q.get('group_by') ?? 'none';
  const map = new Map();
  for (const r of state.records) {
    if (r.ts < from || r.ts >= to) continue;
    const start = bucket ? Math.floor(r.ts / bucket) * bucket : from;
    const g = group === 'key' ? r.key_id ?? '' : group === 'model' ? r.model ?? '' : group === 'provider' ? r.provider ?? '' : '';
    const id = `${start}|${g}`;
    if (!map.has(id)) map.set(id, { start_ms: start, group: g, label: group === 'key' ? r.key_name ?? g : g, requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, cached_tokens: 0, cache_creation_tokens: 0, reasoning_tokens: 0, cost_usd: 0, unpriced: 0, avg_latency_ms: 0, max_latency_ms: 0, avg_ttft_ms: null, _lat: 0, _ttft: 0, _ttftN: 0 });
    const b = map.get(id);
    b.requests++;
    if (r.status >= 400) b.errors++;
    b.input_tokens += r.input_tokens ?? 0;
    b.output_tokens += r.output_tokens ?? 0;
    if (r.cost_usd === null) b.unpriced++;
    else b.cost_usd += r.cost_usd;
    b._lat += r.latency_ms;
    b.max_latency_ms = Math.max(b.max_latency_ms, r.latency_ms);
    if (r.ttft_ms !== null) {
      b._ttft += r.ttft_ms;
      b._ttftN++;
    }
  }
  return [...map.values()]
    .map(({ _lat, _ttft, _ttftN, ...b }) => ({ ...b, avg_latency_ms: _lat / b.requests, avg_ttft_ms: _ttftN ? _ttft / _ttftN : null }))
    .sort((a, b) => a.start_ms - b.start_ms || a.group.localeCompare(b.group));
}

/** Forwards a request unchanged to `base` (streams both ways). */
function forward(req, res, base) {
  const target = new URL(req.url, base);
  const up = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', (err) => fail(res, 502, `dev-server: ${base} unreachable: ${err.message}`, 'bad_gateway'));
  req.pipe(up);
}

async function fakeChat(req, res) {
  const auth = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  const keyId = state.secrets.get(auth);
  const key = state.keys.find((k) => k.id === keyId && !k.revoked);
  if (!key) return fail(res, 401, 'Invalid API key.', 'invalid_api_key');
  const body = await readJson(req);
  if (!state.models.some((m) => m.name === body.model)) return fail(res, 404, `The model "${body.model}" does not exist.`, 'model_not_found');
  const last = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user')?.content ?? '';
  const words = `Echo from ${body.model}: ${last}`.split(/(\s+)/);
  const started = Date.now();
  const id = crypto.randomUUID();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': id });
  let ttft = null;
  for (const w of words) {
    await new Promise((r) => setTimeout(r, 40));
    if (ttft === null) ttft = Date.now() - started;
    res.write(`data: ${JSON.stringify({ id: 'chatcmpl-dev', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
  }
  const input = JSON.stringify(body.messages).split(/\s+/).length;
  const output = words.filter((w) => w.trim()).length;
  res.write(`data: ${JSON.stringify({ id: 'chatcmpl-dev', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
  res.write(`data: ${JSON.stringify({ id: 'chatcmpl-dev', object: 'chat.completion.chunk', model: body.model, choices: [], usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output } })}\n\n`);
  res.end('data: [DONE]\n\n');
  const r = record({ ts: started, model: body.model, status: 200, input, output, key, stream: true, latency: Date.now() - started, ttft });
  r.request_id = id;
  state.records.push(r);
  key.last_used_at = Math.floor(Date.now() / 1000);
  if (r.cost_usd) for (const k of Object.keys(key.spend)) key.spend[k] += r.cost_usd;
}

function serveUi(pathname, res) {
  const rel = pathname === '/ui' || pathname === '/ui/' ? 'index.html' : pathname.slice('/ui/'.length);
  const file = path.join(here, 'dist', path.normalize(rel));
  if (!file.startsWith(path.join(here, 'dist')) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    if (pathname === '/ui') {
      res.writeHead(308, { location: '/ui/' });
      return res.end();
    }
    return fail(res, 404, 'Not found.', 'not_found');
  }
  const type = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' }[path.extname(file)] ?? 'application/octet-stream';
  const cache = rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
  res.writeHead(200, { 'content-type': type, 'cache-control': cache, ...UI_HEADERS });
  fs.createReadStream(file).pipe(res);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  try {
    if (req.method === 'GET' && (p === '/ui' || p.startsWith('/ui/'))) return serveUi(p, res);
    if (req.method === 'GET' && p === '/') {
      res.writeHead(302, { location: '/ui/' });
      return res.end();
    }
    if (GATEWAY && p.startsWith('/admin/')) return forward(req, res, GATEWAY);
    if (PROXY && p.startsWith('/v1/')) return forward(req, res, PROXY);
    if (req.method === 'POST' && p === '/v1/chat/completions') return await fakeChat(req, res);
    if (!p.startsWith('/admin/v1/')) return fail(res, 404, 'Unknown admin route.', 'unknown_route');
    if (req.headers.authorization !== `Bearer ${ADMIN_KEY}`) return fail(res, 401, 'A valid admin key is required.', 'invalid_admin_key');

    const parts = p.slice('/admin/v1/'.length).split('/').map(decodeURIComponent);
    const [coll, id, action] = parts;
    const m = req.method;
    if (coll === 'config' && m === 'GET') return send(res, 200, { version: '0.1.0-dev', store: { kind: 'sqlite', writable: true }, listen: { proxy: '127.0.0.1:8080', admin: `127.0.0.1:${PORT}` }, models: state.models.map((x) => ({ name: x.name })) });
    if (coll === 'usage' && m === 'GET') return send(res, 200, { data: usage(url.searchParams) });
    if (coll === 'requests' && m === 'GET') {
      if (id) {
        const r = state.records.find((x) => x.request_id === id);
        return r ? send(res, 200, r) : fail(res, 404, 'No such request.', 'not_found');
      }
      const q = url.searchParams;
      let rows = state.records.filter(
        (r) =>
          r.ts >= Number(q.get('from') ?? 0) &&
          r.ts < Number(q.get('to') ?? Infinity) &&
          (!q.get('key') || r.key_id === q.get('key')) &&
          (!q.get('model') || r.model === q.get('model')) &&
          (!q.get('status') || String(r.status) === q.get('status')),
      );
      rows = rows.sort((a, b) => b.ts - a.ts);
      const off = Number(q.get('offset') ?? 0);
      return send(res, 200, { data: rows.slice(off, off + Math.min(1000, Number(q.get('limit') ?? 100))) });
    }
    if (coll === 'providers' || coll === 'models') {
      const list = state[coll];
      const idx = id ? list.findIndex((x) => x.name === id) : -1;
      const view = (x) => (coll === 'providers' ? (({ api_key, ...rest }) => ({ ...rest, api_key_set: !!api_key || !!rest.api_key_set }))(x) : x);
      if (m === 'GET' && !id) return send(res, 200, { data: list.map(view) });
      if (m === 'GET') return idx < 0 ? fail(res, 404, 'Not found.', 'not_found') : send(res, 200, view(list[idx]));
      if (m === 'POST' && !id) {
        const b = await readJson(req);
        const errors = validate(coll, b, { creating: true });
        if (errors.length) return fail(res, 400, 'Invalid resource.', 'invalid_resource', errors);
        list.push(b);
        return send(res, 201, view(b));
      }
      if (m === 'PUT' && id) {
        if (idx < 0) return fail(res, 404, 'Not found.', 'not_found');
        const b = { ...(await readJson(req)), name: id };
        const errors = validate(coll, b, { creating: false });
        if (errors.length) return fail(res, 400, 'Invalid resource.', 'invalid_resource', errors);
        if (coll === 'providers' && !b.api_key) b.api_key_set = list[idx].api_key_set || !!list[idx].api_key;
        list[idx] = b;
        return send(res, 200, view(b));
      }
      if (m === 'DELETE' && id) {
        if (idx < 0) return fail(res, 404, 'Not found.', 'not_found');
        list.splice(idx, 1);
        res.writeHead(204);
        return res.end();
      }
    }
    if (coll === 'keys') {
      const k = id ? state.keys.find((x) => x.id === id) : null;
      if (m === 'GET' && !id) return send(res, 200, { data: state.keys });
      if (id && !k) return fail(res, 404, 'No such key.', 'not_found');
      if (m === 'GET') return send(res, 200, k);
      if (m === 'POST' && !id) {
        const b = await readJson(req);
        const errors = validate('keys', b, { creating: false });
        if (errors.length) return fail(res, 400, 'Invalid key.', 'invalid_resource', errors);
        const { key, secret } = addKey(b);
        return send(res, 201, { ...key, secret });
      }
      if (m === 'PATCH') {
        const b = await readJson(req);
        const errors = validate('keys', { ...k, ...b }, { creating: false });
        if (errors.length) return fail(res, 400, 'Invalid key.', 'invalid_resource', errors);
        Object.assign(k, b);
        return send(res, 200, k);
      }
      if (m === 'POST' && action === 'revoke') {
        k.revoked = true;
        return send(res, 200, k);
      }
      if (m === 'POST' && action === 'rotate') {
        for (const [s, kid] of state.secrets) if (kid === k.id) state.secrets.delete(s);
        const secret = `tg-${crypto.randomBytes(18).toString('base64url')}`;
        state.secrets.set(secret, k.id);
        k.prefix = secret.slice(0, 8);
        return send(res, 200, { ...k, secret });
      }
      if (m === 'DELETE') {
        state.keys = state.keys.filter((x) => x !== k);
        res.writeHead(204);
        return res.end();
      }
    }
    return fail(res, 404, 'Unknown admin route.', 'unknown_route');
  } catch (err) {
    return fail(res, 400, `Bad request: ${err.message}`, 'bad_request');
  }
});

server.listen(PORT, '127.0.0.1', () => {
  const { port } = server.address();
  if (GATEWAY) return console.log(`dev admin listening on http://127.0.0.1:${port}/ui/ (API: ${GATEWAY}, proxy: ${PROXY ?? 'fake'})`);
  console.log(`dev admin listening on http://127.0.0.1:${port}/ui/ (admin key: ${ADMIN_KEY})`);
  for (const [secret, kid] of state.secrets) console.log(`virtual key ${kid}: ${secret}`);
});
