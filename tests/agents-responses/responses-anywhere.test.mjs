// The Responses API on every provider: the openai SDK, the real Codex CLI and the OpenAI
// Agents SDK against aliases backed by the Anthropic, Gemini, Bedrock and OpenAI mocks (OpenAI's
// is the same-dialect fast path). The mocks run in directive mode: they call a tool only when
// the prompt says [[tool:NAME]] (mocks/directives.mjs), so an agent cannot loop. The Anthropic
// mock checks the signature of every thinking block it is sent back, the Gemini mock (gemini-3
// models) the thought signature of every replayed call and the OpenAI mock the seal of every
// replayed reasoning item, so a reasoning replay that lost or altered them fails.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel, run, setTracingDisabled, tool } from '@openai/agents';
import { z } from 'zod';
import { KEYS, cleanupScope, makeTempDir, postJson, startGateway, writeConfig } from '../integration/harness.mjs';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { startGeminiMock } from '../mocks/gemini-mock.mjs';
import { REASONING_SIGNATURE, startBedrockMock } from '../mocks/bedrock-mock.mjs';
import { startOpenAIMock } from '../mocks/openai-mock.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CODEX = path.join(here, 'node_modules', '.bin', 'codex');
const T = { timeout: 30_000 };
const OTHER_KEY = 'tg-test-other-0123456789abcdef';

setTracingDisabled(true);

describe('Responses API on every provider', () => {
  const scope = cleanupScope();
  let gw, ant, gem, bed, oai, oai2, client;
  before(async () => {
    [ant, gem, bed, oai, oai2] = await Promise.all([
      startAnthropicMock({ directives: true }),
      startGeminiMock({ directives: true }),
      startBedrockMock({ directives: true }),
      startOpenAIMock({ directives: true }),
      startOpenAIMock({ directives: true }),  // another OpenAI account: it knows none of the first's responses
    ]);
    for (const m of [ant, gem, bed, oai, oai2]) scope.after(() => m.close());
    const dir = await makeTempDir(scope);
    const models = [
      { name: 'claude', targets: [{ provider: 'ant', model: 'claude-sonnet-4-5' }] },
      { name: 'gem', targets: [{ provider: 'gem', model: 'gemini-2.0-flash' }] },
      // Gemini 3: a replayed function call must carry its thought signature.
      { name: 'gem3', targets: [{ provider: 'gem', model: 'gemini-3-pro-preview' }] },
      { name: 'bed', targets: [{ provider: 'bed', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }] },
      { name: 'gpt', targets: [{ provider: 'oai', model: 'gpt-4o' }] },
      { name: 'gpt-b', targets: [{ provider: 'oai2', model: 'gpt-4o' }] },
      // Failover: the OpenAI target answers 503, the Anthropic one serves.
      { name: 'gpt-down', strategy: 'fallback', targets: [{ provider: 'oai', model: 'mock-error-503' }, { provider: 'ant', model: 'claude-sonnet-4-5' }], retry: { max_attempts: 3, backoff_ms: 10, max_backoff_ms: 50 } },
      // Output guardrails: an email restored in the answer (reversible redaction), and a block on
      // text only the answer holds ("Echo: " comes from the mock).
      { name: 'claude-rev', targets: [{ provider: 'ant', model: 'claude-sonnet-4-5' }], guardrails: ['pii-reversible'] },
      { name: 'gpt-rev', targets: [{ provider: 'oai', model: 'gpt-4o' }], guardrails: ['pii-reversible'] },
      { name: 'claude-deny', targets: [{ provider: 'ant', model: 'claude-sonnet-4-5' }], guardrails: ['echo-deny'] },
      { name: 'gpt-deny', targets: [{ provider: 'oai', model: 'gpt-4o' }], guardrails: ['echo-deny'] },
    ];
    const { configPath } = await writeConfig(dir, {
      resources: {
        providers: [
          { name: 'ant', kind: 'anthropic', base_url: ant.url, api_key: ant.apiKey },
          { name: 'gem', kind: 'gemini', base_url: gem.url, api_key: gem.apiKey },
          { name: 'bed', kind: 'bedrock', base_url: bed.url, api_key: bed.apiKey, api_version: bed.region },
          { name: 'oai', kind: 'openai', base_url: oai.baseURL, api_key: oai.apiKey },
          { name: 'oai2', kind: 'openai', base_url: oai2.baseURL, api_key: oai2.apiKey },
        ],
        models,
        guardrails: [
          { name: 'pii-reversible', kind: 'pii', mode: 'redact', reversible: true, entities: ['email'] },
          { name: 'echo-deny', kind: 'keywords', mode: 'block', keywords: ['Echo: classified'] },
        ],
        keys: [
          { name: 'all', key: KEYS.all, models: models.map((m) => m.name) },
          { name: 'other', key: OTHER_KEY, models: models.map((m) => m.name) },
        ],
      },
    });
    gw = await startGateway(scope, { configPath });
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 20_000 });
  });
  after(() => scope.run());

  describe('the openai SDK', () => {
    for (const alias of ['claude', 'gem', 'bed', 'gpt']) {
      it(`${alias}: a plain answer, then a streamed one (responses.stream) with events in order and usage`, T, async () => {
        const r = await client.responses.create({ model: alias, input: 'hello plain', instructions: 'Be brief.' });
        assert.equal(r.object, 'response');
        assert.equal(r.status, 'completed');
        assert.match(r.output_text, /hello plain/);
        assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0, JSON.stringify(r.usage));

        const stream = client.responses.stream({ model: alias, input: 'hello streamed' });
        const types = [];
        let text = '';
        for await (const ev of stream) {
          types.push(ev.type);
          if (ev.type === 'response.output_text.delta') text += ev.delta;
        }
        const final = await stream.finalResponse();
        assert.match(text, /hello streamed/);
        assert.equal(final.output_text, text);
        assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
        assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
        assert.ok(final.usage.output_tokens > 0);
      });
    }

    it('claude: a tool round trip with thinking replays the sealed reasoning (stateless, as Codex)', T, async () => {
      ant.reset();
      const tools = [{ type: 'function', name: 'get_weather', strict: true, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }];
      const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: '[[tool:get_weather]] weather in Paris' }] }];
      const stream = client.responses.stream({ model: 'claude', input, tools, reasoning: { effort: 'low', summary: 'auto' }, include: ['reasoning.encrypted_content'], store: false });
      const types = [];
      for await (const ev of stream) types.push(ev.type);
      const first = await stream.finalResponse();
      assert.ok(types.includes('response.reasoning_summary_text.delta'), types.join(' '));
      assert.ok(types.includes('response.function_call_arguments.delta'), types.join(' '));
      const [reasoning, call] = first.output;
      assert.equal(reasoning.type, 'reasoning');
      assert.match(reasoning.summary[0].text, /Thinking about/);
      assert.ok(reasoning.encrypted_content && !reasoning.encrypted_content.includes('Thinking'), 'sealed, not readable');
      assert.equal(call.type, 'function_call');
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.arguments), { city: '[[tool:get_weather]] weather in Paris' });

      const second = await client.responses.create({
        model: 'claude', tools, reasoning: { effort: 'low' }, store: false,
        input: [...input, ...first.output, { type: 'function_call_output', call_id: call.call_id, output: 'sunny' }],
      });
      assert.equal(second.output_text, 'Tool result: sunny');
      const sent = ant.requestsTo('/v1/messages').at(-1).body;
      const assistant = sent.messages.find((m) => m.role === 'assistant');
      assert.equal(assistant.content[0].type, 'thinking', 'the signed thinking block went back first');
      assert.equal(assistant.content[1].type, 'tool_use');
      // A tampered item is not opened: the thinking is left out rather than sent forged, and named.
      const forged = { ...reasoning, encrypted_content: reasoning.encrypted_content.slice(0, -8) + 'AAAAAAA=' };
      const { data: third, response } = await client.responses.create({
        model: 'claude', tools, store: false,
        input: [...input, forged, call, { type: 'function_call_output', call_id: call.call_id, output: 'rainy' }],
      }).withResponse();
      assert.equal(third.output_text, 'Tool result: rainy');
      assert.equal(response.headers.get('x-tollgate-dropped'), 'input[].reasoning.encrypted_content');
    });

    it('gem3: a tool round trip replays Gemini\'s call signature through the sealed reasoning item', T, async () => {
      const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
      const input = [{ role: 'user', content: '[[tool:get_weather]] Rome' }];
      const stream = client.responses.stream({ model: 'gem3', input, tools, store: false });
      for await (const ev of stream) void ev;
      const first = await stream.finalResponse();
      assert.deepEqual(first.output.map((i) => i.type), ['reasoning', 'function_call']);
      const call = first.output[1];
      const second = await client.responses.create({
        model: 'gem3', tools, store: false,
        input: [...input, ...first.output, { type: 'function_call_output', call_id: call.call_id, output: '{"t":21}' }],
      });
      assert.match(second.output_text, /Tool result/);
      // Without the reasoning item the call goes back unsigned, and Gemini 3 refuses it.
      await assert.rejects(client.responses.create({
        model: 'gem3', tools, store: false,
        input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: '{"t":21}' }],
      }), (e) => e.status === 400 && /thought_signature/.test(e.message));
    });

    it('gpt (fast path): a streamed tool round trip with reasoning; the replayed seal is checked upstream and a forged one is the upstream\'s 400', T, async () => {
      oai.reset();
      const tools = [{ type: 'function', name: 'get_weather', strict: true, parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } }];
      const input = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: '[[tool:get_weather {"city":"Oslo"}]] [[think:checking Oslo]] weather?' }] }];
      const stream = client.responses.stream({ model: 'gpt', input, tools, reasoning: { effort: 'low', summary: 'auto' }, include: ['reasoning.encrypted_content'], store: false });
      const events = [];
      for await (const ev of stream) events.push(ev);
      const first = await stream.finalResponse();
      const types = events.map((e) => e.type);
      assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i), 'sequence numbers pass through in order');
      assert.ok(types.includes('response.reasoning_summary_text.delta') && types.includes('response.function_call_arguments.done'), types.join(' '));
      assert.equal(types.at(-1), 'response.completed');
      const [reasoning, call] = first.output;
      assert.equal(reasoning.type, 'reasoning');
      assert.equal(reasoning.summary[0].text, 'checking Oslo');
      assert.ok(reasoning.encrypted_content);
      assert.equal(call.type, 'function_call');
      assert.match(call.id, /^fc_/);
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Oslo' });
      assert.equal(first.usage.output_tokens_details.reasoning_tokens, 2);

      const second = await client.responses.create({
        model: 'gpt', tools, store: false, include: ['reasoning.encrypted_content'],
        input: [...input, ...first.output, { type: 'function_call_output', call_id: call.call_id, output: 'snow' }],
      });
      assert.equal(second.output_text, 'Tool result: snow');
      const sent = oai.requestsTo('/v1/responses').at(-1).body;
      assert.equal(sent.input[1].encrypted_content, reasoning.encrypted_content, 'the reasoning went back untouched');
      const forged = { ...reasoning, encrypted_content: reasoning.encrypted_content.slice(0, -4) + 'AAAA' };
      await assert.rejects(client.responses.create({
        model: 'gpt', tools, store: false,
        input: [...input, forged, call, { type: 'function_call_output', call_id: call.call_id, output: 'snow' }],
      }), (e) => e.status === 400 && /could not be verified/.test(e.message));
    });

    it('store and previous_response_id: the chain moves across providers; GET, DELETE; a key sees only its own', T, async () => {
      const first = await client.responses.create({ model: 'claude', input: 'my name is Ada', metadata: { t: '1' } });
      const second = await client.responses.create({ model: 'gem', input: 'what is my name?', previous_response_id: first.id });
      assert.equal(second.previous_response_id, first.id);
      const gsent = gem.requests.at(-1).body;
      assert.match(JSON.stringify(gsent.contents), /my name is Ada.*Echo: my name is Ada.*what is my name/s);
      const third = await client.responses.create({ model: 'gpt', input: 'and now?', previous_response_id: second.id });
      assert.equal(third.status, 'completed');
      const osent = oai.requestsTo('/v1/chat/completions').at(-1).body;
      assert.equal(osent.messages.length, 5, JSON.stringify(osent.messages));

      const got = await client.responses.retrieve(first.id);
      assert.equal(got.id, first.id);
      assert.equal(got.output_text, first.output_text);
      assert.deepEqual(got.metadata, { t: '1' });
      const other = new OpenAI({ baseURL: gw.baseURL, apiKey: OTHER_KEY, maxRetries: 0 });
      await assert.rejects(other.responses.retrieve(first.id), (e) => e.status === 404);
      await assert.rejects(other.responses.create({ model: 'claude', input: 'x', previous_response_id: first.id }), (e) => e.status === 400 && /not found/.test(e.message));
      await client.responses.delete(first.id);
      await assert.rejects(client.responses.retrieve(first.id), (e) => e.status === 404);
      const unstored = await client.responses.create({ model: 'claude', input: 'forget me', store: false });
      await assert.rejects(client.responses.retrieve(unstored.id), (e) => e.status === 404);
    });

    it('responses.inputTokens.count: OpenAI, Anthropic and Gemini count; elsewhere a documented estimate, in OpenAI\'s shape', T, async () => {
      const input = [{ role: 'user', content: 'count these five words please' }];
      const counted = await client.responses.inputTokens.count({ model: 'gpt', input, instructions: 'Be brief.' });
      assert.deepEqual(counted, { object: 'response.input_tokens', input_tokens: 7 });
      const sent = oai.requestsTo('/v1/responses/input_tokens').at(-1).body;
      assert.equal(sent.model, 'gpt-4o', 'the alias was resolved');
      // Anthropic and Gemini count their own (the mocks count words, as OpenAI's does).
      for (const alias of ['claude', 'gem']) {
        const exact = await client.responses.inputTokens.count({ model: alias, input, instructions: 'Be brief.' });
        assert.deepEqual(exact, { object: 'response.input_tokens', input_tokens: 7 }, alias);
      }
      assert.match(JSON.stringify(ant.requestsTo('/v1/messages/count_tokens').at(-1).body), /count these five words please/);
      assert.match(gem.requests.at(-1).path, /:countTokens$/);
      const est = await client.responses.inputTokens.count({ model: 'bed', input, instructions: 'Be brief.' });
      // Bedrock: the estimate, (29 + 4 ("user") + 9 bytes of text + 3) / 4, + 4 for the one message
      assert.deepEqual(est, { object: 'response.input_tokens', input_tokens: 15 });
      await assert.rejects(client.responses.inputTokens.count({ model: 'nope', input }), (e) => e.status === 404 || e.status === 400);
    });

    it('steering with no equivalent is dropped and named; bad items are 400s in OpenAI\'s envelope', T, async () => {
      const res = await postJson(`${gw.baseURL}/responses`, {
        model: 'claude', input: 'hi', prompt_cache_key: 'k', client_metadata: { a: 'b' }, text: {},
        tools: [{ type: 'web_search' }, { type: 'namespace', name: 'ns', tools: [{ type: 'function', name: 'inner', parameters: { type: 'object', properties: {} } }] }],
      }, { apiKey: KEYS.all });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('x-tollgate-dropped'), 'tools[].web_search,prompt_cache_key');
      const sent = ant.requestsTo('/v1/messages').at(-1).body;
      assert.deepEqual(sent.tools.map((t) => t.name), ['ns__inner']);
      const bad = await postJson(`${gw.baseURL}/responses`, { model: 'claude', input: [{ type: 'function_call_output' }] }, { apiKey: KEYS.all });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error.param, 'input[0].call_id');
    });
  });

  describe('a chain moves across providers (store on, previous_response_id)', () => {
    const weather = tool({ name: 'get_weather', description: 'Weather of a city', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `sunny in ${city}` });
    const agentOn = (alias) => new Agent({ name: `on-${alias}`, instructions: 'Answer briefly.', model: new OpenAIResponsesModel(client, alias), tools: [weather] });
    const sentTo = (mock, path) => JSON.stringify(mock.requestsTo(path).at(-1).body);

    it('Agents SDK: OpenAI (fast path, upstream ids) -> Anthropic -> Gemini, each turn from the store', { timeout: 60_000 }, async () => {
      oai.reset();
      ant.reset();
      const r1 = await run(agentOn('gpt'), '[[tool:get_weather]] Paris');
      assert.match(r1.finalOutput, /^Tool result: sunny in/);
      assert.match(r1.lastResponseId, /^resp_/);
      assert.ok(!r1.lastResponseId.startsWith('resp_tg'), 'the upstream\'s own id came back untouched');
      assert.equal(oai.requestsTo('/v1/responses').length, 2, 'both turns went to OpenAI on the fast path');

      const r2 = await run(agentOn('claude'), 'and tomorrow?', { previousResponseId: r1.lastResponseId });
      assert.equal(r2.finalOutput, 'Echo: and tomorrow?');
      assert.match(sentTo(ant, '/v1/messages'), /\[\[tool:get_weather\]\] Paris.*sunny in.*Tool result: sunny in.*and tomorrow\?/s,
        'Anthropic got the whole chain, the fast path\'s turns included');

      const r3 = await run(agentOn('gem'), 'and next week?', { previousResponseId: r2.lastResponseId });
      assert.equal(r3.finalOutput, 'Echo: and next week?');
      assert.match(JSON.stringify(gem.requests.at(-1).body.contents), /Paris.*sunny in.*and tomorrow\?.*Echo: and tomorrow\?.*and next week\?/s);

      // Back on OpenAI with an upstream id: untouched, OpenAI continues its own chain.
      const r4 = await run(agentOn('gpt'), 'and in May?', { previousResponseId: r1.lastResponseId });
      assert.equal(r4.finalOutput, 'Echo: and in May?');
      const last = oai.requestsTo('/v1/responses').at(-1).body;
      assert.equal(last.previous_response_id, r1.lastResponseId);
      assert.deepEqual(last.input, [{ role: 'user', content: 'and in May?' }]);
    });

    it('Agents SDK: Anthropic -> OpenAI -> Bedrock', { timeout: 60_000 }, async () => {
      const r1 = await run(agentOn('claude'), '[[tool:get_weather]] Lima');
      assert.match(r1.finalOutput, /Tool result: sunny in/);
      const r2 = await run(agentOn('gpt'), 'and tomorrow?', { previousResponseId: r1.lastResponseId });
      assert.equal(r2.finalOutput, 'Echo: and tomorrow?');
      assert.match(sentTo(oai, '/v1/chat/completions'), /Lima.*sunny in.*and tomorrow\?/s, 'a gateway id is translated on OpenAI too');
      const r3 = await run(agentOn('bed'), 'and next week?', { previousResponseId: r2.lastResponseId });
      assert.equal(r3.finalOutput, 'Echo: and next week?');
      assert.match(JSON.stringify(bed.requests.at(-1).body.messages), /Lima.*sunny in.*and tomorrow\?.*and next week\?/s);
    });

    it('failover: the next turn of a fast-path chain moves to Anthropic when OpenAI fails', T, async () => {
      const stream = client.responses.stream({ model: 'gpt', input: 'my name is Ada' });
      for await (const ev of stream) void ev;
      const first = await stream.finalResponse();
      assert.ok(!first.id.startsWith('resp_tg'));
      const res = await postJson(`${gw.baseURL}/responses`, { model: 'gpt-down', input: 'what is my name?', previous_response_id: first.id }, { apiKey: KEYS.all });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json.previous_response_id, first.id);
      assert.equal(res.json.output[0].content[0].text, 'Echo: what is my name?');
      assert.equal(oai.requests.at(-1).status, 503, 'OpenAI was tried first');
      assert.match(sentTo(ant, '/v1/messages'), /my name is Ada.*Echo: my name is Ada.*what is my name\?/s);
    });

    it('another OpenAI account does not know the chain: the turn is translated from the store there', T, async () => {
      const first = await client.responses.create({ model: 'gpt', input: 'my name is Grace' });
      const second = await client.responses.create({ model: 'gpt-b', input: 'what is my name?', previous_response_id: first.id });
      assert.equal(second.output_text, 'Echo: what is my name?');
      assert.equal(second.previous_response_id, first.id);
      assert.equal(oai2.requestsTo('/v1/responses').at(-1).status, 400, 'the other account was asked first, untouched');
      assert.match(JSON.stringify(oai2.requestsTo('/v1/chat/completions').at(-1).body.messages), /my name is Grace.*Echo: my name is Grace.*what is my name\?/s);
      // A chain the store does not hold: the upstream's own 400.
      await assert.rejects(client.responses.create({ model: 'gpt-b', input: 'x', previous_response_id: 'resp_unknown0000' }),
        (e) => e.status === 400 && e.code === 'previous_response_not_found');
    });

    it('GET, input_items and DELETE answer for upstream ids, per key; store: false keeps nothing', T, async () => {
      const first = await client.responses.create({ model: 'gpt', input: 'remember Oslo', metadata: { k: 'v' } });
      const got = await client.responses.retrieve(first.id);
      assert.equal(got.id, first.id);
      assert.equal(got.output_text, 'Echo: remember Oslo');
      assert.deepEqual(got.metadata, { k: 'v' });
      const items = await client.responses.inputItems.list(first.id);
      assert.equal(items.data.length, 1);
      assert.match(JSON.stringify(items.data[0].content), /remember Oslo/);
      const other = new OpenAI({ baseURL: gw.baseURL, apiKey: OTHER_KEY, maxRetries: 0 });
      await assert.rejects(other.responses.retrieve(first.id), (e) => e.status === 404);
      await assert.rejects(other.responses.create({ model: 'claude', input: 'x', previous_response_id: first.id }), (e) => e.status === 400);
      await client.responses.delete(first.id);
      await assert.rejects(client.responses.retrieve(first.id), (e) => e.status === 404);
      await assert.rejects(client.responses.create({ model: 'claude', input: 'x', previous_response_id: first.id }), (e) => e.status === 400 && /not found/.test(e.message));

      const unstored = await client.responses.create({ model: 'gpt', input: 'forget me', store: false });
      await assert.rejects(client.responses.retrieve(unstored.id), (e) => e.status === 404);
    });
  });

  describe('output guardrails on Responses streams', () => {
    const EMAIL = 'jane.doe@example.com';
    for (const alias of ['claude-rev', 'gpt-rev']) {
      it(`${alias}: a redacted email is restored in the deltas, the done events and the stored response`, T, async () => {
        const stream = client.responses.stream({ model: alias, input: `mail ${EMAIL} now` });
        let deltas = '';
        const events = [];
        for await (const ev of stream) {
          events.push(ev);
          if (ev.type === 'response.output_text.delta') deltas += ev.delta;
        }
        const final = await stream.finalResponse();
        const want = `Echo: mail ${EMAIL} now`;
        assert.equal(deltas, want);
        assert.equal(events.find((e) => e.type === 'response.output_text.done').text, want);
        assert.equal(events.find((e) => e.type === 'response.output_item.done').item.content[0].text, want);
        assert.equal(final.output_text, want);
        assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i), 'renumbered in order');
        const upstream = alias === 'gpt-rev' ? oai.requestsTo('/v1/responses') : ant.requestsTo('/v1/messages');
        const sent = JSON.stringify(upstream.at(-1).body);
        assert.ok(!sent.includes(EMAIL) && sent.includes('[EMAIL_1]'), sent);
        assert.equal((await client.responses.retrieve(final.id)).output_text, want);
      });
    }

    for (const alias of ['claude-deny', 'gpt-deny']) {
      it(`${alias}: a deny rule stops the stream before the words go out; nothing is stored`, T, async () => {
        const stream = client.responses.stream({ model: alias, input: 'classified plan' });
        let deltas = '';
        let id = null;
        await assert.rejects((async () => {
          for await (const ev of stream) {
            if (ev.type === 'response.created') id = ev.response.id;
            if (ev.type === 'response.output_text.delta') deltas += ev.delta;
          }
        })(), (e) => /guardrail policy 'echo-deny'/.test(e.message));
        assert.ok(!/classified/i.test(deltas), deltas);
        assert.ok(id);
        await assert.rejects(client.responses.retrieve(id), (e) => e.status === 404);
        const whole = await postJson(`${gw.baseURL}/responses`, { model: alias, input: 'classified plan' }, { apiKey: KEYS.all });
        assert.equal(whole.status, 400, whole.text);
        assert.equal(whole.json.error.code, 'guardrail_blocked');
      });
    }
  });

  describe('the Codex CLI (wire_api = "responses")', () => {
    let home;
    before(async () => {
      home = await makeTempDir(scope, 'tollgate-codex-');
      await fs.writeFile(path.join(home, 'config.toml'), [
        'model = "claude"',
        'model_provider = "tollgate"',
        '[model_providers.tollgate]',
        'name = "Tollgate"',
        `base_url = "${gw.baseURL}"`,
        'env_key = "TOLLGATE_KEY"',
        'wire_api = "responses"',
        'request_max_retries = 0',
        'stream_max_retries = 0',
        '',
      ].join('\n'));
    });
    const codex = (prompt, model = 'claude') => new Promise((resolve) => {
      execFile(CODEX, ['exec', '--skip-git-repo-check', '--ephemeral', '-m', model, prompt], {
        cwd: home, timeout: 60_000,
        env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, TOLLGATE_KEY: KEYS.all, RUST_LOG: 'error' },
      }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout: String(stdout), stderr: String(stderr) })).stdin?.end();
    });

    it('a plain answer on an Anthropic-backed alias', { timeout: 90_000 }, async () => {
      const r = await codex('ping claude');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Echo:[\s\S]*ping claude/);
    });

    for (const alias of ['gem3', 'bed']) {
      it(`${alias}: a plain answer, then a tool round trip`, { timeout: 90_000 }, async () => {
        const plain = await codex(`ping ${alias}`, alias);
        assert.equal(plain.code, 0, plain.stderr);
        assert.match(plain.stdout, new RegExp(`Echo:[\\s\\S]*ping ${alias}`));
        const r = await codex('[[tool:get_goal]] what is the goal?', alias);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Tool result/);
      });
    }

    it('gpt (the OpenAI fast path): a plain answer, then a tool round trip whose second turn replays the encrypted reasoning', { timeout: 90_000 }, async () => {
      const plain = await codex('ping gpt', 'gpt');
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /Echo:[\s\S]*ping gpt/);
      oai.reset();
      const r = await codex('[[tool:get_goal]] [[think:weighing the goal]] what is the goal?', 'gpt');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Tool result:/);
      const sent = oai.requestsTo('/v1/responses').map((q) => q.body).filter((b) => JSON.stringify(b.input).includes('[[tool:get_goal]]'));
      assert.ok(sent.length >= 2, `Codex sent ${sent.length} turns`);
      assert.ok(sent.every((b) => b.model === 'gpt-4o'), 'the alias was resolved to the upstream model');
      const replay = sent.at(-1).input.filter((i) => ['reasoning', 'function_call', 'function_call_output'].includes(i.type));
      assert.deepEqual(replay.map((i) => i.type), ['reasoning', 'function_call', 'function_call_output']);
      assert.match(replay[0].encrypted_content, /^gAAAAA/, 'the mock verified this seal when it was replayed');
      assert.equal(replay[1].name, 'get_goal');
      assert.equal(replay[2].call_id, replay[1].call_id);
    });

    it('a tool round trip whose second turn replays the signed thinking', { timeout: 90_000 }, async () => {
      ant.reset();
      const r = await codex('[[tool:get_goal]] [[think:weighing the goal]] what is the goal?');
      assert.equal(r.code, 0, r.stderr);
      const sent = ant.requestsTo('/v1/messages').map((q) => q.body).filter((b) => JSON.stringify(b.messages).includes('[[tool:get_goal]]'));
      assert.ok(sent.length >= 2, `Codex sent ${sent.length} turns`);
      const replay = sent.at(-1).messages.find((m) => m.role === 'assistant');
      assert.deepEqual(replay.content.map((b) => b.type), ['thinking', 'tool_use']);
      assert.equal(replay.content[1].name, 'get_goal');
      assert.match(r.stdout, /Tool result:/);
    });

    it('bed: a tool round trip whose second turn replays the signed reasoning to Bedrock', { timeout: 90_000 }, async () => {
      const before = bed.requests.length;
      const r = await codex('[[tool:get_goal]] [[think:weighing the goal]] what is the goal?', 'bed');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Tool result:/);
      const sent = bed.requests.slice(before).map((q) => q.body).filter((b) => JSON.stringify(b?.messages ?? []).includes('[[tool:get_goal]]'));
      assert.ok(sent.length >= 2, `Codex sent ${sent.length} turns`);
      const replay = sent.at(-1).messages.find((m) => m.role === 'assistant');
      assert.deepEqual(replay.content.map((b) => Object.keys(b)[0]), ['reasoningContent', 'toolUse']);
      assert.equal(replay.content[0].reasoningContent.reasoningText.text, 'weighing the goal');
      assert.equal(replay.content[0].reasoningContent.reasoningText.signature, REASONING_SIGNATURE, 'the mock checked this signature');
    });
  });

  describe('the OpenAI Agents SDK', () => {
    const weather = tool({ name: 'get_weather', description: 'Weather of a city', parameters: z.object({ city: z.string() }), execute: async ({ city }) => `sunny in ${city}` });

    it('Responses model: a tool round trip, then a second turn by previousResponseId', { timeout: 60_000 }, async () => {
      const model = new OpenAIResponsesModel(client, 'claude');
      const agent = new Agent({ name: 'weather', instructions: 'Answer briefly.', model, tools: [weather] });
      const r1 = await run(agent, '[[tool:get_weather]] Paris');
      assert.match(r1.finalOutput, /Tool result: sunny in/);
      const r2 = await run(agent, 'and tomorrow?', { previousResponseId: r1.lastResponseId });
      assert.equal(r2.finalOutput, 'Echo: and tomorrow?');
      const sent = ant.requestsTo('/v1/messages').at(-1).body;
      assert.ok(JSON.stringify(sent.messages).includes('sunny in'), 'the chain came from the store');
    });

    it('Responses model on the OpenAI-backed alias (fast path): a tool round trip, then a second turn by previousResponseId', { timeout: 60_000 }, async () => {
      oai.reset();
      const agent = new Agent({ name: 'weather', instructions: 'Answer briefly.', model: new OpenAIResponsesModel(client, 'gpt'), tools: [weather] });
      const r1 = await run(agent, '[[tool:get_weather]] Paris');
      assert.match(r1.finalOutput, /^Tool result: sunny in/);
      const turns = oai.requestsTo('/v1/responses').map((q) => q.body);
      assert.equal(turns.length, 2);
      assert.deepEqual(turns[0].tools.map((t) => t.name), ['get_weather']);
      const r2 = await run(agent, 'and tomorrow?', { previousResponseId: r1.lastResponseId });
      assert.equal(r2.finalOutput, 'Echo: and tomorrow?');
      // The fast path passes the upstream's own response id through; the mock continues its stored chain.
      const last = oai.requests.at(-1);
      assert.equal(last.path, '/v1/responses');
      assert.equal(last.status, 200);
      assert.equal(last.body.previous_response_id, r1.lastResponseId);
      assert.deepEqual(last.body.input, [{ role: 'user', content: 'and tomorrow?' }]);
    });

    it('Responses model, streamed, on the Gemini-backed alias; Chat model on the Bedrock-backed one', { timeout: 60_000 }, async () => {
      const agent = new Agent({ name: 'g', model: new OpenAIResponsesModel(client, 'gem') });
      const s = await run(agent, 'stream me', { stream: true });
      let text = '';
      for await (const ev of s) if (ev.type === 'raw_model_stream_event' && ev.data.type === 'output_text_delta') text += ev.data.delta;
      await s.completed;
      assert.match(text, /stream me/);
      const chat = new Agent({ name: 'b', model: new OpenAIChatCompletionsModel(client, 'bed') });
      const r = await run(chat, 'via chat');
      assert.match(r.finalOutput, /via chat/);
    });
  });
});
