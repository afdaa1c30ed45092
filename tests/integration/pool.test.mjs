// Upstream connections: reused while alive, and a connection the provider closed while idle in
// the pool must not fail the next request.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { KEYS, cleanupScope, makeTempDir, sleep, standardResources, startGateway, startMock, waitFor, writeConfig } from './harness.mjs';

async function setup(t, mockOpts) {
  const scope = cleanupScope();
  t.after(() => scope.run());
  const mock = await startMock(scope, mockOpts);
  const dir = await makeTempDir(scope);
  const { configPath } = await writeConfig(dir, { resources: standardResources(mock) });
  const gw = await startGateway(scope, { configPath });
  const openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 10_000 });
  return { mock, gw, openai };
}

const ask = (openai, text) => openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: text }] });

it('upstream connections are kept alive and reused', { timeout: 30_000 }, async (t) => {
  const { mock, openai } = await setup(t);
  for (let i = 0; i < 20; i++) assert.equal((await ask(openai, `n${i}`)).choices[0].message.content, `Echo: n${i}`);
  assert.ok(mock.stats.connections_total <= 8, `20 sequential requests opened ${mock.stats.connections_total} upstream connections`);
});

it('a pooled connection the provider closed while idle does not fail the next request', { timeout: 30_000 }, async (t) => {
  const { mock, openai } = await setup(t, { keepAliveTimeout: 200 });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) assert.equal((await ask(openai, `r${round} i${i}`)).choices[0].message.content, `Echo: r${round} i${i}`);
    // The mock closes every idle connection (Node checks keep-alive timeouts about once a second).
    await waitFor(() => mock.stats.connections_open === 0, { timeout: 3000, message: 'the mock to close idle connections' });
    await sleep(50);
  }
  // Streams too.
  const s = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'after idle' }], stream: true });
  let text = '';
  for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'Echo: after idle');
});
