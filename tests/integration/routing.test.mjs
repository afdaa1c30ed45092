// Routing and resilience (issue 4) through the real gateway: strategies (weighted, priority
// tiers, least-latency, least-busy, lowest-cost, session affinity), retries and failover
// across providers (500, connect error, hang, stream cut before / after the first byte, slow
// first token), fallback chains into another dialect, 429 + Retry-After cooling, the circuit
// breaker with its half-open probe, the overall deadline, and the per-target metrics.
//
// Every provider is its own mock instance, so the traffic a target got is counted from that
// mock's own request log, not only from what the gateway says (x-tollgate-target). Every test
// starts its own gateway: target health (circuits, latency EWMAs, smooth-WRR state) lives for
// the life of the process.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { KEYS, closedPort, envelopeProblems, makeTempDir, postJson, processConfig, runTollgate, sleep, sseData, startGateway, startMock, waitFor, writeConfig } from './harness.mjs';

const CHAT = '/v1/chat/completions';

// ---------------------------------------------------------------------------------------------
// Setup: N OpenAI mocks, each its own provider named after it, plus optional extra providers.

/**
 * mocks: names of OpenAI mock providers to start (each is `kind: openai` at its own port).
 * timeouts: per provider name, { connect_ms, read_ms, idle_ms } overrides.
 * providers: extra provider entries (a dead port, an anthropic mock...).
 * models: the model list; the one key may use every model.
 */
async function routingSetup(t, { mocks = ['a', 'b'], timeouts = {}, providers = [], models, workers = 2, extra = {}, nofile, ports = {}, guardrails }) {
  const m = {};
  for (const name of mocks) m[name] = await startMock(t, ports[name] ? { port: ports[name] } : {});
  const dir = await makeTempDir(t);
  const resources = {
    providers: [
      ...mocks.map((name) => ({
        name,
        kind: 'openai',
        base_url: m[name].baseURL,
        api_key: m[name].apiKey,
        timeouts: { connect_ms: 1000, read_ms: 5000, idle_ms: 5000, ...(timeouts[name] ?? {}) },
      })),
      ...providers,
    ],
    models,
    ...(guardrails ? { guardrails } : {}),
    keys: [{ name: 'all', key: KEYS.all, models: models.map((x) => x.name) }],
  };
  const { configPath } = await writeConfig(dir, { tollgate: processConfig({ workers, extra }), resources });
  const gw = await startGateway(t, { configPath, nofile });

  /** One chat request; returns status, target, attempts, elapsed ms, body. */
  async function chat(model, { stream = false, content = 'hello routing', headers = {}, extra = {}, timeout = 20_000 } = {}) {
    const started = Date.now();
    const body = { model, messages: [{ role: 'user', content }], ...(stream ? { stream: true } : {}), ...extra };
    const r = await postJson(`${gw.baseURL}/chat/completions`, body, { apiKey: KEYS.all, headers, signal: AbortSignal.timeout(timeout) });
    return {
      ...r,
      ms: Date.now() - started,
      target: r.headers.get('x-tollgate-target'),
      attempts: Number(r.headers.get('x-tollgate-attempts')),
    };
  }
  const openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 20_000 });
  /** Chat requests the mock `name` received. */
  const hits = (name) => m[name].requestsTo(CHAT).length;
  return { gw, mocks: m, chat, hits, openai, resources };
}

/** Prometheus text -> [{ name, labels, value }]. */
async function scrape(gw) {
  const res = await fetch(`${gw.adminURL}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  const out = [];
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const mm = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!mm) continue;
    const labels = {};
    for (const l of (mm[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: mm[1], labels, value: Number(mm[3]) });
  }
  return out;
}

/** { attempts, retries, failovers, failures, cooldowns, cooling, latency, in_flight } of a target. */
async function targetMetrics(gw, target) {
  const samples = await scrape(gw);
  const get = (name) => samples.find((s) => s.name === name && s.labels.target === target)?.value;
  return {
    attempts: get('tollgate_target_attempts_total'),
    retries: get('tollgate_target_retries_total'),
    failovers: get('tollgate_target_failovers_total'),
    failures: get('tollgate_target_failures_total'),
    cooldowns: get('tollgate_target_cooldowns_total'),
    cooling: get('tollgate_target_cooling'),
    latency: get('tollgate_target_latency_ewma_seconds'),
    in_flight: get('tollgate_target_in_flight'),
  };
}

/** Runs `total` calls of fn(i) with at most `concurrency` at a time. */
async function pool(total, concurrency, fn) {
  let next = 0;
  const results = new Array(total);
  const worker = async () => {
    while (next < total) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return results;
}

const tally = (list) => list.reduce((acc, k) => ((acc[k] = (acc[k] ?? 0) + 1), acc), {});

/** The content of an OpenAI SSE body, asserting every chunk is a well-formed chunk. */
function streamedText(text) {
  const data = sseData(text);
  const chunks = data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
  return {
    data,
    chunks,
    errors: chunks.filter((c) => c.error),
    content: chunks.filter((c) => !c.error).map((c) => c.choices?.[0]?.delta?.content ?? '').join(''),
  };
}

const fast = { max_attempts: 3, backoff_ms: 10, max_backoff_ms: 50 };

// ---------------------------------------------------------------------------------------------

describe('weighted round robin', () => {
  it('3:1 over 1,000 requests (concurrency 20): the split is within ±2 of 750/250 and x-tollgate-target agrees with each mock', { timeout: 90_000 }, async (t) => {
    // Tolerance: smooth weighted round robin gives weights 3:1 the exact repeating sequence
    // A A B A on each worker thread, so after any number of picks a thread's count for A is
    // within 1 of 3/4 of its picks (in fact within -0.25..+0.5). State is per worker thread
    // and the gateway runs 2 workers, so over the whole run A's total is within 2 (1 per
    // worker) of 750, however the requests are spread across the threads.
    const WORKERS = 2;
    const env = await routingSetup(t, {
      workers: WORKERS,
      models: [{ name: 'pool', strategy: 'weighted', targets: [{ provider: 'a', model: 'gpt-4o', weight: 3 }, { provider: 'b', model: 'gpt-4o', weight: 1 }] }],
    });
    const results = await pool(1000, 20, async (i) => {
      const r = await env.chat('pool', { content: `req ${i}` });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.attempts, 1);
      assert.equal(r.json.choices[0].message.content, `Echo: req ${i}`);
      return r.target;
    });
    const byHeader = tally(results);
    const a = env.hits('a');
    const b = env.hits('b');
    assert.equal(a + b, 1000, 'each request reached exactly one mock');
    assert.deepEqual(byHeader, { 'a/gpt-4o': a, 'b/gpt-4o': b }, 'x-tollgate-target disagrees with the mocks\' logs');
    assert.ok(Math.abs(a - 750) <= WORKERS, `weights 3:1 over 1,000 requests gave a=${a} b=${b} (expected 750±${WORKERS})`);

    const ma = await targetMetrics(env.gw, 'a/gpt-4o');
    const mb = await targetMetrics(env.gw, 'b/gpt-4o');
    assert.equal(ma.attempts, a);
    assert.equal(mb.attempts, b);
    assert.equal(ma.in_flight + mb.in_flight, 0);
    assert.equal(ma.retries + mb.retries, 0);
  });

  it('weights 1:1:2 over 400 sequential requests interleave smoothly (never the same target 3 times in a row on one connection)', { timeout: 60_000 }, async (t) => {
    // workers: 1, sequential: one smooth-WRR sequence, exact: 100/100/200.
    const env = await routingSetup(t, {
      mocks: ['a', 'b', 'c'],
      workers: 1,
      models: [{ name: 'pool', targets: [{ provider: 'a', model: 'gpt-4o', weight: 1 }, { provider: 'b', model: 'gpt-4o', weight: 1 }, { provider: 'c', model: 'gpt-4o', weight: 2 }] }],
    });
    const seq = [];
    for (let i = 0; i < 400; i++) {
      const r = await env.chat('pool');
      assert.equal(r.status, 200, r.text);
      seq.push(r.target);
    }
    assert.deepEqual(tally(seq), { 'a/gpt-4o': 100, 'b/gpt-4o': 100, 'c/gpt-4o': 200 });
    assert.deepEqual([env.hits('a'), env.hits('b'), env.hits('c')], [100, 100, 200]);
    for (let i = 2; i < seq.length; i++) assert.ok(!(seq[i] === seq[i - 1] && seq[i] === seq[i - 2]), `three in a row at ${i}: ${seq.slice(i - 2, i + 1)}`);
  });
});

describe('priority tiers', () => {
  it('tier 1 gets no traffic while tier 0 is healthy; when every tier-0 target fails, tier 1 serves', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a', 'b', 'c'],
      models: [{
        name: 'tiers',
        strategy: 'weighted',
        targets: [
          { provider: 'a', model: 'gpt-4o', weight: 1, priority: 0 },
          { provider: 'b', model: 'gpt-4o', weight: 1, priority: 0 },
          { provider: 'c', model: 'gpt-4o', weight: 5, priority: 1 },
        ],
        retry: fast,
        circuit: { failures: 2, cooldown_ms: 30_000 },
      }],
    });
    const healthy = await pool(40, 5, () => env.chat('tiers'));
    for (const r of healthy) {
      assert.equal(r.status, 200);
      assert.equal(r.attempts, 1);
    }
    assert.equal(env.hits('c'), 0, 'the tier-1 target got traffic while tier 0 was healthy');
    assert.equal(env.hits('a') + env.hits('b'), 40);
    assert.ok(env.hits('a') >= 15 && env.hits('b') >= 15, `tier 0 split: a=${env.hits('a')} b=${env.hits('b')}`);

    // Tier 0 fails: the first request tries both (500, 500), then tier 1 serves it.
    env.mocks.a.setBehavior('mock-error-500');
    env.mocks.b.setBehavior('mock-error-500');
    const first = await env.chat('tiers');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.target, 'c/gpt-4o');
    assert.equal(first.attempts, 3);
    assert.equal(first.json.choices[0].message.content, 'Echo: hello routing');

    // Once both tier-0 circuits are open (failures: 2), tier 1 serves at the first attempt.
    const second = await env.chat('tiers');
    assert.equal(second.status, 200);
    assert.equal(second.target, 'c/gpt-4o');
    assert.equal(second.attempts, 3, 'the second request still found tier 0 closed (one failure each so far)');
    const beforeA = env.hits('a');
    const beforeB = env.hits('b');
    for (let i = 0; i < 10; i++) {
      const r = await env.chat('tiers');
      assert.equal(r.status, 200);
      assert.equal(r.target, 'c/gpt-4o');
      assert.equal(r.attempts, 1, 'tier 0 is cooling: tier 1 should be tried first');
    }
    assert.equal(env.hits('a'), beforeA, 'a cooling target got traffic');
    assert.equal(env.hits('b'), beforeB, 'a cooling target got traffic');
    assert.equal(env.hits('c'), 12);
  });
});

describe('failover across providers', () => {
  // strategy fallback: the declared order, so the failing target is always tried first.
  const pair = (first, second = { provider: 'b', model: 'gpt-4o' }, extra = {}) => [{ name: 'm', strategy: 'fallback', targets: [first, second], retry: fast, ...extra }];

  it('500 from the first provider: the second serves, attempts 2', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { models: pair({ provider: 'a', model: 'mock-error-500' }) });
    const r = await env.chat('m');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.target, 'b/gpt-4o');
    assert.equal(r.attempts, 2);
    assert.equal(r.json.choices[0].message.content, 'Echo: hello routing');
    assert.equal(env.hits('a'), 1);
    assert.equal(env.hits('b'), 1);
    // The SDK sees a plain answer.
    const sdk = await env.openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'via sdk' }] });
    assert.equal(sdk.choices[0].message.content, 'Echo: via sdk');

    const a = await targetMetrics(env.gw, 'a/mock-error-500');
    const b = await targetMetrics(env.gw, 'b/gpt-4o');
    assert.equal(a.attempts, 2);
    assert.equal(a.failures, 2);
    assert.equal(b.attempts, 2);
    assert.equal(b.retries, 2);
    assert.equal(b.failovers, 2);
  });

  it('connect error (a closed port): the second provider serves, attempts 2', { timeout: 20_000 }, async (t) => {
    const port = await closedPort();
    const env = await routingSetup(t, {
      mocks: ['b'],
      providers: [{ name: 'dead', kind: 'openai', base_url: `http://127.0.0.1:${port}/v1`, api_key: 'sk-dead', timeouts: { connect_ms: 1000, read_ms: 1000, idle_ms: 1000 } }],
      models: pair({ provider: 'dead', model: 'gpt-4o' }),
    });
    const r = await env.chat('m');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.target, 'b/gpt-4o');
    assert.equal(r.attempts, 2);
    assert.ok(r.ms < 3000, `took ${r.ms} ms`);
    assert.equal(env.hits('b'), 1);
  });

  it('hang (read timeout 500 ms): the second provider serves, attempts 2, after the read timeout', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { timeouts: { a: { read_ms: 500, idle_ms: 500 } }, models: pair({ provider: 'a', model: 'mock-hang' }) });
    const r = await env.chat('m');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.target, 'b/gpt-4o');
    assert.equal(r.attempts, 2);
    assert.ok(r.ms >= 450 && r.ms < 3000, `took ${r.ms} ms`);
    assert.equal(env.hits('a'), 1);
    await waitFor(() => env.mocks.a.requests[0].closedByPeerAt, { timeout: 2000, message: 'the gateway to drop the hung upstream request' });
  });

  it('stream cut before the first byte: fails over; the caller sees one clean stream from the second provider', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { models: pair({ provider: 'a', model: 'mock-stream-cut-early' }) });
    const r = await env.chat('m', { stream: true, content: 'stream me' });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    assert.equal(r.target, 'b/gpt-4o');
    assert.equal(r.attempts, 2);
    const s = streamedText(r.text);
    assert.equal(s.errors.length, 0, `an error event reached the caller: ${r.text}`);
    assert.equal(s.content, 'Echo: stream me');
    assert.equal(s.data.at(-1), '[DONE]');
    assert.equal(env.hits('a'), 1);
    assert.equal(env.mocks.a.requests[0].stream, true, 'the first provider was really asked to stream');
    assert.equal(env.hits('b'), 1);

    // Through the SDK's stream too.
    const stream = await env.openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'via sdk' }], stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Echo: via sdk');
  });

  it('stream answered 500 before the first byte: fails over to the second provider', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { models: pair({ provider: 'a', model: 'mock-error-500' }) });
    const r = await env.chat('m', { stream: true, content: 'stream me' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.target, 'b/gpt-4o');
    assert.equal(r.attempts, 2);
    assert.equal(streamedText(r.text).content, 'Echo: stream me');
  });

  it('slow first token (head sent, no chunk within idle_ms 500): fails over to the second provider', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { timeouts: { a: { read_ms: 500, idle_ms: 500 } }, models: pair({ provider: 'a', model: 'mock-stream-slow-first-3000' }) });
    const r = await env.chat('m', { stream: true, content: 'stream me' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.target, 'b/gpt-4o');
    assert.equal(r.attempts, 2);
    assert.ok(r.ms >= 450 && r.ms < 2500, `took ${r.ms} ms`);
    const s = streamedText(r.text);
    assert.equal(s.errors.length, 0, r.text);
    assert.equal(s.content, 'Echo: stream me');
  });

  it('slow answer head (mock-delay beyond read_ms) on a stream: fails over to the second provider', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { timeouts: { a: { read_ms: 500, idle_ms: 500 } }, models: pair({ provider: 'a', model: 'mock-delay-3000' }) });
    const r = await env.chat('m', { stream: true, content: 'stream me' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.target, 'b/gpt-4o');
    assert.equal(r.attempts, 2);
    assert.equal(streamedText(r.text).content, 'Echo: stream me');
  });

  it('stream cut AFTER the first byte is not retried: the caller gets the chunks then an error event, attempts 1', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { models: pair({ provider: 'a', model: 'mock-stream-cut' }) });
    const r = await env.chat('m', { stream: true, content: 'one two three four' });
    assert.equal(r.status, 200);
    assert.equal(r.target, 'a/mock-stream-cut');
    assert.equal(r.attempts, 1);
    const s = streamedText(r.text);
    assert.ok(s.chunks.length >= 2, `the chunks before the cut did not reach the caller: ${r.text}`);
    assert.equal(s.errors.length, 1, `no error event at the end: ${r.text}`);
    assert.notEqual(s.data.at(-1), '[DONE]', 'a cut stream ended with [DONE]');
    assert.ok(!s.content.includes('Echo: one two three four'), 'the full answer (a retry) reached the caller');
    assert.equal(env.hits('b'), 0, 'the stream was retried on another provider after its first byte');

    // The SDK raises it.
    const stream = await env.openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x y z' }], stream: true });
    await assert.rejects(async () => {
      for await (const c of stream) void c;
    });
    assert.equal(env.hits('b'), 0);
  });

  it('a target whose streams keep breaking after the first byte counts those as failures and is cooled', { timeout: 20_000 }, async (t) => {
    // Not retried (the caller already has bytes), but it says the target is unwell: after
    // `failures` such streams the circuit opens and new streams go to the healthy provider.
    const env = await routingSetup(t, { models: pair({ provider: 'a', model: 'mock-stream-cut' }, undefined, { circuit: { failures: 2, cooldown_ms: 30_000 } }) });
    for (let i = 0; i < 2; i++) {
      const r = await env.chat('m', { stream: true });
      assert.equal(r.target, 'a/mock-stream-cut');
      assert.equal(streamedText(r.text).errors.length, 1);
    }
    const m = await targetMetrics(env.gw, 'a/mock-stream-cut');
    assert.equal(m.in_flight, 0);
    assert.equal(m.failures, 2, 'streams cut mid-way did not count as failures of the target');
    const r = await env.chat('m', { stream: true, content: 'after the cuts' });
    assert.equal(r.target, 'b/gpt-4o', 'a target that broke every stream was not cooled');
    assert.equal(streamedText(r.text).content, 'Echo: after the cuts');
    assert.equal(env.hits('a'), 2);
  });

  it('retry.on limits which failure classes are retried (on: [connect] does not retry a 500)', { timeout: 20_000 }, async (t) => {
    const port = await closedPort();
    const env = await routingSetup(t, {
      providers: [{ name: 'dead', kind: 'openai', base_url: `http://127.0.0.1:${port}/v1`, api_key: 'sk-dead', timeouts: { connect_ms: 1000, read_ms: 1000, idle_ms: 1000 } }],
      models: [
        { name: 'm500', strategy: 'fallback', targets: [{ provider: 'a', model: 'mock-error-500' }, { provider: 'b', model: 'gpt-4o' }], retry: { ...fast, on: ['connect'] } },
        { name: 'mdead', strategy: 'fallback', targets: [{ provider: 'dead', model: 'gpt-4o' }, { provider: 'b', model: 'gpt-4o' }], retry: { ...fast, on: ['connect'] } },
      ],
    });
    const r = await env.chat('m500');
    assert.equal(r.status, 500, r.text);
    assert.equal(r.attempts, 1);
    assert.equal(env.hits('b'), 0);
    const d = await env.chat('mdead');
    assert.equal(d.status, 200, d.text);
    assert.equal(d.attempts, 2);
    assert.equal(d.target, 'b/gpt-4o');
  });

  it('a non-retryable 400 from the upstream is returned at once with attempts 1', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [
        { name: 'm400', strategy: 'fallback', targets: [{ provider: 'a', model: 'mock-error-400' }, { provider: 'b', model: 'gpt-4o' }], retry: { max_attempts: 3, backoff_ms: 500 } },
        { name: 'm401', strategy: 'fallback', targets: [{ provider: 'a', model: 'mock-error-401' }, { provider: 'b', model: 'gpt-4o' }] },
        { name: 'm404', strategy: 'fallback', targets: [{ provider: 'a', model: 'mock-not-found' }, { provider: 'b', model: 'gpt-4o' }] },
      ],
    });
    const r = await env.chat('m400');
    assert.equal(r.status, 400, r.text);
    assert.equal(r.attempts, 1);
    assert.equal(r.target, 'a/mock-error-400');
    assert.deepEqual(envelopeProblems(r.json), []);
    assert.equal(r.json.error.message, 'Invalid request (mock-error-400).');
    assert.ok(r.ms < 400, `a 400 took ${r.ms} ms (backoff 500 ms would mean it was retried)`);
    assert.equal(env.hits('a'), 1);
    assert.equal(env.hits('b'), 0);

    for (const [model, status] of [['m401', 401], ['m404', 404]]) {
      const x = await env.chat(model);
      assert.equal(x.status, status, x.text);
      assert.equal(x.attempts, 1);
    }
    assert.equal(env.hits('b'), 0, 'a 4xx was retried on another provider');
    const m = await targetMetrics(env.gw, 'a/mock-error-400');
    assert.equal(m.failures, 0, 'a 400 counted as a health failure');
    assert.equal(m.cooldowns, 0);
  });
});

describe('fallback chains', () => {
  it('primary fails, the fallback alias on an Anthropic provider answers; the OpenAI SDK caller gets a valid answer', { timeout: 30_000 }, async (t) => {
    const amock = await startAnthropicMock();
    t.after(() => amock.close());
    const env = await routingSetup(t, {
      mocks: ['a'],
      providers: [{ name: 'anthropic', kind: 'anthropic', base_url: amock.url, api_key: amock.apiKey }],
      models: [
        { name: 'primary', targets: [{ provider: 'a', model: 'mock-error-500' }], fallbacks: ['claude'], retry: fast, circuit: { failures: 100, cooldown_ms: 30_000 } },
        { name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }] },
      ],
    });
    const raw = await env.chat('primary', { content: 'hello fallback' });
    assert.equal(raw.status, 200, raw.text);
    assert.equal(raw.target, 'anthropic/claude-sonnet-4-5');
    assert.equal(raw.attempts, 2);
    assert.equal(env.hits('a'), 1);
    assert.equal(amock.requestsTo('/v1/messages').length, 1);

    const r = await env.openai.chat.completions.create({ model: 'primary', messages: [{ role: 'user', content: 'hello fallback' }], max_tokens: 50 });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, 'Echo: hello fallback');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0, JSON.stringify(r.usage));

    // Streaming through the fallback, translated back into OpenAI chunks.
    const stream = await env.openai.chat.completions.create({ model: 'primary', messages: [{ role: 'user', content: 'stream fallback' }], stream: true, max_tokens: 50 });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Echo: stream fallback');
    assert.equal(amock.requestsTo('/v1/messages').length, 3);
  });

  it('an Anthropic caller (/v1/messages): the Anthropic target is overloaded (529), the fallback on an OpenAI provider answers in Anthropic\'s format', { timeout: 30_000 }, async (t) => {
    const amock = await startAnthropicMock();
    t.after(() => amock.close());
    const env = await routingSetup(t, {
      mocks: ['b'],
      providers: [{ name: 'anthropic', kind: 'anthropic', base_url: amock.url, api_key: amock.apiKey }],
      models: [
        { name: 'claude', targets: [{ provider: 'anthropic', model: 'mock-error-529' }], fallbacks: ['gpt'], retry: fast, circuit: { failures: 100, cooldown_ms: 30_000 } },
        { name: 'gpt', targets: [{ provider: 'b', model: 'gpt-4o' }] },
      ],
    });
    const headers = { 'x-api-key': KEYS.all, 'anthropic-version': '2023-06-01' };
    const r = await postJson(`${env.gw.proxyURL}/v1/messages`, { model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'hello anthropic caller' }] }, { headers });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-tollgate-target'), 'b/gpt-4o');
    assert.equal(r.headers.get('x-tollgate-attempts'), '2');
    assert.equal(r.json.type, 'message');
    assert.equal(r.json.role, 'assistant');
    assert.deepEqual(r.json.content, [{ type: 'text', text: 'Echo: hello anthropic caller' }]);
    assert.equal(r.json.stop_reason, 'end_turn');
    assert.equal(amock.requestsTo('/v1/messages').length, 1);
    assert.equal(env.hits('b'), 1);

    const s = await postJson(`${env.gw.proxyURL}/v1/messages`, { model: 'claude', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'stream anthropic caller' }] }, { headers });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.headers.get('x-tollgate-attempts'), '2');
    const events = sseData(s.text).map((d) => JSON.parse(d));
    assert.equal(events[0].type, 'message_start');
    assert.equal(events.at(-1).type, 'message_stop');
    assert.ok(!events.some((e) => e.type === 'error'), s.text);
    const text = events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text ?? '').join('');
    assert.equal(text, 'Echo: stream anthropic caller');
  });

  it('a chain of aliases: m -> second -> third, each tried in order', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a', 'b', 'c'],
      models: [
        { name: 'first', targets: [{ provider: 'a', model: 'mock-error-503' }], fallbacks: ['second', 'third'], retry: fast, circuit: { failures: 100, cooldown_ms: 30_000 } },
        { name: 'second', targets: [{ provider: 'b', model: 'mock-error-500' }] },
        { name: 'third', targets: [{ provider: 'c', model: 'gpt-4o-mini' }] },
      ],
    });
    const r = await env.chat('first');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.target, 'c/gpt-4o-mini');
    assert.equal(r.attempts, 3);
    assert.deepEqual([env.hits('a'), env.hits('b'), env.hits('c')], [1, 1, 1]);
    assert.equal(env.mocks.c.requests[0].body.model, 'gpt-4o-mini');
  });
});

describe('429 and Retry-After', () => {
  it('a 429 with Retry-After: 1 cools that target for 1 s (no traffic), then it gets traffic again', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{ name: 'pool', targets: [{ provider: 'a', model: 'gpt-4o', weight: 1 }, { provider: 'b', model: 'gpt-4o', weight: 1 }], retry: fast }],
      workers: 1,
    });
    env.mocks.a.setBehavior('mock-error-429'); // retry-after: 1
    // Until a has answered its 429 (within 2 requests on one worker thread's 1:1 sequence).
    let first;
    for (let i = 0; i < 4 && env.hits('a') === 0; i++) first = await env.chat('pool');
    assert.equal(env.hits('a'), 1);
    const t429 = env.mocks.a.requests[0].receivedAt;
    assert.equal(first.status, 200, first.text);
    assert.equal(first.target, 'b/gpt-4o', 'the request a rate-limited was served by b');
    assert.equal(first.attempts, 2);

    // a recovers at once, but it is cooling for 1 s: no traffic while it does.
    env.mocks.a.setBehavior(null);
    let during = 0;
    while (Date.now() - t429 < 850) {
      const r = await env.chat('pool');
      assert.equal(r.status, 200);
      assert.equal(r.target, 'b/gpt-4o', `a got traffic ${Date.now() - t429} ms after its 429 with Retry-After: 1`);
      assert.equal(r.attempts, 1);
      during++;
    }
    assert.ok(during >= 5, `only ${during} requests while cooling`);
    assert.equal(env.hits('a'), 1);
    const cooling = await targetMetrics(env.gw, 'a/gpt-4o');
    assert.equal(cooling.cooling, 1);
    assert.equal(cooling.cooldowns, 1);

    // After the second, a gets traffic again.
    await sleep(Math.max(0, t429 + 1150 - Date.now()));
    const after = [];
    for (let i = 0; i < 10; i++) after.push((await env.chat('pool')).target);
    assert.ok(env.hits('a') >= 5, `a got ${env.hits('a') - 1} of 10 requests after its cooldown: ${after}`);
    const b = await targetMetrics(env.gw, 'b/gpt-4o');
    assert.equal(b.failovers, 1);
  });

  // when_all_unavailable: fail, so the refusal shows how long the target cools (by default a
  // lone cooling target still gets the request).
  it('retry-after-ms is honoured (cooling 600 ms; when_all_unavailable: fail)', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a'],
      models: [{ name: 'solo', targets: [{ provider: 'a', model: 'gpt-4o' }], retry: fast, when_all_unavailable: 'fail' }],
    });
    env.mocks.a.setBehavior('mock-error-429-ms-600');
    const r = await env.chat('solo');
    assert.equal(r.status, 429);
    env.mocks.a.setBehavior(null);
    const t429 = env.mocks.a.requests[0].receivedAt;
    const cooling = await env.chat('solo');
    assert.ok(Date.now() - t429 < 550, 'test too slow to observe the cooldown');
    assert.equal(cooling.status, 429, cooling.text);
    assert.equal(env.hits('a'), 1);
    await sleep(Math.max(0, t429 + 700 - Date.now()));
    const ok = await env.chat('solo');
    assert.equal(ok.status, 200, ok.text);
    assert.ok(Date.now() - t429 < 1000, 'retry-after-ms was not preferred over the rounded-up retry-after');
  });

  it('when_all_unavailable: fail, one target: while it cools from a 429 the caller gets 429 + Retry-After and the provider no traffic', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a'],
      models: [{ name: 'solo', targets: [{ provider: 'a', model: 'gpt-4o' }], retry: fast, when_all_unavailable: 'fail' }],
    });
    env.mocks.a.setBehavior('mock-error-429');
    const r1 = await env.chat('solo');
    assert.equal(r1.status, 429, r1.text);
    assert.deepEqual(envelopeProblems(r1.json), []);
    assert.equal(r1.headers.get('retry-after'), '1');
    assert.equal(env.hits('a'), 1, 'the gateway retried a target that told it to wait 1 s');
    const t429 = env.mocks.a.requests[0].receivedAt;
    env.mocks.a.setBehavior(null);

    const r2 = await env.chat('solo');
    assert.ok(Date.now() - t429 < 900, 'test too slow to observe the cooldown');
    assert.equal(r2.status, 429, r2.text);
    assert.deepEqual(envelopeProblems(r2.json), []);
    assert.equal(r2.json.error.code, 'rate_limit_exceeded');
    const ra = Number(r2.headers.get('retry-after'));
    assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 1, `retry-after: ${r2.headers.get('retry-after')}`);
    assert.equal(env.hits('a'), 1, 'a cooling target got traffic');

    // The SDK sees a RateLimitError.
    await assert.rejects(env.openai.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'x' }] }), (e) => e.status === 429);

    await sleep(Math.max(0, t429 + 1100 - Date.now()));
    const r3 = await env.chat('solo');
    assert.equal(r3.status, 200, r3.text);
    assert.equal(r3.target, 'a/gpt-4o');
    assert.equal(env.hits('a'), 2);
  });

  it('a 429 without Retry-After is retried with backoff and does not open the circuit', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a'],
      models: [{ name: 'solo', targets: [{ provider: 'a', model: 'mock-error-429-noretry' }], retry: { max_attempts: 3, backoff_ms: 100, max_backoff_ms: 1000 }, circuit: { failures: 1, cooldown_ms: 30_000 } }],
    });
    const r = await env.chat('solo');
    assert.equal(r.status, 429, r.text);
    assert.equal(r.attempts, 3);
    assert.equal(env.hits('a'), 3);
    // Backoff with jitter in [50%, 100%]: 50..100 ms, then 100..200 ms.
    assert.ok(r.ms >= 150, `three attempts in ${r.ms} ms: no backoff`);
    // Not cooled (circuit failures: 1 would have opened it on a health failure).
    const r2 = await env.chat('solo');
    assert.equal(r2.status, 429);
    assert.equal(r2.attempts, 3);
    assert.equal(env.hits('a'), 6, 'a 429 without Retry-After cooled the target');
    const m = await targetMetrics(env.gw, 'a/mock-error-429-noretry');
    assert.equal(m.cooldowns, 0);
    assert.equal(m.cooling, 0);
    assert.equal(m.attempts, 6);
    assert.equal(m.retries, 4);
    assert.equal(m.failovers, 0);
  });
});

describe('circuit breaker', () => {
  it('3 consecutive failures cool the target for cooldown_ms; one half-open probe; failure re-opens, success closes; counters move', { timeout: 40_000 }, async (t) => {
    const COOLDOWN = 1500;
    const env = await routingSetup(t, {
      models: [{
        name: 'cb',
        strategy: 'fallback', // a first whenever it is available
        targets: [{ provider: 'a', model: 'gpt-4o' }, { provider: 'b', model: 'gpt-4o' }],
        retry: { max_attempts: 2, backoff_ms: 10, max_backoff_ms: 20 },
        circuit: { failures: 3, cooldown_ms: COOLDOWN },
      }],
    });
    const A = 'a/gpt-4o';
    const B = 'b/gpt-4o';
    // Healthy: a serves.
    let r = await env.chat('cb');
    assert.equal(r.target, A);
    assert.equal(r.attempts, 1);

    env.mocks.a.setBehavior('mock-error-500');
    for (let i = 1; i <= 3; i++) {
      r = await env.chat('cb');
      assert.equal(r.status, 200);
      assert.equal(r.target, B);
      assert.equal(r.attempts, 2, `failure ${i}: a was not tried first`);
    }
    assert.equal(env.hits('a'), 4);
    const opened = env.mocks.a.requests.at(-1).receivedAt;
    let ma = await targetMetrics(env.gw, A);
    assert.equal(ma.cooldowns, 1, 'the circuit did not open after 3 consecutive failures');
    assert.equal(ma.cooling, 1);
    assert.equal(ma.failures, 3);

    // Open: no traffic to a for the cooldown; b serves at the first attempt.
    while (Date.now() - opened < COOLDOWN - 300) {
      r = await env.chat('cb');
      assert.equal(r.target, B);
      assert.equal(r.attempts, 1, `a got traffic ${Date.now() - opened} ms into a ${COOLDOWN} ms cooldown`);
    }
    assert.equal(env.hits('a'), 4);

    // Half-open, still failing: one probe, it fails, the circuit re-opens at once.
    await sleep(Math.max(0, opened + COOLDOWN + 400 - Date.now()));
    r = await env.chat('cb');
    assert.equal(r.target, B);
    assert.equal(r.attempts, 2, 'no half-open probe after the cooldown');
    assert.equal(env.hits('a'), 5);
    const reopened = env.mocks.a.requests.at(-1).receivedAt;
    r = await env.chat('cb');
    assert.equal(r.attempts, 1, 'a failed probe did not re-open the circuit');
    assert.equal(env.hits('a'), 5);
    ma = await targetMetrics(env.gw, A);
    assert.equal(ma.cooldowns, 2);
    assert.equal(ma.failures, 4);
    while (Date.now() - reopened < COOLDOWN - 300) {
      r = await env.chat('cb');
      assert.equal(r.attempts, 1);
    }
    assert.equal(env.hits('a'), 5, 'a got traffic while re-opened');

    // Half-open with a recovered (but slow) target: exactly one probe among concurrent callers.
    env.mocks.a.setBehavior('mock-delay-400');
    await sleep(Math.max(0, reopened + COOLDOWN + 400 - Date.now()));
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => env.chat('cb', { content: `burst ${i}` })));
    assert.equal(env.hits('a'), 6, `${env.hits('a') - 5} probes reached a half-open target (expected exactly 1)`);
    assert.deepEqual(tally(burst.map((x) => x.target)), { [A]: 1, [B]: 9 });
    for (const x of burst) assert.equal(x.status, 200);

    // The probe succeeded: closed, a serves again.
    env.mocks.a.setBehavior(null);
    for (let i = 0; i < 5; i++) {
      r = await env.chat('cb');
      assert.equal(r.target, A);
      assert.equal(r.attempts, 1);
    }
    assert.equal(env.hits('a'), 11);

    ma = await targetMetrics(env.gw, A);
    const mb = await targetMetrics(env.gw, B);
    assert.equal(ma.attempts, 11);
    assert.equal(ma.failures, 4);
    assert.equal(ma.cooldowns, 2);
    assert.equal(ma.cooling, 0);
    assert.equal(ma.retries, 0);
    assert.equal(mb.attempts, env.hits('b'));
    assert.equal(mb.retries, 4, 'b served 4 retries (3 failures + 1 failed probe)');
    assert.equal(mb.failovers, 4);
    assert.equal(mb.failures, 0);
    assert.equal(ma.in_flight, 0);
    assert.equal(mb.in_flight, 0);
  });

  it('a half-open probe the caller abandoned does not close the circuit', { timeout: 30_000 }, async (t) => {
    // a hangs (read timeout 400 ms). After 3 timeouts its circuit opens; after the cooldown a
    // probe goes to a, and the caller gives up on it. That says nothing about a's health: a is
    // still unproven, so new callers must not all be sent to it (at most one more probe).
    const env = await routingSetup(t, {
      timeouts: { a: { read_ms: 400, idle_ms: 400 } },
      models: [{
        name: 'cb',
        strategy: 'fallback',
        targets: [{ provider: 'a', model: 'mock-hang' }, { provider: 'b', model: 'gpt-4o' }],
        retry: { max_attempts: 2, backoff_ms: 10, max_backoff_ms: 20 },
        circuit: { failures: 3, cooldown_ms: 1000 },
      }],
    });
    for (let i = 0; i < 3; i++) {
      const r = await env.chat('cb');
      assert.equal(r.target, 'b/gpt-4o');
      assert.equal(r.attempts, 2);
    }
    assert.equal((await targetMetrics(env.gw, 'a/mock-hang')).cooling, 1);
    const last = env.mocks.a.requests.at(-1).receivedAt;
    await sleep(Math.max(0, last + 400 + 1000 + 100 - Date.now())); // its timeout, then the cooldown

    // The probe: the caller leaves after 150 ms.
    await assert.rejects(env.chat('cb', { timeout: 150 }));
    assert.equal(env.hits('a'), 4, 'no probe reached a after the cooldown');
    await waitFor(() => env.mocks.a.requests[3].closedByPeerAt, { timeout: 2000, message: 'the gateway to drop the abandoned probe' });

    const burst = await Promise.all(Array.from({ length: 5 }, () => env.chat('cb')));
    for (const r of burst) assert.equal(r.status, 200);
    assert.ok(env.hits('a') - 4 <= 1, `after an abandoned probe, ${env.hits('a') - 4} of 5 concurrent callers were sent to the unproven target (the circuit was closed)`);
  });

  it('when_all_unavailable: fail, every target cooling from failures: 503 targets_cooling_down with Retry-After, no upstream traffic', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{ name: 'cb', targets: [{ provider: 'a', model: 'mock-error-500' }, { provider: 'b', model: 'mock-error-502' }], retry: fast, circuit: { failures: 1, cooldown_ms: 3000 }, when_all_unavailable: 'fail' }],
    });
    const r1 = await env.chat('cb');
    assert.ok(r1.status >= 500, r1.text);
    assert.equal(r1.attempts, 2);
    const r2 = await env.chat('cb');
    assert.equal(r2.status, 503, r2.text);
    assert.deepEqual(envelopeProblems(r2.json), []);
    assert.equal(r2.json.error.code, 'targets_cooling_down');
    const ra = Number(r2.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 3, `retry-after: ${r2.headers.get('retry-after')}`);
    assert.equal(env.hits('a') + env.hits('b'), 2);
  });
});

describe('least latency, least busy, lowest cost', () => {
  it('least-latency moves traffic away from a slowed target', { timeout: 40_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{ name: 'll', strategy: 'least-latency', targets: [{ provider: 'a', model: 'gpt-4o' }, { provider: 'b', model: 'gpt-4o' }] }],
    });
    // Warm-up: b answers in 50 ms, a at once: both are measured, then a is preferred.
    env.mocks.b.setBehavior('mock-delay-50');
    for (let i = 0; i < 10; i++) assert.equal((await env.chat('ll')).status, 200);
    assert.ok(env.hits('a') >= 1 && env.hits('b') >= 1, `warm-up measured only one target: a=${env.hits('a')} b=${env.hits('b')}`);
    const warm = [];
    for (let i = 0; i < 10; i++) warm.push((await env.chat('ll')).target);
    assert.deepEqual(warm, Array(10).fill('a/gpt-4o'), 'the faster target was not preferred');

    // Now a slows down to 300 ms per answer and b is fast.
    env.mocks.b.setBehavior(null);
    env.mocks.a.setBehavior('mock-delay-300');
    const a0 = env.hits('a');
    const b0 = env.hits('b');
    const targets = [];
    for (let i = 0; i < 40; i++) {
      const r = await env.chat('ll');
      assert.equal(r.status, 200);
      targets.push(r.target);
    }
    const toA = env.hits('a') - a0;
    const toB = env.hits('b') - b0;
    assert.equal(toA + toB, 40);
    assert.ok(toB >= 36, `after a slowed down, b got only ${toB} of 40 (a ${toA}): ${targets}`);
    assert.ok(toA >= 1, 'a was never measured slow (the test proves nothing)');
    const ma = await targetMetrics(env.gw, 'a/gpt-4o');
    const mb = await targetMetrics(env.gw, 'b/gpt-4o');
    assert.ok(ma.latency > mb.latency * 5, `EWMA a=${ma.latency}s b=${mb.latency}s`);
  });

  it('least-latency on streams judges time to first token: a slow first token moves traffic away', { timeout: 40_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{ name: 'll', strategy: 'least-latency', targets: [{ provider: 'a', model: 'gpt-4o' }, { provider: 'b', model: 'gpt-4o' }] }],
    });
    env.mocks.b.setBehavior('mock-stream-slow-first-50');
    for (let i = 0; i < 10; i++) assert.equal((await env.chat('ll', { stream: true })).status, 200);
    assert.ok(env.hits('a') >= 1 && env.hits('b') >= 1);
    const warm = [];
    for (let i = 0; i < 10; i++) warm.push((await env.chat('ll', { stream: true })).target);
    assert.deepEqual(warm, Array(10).fill('a/gpt-4o'), 'the target with the faster first token was not preferred');
    env.mocks.b.setBehavior(null);
    env.mocks.a.setBehavior('mock-stream-slow-first-300');
    const a0 = env.hits('a');
    for (let i = 0; i < 30; i++) {
      const r = await env.chat('ll', { stream: true, content: `s ${i}` });
      assert.equal(r.status, 200);
      assert.equal(streamedText(r.text).content, `Echo: s ${i}`);
    }
    assert.ok(env.hits('a') - a0 >= 1, 'a was never measured slow');
    assert.ok(env.hits('a') - a0 <= 3, `a still got ${env.hits('a') - a0} of 30 streams after its first token slowed to 300 ms`);
  });

  it('least-busy: while the first target has a request in flight, the idle one gets every new request', { timeout: 60_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{ name: 'lb', strategy: 'least-busy', targets: [{ provider: 'a', model: 'gpt-4o' }, { provider: 'b', model: 'gpt-4o' }] }],
    });
    env.mocks.a.setBehavior('mock-delay-4000');
    const slow = env.chat('lb', { content: 'slow one' });
    await waitFor(() => env.hits('a') === 1, { timeout: 2000, message: 'the first request to reach a' });
    const inflight = await targetMetrics(env.gw, 'a/gpt-4o');
    assert.equal(inflight.in_flight, 1);
    const during = [];
    for (let i = 0; i < 10; i++) during.push((await env.chat('lb')).target);
    assert.deepEqual(during, Array(10).fill('b/gpt-4o'), 'a busy target got new requests');
    const s = await slow;
    assert.equal(s.status, 200);
    assert.equal(s.target, 'a/gpt-4o');
    assert.equal(env.hits('a'), 1);
    // Both idle again (the gateway counts the attempt done just after the caller has its
    // answer): the tie goes to the declared order.
    env.mocks.a.setBehavior(null);
    await waitFor(async () => (await targetMetrics(env.gw, 'a/gpt-4o')).in_flight === 0, { message: 'a to be idle' });
    assert.equal((await env.chat('lb')).target, 'a/gpt-4o');
  });

  it('lowest-cost: the cheaper target gets all traffic while healthy, the dearer one only when it fails', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{
        name: 'lc',
        strategy: 'lowest-cost',
        targets: [
          { provider: 'a', model: 'gpt-4o', pricing: { input: 2.5, output: 10 } },
          { provider: 'b', model: 'gpt-4o-mini', pricing: { input: 0.15, output: 0.6 } },
        ],
        retry: fast,
        circuit: { failures: 1, cooldown_ms: 30_000 },
      }],
    });
    const rs = await pool(30, 5, () => env.chat('lc'));
    for (const r of rs) {
      assert.equal(r.status, 200);
      assert.equal(r.target, 'b/gpt-4o-mini');
    }
    assert.equal(env.hits('a'), 0);
    assert.equal(env.hits('b'), 30);
    env.mocks.b.setBehavior('mock-error-500');
    const r1 = await env.chat('lc');
    assert.equal(r1.target, 'a/gpt-4o');
    assert.equal(r1.attempts, 2);
    const r2 = await env.chat('lc');
    assert.equal(r2.target, 'a/gpt-4o');
    assert.equal(r2.attempts, 1);
  });
});

describe('session affinity', () => {
  it('by header: the same x-session-id always lands on the same target; different values spread', { timeout: 60_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a', 'b', 'c'],
      models: [{
        name: 'sticky',
        strategy: 'weighted',
        targets: [{ provider: 'a', model: 'gpt-4o', weight: 1 }, { provider: 'b', model: 'gpt-4o', weight: 1 }, { provider: 'c', model: 'gpt-4o', weight: 1 }],
        affinity: { by: 'header', header: 'x-session-id' },
      }],
    });
    const same = await pool(50, 10, () => env.chat('sticky', { headers: { 'x-session-id': 'session-42' } }));
    const where = tally(same.map((r) => r.target));
    assert.equal(Object.keys(where).length, 1, `one session spread over ${JSON.stringify(where)}`);
    const [pinned] = Object.keys(where);
    const counts = { a: env.hits('a'), b: env.hits('b'), c: env.hits('c') };
    assert.equal(counts[pinned.split('/')[0]], 50, `mock logs disagree: ${JSON.stringify(counts)}`);

    // 60 sessions, each asked twice: each lands on one target, and together they spread.
    const map = {};
    for (let round = 0; round < 2; round++) {
      await pool(60, 10, async (i) => {
        const r = await env.chat('sticky', { headers: { 'x-session-id': `user-${i}` } });
        assert.equal(r.status, 200);
        if (round === 0) map[i] = r.target;
        else assert.equal(r.target, map[i], `session user-${i} moved`);
      });
    }
    const spread = tally(Object.values(map));
    assert.equal(Object.keys(spread).length, 3, `60 sessions did not use all 3 targets: ${JSON.stringify(spread)}`);
    for (const n of Object.values(spread)) assert.ok(n >= 8, `uneven spread: ${JSON.stringify(spread)}`);
  });

  it('by header: a pinned target that fails moves only its own sessions, to a healthy target', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a', 'b', 'c'],
      models: [{
        name: 'sticky',
        targets: [{ provider: 'a', model: 'gpt-4o' }, { provider: 'b', model: 'gpt-4o' }, { provider: 'c', model: 'gpt-4o' }],
        affinity: { by: 'header', header: 'x-session-id' },
        retry: fast,
        circuit: { failures: 1, cooldown_ms: 30_000 },
      }],
    });
    const before = {};
    for (let i = 0; i < 30; i++) before[i] = (await env.chat('sticky', { headers: { 'x-session-id': `s-${i}` } })).target;
    const victim = before[0];
    env.mocks[victim.split('/')[0]].setBehavior('mock-error-500');
    for (let i = 0; i < 30; i++) {
      const r = await env.chat('sticky', { headers: { 'x-session-id': `s-${i}` } });
      assert.equal(r.status, 200);
      if (before[i] !== victim) assert.equal(r.target, before[i], `session s-${i} moved although its target is healthy`);
      else assert.notEqual(r.target, victim);
    }
  });
});

describe('session affinity by user and by key', () => {
  it('by user: the same `user` field always lands on the same target', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a', 'b', 'c'],
      models: [{ name: 'sticky', targets: ['a', 'b', 'c'].map((p) => ({ provider: p, model: 'gpt-4o' })), affinity: { by: 'user' } }],
    });
    const map = {};
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        const r = await env.chat('sticky', { extra: { user: `end-user-${i}` } });
        assert.equal(r.status, 200, r.text);
        if (round === 0) map[i] = r.target;
        else assert.equal(r.target, map[i], `user end-user-${i} moved`);
      }
    }
    assert.ok(Object.keys(tally(Object.values(map))).length >= 2, `20 users on one target: ${JSON.stringify(tally(Object.values(map)))}`);
  });

  it('by key: every request of one virtual key lands on the same target', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a', 'b', 'c'],
      models: [{ name: 'sticky', targets: ['a', 'b', 'c'].map((p) => ({ provider: p, model: 'gpt-4o' })), affinity: { by: 'key' } }],
    });
    const got = await pool(30, 5, () => env.chat('sticky'));
    assert.equal(Object.keys(tally(got.map((r) => r.target))).length, 1, JSON.stringify(tally(got.map((r) => r.target))));
    assert.equal(Math.max(env.hits('a'), env.hits('b'), env.hits('c')), 30);
  });
});

describe('overall deadline (timeout_ms)', () => {
  it('bounds the total time across retries of hanging targets', { timeout: 30_000 }, async (t) => {
    // Without a deadline: 4 attempts x 1 s read timeout. With timeout_ms 1500 the caller must
    // have an answer within about 1.5 s.
    const env = await routingSetup(t, {
      mocks: ['a', 'b'],
      timeouts: { a: { read_ms: 1000 }, b: { read_ms: 1000 } },
      models: [{
        name: 'slow',
        targets: [{ provider: 'a', model: 'mock-hang' }, { provider: 'b', model: 'mock-hang' }],
        retry: { max_attempts: 4, backoff_ms: 10, max_backoff_ms: 20 },
        circuit: { failures: 100, cooldown_ms: 30_000 },
        timeout_ms: 1500,
      }],
    });
    const r = await env.chat('slow');
    assert.ok(r.status >= 500, r.text);
    assert.deepEqual(envelopeProblems(r.json), []);
    assert.ok(r.ms < 1500 + 400, `timeout_ms 1500, but the caller waited ${r.ms} ms (${r.attempts} attempts)`);
  });

  it('a deadline shorter than the per-attempt read timeout cuts the attempt: 504 within ~timeout_ms', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a'],
      timeouts: { a: { read_ms: 5000 } },
      models: [{ name: 'slow', targets: [{ provider: 'a', model: 'mock-hang' }], timeout_ms: 700 }],
    });
    const r = await env.chat('slow');
    assert.equal(r.status, 504, r.text);
    assert.deepEqual(envelopeProblems(r.json), []);
    assert.ok(r.ms < 700 + 400, `timeout_ms 700, but the caller waited ${r.ms} ms`);
  });

  it('bounds a stream whose first token is slow (head sent at once, first chunk after 5 s, idle_ms 5000)', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      timeouts: { a: { read_ms: 5000, idle_ms: 5000 } },
      models: [{
        name: 'slow',
        strategy: 'fallback',
        targets: [{ provider: 'a', model: 'mock-stream-slow-first-5000' }, { provider: 'b', model: 'gpt-4o' }],
        retry: fast,
        timeout_ms: 1000,
      }],
    });
    const r = await env.chat('slow', { stream: true, content: 'deadline stream' });
    assert.ok(r.ms < 1000 + 400, `timeout_ms 1000, but the caller waited ${r.ms} ms for a stream (status ${r.status}, attempts ${r.attempts})`);
    if (r.status === 200) assert.equal(streamedText(r.text).content, 'Echo: deadline stream');
    else assert.deepEqual(envelopeProblems(r.json), []);
  });

  it('bounds the total time across fast failures with long backoff (no attempt started that cannot finish)', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a'],
      models: [{
        name: 'm',
        targets: [{ provider: 'a', model: 'mock-error-500' }],
        retry: { max_attempts: 10, backoff_ms: 300, max_backoff_ms: 5000 },
        circuit: { failures: 100, cooldown_ms: 30_000 },
        timeout_ms: 1000,
      }],
    });
    const r = await env.chat('m');
    assert.equal(r.status, 500, r.text);
    assert.ok(r.ms < 1000 + 300, `timeout_ms 1000, but the caller waited ${r.ms} ms`);
    assert.ok(r.attempts >= 2 && r.attempts < 10, `attempts ${r.attempts}`);
    assert.equal(env.hits('a'), r.attempts);
  });
});

// ---------------------------------------------------------------------------------------------
// Issue 12: a cooldown steers traffic, it never strands a model.

/** A counter's value for one target (0 when absent). */
async function targetCounter(gw, name, target, labels = {}) {
  const samples = await scrape(gw);
  const s = samples.find((x) => x.name === name && x.labels.target === target && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

describe('cooling steers, never strands', () => {
  const solo = (model, extra = {}) => [{ name: 'solo', targets: [{ provider: 'a', model }], retry: fast, ...extra }];

  it('one target, one 429 with Retry-After: 30: the next requests reach the provider and get its own 200', { timeout: 20_000 }, async (t) => {
    const M = 'mock-429-once-30-then-ok';
    const env = await routingSetup(t, { mocks: ['a'], models: solo(M) });
    const r1 = await env.chat('solo');
    assert.equal(r1.status, 429, r1.text);
    assert.equal(r1.headers.get('retry-after'), '30', 'the provider\'s own Retry-After reaches the caller');
    assert.match(r1.json.error.message, /Rate limit reached for requests \(mock\)/, 'the provider\'s own body reaches the caller');
    assert.equal(env.hits('a'), 1, 'a 429 with Retry-After: 30 was retried on the same target');

    const r2 = await env.chat('solo', { content: 'after the 429' });
    assert.equal(r2.status, 200, `the model stayed down after one 429: ${r2.text}`);
    assert.equal(r2.json.choices[0].message.content, 'Echo: after the 429');
    assert.equal(r2.target, `a/${M}`);
    assert.equal(r2.attempts, 1);
    assert.equal(env.hits('a'), 2, 'the provider did not see the request');
    assert.equal(await targetCounter(env.gw, 'tollgate_routed_to_cooling_total', `a/${M}`), 1);
    // Its answer closed the cooldown: the next one is ordinary traffic.
    assert.equal((await targetMetrics(env.gw, `a/${M}`)).cooling, 0);
    const r3 = await env.chat('solo');
    assert.equal(r3.status, 200);
    assert.equal(env.hits('a'), 3);
    assert.equal(await targetCounter(env.gw, 'tollgate_routed_to_cooling_total', `a/${M}`), 1);
  });

  it('one target, one 429, then the provider fails with 500: the caller gets that 500 and its body, not a gateway 429', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { mocks: ['a'], models: solo('mock-429-once-30-then-mock-error-500') });
    assert.equal((await env.chat('solo')).status, 429);
    const r = await env.chat('solo');
    assert.equal(r.status, 500, r.text);
    assert.deepEqual(envelopeProblems(r.json), []);
    assert.equal(r.json.error.message, 'The server had an error while processing your request. Sorry about that!');
    assert.equal(r.json.error.type, 'server_error');
    assert.equal(env.hits('a'), 2, 'the cooling target was tried once for this request');
  });

  it('one target, one 429, then a stream the provider cuts: the caller sees the provider\'s chunks and the cut', { timeout: 20_000 }, async (t) => {
    const env = await routingSetup(t, { mocks: ['a'], models: solo('mock-429-once-30-then-mock-stream-cut') });
    const r1 = await env.chat('solo', { stream: true });
    assert.equal(r1.status, 429, r1.text);
    const r2 = await env.chat('solo', { stream: true });
    assert.equal(r2.status, 200, r2.text);
    const s = streamedText(r2.text);
    assert.ok(s.chunks.length >= 2, `chunks: ${r2.text}`);
    assert.equal(s.errors.length, 1, 'the cut stream did not end in an error event');
    assert.equal(env.hits('a'), 2);
  });

  it('50 parallel requests right after the 429 all reach the provider and succeed', { timeout: 30_000 }, async (t) => {
    const M = 'mock-429-once-30-then-ok';
    const env = await routingSetup(t, { mocks: ['a'], models: solo(M) });
    assert.equal((await env.chat('solo')).status, 429);
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => env.chat('solo', { content: `burst ${i}`, stream: i % 2 === 1 })));
    assert.deepEqual(tally(burst.map((r) => r.status)), { 200: 50 });
    assert.equal(env.hits('a'), 51, 'some callers were refused without asking the provider');
    assert.ok(await targetCounter(env.gw, 'tollgate_routed_to_cooling_total', `a/${M}`) >= 1);
  });

  it('two targets: traffic moves to the healthy one while the first cools (Retry-After: 2) and returns to it after', { timeout: 30_000 }, async (t) => {
    const A = 'a/mock-429-once-2-then-ok';
    const env = await routingSetup(t, {
      models: [{ name: 'pair', strategy: 'fallback', targets: [{ provider: 'a', model: 'mock-429-once-2-then-ok' }, { provider: 'b', model: 'gpt-4o' }], retry: fast }],
    });
    const r1 = await env.chat('pair');
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.target, 'b/gpt-4o');
    assert.equal(r1.attempts, 2);
    const t429 = env.mocks.a.requests[0].receivedAt;
    let during = 0;
    while (Date.now() - t429 < 1700) {
      const r = await env.chat('pair');
      assert.equal(r.status, 200);
      assert.equal(r.target, 'b/gpt-4o', `a got traffic ${Date.now() - t429} ms into its 2 s cooldown`);
      assert.equal(r.attempts, 1);
      during++;
    }
    assert.ok(during >= 3, `only ${during} requests while a cooled`);
    assert.equal(env.hits('a'), 1);
    await sleep(Math.max(0, t429 + 2200 - Date.now()));
    for (let i = 0; i < 5; i++) {
      const r = await env.chat('pair');
      assert.equal(r.status, 200);
      assert.equal(r.target, A, 'traffic did not return to the first target after its cooldown');
    }
    assert.equal(env.hits('a'), 6);
    assert.equal(await targetCounter(env.gw, 'tollgate_routed_to_cooling_total', A), 0, 'a healthy target was left, yet a cooling one was used');
  });

  it('every target cooling from failures (default): the request still goes to the one recovering first and the caller gets its answer', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{ name: 'cb', strategy: 'fallback', targets: [{ provider: 'a', model: 'gpt-4o' }, { provider: 'b', model: 'gpt-4o' }], retry: fast, circuit: { failures: 1, cooldown_ms: 30_000 } }],
    });
    env.mocks.a.setBehavior('mock-error-500');
    env.mocks.b.setBehavior('mock-error-502');
    const r1 = await env.chat('cb');
    assert.ok(r1.status >= 500, r1.text);
    assert.equal(env.hits('a') + env.hits('b'), 2);
    // Both circuits are open for 30 s; both providers have recovered.
    env.mocks.a.setBehavior(null);
    env.mocks.b.setBehavior(null);
    const r2 = await env.chat('cb', { content: 'anyone there' });
    assert.equal(r2.status, 200, `a model with recovered targets was refused: ${r2.text}`);
    assert.equal(r2.json.choices[0].message.content, 'Echo: anyone there');
    assert.equal(r2.target, 'a/gpt-4o', 'not the target whose cooldown ends first');
    assert.equal(env.hits('a'), 2);
    assert.equal(await targetCounter(env.gw, 'tollgate_routed_to_cooling_total', 'a/gpt-4o'), 1);
    // Its success closed a's circuit: a serves as a healthy target again.
    const r3 = await env.chat('cb');
    assert.equal(r3.target, 'a/gpt-4o');
    assert.equal(await targetCounter(env.gw, 'tollgate_routed_to_cooling_total', 'a/gpt-4o'), 1);
  });

  it('when_all_unavailable: fail with every target rate-cooled: 429 rate_limit_exceeded, Retry-After the shortest cooldown, no upstream traffic', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      models: [{ name: 'rl', strategy: 'fallback', targets: [{ provider: 'a', model: 'mock-429-once-9-then-ok' }, { provider: 'b', model: 'mock-429-once-4-then-ok' }], retry: fast, when_all_unavailable: 'fail' }],
    });
    const r1 = await env.chat('rl');
    assert.equal(r1.status, 429, r1.text);
    assert.equal(r1.attempts, 2);
    assert.equal(r1.headers.get('retry-after'), '4', 'the last upstream 429 (b\'s) reaches the caller as it was');
    const r2 = await env.chat('rl');
    assert.equal(r2.status, 429, r2.text);
    assert.deepEqual(envelopeProblems(r2.json), []);
    assert.equal(r2.json.error.code, 'rate_limit_exceeded');
    const ra = Number(r2.headers.get('retry-after'));
    assert.ok(ra >= 3 && ra <= 4, `retry-after ${ra}: not the shortest remaining cooldown (b's 4 s)`);
    assert.equal(env.hits('a') + env.hits('b'), 2, 'a refusing model sent traffic to cooling targets');
  });

  it('when_all_unavailable is validated', { timeout: 20_000 }, async (t) => {
    const dir = await makeTempDir(t);
    const { resourcesPath } = await writeConfig(dir, {
      resources: { providers: [{ name: 'p', kind: 'openai', api_key: 'x' }], models: [{ name: 'm', targets: [{ provider: 'p', model: 'gpt-4o' }], when_all_unavailable: 'sometimes' }] },
    });
    const r = await runTollgate(['validate', resourcesPath]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /models\[0\]\.when_all_unavailable: must be one of: send, fail/);
  });
});

describe('active health checks', () => {
  it('open a circuit on a dead target with no caller traffic and close it when the target recovers; probes counted apart, never billed', { timeout: 30_000 }, async (t) => {
    const env = await routingSetup(t, {
      mocks: ['a'],
      models: [{ name: 'hc', targets: [{ provider: 'a', model: 'gpt-4o' }], health_check: { interval_ms: 200, timeout_ms: 500, failures: 2, successes: 1 } }],
    });
    const A = 'a/gpt-4o';
    const port = env.mocks.a.port;
    const probes = (outcome) => targetCounter(env.gw, 'tollgate_health_probes_total', A, { outcome });
    await waitFor(async () => (await probes('ok')) >= 2, { timeout: 3000, message: 'health probes to succeed' });
    assert.ok(env.mocks.a.requestsTo('/v1/models').length >= 2, 'the probes did not reach the models endpoint');
    assert.equal(env.hits('a'), 0);
    assert.equal((await targetMetrics(env.gw, A)).cooling, 0);

    // The provider dies: the probes alone open its circuit.
    await env.mocks.a.close();
    await waitFor(async () => (await targetMetrics(env.gw, A)).cooling === 1, { timeout: 3000, message: 'the circuit to open on a dead target' });
    assert.ok((await probes('failed')) >= 2);

    // It comes back on the same port: a good probe closes the circuit.
    const back = await startMock(t, { port });
    await waitFor(async () => (await targetMetrics(env.gw, A)).cooling === 0, { timeout: 3000, message: 'the circuit to close on a recovered target' });
    assert.ok(back.requestsTo('/v1/models').length >= 1);
    const m = await targetMetrics(env.gw, A);
    assert.equal(m.attempts, 0, 'probes counted as attempts');
    const samples = await scrape(env.gw);
    assert.equal(samples.filter((x) => x.name === 'tollgate_requests_total').reduce((a, x) => a + x.value, 0), 0, 'probes counted as requests');
    const r = await env.chat('hc');
    assert.equal(r.status, 200);
    assert.equal(back.requestsTo(CHAT).length, 1);
  });
});

describe('the gateway\'s own trouble is not the provider\'s', () => {
  it('at the descriptor limit (ulimit -n 128): the excess gets fast 503s in its dialect, no circuit opens on the healthy provider, full service once load drops', { timeout: 60_000 }, async (t) => {
    const SLOW = 'a/mock-delay-1500';
    const env = await routingSetup(t, {
      mocks: ['a'],
      workers: 2,
      nofile: 128,
      models: [{ name: 'slow', targets: [{ provider: 'a', model: 'mock-delay-1500' }], retry: fast, circuit: { failures: 3, cooldown_ms: 30_000 } }],
    });
    assert.match(env.gw.output().stderr + env.gw.output().stdout, /descriptor limit 128; at most \d+ caller connections/);

    // 150 callers at once, each on its own connection; 20 of them speak Anthropic's dialect.
    const one = async (i) => {
      const started = Date.now();
      const anthropic = i % 15 === 0 || i % 15 === 7;
      const url = anthropic ? `${env.gw.proxyURL}/v1/messages` : `${env.gw.baseURL}/chat/completions`;
      const body = anthropic
        ? { model: 'slow', max_tokens: 16, messages: [{ role: 'user', content: `load ${i}` }] }
        : { model: 'slow', messages: [{ role: 'user', content: `load ${i}` }] };
      const headers = anthropic ? { 'anthropic-version': '2023-06-01' } : {};
      try {
        const r = await postJson(url, body, { apiKey: KEYS.all, headers, signal: AbortSignal.timeout(15_000) });
        return { ...r, anthropic, ms: Date.now() - started };
      } catch (e) {
        return { status: 0, error: String(e), anthropic, ms: Date.now() - started };
      }
    };
    const results = await Promise.all(Array.from({ length: 150 }, (_, i) => one(i)));
    const byStatus = tally(results.map((r) => r.status));
    assert.deepEqual(Object.keys(byStatus).sort(), ['200', '503'], `statuses: ${JSON.stringify(byStatus)} ${(() => { const x = results.find((r) => r.status !== 200 && r.status !== 503); return x?.error ?? x?.text ?? ''; })()}`);
    assert.ok(byStatus[200] >= 20, `only ${byStatus[200]} callers served: ${JSON.stringify(byStatus)}`);
    assert.ok(byStatus[503] >= 30, `the excess was not refused: ${JSON.stringify(byStatus)}`);
    for (const r of results.filter((x) => x.status === 503)) {
      assert.ok(r.ms < 1200, `a refusal took ${r.ms} ms (the provider answers in 1500): queued, not answered`);
      assert.equal(r.headers.get('retry-after'), '1');
      if (r.anthropic) {
        assert.equal(r.json.type, 'error', r.text);
        assert.equal(r.json.error.type, 'overloaded_error', r.text);
      } else {
        assert.deepEqual(envelopeProblems(r.json), []);
        assert.equal(r.json.error.code, 'gateway_overloaded', r.text);
      }
    }
    const samples = await scrape(env.gw);
    const value = (name) => samples.find((x) => x.name === name)?.value ?? 0;
    assert.ok(value('tollgate_overload_refusals_total') >= 1, 'refusals not counted');
    const m = await targetMetrics(env.gw, SLOW);
    assert.equal(m.failures, 0, 'the gateway\'s own shortage was counted against the provider');
    assert.equal(m.cooldowns, 0, 'a circuit opened on a healthy provider');
    assert.equal(m.cooling, 0);

    // Load gone: every caller is served.
    const after = await Promise.all(Array.from({ length: 10 }, (_, i) => one(1 + i * 15)));
    assert.deepEqual(tally(after.map((r) => r.status)), { 200: 10 }, JSON.stringify(after.map((r) => r.text).slice(0, 2)));
  });

  it('a request whose caller left before its first attempt is not dispatched (no attempt, no upstream connection)', { timeout: 20_000 }, async (t) => {
    // A slow moderation call (on mock m) holds the request before dispatch; the caller gives up.
    const env = await routingSetup(t, {
      mocks: ['a', 'm'],
      guardrails: [{ name: 'slow-mod', kind: 'moderation', mode: 'block', provider: 'm', timeout_ms: 5000 }],
      models: [{ name: 'guarded', targets: [{ provider: 'a', model: 'gpt-4o' }], guardrails: ['slow-mod'] }],
    });
    env.mocks.m.setBehavior('mock-delay-1000');
    await assert.rejects(env.chat('guarded', { timeout: 300 }));
    await waitFor(() => { const r = env.mocks.m.requestsTo('/v1/moderations')[0]; return r?.endedAt || r?.closedByPeerAt; }, { timeout: 3000, message: 'the moderation call to end' });
    await sleep(300);
    assert.equal(env.hits('a'), 0);
    assert.equal(env.mocks.a.stats.connections_total, 0, 'the gateway connected upstream for a caller that had left');
    assert.equal((await targetMetrics(env.gw, 'a/gpt-4o')).attempts ?? 0, 0, 'an attempt was started for a caller that had left');
  });
});
