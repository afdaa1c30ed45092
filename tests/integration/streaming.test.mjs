// Streams under stress: a client that goes away, many streams at once, and a provider whose
// SSE bytes arrive in tiny pieces that split UTF-8 code points.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS, cleanupScope, standardSetup, waitFor } from './harness.mjs';

describe('streaming', () => {
  const scope = cleanupScope();
  let env;
  let openai;
  before(async () => {
    env = await standardSetup(scope);
    openai = env.client(KEYS.all);
  });
  after(() => scope.run());
  beforeEach(() => env.mock.reset());

  it('a client abort mid-stream closes the upstream stream within a second', { timeout: 20_000 }, async () => {
    const ac = new AbortController();
    const s = await openai.chat.completions.create({ model: 'slow-stream', messages: [{ role: 'user', content: 'go' }], stream: true }, { signal: ac.signal });
    let ticks = 0;
    try {
      for await (const c of s) {
        if (c.choices[0]?.delta?.content && ++ticks === 3) break; // break aborts the response body
      }
    } finally {
      ac.abort();
    }
    assert.equal(ticks, 3);
    const abortedAt = Date.now();
    assert.equal(env.mock.stats.aborted_streams, 0, 'the mock stream was still running when the client left');
    await waitFor(() => env.mock.stats.aborted_streams === 1 && env.mock.stats.active_streams === 0, {
      timeout: 1500,
      message: `the provider stream to be closed (stats ${JSON.stringify(env.mock.stats)})`,
    });
    const took = Date.now() - abortedAt;
    assert.ok(took < 1500, `upstream closed ${took} ms after the client left`);
  });

  it('200 concurrent streams all complete with their own content', { timeout: 90_000 }, async () => {
    const N = 200;
    const one = async (i) => {
      const s = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: `message number ${i}` }], stream: true });
      let text = '';
      let finish = null;
      for await (const c of s) {
        text += c.choices[0]?.delta?.content ?? '';
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      return { text, finish };
    };
    const results = await Promise.allSettled(Array.from({ length: N }, (_, i) => one(i)));
    const failures = results
      .map((r, i) => (r.status === 'rejected' ? `#${i}: ${r.reason?.status ?? ''} ${r.reason?.message}` : r.value.text !== `Echo: message number ${i}` || r.value.finish !== 'stop' ? `#${i}: ${JSON.stringify(r.value)}` : null))
      .filter(Boolean);
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${N} streams failed`);
    assert.equal(env.mock.requestsTo('/v1/chat/completions').length, N);
  });

  it('SSE events split across reads, mid code point, are relayed intact', { timeout: 20_000 }, async () => {
    const text = 'héllo 👋🏽 wörld — 日本語 ✓';
    const s = openai.chat.completions.stream({ model: 'fragmented', messages: [{ role: 'user', content: text }], stream_options: { include_usage: true } });
    const final = await s.finalChatCompletion();
    assert.equal(final.choices[0].message.content, `Echo: ${text}`);
    assert.equal(final.usage?.completion_tokens, 1 + text.split(' ').length);
  });
});
