// Moderation guardrails (kind: moderation): the request's user and tool texts go to an OpenAI
// moderation-compatible endpoint (the mock's /v1/moderations, in the real wire format) before
// the model is called. Blocks answer in the caller's dialect naming the policy and the
// categories; monitor only records; thresholds and category lists narrow what counts; a
// failing or late endpoint refuses with 503 unless the policy fails open. Every hit is in the
// metrics, the access log line and the usage record, with the side it was found on.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import {
  KEYS, closedPort, cleanupScope, makeTempDir, postJson, processConfig, runTollgate, startGateway, startMock,
  waitFor, writeConfig, writeYaml,
} from './harness.mjs';

const T = { timeout: 20_000 };
const ADMIN_KEY = 'adm-moderation-test';
const EMAIL = 'alice.jones@example.org';

function accessLines(gw) {
  return gw.output().stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))
    .filter((j) => 'request_id' in j && 'route' in j);
}

async function usageRow(gw, requestId) {
  return waitFor(async () => {
    const r = await fetch(`${gw.adminURL}/admin/v1/requests/${encodeURIComponent(requestId)}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(5000),
    });
    return r.status === 200 && (await r.json());
  }, { timeout: 5000, message: `usage row of ${requestId}` });
}

async function metric(gw, pattern) {
  const text = await (await fetch(`${gw.adminURL}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const line = text.split('\n').find((l) => pattern.test(l));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('moderation guardrails', () => {
  const scope = cleanupScope();
  let mock;
  let gw;
  let client;
  before(async () => {
    mock = await startMock(scope);
    const dead = await closedPort();
    const dir = await makeTempDir(scope);
    const resources = {
      providers: [
        { name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey },
        { name: 'dead', kind: 'openai-compatible', base_url: `http://127.0.0.1:${dead}/v1`, api_key: 'sk-dead-provider-key-000' },
      ],
      guardrails: [
        { name: 'mod-block', kind: 'moderation', mode: 'block', provider: 'mock' },
        { name: 'mod-monitor', kind: 'moderation', mode: 'monitor', provider: 'mock', model: 'omni-moderation-2024-09-26' },
        { name: 'mod-violence', kind: 'moderation', mode: 'block', provider: 'mock', categories: ['violence'], threshold: 0.3 },
        { name: 'mod-dead', kind: 'moderation', mode: 'block', provider: 'dead', timeout_ms: 1000 },
        { name: 'mod-dead-open', kind: 'moderation', mode: 'block', provider: 'dead', timeout_ms: 1000, fail_open: true },
        { name: 'mod-fast', kind: 'moderation', mode: 'block', provider: 'mock', timeout_ms: 300 },
        { name: 'pii-redact', kind: 'pii', mode: 'redact', entities: ['email'] },
        { name: 'pii-monitor', kind: 'pii', mode: 'monitor', entities: ['email'] },
      ],
      models: [
        { name: 'm-block', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['mod-block'] },
        { name: 'm-monitor', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['mod-monitor'] },
        { name: 'm-violence', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['mod-violence'] },
        { name: 'm-dead', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['mod-dead'] },
        { name: 'm-dead-open', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['mod-dead-open'] },
        { name: 'm-fast', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['mod-fast'] },
        { name: 'm-pii', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['pii-redact', 'mod-block'] },
        { name: 'm-pii-monitor', targets: [{ provider: 'mock', model: 'gpt-4o' }], guardrails: ['pii-monitor'] },
      ],
      keys: [{ name: 'all', key: KEYS.all }],
    };
    const tollgate = processConfig({
      store: { kind: 'file', path: 'resources.yaml' },
      extra: { admin: { key: ADMIN_KEY }, usage: { backend: 'sqlite' } },
    });
    const { configPath } = await writeConfig(dir, { tollgate, resources });
    gw = await startGateway(scope, { configPath });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0 });
  });
  after(() => scope.run());
  beforeEach(() => mock.reset());

  const moderationCalls = () => mock.requests.filter((r) => r.path === '/v1/moderations');
  const chatCalls = () => mock.requests.filter((r) => r.path === '/v1/chat/completions');

  it('a clean prompt is judged on its user and tool texts, then answered', T, async () => {
    const r = await client.chat.completions.create({
      model: 'm-block',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'hello there' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny today' },
      ],
    });
    assert.equal(r.choices[0].message.content, 'Tool result: sunny today');
    const [m] = moderationCalls();
    assert.ok(m, 'the moderation endpoint was called');
    assert.equal(m.headers.authorization, `Bearer ${mock.apiKey}`);
    assert.deepEqual(m.body, { input: ['hello there', 'sunny today'] });
    assert.equal(chatCalls().length, 1);
    assert.ok(mock.requests.indexOf(m) < mock.requests.indexOf(chatCalls()[0]), 'moderation comes before the model');
  });

  it('a flagged prompt is refused in OpenAI\'s shape, naming the policy and category; the model is never called', T, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'm-block', messages: [{ role: 'user', content: 'how do I kill the process' }] }),
      (err) => {
        assert.equal(err.status, 400);
        assert.equal(err.code, 'guardrail_blocked');
        assert.match(err.message, /mod-block/);
        assert.match(err.message, /violence/);
        return true;
      },
    );
    assert.equal(moderationCalls().length, 1);
    assert.equal(chatCalls().length, 0);
  });

  it('a flagged prompt on the Messages API is refused in Anthropic\'s shape', T, async () => {
    const anthropic = new Anthropic({ baseURL: gw.proxyURL, apiKey: KEYS.all, maxRetries: 0 });
    await assert.rejects(
      anthropic.messages.create({ model: 'm-block', max_tokens: 50, messages: [{ role: 'user', content: 'I will hurt myself' }] }),
      (err) => {
        assert.equal(err.status, 400);
        assert.equal(err.error?.type, 'error');
        assert.equal(err.error?.error?.type, 'invalid_request_error');
        assert.match(err.error.error.message, /mod-block.*self-harm/);
        return true;
      },
    );
    assert.deepEqual(moderationCalls()[0].body, { input: ['I will hurt myself'] });
    assert.equal(chatCalls().length, 0);
  });

  it('monitor mode answers, and the hit is in the metrics, the access log and the usage record', T, async () => {
    const before = await metric(gw, /^tollgate_guardrail_hits_total\{policy="mod-monitor",entity="violence",acted="false"\}/);
    const res = await client.chat.completions
      .create({ model: 'm-monitor', messages: [{ role: 'user', content: 'murder mystery plot ideas' }] })
      .withResponse();
    assert.equal(res.data.choices[0].message.content, 'Echo: murder mystery plot ideas');
    assert.equal(moderationCalls()[0].body.model, 'omni-moderation-2024-09-26');
    assert.equal(await metric(gw, /^tollgate_guardrail_hits_total\{policy="mod-monitor",entity="violence",acted="false"\}/), before + 1);
    assert.ok(await metric(gw, /^tollgate_guardrail_moderation_calls_total\{policy="mod-monitor",outcome="ok"\}/) >= 1);
    assert.ok(await metric(gw, /^tollgate_guardrail_moderation_duration_seconds_count\{policy="mod-monitor"\}/) >= 1);

    const id = res.response.headers.get('x-request-id');
    const expected = [{ policy: 'mod-monitor', entity: 'violence', stage: 'request', acted: false, count: 1 }];
    const row = await usageRow(gw, id);
    assert.deepEqual(row.guardrails, expected);
    const line = await waitFor(() => accessLines(gw).find((l) => l.request_id === id), { message: 'access log line' });
    assert.deepEqual(line.guardrails, expected);
  });

  it('a threshold and a category list decide what counts: a 0.4 violence score blocks at 0.3, passes on flags', T, async () => {
    const messages = [{ role: 'user', content: 'a borderline story' }];
    const ok = await client.chat.completions.create({ model: 'm-block', messages });
    assert.equal(ok.choices[0].message.content, 'Echo: a borderline story');
    await assert.rejects(client.chat.completions.create({ model: 'm-violence', messages }), (err) => {
      assert.equal(err.code, 'guardrail_blocked');
      assert.match(err.message, /'mod-violence' \(moderation: violence\)/);
      return true;
    });
    // Hate is not in mod-violence's categories: it passes there.
    const hate = await client.chat.completions.create({ model: 'm-violence', messages: [{ role: 'user', content: 'a hateful remark' }] });
    assert.equal(hate.choices[0].message.content, 'Echo: a hateful remark');
  });

  it('an unreachable endpoint refuses with 503 (fail closed), or lets the request through with fail_open', T, async () => {
    const started = Date.now();
    const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'm-dead', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: KEYS.all });
    assert.equal(res.status, 503);
    assert.equal(res.json.error.code, 'guardrail_unavailable');
    assert.match(res.json.error.message, /mod-dead/);
    assert.ok(!res.text.includes('sk-dead-provider-key'), res.text);
    assert.ok(Date.now() - started < 5000);
    assert.equal(chatCalls().length, 0);

    const open = await client.chat.completions.create({ model: 'm-dead-open', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(open.choices[0].message.content, 'Echo: hi');
    assert.ok(await metric(gw, /^tollgate_guardrail_moderation_calls_total\{policy="mod-dead-open",outcome="error"\}/) >= 1);
  });

  it('an endpoint error or a late answer refuses with 503 in bounded time, never echoing its body', T, async () => {
    await mock.setBehavior('mock-error-401');
    try {
      const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'm-block', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: KEYS.all });
      assert.equal(res.status, 503);
      assert.match(res.json.error.message, /HTTP 401/);
      assert.ok(!res.text.includes('Incorrect API key'), res.text);
    } finally {
      await mock.setBehavior(null);
    }
    await mock.setBehavior('mock-delay-3000');
    try {
      const started = Date.now();
      const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'm-fast', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: KEYS.all });
      assert.equal(res.status, 503);
      assert.equal(res.json.error.code, 'guardrail_unavailable');
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    } finally {
      await mock.setBehavior(null);
    }
  });

  it('PII is redacted before the texts go to the moderation endpoint', T, async () => {
    await client.chat.completions.create({ model: 'm-pii', messages: [{ role: 'user', content: `write to ${EMAIL} today` }] });
    const [m] = moderationCalls();
    assert.ok(!m.rawBody.includes(EMAIL), m.rawBody);
    assert.deepEqual(m.body.input, ['write to [EMAIL] today']);
    assert.ok(!chatCalls()[0].rawBody.includes(EMAIL));
  });

  it('usage records tell request-side from answer-side hits, streamed or not', T, async () => {
    const expected = [
      { policy: 'pii-monitor', entity: 'email', stage: 'request', acted: false, count: 1 },
      { policy: 'pii-monitor', entity: 'email', stage: 'answer', acted: false, count: 1 },
    ];
    const res = await client.chat.completions
      .create({ model: 'm-pii-monitor', messages: [{ role: 'user', content: `mail ${EMAIL}` }] })
      .withResponse();
    assert.equal(res.data.choices[0].message.content, `Echo: mail ${EMAIL}`);
    assert.deepEqual((await usageRow(gw, res.response.headers.get('x-request-id'))).guardrails, expected);

    const streamed = await client.chat.completions
      .create({ model: 'm-pii-monitor', stream: true, messages: [{ role: 'user', content: `mail ${EMAIL}` }] })
      .withResponse();
    let text = '';
    for await (const c of streamed.data) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, `Echo: mail ${EMAIL}`);
    assert.deepEqual((await usageRow(gw, streamed.response.headers.get('x-request-id'))).guardrails, expected);
  });

  it('counting tokens sends nothing to a model, so nothing is sent for moderation', T, async () => {
    const res = await fetch(`${gw.proxyURL}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': KEYS.all, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'm-block', messages: [{ role: 'user', content: 'how do I kill the process' }] }),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    assert.ok(!text.includes('guardrail_'), text);
    assert.equal(moderationCalls().length, 0);
  });

  it('a request without hits records an empty list', T, async () => {
    const res = await client.chat.completions.create({ model: 'm-block', messages: [{ role: 'user', content: 'plain words' }] }).withResponse();
    assert.deepEqual((await usageRow(gw, res.response.headers.get('x-request-id'))).guardrails, []);
  });
});

describe('moderation guardrails: validation', () => {
  const scope = cleanupScope();
  after(() => scope.run());

  const cases = [
    ['an undeclared provider', { name: 'g', kind: 'moderation', provider: 'nope' }, /guardrails\[0\]\.provider.*"nope" is not declared/],
    ['a provider that has no /moderations', { name: 'g', kind: 'moderation', provider: 'claude' }, /guardrails\[0\]\.provider.*openai or openai-compatible/],
    ['no provider', { name: 'g', kind: 'moderation' }, /guardrails\[0\]\.provider.*is required/],
    ['redact mode', { name: 'g', kind: 'moderation', provider: 'oa', mode: 'redact' }, /guardrails\[0\]\.mode.*block or monitor/],
    ['moderation fields on another kind', { name: 'g', kind: 'pii', provider: 'oa' }, /guardrails\[0\]\.provider.*kind: moderation only/],
  ];
  for (const [what, guardrail, message] of cases) {
    it(`validate rejects ${what}`, T, async () => {
      const dir = await makeTempDir(scope);
      const file = await writeYaml(path.join(dir, 'resources.yaml'), {
        providers: [
          { name: 'oa', kind: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-x' },
          { name: 'claude', kind: 'anthropic', base_url: 'http://127.0.0.1:9', api_key: 'sk-ant-x' },
        ],
        guardrails: [guardrail],
      });
      const r = await runTollgate(['validate', file]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stdout + r.stderr, message);
    });
  }
});
