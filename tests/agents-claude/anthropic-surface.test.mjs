// The Anthropic surface as current clients use it (issue 13, clauses 3-7), through the real
// gateway: the official @anthropic-ai/sdk (pinned here) streaming from an OpenAI-backed alias
// reads the input tokens in message_start; a Claude Code shaped body (output_config, thinking,
// context_management, cache_control, defer_loading, a server tool, role: "system" entries)
// reaches OpenAI with what has no equivalent dropped and named, or refused for a strict model;
// max_tokens clamped to the target's limit; pattern aliases; Anthropic's model list.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { startOpenAIMock } from '../mocks/openai-mock.mjs';
import { startGeminiMock } from '../mocks/gemini-mock.mjs';
import { KEYS, cleanupScope, makeTempDir, processConfig, startGateway, waitFor, writeConfig } from '../integration/harness.mjs';

const T = { timeout: 20_000 };

// What Claude Code 2.1 sends on its first turn (shape, trimmed).
function claudeCodeBody(model, extra = {}) {
  return {
    model,
    max_tokens: 32000,
    stream: false,
    thinking: { type: 'adaptive' },
    output_config: { effort: 'high' },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    metadata: { user_id: JSON.stringify({ device_id: 'd1', session_id: 's1' }) },
    system: [
      { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
    ],
    tools: [
      { name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } }, cache_control: { type: 'ephemeral' } },
      { name: 'NotebookEdit', description: 'Edit a notebook', input_schema: { type: 'object', properties: {} }, defer_loading: true },
      { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
    ],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'hello there', cache_control: { type: 'ephemeral' } }] },
      { role: 'system', content: 'Remember the gateway.' },
    ],
    ...extra,
  };
}

async function post(gw, pathName, body, headers = {}) {
  const res = await fetch(`${gw.proxyURL}${pathName}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEYS.all, 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: await res.json().catch(() => null) };
}

describe('Anthropic surface for current clients', () => {
  const scope = cleanupScope();
  let amock;
  let omock;
  let gmock;
  let gw;
  let client;

  before(async () => {
    amock = await startAnthropicMock({ directives: true });
    scope.after(() => amock.close());
    omock = await startOpenAIMock({ directives: true });
    scope.after(() => omock.close());
    gmock = await startGeminiMock({ directives: true });
    scope.after(() => gmock.close());
    const dir = await makeTempDir(scope);
    const resources = {
      providers: [
        { name: 'anthropic', kind: 'anthropic', base_url: amock.url, api_key: amock.apiKey },
        { name: 'openai', kind: 'openai', base_url: omock.baseURL, api_key: omock.apiKey },
        { name: 'google', kind: 'gemini', base_url: gmock.url, api_key: gmock.apiKey },
      ],
      models: [
        { name: 'claude-*', targets: [{ provider: 'openai', model: 'gpt-4o' }] },
        { name: 'claude-opus-*', targets: [{ provider: 'anthropic', model: 'claude-opus-4-1' }] },
        { name: 'claude-exact', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }] },
        { name: 'strict-gpt', strict_params: true, targets: [{ provider: 'openai', model: 'gpt-4o' }] },
        { name: 'small-gpt', max_output_tokens: 100, targets: [{ provider: 'openai', model: 'mock-any' }] },
        { name: 'reasoner', targets: [{ provider: 'openai', model: 'gpt-5' }] },
        { name: 'gem', targets: [{ provider: 'google', model: 'gemini-2.5-flash' }] },
      ],
      keys: [
        { name: 'all', key: KEYS.all },
        { name: 'limited', key: KEYS.limited, models: ['claude-opus-*'] },
      ],
    };
    const tollgate = processConfig({ extra: { log: { access_log: true } } });
    const { configPath } = await writeConfig(dir, { tollgate, resources });
    gw = await startGateway(scope, { configPath });
    client = new Anthropic({ baseURL: gw.proxyURL, apiKey: KEYS.all, maxRetries: 0, timeout: 15_000 });
  });
  after(() => scope.run());
  beforeEach(() => {
    amock.reset();
    omock.reset();
    gmock.reset();
  });

  it('SDK stream from an OpenAI-backed alias: message_start carries input tokens, message_delta the count', T, async () => {
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-5', max_tokens: 200,
      messages: [{ role: 'user', content: 'count my words please, all five' }],
    });
    let startInput = null;
    stream.on('streamEvent', (ev) => {
      if (ev.type === 'message_start') startInput = ev.message.usage.input_tokens;
    });
    const msg = await stream.finalMessage();
    assert.ok(startInput > 0, `message_start input_tokens: ${startInput}`);
    assert.equal(omock.requests.length, 1);
    // Reconciled: the final message carries the provider's own count (the mock counts words).
    assert.equal(msg.usage.input_tokens, 6);
    assert.match(msg.content[0].text, /^Echo: count my words/);
  });

  it('a Claude Code body reaches OpenAI: mapped where possible, the rest dropped and named', T, async () => {
    const r = await post(gw, '/v1/messages?beta=true', claudeCodeBody('claude-sonnet-4-5'), { 'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.type, 'message');
    const dropped = (r.headers.get('x-tollgate-dropped') ?? '').split(',');
    for (const name of ['cache_control', 'context_management', 'tools.defer_loading', 'tools.web_search_20250305', 'thinking'])
      assert.ok(dropped.includes(name), `${name} in ${dropped}`);
    const sent = omock.requests[0].body;
    assert.equal(sent.model, 'gpt-4o');
    assert.equal(sent.max_completion_tokens, 16384, 'clamped to gpt-4o output limit (catalog)');
    assert.ok(!('reasoning_effort' in sent), 'gpt-4o has no reasoning: dropped');
    assert.deepEqual(sent.tools.map((t) => t.function.name), ['Read', 'NotebookEdit']);
    assert.deepEqual(sent.messages.map((m) => m.role), ['system', 'user', 'system']);
    assert.equal(sent.messages[2].content, 'Remember the gateway.');
    // The access log (stdout) names them too.
    await waitFor(() => gw.output().stdout.includes('"dropped":["'), { message: 'access log line' });
    const line = gw.output().stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.dropped?.length);
    assert.ok(line.dropped.includes('context_management'), JSON.stringify(line));
    assert.equal(line.model, 'claude-sonnet-4-5', 'the name as sent');
    assert.equal(line.upstream_model, 'gpt-4o');
  });

  it('thinking and effort map to reasoning_effort on a reasoning model', T, async () => {
    const r = await post(gw, '/v1/messages', claudeCodeBody('reasoner', { output_config: { effort: 'max' } }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(omock.requests[0].body.reasoning_effort, 'high');
    assert.ok(!(r.headers.get('x-tollgate-dropped') ?? '').split(',').includes('thinking'));
  });

  it('output_config.format becomes a json_schema response_format', T, async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const r = await post(gw, '/v1/messages', { model: 'claude-x', max_tokens: 100, output_config: { format: { type: 'json_schema', schema } }, messages: [{ role: 'user', content: 'json please' }] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(omock.requests[0].body.response_format.json_schema.schema, schema);
    assert.deepEqual(Object.keys(JSON.parse(r.json.content[0].text)), ['answer']);
  });

  it('a strict model answers 400 naming the field instead of dropping it', T, async () => {
    const r = await post(gw, '/v1/messages', claudeCodeBody('strict-gpt'));
    assert.equal(r.status, 400);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'invalid_request_error');
    assert.match(r.json.error.message, /cache_control|context_management/);
    assert.equal(omock.requests.length, 0);
  });

  it('max_tokens above the model resource\'s max_output_tokens is clamped', T, async () => {
    const r = await post(gw, '/v1/messages', { model: 'small-gpt', max_tokens: 64000, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(omock.requests[0].body.max_completion_tokens, 100);
  });

  it('to Anthropic the body passes byte-exact, system entries and betas included; max_tokens over the limit is clamped', T, async () => {
    const body = claudeCodeBody('claude-exact', { max_tokens: 8000 });
    const raw = JSON.stringify(body);
    const res = await fetch(`${gw.proxyURL}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEYS.all, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-management-2025-06-27' },
      body: raw,
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(amock.requests[0].rawBody, raw.replace('"claude-exact"', '"claude-sonnet-4-5"'));
    assert.equal(amock.requests[0].headers['anthropic-beta'], 'context-management-2025-06-27');
    assert.equal(res.headers.get('x-tollgate-dropped'), null);

    amock.reset();
    const r = await post(gw, '/v1/messages', claudeCodeBody('claude-opus-5-5', { max_tokens: 128000, thinking: { type: 'enabled', budget_tokens: 40000 } }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(amock.requests[0].body.model, 'claude-opus-4-1', 'claude-opus-* is more specific than claude-*');
    assert.equal(amock.requests[0].body.max_tokens, 32000, 'clamped to claude-opus-4-1 output limit');
    assert.equal(amock.requests[0].body.thinking.budget_tokens, 31999);
  });

  it('a key allowlist applies to the pattern alias matched', T, async () => {
    const ok = await post(gw, '/v1/messages', { model: 'claude-opus-9', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEYS.limited });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    const no = await post(gw, '/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEYS.limited });
    assert.equal(no.status, 403, JSON.stringify(no.json));
    assert.equal(no.json.error.type, 'permission_error');
  });

  it('GET /v1/models answers in Anthropic\'s shape on the Anthropic surface', T, async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    assert.ok(ids.includes('claude-*') && ids.includes('reasoner'), ids.join());
    assert.equal(page.data[0].type, 'model');
    assert.match(page.data[0].created_at, /^\d{4}-\d\d-\d\dT/);
    const openai = await (await fetch(`${gw.proxyURL}/v1/models`, { headers: { authorization: `Bearer ${KEYS.all}` } })).json();
    assert.equal(openai.object, 'list');
  });

  it('an OpenAI caller\'s max_tokens above a Gemini model\'s output limit is clamped', T, async () => {
    const res = await fetch(`${gw.proxyURL}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.all}` },
      body: JSON.stringify({ model: 'gem', max_tokens: 100000, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200, await res.text());
    assert.equal(gmock.requests.at(-1).body.generationConfig.maxOutputTokens, 65536, 'gemini-2.5-flash limit (catalog)');
  });

  it('count_tokens: exact from Anthropic and Gemini, an estimate elsewhere', T, async () => {
    const msgs = [{ role: 'user', content: 'one two three four' }, { role: 'system', content: 'five' }];
    const a = await client.messages.countTokens({ model: 'claude-exact', messages: msgs });
    assert.ok(a.input_tokens > 0);
    assert.equal(amock.requests.length, 1, 'Anthropic counted');
    const o = await client.messages.countTokens({ model: 'claude-sonnet-4-5', messages: msgs });
    assert.ok(o.input_tokens > 0);
    assert.equal(omock.requests.length, 0, 'estimated without calling OpenAI');
    const g = await client.messages.countTokens({ model: 'gem', system: 'be brief', messages: msgs });
    assert.equal(g.input_tokens, 7, 'the Gemini mock counts words: be brief + one two three four + five');
    assert.equal(gmock.requests.at(-1).path, '/v1beta/models/gemini-2.5-flash:countTokens');
  });
});
