// Streaming mock upstream for the benchmark: an OpenAI-compatible /v1/chat/completions that
// answers `"stream": true` with a chat.completion.chunk SSE stream, the way OpenAI does:
//   - the role chunk and the first content chunk are written at once, right after the headers
//     (so time to first chunk measures the path, not the mock);
//   - then CHUNKS-1 more content chunks, each DELAY_MS after the previous one;
//   - a finish_reason chunk, then, when the request set stream_options.include_usage, every
//     chunk carries "usage":null and a last choices:[] chunk carries the usage (what Tollgate
//     asks for on the caller's behalf and strips again); then `data: [DONE]`.
// Non-stream requests get a plain chat.completion with usage (the non-stream load tests use
// nginx's `return 200` instead, which is faster; this is only a fallback).
//
// Usage: node bench/mock_stream.mjs --port 0 [--chunks 8] [--delay-ms 5] [--stamp 1]
// prints "mock listening on PORT". --stamp 1: each content chunk's text ends with "@" and the
// wall-clock time it was written, in ms (stream_scale.mjs tells a late chunk from a late relay).

import http from 'node:http';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const PORT = Number(opt('port', 0));
const CHUNKS = Math.max(1, Number(opt('chunks', 8)));
const DELAY_MS = Number(opt('delay-ms', 5));
const STAMP = opt('stamp', '0') === '1';
const text = (n) => (STAMP ? `tok${n}@${(performance.timeOrigin + performance.now()).toFixed(1)} ` : `tok${n} `);

const CREATED = 1700000000;
const MODEL = 'mock-model';

function chunk(id, delta, finish, withUsageNull) {
  const c = {
    id, object: 'chat.completion.chunk', created: CREATED, model: MODEL,
    system_fingerprint: 'fp_bench', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
  if (withUsageNull) c.usage = null;
  return `data: ${JSON.stringify(c)}\n\n`;
}

let seq = 0;
const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (d) => parts.push(d));
  req.on('end', () => {
    let body = {};
    try { body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}'); } catch { /* keep {} */ }
    const id = `chatcmpl-bench${++seq}`;
    if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found","type":"invalid_request_error","code":null}}');
      return;
    }
    if (!body.stream) {
      const out = JSON.stringify({
        id, object: 'chat.completion', created: CREATED, model: MODEL, system_fingerprint: 'fp_bench',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from the bench mock.', refusal: null },
          logprobs: null, finish_reason: 'stop' }],
        usage: { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
      return;
    }
    const usage = !!(body.stream_options && body.stream_options.include_usage);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    // Role chunk and first content chunk together, immediately.
    res.write(chunk(id, { role: 'assistant', content: '', refusal: null }, null, usage) +
      chunk(id, { content: text(0) }, null, usage));
    let sent = 1;
    let timer = null;
    const next = () => {
      if (res.destroyed) return;
      if (sent < CHUNKS) {
        res.write(chunk(id, { content: text(sent) }, null, usage));
        sent++;
        timer = setTimeout(next, DELAY_MS);
        return;
      }
      let tail = chunk(id, {}, 'stop', usage);
      if (usage) {
        tail += `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: CREATED, model: MODEL,
          system_fingerprint: 'fp_bench', choices: [],
          usage: { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS } })}\n\n`;
      }
      res.end(tail + 'data: [DONE]\n\n');
    };
    timer = setTimeout(next, DELAY_MS);
    res.on('close', () => clearTimeout(timer));
  });
});
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
// A wave of thousands of streams connects at once: room for them (the default backlog, 511,
// drops SYNs, and a relay with a 5 s connect timeout gives up on the retransmits).
server.listen({ port: PORT, host: '127.0.0.1', backlog: 4096 }, () => {
  console.log(`mock listening on ${server.address().port}`);
});
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
