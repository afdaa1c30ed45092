// OpenAI callers on non-OpenAI providers: the official `openai` SDK through the real gateway to
// an Anthropic provider (translated both ways: tools, streams, usage, parameters) and to an
// Azure OpenAI provider (deployments URL, api-version, api-key; an inline Azure mock below).

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import { startAnthropicMock, toolUseIdFor } from '../mocks/anthropic-mock.mjs';
import { embeddingFor } from '../mocks/openai-mock.mjs';
import { KEYS, cleanupScope, envelopeProblems, postJson, sseData, startGatewayWith } from './harness.mjs';

const T = { timeout: 20_000 };

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const timeTool = {
  type: 'function',
  function: { name: 'get_time', description: 'Local time in a city', parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } },
};

/** The text of an Anthropic `system` or content value (string or text blocks). */
function blocksText(v) {
  if (typeof v === 'string') return v;
  return (v ?? []).filter((b) => b.type === 'text').map((b) => b.text).join('');
}

// =============================================================================================
// Anthropic provider.

describe('openai SDK -> gateway -> anthropic', () => {
  const scope = cleanupScope();
  let mock;
  let gw;
  let openai;
  before(async () => {
    mock = await startAnthropicMock();
    scope.after(() => mock.close());
    const resources = {
      providers: [{ name: 'anthropic', kind: 'anthropic', base_url: mock.url, api_key: mock.apiKey }],
      models: [
        { name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }] },
        { name: 'a-fragmented', targets: [{ provider: 'anthropic', model: 'mock-fragmented-stream' }] },
        { name: 'a-429', targets: [{ provider: 'anthropic', model: 'mock-error-429' }] },
        { name: 'a-529', targets: [{ provider: 'anthropic', model: 'mock-error-529' }] },
        { name: 'a-stream-error', targets: [{ provider: 'anthropic', model: 'mock-stream-error' }] },
      ],
      keys: [{ name: 'all', key: KEYS.all }],
    };
    gw = await startGatewayWith(scope, resources);
    openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 15_000 });
  });
  after(() => scope.run());
  beforeEach(() => mock.reset());

  const messagesRequests = () => mock.requestsTo('/v1/messages');

  it('non-stream: content, finish reason, usage; system becomes the top-level system; provider key upstream', T, async () => {
    const r = await openai.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello claude' }],
      max_tokens: 50,
      temperature: 0.2,
    });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /\S/);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].index, 0);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(r.choices[0].message.content, 'Echo: hello claude');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.prompt_tokens, 4);
    assert.equal(r.usage.completion_tokens, 3);
    assert.equal(r.usage.total_tokens, 7);
    assert.equal(r.model, 'claude-sonnet-4-5', 'the model that answered, as OpenAI reports it (and as the fast path does)');

    const [got] = messagesRequests();
    assert.equal(got.status, 200, `the mock rejected the translated request: ${got.rawBody}`);
    assert.equal(got.body.model, 'claude-sonnet-4-5');
    assert.equal(blocksText(got.body.system), 'Be brief.');
    assert.equal(got.body.messages.length, 1, 'the system message is not a message');
    assert.equal(got.body.messages[0].role, 'user');
    assert.equal(blocksText(got.body.messages[0].content), 'hello claude');
    assert.equal(got.body.max_tokens, 50);
    assert.equal(got.body.temperature, 0.2);
    assert.equal(got.headers['x-api-key'], mock.apiKey);
    assert.ok(got.headers['anthropic-version'], 'anthropic-version is sent');
    assert.ok(!JSON.stringify(got.headers).includes(KEYS.all), 'the virtual key must not reach the provider');
  });

  it('max_tokens: a default is sent when the caller sent none; max_completion_tokens maps; truncation is finish_reason length', T, async () => {
    await openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'no limit given' }] });
    const dflt = messagesRequests()[0].body.max_tokens;
    assert.ok(Number.isInteger(dflt) && dflt >= 1, `default max_tokens: ${dflt}`);

    await openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'limit given' }], max_completion_tokens: 60 });
    assert.equal(messagesRequests()[1].body.max_tokens, 60);

    const cut = await openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'one two three four' }], max_tokens: 2 });
    assert.equal(cut.choices[0].message.content, 'Echo: one');
    assert.equal(cut.choices[0].finish_reason, 'length');
    assert.equal(cut.usage.completion_tokens, 2);
  });

  it('stop sequences map to stop_sequences; the answer stops there with finish_reason stop', T, async () => {
    const r = await openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'alpha beta gamma' }], stop: ['gamma'] });
    assert.deepEqual(messagesRequests()[0].body.stop_sequences, ['gamma']);
    assert.equal(r.choices[0].message.content, 'Echo: alpha beta ');
    assert.equal(r.choices[0].finish_reason, 'stop');
  });

  it('multi-turn: assistant turns and several system messages keep their places', T, async () => {
    const r = await openai.chat.completions.create({
      model: 'claude',
      max_tokens: 50,
      messages: [
        { role: 'system', content: 'Rule one.' },
        { role: 'user', content: 'first turn' },
        { role: 'assistant', content: 'Echo: first turn' },
        { role: 'user', content: [{ type: 'text', text: 'second turn' }] },
      ],
    });
    assert.equal(r.choices[0].message.content, 'Echo: second turn');
    const got = messagesRequests()[0].body;
    assert.deepEqual(got.messages.map((m) => [m.role, blocksText(m.content)]), [['user', 'first turn'], ['assistant', 'Echo: first turn'], ['user', 'second turn']]);
    assert.equal(blocksText(got.system), 'Rule one.');
  });

  it('images: a data URL becomes a base64 source, an https URL a url source', T, async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const r = await openai.chat.completions.create({
      model: 'claude',
      max_tokens: 50,
      messages: [{
        role: 'user',
        content: [
          { type: 'text', text: 'what is this' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      }],
    });
    assert.equal(r.choices[0].message.content, 'Echo: what is this [images: 2]');
    const [got] = messagesRequests();
    assert.equal(got.status, 200, got.rawBody);
    const images = got.body.messages[0].content.filter((b) => b.type === 'image');
    assert.deepEqual(images.map((b) => b.source), [
      { type: 'base64', media_type: 'image/png', data: png },
      { type: 'url', url: 'https://example.com/cat.jpg' },
    ]);
  });

  it('stream: the SDK stream() helper accepts the translated chunks; finish reason and usage (include_usage)', T, async () => {
    const runner = openai.chat.completions.stream({
      model: 'claude',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'stream from claude' }],
      stream_options: { include_usage: true },
    });
    let deltas = '';
    runner.on('content', (d) => (deltas += d));
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: stream from claude');
    assert.equal(deltas, 'Echo: stream from claude');
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.equal(final.usage?.prompt_tokens, 5);
    assert.equal(final.usage?.completion_tokens, 4);
    assert.equal(final.usage?.total_tokens, 9);

    const [got] = messagesRequests();
    assert.equal(got.status, 200, got.rawBody);
    assert.equal(got.body.stream, true);
    assert.equal(got.body.stream_options, undefined, 'Anthropic rejects stream_options');
    assert.equal(blocksText(got.body.system), 'Be brief.');
    assert.ok(Number.isInteger(got.body.max_tokens) && got.body.max_tokens > 0);
  });

  it('stream on the wire: OpenAI chunk shapes, one id, usage only when asked, [DONE] last', T, async () => {
    const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'claude', stream: true, messages: [{ role: 'user', content: 'wire check' }] }, { apiKey: KEYS.all });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers.get('content-type'), /^text\/event-stream/);
    const data = sseData(res.text);
    assert.equal(data.at(-1), '[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    assert.ok(chunks.length >= 3, res.text);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, `one id across the stream: ${[...ids]}`);
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.ok(Number.isInteger(c.created));
      assert.equal(c.choices.length, 1, `every chunk has one choice: ${JSON.stringify(c)}`);
      assert.equal(c.choices[0].index, 0);
      assert.ok(!('usage' in c && c.usage), `usage reached a caller who did not ask: ${JSON.stringify(c)}`);
    }
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.equal(chunks.map((c) => c.choices[0].delta.content ?? '').join(''), 'Echo: wire check');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'stop');
    assert.equal(chunks.filter((c) => c.choices[0].finish_reason).length, 1);
  });

  it('unicode split across TCP writes arrives intact', T, async () => {
    const text = 'héllo wörld 👋🏽 日本語 👩‍👩‍👧';
    const stream = await openai.chat.completions.create({ model: 'a-fragmented', stream: true, messages: [{ role: 'user', content: text }], max_tokens: 100 });
    let got = '';
    let finish = null;
    for await (const c of stream) {
      got += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(got, `Echo: ${text}`);
    assert.equal(finish, 'stop');
  });

  it('tools round trip: tool definitions translated, tool_use -> tool_calls, tool result -> tool_result', T, async () => {
    const messages = [{ role: 'user', content: 'Paris' }];
    const first = await openai.chat.completions.create({ model: 'claude', messages, tools: [weatherTool], max_tokens: 200 });
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const calls = first.choices[0].message.tool_calls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].type, 'function');
    assert.equal(calls[0].id, toolUseIdFor('get_weather'));
    assert.equal(calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(calls[0].function.arguments), { city: 'Paris' });
    assert.equal(first.usage.completion_tokens, 2); // '{"city":"Paris"}' + 1, as the mock counts
    assert.equal(first.usage.prompt_tokens, 1);
    const sentTools = messagesRequests()[0].body.tools;
    assert.deepEqual(sentTools, [{ name: 'get_weather', description: 'Weather for a city', input_schema: weatherTool.function.parameters }]);

    messages.push(first.choices[0].message, { role: 'tool', tool_call_id: calls[0].id, content: '{"temp_c":21}' });
    const second = await openai.chat.completions.create({ model: 'claude', messages, tools: [weatherTool], max_tokens: 200 });
    assert.equal(messagesRequests()[1].status, 200, messagesRequests()[1].rawBody);
    assert.equal(second.choices[0].message.content, 'Tool result: {"temp_c":21}');
    assert.equal(second.choices[0].finish_reason, 'stop');
    const sent = messagesRequests()[1].body.messages;
    assert.equal(sent.length, 3);
    const use = sent[1].content.find((b) => b.type === 'tool_use');
    assert.deepEqual(use, { type: 'tool_use', id: calls[0].id, name: 'get_weather', input: { city: 'Paris' } });
    assert.equal(sent[2].role, 'user');
    const result = sent[2].content.find((b) => b.type === 'tool_result');
    assert.equal(result.tool_use_id, calls[0].id);
    assert.equal(blocksText(result.content), '{"temp_c":21}');
  });

  it('tool_choice maps: a named function -> {type: tool}, required -> any, none -> none', T, async () => {
    const r = await openai.chat.completions.create({
      model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'UTC' }], tools: [weatherTool, timeTool], tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    assert.equal(r.choices[0].message.tool_calls[0].function.name, 'get_time');
    assert.deepEqual(JSON.parse(r.choices[0].message.tool_calls[0].function.arguments), { tz: 'UTC' });
    assert.deepEqual(messagesRequests()[0].body.tool_choice, { type: 'tool', name: 'get_time' });

    await openai.chat.completions.create({ model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'x' }], tools: [weatherTool], tool_choice: 'required' });
    assert.equal(messagesRequests()[1].body.tool_choice?.type, 'any');

    const none = await openai.chat.completions.create({ model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'no tools now' }], tools: [weatherTool], tool_choice: 'none' });
    assert.equal(none.choices[0].message.content, 'Echo: no tools now');
    assert.equal(none.choices[0].finish_reason, 'stop');
  });

  it('streamed tool call: input_json_delta pieces become tool_calls argument deltas the helper assembles', T, async () => {
    const runner = openai.chat.completions.stream({
      model: 'claude', messages: [{ role: 'user', content: 'Rome' }], tools: [weatherTool], stream_options: { include_usage: true }, max_tokens: 200,
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    const call = final.choices[0].message.tool_calls[0];
    assert.equal(call.id, toolUseIdFor('get_weather'));
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Rome' });
    assert.equal(final.usage?.completion_tokens, 2);
    assert.equal(final.usage?.prompt_tokens, 1);

    // On the wire: the first delta of the call carries id/type/name, the rest only arguments.
    const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'claude', stream: true, messages: [{ role: 'user', content: 'Rome' }], tools: [weatherTool] }, { apiKey: KEYS.all });
    assert.equal(res.status, 200, res.text);
    const chunks = sseData(res.text).slice(0, -1).map((d) => JSON.parse(d));
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? []);
    assert.ok(deltas.length >= 3, `arguments arrive in pieces: ${JSON.stringify(deltas)}`);
    assert.equal(deltas[0].index, 0);
    assert.equal(deltas[0].id, toolUseIdFor('get_weather'));
    assert.equal(deltas[0].type, 'function');
    assert.equal(deltas[0].function.name, 'get_weather');
    for (const d of deltas.slice(1)) {
      assert.equal(d.index, 0);
      assert.equal(d.id, undefined, `only the first delta carries the id: ${JSON.stringify(d)}`);
      assert.equal(d.function?.name, undefined);
    }
    assert.equal(deltas.map((d) => d.function?.arguments ?? '').join(''), '{"city":"Rome"}');
    assert.equal(chunks.at(-1).choices[0].finish_reason, 'tool_calls');
  });

  it('a parameter Anthropic cannot honour (logprobs) is dropped and named in x-tollgate-dropped', T, async () => {
    const { data: r, response } = await openai.chat.completions
      .create({ model: 'claude', messages: [{ role: 'user', content: 'dropped' }], logprobs: true, top_logprobs: 2 })
      .withResponse();
    assert.equal(r.choices[0].message.content, 'Echo: dropped');
    assert.equal(response.headers.get('x-tollgate-dropped'), 'logprobs,top_logprobs');
    const [got] = messagesRequests();
    assert.equal(got.status, 200, got.rawBody);
    assert.ok(!('logprobs' in got.body) && !('top_logprobs' in got.body), got.rawBody);
  });

  it('n > 1 cannot be honoured by Anthropic: 400 naming n', T, async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'x' }], n: 2 }),
      (e) => e.status === 400 && e.error?.param === 'n',
    );
    assert.equal(messagesRequests().length, 0);
  });

  it('provider errors map to OpenAI errors: 429 rate limit, 529 overloaded', T, async () => {
    const rl = await postJson(`${gw.baseURL}/chat/completions`, { model: 'a-429', messages: [{ role: 'user', content: 'x' }] }, { apiKey: KEYS.all });
    assert.equal(rl.status, 429, rl.text);
    assert.deepEqual(envelopeProblems(rl.json), [], rl.text);
    await assert.rejects(
      openai.chat.completions.create({ model: 'a-429', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 429 && e.constructor.name === 'RateLimitError',
    );
    const ov = await postJson(`${gw.baseURL}/chat/completions`, { model: 'a-529', messages: [{ role: 'user', content: 'x' }] }, { apiKey: KEYS.all });
    assert.ok(ov.status === 503 || ov.status === 529, `overloaded maps to a retryable 5xx: ${ov.status} ${ov.text}`);
    assert.deepEqual(envelopeProblems(ov.json), [], ov.text);
  });

  it('an Anthropic `error` event mid-stream reaches the caller as an error the SDK raises, with no [DONE]', T, async () => {
    const s = await openai.chat.completions.create({ model: 'a-stream-error', stream: true, messages: [{ role: 'user', content: 'one two three four' }] });
    await assert.rejects(async () => {
      for await (const _ of s) {
        // drain
      }
    }, (e) => e instanceof OpenAI.APIError);

    // On the wire: a `data: {"error": {...}}` event in OpenAI's envelope, and the stream is not
    // passed off as complete.
    const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'a-stream-error', stream: true, messages: [{ role: 'user', content: 'one two three four' }] }, { apiKey: KEYS.all });
    assert.equal(res.status, 200, res.text);
    const data = sseData(res.text);
    assert.ok(!data.includes('[DONE]'), res.text);
    const last = JSON.parse(data.at(-1));
    assert.deepEqual(envelopeProblems(last), [], `the last event is an error: ${res.text}`);
  });
});

// =============================================================================================
// Azure OpenAI: a small faithful mock of the deployments API.

const AZURE_KEY = 'azure-mock-key-0123456789';
const FILTER_OK = {
  hate: { filtered: false, severity: 'safe' },
  self_harm: { filtered: false, severity: 'safe' },
  sexual: { filtered: false, severity: 'safe' },
  violence: { filtered: false, severity: 'safe' },
};
const azWords = (s) => s.split(/\s+/).filter(Boolean).length;
const azText = (c) => (typeof c === 'string' ? c : Array.isArray(c) ? c.filter((p) => p.type === 'text').map((p) => p.text).join(' ') : '');

async function startAzureMock() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://azure');
      const raw = Buffer.concat(chunks).toString('utf8');
      const record = { method: req.method, path: url.pathname, apiVersion: url.searchParams.get('api-version'), headers: { ...req.headers }, body: null, status: 0 };
      try {
        record.body = raw ? JSON.parse(raw) : null;
      } catch {
        // answered below
      }
      requests.push(record);
      const send = (status, obj, headers = {}) => {
        record.status = status;
        const body = JSON.stringify(obj);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'apim-request-id': 'req-1', ...headers });
        res.end(body);
      };
      // As Azure: an unknown path, or no api-version, is "Resource not found".
      const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(url.pathname);
      if (!m || !record.apiVersion) return send(404, { error: { code: '404', message: 'Resource not found' } });
      if (req.headers['api-key'] !== AZURE_KEY) {
        return send(401, { error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.' } });
      }
      if (!record.body) return send(400, { error: { code: 'BadRequest', message: 'The request body is not valid JSON.' } });
      const [, deployment, op] = m;
      if (deployment === 'mock-error-429') {
        return send(
          429,
          { error: { code: '429', message: `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${record.apiVersion} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.` } },
          { 'retry-after': '1', 'x-ratelimit-remaining-requests': '0' },
        );
      }
      if (deployment === 'mock-content-filter') {
        return send(400, {
          error: {
            message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            type: null, param: 'prompt', code: 'content_filter', status: 400,
            innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: { ...FILTER_OK, violence: { filtered: true, severity: 'high' } } },
          },
        });
      }
      if (op === 'embeddings') {
        const inputs = Array.isArray(record.body.input) ? record.body.input : [record.body.input];
        const dims = record.body.dimensions ?? 8;
        const data = inputs.map((text, index) => {
          const v = embeddingFor(String(text), dims);
          const embedding = record.body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
          return { object: 'embedding', index, embedding };
        });
        const n = inputs.reduce((a, t) => a + azWords(String(t)), 0);
        return send(200, { object: 'list', data, model: 'text-embedding-3-small', usage: { prompt_tokens: n, total_tokens: n } });
      }
      // chat/completions
      const msgs = record.body.messages ?? [];
      const lastUser = [...msgs].reverse().find((x) => x.role === 'user');
      const text = `Echo: ${azText(lastUser?.content)}`;
      const promptTokens = msgs.reduce((a, x) => a + azWords(azText(x.content)), 0);
      const completionTokens = azWords(text);
      const usage = {
        completion_tokens: completionTokens, prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens,
        completion_tokens_details: { accepted_prediction_tokens: 0, audio_tokens: 0, reasoning_tokens: 0, rejected_prediction_tokens: 0 },
        prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 },
      };
      const id = 'chatcmpl-AzMock0123456789';
      const created = Math.floor(Date.now() / 1000);
      const model = 'gpt-4o-2024-11-20';
      const promptFilter = [{ prompt_index: 0, content_filter_results: { ...FILTER_OK, jailbreak: { filtered: false, detected: false } } }];
      if (record.body.stream !== true) {
        return send(200, {
          choices: [{ content_filter_results: FILTER_OK, finish_reason: 'stop', index: 0, logprobs: null, message: { content: text, refusal: null, role: 'assistant' } }],
          created, id, model, object: 'chat.completion', prompt_filter_results: promptFilter, system_fingerprint: 'fp_azmock', usage,
        });
      }
      record.status = 200;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'apim-request-id': 'req-1' });
      const frame = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      const wantUsage = record.body.stream_options?.include_usage === true;
      const base = { created, id, model, object: 'chat.completion.chunk', system_fingerprint: 'fp_azmock', ...(wantUsage ? { usage: null } : {}) };
      // Azure's first chunk: no choices, empty id/model/object, the prompt filter results.
      frame({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilter });
      frame({ ...base, choices: [{ content_filter_results: {}, delta: { content: '', refusal: null, role: 'assistant' }, finish_reason: null, index: 0, logprobs: null }] });
      for (const piece of text.match(/\s*\S+/g)) {
        frame({ ...base, choices: [{ content_filter_results: FILTER_OK, delta: { content: piece }, finish_reason: null, index: 0, logprobs: null }] });
      }
      frame({ ...base, choices: [{ content_filter_results: {}, delta: {}, finish_reason: 'stop', index: 0, logprobs: null }] });
      if (wantUsage) frame({ ...base, choices: [], usage });
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reset: () => (requests.length = 0),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

describe('openai SDK -> gateway -> azure openai', () => {
  const scope = cleanupScope();
  let mock;
  let gw;
  let openai;
  before(async () => {
    mock = await startAzureMock();
    scope.after(() => mock.close());
    const resources = {
      providers: [
        { name: 'azure', kind: 'azure', base_url: mock.url, api_key: AZURE_KEY, api_version: '2024-10-21' },
        { name: 'azure-noversion', kind: 'azure', base_url: mock.url, api_key: AZURE_KEY },
      ],
      models: [
        { name: 'az', targets: [{ provider: 'azure', model: 'gpt4o-deploy' }] },
        { name: 'az-default', targets: [{ provider: 'azure-noversion', model: 'gpt4o-deploy' }] },
        { name: 'az-embed', targets: [{ provider: 'azure', model: 'embed-deploy' }] },
        { name: 'az-429', targets: [{ provider: 'azure', model: 'mock-error-429' }] },
        { name: 'az-filter', targets: [{ provider: 'azure', model: 'mock-content-filter' }] },
      ],
      keys: [{ name: 'all', key: KEYS.all }],
    };
    gw = await startGatewayWith(scope, resources);
    openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 15_000 });
  });
  after(() => scope.run());
  beforeEach(() => mock.reset());

  it('the mock is faithful: no api-version is a 404, a wrong api-key a 401', T, async () => {
    const body = { messages: [{ role: 'user', content: 'x' }] };
    const noVersion = await postJson(`${mock.url}/openai/deployments/gpt4o-deploy/chat/completions`, body, { headers: { 'api-key': AZURE_KEY } });
    assert.equal(noVersion.status, 404);
    const badKey = await postJson(`${mock.url}/openai/deployments/gpt4o-deploy/chat/completions?api-version=2024-10-21`, body, { headers: { 'api-key': 'nope' } });
    assert.equal(badKey.status, 401);
  });

  it('non-stream: the deployments URL with api-version and api-key; content, finish reason, usage', T, async () => {
    const r = await openai.chat.completions.create({ model: 'az', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello azure' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.content, 'Echo: hello azure');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage.prompt_tokens, 4);
    assert.equal(r.usage.completion_tokens, 3);
    assert.equal(r.usage.total_tokens, 7);

    const [got] = mock.requests;
    assert.equal(got.path, '/openai/deployments/gpt4o-deploy/chat/completions');
    assert.equal(got.apiVersion, '2024-10-21');
    assert.equal(got.headers['api-key'], AZURE_KEY);
    assert.equal(got.status, 200);
    assert.ok(!JSON.stringify(got.headers).includes(KEYS.all), 'the virtual key must not reach Azure');
    assert.equal(got.headers.authorization, undefined);
  });

  it('stream: Azure\'s empty-choices first chunk and content_filter_results pass the SDK stream() helper', T, async () => {
    const runner = openai.chat.completions.stream({ model: 'az', messages: [{ role: 'user', content: 'stream from azure' }], stream_options: { include_usage: true } });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: stream from azure');
    assert.equal(final.choices[0].finish_reason, 'stop');
    assert.equal(final.usage?.prompt_tokens, 3);
    assert.equal(final.usage?.completion_tokens, 4);
    assert.equal(mock.requests[0].apiVersion, '2024-10-21');
    assert.equal(mock.requests[0].body.stream, true);

    // Without include_usage, through the SDK's plain iterator too.
    const s = await openai.chat.completions.create({ model: 'az', stream: true, messages: [{ role: 'user', content: 'again azure' }] });
    let text = '';
    let finish = null;
    for await (const c of s) {
      assert.ok(!c.usage, `usage reached a caller who did not ask: ${JSON.stringify(c)}`);
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, 'Echo: again azure');
    assert.equal(finish, 'stop');
  });

  it('embeddings go to the deployment\'s embeddings path; base64 (the SDK default) and floats decode alike', T, async () => {
    const r = await openai.embeddings.create({ model: 'az-embed', input: ['alpha', 'beta gamma'], dimensions: 8 });
    assert.equal(r.data.length, 2);
    assert.deepEqual(r.data[0].embedding, embeddingFor('alpha', 8));
    assert.deepEqual(r.data[1].embedding, embeddingFor('beta gamma', 8));
    assert.equal(r.usage.prompt_tokens, 3);
    const f = await openai.embeddings.create({ model: 'az-embed', input: 'alpha', dimensions: 8, encoding_format: 'float' });
    assert.deepEqual(f.data[0].embedding, embeddingFor('alpha', 8));
    for (const got of mock.requests) {
      assert.equal(got.path, '/openai/deployments/embed-deploy/embeddings');
      assert.equal(got.apiVersion, '2024-10-21');
      assert.equal(got.headers['api-key'], AZURE_KEY);
      assert.equal(got.status, 200);
    }
  });

  it('a provider with no api_version configured still sends one: a request without it never reaches Azure', T, async () => {
    const r = await openai.chat.completions.create({ model: 'az-default', messages: [{ role: 'user', content: 'default version' }] });
    assert.equal(r.choices[0].message.content, 'Echo: default version');
    const s = await openai.chat.completions.stream({ model: 'az-default', messages: [{ role: 'user', content: 'default stream' }] }).finalChatCompletion();
    assert.equal(s.choices[0].message.content, 'Echo: default stream');
    assert.equal(mock.requests.length, 2);
    for (const got of mock.requests) {
      assert.match(got.apiVersion ?? '', /^\d{4}-\d{2}-\d{2}(-preview)?$/, `api-version sent: ${got.apiVersion}`);
      assert.equal(got.status, 200);
    }
  });

  it('an upstream 429 (code as a string) is a 429 in the OpenAI envelope', T, async () => {
    const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'az-429', messages: [{ role: 'user', content: 'x' }] }, { apiKey: KEYS.all });
    assert.equal(res.status, 429, res.text);
    assert.deepEqual(envelopeProblems(res.json), [], res.text);
    assert.match(res.json.error.message, /exceeded token rate limit/);
    assert.ok(res.json.error.code === null || typeof res.json.error.code === 'string', res.text);
    await assert.rejects(
      openai.chat.completions.create({ model: 'az-429', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 429 && e.constructor.name === 'RateLimitError' && /rate limit/.test(e.message),
    );
    await assert.rejects(
      openai.chat.completions.create({ model: 'az-429', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 429,
    );
  });

  it('a content filter refusal is a 400 with code content_filter', T, async () => {
    const res = await postJson(`${gw.baseURL}/chat/completions`, { model: 'az-filter', messages: [{ role: 'user', content: 'x' }] }, { apiKey: KEYS.all });
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(envelopeProblems(res.json), [], res.text);
    assert.equal(res.json.error.code, 'content_filter');
  });
});
