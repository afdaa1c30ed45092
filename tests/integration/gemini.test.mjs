// OpenAI callers on a Gemini provider: the official `openai` SDK through the real gateway to
// the Gemini mock (tests/mocks/gemini-mock.mjs), translated both ways, streams included.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startGeminiMock, embeddingFor } from '../mocks/gemini-mock.mjs';
import { KEYS, cleanupScope, postJson, sseData, startGatewayWith } from './harness.mjs';
import OpenAI from 'openai';

const T = { timeout: 20_000 };

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      additionalProperties: false,
      properties: { city: { type: 'string' } },
      required: ['city'],
    },
  },
};

describe('openai SDK -> gateway -> gemini', () => {
  const scope = cleanupScope();
  let mock;
  let gw;
  let openai;
  before(async () => {
    mock = await startGeminiMock();
    scope.after(() => mock.close());
    const resources = {
      providers: [{ name: 'google', kind: 'gemini', base_url: mock.url, api_key: mock.apiKey }],
      models: [
        { name: 'flash', targets: [{ provider: 'google', model: 'gemini-2.0-flash' }] },
        { name: 'g-embed', targets: [{ provider: 'google', model: 'text-embedding-004' }] },
        { name: 'g-429', targets: [{ provider: 'google', model: 'mock-error-429' }] },
        { name: 'g-fragmented', targets: [{ provider: 'google', model: 'mock-fragmented-stream' }] },
      ],
      keys: [{ name: 'all', key: KEYS.all }],
    };
    gw = await startGatewayWith(scope, resources);
    openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0 });
  });
  after(() => scope.run());
  beforeEach(() => mock.reset());

  it('non-stream: content, finish reason and usage; system prompt sent as systemInstruction', T, async () => {
    const r = await openai.chat.completions.create({
      model: 'flash',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello gemini' }],
      max_tokens: 50,
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.content, 'Echo: hello gemini');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.prompt_tokens, 4);  // "Be brief." + "hello gemini"
    assert.equal(r.usage.completion_tokens, 3);
    const [got] = mock.requestsTo(':generateContent');
    assert.equal(got.path, '/v1beta/models/gemini-2.0-flash:generateContent');
    assert.equal(got.headers['x-goog-api-key'], mock.apiKey);
    assert.deepEqual(got.body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
    assert.equal(got.body.generationConfig.maxOutputTokens, 50);
    assert.deepEqual(got.body.contents, [{ role: 'user', parts: [{ text: 'hello gemini' }] }]);
  });

  it('stream: the SDK stream() helper accepts the translated chunks; usage comes when asked for', T, async () => {
    const runner = openai.chat.completions.stream({
      model: 'flash', messages: [{ role: 'user', content: 'stream from gemini' }], stream_options: { include_usage: true },
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: stream from gemini');
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.equal(final.usage.completion_tokens, 4);
    assert.ok(mock.requestsTo(':streamGenerateContent')[0].query.alt === 'sse');
  });

  it('stream without include_usage: no usage chunk reaches the caller', T, async () => {
    const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'flash', stream: true, messages: [{ role: 'user', content: 'no usage please' }] }, { apiKey: KEYS.all });
    assert.equal(res.status, 200);
    const data = sseData(res.text);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.ok(chunks.every((c) => c.choices.length === 1 && !('usage' in c && c.usage)), res.text);
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'Echo: no usage please');
  });

  it('unicode split across TCP writes arrives intact', T, async () => {
    const text = 'héllo wörld 👋🏽 日本語';
    const stream = await openai.chat.completions.create({ model: 'g-fragmented', stream: true, messages: [{ role: 'user', content: text }] });
    let got = '';
    for await (const c of stream) got += c.choices[0]?.delta?.content ?? '';
    assert.equal(got, `Echo: ${text}`);
  });

  it('tools round trip: schema reduced for Gemini, call decoded, result sent back as functionResponse', T, async () => {
    const messages = [{ role: 'user', content: 'Paris' }];
    const first = await openai.chat.completions.create({ model: 'flash', messages, tools: [weatherTool] });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const call = first.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    const decl = mock.requests[0].body.tools[0].functionDeclarations[0];
    assert.ok(!JSON.stringify(decl).includes('additionalProperties'), JSON.stringify(decl));

    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' });
    const second = await openai.chat.completions.create({ model: 'flash', messages, tools: [weatherTool] });
    assert.equal(second.choices[0].message.content, 'Tool result: {"temp_c":21}');
    const sent = mock.requests[1].body.contents;
    assert.deepEqual(sent.at(-1), { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp_c: 21 } } }] });

    // Streamed tool calls assemble into the same call through the SDK helper.
    const runner = openai.chat.completions.stream({ model: 'flash', messages: [{ role: 'user', content: 'Rome' }], tools: [weatherTool] });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(JSON.parse(final.choices[0].message.tool_calls[0].function.arguments), { city: 'Rome' });
  });

  it('embeddings: floats and the SDK default (base64) decode to the same vector', T, async () => {
    const r = await openai.embeddings.create({ model: 'g-embed', input: ['alpha', 'beta'], dimensions: 8 });
    assert.equal(r.data.length, 2);
    assert.deepEqual(r.data[1].embedding, embeddingFor('beta', 8));
    assert.ok(r.usage.prompt_tokens > 0);
    const f = await openai.embeddings.create({ model: 'g-embed', input: 'alpha', dimensions: 8, encoding_format: 'float' });
    assert.deepEqual(f.data[0].embedding, embeddingFor('alpha', 8));
  });

  it('a provider 429 maps to 429 in the OpenAI envelope', T, async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'g-429', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 429 && typeof e.error?.message === 'string',
    );
  });

  it('a parameter Gemini cannot honour is dropped and named in x-tollgate-dropped', T, async () => {
    const { data: r, response } = await openai.chat.completions
      .create({ model: 'flash', messages: [{ role: 'user', content: 'dropped' }], logprobs: true })
      .withResponse();
    assert.equal(r.choices[0].message.content, 'Echo: dropped');
    assert.equal(response.headers.get('x-tollgate-dropped'), 'logprobs');
  });
});
