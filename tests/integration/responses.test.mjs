// The OpenAI Responses API inbound (POST /v1/responses) for OpenAI-speaking providers: the fast
// path (body forwarded with only the model spliced, events forwarded as they come) with usage
// read from response.completed.

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS, postJson, standardSuite, waitFor } from './harness.mjs';

const T = { timeout: 20_000 };

describe('responses API through the gateway', () => {
  const env = standardSuite();
  let openai;
  before(() => (openai = env.client(KEYS.all)));

  const metric = async (re) => {
    const text = await (await fetch(`${env.gw.adminURL}/metrics`)).text();
    return text.split('\n').filter((l) => re.test(l));
  };
  // The gateway counts a request once its answer is written: the caller may read the answer
  // before the worker has counted it.
  const metricUntil = (re, ok) => waitFor(async () => ok(await metric(re)),
    { timeout: 2000, message: `a metric line matching ${re}` });

  it('non-stream: the SDK gets the response; the model is spliced; usage is counted', T, async () => {
    const r = await openai.responses.create({ model: 'gpt', input: 'hello responses', instructions: 'Be nice', x_custom: 1 });
    assert.equal(r.object, 'response');
    assert.equal(r.output_text, 'Echo: hello responses');
    assert.equal(r.usage.output_tokens, 3);
    const got = env.mock.requestsTo('/v1/responses')[0];
    assert.equal(got.body.model, 'gpt-4o');
    assert.equal(got.body.x_custom, 1, 'unknown fields pass through untouched');
    await metricUntil(/^tollgate_tokens_total\{model="gpt".*type="output"/, (lines) => lines.some((l) => / 3$/.test(l)));
  });

  it('stream: events arrive in order and the final text assembles; usage from response.completed', T, async () => {
    const stream = await openai.responses.create({ model: 'gpt', input: 'stream the responses', stream: true });
    const types = [];
    let text = '';
    let completed;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev.response;
    }
    assert.equal(text, 'Echo: stream the responses');
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.equal(completed.usage.output_tokens, 4);
    await metricUntil(/^tollgate_requests_total\{route="responses",model="gpt"/, (lines) => lines.length > 0);
  });

  it('a provider that does not speak the Responses API is reached through translation; a missing input is a 400', T, async () => {
    const res = await postJson(`${env.gw.baseURL}/responses`, { model: 'demo', input: 'x' }, { apiKey: KEYS.all });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.object, 'response');
    assert.ok(res.json.id.startsWith('resp_tg'));
    const bad = await postJson(`${env.gw.baseURL}/responses`, { model: 'gpt' }, { apiKey: KEYS.all });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.param, 'input');
  });
});
