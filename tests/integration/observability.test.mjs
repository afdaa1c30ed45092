// Observability end to end (issue 6): known traffic through the real gateway, then the EXACT
// values it must leave behind in every record:
//   - Prometheus /metrics (requests by model/provider/key/status, tokens, cost, histogram
//     counts, the OpenTelemetry GenAI series), with no key secret anywhere in the text;
//   - the JSON access log on stdout, one line per request;
//   - usage rows in SQLite (the embedded default) and in a REAL PostgreSQL on loopback;
//   - OTLP/HTTP JSON spans posted to a local receiver, with gen_ai.* attributes;
//   - retention: rows older than retention_days are purged at start, newer rows kept.
//
// The mock's usage is deterministic (a token is a word; the answer is "Echo: <last user
// text>"; mock-cached reports half the prompt tokens as cached), so every token count and
// every cost below is computed here from the prompt and the prices written in the resources.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import OpenAI from 'openai';
import { countTokens } from '../mocks/openai-mock.mjs';
import { cleanupScope, makeTempDir, processConfig, sleep, startGateway, startMock, waitFor, writeConfig } from './harness.mjs';
import { startPostgres } from './postgres-server.mjs';

const T = { timeout: 60_000 };

const KEY = {
  alice: 'tg-obs-alice-secret-0123456789abcdef',
  bob: 'tg-obs-bob-secret-0123456789abcdef',
};

// USD per 1M tokens.
const PRICE_MODEL = { input: 2, output: 8, cached_input: 1 };
const PRICE_TARGET = { input: 3, output: 12, cached_input: 0.5 }; // on the `cached` target: wins over the model's
const PRICE_CATALOG_GPT4O_MINI = { input: 0.15, output: 0.6, cached_input: 0.075 }; // the shipped catalog (openai)

function resourcesFor(mock) {
  const timeouts = { connect_ms: 1000, read_ms: 5000, idle_ms: 5000 };
  return {
    providers: [
      { name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey, timeouts },
      { name: 'compat', kind: 'openai-compatible', base_url: mock.baseURL, api_key: mock.apiKey, timeouts },
    ],
    models: [
      { name: 'priced', pricing: PRICE_MODEL, targets: [{ provider: 'mock', model: 'gpt-4o' }] },
      { name: 'cached', pricing: PRICE_MODEL, targets: [{ provider: 'mock', model: 'mock-cached', pricing: PRICE_TARGET }] },
      {
        name: 'err',
        pricing: PRICE_MODEL,
        retry: { max_attempts: 2, backoff_ms: 10, max_backoff_ms: 10 },
        targets: [{ provider: 'mock', model: 'mock-error-500' }],
      },
      { name: 'slow', pricing: PRICE_MODEL, targets: [{ provider: 'mock', model: 'mock-slow-stream' }] },
      { name: 'unpriced', targets: [{ provider: 'compat', model: 'acme-unlisted-model-7' }] },
      { name: 'catalog', targets: [{ provider: 'mock', model: 'gpt-4o-mini' }] },
    ],
    keys: [
      { name: 'alice', key: KEY.alice, models: ['priced', 'cached', 'err', 'slow', 'catalog'] },
      { name: 'bob', key: KEY.bob, models: ['priced', 'unpriced'] },
    ],
  };
}

// cost = usage x price (USD per 1M tokens); cached input tokens are billed at the cached rate.
function costOf(price, { input, output, cached = 0 }) {
  return ((input - cached) * price.input + cached * price.cached_input + output * price.output) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// The traffic: eight requests, each with its expected record.

/**
 * Sends the known traffic through `baseURL`; returns the list of expectations, each with the
 * request id the gateway answered with (x-request-id).
 */
async function sendTraffic(baseURL, mock) {
  const client = (key) => new OpenAI({ baseURL, apiKey: KEY[key], maxRetries: 0, timeout: 20_000 });
  const user = (text) => [{ role: 'user', content: text }];
  const answerTokens = (text) => countTokens(`Echo: ${text}`);
  const done = [];

  // 1. Non-stream, priced on the model.
  {
    const text = 'one two three four';
    const { data, response } = await client('alice').chat.completions.create({ model: 'priced', messages: user(text) }).withResponse();
    assert.equal(data.choices[0].message.content, `Echo: ${text}`);
    assert.deepEqual([data.usage.prompt_tokens, data.usage.completion_tokens], [4, 5]);
    const u = { input: 4, output: 5, cached: 0 };
    done.push({ what: 'non-stream', id: response.headers.get('x-request-id'), key: 'alice', model: 'priced', provider: 'mock', upstream: 'gpt-4o', kind: 'openai', status: 200, stream: false, usage: u, cost: costOf(PRICE_MODEL, u), attempts: 1, error: null });
  }

  // 2. Stream with include_usage: the caller gets the usage chunk.
  {
    const text = 'alpha beta gamma';
    const { data: stream, response } = await client('alice')
      .chat.completions.create({ model: 'priced', messages: user(text), stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let content = '';
    let usage = null;
    for await (const c of stream) {
      content += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.equal(content, `Echo: ${text}`);
    assert.deepEqual([usage?.prompt_tokens, usage?.completion_tokens], [3, answerTokens(text)]);
    const u = { input: 3, output: 4, cached: 0 };
    done.push({ what: 'stream+usage', id: response.headers.get('x-request-id'), key: 'alice', model: 'priced', provider: 'mock', upstream: 'gpt-4o', kind: 'openai', status: 200, stream: true, usage: u, cost: costOf(PRICE_MODEL, u), attempts: 1, error: null });
  }

  // 3. Stream WITHOUT include_usage: the gateway still learns the usage (it asks upstream for
  //    it) and does not hand the caller a usage chunk it did not ask for.
  {
    const text = 'red green';
    const { data: stream, response } = await client('bob')
      .chat.completions.create({ model: 'priced', messages: user(text), stream: true })
      .withResponse();
    let content = '';
    let sawUsage = false;
    for await (const c of stream) {
      content += c.choices[0]?.delta?.content ?? '';
      if (c.usage) sawUsage = true;
    }
    assert.equal(content, `Echo: ${text}`);
    assert.equal(sawUsage, false, 'a usage chunk reached a caller that did not ask for one');
    const u = { input: 2, output: 3, cached: 0 };
    done.push({ what: 'stream-no-usage', id: response.headers.get('x-request-id'), key: 'bob', model: 'priced', provider: 'mock', upstream: 'gpt-4o', kind: 'openai', status: 200, stream: true, usage: u, cost: costOf(PRICE_MODEL, u), attempts: 1, error: null });
  }

  // 4. Cached tokens (mock-cached: half the prompt cached), priced on the target.
  {
    const text = 'a b c d e f g h';
    const { data, response } = await client('alice').chat.completions.create({ model: 'cached', messages: user(text) }).withResponse();
    assert.equal(data.usage.prompt_tokens_details?.cached_tokens, 4);
    const u = { input: 8, output: 9, cached: 4 };
    done.push({ what: 'cached', id: response.headers.get('x-request-id'), key: 'alice', model: 'cached', provider: 'mock', upstream: 'mock-cached', kind: 'openai', status: 200, stream: false, usage: u, cost: costOf(PRICE_TARGET, u), attempts: 1, error: null });
  }

  // 5. Upstream error: 500 twice (max_attempts 2), passed on; no usage, so no cost.
  {
    const before500 = mock.requestsTo('/v1/chat/completions').length;
    let err;
    try {
      await client('alice').chat.completions.create({ model: 'err', messages: user('boom') });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${err}`);
    assert.equal(err.status, 500);
    assert.equal(mock.requestsTo('/v1/chat/completions').length - before500, 2, 'two attempts reach the provider');
    done.push({ what: 'upstream-500', id: err.headers?.['x-request-id'] ?? err.headers?.get?.('x-request-id'), key: 'alice', model: 'err', provider: 'mock', upstream: 'mock-error-500', kind: 'openai', status: 500, stream: false, usage: null, cost: null, attempts: 2, error: 'upstream_500' });
  }

  // 6. Aborted stream: the client goes away after two content chunks of a slow stream.
  {
    const ac = new AbortController();
    const { data: stream, response } = await client('alice')
      .chat.completions.create({ model: 'slow', messages: user('tick tock'), stream: true }, { signal: ac.signal })
      .withResponse();
    let chunks = 0;
    try {
      for await (const c of stream) {
        if (c.choices[0]?.delta?.content && ++chunks === 2) ac.abort();
      }
    } catch (e) {
      if (!(e instanceof OpenAI.APIUserAbortError) && e.name !== 'AbortError') throw e;
    }
    assert.equal(chunks, 2);
    await waitFor(() => mock.stats.aborted_streams >= 1 && mock.stats.active_streams === 0, { timeout: 5000, message: 'the gateway to close the upstream stream' });
    done.push({ what: 'aborted-stream', id: response.headers.get('x-request-id'), key: 'alice', model: 'slow', provider: 'mock', upstream: 'mock-slow-stream', kind: 'openai', status: 499, stream: true, usage: null, cost: null, attempts: 1, error: 'client_closed' });
  }

  // 7. No price anywhere (openai-compatible, a model no catalog lists): usage known, cost null.
  {
    const text = 'x y';
    const { data, response } = await client('bob').chat.completions.create({ model: 'unpriced', messages: user(text) }).withResponse();
    assert.equal(data.usage.completion_tokens, 3);
    done.push({ what: 'unpriced', id: response.headers.get('x-request-id'), key: 'bob', model: 'unpriced', provider: 'compat', upstream: 'acme-unlisted-model-7', kind: 'openai-compatible', status: 200, stream: false, usage: { input: 2, output: 3, cached: 0 }, cost: null, attempts: 1, error: null });
  }

  // 8. No override: the shipped catalog's price for openai gpt-4o-mini.
  {
    const text = 'hello world';
    const { response } = await client('alice').chat.completions.create({ model: 'catalog', messages: user(text) }).withResponse();
    const u = { input: 2, output: 3, cached: 0 };
    done.push({ what: 'catalog', id: response.headers.get('x-request-id'), key: 'alice', model: 'catalog', provider: 'mock', upstream: 'gpt-4o-mini', kind: 'openai', status: 200, stream: false, usage: u, cost: costOf(PRICE_CATALOG_GPT4O_MINI, u), attempts: 1, error: null });
  }

  for (const r of done) assert.match(String(r.id), /\S{8,}/, `${r.what}: no x-request-id`);
  assert.equal(new Set(done.map((r) => r.id)).size, done.length, 'request ids are unique');
  return done;
}

const closeTo = (actual, expected, what) => {
  assert.equal(typeof actual, 'number', `${what}: ${JSON.stringify(actual)} is not a number`);
  assert.ok(Math.abs(actual - expected) <= 1e-12 + Math.abs(expected) * 1e-9, `${what}: ${actual} != ${expected}`);
};

// ---------------------------------------------------------------------------------------------
// Prometheus text.

/** [{ name, labels: {..}, value }] of every sample. */
function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    assert.ok(m, `unparseable metrics line: ${line}`);
    const labels = {};
    if (m[2]) for (const [, k, v] of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

const labelsMatch = (labels, want) => Object.entries(want).every(([k, v]) => labels[k] === String(v));
/** Samples of `name` whose labels include `want`. */
const series = (samples, name, want = {}) => samples.filter((s) => s.name === name && labelsMatch(s.labels, want));
/** The one sample of `name` with exactly the labels `want` (plus `le` for buckets); undefined when none. */
function sample(samples, name, want) {
  const found = samples.filter((s) => s.name === name && labelsMatch(s.labels, want) && Object.keys(s.labels).length === Object.keys(want).length);
  assert.ok(found.length <= 1, `${name}${JSON.stringify(want)}: ${found.length} samples`);
  return found[0]?.value;
}

async function scrape(gw) {
  const res = await fetch(`${gw.adminURL}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  const text = await res.text();
  return { text, samples: parseMetrics(text) };
}

// ---------------------------------------------------------------------------------------------
// Access log.

function accessLines(gw) {
  return gw
    .output()
    .stdout.split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((j) => 'request_id' in j && 'route' in j);
}

// ---------------------------------------------------------------------------------------------
// Usage rows: the same expectations for SQLite and PostgreSQL rows (booleans and NULLs read
// the same way from both).

function checkRow(row, e) {
  const what = `usage row of ${e.what} (${e.id})`;
  assert.ok(row, `${what}: missing`);
  assert.equal(row.request_id, e.id, what);
  assert.equal(row.key_name, e.key, `${what}: key_name`);
  assert.ok(row.key_id && !Object.values(KEY).some((s) => String(row.key_id).includes(s)), `${what}: key_id ${row.key_id}`);
  assert.equal(row.model, e.model, `${what}: model`);
  assert.equal(row.provider, e.provider, `${what}: provider`);
  assert.equal(row.upstream_model, e.upstream, `${what}: upstream_model`);
  assert.equal(row.route, 'chat.completions', `${what}: route`);
  assert.equal(Number(row.status), e.status, `${what}: status`);
  assert.equal(Boolean(Number(row.stream) || row.stream === true), e.stream, `${what}: stream`);
  if (e.usage) {
    assert.equal(Number(row.input_tokens), e.usage.input, `${what}: input_tokens`);
    assert.equal(Number(row.output_tokens), e.usage.output, `${what}: output_tokens`);
    assert.equal(Number(row.cached_tokens), e.usage.cached, `${what}: cached_tokens`);
  } else {
    assert.equal(row.input_tokens, null, `${what}: input_tokens must be NULL (usage unknown), never 0`);
    assert.equal(row.output_tokens, null, `${what}: output_tokens must be NULL`);
    assert.equal(row.cached_tokens, null, `${what}: cached_tokens must be NULL`);
  }
  if (e.cost === null) assert.equal(row.cost_usd, null, `${what}: cost_usd must be NULL (unknown), never 0`);
  else closeTo(Number(row.cost_usd), e.cost, `${what}: cost_usd`);
  assert.equal(Number(row.attempts), e.attempts, `${what}: attempts`);
  assert.equal(row.error, e.error, `${what}: error`);
  assert.ok(Number(row.latency_ms) > 0, `${what}: latency_ms ${row.latency_ms}`);
  if (e.stream) assert.ok(Number(row.ttft_ms) > 0 && Number(row.ttft_ms) <= Number(row.latency_ms), `${what}: ttft_ms ${row.ttft_ms} (latency ${row.latency_ms})`);
  else assert.equal(row.ttft_ms, null, `${what}: ttft_ms of a non-stream`);
  const ts = Number(row.ts);
  assert.ok(ts > Date.now() - 120_000 && ts <= Date.now(), `${what}: ts ${ts} is unix ms of the request`);
}

function checkRows(rows, expected) {
  assert.equal(rows.length, expected.length, `one row per request; rows: ${JSON.stringify(rows, null, 1)}`);
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  assert.equal(byId.size, rows.length, 'request ids in the rows are unique');
  for (const e of expected) checkRow(byId.get(e.id), e);
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 64 << 20, ...opts }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(String(stdout));
    });
  });
}

async function sqliteRows(db, where = '') {
  const out = await run('sqlite3', ['-json', db, `SELECT * FROM usage_records ${where} ORDER BY id`]);
  return out.trim() ? JSON.parse(out) : [];
}

// ---------------------------------------------------------------------------------------------
// A tiny OTLP/HTTP receiver.

async function startOtlpReceiver(t) {
  const posts = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ method: req.method, path: req.url, contentType: req.headers['content-type'], body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  const spans = () => {
    const out = [];
    for (const p of posts) {
      const doc = JSON.parse(p.body);
      for (const rs of doc.resourceSpans ?? []) {
        const resource = attrMap(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) out.push({ ...s, attrs: attrMap(s.attributes), resource, scope: ss.scope });
      }
    }
    return out;
  };
  return { url: `http://127.0.0.1:${server.address().port}/v1/traces`, posts, spans };
}

function attrMap(list = []) {
  const out = {};
  for (const { key, value } of list) {
    if ('stringValue' in value) out[key] = value.stringValue;
    else if ('intValue' in value) out[key] = Number(value.intValue);
    else if ('doubleValue' in value) out[key] = value.doubleValue;
    else if ('boolValue' in value) out[key] = value.boolValue;
    else out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SQLite backend (the default): metrics, access log, usage rows, OTLP spans.

describe('observability: known traffic -> exact metrics, access log, SQLite usage rows, OTLP spans', () => {
  const scope = cleanupScope();
  let mock, gw, dir, otlp, expected, db;

  before(async () => {
    mock = await startMock(scope);
    otlp = await startOtlpReceiver(scope);
    dir = await makeTempDir(scope, 'tollgate-obs-');
    const tollgate = processConfig({
      extra: { usage: { backend: 'sqlite', retention_days: 30 }, tracing: { otlp_endpoint: otlp.url, service_name: 'tollgate-obs-test' } },
    });
    const { configPath } = await writeConfig(dir, { tollgate, resources: resourcesFor(mock) });
    gw = await startGateway(scope, { configPath });
    db = path.join(dir, 'tollgate-usage.db');
    expected = await sendTraffic(gw.baseURL, mock);
  }, T);
  after(() => scope.run());

  const byWhat = (w) => expected.find((e) => e.what === w);

  it('tollgate_requests_total: exactly one series per (model, provider, key, status), exact counts', T, async () => {
    const { samples } = await scrape(gw);
    const want = new Map();
    for (const e of expected) {
      const k = JSON.stringify({ route: 'chat.completions', model: e.model, provider: e.provider, key: e.key, status: String(e.status) });
      want.set(k, (want.get(k) ?? 0) + 1);
    }
    const got = new Map(series(samples, 'tollgate_requests_total').map((s) => [JSON.stringify({ route: s.labels.route, model: s.labels.model, provider: s.labels.provider, key: s.labels.key, status: s.labels.status }), s.value]));
    assert.deepEqual(Object.fromEntries(got), Object.fromEntries(want));
    assert.equal(sample(samples, 'tollgate_requests_in_flight', {}), 0);
  });

  it('tollgate_tokens_total: input/output/cached per model, exact; none for requests without usage', T, async () => {
    const { samples } = await scrape(gw);
    const want = {};
    for (const e of expected) {
      if (!e.usage) continue;
      const add = (type, n) => {
        if (!n && type === 'cached_input') return;
        const k = `${e.model}|${e.provider}|${type}`;
        want[k] = (want[k] ?? 0) + n;
      };
      add('input', e.usage.input);
      add('output', e.usage.output);
      add('cached_input', e.usage.cached);
    }
    const got = {};
    for (const s of series(samples, 'tollgate_tokens_total')) got[`${s.labels.model}|${s.labels.provider}|${s.labels.type}`] = s.value;
    assert.deepEqual(got, want);
    // Spelled out, so a reader sees the numbers.
    assert.equal(got['priced|mock|input'], 4 + 3 + 2);
    assert.equal(got['priced|mock|output'], 5 + 4 + 3);
    assert.equal(got['cached|mock|cached_input'], 4);
  });

  it('tollgate_cost_usd_total: usage x price per (model, provider, key); no series for unknown prices', T, async () => {
    const { samples } = await scrape(gw);
    const want = {};
    for (const e of expected) {
      if (e.cost === null) continue;
      const k = `${e.model}|${e.provider}|${e.key}`;
      want[k] = (want[k] ?? 0) + e.cost;
    }
    const got = {};
    for (const s of series(samples, 'tollgate_cost_usd_total')) got[`${s.labels.model}|${s.labels.provider}|${s.labels.key}`] = s.value;
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    for (const k of Object.keys(want)) closeTo(got[k], want[k], `tollgate_cost_usd_total ${k}`);
    // (4*2 + 5*8 + 3*2 + 4*8) / 1e6 for alice on `priced`.
    closeTo(got['priced|mock|alice'], 86e-6, 'priced/alice');
    // Target price over the model's: (4*3 + 4*0.5 + 9*12) / 1e6.
    closeTo(got['cached|mock|alice'], 122e-6, 'cached/alice');
    // The catalog's gpt-4o-mini: (2*0.15 + 3*0.6) / 1e6.
    closeTo(got['catalog|mock|alice'], 2.1e-6, 'catalog/alice');
  });

  it('latency histograms: exact _count per model, buckets consistent', T, async () => {
    const { samples } = await scrape(gw);
    const count = (name, model) => sample(samples, `${name}_count`, { route: 'chat.completions', model }) ?? 0;
    const per = (pred) => {
      const m = {};
      for (const e of expected) if (pred(e)) m[e.model] = (m[e.model] ?? 0) + 1;
      return m;
    };
    const models = [...new Set(expected.map((e) => e.model))];
    const check = (name, want) => {
      const got = Object.fromEntries(models.map((m) => [m, count(name, m)]).filter(([, v]) => v));
      assert.deepEqual(got, want, name);
    };
    check('tollgate_request_duration_seconds', per(() => true));
    // A first byte only for streams (the aborted one had two chunks).
    check('tollgate_time_to_first_token_seconds', per((e) => e.stream));
    // Time per output token: streams with known usage and more than one output token.
    check('tollgate_time_per_output_token_seconds', per((e) => e.stream && e.usage && e.usage.output > 1));
    // Every request here reached the provider and got an answer (the 500 too).
    check('tollgate_upstream_duration_seconds', per(() => true));
    check('tollgate_gateway_overhead_seconds', per(() => true));
    // Buckets are cumulative and +Inf equals _count.
    for (const s of series(samples, 'tollgate_request_duration_seconds_count')) {
      const buckets = series(samples, 'tollgate_request_duration_seconds_bucket', { route: s.labels.route, model: s.labels.model });
      assert.equal(buckets.find((b) => b.labels.le === '+Inf')?.value, s.value);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, 'cumulative buckets');
    }
  });

  it('gen_ai_* (OpenTelemetry GenAI semconv) series: operation duration and token usage, exact counts and sums', T, async () => {
    const { samples } = await scrape(gw);
    const dur = series(samples, 'gen_ai_client_operation_duration_seconds_count');
    assert.ok(dur.length > 0, 'gen_ai_client_operation_duration_seconds present');
    for (const s of dur) {
      assert.equal(s.labels.gen_ai_operation_name, 'chat');
      assert.ok(['openai', 'openai-compatible'].includes(s.labels.gen_ai_provider_name), JSON.stringify(s.labels));
    }
    const total = dur.reduce((a, s) => a + s.value, 0);
    assert.equal(total, expected.length, 'one operation per request');
    // Token usage: sum and count per token type over the requests with usage.
    for (const type of ['input', 'output']) {
      const ss = series(samples, 'gen_ai_client_token_usage_sum', { gen_ai_operation_name: 'chat', gen_ai_token_type: type });
      const cs = series(samples, 'gen_ai_client_token_usage_count', { gen_ai_operation_name: 'chat', gen_ai_token_type: type });
      const withUsage = expected.filter((e) => e.usage);
      assert.equal(ss.reduce((a, s) => a + s.value, 0), withUsage.reduce((a, e) => a + e.usage[type], 0), `gen_ai_client_token_usage_sum ${type}`);
      assert.equal(cs.reduce((a, s) => a + s.value, 0), withUsage.length, `gen_ai_client_token_usage_count ${type}`);
    }
    // Token buckets are token-sized: the three `priced` inputs (4, 3, 2 tokens) are all <= 4, none <= 1.
    const priced = (le) => series(samples, 'gen_ai_client_token_usage_bucket', { gen_ai_token_type: 'input', le }).filter((s) => ['priced', 'gpt-4o'].includes(s.labels.gen_ai_request_model));
    assert.equal(priced('1')[0]?.value, 0, 'le=1');
    assert.equal(priced('4')[0]?.value, 3, 'le=4');
    assert.equal(priced('+Inf')[0]?.value, 3, 'le=+Inf');
    // The openai-compatible provider is named as such.
    assert.equal(series(samples, 'gen_ai_client_operation_duration_seconds_count', { gen_ai_provider_name: 'openai-compatible' }).reduce((a, s) => a + s.value, 0), 1);
  });

  it('gen_ai_* metric labels agree with the spans: gen_ai_request_model is the model requested from the provider', T, async () => {
    // OpenTelemetry GenAI semconv: gen_ai.request.model is "the name of the GenAI model a
    // request is being made to"; the span (otlp.cc) says the upstream model, so the metric of
    // the same operation must say the same, or the two cannot be joined.
    const { samples } = await scrape(gw);
    const got = {};
    for (const s of series(samples, 'gen_ai_client_operation_duration_seconds_count')) got[s.labels.gen_ai_request_model] = s.value;
    const want = {};
    for (const e of expected) want[e.upstream] = (want[e.upstream] ?? 0) + 1;
    assert.deepEqual(got, want);
  });

  it('no key secret anywhere in /metrics (the key label is the key name)', T, async () => {
    const { text, samples } = await scrape(gw);
    for (const [name, secret] of Object.entries(KEY)) {
      assert.ok(!text.includes(secret), `the secret of key ${name} is in /metrics`);
      assert.ok(!text.includes(secret.slice(0, 16)), `a prefix of the secret of key ${name} is in /metrics`);
    }
    assert.ok(!text.includes(mock.apiKey), 'the provider api key is in /metrics');
    const keys = new Set(series(samples, 'tollgate_requests_total').map((s) => s.labels.key));
    assert.deepEqual([...keys].sort(), ['alice', 'bob']);
  });

  it('routing counters: the 500 was tried twice on its target (one retry), every other target once', T, async () => {
    const { samples } = await scrape(gw);
    const att = series(samples, 'tollgate_target_attempts_total');
    const of = (upstream) => att.filter((s) => s.labels.target.includes(upstream));
    const errT = of('mock-error-500');
    assert.equal(errT.length, 1, `one target series for mock-error-500: ${JSON.stringify(att)}`);
    assert.equal(errT[0].value, 2);
    assert.equal(sample(samples, 'tollgate_target_retries_total', { target: errT[0].labels.target }), 1);
    assert.equal(sample(samples, 'tollgate_target_failures_total', { target: errT[0].labels.target }), 2);
    assert.equal(att.reduce((a, s) => a + s.value, 0), expected.reduce((a, e) => a + e.attempts, 0), 'attempts over all targets');
    for (const reason of ['requests', 'tokens', 'concurrency', 'budget']) assert.equal(sample(samples, 'tollgate_limit_rejections_total', { reason }), 0);
  });

  it('access log: one JSON line per request on stdout with exact tokens, cost, status, attempts, error, ttft', T, async () => {
    const lines = await waitFor(() => {
      const l = accessLines(gw);
      return l.length >= expected.length && l;
    }, { timeout: 5000, message: `${expected.length} access-log lines` });
    assert.equal(lines.length, expected.length, `exactly one line per request:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    const byId = new Map(lines.map((l) => [l.request_id, l]));
    for (const e of expected) {
      const l = byId.get(e.id);
      const what = `access log of ${e.what} (${e.id})`;
      assert.ok(l, `${what}: missing; lines: ${JSON.stringify(lines)}`);
      assert.match(l.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, what);
      assert.equal(l.route, 'chat.completions', what);
      assert.equal(l.key, e.key, what);
      assert.equal(l.model, e.model, what);
      assert.equal(l.provider, e.provider, what);
      assert.equal(l.upstream_model, e.upstream, what);
      assert.equal(l.status, e.status, what);
      assert.equal(l.stream, e.stream, what);
      assert.equal(l.input_tokens, e.usage ? e.usage.input : null, `${what}: input_tokens`);
      assert.equal(l.output_tokens, e.usage ? e.usage.output : null, `${what}: output_tokens`);
      assert.equal(l.cached_tokens, e.usage ? e.usage.cached : null, `${what}: cached_tokens`);
      if (e.cost === null) assert.equal(l.cost_usd, null, `${what}: cost_usd unknown is null, never 0`);
      else closeTo(l.cost_usd, e.cost, `${what}: cost_usd`);
      assert.equal(l.attempts, e.attempts, `${what}: attempts`);
      assert.equal(l.error, e.error, `${what}: error`);
      assert.ok(typeof l.latency_ms === 'number' && l.latency_ms > 0, `${what}: latency_ms`);
      if (e.stream) assert.ok(typeof l.ttft_ms === 'number' && l.ttft_ms > 0 && l.ttft_ms <= l.latency_ms, `${what}: ttft_ms ${l.ttft_ms}`);
      else assert.equal(l.ttft_ms, null, `${what}: ttft_ms of a non-stream`);
    }
    const all = gw.output().stdout + gw.output().stderr;
    for (const [name, secret] of Object.entries(KEY)) assert.ok(!all.includes(secret), `the secret of key ${name} is in the gateway's output`);
  });

  it('usage rows (SQLite): one row per request, exact tokens/cost/status/error; the aborted stream is 499 client_closed', T, async () => {
    const rows = await waitFor(async () => {
      const r = await sqliteRows(db).catch(() => []);
      return r.length >= expected.length && r;
    }, { timeout: 5000, interval: 100, message: `${expected.length} usage rows in ${db}` });
    checkRows(rows, expected);
    const aborted = rows.find((r) => r.request_id === byWhat('aborted-stream').id);
    assert.equal(aborted.status, 499);
    assert.equal(aborted.error, 'client_closed');
    const { samples } = await scrape(gw);
    assert.equal(sample(samples, 'tollgate_usage_records_total', { outcome: 'written' }), expected.length);
    assert.equal(sample(samples, 'tollgate_usage_records_total', { outcome: 'dropped' }), 0);
    assert.equal(sample(samples, 'tollgate_usage_records_total', { outcome: 'lost' }), 0);
  });

  it('OTLP: one span per request posted to the collector, with gen_ai.* attributes and tollgate.cost_usd', T, async () => {
    const spans = await waitFor(() => {
      const s = otlp.spans();
      return s.length >= expected.length && s;
    }, { timeout: 8000, interval: 100, message: `${expected.length} spans at the OTLP receiver` });
    assert.equal(spans.length, expected.length);
    for (const p of otlp.posts) {
      assert.equal(p.method, 'POST');
      assert.equal(p.path, '/v1/traces');
      assert.match(String(p.contentType), /^application\/json/);
    }
    const byId = new Map(spans.map((s) => [s.attrs['tollgate.request_id'], s]));
    for (const e of expected) {
      const s = byId.get(e.id);
      const what = `span of ${e.what} (${e.id})`;
      assert.ok(s, `${what}: missing`);
      assert.equal(s.resource['service.name'], 'tollgate-obs-test', what);
      assert.match(s.traceId, /^[0-9a-f]{32}$/, what);
      assert.match(s.spanId, /^[0-9a-f]{16}$/, what);
      assert.equal(s.kind, 3, `${what}: a CLIENT span`);
      assert.equal(s.name, `chat ${e.upstream}`, what);
      assert.ok(BigInt(s.endTimeUnixNano) > BigInt(s.startTimeUnixNano), `${what}: end after start`);
      const a = s.attrs;
      assert.equal(a['gen_ai.operation.name'], 'chat', what);
      assert.equal(a['gen_ai.request.model'], e.upstream, what);
      assert.equal(a['gen_ai.provider.name'], e.kind, what);
      assert.equal(a['tollgate.model'], e.model, what);
      assert.equal(a['tollgate.provider'], e.provider, what);
      assert.equal(a['tollgate.stream'], e.stream, what);
      assert.equal(a['tollgate.attempts'], e.attempts, what);
      assert.equal(a['http.response.status_code'], e.status, what);
      assert.equal(a['server.address'], '127.0.0.1', what);
      assert.equal(a['server.port'], mock.port, what);
      if (e.usage) {
        assert.equal(a['gen_ai.usage.input_tokens'], e.usage.input, `${what}: input tokens`);
        assert.equal(a['gen_ai.usage.output_tokens'], e.usage.output, `${what}: output tokens`);
        assert.equal(a['gen_ai.usage.cache_read.input_tokens'], e.usage.cached || undefined, `${what}: cache_read tokens`);
      } else {
        assert.equal(a['gen_ai.usage.input_tokens'], undefined, `${what}: no usage, no token attributes`);
        assert.equal(a['gen_ai.usage.output_tokens'], undefined, what);
      }
      if (e.cost === null) assert.equal(a['tollgate.cost_usd'], undefined, `${what}: unknown cost is absent, never 0`);
      else closeTo(a['tollgate.cost_usd'], e.cost, `${what}: tollgate.cost_usd`);
      if (e.status >= 400) {
        assert.equal(a['error.type'], e.error, `${what}: error.type`);
        assert.equal(s.status?.code, 2, `${what}: span status ERROR`);
      } else {
        assert.equal(a['error.type'], undefined, what);
        assert.notEqual(s.status?.code, 2, what);
      }
      if (e.stream) assert.ok(a['tollgate.ttft_ms'] > 0, `${what}: tollgate.ttft_ms`);
      for (const secret of Object.values(KEY)) assert.ok(!JSON.stringify(s).includes(secret), `${what}: a key secret is in the span`);
    }
    const { samples } = await scrape(gw);
    assert.equal(sample(samples, 'tollgate_trace_spans_total', { outcome: 'exported' }), expected.length);
    assert.equal(sample(samples, 'tollgate_trace_spans_total', { outcome: 'dropped' }), 0);
    assert.equal(sample(samples, 'tollgate_trace_spans_total', { outcome: 'failed' }), 0);
  });

  it('OTLP: a caller traceparent makes the span a child in the caller trace', T, async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    const res = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY.alice}`, traceparent: `00-${traceId}-${parent}-01` },
      body: JSON.stringify({ model: 'priced', messages: [{ role: 'user', content: 'traced' }] }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200);
    await res.text();
    const id = res.headers.get('x-request-id');
    const span = await waitFor(() => otlp.spans().find((s) => s.attrs['tollgate.request_id'] === id), { timeout: 8000, interval: 100, message: 'the traced span' });
    assert.equal(span.traceId, traceId);
    assert.equal(span.parentSpanId, parent);
    assert.notEqual(span.spanId, parent);
  });

  it('requests the gateway refuses (unknown key, model not allowed) are logged, counted and recorded too; a wrong secret is never echoed', T, async () => {
    const wrong = 'tg-obs-wrong-secret-0123456789abcdef';
    const linesBefore = accessLines(gw).length;
    const rowsBefore = (await sqliteRows(db)).length;
    const send = (apiKey, model) =>
      fetch(`${gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'no' }] }),
        signal: AbortSignal.timeout(10_000),
      }).then(async (r) => ({ status: r.status, id: r.headers.get('x-request-id'), body: await r.text() }));
    const unauth = await send(wrong, 'priced');
    assert.equal(unauth.status, 401);
    const notAllowed = await send(KEY.alice, 'unpriced'); // bob's model, not alice's
    assert.ok([403, 404].includes(notAllowed.status), `model not allowed: ${notAllowed.status} ${notAllowed.body}`);

    const lines = await waitFor(() => {
      const l = accessLines(gw);
      return l.length >= linesBefore + 2 && l;
    }, { timeout: 5000, message: 'two more access-log lines' });
    assert.equal(lines.length, linesBefore + 2);
    const lu = lines.find((l) => l.request_id === unauth.id);
    assert.ok(lu, 'the 401 has its access-log line');
    assert.equal(lu.status, 401);
    assert.equal(lu.key, null, 'no key on an unauthenticated request');
    assert.equal(lu.cost_usd, null);
    assert.equal(lu.input_tokens, null);
    assert.equal(lu.attempts, 0);
    assert.ok(lu.error, 'a machine-readable error');
    const ln = lines.find((l) => l.request_id === notAllowed.id);
    assert.ok(ln, 'the refused model has its access-log line');
    assert.equal(ln.status, notAllowed.status);
    assert.equal(ln.key, 'alice');
    assert.equal(ln.attempts, 0);
    assert.equal(ln.provider, null, `no provider for a refused model: ${JSON.stringify(ln)}`);

    const rows = await waitFor(async () => {
      const r = await sqliteRows(db);
      return r.length >= rowsBefore + 2 && r;
    }, { timeout: 5000, interval: 100, message: 'two more usage rows' });
    assert.equal(rows.length, rowsBefore + 2);
    const ru = rows.find((r) => r.request_id === unauth.id);
    assert.equal(ru.status, 401);
    assert.equal(ru.key_id, null);
    assert.equal(ru.provider, null);
    assert.equal(ru.input_tokens, null);
    assert.equal(ru.cost_usd, null);
    const rn = rows.find((r) => r.request_id === notAllowed.id);
    assert.equal(rn.status, notAllowed.status);
    assert.equal(rn.key_name, 'alice');

    const { text, samples } = await scrape(gw);
    assert.equal(sample(samples, 'tollgate_requests_total', { route: 'chat.completions', model: '', provider: '', key: '', team: '', status: 401 }), 1);
    assert.equal(sample(samples, 'tollgate_requests_total', { route: 'chat.completions', model: '', provider: '', key: 'alice', team: '', status: notAllowed.status }), 1, 'an unresolved model is not a label value');
    // No GenAI client span for a call that was never made (the exporter flushes every second).
    await sleep(1500);
    for (const r of [unauth, notAllowed]) {
      const span = otlp.spans().find((s) => s.attrs['tollgate.request_id'] === r.id);
      assert.equal(span, undefined, `a span for refused request ${r.status} that reached no provider: ${JSON.stringify(span?.attrs)}`);
    }
    for (const where of [text, gw.output().stdout, gw.output().stderr, JSON.stringify(rows)]) {
      assert.ok(!where.includes(wrong) && !where.includes(wrong.slice(0, 16)), 'the wrong secret is echoed in metrics, logs or rows');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Retention: rows older than retention_days are purged (at start, then hourly).

describe('usage retention', () => {
  it('rows older than retention_days are purged at start; newer rows stay', T, async (t) => {
    const mock = await startMock(t);
    const dir = await makeTempDir(t, 'tollgate-obs-ret-');
    const db = path.join(dir, 'tollgate-usage.db');
    // The table as the gateway creates it, holding an old and a recent row.
    const day = 86_400_000;
    const now = Date.now();
    const ins = (id, ts) =>
      `INSERT INTO usage_records (request_id, ts, key_id, key_name, model, provider, upstream_model, route, status, stream, latency_ms, attempts) VALUES ('${id}', ${ts}, 'k', 'alice', 'priced', 'mock', 'gpt-4o', 'chat.completions', 200, 0, 1.5, 1);`;
    await run('sqlite3', [
      db,
      'CREATE TABLE IF NOT EXISTS usage_records (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, ts BIGINT NOT NULL, key_id TEXT, key_name TEXT, model TEXT, provider TEXT, upstream_model TEXT, route TEXT, status INTEGER NOT NULL, stream BOOLEAN NOT NULL, input_tokens BIGINT, output_tokens BIGINT, cached_tokens BIGINT, cache_creation_tokens BIGINT, reasoning_tokens BIGINT, cost_usd DOUBLE PRECISION, latency_ms DOUBLE PRECISION NOT NULL, ttft_ms DOUBLE PRECISION, attempts INTEGER NOT NULL, error TEXT);' +
        ins('old-31d', now - 31 * day) +
        ins('old-400d', now - 400 * day) +
        ins('recent-29d', now - 29 * day) +
        ins('recent-1h', now - 3_600_000),
    ]);
    const tollgate = processConfig({ extra: { usage: { backend: 'sqlite', retention_days: 30 } } });
    const { configPath } = await writeConfig(dir, { tollgate, resources: resourcesFor(mock) });
    const gw = await startGateway(t, { configPath });
    const ids = await waitFor(async () => {
      const r = (await sqliteRows(db)).map((x) => x.request_id);
      return !r.includes('old-31d') && r;
    }, { timeout: 5000, interval: 100, message: 'the purge of rows older than 30 days' });
    assert.deepEqual(ids.sort(), ['recent-1h', 'recent-29d']);
    // Traffic still lands beside the kept rows.
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY.alice, maxRetries: 0, timeout: 10_000 });
    await client.chat.completions.create({ model: 'priced', messages: [{ role: 'user', content: 'still here' }] });
    await waitFor(async () => (await sqliteRows(db)).length === 3, { timeout: 5000, interval: 100, message: 'the new row' });
  });
});

// ---------------------------------------------------------------------------------------------
// PostgreSQL backend: a REAL postgres on loopback, started and stopped (by PID) by startPostgres.

describe('observability: usage rows in a real PostgreSQL', () => {
  const scope = cleanupScope();
  let pg;
  let dbs = 0;
  /** A fresh database on the shared server; returns its conninfo. */
  const newDatabase = async () => {
    const name = await pg.createDb(`obs_${++dbs}`);
    return { name, conninfo: pg.conninfo(name), psql: (sql) => pg.psql(sql, name) };
  };
  before(async () => {
    pg = await startPostgres(scope);
  }, { timeout: 60_000 });
  after(() => scope.run());

  it('the same known traffic lands as the same exact rows in postgres', { timeout: 60_000 }, async (t) => {
    const db = await newDatabase();
    const mock = await startMock(t);
    const dir = await makeTempDir(t, 'tollgate-obs-pgcfg-');
    const tollgate = processConfig({ extra: { usage: { backend: 'postgres', url: db.conninfo, retention_days: 30 } } });
    const { configPath } = await writeConfig(dir, { tollgate, resources: resourcesFor(mock) });
    const gw = await startGateway(t, { configPath });
    const expected = await sendTraffic(gw.baseURL, mock);
    const rows = await waitFor(async () => {
      const out = (await db.psql('SELECT COALESCE(json_agg(u ORDER BY id), \'[]\') FROM usage_records u').catch(() => '[]')).trim();
      const r = JSON.parse(out || '[]');
      return r.length >= expected.length && r;
    }, { timeout: 8000, interval: 100, message: `${expected.length} rows in postgres` });
    checkRows(rows, expected);
    // Stored types: booleans are booleans, unknown tokens and costs are SQL NULL.
    const nulls = (await db.psql("SELECT count(*) FROM usage_records WHERE input_tokens IS NULL AND cost_usd IS NULL AND error IN ('client_closed', 'upstream_500')")).trim();
    assert.equal(nulls, '2');
    const unpriced = (await db.psql('SELECT count(*) FROM usage_records WHERE input_tokens IS NOT NULL AND cost_usd IS NULL')).trim();
    assert.equal(unpriced, '1', 'exactly one request with usage but no price');
    const streams = (await db.psql('SELECT count(*) FROM usage_records WHERE stream')).trim();
    assert.equal(streams, String(expected.filter((e) => e.stream).length));
    const total = Number((await db.psql('SELECT sum(cost_usd) FROM usage_records')).trim());
    closeTo(total, expected.reduce((a, e) => a + (e.cost ?? 0), 0), 'sum(cost_usd)');
    const { samples } = await scrape(gw);
    assert.equal(sample(samples, 'tollgate_usage_records_total', { outcome: 'written' }), expected.length);
    assert.equal(sample(samples, 'tollgate_usage_records_total', { outcome: 'dropped' }), 0);
  });

  it('a full usage queue drops with a counter and never blocks traffic (the writer stuck on a locked table)', { timeout: 180_000 }, async (t) => {
    const db = await newDatabase();
    const mock = await startMock(t);
    const dir = await makeTempDir(t, 'tollgate-obs-pgq-');
    const tollgate = processConfig({ workers: 2, extra: { usage: { backend: 'postgres', url: db.conninfo } } });
    const resources = resourcesFor(mock);
    resources.keys[0].models.push('demo');
    const { configPath } = await writeConfig(dir, { tollgate, resources });
    const gw = await startGateway(t, { configPath });
    const url = `${gw.baseURL}/chat/completions`;
    const body = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });
    // node:http with keep-alive: several times cheaper per request than fetch, which matters
    // for the ~67k requests it takes to fill the queue.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    t.after(() => agent.destroy());
    const one = () =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${KEY.alice}` }, timeout: 10_000 }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - t0 }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('request timed out')));
        req.on('error', reject);
        req.end(body);
      });
    const burst = async (n, concurrency = 64) => {
      let next = 0;
      const statuses = {};
      const lat = [];
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < n) {
          next++;
          const r = await one();
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          lat.push(r.ms);
        }
      }));
      lat.sort((a, b) => a - b);
      return { statuses, p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)], max: lat[lat.length - 1] };
    };
    const usage = async () => {
      const { samples } = await scrape(gw);
      return Object.fromEntries(['written', 'dropped', 'lost'].map((o) => [o, sample(samples, 'tollgate_usage_records_total', { outcome: o })]));
    };

    // Healthy store: rows are written.
    const warm = await burst(200);
    assert.deepEqual(warm.statuses, { 200: 200 });
    await waitFor(async () => (await usage()).written === 200, { timeout: 5000, message: '200 rows written' });

    // Lock the table from another session and keep the transaction open: the writer's next
    // INSERT waits on the lock, so records can only queue (capacity 65536, one batch of up to
    // 512 held by the stuck writer), and what does not fit must be dropped, not waited for.
    const locker = spawn('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db.name], { stdio: ['pipe', 'pipe', 'pipe'] });
    let lockerOut = '';
    locker.stdout.on('data', (d) => (lockerOut += d));
    locker.stderr.on('data', (d) => (lockerOut += d));
    const lockerExited = new Promise((resolve) => locker.on('exit', resolve));
    t.after(async () => {
      if (locker.exitCode === null && locker.signalCode === null) {
        locker.kill('SIGKILL');
        await lockerExited;
      }
    });
    locker.stdin.write("BEGIN; LOCK TABLE usage_records IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n");
    await waitFor(() => lockerOut.includes('locked'), { timeout: 5000, message: `the table lock; psql said: ${lockerOut}` });

    const N = 67_000;
    const t0 = Date.now();
    const during = await burst(N);
    const took = Date.now() - t0;
    assert.deepEqual(during.statuses, { 200: N }, 'every request answered while the store was stuck');
    const stuck = await usage();
    assert.equal(stuck.written, 200, 'nothing written while the table is locked');
    assert.ok(stuck.dropped >= N - 65_536 - 512 && stuck.dropped <= N - 65_536, `dropped ${stuck.dropped}: the queue holds 65536 (+ one batch in the writer)`);
    // Traffic was not slowed by the stuck writer: a single request right now is fast.
    const probe = await one();
    assert.equal(probe.status, 200);
    assert.ok(probe.ms < 500, `a request with the usage queue full took ${probe.ms} ms`);
    t.diagnostic(`${N} requests in ${took} ms with the store stuck: p50 ${during.p50.toFixed(1)} ms, p99 ${during.p99.toFixed(1)} ms, max ${during.max.toFixed(1)} ms; warm p50 ${warm.p50.toFixed(1)} ms; dropped ${stuck.dropped}`);
    assert.ok(during.p99 < 1000, `p99 ${during.p99} ms while the store was stuck`);

    // Release the lock: everything queued is written; written + dropped accounts for every request.
    locker.stdin.end('COMMIT;\n');
    await lockerExited;
    const total = 200 + N + 1;
    const done = await waitFor(async () => {
      const u = await usage();
      return u.written + u.dropped === total && u;
    }, { timeout: 60_000, interval: 200, message: `written + dropped = ${total}` });
    assert.equal(done.lost, 0);
    const rows = Number((await db.psql('SELECT count(*) FROM usage_records')).trim());
    assert.equal(rows, done.written, 'rows in the table = written counter');
  });
});
