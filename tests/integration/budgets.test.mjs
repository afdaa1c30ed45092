// Exact budgets across replicas (issue 15): three gateway processes share one REAL
// redis-server; a key with a hard budget that allows about half of 200 concurrent streaming
// requests gets them all at once, spread over the three. Each admission reserves its
// estimated cost in the limiter script, so together they cannot overshoot; the test measures
// the overshoot (total actual spend vs the budget) and prints it (bench/RESULTS.md).
//
// Prices are known ($1000 per 1M tokens = $0.001 a token) and so are the mock's token counts
// (a token is a word): every request has the same actual cost.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeTempDir, processConfig, startGateway, startMock, writeConfig } from './harness.mjs';
import { startRedis } from './redis-server.mjs';

const KEY = 'tg-budget-shared-0123456789abcdef';
const PRICE = 1000;  // USD per 1M tokens, input and output
const N = 200;
const WORDS = 100;    // prompt words; the answer is "Echo: <words>", cut at MAX_TOKENS
const MAX_TOKENS = 50;
const COST = ((WORDS + MAX_TOKENS) * PRICE) / 1e6;  // one request's actual cost: $0.15
const BUDGET = (N / 2) * COST;                        // room for 100 at their actual cost

/** Streams one request to the end; { status, usage } (usage from the final chunk). */
async function stream(gw, i) {
  const res = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({
      model: 'priced',
      messages: [{ role: 'user', content: `${'abc '.repeat(WORDS - 1)}r${i % 10}` }],
      max_tokens: MAX_TOKENS,
      stream: true,
      stream_options: { include_usage: true },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, text };
  let usage = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice(6));
    if (chunk.usage) usage = chunk.usage;
  }
  return { status: 200, usage };
}

describe('budgets across three replicas sharing one Redis', () => {
  it(`${N} concurrent streams against a hard budget for about half: the total actual spend overshoots by no more than one request`, { timeout: 90_000 }, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const resources = {
      providers: [{ name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
      // Every stream waits 300 ms before its first byte, so all 200 are in flight together.
      models: [{ name: 'priced', targets: [{ provider: 'mock', model: 'mock-delay-300' }], pricing: { input: PRICE, output: PRICE } }],
      keys: [{ name: 'shared', key: KEY, models: ['priced'], budget: { usd_total: BUDGET } }],
    };
    const limits = { backend: 'redis', url: redis.url, fail_open: false, timeout_ms: 200 };
    const gws = [];
    for (let g = 0; g < 3; g++) {
      const dir = await makeTempDir(t);
      const { configPath } = await writeConfig(dir, { tollgate: processConfig({ workers: 2, extra: { limits } }), resources });
      gws.push(await startGateway(t, { configPath }));
    }

    const results = await Promise.all(Array.from({ length: N }, (_, i) => stream(gws[i % 3], i)));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status !== 200);
    for (const r of refused) {
      assert.equal(r.status, 429, r.text);
      assert.equal(JSON.parse(r.text).error.code, 'insufficient_quota');
    }
    for (const r of ok) {
      assert.ok(r.usage, 'every admitted stream reports its usage');
      assert.equal(r.usage.prompt_tokens + r.usage.completion_tokens, WORDS + MAX_TOKENS);
    }
    assert.equal(mock.requestsTo('/v1/chat/completions').length, ok.length, 'refused requests never reached the provider');
    const byGw = [0, 1, 2].map((g) => results.filter((r, i) => i % 3 === g && r.status === 200).length);

    const spent = ok.reduce((a, r) => a + ((r.usage.prompt_tokens + r.usage.completion_tokens) * PRICE) / 1e6, 0);
    const overshoot = spent - BUDGET;
    console.log(
      `budget $${BUDGET.toFixed(2)}, ${N} concurrent streams over 3 replicas: admitted ${ok.length} (${byGw.join('/')}), ` +
        `spent $${spent.toFixed(4)} = ${((100 * spent) / BUDGET).toFixed(1)}% of the budget, ` +
        `overshoot $${Math.max(0, overshoot).toFixed(4)} (${((100 * Math.max(0, overshoot)) / BUDGET).toFixed(2)}%; one request costs $${COST.toFixed(2)})`,
    );
    assert.ok(overshoot <= COST + 1e-9, `overshoot $${overshoot} is more than one request ($${COST})`);
    // The estimate (prompt bytes / 4 + max_tokens) is above the actual cost, so no overshoot.
    assert.ok(overshoot <= 1e-9, `overshoot $${overshoot}`);
    // Reservations do not starve the key: well over a third of the budget's room is used.
    assert.ok(ok.length >= N / 2 / 2, `admitted ${ok.length}`);
    assert.ok(byGw.every((n) => n > 0), `every replica admitted some: ${byGw}`);

  });
});
