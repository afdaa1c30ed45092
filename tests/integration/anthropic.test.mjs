// Anthropic callers through the real gateway: the official `@anthropic-ai/sdk` on POST
// /v1/messages (and /v1/messages/count_tokens) to an Anthropic provider (the fast path: bytes
// through with only the model spliced), and translated to an OpenAI provider, a Gemini provider
// and the built-in demo model. Each path: text, stream, tools round trip, usage, errors in
// Anthropic's envelope.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startAnthropicMock, toolUseIdFor } from '../mocks/anthropic-mock.mjs';
import { startOpenAIMock } from '../mocks/openai-mock.mjs';
import { startGeminiMock } from '../mocks/gemini-mock.mjs';
import { KEYS, cleanupScope, postJson, sseData, startGatewayWith } from './harness.mjs';

const T = { timeout: 20_000 };

const weatherTool = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** True when `e` is the SDK's error for `status` carrying Anthropic's envelope of `type`. */
function anthropicError(status, type) {
  return (e) => {
    assert.equal(e.status, status, `status: ${e.status} ${JSON.stringify(e.error)}`);
    assert.equal(e.error?.type, 'error', `envelope: ${JSON.stringify(e.error)}`);
    assert.equal(e.error?.error?.type, type, `error type: ${JSON.stringify(e.error)}`);
    assert.equal(typeof e.error.error.message, 'string');
    assert.ok(e.error.error.message.length > 0);
    return true;
  };
}

describe('anthropic SDK -> gateway /v1/messages', () => {
  const scope = cleanupScope();
  let amock;
  let omock;
  let gmock;
  let gw;
  let sent; // what the SDK put on the wire, in order: { url, headers, body }
  let client; // Authorization: Bearer (what SDK 1.x sends)
  let xkeyClient; // x-api-key only (older SDKs, curl)

  const recordingFetch = (url, init = {}) => {
    sent.push({ url: String(url), headers: new Headers(init.headers), body: typeof init.body === 'string' ? init.body : null });
    return fetch(url, init);
  };

  before(async () => {
    amock = await startAnthropicMock();
    scope.after(() => amock.close());
    omock = await startOpenAIMock();
    scope.after(() => omock.close());
    gmock = await startGeminiMock();
    scope.after(() => gmock.close());
    const resources = {
      providers: [
        { name: 'anthropic', kind: 'anthropic', base_url: amock.url, api_key: amock.apiKey },
        { name: 'openai', kind: 'openai', base_url: omock.baseURL, api_key: omock.apiKey },
        { name: 'google', kind: 'gemini', base_url: gmock.url, api_key: gmock.apiKey },
      ],
      models: [
        { name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }] },
        { name: 'a-429', targets: [{ provider: 'anthropic', model: 'mock-error-429' }] },
        { name: 'a-stream-error', targets: [{ provider: 'anthropic', model: 'mock-stream-error' }] },
        { name: 'a-html-502', targets: [{ provider: 'anthropic', model: 'mock-html-502' }] },
        { name: 'gpt', targets: [{ provider: 'openai', model: 'gpt-4o' }] },
        { name: 'o-429', targets: [{ provider: 'openai', model: 'mock-error-429' }] },
        { name: 'o-stream-error', targets: [{ provider: 'openai', model: 'mock-stream-error' }] },
        { name: 'flash', targets: [{ provider: 'google', model: 'gemini-2.0-flash' }] },
        { name: 'g-429', targets: [{ provider: 'google', model: 'mock-error-429' }] },
        { name: 'g-stream-error', targets: [{ provider: 'google', model: 'mock-stream-error' }] },
      ],
      keys: [{ name: 'all', key: KEYS.all }],
    };
    gw = await startGatewayWith(scope, resources);
    client = new Anthropic({ baseURL: gw.proxyURL, apiKey: KEYS.all, maxRetries: 0, timeout: 15_000, fetch: recordingFetch });
    xkeyClient = new Anthropic({
      baseURL: gw.proxyURL, apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': KEYS.all }, maxRetries: 0, timeout: 15_000, fetch: recordingFetch,
    });
  });
  after(() => scope.run());
  beforeEach(() => {
    amock.reset();
    omock.reset();
    gmock.reset();
    sent = [];
  });

  const noProviderCalls = () => amock.requests.length + omock.requests.length + gmock.requests.length;

  // ------------------------------------------------------------------------------------------
  // The same conversation on every provider.

  const targets = [
    { label: 'anthropic provider (fast path)', model: 'claude', usage: { input: 4, output: 3 } },
    { label: 'openai provider (translated)', model: 'gpt', usage: { input: 4, output: 3 } },
    { label: 'gemini provider (translated)', model: 'flash', usage: { input: 4, output: 3 } },
    { label: 'demo model', model: 'demo', demo: true },
  ];

  for (const target of targets) {
    describe(target.label, () => {
      const expectedText = (said) => (target.demo ? `Hello from Tollgate's offline demo model. You said: ${said}` : `Echo: ${said}`);

      it('non-stream: text, stop_reason and usage', T, async () => {
        const m = await client.messages.create({
          model: target.model, max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }],
        });
        assert.equal(m.type, 'message');
        assert.equal(m.role, 'assistant');
        assert.match(m.id, /^msg_/);
        assert.equal(m.content.length, 1, JSON.stringify(m.content));
        assert.equal(m.content[0].type, 'text');
        assert.equal(m.content[0].text, expectedText('hello there'));
        assert.equal(m.stop_reason, 'end_turn');
        assert.equal(m.stop_sequence, null);
        if (target.usage) {
          assert.equal(m.usage.input_tokens, target.usage.input);
          assert.equal(m.usage.output_tokens, target.usage.output);
        } else {
          assert.ok(Number.isInteger(m.usage.input_tokens) && m.usage.input_tokens > 0, JSON.stringify(m.usage));
          assert.ok(Number.isInteger(m.usage.output_tokens) && m.usage.output_tokens > 0, JSON.stringify(m.usage));
        }
        if (target.demo) assert.equal(noProviderCalls(), 0, 'demo must not call a provider');
      });

      it('stream: messages.stream() + finalMessage() give text, stop_reason and usage', T, async () => {
        const stream = client.messages.stream({
          model: target.model, max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'stream to me' }],
        });
        const types = [];
        let text = '';
        stream.on('streamEvent', (ev) => types.push(ev.type));
        stream.on('text', (delta) => (text += delta));
        const m = await stream.finalMessage();
        assert.equal(m.content.length, 1, JSON.stringify(m.content));
        assert.equal(m.content[0].text, expectedText('stream to me'));
        assert.equal(text, expectedText('stream to me'));
        assert.equal(m.stop_reason, 'end_turn');
        if (target.usage) {
          assert.equal(m.usage.input_tokens, 5); // "Be brief." + "stream to me"
          assert.equal(m.usage.output_tokens, 4); // "Echo: stream to me"
        } else {
          assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0, JSON.stringify(m.usage));
        }
        // Anthropic's event order.
        assert.equal(types[0], 'message_start');
        assert.equal(types.at(-1), 'message_stop');
        assert.equal(types.at(-2), 'message_delta');
        assert.ok(types.includes('content_block_start') && types.includes('content_block_delta') && types.includes('content_block_stop'), types.join(','));
        assert.ok(types.indexOf('content_block_stop') < types.indexOf('message_delta'), types.join(','));
      });

      it('auth: the virtual key works as Authorization: Bearer and as x-api-key', T, async () => {
        const a = await client.messages.create({ model: target.model, max_tokens: 64, messages: [{ role: 'user', content: 'bearer auth' }] });
        assert.equal(a.content[0].text, expectedText('bearer auth'));
        assert.equal(sent[0].headers.get('authorization'), `Bearer ${KEYS.all}`);
        assert.equal(sent[0].headers.get('x-api-key'), null);

        const b = await xkeyClient.messages.create({ model: target.model, max_tokens: 64, messages: [{ role: 'user', content: 'header auth' }] });
        assert.equal(b.content[0].text, expectedText('header auth'));
        assert.equal(sent[1].headers.get('x-api-key'), KEYS.all);
        assert.equal(sent[1].headers.get('authorization'), null);
      });

      if (target.demo) return;

      it('tools round trip: tool_use with input, then tool_result -> final text (and streamed tool_use)', T, async () => {
        const messages = [{ role: 'user', content: 'Paris' }];
        const first = await client.messages.create({ model: target.model, max_tokens: 256, messages, tools: [weatherTool] });
        assert.equal(first.stop_reason, 'tool_use', JSON.stringify(first));
        const use = first.content.find((b) => b.type === 'tool_use');
        assert.ok(use, JSON.stringify(first.content));
        assert.equal(use.name, 'get_weather');
        assert.deepEqual(use.input, { city: 'Paris' });
        assert.match(use.id, /^[a-zA-Z0-9_-]+$/);
        if (target.model === 'claude') assert.equal(use.id, toolUseIdFor('get_weather'));
        assert.ok(first.usage.output_tokens > 0);

        messages.push({ role: 'assistant', content: first.content });
        messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: '{"temp_c":21}' }] });
        const second = await client.messages.create({ model: target.model, max_tokens: 256, messages, tools: [weatherTool] });
        assert.equal(second.stop_reason, 'end_turn', JSON.stringify(second));
        assert.equal(second.content.at(-1).type, 'text');
        assert.equal(second.content.at(-1).text, 'Tool result: {"temp_c":21}');
        assert.ok(second.usage.input_tokens > 0 && second.usage.output_tokens > 0, JSON.stringify(second.usage));

        // The same call streamed: input_json_delta pieces assemble into the input.
        const stream = client.messages.stream({ model: target.model, max_tokens: 256, messages: [{ role: 'user', content: 'Rome' }], tools: [weatherTool] });
        const jsonDeltas = [];
        stream.on('inputJson', (partial) => jsonDeltas.push(partial));
        const m = await stream.finalMessage();
        assert.equal(m.stop_reason, 'tool_use');
        const streamed = m.content.find((b) => b.type === 'tool_use');
        assert.ok(streamed, JSON.stringify(m.content));
        assert.equal(streamed.name, 'get_weather');
        assert.deepEqual(streamed.input, { city: 'Rome' });
        assert.ok(jsonDeltas.length >= 1);
      });
    });
  }

  // ------------------------------------------------------------------------------------------
  // The fast path: what the Anthropic provider received.

  it('fast path: the caller body reaches Anthropic byte for byte except the model; provider key and anthropic-version upstream', T, async () => {
    const body = {
      model: 'claude',
      max_tokens: 100,
      system: [{ type: 'text', text: 'You are terse.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'héllo 👋🏽 "quoted"' }] }],
      temperature: 0.3,
      top_k: 5,
      stop_sequences: ['STOP'],
      metadata: { user_id: 'u-1' },
    };
    const m = await client.messages.create(body, { headers: { 'anthropic-beta': 'prompt-caching-2024-07-31' } });
    assert.equal(m.content[0].text, 'Echo: héllo 👋🏽 "quoted"');
    assert.equal(m.model, 'claude-sonnet-4-5');

    const [got] = amock.requestsTo('/v1/messages');
    assert.ok(got, 'the Anthropic provider was called');
    const callerBody = sent[0].body;
    assert.deepEqual(JSON.parse(got.rawBody), { ...JSON.parse(callerBody), model: 'claude-sonnet-4-5' });
    // Byte for byte: only the model's value differs.
    assert.equal(got.rawBody, callerBody.replace('"model":"claude"', '"model":"claude-sonnet-4-5"'));

    assert.equal(got.headers['x-api-key'], amock.apiKey, 'the provider key goes upstream');
    assert.ok(!JSON.stringify(got.headers).includes(KEYS.all), 'the virtual key must never reach the provider');
    assert.equal(got.headers.authorization, undefined);
    assert.equal(got.headers['anthropic-version'], sent[0].headers.get('anthropic-version'));
    assert.equal(got.headers['anthropic-beta'], 'prompt-caching-2024-07-31');
  });

  it('fast path stream: the body goes through with stream: true and only the model changed', T, async () => {
    const m = await client.messages.stream({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'streamed bytes' }] }).finalMessage();
    assert.equal(m.content[0].text, 'Echo: streamed bytes');
    const [got] = amock.requestsTo('/v1/messages');
    assert.equal(got.body.stream, true);
    assert.deepEqual(got.body, { ...JSON.parse(sent[0].body), model: 'claude-sonnet-4-5' });
    assert.equal(got.headers['x-api-key'], amock.apiKey);
  });

  it('translated to OpenAI: a valid chat request with the system message, max_completion_tokens and include_usage on streams', T, async () => {
    await client.messages.create({ model: 'gpt', max_tokens: 77, system: 'Be brief.', messages: [{ role: 'user', content: 'to openai' }], temperature: 0.5 });
    const [got] = omock.requestsTo('/v1/chat/completions');
    assert.equal(got.status, 200, 'the OpenAI mock accepted the translated request');
    assert.equal(got.body.model, 'gpt-4o');
    assert.equal(got.headers.authorization, `Bearer ${omock.apiKey}`);
    assert.ok(!JSON.stringify(got.headers).includes(KEYS.all));
    const sys = got.body.messages[0];
    assert.equal(sys.role, 'system');
    assert.equal(typeof sys.content === 'string' ? sys.content : sys.content.map((p) => p.text).join(''), 'Be brief.');
    const user = got.body.messages[1];
    assert.equal(user.role, 'user');
    assert.equal(typeof user.content === 'string' ? user.content : user.content.map((p) => p.text).join(''), 'to openai');
    assert.equal(got.body.max_completion_tokens, 77);
    assert.equal(got.body.max_tokens, undefined, 'max_tokens is deprecated on OpenAI; max_completion_tokens carries it');
    assert.equal(got.body.temperature, 0.5);
    assert.ok(!got.body.stream);

    await client.messages.stream({ model: 'gpt', max_tokens: 20, messages: [{ role: 'user', content: 'stream to openai' }] }).finalMessage();
    const streamed = omock.requestsTo('/v1/chat/completions')[1];
    assert.equal(streamed.status, 200);
    assert.equal(streamed.body.stream, true);
    assert.equal(streamed.body.stream_options?.include_usage, true);
    assert.equal(streamed.body.max_completion_tokens, 20);
  });

  it('fast path: a curl-style caller (x-api-key, no anthropic-version) still reaches Anthropic with a version', T, async () => {
    const res = await postJson(`${gw.proxyURL}/v1/messages`, { model: 'claude', max_tokens: 20, messages: [{ role: 'user', content: 'from curl' }] }, { headers: { 'x-api-key': KEYS.all } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.content[0].text, 'Echo: from curl');
    const [got] = amock.requestsTo('/v1/messages');
    assert.match(got.headers['anthropic-version'] ?? '', /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(got.headers['x-api-key'], amock.apiKey);
  });

  it('fast path: "model" inside nested objects is left alone; only the top-level model is spliced', T, async () => {
    const raw = '{"tools":[{"name":"t","input_schema":{"type":"object","properties":{"model":{"type":"string"}}}}],"tool_choice":{"type":"none"},"max_tokens":20,"messages":[{"role":"user","content":"nested \\u00e9 \\"model\\": x"}],"model":"claude"}';
    const res = await postJson(`${gw.proxyURL}/v1/messages`, raw, { apiKey: KEYS.all });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.content[0].text, 'Echo: nested é "model": x');
    const [got] = amock.requestsTo('/v1/messages');
    assert.equal(got.rawBody, raw.replace('"model":"claude"}', '"model":"claude-sonnet-4-5"}'));
  });

  it('fast path: a body with the model key twice never sends the caller\'s alias upstream', T, async () => {
    // JSON parsers keep the last duplicate (the gateway routes on it, and so does the API), so
    // the splice must rewrite the one that is routed on, or the request must be refused.
    const raw = '{"model":"not-an-alias","max_tokens":20,"messages":[{"role":"user","content":"dup"}],"model":"claude"}';
    const res = await postJson(`${gw.proxyURL}/v1/messages`, raw, { apiKey: KEYS.all });
    if (res.status === 400) {
      assert.equal(res.json?.error?.type, 'invalid_request_error', res.text);
      return;
    }
    assert.equal(res.status, 200, res.text);
    const [got] = amock.requestsTo('/v1/messages');
    assert.equal(JSON.parse(got.rawBody).model, 'claude-sonnet-4-5', `upstream body: ${got.rawBody}`);
    assert.ok(!got.rawBody.includes('"claude"'), `the alias leaked upstream: ${got.rawBody}`);
  });

  it('fast path: an HTML 502 from Anthropic becomes a JSON api_error in Anthropic\'s envelope', T, async () => {
    await assert.rejects(client.messages.create({ model: 'a-html-502', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), anthropicError(502, 'api_error'));
  });

  it('translated to OpenAI: a parameter OpenAI cannot honour (top_k) is dropped and named in x-tollgate-dropped', T, async () => {
    // (A model with strict_params: true answers 400 instead: tests/agents-claude.)
    const { data: m, response } = await client.messages
      .create({ model: 'gpt', max_tokens: 10, top_k: 5, messages: [{ role: 'user', content: 'dropped top k' }] })
      .withResponse();
    assert.equal(m.content[0].text, 'Echo: dropped top k');
    assert.equal(response.headers.get('x-tollgate-dropped'), 'top_k');
    assert.ok(!('top_k' in omock.requests[0].body));
  });

  // ------------------------------------------------------------------------------------------
  // Errors, in Anthropic's envelope.

  it('a wrong virtual key is 401 authentication_error, on either header, and no provider is called', T, async () => {
    const bad = new Anthropic({ baseURL: gw.proxyURL, apiKey: 'tg-wrong-key-0123456789', maxRetries: 0 });
    await assert.rejects(bad.messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), anthropicError(401, 'authentication_error'));
    const badX = new Anthropic({ baseURL: gw.proxyURL, apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': 'tg-wrong-key-0123456789' }, maxRetries: 0 });
    await assert.rejects(badX.messages.create({ model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), anthropicError(401, 'authentication_error'));
    const none = await postJson(`${gw.proxyURL}/v1/messages`, { model: 'claude', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }, { headers: { 'anthropic-version': '2023-06-01' } });
    assert.equal(none.status, 401, none.text);
    assert.equal(none.json?.type, 'error', none.text);
    assert.equal(none.json?.error?.type, 'authentication_error', none.text);
    assert.equal(noProviderCalls(), 0);
  });

  it('an unknown model is 404 not_found_error', T, async () => {
    await assert.rejects(client.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), anthropicError(404, 'not_found_error'));
    assert.equal(noProviderCalls(), 0);
  });

  it('a missing max_tokens is 400 invalid_request_error, before any provider is called', T, async () => {
    for (const model of ['claude', 'gpt', 'flash']) {
      await assert.rejects(client.messages.create({ model, messages: [{ role: 'user', content: 'x' }] }), anthropicError(400, 'invalid_request_error'));
    }
    assert.equal(noProviderCalls(), 0);
  });

  for (const [model, label] of [['a-429', 'anthropic'], ['o-429', 'openai'], ['g-429', 'gemini']]) {
    it(`an upstream 429 from the ${label} provider is 429 rate_limit_error in Anthropic's envelope`, T, async () => {
      await assert.rejects(client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), anthropicError(429, 'rate_limit_error'));
      // And the stream request too: the error comes before any event, as a status.
      await assert.rejects(client.messages.stream({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage(), anthropicError(429, 'rate_limit_error'));
    });
  }

  for (const [model, label] of [['a-stream-error', 'anthropic'], ['o-stream-error', 'openai'], ['g-stream-error', 'gemini']]) {
    it(`a mid-stream error from the ${label} provider reaches the caller as an error event the SDK raises`, T, async () => {
      const stream = client.messages.stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'one two three four five six' }] });
      await assert.rejects(stream.finalMessage(), (e) => {
        assert.ok(e instanceof Anthropic.APIError, `${e?.constructor?.name}: ${e?.message}`);
        return true;
      });
      // On the wire: one `event: error` with Anthropic's envelope, and nothing after it.
      const res = await postJson(`${gw.proxyURL}/v1/messages`, { model, max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] }, { apiKey: KEYS.all });
      assert.equal(res.status, 200, res.text);
      const events = sseData(res.text).map((d) => JSON.parse(d));
      const errAt = events.findIndex((e) => e.type === 'error');
      assert.ok(errAt >= 0, res.text);
      assert.equal(errAt, events.length - 1, res.text);
      assert.equal(typeof events[errAt].error?.type, 'string', res.text);
      assert.equal(typeof events[errAt].error?.message, 'string', res.text);
      assert.ok(!events.slice(errAt).some((e) => e.type === 'message_stop'), res.text);
      assert.match(res.text, /event: error\r?\n/);
    });
  }

  // ------------------------------------------------------------------------------------------
  // count_tokens.

  it('count_tokens on the Anthropic provider is forwarded (model spliced) and answered by Anthropic', T, async () => {
    const r = await client.messages.countTokens({ model: 'claude', system: 'Be brief.', messages: [{ role: 'user', content: 'count these four words' }] });
    assert.equal(r.input_tokens, 6);
    const [got] = amock.requestsTo('/v1/messages/count_tokens');
    assert.ok(got, 'count_tokens went to the provider');
    assert.equal(got.status, 200);
    assert.equal(got.body.model, 'claude-sonnet-4-5');
    assert.equal(got.headers['x-api-key'], amock.apiKey);
    assert.deepEqual(got.body, { ...JSON.parse(sent[0].body), model: 'claude-sonnet-4-5' });
  });

  it('count_tokens on the OpenAI provider is an estimate: a positive integer, no provider call', T, async () => {
    const r = await client.messages.countTokens({ model: 'gpt', system: 'Be brief.', messages: [{ role: 'user', content: 'count these four words please, it is a longer sentence' }] });
    assert.ok(Number.isInteger(r.input_tokens) && r.input_tokens > 0, JSON.stringify(r));
    assert.deepEqual(Object.keys(r), ['input_tokens']);
    assert.equal(noProviderCalls(), 0);
  });

  // ------------------------------------------------------------------------------------------
  // Prompt caching.

  const cachedSystem = [{ type: 'text', text: 'You are a careful assistant with a long stable prefix', cache_control: { type: 'ephemeral' } }];

  it('prompt caching on the fast path: cache_control reaches Anthropic; creation then read counts come back', T, async () => {
    const first = await client.messages.create({ model: 'claude', max_tokens: 50, system: cachedSystem, messages: [{ role: 'user', content: 'first question' }] });
    assert.deepEqual(amock.requestsTo('/v1/messages')[0].body.system, cachedSystem);
    assert.equal(first.usage.cache_creation_input_tokens, 10);
    assert.equal(first.usage.cache_read_input_tokens, 0);
    assert.equal(first.usage.input_tokens, 2);

    const second = await client.messages.create({ model: 'claude', max_tokens: 50, system: cachedSystem, messages: [{ role: 'user', content: 'second question' }] });
    assert.equal(second.usage.cache_read_input_tokens, 10);
    assert.equal(second.usage.cache_creation_input_tokens, 0);
    assert.equal(second.usage.input_tokens, 2);

    // Streamed: the counts are in message_start and survive into finalMessage().
    const third = await client.messages.stream({ model: 'claude', max_tokens: 50, system: cachedSystem, messages: [{ role: 'user', content: 'third question' }] }).finalMessage();
    assert.equal(third.usage.cache_read_input_tokens, 10);
    assert.equal(third.usage.input_tokens, 2);
    assert.equal(third.content[0].text, 'Echo: third question');
  });

  it('prompt caching for an OpenAI caller on the Anthropic provider: cache_control passes, cached_tokens comes back', T, async () => {
    const openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 15_000 });
    const system = { role: 'system', content: [{ type: 'text', text: 'You are a careful assistant with a long stable prefix', cache_control: { type: 'ephemeral' } }] };
    const first = await openai.chat.completions.create({ model: 'claude', max_tokens: 50, messages: [system, { role: 'user', content: 'first question' }] });
    assert.equal(first.choices[0].message.content, 'Echo: first question');
    const [got] = amock.requestsTo('/v1/messages');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.system, cachedSystem, 'cache_control must reach Anthropic on the system block');
    // OpenAI's prompt_tokens includes cached input.
    assert.equal(first.usage.prompt_tokens, 12);
    assert.equal(first.usage.completion_tokens, 3);
    assert.equal(first.usage.prompt_tokens_details?.cached_tokens, 0);

    const second = await openai.chat.completions.create({ model: 'claude', max_tokens: 50, messages: [system, { role: 'user', content: 'second question' }] });
    assert.equal(second.usage.prompt_tokens, 12);
    assert.equal(second.usage.prompt_tokens_details?.cached_tokens, 10);
    assert.equal(second.usage.total_tokens, 15);

    // And in the stream's usage chunk.
    const final = await openai.chat.completions
      .stream({ model: 'claude', max_tokens: 50, messages: [system, { role: 'user', content: 'third question' }], stream_options: { include_usage: true } })
      .finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: third question');
    assert.equal(final.usage?.prompt_tokens, 12);
    assert.equal(final.usage?.prompt_tokens_details?.cached_tokens, 10);
  });
});
