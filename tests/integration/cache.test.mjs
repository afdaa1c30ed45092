// The response cache end to end, against the mock providers: a repeated request is answered
// without reaching the provider (the mock's request count), in every dialect (Chat, Messages,
// Responses, Gemini), whole and streamed, whichever dialect and shape stored it; bypass and refresh; TTL expiry; two keys
// never share under scope key; cut streams are never stored; output guardrails judge every
// hit; the access log, usage rows and metrics show the hit and what it saved.

import { spawn } from 'node:child_process';
import net from 'node:net';
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { startGeminiMock } from '../mocks/gemini-mock.mjs';
import { cleanupScope, closedPort, makeTempDir, postJson, processConfig, sleep, startGateway, startMock, waitFor, writeConfig } from './harness.mjs';

const T = { timeout: 20_000 };
const KEY_A = 'tg-cache-a-0123456789abcdef';
const KEY_B = 'tg-cache-b-0123456789abcdef';
const KEY_GUARDED = 'tg-cache-guarded-0123456789abcdef';
const KEY_RPM = 'tg-cache-rpm-0123456789abcdef';
const KEY_T1 = 'tg-cache-t1-0123456789abcdef';
const KEY_T2 = 'tg-cache-t2-0123456789abcdef';
const KEY_T3 = 'tg-cache-t3-0123456789abcdef';
const ADMIN_KEY = 'adm-cache-records';
let n = 0;
const fresh = (what = 'question') => `${what} ${process.pid}-${Date.now()}-${++n}`;

function accessLines(gw) {
  return gw.output().stdout.split('\n').filter((l) => l.startsWith('{"ts"')).map((l) => JSON.parse(l));
}

describe('response cache', () => {
  const scope = cleanupScope();
  let omock;
  let amock;
  let gw;
  let gmock;
  let oa; // OpenAI SDK, key a
  let an; // Anthropic SDK, key a
  before(async () => {
    omock = await startMock(scope);
    amock = await startAnthropicMock();
    scope.after(() => amock.close());
    gmock = await startGeminiMock();
    scope.after(() => gmock.close());
    const dir = await makeTempDir(scope);
    const resources = {
      providers: [
        { name: 'openai', kind: 'openai', base_url: omock.baseURL, api_key: omock.apiKey },
        { name: 'anthropic', kind: 'anthropic', base_url: amock.url, api_key: amock.apiKey },
        { name: 'gemini', kind: 'gemini', base_url: gmock.url, api_key: gmock.apiKey },
      ],
      cache_policies: [
        { name: 'exact', mode: 'exact', ttl_s: 600 },
        { name: 'brief', mode: 'exact', ttl_s: 1 },
        { name: 'shared', mode: 'exact', ttl_s: 600, scope: 'global' },
        { name: 'team-wide', mode: 'exact', ttl_s: 600, scope: 'team' },
      ],
      teams: [{ name: 'research', cache: 'team-wide' }],
      guardrails: [{ name: 'no-images', kind: 'keywords', mode: 'block', keywords: ['images: 1'] }],
      models: [
        { name: 'gpt', targets: [{ provider: 'openai', model: 'gpt-4o' }], cache: 'exact', pricing: { input: 2, output: 8 } },
        { name: 'claude', targets: [{ provider: 'anthropic', model: 'claude-sonnet-4-5' }], cache: 'exact' },
        { name: 'brief', targets: [{ provider: 'openai', model: 'gpt-4o' }], cache: 'brief' },
        { name: 'shared', targets: [{ provider: 'openai', model: 'gpt-4o' }], cache: 'shared' },
        { name: 'cut', targets: [{ provider: 'openai', model: 'mock-stream-cut' }], cache: 'exact' },
        { name: 'plain', targets: [{ provider: 'openai', model: 'gpt-4o' }] },
        { name: 'gem', targets: [{ provider: 'gemini', model: 'gemini-2.0-flash' }], cache: 'exact' },
        // An upstream model the pricing catalog does not know, and no pricing of its own.
        { name: 'unpriced', targets: [{ provider: 'openai', model: 'acme-unpriced-1' }], cache: 'exact' },
      ],
      keys: [
        { name: 'a', key: KEY_A },
        { name: 'b', key: KEY_B },
        { name: 'guarded', key: KEY_GUARDED, guardrails: ['no-images'] },
        { name: 'rpm', key: KEY_RPM, limits: { rpm: 3 } },
        { name: 't1', key: KEY_T1, team: 'research' },
        { name: 't2', key: KEY_T2, team: 'research' },
        { name: 't3', key: KEY_T3, team: 'research', cache: 'exact' },
      ],
    };
    const { configPath } = await writeConfig(dir, { resources, tollgate: processConfig({ store: { kind: 'file', path: 'resources.yaml' }, extra: { admin: { key: ADMIN_KEY } } }) });
    gw = await startGateway(scope, { configPath });
    oa = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY_A, maxRetries: 0 });
    an = new Anthropic({ baseURL: gw.proxyURL, apiKey: KEY_A, maxRetries: 0 });
  });
  after(() => scope.run());
  beforeEach(() => {
    omock.reset();
    amock.reset();
    gmock.reset();
  });

  const chat = (model, content, extra = {}) => ({ model, messages: [{ role: 'user', content }], max_tokens: 50, temperature: 0, ...extra });
  const post = (body, headers = {}, apiKey = KEY_A) => postJson(`${gw.baseURL}/chat/completions`, body, { apiKey, headers });

  it('OpenAI: the second identical request is a hit the provider never sees', T, async () => {
    const q = fresh();
    const first = await post(chat('gpt', q));
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
    const second = await post(chat('gpt', q, { user: 'someone-else', metadata: { run: '2' } }));
    assert.equal(second.status, 200, second.text);
    assert.equal(second.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(omock.requests.length, 1);
    assert.equal(second.json.choices[0].message.content, `Echo: ${q}`);
    assert.deepEqual(second.json.usage, first.json.usage);
    // A model without a policy says nothing of the cache.
    const plain = await post(chat('plain', q));
    assert.equal(plain.headers.get('x-tollgate-cache'), null);
  });

  it('a stored whole answer replays as a stream (usage when asked), and a stored stream answers whole', T, async () => {
    const q = fresh();
    await oa.chat.completions.create(chat('gpt', q));
    const stream = await oa.chat.completions.create({ ...chat('gpt', q), stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = null;
    let finish = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, `Echo: ${q}`);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.completion_tokens > 0, JSON.stringify(usage));
    assert.equal(omock.requests.length, 1);
    // Without include_usage, no usage chunk.
    const raw = await post({ ...chat('gpt', q), stream: true });
    assert.equal(raw.headers.get('x-tollgate-cache'), 'hit');
    assert.ok(raw.text.trimEnd().endsWith('data: [DONE]'), raw.text);
    assert.ok(!raw.text.includes('"usage"'), raw.text);

    const q2 = fresh();
    const s2 = await oa.chat.completions.create({ ...chat('gpt', q2), stream: true });
    for await (const _ of s2) { /* drain */ }
    const whole = await post(chat('gpt', q2));
    assert.equal(whole.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(whole.json.choices[0].message.content, `Echo: ${q2}`);
    assert.equal(whole.json.choices[0].finish_reason, 'stop');
    assert.ok(whole.json.usage.prompt_tokens > 0);
    assert.equal(omock.requests.length, 2);
  });

  it('across dialects: an answer stored for an OpenAI caller serves an Anthropic caller, and back', T, async () => {
    const q = fresh();
    await oa.chat.completions.create(chat('gpt', q));
    const msg = await an.messages.create({ model: 'gpt', max_tokens: 50, temperature: 0, messages: [{ role: 'user', content: q }] });
    assert.equal(msg.content[0].text, `Echo: ${q}`);
    assert.equal(msg.stop_reason, 'end_turn');
    assert.ok(msg.usage.output_tokens > 0);
    assert.equal(omock.requests.length, 1);
    // Streamed to the Anthropic SDK.
    const events = [];
    const s = await an.messages.create({ model: 'gpt', max_tokens: 50, temperature: 0, messages: [{ role: 'user', content: q }], stream: true });
    let text = '';
    for await (const e of s) {
      events.push(e.type);
      if (e.type === 'content_block_delta') text += e.delta.text;
    }
    assert.equal(text, `Echo: ${q}`);
    assert.deepEqual([events[0], events.at(-1)], ['message_start', 'message_stop']);
    assert.equal(omock.requests.length, 1);

    // Stored by an Anthropic caller (the Anthropic fast path, streamed), hit by an OpenAI caller.
    const q2 = fresh();
    const s2 = await an.messages.create({ model: 'claude', max_tokens: 50, temperature: 0, messages: [{ role: 'user', content: q2 }], stream: true });
    let t2 = '';
    for await (const e of s2) if (e.type === 'content_block_delta') t2 += e.delta.text;
    assert.equal(amock.requests.length, 1);
    const r = await post(chat('claude', q2));
    assert.equal(r.headers.get('x-tollgate-cache'), 'hit', r.text);
    assert.equal(r.json.choices[0].message.content, t2);
    const again = await an.messages.create({ model: 'claude', max_tokens: 50, temperature: 0, messages: [{ role: 'user', content: q2 }] });
    assert.equal(again.content[0].text, t2);
    assert.equal(amock.requests.length, 1);
  });

  it('Responses callers: whole and streamed, through the fast path, and across dialects both ways', T, async () => {
    const q = fresh();
    const resp = (extra = {}) => postJson(`${gw.baseURL}/responses`, { model: 'gpt', input: q, max_output_tokens: 50, temperature: 0, ...extra }, { apiKey: KEY_A });
    const first = await resp();
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
    const again = await resp();
    assert.equal(again.headers.get('x-tollgate-cache'), 'hit', again.text);
    assert.equal(again.json.object, 'response');
    assert.equal(again.json.status, 'completed');
    assert.equal(again.json.output_text ?? again.json.output.find((o) => o.type === 'message').content[0].text, `Echo: ${q}`);
    assert.equal(again.json.usage.output_tokens, first.json.usage.output_tokens);
    // The hit is a response of its own: stored, and continued by previous_response_id.
    const stored = await fetch(`${gw.baseURL}/responses/${again.json.id}`, { headers: { authorization: `Bearer ${KEY_A}` } });
    assert.equal(stored.status, 200);
    const streamed = await resp({ stream: true });
    assert.equal(streamed.headers.get('x-tollgate-cache'), 'hit');
    assert.match(streamed.text, /response\.completed/);
    assert.ok(streamed.text.includes(`Echo: ${q}`), streamed.text);
    const viaChat = await post(chat('gpt', q));
    assert.equal(viaChat.headers.get('x-tollgate-cache'), 'hit', viaChat.text);
    assert.equal(viaChat.json.choices[0].message.content, `Echo: ${q}`);
    assert.equal(omock.requests.length, 1);

    // Stored by a chat caller, streamed, answered to a Responses caller.
    const q2 = fresh();
    const s = await oa.chat.completions.create({ ...chat('gpt', q2), stream: true });
    for await (const _ of s) { /* drain */ }
    const r2 = await postJson(`${gw.baseURL}/responses`, { model: 'gpt', input: q2, max_output_tokens: 50, temperature: 0 }, { apiKey: KEY_A });
    assert.equal(r2.headers.get('x-tollgate-cache'), 'hit', r2.text);
    assert.equal(r2.json.output.find((o) => o.type === 'message').content[0].text, `Echo: ${q2}`);
    // A request continuing a stored response is never cached.
    const cont = await postJson(`${gw.baseURL}/responses`, { model: 'gpt', input: q2, previous_response_id: r2.json.id }, { apiKey: KEY_A });
    assert.equal(cont.headers.get('x-tollgate-cache'), 'bypass', cont.text);
    assert.equal(omock.requests.length, 3);
  });

  it('Gemini callers: whole, SSE and array streams, through the fast path and translated, across dialects', T, async () => {
    const gem = (model, text, method = 'generateContent', query = '') =>
      postJson(`${gw.proxyURL}/v1beta/models/${model}:${method}${query}`,
        { contents: [{ role: 'user', parts: [{ text }] }], generationConfig: { maxOutputTokens: 50, temperature: 0 } },
        { headers: { 'x-goog-api-key': KEY_A } });
    const textOf = (r) => r.candidates[0].content.parts.map((p) => p.text ?? '').join('');
    // Translated (an OpenAI target): stored whole, hit whole, as SSE and as one JSON array.
    const q = fresh();
    const first = await gem('gpt', q);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
    const hit = await gem('gpt', q);
    assert.equal(hit.headers.get('x-tollgate-cache'), 'hit', hit.text);
    assert.equal(textOf(hit.json), `Echo: ${q}`);
    const sse = await gem('gpt', q, 'streamGenerateContent', '?alt=sse');
    assert.equal(sse.headers.get('x-tollgate-cache'), 'hit');
    assert.ok(sse.text.includes(`Echo: ${q}`), sse.text);
    const array = await gem('gpt', q, 'streamGenerateContent');
    assert.equal(array.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(JSON.parse(array.text).map(textOf).join(''), `Echo: ${q}`);
    const viaChat = await post(chat('gpt', q));
    assert.equal(viaChat.headers.get('x-tollgate-cache'), 'hit', viaChat.text);
    assert.equal(omock.requests.length, 1);

    // The Gemini fast path, streamed as a JSON array: stored, then served to Chat and Gemini callers.
    const q2 = fresh();
    const streamed = await gem('gem', q2, 'streamGenerateContent');
    assert.equal(streamed.status, 200, streamed.text);
    const said = JSON.parse(streamed.text).map(textOf).join('');
    assert.ok(said.length > 0);
    const c2 = await post(chat('gem', q2));
    assert.equal(c2.headers.get('x-tollgate-cache'), 'hit', c2.text);
    assert.equal(c2.json.choices[0].message.content, said);
    const g2 = await gem('gem', q2);
    assert.equal(g2.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(textOf(g2.json), said);
    // Stored by a chat caller, answered to Gemini.
    const q3 = fresh();
    await post(chat('gem', q3));
    const g3 = await gem('gem', q3, 'streamGenerateContent', '?alt=sse');
    assert.equal(g3.headers.get('x-tollgate-cache'), 'hit', g3.text);
    assert.equal(gmock.requests.length, 2);
  });

  it('Cache-Control: no-cache and x-tollgate-cache: bypass skip the cache; refresh stores a fresh answer', T, async () => {
    const q = fresh();
    await post(chat('gpt', q));
    for (const h of [{ 'cache-control': 'no-cache' }, { 'cache-control': 'no-store' }, { 'x-tollgate-cache': 'bypass' }]) {
      const r = await post(chat('gpt', q), h);
      assert.equal(r.headers.get('x-tollgate-cache'), 'bypass');
    }
    assert.equal(omock.requests.length, 4);
    const refreshed = await post(chat('gpt', q), { 'x-tollgate-cache': 'refresh' });
    assert.equal(refreshed.headers.get('x-tollgate-cache'), 'miss');
    assert.equal(omock.requests.length, 5);
    const hit = await post(chat('gpt', q));
    assert.equal(hit.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(hit.json.id, refreshed.json.id);
    assert.equal(omock.requests.length, 5);
  });

  it('an entry expires after its policy\'s ttl_s', T, async () => {
    const q = fresh();
    await post(chat('brief', q));
    assert.equal((await post(chat('brief', q))).headers.get('x-tollgate-cache'), 'hit');
    await sleep(1200);
    assert.equal((await post(chat('brief', q))).headers.get('x-tollgate-cache'), 'miss');
    assert.equal(omock.requests.length, 2);
  });

  it('scope key: two keys never share an answer; scope global does', T, async () => {
    const q = fresh();
    await post(chat('gpt', q), {}, KEY_A);
    const b = await post(chat('gpt', q), {}, KEY_B);
    assert.equal(b.headers.get('x-tollgate-cache'), 'miss');
    assert.equal(omock.requests.length, 2);
    await post(chat('shared', q), {}, KEY_A);
    const shared = await post(chat('shared', q), {}, KEY_B);
    assert.equal(shared.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(omock.requests.length, 3);
  });

  it('a hit counts against the key\'s request limit', T, async () => {
    const q = fresh();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(chat('gpt', q), {}, KEY_RPM)).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.equal(omock.requests.length, 1);
  });

  it('a cut stream is never stored', T, async () => {
    const q = fresh();
    for (let i = 0; i < 2; i++) {
      const r = await post({ ...chat('cut', q), stream: true });
      assert.equal(r.headers.get('x-tollgate-cache'), 'miss');
    }
    assert.equal(omock.requests.length, 2);
  });

  it('output guardrails judge a hit as they judge a fresh answer', T, async () => {
    // The mock adds " [images: 1]" to its answer: the request's text does not hold the keyword.
    const body = {
      model: 'shared', max_tokens: 50, temperature: 0,
      messages: [{ role: 'user', content: [{ type: 'text', text: fresh('describe') }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }],
    };
    const stored = await post(body, {}, KEY_A);
    assert.match(stored.json.choices[0].message.content, /images: 1/);
    const blocked = await post(body, {}, KEY_GUARDED);
    assert.equal(blocked.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(blocked.status, 400, blocked.text);
    assert.equal(blocked.json.error.code, 'guardrail_blocked');
    const streamed = await post({ ...body, stream: true }, {}, KEY_GUARDED);
    assert.match(streamed.text, /guardrail_blocked/);
    assert.ok(!streamed.text.includes('images: 1'), streamed.text);
    assert.equal(omock.requests.length, 1);
  });

  it('the access log, usage and metrics show hits and what they saved; a hit spends nothing', T, async () => {
    const q = fresh();
    const first = await post(chat('gpt', q));
    const hit = await post(chat('gpt', q));
    const id = hit.headers.get('x-request-id');
    const line = await waitFor(() => accessLines(gw).find((l) => l.request_id === id), { message: 'the hit\'s access-log line' });
    assert.equal(line.cache.status, 'hit');
    assert.equal(line.cache.saved_input_tokens, first.json.usage.prompt_tokens);
    assert.equal(line.cache.saved_output_tokens, first.json.usage.completion_tokens);
    const price = (first.json.usage.prompt_tokens * 2 + first.json.usage.completion_tokens * 8) / 1e6;
    assert.ok(Math.abs(line.cache.saved_usd - price) < 1e-9, JSON.stringify(line));
    assert.equal(line.input_tokens, 0);
    assert.equal(line.output_tokens, 0);
    assert.equal(line.cost_usd, 0);
    const missLine = accessLines(gw).find((l) => l.request_id === first.headers.get('x-request-id'));
    assert.equal(missLine.cache.status, 'miss');
    const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
    assert.match(metrics, /tollgate_cache_hits_total\{model="gpt",key="a",team=""\} [1-9]/);
    assert.match(metrics, /tollgate_cache_misses_total\{model="gpt",key="a",team=""\} [1-9]/);
    const saved = Number(/tollgate_cache_saved_usd_total\{model="gpt",key="a",team=""\} ([0-9.]+)/.exec(metrics)?.[1]);
    assert.ok(saved >= price, metrics);
    assert.match(metrics, /tollgate_cache_unpriced_hits_total\{model="gpt",key="a",team=""\} 0\n/);
    // The usage record (the request log) says the same.
    const record = await waitFor(async () => {
      const r = await fetch(`${gw.adminURL}/admin/v1/requests/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return r.status === 200 ? r.json() : null;
    }, { message: 'the hit\'s usage record' });
    assert.equal(record.cache.status, 'hit');
    assert.ok(Math.abs(record.cache.saved_usd - price) < 1e-9, JSON.stringify(record));
    assert.equal(record.cost_usd, 0);
  });

  it('saved_usd is null, not 0, when the model\'s price is unknown: in the access log, the usage record and metrics', T, async () => {
    const q = fresh('unpriced');
    const first = await post(chat('unpriced', q));
    assert.equal(first.status, 200, first.text);
    const hit = await post(chat('unpriced', q));
    assert.equal(hit.headers.get('x-tollgate-cache'), 'hit', hit.text);
    assert.equal(omock.requests.length, 1);
    const id = hit.headers.get('x-request-id');
    const line = await waitFor(() => accessLines(gw).find((l) => l.request_id === id), { message: 'the hit\'s access-log line' });
    assert.equal(line.cache.saved_usd, null, JSON.stringify(line));
    assert.equal(line.cache.saved_input_tokens, first.json.usage.prompt_tokens);
    assert.equal(line.cost_usd, 0, 'nothing was spent, whatever the price');
    const record = await waitFor(async () => {
      const r = await fetch(`${gw.adminURL}/admin/v1/requests/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return r.status === 200 ? r.json() : null;
    }, { message: 'the hit\'s usage record' });
    assert.equal(record.cache.status, 'hit');
    assert.ok('saved_usd' in record.cache && record.cache.saved_usd === null, JSON.stringify(record));
    assert.equal(record.cost_usd, 0);
    const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
    assert.match(metrics, /tollgate_cache_hits_total\{model="unpriced",key="a",team=""\} 1\n/);
    assert.match(metrics, /tollgate_cache_unpriced_hits_total\{model="unpriced",key="a",team=""\} 1\n/);
    assert.doesNotMatch(metrics, /tollgate_cache_saved_usd_total\{model="unpriced"/, 'no saved USD series rather than a 0');
  });

  it('a team\'s policy covers its keys: the key\'s own wins over it, and it wins over the model\'s', T, async () => {
    // `plain` names no policy: the team's (scope team) applies, so teammates share answers.
    const q = fresh('team');
    const t1 = await post(chat('plain', q), {}, KEY_T1);
    assert.equal(t1.headers.get('x-tollgate-cache'), 'miss');
    const t2 = await post(chat('plain', q), {}, KEY_T2);
    assert.equal(t2.headers.get('x-tollgate-cache'), 'hit', t2.text);
    assert.equal(t2.json.choices[0].message.content, `Echo: ${q}`);
    assert.equal(omock.requests.length, 1);
    // t3 names its own policy (scope key): it is not served the team's entry.
    assert.equal((await post(chat('plain', q), {}, KEY_T3)).headers.get('x-tollgate-cache'), 'miss');
    assert.equal(omock.requests.length, 2);
    // A key outside the team gets no cache on `plain`.
    assert.equal((await post(chat('plain', q), {}, KEY_A)).headers.get('x-tollgate-cache'), null);
    // `gpt` names `exact` (scope key), but the team's policy wins: teammates share there too,
    // while a key outside the team, under the model's policy, does not see their entry.
    const q2 = fresh('team');
    assert.equal((await post(chat('gpt', q2), {}, KEY_T1)).headers.get('x-tollgate-cache'), 'miss');
    assert.equal((await post(chat('gpt', q2), {}, KEY_T2)).headers.get('x-tollgate-cache'), 'hit');
    assert.equal((await post(chat('gpt', q2), {}, KEY_A)).headers.get('x-tollgate-cache'), 'miss');
    assert.equal(omock.requests.length, 5);
    const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
    assert.match(metrics, /tollgate_cache_hits_total\{model="plain",key="t2",team="research"\} 1\n/);
    assert.match(metrics, /tollgate_cache_misses_total\{model="plain",key="t1",team="research"\} 1\n/);
  });
});

// A real redis-server on loopback, stopped by its PID after the test (as limits.test.mjs does).
async function startRedis(t) {
  const port = await closedPort();
  const dir = await makeTempDir(t, 'tollgate-redis-');
  const proc = spawn(process.env.REDIS_SERVER_BIN || '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  t.after(stop);
  const ping = () => new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => { sock.destroy(); resolve(String(d).startsWith('+PONG')); });
    sock.on('error', () => resolve(false));
  });
  await waitFor(ping, { timeout: 5000, interval: 30, message: 'redis-server to answer PING' });
  return { url: `redis://127.0.0.1:${port}`, stop };
}

describe('response cache shared through a real redis-server', () => {
  it('an answer one gateway stored is a hit on another; Redis down is a miss, not an error', { timeout: 30_000 }, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const resources = {
      providers: [{ name: 'openai', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
      cache_policies: [{ name: 'fleet', backend: 'redis', ttl_s: 60 }],
      models: [{ name: 'gpt', targets: [{ provider: 'openai', model: 'gpt-4o' }], cache: 'fleet' }],
      keys: [{ name: 'a', key: KEY_A }],
    };
    const gws = [];
    for (let i = 0; i < 2; i++) {
      const dir = await makeTempDir(t);
      const tollgate = processConfig({ extra: { limits: { backend: 'local', url: redis.url, timeout_ms: 200 } } });
      const { configPath } = await writeConfig(dir, { tollgate, resources });
      gws.push(await startGateway(t, { configPath }));
    }
    const body = { model: 'gpt', messages: [{ role: 'user', content: fresh('fleet') }], temperature: 0 };
    const first = await postJson(`${gws[0].baseURL}/chat/completions`, body, { apiKey: KEY_A });
    assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
    const other = await postJson(`${gws[1].baseURL}/chat/completions`, body, { apiKey: KEY_A });
    assert.equal(other.headers.get('x-tollgate-cache'), 'hit', other.text);
    assert.equal(other.json.choices[0].message.content, first.json.choices[0].message.content);
    const streamed = await postJson(`${gws[1].baseURL}/chat/completions`, { ...body, stream: true }, { apiKey: KEY_A });
    assert.equal(streamed.headers.get('x-tollgate-cache'), 'hit');
    assert.ok(streamed.text.includes(first.json.choices[0].message.content));
    assert.equal(mock.requests.length, 1);

    await redis.stop();
    const down = await postJson(`${gws[1].baseURL}/chat/completions`, body, { apiKey: KEY_A });
    assert.equal(down.status, 200);
    assert.equal(down.headers.get('x-tollgate-cache'), 'miss');
    assert.equal(mock.requests.length, 2);
  });
});

// cache_policies are a resource kind like any other: created, read and deleted through the
// Admin API's generic routes on the SQLite store, with the resources file's validation; the
// `cache` of models, keys and teams is a reference to one.
describe('cache policies through the Admin API (sqlite store)', () => {
  const ADMIN = 'adm-cache-key';
  const api = async (gw, method, path, body) => {
    const res = await fetch(`${gw.adminURL}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* the caller asserts on text */ }
    return { status: res.status, json, text };
  };
  const fieldError = (r, field, re) => {
    assert.equal(r.status, 400, r.text);
    const e = r.json.error.errors.find((x) => x.field === field);
    assert.ok(e, `no error for ${field}: ${r.text}`);
    if (re) assert.match(e.message, re);
  };

  it('create, validate, attach, serve, refuse to delete while used, delete', { timeout: 30_000 }, async (t) => {
    const mock = await startMock(t);
    const dir = await makeTempDir(t);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './db.sqlite' }, extra: { admin: { key: ADMIN } } }),
    });
    const gw = await startGateway(t, { configPath, env: { CACHE_TEST_BASE_URL: mock.baseURL, CACHE_TEST_KEY: mock.apiKey } });
    const schema = await api(gw, 'GET', '/schema');
    const kind = schema.json.kinds.find((k) => k.name === 'cache_policies');
    assert.ok(kind, 'cache_policies in /admin/v1/schema');
    assert.equal(schema.json.kinds.find((k) => k.name === 'models').write.properties.cache['x-reference'], 'cache_policies');

    assert.equal((await api(gw, 'POST', '/providers', { name: 'mockp', kind: 'openai', base_url: '${CACHE_TEST_BASE_URL}', api_key: '${CACHE_TEST_KEY}' })).status, 201);
    assert.equal((await api(gw, 'POST', '/models', { name: 'embed', targets: [{ provider: 'mockp', model: 'text-embedding-3-small' }] })).status, 201);
    fieldError(await api(gw, 'POST', '/cache_policies', { name: 'p', scope: 'world' }), 'scope');
    fieldError(await api(gw, 'POST', '/cache_policies', { name: 'p', mode: 'semantic' }), 'embedding_model', /required/);
    fieldError(await api(gw, 'POST', '/cache_policies', { name: 'p', threshold: 0.9 }), 'threshold', /semantic only/);
    fieldError(await api(gw, 'POST', '/cache_policies', { name: 'p', mode: 'semantic', embedding_model: 'ghost' }), 'embedding_model', /not declared/);
    const created = await api(gw, 'POST', '/cache_policies', { name: 'faq', ttl_s: 600 });
    assert.equal(created.status, 201, created.text);
    const sem = await api(gw, 'POST', '/cache_policies', { name: 'sim', mode: 'semantic', embedding_model: 'embed', threshold: 0.9 });
    assert.equal(sem.status, 201, sem.text);
    assert.deepEqual((await api(gw, 'GET', '/cache_policies')).json.data.map((p) => p.name).sort(), ['faq', 'sim']);

    fieldError(await api(gw, 'POST', '/models', { name: 'gpt', targets: [{ provider: 'mockp', model: 'gpt-4o' }], cache: 'nope' }), 'cache', /not declared/);
    const model = await api(gw, 'POST', '/models', { name: 'gpt', targets: [{ provider: 'mockp', model: 'gpt-4o' }], cache: 'faq' });
    assert.equal(model.status, 201, model.text);
    assert.equal(model.json.cache, 'faq');
    fieldError(await api(gw, 'POST', '/keys', { name: 'k', cache: 'nope' }), 'cache', /not declared/);
    const key = await api(gw, 'POST', '/keys', { name: 'k', cache: 'faq' });
    assert.equal(key.status, 201, key.text);
    assert.equal(key.json.cache, 'faq');
    fieldError(await api(gw, 'POST', '/teams', { name: 'tm', cache: 'nope' }), 'cache', /not declared/);
    const team = await api(gw, 'POST', '/teams', { name: 'tm', cache: 'faq' });
    assert.equal(team.status, 201, team.text);
    assert.equal(team.json.cache, 'faq');
    assert.equal(schema.json.kinds.find((k) => k.name === 'teams').write.properties.cache['x-reference'], 'cache_policies');

    const body = { model: 'gpt', messages: [{ role: 'user', content: fresh('admin') }], temperature: 0 };
    assert.equal((await postJson(`${gw.baseURL}/chat/completions`, body, { apiKey: key.json.secret })).headers.get('x-tollgate-cache'), 'miss');
    const hit = await postJson(`${gw.baseURL}/chat/completions`, body, { apiKey: key.json.secret });
    assert.equal(hit.headers.get('x-tollgate-cache'), 'hit', hit.text);
    assert.equal(mock.requests.filter((r) => r.path.includes('/chat/completions')).length, 1);

    // Used by a model and a key: refused, naming them; an embedding model a policy names stays too.
    const inUse = await api(gw, 'DELETE', '/cache_policies/faq');
    assert.equal(inUse.status, 409, inUse.text);
    assert.match(inUse.json.error.message, /model gpt/);
    assert.match(inUse.json.error.message, /key k/);
    assert.match(inUse.json.error.message, /team tm/);
    assert.equal(inUse.json.error.message.match(/team tm/g).length, 1, inUse.json.error.message);
    const embedInUse = await api(gw, 'DELETE', '/models/embed');
    assert.equal(embedInUse.status, 409, embedInUse.text);
    assert.match(embedInUse.json.error.message, /cache policy sim/);

    assert.equal((await api(gw, 'PATCH', `/keys/${key.json.id}`, { cache: null })).status, 200);
    assert.equal((await api(gw, 'PUT', '/models/gpt', { targets: [{ provider: 'mockp', model: 'gpt-4o' }] })).status, 200);
    assert.equal((await api(gw, 'DELETE', '/teams/tm')).status, 200);
    assert.equal((await api(gw, 'DELETE', '/cache_policies/faq')).status, 200);
    const after = await postJson(`${gw.baseURL}/chat/completions`, body, { apiKey: key.json.secret });
    assert.equal(after.headers.get('x-tollgate-cache'), null);
  });
});
