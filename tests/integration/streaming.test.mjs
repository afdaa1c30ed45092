// Streams under stress: a client that goes away, many streams at once, and a provider whose
// SSE bytes arrive in tiny pieces that split UTF-8 code points.

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { KEYS, sseData, standardSuite, waitFor } from './harness.mjs';

describe('streaming', () => {
  const env = standardSuite();
  let openai;
  before(() => (openai = env.client(KEYS.all)));

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

  /** POSTs a stream request with fetch and reads it to the end; never throws. */
  async function readStream(model) {
    const t0 = Date.now();
    let status = null;
    let text = '';
    let threw = null;
    try {
      const res = await fetch(`${env.gw.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.all}` },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'a b c' }], stream: true }),
        signal: AbortSignal.timeout(10_000),
      });
      status = res.status;
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += dec.decode(value, { stream: true });
      }
    } catch (e) {
      threw = e;
    }
    const data = sseData(text);
    const errorEvent = data.find((d) => d.startsWith('{') && JSON.parse(d).error);
    return { status, text, data, threw, errorEvent, elapsed: Date.now() - t0 };
  }

  it('an error event from the provider mid-stream reaches the caller (the SDK throws it)', { timeout: 20_000 }, async () => {
    const s = await openai.chat.completions.create({ model: 'stream-error', messages: [{ role: 'user', content: 'x y' }], stream: true });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
      })(),
      (e) => /server had an error/.test(e.message),
    );
    assert.equal(text, 'Echo:');
  });

  it('a provider that drops the connection mid-stream: the caller is told, not handed a complete-looking stream', { timeout: 20_000 }, async () => {
    const r = await readStream('stream-cut');
    assert.equal(r.status, 200);
    assert.ok(r.elapsed < 3000, `the caller waited ${r.elapsed} ms`);
    assert.ok(r.threw || r.errorEvent, `neither a broken connection nor an error event: ${JSON.stringify(r.text)}`);
    assert.ok(!(r.data.at(-1) === '[DONE]' && !r.errorEvent), 'a truncated stream ended with [DONE] and no error');
  });

  // Issue 18: events forwarded as they arrive, and the events of one upstream read written to the
  // caller in one write (one HTTP chunk of the answer), not one write each.
  it('the events of one upstream read go out in one write, as soon as they arrive', { timeout: 20_000 }, async () => {
    const sock = net.connect(env.gw.proxyPort, '127.0.0.1');
    const pieces = []; // [bytes so far, arrival time] per read
    let raw = Buffer.alloc(0);
    sock.on('data', (d) => {
      raw = Buffer.concat([raw, d]);
      pieces.push([raw.length, performance.now()]);
    });
    const body = JSON.stringify({ model: 'bursts', stream: true, messages: [{ role: 'user', content: 'one two three four five' }] });
    sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEYS.all}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    await new Promise((resolve, reject) => { sock.on('end', resolve); sock.on('error', reject); });
    const text = raw.toString('latin1');
    const headEnd = text.indexOf('\r\n\r\n');
    assert.match(text.slice(0, headEnd), /^HTTP\/1\.1 200 [\s\S]*\r\ntransfer-encoding: chunked/i);
    // The answer's HTTP chunks: each one write of the gateway's, with the time its last byte came.
    const chunks = [];
    for (let at = headEnd + 4; ;) {
      const eol = text.indexOf('\r\n', at);
      const size = parseInt(text.slice(at, eol), 16);
      if (!size) break;
      const end = eol + 2 + size;
      chunks.push({ events: sseData(text.slice(eol + 2, end)), at: pieces.find(([n]) => n >= end)[1] });
      at = end + 2;
    }
    const [record] = env.mock.requestsTo('/v1/chat/completions');
    assert.equal(record.burstsAt?.length, 2, 'the mock wrote its two bursts');
    // The first burst (role and two content events, three HTTP chunks in one socket write) in one write.
    assert.equal(chunks[0].events.length, 3, `the first write held ${JSON.stringify(chunks[0].events)}`);
    assert.ok(chunks[0].at < record.burstsAt[1], 'the first burst reached the caller only after the mock wrote the second');
    assert.deepEqual(chunks.flatMap((c) => c.events).at(-1), '[DONE]');
    const content = chunks.flatMap((c) => c.events).filter((e) => e !== '[DONE]')
      .map((e) => JSON.parse(e).choices[0]?.delta?.content ?? '').join('');
    assert.equal(content, 'Echo: one two three four five');
  });

  it('a provider that goes silent mid-stream is cut off after its idle timeout (idle_ms 1000)', { timeout: 20_000 }, async () => {
    const r = await readStream('stall');
    assert.equal(r.status, 200);
    assert.ok(r.elapsed >= 900 && r.elapsed < 4000, `the stream ended after ${r.elapsed} ms`);
    assert.ok(r.threw || r.errorEvent, `the caller was not told the stream broke: ${JSON.stringify(r.text)}`);
    assert.ok(!(r.data.at(-1) === '[DONE]' && !r.errorEvent), 'a stalled stream ended with [DONE] and no error');
    await waitFor(() => env.mock.requests.length === 1 && env.mock.requests[0].closedByPeerAt, { timeout: 1500, message: 'the gateway to close the stalled upstream stream' });
  });
});
