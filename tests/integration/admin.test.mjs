// Health and Prometheus metrics.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS, cleanupScope, postJson, standardSetup, waitFor } from './harness.mjs';

const T = { timeout: 20_000 };

/** Prometheus text -> [{ name, labels: {..}, value }] plus the # TYPE of each family. */
function parseMetrics(text) {
  const samples = [];
  const types = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let m;
    if ((m = /^# TYPE (\S+) (\S+)/.exec(line))) {
      types[m[1]] = m[2];
      continue;
    }
    if (line.startsWith('#')) continue;
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const lm of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, types };
}

async function metrics(env) {
  const res = await fetch(`${env.gw.adminURL}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain|openmetrics/);
  return parseMetrics(await res.text());
}

describe('admin listener', () => {
  const scope = cleanupScope();
  let env;
  before(async () => {
    env = await standardSetup(scope);
  });
  after(() => scope.run());

  it('/livez and /readyz answer 200 on both listeners', T, async () => {
    for (const base of [env.gw.proxyURL, env.gw.adminURL]) {
      for (const path of ['/livez', '/readyz']) {
        const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000) });
        assert.equal(res.status, 200, `${base}${path}`);
        await res.arrayBuffer();
      }
    }
  });

  it('/metrics counts requests by model and status, with a latency histogram', T, async () => {
    const openai = env.client(KEYS.all);
    await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'm1' }] });
    await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'm2' }] });
    await postJson(`${env.gw.baseURL}/chat/completions`, { model: 'err-500', messages: [{ role: 'user', content: 'x' }] }, { apiKey: KEYS.all });

    const { samples, types } = await metrics(env);
    const find = (name, labels) => samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

    assert.equal(types.tollgate_requests_total, 'counter');
    const ok = find('tollgate_requests_total', { model: 'gpt', status: '200' });
    assert.ok(ok.length && ok.reduce((a, s) => a + s.value, 0) >= 2, `tollgate_requests_total{model="gpt",status="200"}: ${JSON.stringify(ok)}`);
    const failed = find('tollgate_requests_total', { model: 'err-500', status: '500' });
    assert.ok(failed.length && failed[0].value >= 1, `tollgate_requests_total{model="err-500",status="500"}: ${JSON.stringify(failed)}`);

    assert.equal(types.tollgate_request_duration_seconds, 'histogram');
    const sum = (name, labels = {}) => find(name, labels).reduce((a, s) => a + s.value, 0);
    // Series may be split by extra labels (route, model...): the +Inf buckets together hold every request.
    assert.ok(sum('tollgate_request_duration_seconds_bucket', { le: '+Inf' }) >= 3, 'the +Inf buckets hold every request');
    assert.equal(sum('tollgate_request_duration_seconds_bucket', { le: '+Inf' }), sum('tollgate_request_duration_seconds_count'));
    assert.ok(sum('tollgate_request_duration_seconds_count', { model: 'gpt' }) >= 2);
    assert.ok(sum('tollgate_request_duration_seconds_sum') > 0);

    assert.equal(types.tollgate_requests_in_flight, 'gauge');
  });

  it('tokens are tapped from answers, streamed ones included (tollgate_tokens_total)', T, async () => {
    const tokens = async (type) =>
      (await metrics(env)).samples.filter((s) => s.name === 'tollgate_tokens_total' && s.labels.model === 'gpt' && s.labels.type === type).reduce((a, s) => a + s.value, 0);
    const before = { input: await tokens('input'), output: await tokens('output') };
    const openai = env.client(KEYS.all);
    // Mock counts words: prompt 3 + 2, completion 4 + 3.
    await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'three words here' }] });
    const s = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'streamed two' }], stream: true });
    for await (const _ of s);
    await waitFor(async () => (await tokens('output')) - before.output === 7, { timeout: 2000, message: 'output tokens +7' });
    assert.equal((await tokens('input')) - before.input, 5);
  });

  it('tollgate_requests_in_flight rises during a stream and falls after', T, async () => {
    const inFlight = async () => (await metrics(env)).samples.filter((s) => s.name === 'tollgate_requests_in_flight').reduce((a, s) => a + s.value, 0);
    const ac = new AbortController();
    const s = await env.client(KEYS.all).chat.completions.create({ model: 'slow-stream', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: ac.signal });
    const it = s[Symbol.asyncIterator]();
    await it.next();
    try {
      await waitFor(async () => (await inFlight()) >= 1, { timeout: 2000, message: 'in-flight >= 1 during a stream' });
    } finally {
      ac.abort();
    }
    await waitFor(async () => (await inFlight()) === 0, { timeout: 2000, message: 'in-flight back to 0' });
  });
});
