// Anthropic prompt caching done for the caller (a model's prompt_caching: auto): with no
// cache_control of the caller's, the gateway places breakpoints after the system prompt and the
// tools, as the Anthropic mock (and the Bedrock mock, as cachePoint blocks) receives them, on
// the fast path and translated; a caller's own marks are left alone; the provider's cache
// writes and reads reach the access log, the metrics and the cost at their own prices.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { startBedrockMock } from '../mocks/bedrock-mock.mjs';
import { cleanupScope, makeTempDir, postJson, processConfig, startGateway, waitFor, writeConfig } from './harness.mjs';

const T = { timeout: 30_000 };
const KEY = 'tg-prompt-cache-0123456789abcdef';
let n = 0;
const fresh = (what) => `${what} ${process.pid} ${Date.now()} ${++n}`;
const EPHEMERAL = { type: 'ephemeral' };
const tools = [
  { name: 'lookup', description: 'Looks a word up', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
  { name: 'weather', description: 'The weather of a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
];
const PRICE = { input: 3, output: 15, cached_input: 0.3, cache_creation: 3.75 };

function accessLines(gw) {
  return gw.output().stdout.split('\n').filter((l) => l.startsWith('{"ts"')).map((l) => JSON.parse(l));
}

describe('prompt caching done for the caller', () => {
  const scope = cleanupScope();
  let amock;
  let bmock;
  let gw;
  before(async () => {
    amock = await startAnthropicMock();
    scope.after(() => amock.close());
    bmock = await startBedrockMock({ region: 'us-east-1' });
    scope.after(() => bmock.close());
    const dir = await makeTempDir(scope);
    const resources = {
      providers: [
        { name: 'anthropic', kind: 'anthropic', base_url: amock.url, api_key: amock.apiKey },
        { name: 'aws', kind: 'bedrock', base_url: bmock.url, api_key: bmock.apiKey, api_version: bmock.region },
      ],
      models: [
        { name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }], prompt_caching: 'auto', pricing: PRICE },
        { name: 'claude-asis', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }] },
        { name: 'claude-br', targets: [{ provider: 'aws', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }], prompt_caching: 'auto' },
      ],
      keys: [{ name: 'k', key: KEY }],
    };
    const { configPath } = await writeConfig(dir, { resources, tollgate: processConfig() });
    gw = await startGateway(scope, { configPath });
  });
  after(() => scope.run());
  beforeEach(() => {
    amock.reset();
    bmock.reset();
  });
  const messages = (body) => postJson(`${gw.proxyURL}/v1/messages`, { max_tokens: 50, ...body }, { apiKey: KEY });
  const received = () => amock.requests.at(-1).body;

  it('Anthropic callers (fast path): breakpoints after the system prompt and the tools; cache writes then reads, priced', T, async () => {
    const system = fresh('You are a careful assistant who answers in one short sentence, session');
    const body = { model: 'claude', system, tools, messages: [{ role: 'user', content: 'hello there' }], tool_choice: { type: 'none' } };
    const first = await messages(body);
    assert.equal(first.status, 200, first.text);
    const sent = received();
    assert.deepEqual(sent.system, [{ type: 'text', text: system, cache_control: EPHEMERAL }]);
    assert.deepEqual(sent.tools[1].cache_control, EPHEMERAL);
    assert.equal(sent.tools[0].cache_control, undefined);
    assert.equal(sent.model, 'claude-sonnet-4-5');
    assert.ok(first.json.usage.cache_creation_input_tokens > 0, JSON.stringify(first.json.usage));
    const second = await messages(body);
    assert.ok(second.json.usage.cache_read_input_tokens > 0, JSON.stringify(second.json.usage));
    assert.equal(second.json.usage.cache_read_input_tokens, first.json.usage.cache_creation_input_tokens);

    // The record says both, and the cost prices them apart.
    const lineOf = (r) => waitFor(() => accessLines(gw).find((l) => l.request_id === r.headers.get('x-request-id')), { message: 'access-log line' });
    const [l1, l2] = [await lineOf(first), await lineOf(second)];
    const u1 = first.json.usage;
    assert.equal(l1.cache_creation_tokens, u1.cache_creation_input_tokens);
    assert.equal(l1.input_tokens, u1.input_tokens + u1.cache_creation_input_tokens);
    const cost1 = (u1.input_tokens * PRICE.input + u1.cache_creation_input_tokens * PRICE.cache_creation + u1.output_tokens * PRICE.output) / 1e6;
    assert.ok(Math.abs(l1.cost_usd - cost1) < 1e-9, `${l1.cost_usd} vs ${cost1}`);
    const u2 = second.json.usage;
    assert.equal(l2.cached_tokens, u2.cache_read_input_tokens);
    const cost2 = (u2.input_tokens * PRICE.input + u2.cache_read_input_tokens * PRICE.cached_input + u2.output_tokens * PRICE.output) / 1e6;
    assert.ok(Math.abs(l2.cost_usd - cost2) < 1e-9, `${l2.cost_usd} vs ${cost2}`);
    const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
    assert.match(metrics, /tollgate_tokens_total\{model="claude",provider="anthropic",type="cache_creation"\} [1-9]/);
    assert.match(metrics, /tollgate_tokens_total\{model="claude",provider="anthropic",type="cached_input"\} [1-9]/);
  });

  it('a caller\'s own cache_control is left as it is; a model without prompt_caching sends the body as it came', T, async () => {
    const own = {
      model: 'claude',
      system: [{ type: 'text', text: fresh('Own marks') }, { type: 'text', text: 'second block' }],
      tools,
      tool_choice: { type: 'none' },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: EPHEMERAL }] }],
    };
    await messages(own);
    const sent = received();
    assert.deepEqual(sent.system, own.system);
    assert.deepEqual(sent.tools, tools);
    const system = fresh('Plain');
    await messages({ model: 'claude-asis', system, tools, tool_choice: { type: 'none' }, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(received().system, system);
    assert.deepEqual(received().tools, tools);
  });

  it('OpenAI callers (translated): the Anthropic request carries the breakpoints', T, async () => {
    const system = fresh('Translate with care');
    const fn = (name) => ({ type: 'function', function: { name, description: name, parameters: { type: 'object', properties: {} } } });
    const r = await postJson(`${gw.proxyURL}/v1/chat/completions`, {
      model: 'claude', max_tokens: 50, tool_choice: 'none',
      messages: [{ role: 'system', content: system }, { role: 'user', content: 'hello translated' }],
      tools: [fn('one'), fn('two')],
    }, { apiKey: KEY });
    assert.equal(r.status, 200, r.text);
    const sent = received();
    assert.deepEqual(sent.system, [{ type: 'text', text: system, cache_control: EPHEMERAL }]);
    assert.deepEqual(sent.tools.map((t) => t.cache_control), [undefined, EPHEMERAL]);
    assert.ok(r.json.usage.prompt_tokens > 0);
  });

  it('Bedrock Claude: cachePoint blocks after the system prompt and the tools', T, async () => {
    const fn = (name) => ({ type: 'function', function: { name, description: name, parameters: { type: 'object', properties: {} } } });
    const r = await postJson(`${gw.proxyURL}/v1/chat/completions`, {
      model: 'claude-br', max_tokens: 50,
      messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'hello bedrock' }],
      tools: [fn('one'), fn('two')],
    }, { apiKey: KEY });
    assert.equal(r.status, 200, r.text);
    const sent = bmock.requests.at(-1).body;
    assert.deepEqual(sent.system, [{ text: 'Be brief' }, { cachePoint: { type: 'default' } }]);
    const list = sent.toolConfig.tools;
    assert.equal(list.length, 3, JSON.stringify(list));
    assert.deepEqual(list[2], { cachePoint: { type: 'default' } });
    assert.equal(list[1].toolSpec.name, 'two');
  });
});
