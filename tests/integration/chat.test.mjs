// The OpenAI surface through the real gateway, driven by the official `openai` SDK against the
// mock provider: content, usage, streams, tools, JSON mode, vision, completions, embeddings,
// models, and the built-in demo model.

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { embeddingFor, toolArgumentsFor, toolCallIdFor } from '../mocks/openai-mock.mjs';
import { KEYS, postJson, sseData, standardSuite } from './harness.mjs';

const T = { timeout: 20_000 };

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' } },
      required: ['city'],
    },
  },
};

describe('openai chat through the gateway', () => {
  const env = standardSuite();
  let openai;
  before(() => (openai = env.client(KEYS.all)));

  const chatRequests = () => env.mock.requestsTo('/v1/chat/completions');

  it('non-stream: content and usage come back, the upstream model and provider key are used', T, async () => {
    const r = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hello gateway' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, 'Echo: hello gateway');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.prompt_tokens, 2);
    assert.equal(r.usage.completion_tokens, 3);
    assert.equal(r.usage.total_tokens, 5);
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 0);
    assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);

    const [got] = chatRequests();
    assert.equal(got.body.model, 'gpt-4o');
    assert.equal(got.headers.authorization, `Bearer ${env.mock.apiKey}`);
    assert.ok(!JSON.stringify(got.headers).includes(KEYS.all), 'the virtual key must not reach the provider');
  });

  it('stream without include_usage: caller gets no usage chunk, but the gateway asked upstream for usage', T, async () => {
    const res = await postJson(`${env.gw.baseURL}/chat/completions`, { model: 'gpt', messages: [{ role: 'user', content: 'stream me please' }], stream: true }, { apiKey: KEYS.all });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const data = sseData(res.text);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.ok(chunks.length >= 3);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.ok(Array.isArray(c.choices) && c.choices.length > 0, `a chunk with empty choices reached the caller: ${JSON.stringify(c)}`);
      // As OpenAI does for a caller who did not ask: not even `"usage": null`.
      assert.ok(!('usage' in c), `usage reached a caller who did not ask: ${JSON.stringify(c)}`);
    }
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'Echo: stream me please');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');

    const [got] = chatRequests();
    assert.equal(got.body.stream, true);
    assert.equal(got.body.stream_options?.include_usage, true, 'the gateway must ask the provider for usage to meter the stream');

    // And the same through the SDK.
    const s = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'via sdk' }], stream: true });
    let text = '';
    for await (const c of s) {
      assert.ok(c.choices.length > 0 && !('usage' in c), JSON.stringify(c));
      text += c.choices[0].delta.content ?? '';
    }
    assert.equal(text, 'Echo: via sdk');
  });

  it('stream with include_usage: the caller gets the usage chunk last', T, async () => {
    const s = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'count these words' }], stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of s) chunks.push(c);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(
      { p: last.usage.prompt_tokens, c: last.usage.completion_tokens, t: last.usage.total_tokens },
      { p: 3, c: 4, t: 7 },
    );
    assert.equal(last.usage.prompt_tokens_details.cached_tokens, 0);
    assert.equal(chunks.filter((c) => c.usage).length, 1, 'exactly one usage chunk');
    assert.equal(chunks.slice(0, -1).map((c) => c.choices[0].delta.content ?? '').join(''), 'Echo: count these words');
    const [got] = chatRequests();
    assert.equal(got.body.stream_options.include_usage, true);
  });

  it('stream_options the caller sent are kept; include_usage: false is metered and honoured', T, async () => {
    const res = await postJson(
      `${env.gw.baseURL}/chat/completions`,
      { model: 'gpt', messages: [{ role: 'user', content: 'opts' }], stream: true, stream_options: { include_usage: false, include_obfuscation: false } },
      { apiKey: KEYS.all },
    );
    assert.equal(res.status, 200, res.text);
    const chunks = sseData(res.text).slice(0, -1).map((d) => JSON.parse(d));
    assert.ok(chunks.every((c) => c.choices.length > 0 && !('usage' in c)), 'the caller asked for no usage');
    const [got] = chatRequests();
    assert.deepEqual(got.body.stream_options, { include_usage: true, include_obfuscation: false });
  });

  it('the strict chat.completions.stream() helper accepts the relayed chunks', T, async () => {
    const s = openai.chat.completions.stream({ model: 'gpt', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'helper works' }], stream_options: { include_usage: true } });
    let deltas = '';
    s.on('content', (d) => (deltas += d));
    const final = await s.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: helper works');
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.equal(deltas, 'Echo: helper works');
    assert.equal(final.usage?.total_tokens, 3 + 3);
  });

  it('tools: streamed argument deltas assemble into the right JSON', T, async () => {
    const messages = [{ role: 'user', content: 'Paris' }];
    const s = openai.chat.completions.stream({ model: 'gpt', messages, tools: [weatherTool] });
    const final = await s.finalChatCompletion();
    const choice = final.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.equal(call.id, toolCallIdFor('get_weather', 0));
    assert.equal(call.type, 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.equal(call.function.arguments, toolArgumentsFor(weatherTool, messages));
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius', days: 42 });
    assert.deepEqual(chatRequests()[0].body.tools, [weatherTool]);

    // Non-stream, and the round trip with the tool's result.
    const r = await openai.chat.completions.create({ model: 'gpt', messages, tools: [weatherTool] });
    assert.deepEqual(r.choices[0].message.tool_calls, [call]);
    const r2 = await openai.chat.completions.create({
      model: 'gpt',
      tools: [weatherTool],
      messages: [...messages, r.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' }],
    });
    assert.equal(r2.choices[0].message.content, 'Tool result: sunny, 21C');
  });

  it('JSON mode: response_format reaches the provider and the JSON content comes back', T, async () => {
    const r = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'give json' }], response_format: { type: 'json_object' } });
    assert.deepEqual(JSON.parse(r.choices[0].message.content), { echo: 'Echo: give json' });
    assert.deepEqual(chatRequests()[0].body.response_format, { type: 'json_object' });
  });

  it('vision: image_url parts reach the provider unchanged', T, async () => {
    const png = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: png, detail: 'low' } },
          { type: 'image_url', image_url: { url: 'https://example.invalid/cat.jpg?x=1&y=%20' } },
        ],
      },
    ];
    const r = await openai.chat.completions.create({ model: 'gpt', messages });
    assert.equal(r.choices[0].message.content, 'Echo: what is this? [images: 2]');
    const [got] = chatRequests();
    assert.deepEqual(got.body.messages, messages);
    assert.ok(got.rawBody.includes(JSON.stringify(messages)), 'the messages bytes must be forwarded as sent');
  });

  it('a 3 MB request (a large inline image) is forwarded intact', T, async () => {
    const big = `data:image/png;base64,${Buffer.alloc(3 * 1024 * 1024 * 0.75, 7).toString('base64')}`;
    const messages = [{ role: 'user', content: [{ type: 'text', text: 'big one' }, { type: 'image_url', image_url: { url: big } }] }];
    const r = await openai.chat.completions.create({ model: 'gpt', messages });
    assert.equal(r.choices[0].message.content, 'Echo: big one [images: 1]');
    const [got] = chatRequests();
    assert.equal(got.body.messages[0].content[1].image_url.url.length, big.length);
    assert.ok(got.rawBody.includes(JSON.stringify(messages)));
  });

  it('the model name is spliced and every other byte of the body is forwarded as sent', T, async () => {
    const sent = {
      model: 'gpt',
      messages: [{ role: 'user', content: 'splice – ünïcode 👋 "quoted" \\ back\nslash' }],
      temperature: 0.7,
      top_p: 1,
      seed: 12345678901,
      logit_bias: { 50256: -100 },
      metadata: { team: 'a', nested_note: 'x' },
      user: 'user-42',
      store: false,
      service_tier: 'auto',
      stop: ['\n\n', 'END'],
    };
    const raw = JSON.stringify(sent);
    const res = await postJson(`${env.gw.baseURL}/chat/completions`, raw, { apiKey: KEYS.all });
    assert.equal(res.status, 200, res.text);
    const [got] = chatRequests();
    assert.deepEqual(got.body, { ...sent, model: 'gpt-4o' }, 'fields the gateway does not use must pass through untouched');
    assert.equal(got.rawBody, raw.replace('"model":"gpt"', '"model":"gpt-4o"'), 'same-dialect fast path: only the model name is spliced');
  });

  it('/v1/completions: non-stream and stream', T, async () => {
    const r = await openai.completions.create({ model: 'instruct', prompt: 'say this' });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, ' Echo: say this');
    assert.deepEqual(r.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const s = await openai.completions.create({ model: 'instruct', prompt: 'stream this', stream: true });
    let text = '';
    let finish = null;
    for await (const c of s) {
      assert.ok(c.choices.length > 0 && c.usage == null, `unexpected chunk ${JSON.stringify(c)}`);
      text += c.choices[0].text;
      finish = c.choices[0].finish_reason ?? finish;
    }
    assert.equal(text, ' Echo: stream this');
    assert.equal(finish, 'stop');
    const reqs = env.mock.requestsTo('/v1/completions');
    assert.equal(reqs.length, 2);
    assert.ok(reqs.every((q) => q.body.model === 'gpt-3.5-turbo-instruct'));
  });

  it('/v1/embeddings: floats, and the base64 the SDK asks for by default', T, async () => {
    const f = await openai.embeddings.create({ model: 'embed', input: ['first text', 'second'], encoding_format: 'float' });
    assert.equal(f.object, 'list');
    assert.deepEqual(f.data.map((d) => [d.object, d.index]), [['embedding', 0], ['embedding', 1]]);
    assert.deepEqual(f.data[0].embedding, embeddingFor('first text'));
    assert.deepEqual(f.data[1].embedding, embeddingFor('second'));
    assert.deepEqual(f.usage, { prompt_tokens: 3, total_tokens: 3 });

    const b = await openai.embeddings.create({ model: 'embed', input: 'default format', dimensions: 12 });
    assert.deepEqual(b.data[0].embedding, embeddingFor('default format', 12));
    const reqs = env.mock.requestsTo('/v1/embeddings');
    assert.equal(reqs[1].body.encoding_format, 'base64');
    assert.equal(reqs[1].body.model, 'text-embedding-3-small');
    assert.equal(reqs[1].body.dimensions, 12);
  });

  it('/v1/models lists the configured aliases and demo', T, async () => {
    const ids = [];
    for await (const m of openai.models.list()) {
      assert.equal(m.object, 'model');
      ids.push(m.id);
    }
    for (const alias of [...env.resources.models.map((m) => m.name), 'demo']) {
      assert.ok(ids.includes(alias), `${alias} missing from ${JSON.stringify(ids)}`);
    }
  });

  it('the demo model answers, stream and not, with no provider involved', T, async () => {
    const demo = env.client(KEYS.open);
    const r = await demo.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi demo' }] });
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.ok(r.choices[0].message.content.length > 0);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(r.usage.total_tokens > 0);
    const s = demo.chat.completions.stream({ model: 'demo', messages: [{ role: 'user', content: 'hi demo' }], stream_options: { include_usage: true } });
    const final = await s.finalChatCompletion();
    assert.ok(final.choices[0].message.content.length > 0);
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.ok(final.usage?.total_tokens > 0, 'include_usage is honoured by demo');
    assert.equal(env.mock.requests.length, 0, 'demo must not call a provider');
  });
});
