// The semantic response cache end to end, against the OpenAI mock, whose embeddings are a hashed
// bag of words (openai-mock.mjs embeddingFor): "what is the capital of france" and "What is the
// capital of France, please?" are ~0.93 similar, "... population of spain" ~0.7. A paraphrase
// above the threshold is a hit the chat provider never sees, with its similarity; below it, a
// miss; never across keys (scope key), system prompts or tools; the embedding call is a request
// of the caller's key with its own record; a Redis backend rebuilds the index after a restart
// and shares it between two replicas. The index is bounded (max_entries, TTL) and so is each
// partition's log in Redis.

import { execFileSync } from 'node:child_process';
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { embeddingFor } from '../mocks/openai-mock.mjs';
import { startRedis } from './redis-server.mjs';
import { cleanupScope, makeTempDir, postJson, processConfig, sleep, startGateway, startMock, waitFor, writeConfig } from './harness.mjs';

const T = { timeout: 30_000 };
const KEY_A = 'tg-sem-a-0123456789abcdef';
const KEY_B = 'tg-sem-b-0123456789abcdef';
const KEY_RPM = 'tg-sem-rpm-0123456789abcdef';
let n = 0;
// One word no other test shares, so tests never meet in one partition of the index.
const tag = () => `tag${process.pid}x${Date.now()}x${++n}`;
const cosine = (a, b) => embeddingFor(a).reduce((s, x, i) => s + x * embeddingFor(b)[i], 0);

function accessLines(gw) {
  return gw.output().stdout.split('\n').filter((l) => l.startsWith('{"ts"')).map((l) => JSON.parse(l));
}
const chatCalls = (mock) => mock.requests.filter((r) => r.path.endsWith('/chat/completions')).length;
const embedCalls = (mock) => mock.requests.filter((r) => r.path.endsWith('/embeddings')).length;

function resources(mock, policy = {}) {
  return {
    providers: [{ name: 'openai', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
    cache_policies: [{ name: 'similar', mode: 'semantic', embedding_model: 'embed', threshold: 0.9, ttl_s: 600, ...policy }],
    models: [
      { name: 'embed', targets: [{ provider: 'openai', model: 'text-embedding-3-small' }], pricing: { input: 0.02 } },
      { name: 'gpt', targets: [{ provider: 'openai', model: 'gpt-4o' }], cache: 'similar', pricing: { input: 2, output: 8 } },
    ],
    keys: [{ name: 'a', key: KEY_A }, { name: 'b', key: KEY_B }, { name: 'rpm', key: KEY_RPM, limits: { rpm: 4 } }],
  };
}

const chat = (content, extra = {}) => ({ model: 'gpt', messages: [{ role: 'user', content }], max_tokens: 50, ...extra });

describe('semantic cache (local backend)', () => {
  const scope = cleanupScope();
  let mock;
  let gw;
  before(async () => {
    mock = await startMock(scope);
    const dir = await makeTempDir(scope);
    const { configPath } = await writeConfig(dir, { resources: resources(mock), tollgate: processConfig() });
    gw = await startGateway(scope, { configPath });
  });
  after(() => scope.run());
  beforeEach(() => mock.reset());
  const post = (body, apiKey = KEY_A, headers = {}) => postJson(`${gw.baseURL}/chat/completions`, body, { apiKey, headers });

  it('a paraphrase above the threshold is a hit with its similarity; the provider never sees it', T, async () => {
    const t = tag();
    const q1 = `what is the capital of france ${t}`;
    const q2 = `What is the capital of France, please? ${t}`;
    const expected = cosine(q1, q2);
    assert.ok(expected > 0.9 && expected < 0.99, `the mock's similarity ${expected}`);
    const first = await post(chat(q1));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-tollgate-cache'), 'miss');
    const second = await post(chat(q2));
    assert.equal(second.status, 200, second.text);
    assert.equal(second.headers.get('x-tollgate-cache'), 'hit');
    assert.ok(Math.abs(Number(second.headers.get('x-tollgate-cache-similarity')) - expected) < 1e-3, second.headers.get('x-tollgate-cache-similarity'));
    assert.equal(second.json.choices[0].message.content, first.json.choices[0].message.content);
    assert.equal(chatCalls(mock), 1);
    assert.equal(embedCalls(mock), 2);

    // Streamed, through the SDK: the stored answer replays as a stream.
    const oa = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY_A, maxRetries: 0 });
    let text = '';
    for await (const c of await oa.chat.completions.create({ ...chat(`so what is the capital of france ${t}`), stream: true })) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, first.json.choices[0].message.content);
    assert.equal(chatCalls(mock), 1);

    // The same request again needs no embedding: an exact hit, similarity 1.
    const again = await post(chat(q1));
    assert.equal(again.headers.get('x-tollgate-cache'), 'hit');
    assert.equal(again.headers.get('x-tollgate-cache-similarity'), '1.0000');
    assert.equal(embedCalls(mock), 3);
  });

  it('below the threshold is a miss', T, async () => {
    const t = tag();
    await post(chat(`what is the capital of france ${t}`));
    const q = `what is the population of spain ${t}`;
    assert.ok(cosine(`what is the capital of france ${t}`, q) < 0.9);
    const other = await post(chat(q));
    assert.equal(other.headers.get('x-tollgate-cache'), 'miss');
    assert.equal(other.headers.get('x-tollgate-cache-similarity'), null);
    assert.equal(other.json.choices[0].message.content, `Echo: ${q}`);
    assert.equal(chatCalls(mock), 2);
  });

  it('never across keys (scope key), system prompts or tools; tools and temperature bypass by default', T, async () => {
    const t = tag();
    await post(chat(`how tall is the eiffel tower ${t}`));
    const paraphrase = `how tall is the eiffel tower exactly ${t}`;
    const b = await post(chat(paraphrase), KEY_B);
    assert.equal(b.headers.get('x-tollgate-cache'), 'miss');
    assert.equal(b.json.choices[0].message.content, `Echo: ${paraphrase}`);
    // Another system prompt: even the very same words are another conversation.
    const sys = await post({ ...chat(paraphrase), messages: [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: paraphrase }] });
    assert.equal(sys.headers.get('x-tollgate-cache'), 'miss');
    assert.equal(chatCalls(mock), 3);
    // Key a's own paraphrase still hits its own entry.
    assert.equal((await post(chat(paraphrase))).headers.get('x-tollgate-cache'), 'hit');
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    assert.equal((await post(chat(paraphrase, { tools }))).headers.get('x-tollgate-cache'), 'bypass');
    assert.equal((await post(chat(paraphrase, { temperature: 0.7 }))).headers.get('x-tollgate-cache'), 'bypass');
    assert.equal(chatCalls(mock), 5);
  });

  it('the embedding is a call of the key with its own record; a hit spends nothing and records what it saved', T, async () => {
    const t = tag();
    const first = await post(chat(`name the largest planet ${t}`));
    const hit = await post(chat(`name the largest planet please ${t}`));
    assert.equal(hit.headers.get('x-tollgate-cache'), 'hit');
    const id = hit.headers.get('x-request-id');
    const line = await waitFor(() => accessLines(gw).find((l) => l.request_id === id), { message: 'the hit\'s access-log line' });
    const embed = await waitFor(() => accessLines(gw).find((l) => l.request_id === `${id}-embed`), { message: 'the embedding call\'s line' });
    assert.equal(embed.route, 'embeddings');
    assert.equal(embed.model, 'embed');
    assert.equal(embed.key, 'a');
    assert.ok(embed.input_tokens > 0 && embed.cost_usd > 0, JSON.stringify(embed));
    assert.equal(line.cache.status, 'hit');
    assert.ok(line.cache.similarity >= 0.9 && line.cache.similarity < 1, JSON.stringify(line.cache));
    assert.equal(line.input_tokens, 0);
    assert.equal(line.output_tokens, 0);
    assert.equal(line.cost_usd, 0);
    assert.equal(line.cache.saved_input_tokens, first.json.usage.prompt_tokens);
    const price = (first.json.usage.prompt_tokens * 2 + first.json.usage.completion_tokens * 8) / 1e6;
    assert.ok(Math.abs(line.cache.saved_usd - price) < 1e-9, JSON.stringify(line.cache));
  });

  it('a semantic hit counts against the key\'s request limit, as its embedding call does', T, async () => {
    const t = tag();
    // rpm 4: the miss and its embedding (2), the hit and its embedding (4), then refused.
    const statuses = [];
    for (const q of [`please count all the stars in the sky ${t}`, `please count all the stars in the night sky ${t}`, `count the stars ${t}`]) {
      const r = await post(chat(q), KEY_RPM);
      statuses.push(`${r.status} ${r.headers.get('x-tollgate-cache')}`);
    }
    assert.deepEqual(statuses, ['200 miss', '200 hit', '429 null']);
    assert.equal(chatCalls(mock), 1);
  });
});

// Four questions of one partition that are not paraphrases of each other, and a paraphrase of
// each (the mock's bag-of-words cosine is checked, not assumed). The mock hashes words into its
// dimensions, so a tag that shares one with a question's word moves the cosines: the next tag
// is taken then.
function questions(t) {
  const make = (t) => ({
    q: [`what is the capital of france ${t}`, `which river flows through paris ${t}`, `who painted the mona lisa ${t}`,
      `how tall is mount everest ${t}`],
    p: [`What is the capital of France, please? ${t}`, `which river flows through paris today ${t}`,
      `who painted the famous mona lisa ${t}`, `how tall is the mount everest ${t}`],
  });
  const problems = ({ q, p }) => {
    const out = [];
    for (let i = 0; i < q.length; ++i)
      for (let j = 0; j < q.length; ++j) {
        if (i === j && cosine(q[i], p[j]) < 0.9) out.push(`paraphrase ${i}: ${cosine(q[i], p[j])}`);
        if (i !== j && (cosine(q[i], p[j]) >= 0.9 || cosine(q[i], q[j]) >= 0.9)) out.push(`${i} vs ${j}`);
      }
    return out;
  };
  for (let k = 0; k < 20; ++k) {
    const set = make(`${t}y${k}`);
    if (problems(set).length === 0) return set;
  }
  assert.deepEqual(problems(make(t)), []);
  return make(t);
}

describe('semantic cache: the index is bounded', () => {
  it('past max_entries the oldest leave the index and are not matched; the rest still are', T, async (t) => {
    const mock = await startMock(t);
    const dir = await makeTempDir(t);
    const { configPath } = await writeConfig(dir, { resources: resources(mock, { max_entries: 2 }), tollgate: processConfig() });
    const gw = await startGateway(t, { configPath });
    const { q, p } = questions(tag());
    const ask = (content) => postJson(`${gw.baseURL}/chat/completions`, chat(content), { apiKey: KEY_A });
    for (const text of q.slice(0, 3)) assert.equal((await ask(text)).headers.get('x-tollgate-cache'), 'miss');
    // The first is still in the (local) backend, but no longer in the index: a paraphrase misses.
    const evicted = await ask(p[0]);
    assert.equal(evicted.headers.get('x-tollgate-cache'), 'miss');
    assert.equal(evicted.json.choices[0].message.content, `Echo: ${p[0]}`);
    const kept = await ask(p[2]);
    assert.equal(kept.headers.get('x-tollgate-cache'), 'hit', kept.text);
    assert.equal(kept.json.choices[0].message.content, `Echo: ${q[2]}`);
    assert.equal(chatCalls(mock), 4);
  });

  it('an entry past its ttl_s is not matched', T, async (t) => {
    const mock = await startMock(t);
    const dir = await makeTempDir(t);
    const { configPath } = await writeConfig(dir, { resources: resources(mock, { ttl_s: 1 }), tollgate: processConfig() });
    const gw = await startGateway(t, { configPath });
    const { q, p } = questions(tag());
    const ask = (content) => postJson(`${gw.baseURL}/chat/completions`, chat(content), { apiKey: KEY_A });
    assert.equal((await ask(q[0])).headers.get('x-tollgate-cache'), 'miss');
    await sleep(1500);
    assert.equal((await ask(p[0])).headers.get('x-tollgate-cache'), 'miss');
    assert.equal(chatCalls(mock), 2);
  });
});

// Redis's own view of the logs, through redis-cli: the member count of each partition's log.
function logSizes(redis) {
  const cli = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), '--raw', ...args], { encoding: 'utf8', timeout: 5000 }).trim();
  const logs = cli('--scan', '--pattern', 'tollgate:cache:log:*').split('\n').filter((k) => k && !k.endsWith(':seq'));
  return Object.fromEntries(logs.map((k) => [k.endsWith(':exp') ? 'exp' : 'log', Number(cli('ZCARD', k))]));
}

describe('semantic cache on a real redis-server', () => {
  async function gateway(t, mock, redis, policy = {}) {
    const dir = await makeTempDir(t);
    const tollgate = processConfig({ extra: { limits: { backend: 'local', url: redis.url, timeout_ms: 500 } } });
    const { configPath } = await writeConfig(dir, { tollgate, resources: resources(mock, { backend: 'redis', ...policy }) });
    return startGateway(t, { configPath });
  }
  const ask = (gw, content) => postJson(`${gw.baseURL}/chat/completions`, chat(content), { apiKey: KEY_A });

  it('a restarted gateway rebuilds its index from Redis', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const tg = tag();
    const first = await gateway(t, mock, redis);
    assert.equal((await ask(first, `which river flows through paris ${tg}`)).headers.get('x-tollgate-cache'), 'miss');
    // The answer is stored in Redis after it went out: the restart waits for the log to hold it.
    await waitFor(() => logSizes(redis).log === 1, { message: "the entry in the partition's log" });
    await first.stop();
    const second = await gateway(t, mock, redis);
    const hit = await ask(second, `which river flows through paris today ${tg}`);
    assert.equal(hit.headers.get('x-tollgate-cache'), 'hit', hit.text);
    assert.ok(Number(hit.headers.get('x-tollgate-cache-similarity')) >= 0.9);
    assert.equal(hit.json.choices[0].message.content, `Echo: which river flows through paris ${tg}`);
    assert.equal(chatCalls(mock), 1);
  });

  it('two replicas share entries both ways, each learning what the other stored', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const tg = tag();
    const [a, b] = [await gateway(t, mock, redis), await gateway(t, mock, redis)];
    // An answer is stored in Redis after it went out: each ask on the other replica waits for
    // the partition's log to hold it.
    const stored = (n) => waitFor(() => logSizes(redis).log === n, { message: `${n} entries in the partition's log` });
    assert.equal((await ask(a, `who painted the mona lisa ${tg}`)).headers.get('x-tollgate-cache'), 'miss');
    await stored(1);
    assert.equal((await ask(b, `who painted the famous mona lisa ${tg}`)).headers.get('x-tollgate-cache'), 'hit');
    // b stores one of its own; a, whose index of this partition is already built, learns it.
    assert.equal((await ask(b, `when was the mona lisa painted ${tg}`)).headers.get('x-tollgate-cache'), 'miss');
    await stored(2);
    const learned = await ask(a, `when exactly was the mona lisa painted ${tg}`);
    assert.equal(learned.headers.get('x-tollgate-cache'), 'hit', learned.text);
    assert.equal(learned.json.choices[0].message.content, `Echo: when was the mona lisa painted ${tg}`);
    assert.equal(chatCalls(mock), 2);
  });

  it('a partition\'s log keeps at most max_entries keys; what it dropped a new replica never learns', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const { q, p } = questions(tag());
    const a = await gateway(t, mock, redis, { max_entries: 3 });
    for (const text of q) assert.equal((await ask(a, text)).headers.get('x-tollgate-cache'), 'miss');
    assert.deepEqual(logSizes(redis), { log: 3, exp: 3 });
    const b = await gateway(t, mock, redis, { max_entries: 3 });
    const dropped = await ask(b, p[0]);
    assert.equal(dropped.headers.get('x-tollgate-cache'), 'miss');
    const learned = await ask(b, p[3]);
    assert.equal(learned.headers.get('x-tollgate-cache'), 'hit', learned.text);
    assert.equal(learned.json.choices[0].message.content, `Echo: ${q[3]}`);
  });

  it('keys past their ttl_s leave the log at the next store', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const { q, p } = questions(tag());
    const gw = await gateway(t, mock, redis, { ttl_s: 4 });
    assert.equal((await ask(gw, q[0])).headers.get('x-tollgate-cache'), 'miss');
    const stored = Date.now();
    await sleep(2500);
    assert.equal((await ask(gw, q[1])).headers.get('x-tollgate-cache'), 'miss');
    assert.deepEqual(logSizes(redis), { log: 2, exp: 2 });
    await sleep(Math.max(0, stored + 4500 - Date.now()));  // q[0] is past its 4 s, q[1] is not
    assert.equal((await ask(gw, q[2])).headers.get('x-tollgate-cache'), 'miss');
    assert.deepEqual(logSizes(redis), { log: 2, exp: 2 });
    assert.equal((await ask(gw, p[0])).headers.get('x-tollgate-cache'), 'miss');
  });
});
