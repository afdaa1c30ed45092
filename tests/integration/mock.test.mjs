// Proves the mock OpenAI provider is faithful enough: the official SDK, strict stream helper
// included, accepts everything it answers. No gateway involved.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import {
  startOpenAIMock,
  embeddingFor,
  toolArgumentsFor,
  toolCallIdFor,
  DEFAULT_API_KEY,
} from '../mocks/openai-mock.mjs';
import { postJson, sseData, waitFor } from './harness.mjs';

const T = { timeout: 15_000 };

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

describe('openai mock', () => {
  let mock;
  let client;
  before(async () => {
    mock = await startOpenAIMock();
    client = new OpenAI({ baseURL: mock.baseURL, apiKey: DEFAULT_API_KEY, maxRetries: 0, timeout: 10_000 });
  });
  after(() => mock.close());

  it('answers a non-stream chat completion with OpenAI shapes and deterministic usage', T, async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }] });
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.model, 'gpt-4o');
    assert.equal(typeof r.created, 'number');
    assert.deepEqual(r.choices[0].message, { role: 'assistant', content: 'Echo: hello there', refusal: null, annotations: [] });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.choices[0].logprobs, null);
    assert.equal(r.usage.prompt_tokens, 4);
    assert.equal(r.usage.completion_tokens, 3);
    assert.equal(r.usage.total_tokens, 7);
    assert.equal(r.usage.prompt_tokens_details.cached_tokens, 0);
    assert.equal(r.usage.completion_tokens_details.reasoning_tokens, 0);
  });

  it('streams chunks the strict stream() helper accepts, with usage only when asked', T, async () => {
    const s = client.chat.completions.stream({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one two three' }], stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of s) chunks.push(c);
    const final = await s.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: one two three');
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && 'usage' in c));
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.total_tokens, 3 + 4);

    const plain = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true });
    const plainChunks = [];
    for await (const c of plain) plainChunks.push(c);
    assert.ok(plainChunks.every((c) => !('usage' in c) && c.choices.length === 1));
  });

  it('streams tool-call argument deltas that assemble into the arguments', T, async () => {
    const messages = [{ role: 'user', content: 'Paris' }];
    const s = client.chat.completions.stream({ model: 'gpt-4o', messages, tools: [weatherTool] });
    const deltas = [];
    for await (const c of s) for (const tc of c.choices[0]?.delta?.tool_calls ?? []) deltas.push(tc);
    const final = await s.finalChatCompletion();
    const call = final.choices[0].message.tool_calls[0];
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.equal(call.id, toolCallIdFor('get_weather', 0));
    assert.equal(call.function.name, 'get_weather');
    assert.equal(call.function.arguments, toolArgumentsFor(weatherTool, messages));
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris', unit: 'celsius', days: 42 });
    assert.ok(deltas.length > 3, 'arguments arrive in several pieces');
    assert.ok(deltas[0].id && deltas[0].function.name);
    assert.ok(deltas.slice(1).every((d) => d.id === undefined && d.function.name === undefined && d.index === 0));

    // The round trip: the tool result is echoed.
    const r = await client.chat.completions.create({
      model: 'gpt-4o',
      tools: [weatherTool],
      messages: [...messages, final.choices[0].message, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    });
    assert.equal(r.choices[0].message.content, 'Tool result: sunny');
  });

  it('rejects what OpenAI rejects', T, async () => {
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream_options: { include_usage: true } }), (e) => e.status === 400 && e.param === 'stream_options');
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], bogus: 1 }), (e) => e.status === 400 && /bogus/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'tool', tool_call_id: 'call_x', content: 'x' }] }), (e) => e.status === 400);
    const bad = new OpenAI({ baseURL: mock.baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e) => e.status === 401 && e.code === 'invalid_api_key');
  });

  it('serves faults by model name', T, async () => {
    const m = (model) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
    await assert.rejects(m('mock-error-429'), (e) => e.status === 429 && e.code === 'rate_limit_exceeded' && e.headers.get('retry-after') === '1');
    await assert.rejects(m('mock-error-500'), (e) => e.status === 500 && e.type === 'server_error');
    const html = await postJson(`${mock.baseURL}/chat/completions`, { model: 'mock-html-502', messages: [{ role: 'user', content: 'x' }] }, { apiKey: DEFAULT_API_KEY });
    assert.equal(html.status, 502);
    assert.match(html.headers.get('content-type'), /text\/html/);
    const hung = new AbortController();
    const hang = postJson(`${mock.baseURL}/chat/completions`, { model: 'mock-hang', messages: [{ role: 'user', content: 'x' }] }, { apiKey: DEFAULT_API_KEY, signal: hung.signal }).catch((e) => e);
    await waitFor(() => mock.requests.some((r) => r.body?.model === 'mock-hang'));
    hung.abort();
    assert.equal((await hang).name, 'AbortError');
  });

  it('counts a stream the peer closed early', T, async () => {
    mock.reset();
    const ac = new AbortController();
    const s = await client.chat.completions.create({ model: 'mock-slow-stream', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: ac.signal });
    let n = 0;
    try {
      for await (const c of s) {
        if (c.choices[0]?.delta?.content && ++n === 2) ac.abort();
      }
    } catch (e) {
      // The SDK ends the iteration quietly on abort in some versions and throws in others.
      assert.equal(e.name, 'APIUserAbortError');
    }
    assert.equal(n, 2);
    await waitFor(() => mock.stats.aborted_streams === 1 && mock.stats.active_streams === 0, { timeout: 1000 });
    const stats = await (await fetch(`${mock.url}/__mock/stats`)).json();
    assert.equal(stats.aborted_streams, 1);
  });

  it('writes fragmented streams that still decode (UTF-8 split across writes)', T, async () => {
    const text = 'héllo 👋🏽 wörld ✓';
    const s = client.chat.completions.stream({ model: 'mock-fragmented-stream', messages: [{ role: 'user', content: text }] });
    const final = await s.finalChatCompletion();
    assert.equal(final.choices[0].message.content, `Echo: ${text}`);
  });

  it('answers legacy completions, stream and not', T, async () => {
    const r = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'say this' });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, ' Echo: say this');
    assert.deepEqual(r.usage, { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 });
    const s = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'say this', stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage;
    for await (const c of s) {
      if (c.choices.length) text += c.choices[0].text;
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, ' Echo: say this');
    assert.equal(usage.total_tokens, 5);
  });

  it('answers embeddings as floats and as the base64 the SDK asks for by default', T, async () => {
    mock.reset();
    const f = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a b', 'c'], encoding_format: 'float' });
    assert.deepEqual(f.data.map((d) => d.embedding), [embeddingFor('a b'), embeddingFor('c')]);
    assert.deepEqual(f.usage, { prompt_tokens: 3, total_tokens: 3 });
    const b = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'a b', dimensions: 16 });
    assert.equal(mock.requests.at(-1).body.encoding_format, 'base64');
    assert.deepEqual(b.data[0].embedding, embeddingFor('a b', 16));
  });

  it('lists models', T, async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('gpt-4o'));
  });

  it('runs standalone and prints its port', T, async () => {
    const file = fileURLToPath(new URL('../mocks/openai-mock.mjs', import.meta.url));
    const child = spawn(process.execPath, [file, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const port = await waitFor(() => /mock listening on (\d+)/.exec(out)?.[1], { timeout: 5000 });
      const res = await fetch(`http://127.0.0.1:${port}/__mock/stats`);
      assert.equal(res.status, 200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('openai mock: /v1/responses with directives', () => {
  let mock;
  let client;
  before(async () => {
    mock = await startOpenAIMock({ directives: true });
    client = new OpenAI({ baseURL: mock.baseURL, apiKey: DEFAULT_API_KEY, maxRetries: 0, timeout: 10_000 });
  });
  after(() => mock.close());
  const tools = [{ type: 'function', name: 'get_weather', parameters: weatherTool.function.parameters }];

  it('streams a reasoning item then a function call in the events the SDK\'s stream helper accepts', T, async () => {
    const input = [{ role: 'user', content: '[[think:pondering]] [[tool:get_weather]] Paris' }];
    const s = client.responses.stream({ model: 'gpt-4o', input, tools, include: ['reasoning.encrypted_content'] });
    const events = [];
    for await (const ev of s) events.push(ev);
    const r = await s.finalResponse();
    assert.deepEqual(events.map((e) => e.type), [
      'response.created', 'response.in_progress',
      'response.output_item.added', 'response.reasoning_summary_part.added', 'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done', 'response.reasoning_summary_part.done',
      'response.output_item.done', 'response.output_item.added',
      ...events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.type),
      'response.function_call_arguments.done', 'response.output_item.done', 'response.completed',
    ]);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const args = events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta).join('');
    const [reasoning, call] = r.output;
    assert.equal(reasoning.summary[0].text, 'pondering');
    assert.match(reasoning.encrypted_content, /^gAAAAA/);
    assert.match(reasoning.id, /^rs_/);
    assert.equal(call.name, 'get_weather');
    assert.match(call.id, /^fc_/);
    assert.match(call.call_id, /^call_/);
    assert.equal(call.arguments, args);
    assert.equal(JSON.parse(args).unit, 'celsius');
    assert.equal(r.usage.output_tokens_details.reasoning_tokens, 1);
    assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
  });

  it('answers the tool result once, continues a stored response, and refuses what OpenAI refuses', T, async () => {
    const input = [{ role: 'user', content: '[[tool:get_weather {"city":"Rome"}]] weather' }];
    const first = await client.responses.create({ model: 'gpt-4o', input, tools });
    const call = first.output[0];
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Rome' });
    const second = await client.responses.create({ model: 'gpt-4o', tools, previous_response_id: first.id, input: [{ type: 'function_call_output', call_id: call.call_id, output: 'warm' }] });
    assert.equal(second.output_text, 'Tool result: warm', 'no second call once a tool result exists');
    const third = await client.responses.create({ model: 'gpt-4o', tools, previous_response_id: second.id, input: 'thanks' });
    assert.equal(third.output_text, 'Echo: thanks');
    const none = await client.responses.create({ model: 'gpt-4o', input, tools, tool_choice: 'none' });
    assert.equal(none.output[0].type, 'message');
    await assert.rejects(client.responses.create({ model: 'gpt-4o', input: 'x', previous_response_id: 'resp_nope' }), (e) => e.status === 400 && e.param === 'previous_response_id');
    await assert.rejects(client.responses.create({ model: 'gpt-4o', input: [{ type: 'function_call_output', call_id: 'call_x', output: 'y' }] }), (e) => e.status === 400 && /No tool call found/.test(e.message));
    await assert.rejects(client.responses.create({ model: 'gpt-4o', input: [{ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAAAforged.x' }, { role: 'user', content: 'hi' }] }), (e) => e.status === 400 && /could not be verified/.test(e.message));
  });
});
