// No credential leaves the gateway (issue 8): not in a log line, an error, a metric, a record
// or an API response.
//
// Every credential is a canary: a distinctive random string per run, for each provider kind
// (OpenAI, Anthropic, Gemini, Azure, Bedrock access key / secret / session token, an
// openai-compatible key and a secret extra header, OPENAI_API_KEY picked up from the
// environment), the admin key and the virtual keys. Two gateways hold them: one reads them from
// a YAML resources file through ${ENV} references, the other is given them through the Admin API
// and keeps them sealed in SQLite (its virtual keys are generated, and seen once).
//
// Then traffic that could echo a credential: success, streamed and not, on every kind and both
// dialects; upstream 401/403/429/500 answers that echo the key back (tests/mocks/leaky-mock.mjs),
// text and HTML error pages holding it, in-stream errors holding it; connection refused, read
// and idle timeouts; wrong virtual keys (a provider key sent by mistake among them), wrong admin
// keys; a prompt that carries every credential, with body capture on; a reload of a file whose
// credential fields hold credentials in the wrong shape, and `tollgate validate` of it; an older
// SQLite store that kept credentials in plain text, opened by this gateway.
//
// And then every surface is read and searched for every canary (plain, JSON-escaped,
// URL-encoded, hex, base64 at each alignment, and any 12-character piece): the responses the
// clients got (bodies and headers), the gateway's stdout and stderr (access log and logs),
// /metrics, every Admin API read (providers, models, keys, guardrails, usage, request log,
// config, OpenAPI), the capture file, the OTLP payloads, and every file in the data directory
// (the SQLite store and its WAL, the usage database) while running and after exit. Each surface
// is also checked for having seen the traffic, so an empty surface cannot pass.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { startBedrockMock } from '../mocks/bedrock-mock.mjs';
import { startGeminiMock } from '../mocks/gemini-mock.mjs';
import { startLeakyMock } from '../mocks/leaky-mock.mjs';
import {
  cleanupScope, closedPort, makeTempDir, processConfig, runTollgate, startGateway, startMock, waitFor, writeConfig,
} from './harness.mjs';

const T = { timeout: 30_000 };
const REGION = 'us-east-1';
const LEAK_BEHAVIOURS = ['leak-401', 'leak-403', 'leak-429', 'leak-500', 'leak-partial-401', 'leak-text-401', 'leak-html-502'];

// ---------------------------------------------------------------------------------------------
// Canaries.

const hex = (n) => crypto.randomBytes(n).toString('hex');
const from = (alphabet, n) => Array.from(crypto.randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Credentials in each provider's real format, distinctive per run and per gateway (`tag`). */
function makeCanaries(tag) {
  return {
    openai: `sk-canary-openai-${tag}0${hex(16)}`,
    anthropic: `sk-ant-api03-canary-${tag}1${hex(16)}`,
    gemini: `AIza${`Canary${tag}Gem`.padEnd(12, 'x')}${from(ALNUM, 23)}`, // AIza + 35
    azure: hex(16), // Azure keys are 32 hex digits: no pattern knows them
    bedrockAkid: `AKIA${from('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', 16)}`,
    bedrockSecret: `Canary${tag}/Bedrock+${from(ALNUM, 40)}`.slice(0, 40),
    bedrockSession: `IQoJcanarySession${tag}${from(ALNUM, 40)}`,
    compat: `cmp-canary-${tag}-${hex(16)}`,
    header: `hdr-canary-${tag}-${hex(16)}`,
    envOpenai: `sk-canary-envkey-${tag}2${hex(16)}`,
    admin: `adm-canary-${tag}-${hex(16)}`,
  };
}

/** What a canary may look like once a surface got hold of it. */
function needlesOf(value) {
  const out = [{ form: 'plain', s: value }];
  const add = (form, s) => {
    if (s && s !== value && s.length >= 12 && !out.some((n) => n.s === s)) out.push({ form, s });
  };
  add('json-escaped', value.replaceAll('/', '\\/'));
  add('url-encoded', encodeURIComponent(value));
  add('hex', Buffer.from(value).toString('hex'));
  for (let shift = 0; shift < 3; shift++) {
    // The part of the base64 that does not depend on the bytes around the canary.
    const buf = Buffer.concat([Buffer.alloc(shift, 0x20), Buffer.from(value)]);
    const core = buf.toString('base64').slice(shift ? 4 : 0, 4 * Math.floor(buf.length / 3));
    add(`base64 (offset ${shift})`, core);
    add(`base64url (offset ${shift})`, core.replaceAll('+', '-').replaceAll('/', '_'));
  }
  for (let i = 0; i + 12 <= value.length; i++) out.push({ form: `12-char piece at ${i}`, s: value.slice(i, i + 12) });
  return out;
}

/** Findings of `canaries` ([{name, value}]) in `text`, the first form found for each. */
function leaksIn(text, canaries, allowed = new Set()) {
  const found = [];
  if (!text) return found;
  for (const c of canaries) {
    if (allowed.has(c.value)) continue;
    c.needles ??= needlesOf(c.value);
    for (const n of c.needles) {
      const at = text.indexOf(n.s);
      if (at < 0) continue;
      const context = text.slice(Math.max(0, at - 80), at + n.s.length + 40).replace(/\s+/g, ' ').replace(/[^\x20-\x7e]/g, '.');
      found.push({ canary: c.name, form: n.form, context });
      break;
    }
  }
  return found;
}

/** Searches every item ({where, text, allowed}) and fails with each finding spelled out. */
function assertNoLeaks(surface, items, canaries, hint = '') {
  const findings = [];
  for (const item of items) {
    for (const f of leaksIn(item.text, canaries, item.allowed)) findings.push(`  - ${f.canary} (${f.form}) in ${item.where}: …${f.context}…`);
  }
  const byCredential = {};
  for (const f of findings) {
    const name = f.slice(4, f.indexOf(' ('));
    byCredential[name] = (byCredential[name] ?? 0) + 1;
  }
  const summary = Object.entries(byCredential).map(([k, n]) => `${k} x${n}`).join(', ');
  assert.equal(findings.length, 0,
    `credentials leak through ${surface}: ${findings.length} finding(s) (${summary})${hint ? `\n${hint}` : ''}\n` +
    `${findings.slice(0, 60).join('\n')}${findings.length > 60 ? `\n  ... and ${findings.length - 60} more` : ''}`);
}

// ---------------------------------------------------------------------------------------------
// Every HTTP answer a client got, body and headers, recorded through the SDKs' `fetch` option.

function makeRecorder() {
  const responses = [];
  const pending = [];
  const entries = new WeakMap();
  const fetchWith = (label) => async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input.url ?? String(input));
    let what = label ?? '';
    if (!what && typeof init.body === 'string') {
      try {
        const model = JSON.parse(init.body)?.model;
        if (model) what = `model=${model}`;
      } catch {
        // not JSON
      }
    }
    const res = await fetch(input, init);
    const entry = {
      where: `${init.method ?? 'GET'} ${url.pathname}${url.search} ${what} -> ${res.status}`.replace(/\s+/g, ' '),
      status: res.status,
      path: url.pathname,
      headers: [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n'),
      requestId: res.headers.get('x-request-id'),
      body: '',
      allowedInBody: new Set(), // canaries this one answer may carry (a key's creation, the caller's own prompt)
    };
    responses.push(entry);
    entries.set(res, entry);
    // A tee of the body: the client reads its own copy, at its own pace.
    pending.push(res.clone().text().then((t) => (entry.body = t), (err) => (entry.body = `(body not read: ${err?.name})`)));
    return res;
  };
  return { responses, fetchWith, entryOf: (res) => entries.get(res), settled: () => Promise.allSettled(pending) };
}

/** One raw request through the recorder; returns { status, text, json, entry }. */
async function send(rec, url, { method = 'POST', body, headers = {}, label } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(15_000) };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await rec.fetchWith(label)(url, init);
  const entry = rec.entryOf(res);
  const text = await res.text().catch((err) => `(body not read: ${err?.name})`);
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, text, json, entry };
}

// ---------------------------------------------------------------------------------------------
// An OTLP/HTTP receiver that keeps every payload as posted.

async function startOtlpReceiver(scope) {
  const posts = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ headers: JSON.stringify(req.headers), body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  scope.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const spans = () => posts.flatMap((p) => JSON.parse(p.body).resourceSpans?.flatMap((rs) => rs.scopeSpans?.flatMap((ss) => ss.spans ?? []) ?? []) ?? []);
  return { url: `http://127.0.0.1:${server.address().port}/v1/traces`, posts, spans };
}

/** Every file under `dir`, as { where, text } (bytes read as latin1: canaries are ASCII). */
async function filesUnder(dir, label) {
  const out = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath ?? e.path, e.name);
    const bytes = await fs.readFile(file).catch(() => null);
    if (bytes) out.push({ where: `${label} ${path.relative(dir, file)} (${bytes.length} bytes)`, name: path.relative(dir, file), text: bytes.toString('latin1') });
  }
  return out;
}

/** Runs the sqlite3 shell; resolves to its stdout, or null when there is no sqlite3 here. */
function sqlite3(args) {
  return new Promise((resolve, reject) => execFile('sqlite3', args, { timeout: 10_000 }, (err, stdout, stderr) => {
    if (err?.code === 'ENOENT') resolve(null);
    else if (err) reject(new Error(`sqlite3 ${args.join(' ')}: ${stderr || err.message}`));
    else resolve(stdout);
  }));
}

// ---------------------------------------------------------------------------------------------
// A world: the mocks, a gateway holding the canaries (from YAML or through the Admin API), the
// traffic, and every surface read back.

const ENV_OF = {
  openai: 'CRED_OPENAI', anthropic: 'CRED_ANTHROPIC', gemini: 'CRED_GEMINI', azure: 'CRED_AZURE',
  bedrock: 'CRED_BEDROCK', bedrockSecretOnly: 'CRED_BEDROCK_SECRET_ONLY', compat: 'CRED_COMPAT', header: 'CRED_HEADER',
};

function providerDocs(C, m, deadPort, value) {
  const t = (ms) => ({ connect_ms: 1000, read_ms: ms, idle_ms: ms });
  return [
    { name: 'oai', kind: 'openai', base_url: m.openai.baseURL, api_key: value('openai'), timeouts: t(5000) },
    { name: 'oai-short', kind: 'openai', base_url: m.openai.baseURL, api_key: value('openai'), timeouts: t(1000) },
    { name: 'ant', kind: 'anthropic', base_url: m.anthropic.url, api_key: value('anthropic'), timeouts: t(5000) },
    { name: 'ant-short', kind: 'anthropic', base_url: m.anthropic.url, api_key: value('anthropic'), timeouts: t(1000) },
    { name: 'gem', kind: 'gemini', base_url: m.gemini.url, api_key: value('gemini'), timeouts: t(5000) },
    { name: 'br', kind: 'bedrock', base_url: m.bedrock.url, api_key: value('bedrock'), api_version: REGION, timeouts: t(5000) },
    { name: 'az', kind: 'azure', base_url: m.leaky.url, api_key: value('azure'), api_version: '2024-10-21', timeouts: t(5000) },
    {
      name: 'compat', kind: 'openai-compatible', base_url: `${m.leaky.url}/v1`, api_key: value('compat'),
      headers: { 'x-extra-auth-token': value('header'), 'x-team': 'blue' }, timeouts: t(5000),
    },
    { name: 'leak-oai', kind: 'openai', base_url: `${m.leaky.url}/v1`, api_key: value('openai'), timeouts: t(5000) },
    { name: 'leak-ant', kind: 'anthropic', base_url: m.leaky.url, api_key: value('anthropic'), timeouts: t(5000) },
    { name: 'leak-gem', kind: 'gemini', base_url: m.leaky.url, api_key: value('gemini'), timeouts: t(5000) },
    { name: 'leak-br', kind: 'bedrock', base_url: m.leaky.url, api_key: value('bedrock'), api_version: REGION, timeouts: t(5000) },
    // The secret alone, without its access key id: a misconfiguration the gateway must explain without quoting it.
    { name: 'br-misconfigured', kind: 'bedrock', base_url: m.bedrock.url, api_key: value('bedrockSecretOnly'), api_version: REGION, timeouts: t(5000) },
    { name: 'dead', kind: 'openai', base_url: `http://127.0.0.1:${deadPort}/v1`, api_key: value('openai'), timeouts: t(1000) },
    { name: 'dead-ant', kind: 'anthropic', base_url: `http://127.0.0.1:${deadPort}`, api_key: value('anthropic'), timeouts: t(1000) },
  ];
}

const MODELS = [
  { name: 'gpt', targets: [{ provider: 'oai', model: 'gpt-4o' }], pricing: { input: 2, output: 8 } },
  { name: 'claude', targets: [{ provider: 'ant', model: 'claude-sonnet-4-5' }] },
  { name: 'gem', targets: [{ provider: 'gem', model: 'gemini-2.0-flash' }] },
  { name: 'az', targets: [{ provider: 'az', model: 'gpt4o-deploy' }] },
  { name: 'br', targets: [{ provider: 'br', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }] },
  { name: 'compat', targets: [{ provider: 'compat', model: 'local-model' }] },
];

async function startWorld(scope, mode) {
  const C = makeCanaries(mode === 'file' ? 'F' : 'S');
  const started = async (mock) => {
    scope.after(() => mock.close());
    return mock;
  };
  const m = {
    openai: await startMock(scope, { apiKey: C.openai }),
    anthropic: await started(await startAnthropicMock({ apiKey: C.anthropic })),
    gemini: await started(await startGeminiMock({ apiKey: C.gemini })),
    bedrock: await started(await startBedrockMock({ accessKeyId: C.bedrockAkid, secretAccessKey: C.bedrockSecret, sessionToken: C.bedrockSession, region: REGION })),
    leaky: await started(await startLeakyMock()),
  };
  const otlp = await startOtlpReceiver(scope);
  const dir = await makeTempDir(scope, 'tollgate-cred-');
  const deadPort = await closedPort();

  const secretOf = {
    openai: C.openai, anthropic: C.anthropic, gemini: C.gemini, azure: C.azure, compat: C.compat, header: C.header,
    bedrock: `${C.bedrockAkid}:${C.bedrockSecret}:${C.bedrockSession}`, bedrockSecretOnly: C.bedrockSecret,
  };
  const env = {
    TOLLGATE_ADMIN_KEY: C.admin,
    OPENAI_API_KEY: C.envOpenai, // the gateway's built-in `openai` provider, reached as openai/<model>
    OPENAI_BASE_URL: `${m.leaky.url}/v1`,
  };
  for (const [k, v] of Object.entries(ENV_OF)) env[v] = secretOf[k];

  const canaries = [
    { name: 'OpenAI key', value: C.openai }, { name: 'Anthropic key', value: C.anthropic },
    { name: 'Gemini key', value: C.gemini }, { name: 'Azure key', value: C.azure },
    { name: 'Bedrock access key id', value: C.bedrockAkid }, { name: 'Bedrock secret access key', value: C.bedrockSecret },
    { name: 'Bedrock session token', value: C.bedrockSession }, { name: 'openai-compatible key', value: C.compat },
    { name: 'secret extra header', value: C.header }, { name: 'OPENAI_API_KEY from the environment', value: C.envOpenai },
    { name: 'admin key', value: C.admin },
  ];

  const tollgate = processConfig({
    store: mode === 'file' ? { kind: 'file', path: 'resources.yaml' } : { kind: 'sqlite', path: './db.sqlite' },
    extra: {
      admin: { key: '${TOLLGATE_ADMIN_KEY}' },
      log: { level: 'trace', access_log: true },
      usage: { backend: 'sqlite', retention_days: 30 },
      tracing: { otlp_endpoint: otlp.url, service_name: 'tollgate-credentials-test' },
      capture: { sample_rate: 1 },
    },
  });
  const vkeys = {};
  let resources;
  if (mode === 'file') {
    // Everything secret is a ${ENV} reference: the files on disk hold no canary either.
    vkeys.all = `tg-canary-vkey-all-${hex(16)}`;
    vkeys.limited = `tg-canary-vkey-limited-${hex(16)}`;
    env.VK_ALL = vkeys.all;
    env.VK_LIMITED = vkeys.limited;
    resources = {
      providers: providerDocs(C, m, deadPort, (k) => `\${${ENV_OF[k]}}`),
      models: MODELS,
      keys: [{ name: 'all', key_env: 'VK_ALL' }, { name: 'limited', key: '${VK_LIMITED}', models: ['gpt'] }],
    };
  }
  let legacy = false;
  if (mode === 'sqlite' && (await sqlite3(['-version'])) !== null) {
    // A store written before credentials were sealed: a provider row with its key and a secret
    // header in plain text, as older gateways left them. Opening the store must seal them.
    C.legacyKey = `lgc-canary-${hex(16)}`;
    C.legacyHeader = `lgh-canary-${hex(16)}`;
    const doc = JSON.stringify({ name: 'legacy', kind: 'openai-compatible', base_url: `${m.leaky.url}/v1`, api_key: C.legacyKey, headers: { 'x-legacy-token': C.legacyHeader } });
    await sqlite3([path.join(dir, 'db.sqlite'),
      `CREATE TABLE providers (name TEXT PRIMARY KEY, doc TEXT NOT NULL, updated_at INTEGER); INSERT INTO providers VALUES ('legacy', '${doc.replaceAll("'", "''")}', 0);`]);
    canaries.push({ name: 'plain-text key of an older store', value: C.legacyKey }, { name: 'plain-text header of an older store', value: C.legacyHeader });
    legacy = true;
  }
  const { configPath } = await writeConfig(dir, { tollgate, resources });
  const gw = await startGateway(scope, { configPath, env });
  const rec = makeRecorder();
  const w = { mode, C, m, otlp, dir, gw, rec, env, vkeys, canaries, legacy, admin: (method, p, opts = {}) => adminCall(w, method, p, opts) };

  if (mode === 'sqlite') await provisionThroughAdminApi(w, deadPort);
  for (const [name, value] of Object.entries(w.vkeys)) canaries.push({ name: `virtual key ${name}`, value });
  return w;
}

function adminCall(w, method, p, { body, key = w.C.admin, headers = {} } = {}) {
  return send(w.rec, `${w.gw.adminURL}/admin/v1${p}`, {
    method, body, headers: { ...(key !== null ? { authorization: `Bearer ${key}` } : {}), ...headers },
  });
}

/** The SQLite world: providers (literal secrets, one ${ENV} reference), models and keys written through the Admin API. */
async function provisionThroughAdminApi(w, deadPort) {
  const { C, m } = w;
  // Literal secrets, sealed by the store; the Gemini key stays a reference, resolved at each load.
  const docs = providerDocs(C, m, deadPort, (k) => (k === 'gemini' ? '${CRED_GEMINI}' : w.env[ENV_OF[k]]));
  for (const doc of docs) {
    const r = await w.admin('POST', '/providers', { body: doc });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.api_key_set, true);
  }
  // A rewrite that leaves the credentials out keeps them (write-only credentials).
  const compat = docs.find((d) => d.name === 'compat');
  const put = await w.admin('PUT', '/providers/compat', { body: { kind: compat.kind, base_url: compat.base_url, headers: { 'x-team': 'green' }, timeouts: compat.timeouts } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json.secret_headers, ['x-extra-auth-token']);
  // Refused writes that carry a credential must not echo it either.
  for (const bad of [
    { name: 'bad1', kind: 'nope', api_key: C.openai },
    { name: 'bad2', kind: 'openai', api_key: C.openai, timeouts: { connect_ms: 'soon' } },
    { name: 'bad3', kind: 'openai', api_key: C.openai, base_url: 'ftp://nowhere' },
    { name: 'oai', kind: 'openai', api_key: C.openai },
  ]) {
    const r = await w.admin('POST', '/providers', { body: bad });
    assert.ok(r.status === 400 || r.status === 409, r.text);
  }
  for (const model of MODELS) {
    const r = await w.admin('POST', '/models', { body: model });
    assert.equal(r.status, 201, r.text);
  }
  for (const [name, models] of [['all', []], ['limited', ['gpt']], ['rotating', ['gpt']], ['revoked', ['gpt']]]) {
    const r = await w.admin('POST', '/keys', { body: { name, models } });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.secret, /^tg-/);
    r.entry.allowedInBody.add(r.json.secret); // the one answer that may show it
    w.vkeys[name] = r.json.secret;
    w.keyIds = { ...w.keyIds, [name]: r.json.id };
  }
}

// ---------------------------------------------------------------------------------------------
// The traffic.

async function drive(w) {
  const { gw, C, rec, vkeys } = w;
  const oa = (key = vkeys.all) => new OpenAI({ baseURL: gw.baseURL, apiKey: key, maxRetries: 0, timeout: 10_000, fetch: rec.fetchWith() });
  const an = (key = vkeys.all) => new Anthropic({ baseURL: gw.proxyURL, apiKey: key, maxRetries: 0, timeout: 10_000, fetch: rec.fetchWith() });
  const chatURL = `${gw.baseURL}/chat/completions`;
  const messagesURL = `${gw.proxyURL}/v1/messages`;
  const bearer = (k) => ({ authorization: `Bearer ${k}` });
  const anthropicHeaders = (k) => ({ 'x-api-key': k, 'anthropic-version': '2023-06-01' });
  const user = (text) => [{ role: 'user', content: text }];
  const chat = (model, extra = {}) => ({ model, messages: user(`leak check ${model}`), ...extra });
  const message = (model, extra = {}) => ({ model, max_tokens: 64, messages: user(`leak check ${model}`), ...extra });
  const failed = (r, what) => assert.ok(r.status >= 400, `${what}: expected an error, got ${r.status} ${r.text.slice(0, 300)}`);

  // The slow ones run alongside the rest: a read timeout on each dialect, an idle timeout mid-stream.
  const slow = Promise.all([
    send(rec, chatURL, { body: chat('oai-short/mock-hang'), headers: bearer(vkeys.all) }),
    send(rec, chatURL, { body: chat('oai-short/mock-stall-stream', { stream: true }), headers: bearer(vkeys.all) }),
    send(rec, messagesURL, { body: message('ant-short/mock-hang'), headers: anthropicHeaders(vkeys.all) }),
  ]);

  // Success on every provider kind, stream and not.
  for (const model of ['gpt', 'claude', 'gem', 'az', 'br', 'compat', 'openai/gpt-4o']) {
    const r = await oa().chat.completions.create({ model, messages: user(`hello ${model}`) });
    assert.equal(r.choices[0].message.content, `Echo: hello ${model}`, model);
    const s = await oa().chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: user(`stream ${model}`) });
    let text = '';
    for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, `Echo: stream ${model}`, `${model} stream`);
  }
  for (const model of ['claude', 'gpt']) {
    const r = await an().messages.create({ model, max_tokens: 64, messages: user(`hi ${model}`) });
    assert.equal(r.content[0].text, `Echo: hi ${model}`);
    const final = await an().messages.stream({ model, max_tokens: 64, messages: user(`stream ${model}`) }).finalMessage();
    assert.equal(final.content[0].text, `Echo: stream ${model}`);
  }
  if (w.legacy) {
    const r = await oa().chat.completions.create({ model: 'legacy/old-model', messages: user('hello legacy') });
    assert.equal(r.choices[0].message.content, 'Echo: hello legacy', 'the resealed credentials still work');
  }
  await oa().embeddings.create({ model: 'oai/text-embedding-3-small', input: 'embed me' });
  const resp = await oa().responses.create({ model: 'oai/gpt-4o', input: 'respond please' });
  assert.match(resp.output_text, /respond please/);
  // The Playground on the admin listener is the proxy's request path too.
  const playground = await send(rec, `${gw.adminURL}/v1/chat/completions`, { body: chat('gpt'), headers: bearer(vkeys.all) });
  assert.equal(playground.status, 200, playground.text);

  // A caller pastes every credential into a prompt: the answer echoes it to that caller (its own
  // text), but a captured body must not keep it.
  const everything = w.canaries.map((c) => c.value).join(' and '); // the virtual keys included
  for (const stream of [false, true]) {
    const r = await send(rec, chatURL, { body: chat('gpt', { stream, messages: user(`keep these safe: ${everything}`) }), headers: bearer(vkeys.all) });
    assert.equal(r.status, 200, r.text);
    for (const c of w.canaries) r.entry.allowedInBody.add(c.value);
    r.entry.carriesCredentialsInPrompt = true;
  }

  // Upstream errors that echo the credentials, every provider dialect, both caller dialects (one
  // provider after another within each, the providers side by side: 5xx answers are retried).
  await Promise.all(['leak-oai', 'leak-ant', 'leak-gem', 'leak-br', 'az', 'compat', 'openai'].map(async (p) => {
    for (const b of LEAK_BEHAVIOURS) failed(await send(rec, chatURL, { body: chat(`${p}/${b}`), headers: bearer(vkeys.all) }), `${p}/${b}`);
    const s = await send(rec, chatURL, { body: chat(`${p}/leak-stream-error`, { stream: true }), headers: bearer(vkeys.all) });
    assert.ok(s.status >= 400 || /error/.test(s.text), `${p}/leak-stream-error: ${s.status} ${s.text.slice(0, 300)}`);
  }));
  // Targets of their own (a model name with a suffix): the ones above are cooling down or have
  // their circuit open by now, and these must reach the upstream.
  await Promise.all(['leak-ant', 'leak-oai', 'leak-gem', 'leak-br'].map(async (p) => {
    for (const b of LEAK_BEHAVIOURS) failed(await send(rec, messagesURL, { body: message(`${p}/${b}-via-messages`), headers: anthropicHeaders(vkeys.all) }), `messages ${p}/${b}`);
    await send(rec, messagesURL, { body: message(`${p}/leak-stream-error-via-messages`, { stream: true }), headers: anthropicHeaders(vkeys.all) });
  }));
  await assert.rejects(
    (async () => {
      const s = await oa().chat.completions.create({ model: 'leak-oai/leak-stream-error', stream: true, messages: user('sdk stream') });
      for await (const _ of s);
    })(),
    (err) => err instanceof Error,
  );

  failed(await send(rec, chatURL, { body: chat('br-misconfigured/anthropic.claude-3-5-sonnet-20240620-v1:0'), headers: bearer(vkeys.all) }), 'misconfigured Bedrock key');

  // Nothing listening.
  failed(await send(rec, chatURL, { body: chat('dead/gpt-4o'), headers: bearer(vkeys.all) }), 'connection refused');
  failed(await send(rec, messagesURL, { body: message('dead-ant/claude-sonnet-4-5'), headers: anthropicHeaders(vkeys.all) }), 'connection refused (messages)');

  // The gateway's own refusals: no key, wrong keys (a provider key or the admin key sent by
  // mistake among them), a model the key may not use, a body that is not JSON.
  failed(await send(rec, chatURL, { body: chat('gpt') }), 'no key');
  for (const wrong of [C.openai, C.envOpenai, C.admin, `${vkeys.all}x`, C.azure]) {
    failed(await send(rec, chatURL, { body: chat('gpt'), headers: bearer(wrong) }), 'wrong key');
  }
  failed(await send(rec, messagesURL, { body: message('claude'), headers: anthropicHeaders(C.anthropic) }), 'wrong x-api-key');
  failed(await send(rec, `${gw.baseURL}/models`, { method: 'GET', headers: bearer(C.gemini) }), 'wrong key on /v1/models');
  failed(await send(rec, `${gw.adminURL}/v1/chat/completions`, { body: chat('gpt'), headers: bearer(C.openai) }), 'wrong key on the Playground');
  failed(await send(rec, chatURL, { body: chat('claude'), headers: bearer(vkeys.limited) }), 'model not allowed');
  failed(await send(rec, chatURL, { body: `{"model": "gpt", "messages": [ ${C.openai}`, headers: bearer(vkeys.all) }), 'malformed JSON');
  const models = await send(rec, `${gw.baseURL}/models`, { method: 'GET', headers: bearer(vkeys.all) });
  assert.equal(models.status, 200);

  // Wrong admin keys.
  for (const key of [null, C.openai, vkeys.all, `${C.admin}x`, C.admin.slice(0, -1)]) {
    assert.equal((await w.admin('GET', '/config', { key })).status, 401);
    assert.equal((await w.admin('POST', '/providers', { key, body: { name: 'x', kind: 'openai', api_key: C.openai } })).status, 401);
  }
  const basic = await w.admin('GET', '/providers', { key: null, headers: { authorization: `Basic ${Buffer.from(`admin:${C.admin}`).toString('base64')}` } });
  assert.equal(basic.status, 401);

  if (w.mode === 'sqlite') {
    // Rotation: the old secret stops, the new one works and is shown once; a revoked key stops.
    assert.equal((await oa(vkeys.rotating).chat.completions.create(chat('gpt'))).choices.length, 1);
    const rotated = await w.admin('POST', `/keys/${w.keyIds.rotating}/rotate`);
    assert.equal(rotated.status, 200, rotated.text);
    rotated.entry.allowedInBody.add(rotated.json.secret);
    w.canaries.push({ name: 'virtual key rotating (new secret)', value: rotated.json.secret });
    failed(await send(rec, chatURL, { body: chat('gpt'), headers: bearer(vkeys.rotating) }), 'rotated-away key');
    assert.equal((await send(rec, chatURL, { body: chat('gpt'), headers: bearer(rotated.json.secret) })).status, 200);
    assert.equal((await send(rec, chatURL, { body: chat('gpt'), headers: bearer(vkeys.revoked) })).status, 200);
    assert.equal((await w.admin('POST', `/keys/${w.keyIds.revoked}/revoke`)).status, 200);
    failed(await send(rec, chatURL, { body: chat('gpt'), headers: bearer(vkeys.revoked) }), 'revoked key');
  } else {
    // The file store is read-only: a write carrying a credential is refused without echoing it.
    const r = await w.admin('POST', '/providers', { body: { name: 'x', kind: 'openai', api_key: C.openai } });
    assert.equal(r.status, 409, r.text);
  }

  const [hang, stall, hangMessages] = await slow;
  assert.equal(hang.status, 504, hang.text);
  assert.ok(stall.status === 200 || stall.status >= 500, `${stall.status}`);
  assert.equal(hangMessages.status, 504, hangMessages.text);
  if (w.mode === 'file') await reloadBrokenFile(w); // nothing else in flight: its log lines are its own
}

/**
 * Credentials in the wrong shape: a resources file whose credential fields hold real
 * credentials but are not valid (a map, a list, a line break, a key where a hash belongs).
 */
function brokenResources(w) {
  const { C, vkeys } = w;
  const q = JSON.stringify;
  return [
    'providers:',
    `  - { name: b1, kind: openai, api_key: { value: ${q(C.openai)} }, headers: { x-api-key: [${q(C.header)}] } }`,
    `  - { name: b2, kind: bedrock, api_key: ${q(`${C.bedrockAkid}:${C.bedrockSecret}\n${C.bedrockSession}`)}, api_version: "us-east-1" }`,
    `  - { name: b3, kind: azure, base_url: "https://example.openai.azure.com", api_key: [${q(C.azure)}] }`,
    `  - { name: b4, kind: gemini, api_key: ${q(C.gemini)}, headers: ${q(`x-goog-api-key: ${C.gemini}`)} }`,
    // The key itself where a ${NAME} reference belongs.
    `  - { name: b5, kind: anthropic, api_key: ${q(`\${${C.anthropic}}`)} }`,
    'models: []',
    'keys:',
    `  - { name: k1, key_hash: ${q(vkeys.all)} }`,
    `  - { name: k2, key: [${q(C.admin)}] }`,
    // The key itself where the name of its variable belongs.
    `  - { name: k3, key_env: ${q(C.compat)} }`,
    '',
  ].join('\n');
}

/** The file world: SIGHUP with a broken file (its errors are logged), then the good file again; and `tollgate validate`. */
async function reloadBrokenFile(w) {
  const file = path.join(w.dir, 'resources.yaml');
  const good = await fs.readFile(file, 'utf8');
  const out = () => w.gw.output().stdout + w.gw.output().stderr;
  const start = { stdout: w.gw.output().stdout.length, stderr: w.gw.output().stderr.length };
  const rejectedBefore = out().split('rejected').length;
  await fs.writeFile(file, brokenResources(w));
  w.gw.proc.kill('SIGHUP');
  await waitFor(() => out().split('rejected').length > rejectedBefore, { timeout: 5000, message: 'the broken file rejected' });
  await fs.writeFile(file, good);
  const reloadedBefore = out().split('resources reloaded').length;
  w.gw.proc.kill('SIGHUP');
  await waitFor(() => out().split('resources reloaded').length > reloadedBefore, { timeout: 5000, message: 'the good file reloaded' });
  const end = { stdout: w.gw.output().stdout.length, stderr: w.gw.output().stderr.length };
  w.reloadSpan = { start, end };

  // The offline check prints what is wrong with each file, not the credentials in them.
  const elsewhere = await fs.mkdtemp(path.join(path.dirname(w.dir), 'tollgate-cred-cli-'));
  try {
    const broken = path.join(elsewhere, 'broken.yaml');
    await fs.writeFile(broken, brokenResources(w));
    w.cli = [];
    for (const f of [broken, file, path.join(w.dir, 'tollgate.yaml')]) {
      const r = await runTollgate(['validate', f], { env: w.env });
      w.cli.push({ where: `tollgate validate ${path.basename(f)} (exit ${r.code})`, text: `${r.stdout}\n${r.stderr}`, code: r.code });
    }
  } finally {
    await fs.rm(elsewhere, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The surfaces.

async function collect(w) {
  const { gw, rec } = w;
  await rec.settled();
  const surfaces = {};
  const proxyIds = rec.responses.filter((r) => r.requestId && !r.path.startsWith('/admin/')).map((r) => r.requestId);

  // The access log is written off the request path, and usage rows in batches: wait for both.
  await waitFor(() => proxyIds.every((id) => gw.output().stdout.includes(id)), { timeout: 8000, message: 'every request in the access log' });
  await waitFor(async () => {
    const r = await w.admin('GET', '/requests?limit=1000');
    return r.status === 200 && proxyIds.filter((id) => r.json.data.some((row) => row.request_id === id)).length >= proxyIds.length * 0.9;
  }, { timeout: 8000, message: 'the requests in the usage log' });

  // Every Admin API read.
  const reads = ['/providers', '/models', '/keys', '/keys?include_revoked=true', '/guardrails', '/config', '/openapi.json',
    '/usage?from=-1h', '/usage?from=-1h&group_by=key', '/usage?from=-1h&group_by=model', '/usage?from=-1h&group_by=provider',
    '/usage?from=-1h&bucket=1m&group_by=key', '/requests?limit=1000', '/requests?status=error&limit=1000'];
  const first = {};
  for (const p of reads) first[p] = await w.admin('GET', p);
  for (const p of first['/providers'].json.data) reads.push(`/providers/${encodeURIComponent(p.name)}`);
  for (const mdl of first['/models'].json.data) reads.push(`/models/${encodeURIComponent(mdl.name)}`);
  for (const k of first['/keys?include_revoked=true'].json.data) reads.push(`/keys/${k.id}`, `/keys/${encodeURIComponent(k.name)}`);
  for (const row of first['/requests?limit=1000'].json.data) reads.push(`/requests/${encodeURIComponent(row.request_id)}`);
  surfaces.admin = [];
  for (const p of reads) {
    const r = first[p] ?? (await w.admin('GET', p));
    assert.equal(r.status, 200, `GET ${p}: ${r.text}`);
    surfaces.admin.push({ where: `GET /admin/v1${p}`, text: `${r.entry.headers}\n\n${r.text}`, json: r.json, path: p });
  }

  surfaces.metrics = [];
  for (const p of ['/metrics', '/livez', '/readyz']) {
    const r = await send(rec, `${gw.adminURL}${p}`, { method: 'GET' });
    assert.equal(r.status, 200);
    surfaces.metrics.push({ where: `GET ${p}`, text: `${r.entry.headers}\n\n${r.text}` });
  }
  surfaces.filesRunning = await filesUnder(w.dir, 'while running:');

  // Stop the gateway: its last log lines, the spans it flushes, the store checkpointed.
  const exit = await gw.stop();
  assert.equal(exit.code, 0, `the gateway exited with ${JSON.stringify(exit)}`);
  await rec.settled();
  surfaces.responses = rec.responses.map((r) => ({
    where: r.where,
    text: `${r.headers}\n\n${r.body}`,
    // A body may carry only what that one answer is for; its headers nothing.
    allowed: r.allowedInBody,
    headersOnly: { where: `${r.where} (headers)`, text: r.headers },
    relayedUpstreamError: /model=[^ ]*\/leak-/.test(r.where), // the leaky upstream's answer, passed on
  }));
  surfaces.promptRequestIds = rec.responses.filter((r) => r.carriesCredentialsInPrompt).map((r) => r.requestId);
  const { stdout, stderr } = gw.output();
  // The lines logged while the broken file was reloaded are searched on their own (below).
  const cut = (text, stream) => (w.reloadSpan ? text.slice(0, w.reloadSpan.start[stream]) + text.slice(w.reloadSpan.end[stream]) : text);
  surfaces.output = [{ where: 'stdout', text: cut(stdout, 'stdout') }, { where: 'stderr', text: cut(stderr, 'stderr') }];
  // Access lines are counted in the whole stdout: the log writes in batches, so a line of the
  // traffic before the reload can land inside the reload's span.
  surfaces.accessLines = stdout.split('\n').filter((l) => l.includes('"request_id"'));
  if (w.reloadSpan) {
    const span = (text, stream) => text.slice(w.reloadSpan.start[stream], w.reloadSpan.end[stream]);
    surfaces.misplaced = [
      { where: 'stdout while reloading the broken file', text: span(stdout, 'stdout') },
      { where: 'stderr while reloading the broken file', text: span(stderr, 'stderr') },
      ...w.cli,
    ];
  }
  surfaces.filesAfterExit = await filesUnder(w.dir, 'after exit:');
  surfaces.capture = surfaces.filesAfterExit.filter((f) => f.name.endsWith('capture.jsonl'));
  surfaces.otlp = w.otlp.posts.map((p, i) => ({ where: `OTLP post ${i}`, text: `${p.headers}\n${p.body}` }));
  surfaces.proxyIds = proxyIds;
  return surfaces;
}

// ---------------------------------------------------------------------------------------------
// The suites: one per way of holding the credentials, the same surfaces searched.

const UPSTREAM_ECHO_HINT =
  'The gateway relays what an upstream error says about the credential it was sent. Suggested fix: scrub the ' +
  'provider\'s own credentials (api_key, every part of a Bedrock key, secret header values) from upstream error ' +
  'bodies and in-stream error events before they are relayed or reworded (src/dialects/openai/fast_path.cc ' +
  'upstream_error_body, src/dialects/anthropic/fast_path.cc upstream_error_body, the Gemini and Bedrock ' +
  'decode_error "said" text, the stream relays in src/gateway/relay.cc), e.g. replace each with "<redacted>".';
const CAPTURE_HINT =
  'Captured bodies pass only the pattern-based redaction (src/gateway/runtime.cc builds "capture-redaction"; ' +
  'src/gateway/record.cc writes the line), so credentials in formats no pattern knows (Azure keys, Bedrock secrets ' +
  'and session tokens, the admin key, tg- virtual keys, custom provider keys and header values) are written as ' +
  'sent. Suggested fix: redact the snapshot\'s own credentials (every provider api_key and secret header value, ' +
  'the admin key) literally, and tg-<base64url> virtual keys by pattern, before the capture line is written.';

const MISPLACED_HINT =
  'An error about a ${NAME} reference or a key_env quotes what was written there, and what was written there is ' +
  'often the credential itself ("api_key: ${sk-...}", "key_env: tg-..."). Suggested fix: when the text is not a ' +
  'valid variable name, say so without quoting it (src/core/env_interpolate.cc, the "is not a valid environment ' +
  'reference" error; src/core/resources.cc, the key_env "environment variable ... is not set" error), or quote only ' +
  'a few leading characters.';

for (const mode of ['file', 'sqlite']) {
  const held = mode === 'file' ? 'YAML resources through ${ENV}' : 'the Admin API, sealed in SQLite';
  describe(`credentials held in ${held}: no canary on any surface`, () => {
    const scope = cleanupScope();
    let w;
    let s;
    before(async () => {
      w = await startWorld(scope, mode);
      await drive(w);
      s = await collect(w);
    }, T);
    after(() => scope.run());

    it('the traffic carried every credential where it belongs: upstream, and the keys to the gateway', T, () => {
      const { C, m } = w;
      for (const [name, value] of [['openai', C.openai], ['anthropic', C.anthropic], ['gemini', C.gemini], ['azure', C.azure],
        ['bedrock access key id', C.bedrockAkid], ['bedrock session token', C.bedrockSession], ['compat', C.compat],
        ['secret header', C.header], ['OPENAI_API_KEY', C.envOpenai]]) {
        assert.ok(m.leaky.sawCredential(value), `the leaky upstream never got the ${name} canary, so its echo proves nothing`);
      }
      // The real mocks refuse any other key (Bedrock recomputes the signature with the secret).
      assert.ok(m.openai.requests.some((r) => r.status === 200), 'openai mock served');
      assert.ok(m.anthropic.requests.some((r) => r.status === 200), 'anthropic mock served');
      assert.ok(m.gemini.requests.some((r) => r.status === 200), 'gemini mock served');
      assert.ok(m.bedrock.requests.some((r) => r.signatureValid === true), 'bedrock mock verified a signature made with the secret');
      // And the upstream echoes really carried them (else the leak checks below are empty).
      const echoed = m.leaky.requests.filter((r) => /leak-(401|403|429|500|html|stream)/.test(r.model));
      assert.ok(echoed.length >= 40, `only ${echoed.length} echoing answers`);
      const statuses = new Set(s.responses.map((r) => Number(r.where.split('-> ').at(-1))));
      for (const st of [200, 401, 403, 429, 500, 502, 504]) assert.ok(statuses.has(st), `no answer with status ${st} among ${[...statuses]}`);
    });

    it('API responses: no header of any answer carries a credential', T, () => {
      assert.ok(s.responses.length >= 150, `only ${s.responses.length} responses`);
      assertNoLeaks('response headers', s.responses.map((r) => r.headersOnly), w.canaries);
    });

    it("API responses: the gateway's own answers (success, refusals, timeouts, connection refused, Admin API) carry no credential", T, () => {
      const own = s.responses.filter((r) => !r.relayedUpstreamError);
      assert.ok(own.length >= 80, `only ${own.length} answers`);
      assertNoLeaks("the gateway's own answers", own, w.canaries);
    });

    it('API responses: an upstream error that echoes the credential reaches the caller without it', T, () => {
      const relayed = s.responses.filter((r) => r.relayedUpstreamError);
      assert.ok(relayed.length >= 7 * 8 + 4 * 8, `only ${relayed.length} relayed upstream errors`);
      assertNoLeaks('relayed upstream errors', relayed, w.canaries, UPSTREAM_ECHO_HINT);
    });

    it('stdout and stderr (access log, logs at trace level) carry no credential', T, () => {
      const [out, err] = s.output;
      const lines = s.accessLines;
      assert.ok(lines.length >= s.proxyIds.length, `${lines.length} access log lines for ${s.proxyIds.length} requests`);
      assert.ok(lines.some((l) => /"status":401/.test(l)) && lines.some((l) => /"status":504/.test(l)), 'refusals and timeouts are logged too');
      assert.match(out.text + err.text, /listening proxy=/);
      assertNoLeaks('the gateway output', s.output, w.canaries);
    });

    if (mode === 'file') {
      it('a credential in the wrong place (wrong type, in a ${NAME} or key_env position) is not quoted by reload errors or `tollgate validate`', T, () => {
        const text = s.misplaced.map((x) => x.text).join('\n');
        assert.match(text, /providers\[0\]\.api_key[\s\S]*rejected/, 'the broken file\'s errors are logged');
        assert.match(text, /resources reloaded/, 'and the good file came back');
        const [broken, ...good] = w.cli;
        assert.equal(broken.code, 1, broken.text);
        for (const field of ['providers[0].api_key', 'providers[1].api_key', 'providers[2].api_key', 'providers[4].api_key', 'keys[0].key_hash', 'keys[2].key_env']) {
          assert.ok(broken.text.includes(field), `validate names ${field}: ${broken.text}`);
        }
        assert.deepEqual(good.map((c) => c.code), [0, 0], good.map((c) => c.text).join('\n'));
        assertNoLeaks('errors about misplaced credentials', s.misplaced, w.canaries, MISPLACED_HINT);
      });
    }

    if (mode === 'sqlite') {
      it('a store written before credentials were sealed has them sealed when opened, and they still work', T, (t) => {
        if (!w.legacy) return t.skip('no sqlite3 shell to write an older store with');
        assert.ok(w.m.leaky.sawCredential(w.C.legacyKey) && w.m.leaky.sawCredential(w.C.legacyHeader), 'the upstream got both');
        assert.match(s.output[0].text + s.output[1].text, /sealed the plain-text credentials of 1 provider/);
        const legacy = s.admin.find((a) => a.path === '/providers/legacy').json;
        assert.equal(legacy.api_key_set, true);
        assert.deepEqual(legacy.secret_headers, ['x-legacy-token']);
        const old = w.canaries.filter((c) => c.value === w.C.legacyKey || c.value === w.C.legacyHeader);
        const store = [...s.filesRunning, ...s.filesAfterExit].filter((f) => /^db\.sqlite/.test(f.name));
        assert.ok(store.length >= 2, store.map((f) => f.where).join(', '));
        assertNoLeaks('the files of an older store', store, old);
      });
    }

    it('/metrics (and the health routes) carry no credential', T, () => {
      const metrics = s.metrics[0].text;
      const total = [...metrics.matchAll(/^tollgate_requests_total\{[^}]*\} (\S+)$/gm)].reduce((n, x) => n + Number(x[1]), 0);
      assert.ok(total >= s.proxyIds.length * 0.9, `tollgate_requests_total sums to ${total} for ${s.proxyIds.length} requests`);
      assert.match(metrics, /key="all"/);
      assert.match(metrics, /provider="leak-br"/);
      assertNoLeaks('/metrics', s.metrics, w.canaries);
    });

    it('every Admin API read (providers, models, keys, guardrails, usage, request log, config, openapi) carries no credential', T, () => {
      const byPath = Object.fromEntries(s.admin.map((a) => [a.path, a.json]));
      assert.ok(byPath['/providers'].data.length >= 14, 'every provider listed');
      assert.ok(byPath['/providers'].data.every((p) => p.builtin || p.api_key_set === true), 'every provider holds a key');
      assert.deepEqual(byPath['/providers/compat'].secret_headers, ['x-extra-auth-token']);
      assert.ok(byPath['/keys?include_revoked=true'].data.length >= 2);
      const rows = byPath['/requests?limit=1000'].data;
      assert.ok(rows.length >= s.proxyIds.length * 0.9, `${rows.length} request log rows for ${s.proxyIds.length} requests`);
      assert.ok(rows.some((r) => r.status === 401) && rows.some((r) => r.status === 200));
      assert.ok(byPath['/usage?from=-1h&group_by=key'].data.some((b) => b.label === 'all' && b.requests > 10));
      assert.ok(s.admin.length >= 40, `${s.admin.length} reads`);
      assertNoLeaks('Admin API reads', s.admin, w.canaries);
    });

    const captureLines = () => {
      assert.equal(s.capture.length, 1, 'one capture file');
      return s.capture[0].text.split('\n').filter(Boolean).map((l) => {
        const doc = JSON.parse(l);
        return { where: `capture line of ${doc.request_id} (model ${doc.model}, status ${doc.status})`, text: l, id: doc.request_id };
      });
    };

    it('the capture file: a prompt carrying every credential is captured without them', T, () => {
      const lines = captureLines().filter((l) => s.promptRequestIds.includes(l.id));
      assert.equal(lines.length, 2, 'the prompt, streamed and not, was captured');
      for (const l of lines) assert.match(l.text, /\[SECRET\]/, 'redaction ran on it');
      assertNoLeaks('the capture file (the prompt carrying the credentials)', lines, w.canaries, CAPTURE_HINT);
    });

    it('the capture file: no other captured request or answer holds a credential', T, () => {
      const lines = captureLines().filter((l) => !s.promptRequestIds.includes(l.id));
      assert.ok(lines.length >= s.proxyIds.length * 0.5, `${lines.length} capture lines for ${s.proxyIds.length} requests`);
      assert.ok(lines.some((l) => /leak-401/.test(l.text)), 'the relayed upstream errors were captured');
      assertNoLeaks('the capture file (all other traffic)', lines, w.canaries, UPSTREAM_ECHO_HINT);
    });

    it('OTLP spans carry no credential', T, () => {
      const spans = w.otlp.spans();
      assert.ok(spans.length >= 50, `${spans.length} spans`);
      assert.ok(spans.some((sp) => sp.status?.code === 2), 'failed calls are traced too');
      assertNoLeaks('OTLP payloads', s.otlp, w.canaries);
    });

    it('no file in the data directory (store, WAL, usage database, config) holds a credential, while running or after exit', T, () => {
      const all = [...s.filesRunning, ...s.filesAfterExit];
      const names = s.filesAfterExit.map((f) => f.name);
      const bytes = all.map((f) => f.text).join('\n');
      for (const id of s.proxyIds.slice(0, 20)) assert.ok(bytes.includes(id), `usage row for ${id} on disk`);
      if (mode === 'sqlite') {
        assert.ok(names.includes('db.sqlite'), names.join(', '));
        assert.ok(bytes.includes('enc:v1:'), 'sealed credentials are in the store');
        assert.ok(bytes.includes('${CRED_GEMINI}'), 'a ${ENV} reference is stored as written');
        assert.ok(bytes.includes('"leak-br"') || bytes.includes('leak-br'), 'the providers are in the store');
      } else {
        assert.ok(names.includes('resources.yaml') && names.some((n) => n.endsWith('.db')), names.join(', '));
      }
      assertNoLeaks('files on disk', all.filter((f) => !f.name.endsWith('capture.jsonl')), w.canaries);
    });
  });
}
