// Traffic control end to end (issue 5): request, token and concurrency limits and USD budgets
// on a key, a model and a key-on-model, in process and shared through a REAL redis-server
// (started here on a free loopback port), in front of the mock provider.
//
// Proves: exact admission under concurrency (in process and across two gateways on one Redis),
// AND of the three scopes (all or none), concurrency slots held for the life of a stream,
// token windows charged on the estimate and reconciled with the mock's true usage, budgets
// from the cost of actual usage, 429s in the caller's dialect with Retry-After and OpenAI's
// x-ratelimit-* headers, and Redis stopped / restarted under traffic (fail open and closed).
// The last test measures the admission overhead (p50, in process and Redis) as a diagnostic.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { makeTempDir, postJson, processConfig, sleep, sseData, startGateway, startMock, waitFor, writeConfig, writeYaml } from './harness.mjs';
import { redisPing, startRedis } from './redis-server.mjs';

const T = { timeout: 60_000 };

// ---------------------------------------------------------------------------------------------
// Config: one mock provider, models with their own limits/pricing, keys with limits/budgets.

const keyOf = (name) => `tg-lim-${name}-0123456789abcdef`;

const MODELS = {
  gpt: 'gpt-4o',
  slow: 'mock-slow-stream',
  delay: 'mock-delay-1500',
  e400: 'mock-error-400',
  cut: 'mock-stream-cut',
};

/**
 * models: [{ name, upstream?, limits?, pricing? }] (the MODELS aliases are always there);
 * keys: [{ name, models?, limits?, budget?, model_limits? }].
 */
function limitResources(mock, { models = [], keys = [] }) {
  const all = Object.entries(MODELS).map(([name, upstream]) => ({ name, upstream }));
  for (const m of models) {
    const i = all.findIndex((x) => x.name === m.name);
    if (i >= 0) all[i] = { ...all[i], ...m };
    else all.push(m);
  }
  return {
    providers: [{ name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey, timeouts: { connect_ms: 1000, read_ms: 10_000, idle_ms: 10_000 } }],
    models: all.map(({ name, upstream, limits, pricing }) => ({ name, targets: [{ provider: 'mock', model: upstream ?? 'gpt-4o' }], limits, pricing })),
    keys: keys.map(({ name, models: km, ...rest }) => ({ name, key: keyOf(name), models: km ?? [...all.map((m) => m.name), 'demo'], ...rest })),
  };
}

/** Starts a gateway (local limiter unless `limits` is given) with these resources. */
async function gatewayWith(t, { mock, models, keys, limits, dir, workers = 4 }) {
  dir ??= await makeTempDir(t);
  const resources = limitResources(mock, { models, keys });
  const tollgate = processConfig({ workers, extra: limits ? { limits } : {} });
  const { configPath, resourcesPath } = await writeConfig(dir, { tollgate, resources });
  const gw = await startGateway(t, { configPath });
  gw.resourcesPath = resourcesPath;
  gw.rewrite = (next) => writeYaml(resourcesPath, limitResources(mock, next));
  return gw;
}

// 200 two-byte words: the mock counts more tokens than admit's estimate (bytes / 4).
const WORDY = 'a '.repeat(200).trim();

const chatBody = (model, content = 'hi there', extra = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });

function chat(gw, key, body, opts = {}) {
  return postJson(`${gw.baseURL}/chat/completions`, body, { apiKey: keyOf(key), ...opts });
}

/** Mirrors admit.cc's documented estimate: (request bytes + 3) / 4 + max_tokens. */
function estimateOf(body) {
  const bytes = Buffer.byteLength(JSON.stringify(body));
  return Math.floor((bytes + 3) / 4) + Math.max(body.max_tokens ?? 0, body.max_completion_tokens ?? 0);
}

/** A streaming request whose first bytes have arrived; abort() ends it from the client side. */
async function openStream(t, gw, key, body) {
  const ac = new AbortController();
  const guard = setTimeout(() => ac.abort(), 30_000);
  t.after(() => {
    clearTimeout(guard);
    ac.abort();
  });
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keyOf(key)}` },
    body: JSON.stringify({ ...body, stream: true }),
    signal: ac.signal,
  });
  const out = { status: res.status, headers: res.headers, abort: () => { clearTimeout(guard); ac.abort(); } };
  if (res.status !== 200) {
    out.text = await res.text();
    clearTimeout(guard);
    return out;
  }
  const reader = res.body.getReader();
  const { value } = await reader.read();
  out.first = new TextDecoder().decode(value);
  // Keep draining in the background so the stream is not throttled by back-pressure.
  (async () => {
    try {
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
      }
    } catch {
      // aborted
    }
  })();
  return out;
}

async function metrics(gw) {
  const res = await fetch(`${gw.adminURL}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of `name{labels}` in a Prometheus text body (labels exactly as rendered), or NaN. */
function metricValue(text, name, labels = '') {
  const want = labels ? `${name}{${labels}}` : name;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (line.slice(0, sp) === want) return Number(line.slice(sp + 1));
  }
  return NaN;
}
const limiterEvent = (text, ev) => metricValue(text, 'tollgate_limiter_events_total', `event="${ev}"`);
const rejections = (text, reason) => metricValue(text, 'tollgate_limit_rejections_total', `reason="${reason}"`);

function assertRateLimited(res, { code = 'rate_limit_exceeded', retryAfter = true, what = '' } = {}) {
  assert.equal(res.status, 429, `${what} expected 429, got ${res.status}: ${res.text}`);
  assert.equal(res.json?.error?.code, code, `${what} error code: ${res.text}`);
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok('type' in res.json.error && 'param' in res.json.error, `${what} OpenAI envelope: ${res.text}`);
  if (retryAfter) {
    const ra = res.headers.get('retry-after');
    assert.match(ra ?? '', /^\d+$/, `${what} Retry-After must be whole seconds, got ${ra}`);
    assert.ok(Number(ra) >= 1, `${what} Retry-After ${ra}`);
  }
}

const count = (arr, pred) => arr.filter(pred).length;
const p50 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

// ---------------------------------------------------------------------------------------------

describe('traffic control, in process', () => {
  it('60 concurrent requests from many clients against rpm 20: exactly 20 admitted, 40 refused with 429 + Retry-After; headers count down', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gatewayWith(t, {
      mock,
      keys: [
        { name: 'acc', limits: { rpm: 20 } },
        { name: 'seq', limits: { rpm: 5 } },
      ],
    });
    const clients = Array.from({ length: 12 }, () => new OpenAI({ baseURL: gw.baseURL, apiKey: keyOf('acc'), maxRetries: 0, timeout: 20_000 }));
    const one = async (i) => {
      try {
        const { data, response } = await clients[i % clients.length].chat.completions.create(chatBody('gpt', `request ${i}`)).withResponse();
        assert.equal(data.choices[0].message.content, `Echo: request ${i}`);
        return { status: response.status, headers: response.headers };
      } catch (err) {
        if (!(err instanceof OpenAI.APIError)) throw err;
        return { status: err.status, headers: err.headers, code: err.code, message: err.message };
      }
    };
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => one(i)));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    assert.equal(ok.length, 20, `admitted: ${JSON.stringify(results.map((r) => r.status))}`);
    assert.equal(refused.length, 40);
    assert.equal(mock.requestsTo('/v1/chat/completions').length, 20, 'only admitted requests reach the provider');

    for (const r of refused) {
      assert.equal(r.code, 'rate_limit_exceeded', r.message);
      const ra = r.headers.get('retry-after');
      assert.match(ra ?? '', /^\d+$/);
      // One request refills every 60/20 = 3 s.
      assert.ok(Number(ra) >= 1 && Number(ra) <= 3, `Retry-After ${ra} (a request frees every 3 s)`);
      assert.equal(r.headers.get('x-ratelimit-limit-requests'), '20');
      assert.equal(r.headers.get('x-ratelimit-remaining-requests'), '0');
      assert.ok(r.headers.get('x-ratelimit-reset-requests'), 'x-ratelimit-reset-requests on a refusal');
    }
    for (const r of ok) {
      assert.equal(r.headers.get('x-ratelimit-limit-requests'), '20');
      assert.ok(r.headers.get('x-ratelimit-reset-requests'));
    }
    // Each admission takes one: the admitted requests saw 19, 18, ..., 0 remaining.
    const remaining = ok.map((r) => Number(r.headers.get('x-ratelimit-remaining-requests'))).sort((a, b) => a - b);
    assert.deepEqual(remaining, Array.from({ length: 20 }, (_, i) => i));

    const m = await metrics(gw);
    assert.equal(limiterEvent(m, 'admitted'), 20);
    assert.equal(limiterEvent(m, 'rejected'), 40);
    assert.equal(rejections(m, 'requests'), 40);

    // Sequentially: remaining counts down 4..0, then a refusal with Retry-After <= 60/5 s.
    const seen = [];
    for (let i = 0; i < 5; i++) {
      const r = await chat(gw, 'seq', chatBody('gpt'));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('x-ratelimit-limit-requests'), '5');
      seen.push(r.headers.get('x-ratelimit-remaining-requests'));
      assert.match(r.headers.get('x-ratelimit-reset-requests') ?? '', /^[0-9.hms]+$/, 'OpenAI duration format (e.g. 12s, 1m0s)');
    }
    assert.deepEqual(seen, ['4', '3', '2', '1', '0']);
    const sixth = await chat(gw, 'seq', chatBody('gpt'));
    assertRateLimited(sixth, { what: 'sixth of rpm 5' });
    assert.ok(Number(sixth.headers.get('retry-after')) <= 12, `Retry-After ${sixth.headers.get('retry-after')}`);
    assert.match(sixth.json.error.message, /Rate limit reached for requests/);
  });

  it('key, model and key-on-model limits all apply (AND): the tightest wins, and a refusal consumes nothing anywhere', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gatewayWith(t, {
      mock,
      models: [
        { name: 'm3', limits: { rpm: 3 } },
        { name: 'm10', limits: { rpm: 10 } },
        { name: 'm100', limits: { rpm: 100 } },
      ],
      keys: [
        { name: 'ka', models: ['m3'], limits: { rpm: 100 }, model_limits: { m3: { rpm: 5 } } }, // model is tightest
        { name: 'kb', models: ['m10'], model_limits: { m10: { rpm: 2 } } }, // key-on-model is tightest
        { name: 'kc', models: ['m10'] }, // no own limit: only the model's
        { name: 'kd', models: ['m100'], limits: { rpm: 2 }, model_limits: { m100: { rpm: 4 } } }, // key is tightest
        { name: 'ke', models: ['gpt'], limits: { rpd: 3 } },
        { name: 'kf', models: ['gpt'], limits: { tpd: 200 } },
      ],
    });
    const run = async (key, model, n) => {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await chat(gw, key, chatBody(model)));
      return out;
    };

    const a = await run('ka', 'm3', 6);
    assert.deepEqual(a.map((r) => r.status), [200, 200, 200, 429, 429, 429]);
    assert.equal(a[0].headers.get('x-ratelimit-limit-requests'), '3', 'headers show the tightest window');
    assert.match(a[3].json.error.message, /m3/);

    const b = await run('kb', 'm10', 4);
    assert.deepEqual(b.map((r) => r.status), [200, 200, 429, 429]);
    assert.equal(b[0].headers.get('x-ratelimit-limit-requests'), '2');
    for (const r of b.slice(2)) assertRateLimited(r, { what: 'kb over its key-on-model limit' });

    // The model m10 (rpm 10) was charged by kb's 2 admissions only, not by its 2 refusals.
    const c = await run('kc', 'm10', 10);
    assert.equal(count(c, (r) => r.status === 200), 8, `kc statuses ${c.map((r) => r.status)}`);
    assert.deepEqual(c.slice(8).map((r) => r.status), [429, 429]);
    assert.equal(c[0].headers.get('x-ratelimit-limit-requests'), '10');
    assert.equal(c[0].headers.get('x-ratelimit-remaining-requests'), '7');

    const d = await run('kd', 'm100', 4);
    assert.deepEqual(d.map((r) => r.status), [200, 200, 429, 429]);
    assert.equal(d[0].headers.get('x-ratelimit-limit-requests'), '2');

    // Per-day windows: rpd 3 refills one every 8 h, and says so.
    const e = await run('ke', 'gpt', 4);
    assert.deepEqual(e.map((r) => r.status), [200, 200, 200, 429]);
    assert.equal(e[0].headers.get('x-ratelimit-limit-requests'), '3');
    const ra = Number(e[3].headers.get('retry-after'));
    assert.ok(ra > 28_700 && ra <= 28_800, `Retry-After ${ra} s at rpd 3 (one every 28800 s)`);
    // tpd 200, each request estimated at ~165 (max_tokens 150) and settling to 5 actual tokens:
    // exactly floor((200 - est) / 5) + 1 fit in the day, the next is refused for tokens.
    const fb = chatBody('gpt', 'hi there', { max_tokens: 150 });
    const fEst = estimateOf(fb);
    const fFit = Math.floor((200 - fEst) / 5) + 1;
    const f = [];
    for (let i = 0; i < fFit + 2; i++) {
      f.push(await chat(gw, 'kf', fb));
      await sleep(20); // settle runs as the answer ends
    }
    assert.deepEqual(f.map((r) => r.status), [...Array(fFit).fill(200), 429, 429], `tpd 200, estimate ${fEst}, 5 actual each`);
    assert.equal(f[0].headers.get('x-ratelimit-limit-tokens'), '200');
    assert.match(f[fFit].json.error.message, /tokens/);
    assert.equal(mock.requestsTo('/v1/chat/completions').length, 3 + 2 + 8 + 2 + 3 + fFit);
  });

  it('concurrency cap 2: a third request is refused while two streams run; the slot is held for the life of the stream and freed when it ends', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gatewayWith(t, {
      mock,
      models: [{ name: 'mslow', upstream: 'mock-slow-stream', limits: { concurrency: 1 } }],
      keys: [
        { name: 'c2', limits: { concurrency: 2 } },
        { name: 'c1', limits: { concurrency: 1 } },
        { name: 'x1' },
        { name: 'x2' },
      ],
    });
    const s1 = await openStream(t, gw, 'c2', chatBody('slow', 'one'));
    const s2 = await openStream(t, gw, 'c2', chatBody('slow', 'two'));
    assert.equal(s1.status, 200, s1.text);
    assert.equal(s2.status, 200, s2.text);
    assert.match(s1.first, /^data: /);
    // Long after the heads went out, the streams still hold their slots.
    await sleep(500);
    const third = await chat(gw, 'c2', chatBody('gpt'));
    assertRateLimited(third, { what: 'third concurrent' });
    assert.match(third.json.error.message, /concurrent/);
    const thirdStream = await openStream(t, gw, 'c2', chatBody('slow', 'three'));
    assert.equal(thirdStream.status, 429, 'a third stream is refused too');
    assert.equal(mock.stats.active_streams, 2);

    // One stream ends (the client leaves): its slot is freed, and only one.
    s1.abort();
    const afterOne = await waitFor(async () => {
      const r = await chat(gw, 'c2', chatBody('gpt', 'after one'));
      return r.status === 200 ? r : null;
    }, { timeout: 3000, interval: 100, message: 'a request to be admitted after one stream ended' });
    assert.equal(afterOne.json.choices[0].message.content, 'Echo: after one');
    const s3 = await openStream(t, gw, 'c2', chatBody('slow', 'three again'));
    assert.equal(s3.status, 200, s3.text);
    await sleep(200);
    const again = await chat(gw, 'c2', chatBody('gpt'));
    assertRateLimited(again, { what: 'third while s2 and s3 run' });

    s2.abort();
    s3.abort();
    await waitFor(() => mock.stats.active_streams === 0, { timeout: 3000, message: 'the upstream streams to close' });
    await waitFor(async () => {
      const rs = await Promise.all([chat(gw, 'c2', chatBody('delay', 'x')), chat(gw, 'c2', chatBody('delay', 'y'))]);
      return rs.every((r) => r.status === 200);
    }, { timeout: 8000, interval: 100, message: 'both slots to be free again' });

    // Concurrency 1: a stream that completes normally releases its slot when it ends; a slow
    // non-stream answer holds it until it is sent.
    for (let i = 0; i < 3; i++) {
      const r = await chat(gw, 'c1', chatBody('gpt', `stream ${i}`, { stream: true }));
      assert.equal(r.status, 200, `completed stream #${i} then the next: ${r.text}`);
      assert.equal(sseData(r.text).at(-1), '[DONE]');
    }
    const slow = chat(gw, 'c1', chatBody('delay', 'slow one'));
    await sleep(300);
    const during = await chat(gw, 'c1', chatBody('gpt'));
    assertRateLimited(during, { what: 'c1 while a 1.5 s answer is in flight' });
    assert.equal((await slow).status, 200);
    const afterSlow = await waitFor(async () => {
      const r = await chat(gw, 'c1', chatBody('gpt'));
      return r.status === 200 ? r : null;
    }, { timeout: 1000, interval: 20, message: 'c1 admitted after its answer ended' });
    assert.equal(afterSlow.status, 200);

    // A model's concurrency cap is shared by every key.
    const mx = await openStream(t, gw, 'x1', chatBody('mslow', 'model slot'));
    assert.equal(mx.status, 200, mx.text);
    const other = await chat(gw, 'x2', chatBody('mslow', 'other key'));
    assertRateLimited(other, { what: 'second key on a model with concurrency 1' });
    mx.abort();
    await waitFor(async () => {
      const r = await chat(gw, 'x2', chatBody('mslow', 'now', { stream: false }));
      return r.status === 200;
    }, { timeout: 3000, interval: 100, message: 'the model slot to be free' });

    const m = await metrics(gw);
    assert.ok(rejections(m, 'concurrency') >= 5, m);
  });

  it('token limits: admitted on the estimate, reconciled to the true (mock) usage of streamed answers; too large refused; abandoned streams keep the estimate', T, async (t) => {
    const mock = await startMock(t);
    const TPM = 1000;
    const gw = await gatewayWith(t, { mock, keys: [{ name: 'tk', limits: { tpm: TPM } }] });

    // "hi there": 2 prompt tokens, "Echo: hi there": 3 completion tokens -> 5 actual.
    const body = chatBody('gpt', 'hi there', { max_tokens: 400, stream: true });
    const est = estimateOf(body);
    assert.ok(est > TPM / 3 && est < TPM / 2, `estimate ${est}: three unsettled would not fit`);

    // Eight streamed answers one after another: 8 x estimate is far over tpm, but each settles
    // to 5 tokens, so all are admitted.
    for (let k = 0; k < 8; k++) {
      const r = await chat(gw, 'tk', body);
      assert.equal(r.status, 200, `stream #${k}: ${r.text}`);
      assert.equal(sseData(r.text).at(-1), '[DONE]');
      assert.equal(r.headers.get('x-ratelimit-limit-tokens'), String(TPM));
      const rem = Number(r.headers.get('x-ratelimit-remaining-tokens'));
      // Before this one: at most 5 per earlier answer (less what has refilled since).
      assert.ok(rem >= TPM - est - 5 * k - 1 && rem <= TPM - est, `stream #${k}: remaining tokens ${rem}, expected in [${TPM - est - 5 * k - 1}, ${TPM - est}]`);
      assert.ok(r.headers.get('x-ratelimit-reset-tokens'));
      await sleep(30); // settle runs as the answer ends
    }
    // The gateway asked for usage on every stream so it could reconcile.
    for (const req of mock.requestsTo('/v1/chat/completions')) assert.equal(req.body.stream_options?.include_usage, true);

    // Non-stream too: the reported usage is what is charged.
    const ns = await chat(gw, 'tk', { ...body, stream: false });
    assert.equal(ns.status, 200, ns.text);
    assert.equal(ns.json.usage.total_tokens, 5);

    // While answers are in flight their estimates are charged: two slow streams, then a third
    // request with the same estimate is refused for tokens, a small one still fits.
    const slowBody = chatBody('slow', 'hi there', { max_tokens: 400 });
    const streamsAt = Date.now();
    const a = await openStream(t, gw, 'tk', slowBody);
    const b = await openStream(t, gw, 'tk', slowBody);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    const third = await chat(gw, 'tk', body);
    assertRateLimited(third, { what: 'third estimate while two run' });
    assert.match(third.json.error.message, /Rate limit reached for tokens/);
    assert.ok(Number(third.headers.get('x-ratelimit-remaining-tokens')) < est, third.headers.get('x-ratelimit-remaining-tokens'));
    const small = await chat(gw, 'tk', chatBody('gpt', 'hi there', { max_tokens: 1 }));
    assert.equal(small.status, 200, `a small estimate still fits: ${small.text}`);

    // An estimate larger than the whole limit is refused at once, with a clear message.
    const huge = await chat(gw, 'tk', chatBody('gpt', 'hi', { max_tokens: 5000 }));
    assertRateLimited(huge, { retryAfter: false, what: 'estimate over the whole tpm' });
    assert.match(huge.json.error.message, /too large/i);
    assert.match(huge.json.error.message, /token limit/);

    // The client abandons both streams before the provider reported usage: the usage is
    // unknown, so the gateway keeps their estimates charged (admit.cc settle()). With 2 x est
    // still counted (less a few seconds of refill at 1000/min), another full estimate is refused.
    a.abort();
    b.abort();
    await waitFor(() => mock.stats.aborted_streams === 2 && mock.stats.active_streams === 0, { timeout: 3000, message: 'the upstream streams to be closed' });
    await sleep(100);
    const afterAbandon = await chat(gw, 'tk', body);
    const refilled = ((Date.now() - streamsAt) / 60_000) * TPM;
    assert.ok(refilled < 3 * est - TPM - 20, `test timing: ${refilled} tokens refilled since the streams started`);
    assertRateLimited(afterAbandon, { what: 'after two abandoned streams (estimates kept)' });
    const rem = Number(afterAbandon.headers.get('x-ratelimit-remaining-tokens'));
    assert.ok(rem < TPM - 2 * est + refilled + 10, `remaining ${rem}: the abandoned streams' estimates (${2 * est}) are still charged`);

    const m = await metrics(gw);
    assert.ok(rejections(m, 'tokens') >= 3, m);
  });

  it('budget: after a request whose actual cost exceeds usd_total, the next gets 429 insufficient_quota; per-day carries Retry-After; warn mode admits', T, async (t) => {
    const mock = await startMock(t);
    // $1000 per 1M tokens = $0.001 a token; WORDY costs 200 + 201 tokens = $0.401, more than
    // its estimate ($0.115: admit reserves that much of the budget) and than the budget.
    const gw = await gatewayWith(t, {
      mock,
      models: [{ name: 'priced', upstream: 'gpt-4o', pricing: { input: 1000, output: 1000 } }],
      keys: [
        { name: 'bt', models: ['priced'], budget: { usd_total: 0.2 } },
        { name: 'bd', models: ['priced'], budget: { usd_per_day: 0.2, mode: 'hard' } },
        { name: 'bw', models: ['priced'], budget: { usd_total: 0.2, mode: 'warn' } },
        { name: 'bs', models: ['priced'], budget: { usd_total: 0.2 } },
      ],
    });
    const first = await chat(gw, 'bt', chatBody('priced', WORDY));
    assert.equal(first.status, 200, 'nothing spent yet: admitted');
    assert.equal(first.json.usage.total_tokens, 401);
    await sleep(50);
    const second = await chat(gw, 'bt', chatBody('priced', WORDY));
    assertRateLimited(second, { code: 'insufficient_quota', retryAfter: false, what: 'over a spent usd_total' });
    assert.match(second.json.error.message, /quota|budget/i);
    assert.equal(mock.requestsTo('/v1/chat/completions').length, 1, 'the refused request never reached the provider');

    // Budgets count streamed answers' actual usage too.
    const st = await chat(gw, 'bs', chatBody('priced', WORDY, { stream: true }));
    assert.equal(st.status, 200);
    await sleep(50);
    assertRateLimited(await chat(gw, 'bs', chatBody('priced', WORDY)), { code: 'insufficient_quota', retryAfter: false, what: 'after a streamed answer spent the budget' });

    const d1 = await chat(gw, 'bd', chatBody('priced', WORDY));
    assert.equal(d1.status, 200);
    await sleep(50);
    const d2 = await chat(gw, 'bd', chatBody('priced', WORDY));
    assertRateLimited(d2, { code: 'insufficient_quota', retryAfter: true, what: 'over a spent usd_per_day' });
    assert.ok(Number(d2.headers.get('retry-after')) <= 86_400, `Retry-After ${d2.headers.get('retry-after')} is until the next UTC day`);

    for (let i = 0; i < 3; i++) {
      const w = await chat(gw, 'bw', chatBody('priced', WORDY));
      assert.equal(w.status, 200, `warn mode admits (#${i}): ${w.text}`);
      await sleep(50);
    }
    const m = await metrics(gw);
    assert.ok(rejections(m, 'budget') >= 3, m);
    assert.ok(rejections(m, 'budget_warning') >= 2, `budget_warning counted for warn-mode admissions over budget: ${rejections(m, 'budget_warning')}`);
  });

  it('a refusal on /v1/messages comes in Anthropic\'s envelope: 429 rate_limit_error with Retry-After', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gatewayWith(t, { mock, keys: [{ name: 'ant', limits: { rpm: 1 } }] });
    const msg = (content) =>
      postJson(`${gw.proxyURL}/v1/messages`, { model: 'gpt', max_tokens: 64, messages: [{ role: 'user', content }] }, {
        headers: { 'x-api-key': keyOf('ant'), 'anthropic-version': '2023-06-01' },
      });
    const ok = await msg('first');
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.type, 'message');
    assert.equal(ok.headers.get('x-ratelimit-limit-requests'), '1');
    assert.equal(ok.headers.get('x-ratelimit-remaining-requests'), '0');
    const no = await msg('second');
    assert.equal(no.status, 429, no.text);
    assert.equal(no.json?.type, 'error', no.text);
    assert.equal(no.json.error?.type, 'rate_limit_error', no.text);
    assert.match(no.json.error.message, /Rate limit reached for requests/);
    assert.ok(!('code' in no.json.error), 'Anthropic envelope, not OpenAI\'s');
    assert.match(no.headers.get('retry-after') ?? '', /^\d+$/);
    assert.ok(Number(no.headers.get('retry-after')) >= 1 && Number(no.headers.get('retry-after')) <= 60);
    assert.equal(no.headers.get('x-ratelimit-remaining-requests'), '0');
  });
});

describe('traffic control, in process: windows, errors, reload', () => {
  it('windows are smooth (GCRA): after a burst of rpm 60 the key refills about one a second, not a whole window at an edge; Retry-After is honest', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gatewayWith(t, { mock, keys: [{ name: 'g', limits: { rpm: 60 } }] });
    const burst = await Promise.all(Array.from({ length: 70 }, () => chat(gw, 'g', chatBody('gpt'))));
    assert.equal(count(burst, (r) => r.status === 200), 60, 'an idle key may use its whole limit at once');
    const refused = burst.find((r) => r.status === 429);
    const ra = Number(refused.headers.get('retry-after'));
    assert.equal(ra, 1, 'rpm 60 refills one a second');
    // For 2.5 s, a request every 100 ms: about 2 admitted (one a second), never a burst.
    const start = Date.now();
    const trickle = [];
    while (Date.now() - start < 2500) {
      trickle.push(await chat(gw, 'g', chatBody('gpt')));
      await sleep(100);
    }
    const admitted = count(trickle, (r) => r.status === 200);
    const elapsed = (Date.now() - start) / 1000;
    assert.ok(admitted >= 1 && admitted <= Math.ceil(elapsed) + 1, `${admitted} admitted in ${elapsed.toFixed(1)} s at rpm 60 after a burst`);
    // Waiting Retry-After after a refusal gets the next one in.
    const no = await chat(gw, 'g', chatBody('gpt'));
    if (no.status === 429) {
      await sleep(Number(no.headers.get('retry-after')) * 1000);
      const yes = await chat(gw, 'g', chatBody('gpt'));
      assert.equal(yes.status, 200, `after waiting Retry-After (${no.headers.get('retry-after')} s): ${yes.text}`);
    }
  });

  it('the concurrency slot is released when the provider fails or cuts a stream; refusals by the provider are not counted as traffic-control rejections', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gatewayWith(t, { mock, keys: [{ name: 'c1', limits: { concurrency: 1, rpm: 1000 } }] });
    for (let i = 0; i < 3; i++) {
      const e = await chat(gw, 'c1', chatBody('e400'));
      assert.equal(e.status, 400, `provider 400 passes through (#${i}): ${e.text}`);
    }
    for (let i = 0; i < 3; i++) {
      const c = await chat(gw, 'c1', chatBody('cut', 'cut me', { stream: true }));
      assert.equal(c.status, 200, `cut stream #${i}`);
    }
    await sleep(50);
    const ok = await chat(gw, 'c1', chatBody('gpt'));
    assert.equal(ok.status, 200, `slot free after errors and cut streams: ${ok.text}`);
    const m = await metrics(gw);
    assert.equal(rejections(m, 'concurrency'), 0);
    assert.equal(limiterEvent(m, 'admitted'), 7);
  });

  it('a SIGHUP reload that changes a limit keeps the use already counted', T, async (t) => {
    const mock = await startMock(t);
    const keys = (rpm) => [{ name: 'r', limits: { rpm } }];
    const gw = await gatewayWith(t, { mock, keys: keys(5) });
    const first = [];
    for (let i = 0; i < 6; i++) first.push((await chat(gw, 'r', chatBody('gpt'))).status);
    assert.deepEqual(first, [200, 200, 200, 200, 200, 429]);
    await gw.rewrite({ keys: keys(8) });
    gw.proc.kill('SIGHUP');
    await waitFor(async () => metricValue(await metrics(gw), 'tollgate_config_reloads_total', 'result="ok"') === 1, { timeout: 3000, message: 'the reload' });
    const second = [];
    for (let i = 0; i < 4; i++) second.push(await chat(gw, 'r', chatBody('gpt')));
    assert.deepEqual(second.map((r) => r.status), [200, 200, 200, 429], 'rpm 8 with 5 already used: 3 more');
    assert.equal(second[0].headers.get('x-ratelimit-limit-requests'), '8');
  });
});

describe('traffic control through a real redis-server', () => {
  it('two gateway processes sharing one Redis: 60 concurrent clients split across both against rpm 20 admit exactly 20; concurrency is shared too', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const limits = { backend: 'redis', url: redis.url, fail_open: false, timeout_ms: 50 };
    const keys = [
      { name: 'shared', limits: { rpm: 20 } },
      { name: 'conc', limits: { concurrency: 2 } },
    ];
    const g1 = await gatewayWith(t, { mock, keys, limits });
    const g2 = await gatewayWith(t, { mock, keys, limits });
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => chat(i % 2 ? g2 : g1, 'shared', chatBody('gpt', `r ${i}`))));
    const statuses = results.map((r) => r.status);
    assert.equal(count(statuses, (s) => s === 200), 20, `admitted across both (tolerance 0): ${statuses}`);
    assert.equal(count(statuses, (s) => s === 429), 40);
    for (const r of results.filter((x) => x.status === 429)) assertRateLimited(r, { what: 'shared rpm over Redis' });
    const byGw = [0, 1].map((g) => count(results.filter((_, i) => i % 2 === g), (r) => r.status === 200));
    assert.ok(byGw[0] > 0 && byGw[1] > 0, `both gateways admitted some: ${byGw}`);
    const remaining = results.filter((r) => r.status === 200).map((r) => Number(r.headers.get('x-ratelimit-remaining-requests'))).sort((a, b) => a - b);
    assert.deepEqual(remaining, Array.from({ length: 20 }, (_, i) => i), 'one shared window counts down across both');
    const [m1, m2] = [await metrics(g1), await metrics(g2)];
    assert.equal(limiterEvent(m1, 'admitted') + limiterEvent(m2, 'admitted'), 20);
    assert.equal(limiterEvent(m1, 'redis_error') + limiterEvent(m2, 'redis_error'), 0);
    assert.equal(limiterEvent(m1, 'fail_closed_reject') + limiterEvent(m2, 'fail_closed_reject'), 0);

    // One stream through each gateway fills concurrency 2: a third on either is refused.
    const s1 = await openStream(t, g1, 'conc', chatBody('slow', 'a'));
    const s2 = await openStream(t, g2, 'conc', chatBody('slow', 'b'));
    assert.equal(s1.status, 200, s1.text);
    assert.equal(s2.status, 200, s2.text);
    await sleep(300);
    assertRateLimited(await chat(g1, 'conc', chatBody('gpt')), { what: 'third concurrent via g1' });
    assertRateLimited(await chat(g2, 'conc', chatBody('gpt')), { what: 'third concurrent via g2' });
    s1.abort();
    await waitFor(async () => (await chat(g2, 'conc', chatBody('gpt'))).status === 200, { timeout: 5000, interval: 100, message: 'a slot released through g1 to be usable through g2' });
    s2.abort();
  });

  it('Redis stopped under traffic with fail_open: requests keep being served and fail_open_admit grows; restarted on the same port, limits are enforced again without restarting the gateway', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const gw = await gatewayWith(t, {
      mock,
      limits: { backend: 'redis', url: redis.url, fail_open: true, timeout_ms: 50 },
      keys: [
        { name: 'lim', limits: { rpm: 5 } },
        { name: 'bulk', limits: { rpm: 1_000_000 } },
      ],
    });

    // Background traffic from 4 clients through the whole outage.
    let stopTraffic = false;
    const trafficStatuses = [];
    const traffic = Promise.all(Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stopTraffic; i++) {
        const r = await chat(gw, 'bulk', chatBody('gpt', `bulk ${w} ${i}`));
        trafficStatuses.push(r.status);
        await sleep(10);
      }
    }));
    t.after(async () => {
      stopTraffic = true;
      await traffic.catch(() => {});
    });
    try {
      // Healthy: rpm 5 enforced through Redis.
      const before = [];
      for (let i = 0; i < 6; i++) before.push(await chat(gw, 'lim', chatBody('gpt')));
      assert.deepEqual(before.map((r) => r.status), [200, 200, 200, 200, 200, 429]);
      const m0 = await metrics(gw);
      assert.equal(limiterEvent(m0, 'fail_open_admit'), 0);

      // Outage.
      await redis.stop('SIGKILL');
      assert.equal(await redisPing(redis.port), false);
      await sleep(200);
      const during = [];
      for (let i = 0; i < 8; i++) during.push(await chat(gw, 'lim', chatBody('gpt', `during ${i}`)));
      assert.deepEqual(during.map((r) => r.status), Array(8).fill(200), 'fail open: served although the key is over its limit');
      assert.equal(during[0].json.choices[0].message.content, 'Echo: during 0');
      const m1 = await metrics(gw);
      assert.ok(limiterEvent(m1, 'fail_open_admit') >= 8, `fail_open_admit ${limiterEvent(m1, 'fail_open_admit')}`);
      assert.ok(limiterEvent(m1, 'redis_error') >= 1, `redis_error ${limiterEvent(m1, 'redis_error')}`);
      await sleep(500); // more traffic during the outage
      const m1b = await metrics(gw);
      assert.ok(limiterEvent(m1b, 'fail_open_admit') > limiterEvent(m1, 'fail_open_admit'), 'fail_open_admit keeps growing under traffic');

      // Back, on the same port, empty (no persistence): the gateway reconnects on its own and
      // the key gets a fresh window of 5.
      await redis.start();
      const recovered = await waitFor(async () => {
        const mm = await metrics(gw);
        const a = limiterEvent(mm, 'fail_open_admit');
        await sleep(300);
        const b = limiterEvent(await metrics(gw), 'fail_open_admit');
        return a === b ? b : null;
      }, { timeout: 8000, interval: 100, message: 'fail_open_admit to stop growing after Redis returned' });
      const after = [];
      for (let i = 0; i < 8; i++) after.push(await chat(gw, 'lim', chatBody('gpt', `after ${i}`)));
      assert.deepEqual(after.map((r) => r.status), [200, 200, 200, 200, 200, 429, 429, 429], 'limits enforced again');
      assert.equal(after[0].headers.get('x-ratelimit-limit-requests'), '5');
      assert.equal(after[0].headers.get('x-ratelimit-remaining-requests'), '4');
      assertRateLimited(after[5], { what: 'after recovery' });
      assert.equal(limiterEvent(await metrics(gw), 'fail_open_admit'), recovered, 'no fail-open admissions once Redis is back');
    } finally {
      stopTraffic = true;
      await traffic;
    }
    assert.ok(trafficStatuses.length > 20, `traffic ran: ${trafficStatuses.length}`);
    assert.deepEqual([...new Set(trafficStatuses)], [200], `every background request was served: ${count(trafficStatuses, (s) => s !== 200)} were not`);
  });

  it('fail_open: false: 429 (rate_limit_exceeded, Retry-After) while Redis is down, counted as fail_closed_reject; served again when it returns', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const gw = await gatewayWith(t, {
      mock,
      limits: { backend: 'redis', url: redis.url, fail_open: false, timeout_ms: 50 },
      keys: [{ name: 'k', limits: { rpm: 1000 } }, { name: 'free' }],
    });
    assert.equal((await chat(gw, 'k', chatBody('gpt'))).status, 200);
    await redis.stop('SIGKILL');
    const down = [];
    for (let i = 0; i < 5; i++) down.push(await chat(gw, 'k', chatBody('gpt')));
    for (const r of down) assertRateLimited(r, { what: 'fail closed' });
    assert.match(down[0].json.error.message, /unreachable/);
    // A key with no limits never needs Redis.
    assert.equal((await chat(gw, 'free', chatBody('gpt'))).status, 200);
    const m = await metrics(gw);
    assert.ok(limiterEvent(m, 'fail_closed_reject') >= 5, m);
    assert.ok(rejections(m, 'unavailable') >= 5);
    assert.equal(limiterEvent(m, 'fail_open_admit'), 0);
    assert.equal(mock.requestsTo('/v1/chat/completions').length, 2);

    await redis.start();
    await waitFor(async () => (await chat(gw, 'k', chatBody('gpt'))).status === 200, { timeout: 8000, interval: 100, message: 'admission through Redis again' });
  });

  it('two gateways on one Redis: token windows reconcile to the true usage of streamed answers, and a budget spent through one gateway stops the other', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const limits = { backend: 'redis', url: redis.url, fail_open: false, timeout_ms: 50 };
    const TPM = 1000;
    const cfg = {
      mock,
      limits,
      models: [{ name: 'priced', upstream: 'gpt-4o', pricing: { input: 1000, output: 1000 } }],
      keys: [
        { name: 'tok', models: ['gpt', 'slow'], limits: { tpm: TPM } },
        { name: 'bud', models: ['priced'], budget: { usd_total: 0.2 } },
      ],
    };
    const g1 = await gatewayWith(t, cfg);
    const g2 = await gatewayWith(t, cfg);
    const body = chatBody('gpt', 'hi there', { max_tokens: 400, stream: true });
    const est = estimateOf(body);
    for (let k = 0; k < 8; k++) {
      const r = await chat(k % 2 ? g2 : g1, 'tok', body);
      assert.equal(r.status, 200, `stream #${k} via g${(k % 2) + 1}: ${r.text}`);
      assert.equal(r.headers.get('x-ratelimit-limit-tokens'), String(TPM));
      const rem = Number(r.headers.get('x-ratelimit-remaining-tokens'));
      assert.ok(rem >= TPM - est - 5 * k - 1 && rem <= TPM - est, `stream #${k}: remaining tokens ${rem}, expected in [${TPM - est - 5 * k - 1}, ${TPM - est}]`);
      await sleep(50); // settle is written to Redis in the background
    }
    // Two slow streams (one per gateway) hold their estimates; a third estimate is refused.
    const a = await openStream(t, g1, 'tok', chatBody('slow', 'hi there', { max_tokens: 400 }));
    const b = await openStream(t, g2, 'tok', chatBody('slow', 'hi there', { max_tokens: 400 }));
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    const third = await chat(g1, 'tok', body);
    assertRateLimited(third, { what: 'third estimate over Redis' });
    assert.match(third.json.error.message, /tokens/);
    const huge = await chat(g2, 'tok', chatBody('gpt', 'hi', { max_tokens: 5000 }));
    assertRateLimited(huge, { retryAfter: false, what: 'too large over Redis' });
    assert.match(huge.json.error.message, /too large/i);
    a.abort();
    b.abort();

    const spend = await chat(g1, 'bud', chatBody('priced', WORDY));
    assert.equal(spend.status, 200, spend.text);
    const stopped = await waitFor(async () => {
      const r = await chat(g2, 'bud', chatBody('priced', WORDY));
      return r.status === 429 ? r : null;
    }, { timeout: 3000, interval: 100, message: 'g2 to refuse the key whose budget g1 spent' });
    assertRateLimited(stopped, { code: 'insufficient_quota', retryAfter: false, what: 'budget over Redis' });
    // At most one more request could slip through before the spend reached Redis.
    assert.ok(mock.requestsTo('/v1/chat/completions').filter((x) => x.body.model === 'gpt-4o' && x.body.max_tokens === undefined).length <= 2);
  });

  it('a hung Redis (SIGSTOP) with fail_open: requests are served within the timeout, never piling up; SIGCONT recovers', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const gw = await gatewayWith(t, {
      mock,
      workers: 4,
      limits: { backend: 'redis', url: redis.url, fail_open: true, timeout_ms: 50 },
      keys: [{ name: 'h', limits: { rpm: 3 } }],
    });
    const warm = [];
    for (let i = 0; i < 4; i++) warm.push((await chat(gw, 'h', chatBody('gpt'))).status);
    assert.deepEqual(warm, [200, 200, 200, 429]);
    redis.proc.kill('SIGSTOP');
    t.after(() => {
      try {
        redis.proc.kill('SIGCONT');
      } catch {
        // gone
      }
    });
    // 40 concurrent requests while Redis accepts nothing and answers nothing.
    const lat = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const t0 = Date.now();
      const r = await chat(gw, 'h', chatBody('gpt', `hung ${i}`));
      return { status: r.status, ms: Date.now() - t0 };
    }));
    assert.deepEqual([...new Set(lat.map((x) => x.status))], [200], 'fail open while Redis hangs');
    const worst = Math.max(...lat.map((x) => x.ms));
    assert.ok(worst < 1000, `slowest request took ${worst} ms with a 50 ms Redis timeout`);
    const m = await metrics(gw);
    assert.ok(limiterEvent(m, 'fail_open_admit') >= 40, m);
    assert.ok(limiterEvent(m, 'redis_error') >= 1);
    redis.proc.kill('SIGCONT');
    // Back: the window (which Redis kept) refuses again.
    await waitFor(async () => (await chat(gw, 'h', chatBody('gpt'))).status === 429, { timeout: 8000, interval: 100, message: 'rpm 3 enforced again after SIGCONT' });
  });

  it('Redis restarted (empty) while a stream holds the only concurrency slot: once Redis is back, the live stream still holds it', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const gw = await gatewayWith(t, {
      mock,
      limits: { backend: 'redis', url: redis.url, fail_open: true, timeout_ms: 50 },
      keys: [{ name: 'one', limits: { concurrency: 1 } }],
    });
    const s = await openStream(t, gw, 'one', chatBody('slow', 'long'));
    assert.equal(s.status, 200, s.text);
    await sleep(200);
    assertRateLimited(await chat(gw, 'one', chatBody('gpt')), { what: 'second while the stream runs (healthy Redis)' });
    await redis.stop('SIGKILL');
    await redis.start();
    // No admission is attempted while Redis is away, so none is decided by fail_open; the
    // first one after the restart goes to the new (empty) Redis.
    await sleep(500);
    const probe = await chat(gw, 'one', chatBody('gpt', 'after restart'));
    const m = await metrics(gw);
    assert.equal(limiterEvent(m, 'fail_open_admit'), 0, 'no admission was made during the outage');
    assert.equal(mock.stats.active_streams, 1, 'the stream is still live');
    assertRateLimited(probe, { what: 'second request after Redis came back, with the stream still holding the slot' });
    s.abort();
  });
});

describe('admission overhead', () => {
  it('p50 latency of a cheap request with limits vs without, in process and through Redis (diagnostic)', { timeout: 90_000 }, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const keys = [
      { name: 'nolim' },
      { name: 'lim', limits: { rpm: 100_000_000, tpm: 1_000_000_000, concurrency: 10_000 } },
    ];
    const local = await gatewayWith(t, { mock, keys });
    const viaRedis = await gatewayWith(t, { mock, keys, limits: { backend: 'redis', url: redis.url, fail_open: false, timeout_ms: 50 } });
    const N = 300;
    const measure = async (gw) => {
      const lat = { nolim: [], lim: [] };
      for (let i = 0; i < N + 20; i++) {
        for (const key of i % 2 ? ['nolim', 'lim'] : ['lim', 'nolim']) {
          const t0 = process.hrtime.bigint();
          const r = await chat(gw, key, chatBody('gpt', 'hi'));
          const us = Number(process.hrtime.bigint() - t0) / 1000;
          assert.equal(r.status, 200, r.text);
          if (i >= 20) lat[key].push(us); // warm-up excluded
        }
      }
      return { nolim: p50(lat.nolim), lim: p50(lat.lim) };
    };
    const l = await measure(local);
    const r = await measure(viaRedis);
    const line = (name, x) => `${name}: p50 without limits ${x.nolim.toFixed(0)} us, with limits ${x.lim.toFixed(0)} us, added ${(x.lim - x.nolim).toFixed(0)} us`;
    t.diagnostic(line('in process', l));
    t.diagnostic(line('redis', r));
    console.log(`# admission overhead (N=${N} each, through the mock):\n# ${line('in process', l)}\n# ${line('redis', r)}`);
    assert.equal(limiterEvent(await metrics(viaRedis), 'redis_error'), 0);
  });
});
