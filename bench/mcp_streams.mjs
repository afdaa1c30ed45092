// 2,000 open MCP streams with calls flowing: N `subscriptions/listen` streams (2026-07-28, SSE)
// held open through Tollgate's /mcp/canned to a canned upstream (an acknowledgement, then
// keep-alive comments), while tools/call requests run in sequence on another connection for
// SECONDS. Reports streams opened, call errors and latency, and the gateway's RSS before,
// with the streams open, after the calls, and after the streams close.
//   cd tests && TOLLGATE_BIN=../build/tollgate node ../bench/mcp_streams.mjs [N] [SECONDS]
import fs from 'node:fs';
import http from 'node:http';
import { makeTempDir, processConfig, sleep, startGateway, writeConfig } from '../tests/integration/harness.mjs';

const N = Number(process.argv[2] ?? 2000);
const SECONDS = Number(process.argv[3] ?? 20);
const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
const held = new Set();
const upstream = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const m = JSON.parse(body);
    if (m.method === 'subscriptions/listen') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const ack = { jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { _meta: { 'io.modelcontextprotocol/subscriptionId': m.id } } };
      res.write(`event: message\ndata: ${JSON.stringify(ack)}\n\n`);
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    const result = m.method === 'server/discover'
      ? { supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, ttlMs: 0, cacheScope: 'private', resultType: 'complete' }
      : { content: [{ type: 'text', text: 'ok' }], resultType: 'complete' };
    res.end(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }));
  });
});
upstream.headersTimeout = 0;
upstream.requestTimeout = 0;
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const keepAlive = setInterval(() => { for (const res of held) res.write(':\n\n'); }, 15_000);

const dir = await makeTempDir(null, 'tollgate-mcp-streams-');
const key = 'tg-bench-streams-0123456789abcdef';
const { configPath } = await writeConfig(dir, { tollgate: processConfig({ workers: 2 }),
  resources: { mcp_servers: [{ name: 'canned', url: `http://127.0.0.1:${upstream.address().port}/mcp`, timeout_ms: 600_000 }],
    keys: [{ name: 'bench', key, mcp: { allow: ['*'] } }] } });
const gw = await startGateway(null, { configPath, nofile: 16384 });
const rssMB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${gw.proc.pid}/status`, 'utf8'))[1]) / 1024;
const headers = (method, body) => ({ 'content-type': 'application/json', accept: 'application/json, text/event-stream',
  authorization: `Bearer ${key}`, 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, 'content-length': Buffer.byteLength(body) });
const url = `${gw.proxyURL}/mcp/canned`;

// Warm-up (the era probe) and the baseline.
const callAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const call = (id) => new Promise((resolve) => {
  const body = JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: meta } });
  const h = { ...headers('tools/call', body), 'mcp-name': 'echo' };
  const req = http.request(url, { method: 'POST', headers: h, agent: callAgent }, (res) => {
    let text = '';
    res.on('data', (c) => (text += c));
    res.on('end', () => resolve(res.statusCode === 200 && text.includes('"ok"')));
  });
  req.on('error', () => resolve(false));
  req.end(body);
});
for (let i = 0; i < 200; i++) await call(i);
await sleep(500);
const rss0 = rssMB();

// The streams.
const streamAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const streams = [];
let opened = 0, streamErrors = 0;
const t0 = Date.now();
await Promise.all(Array.from({ length: N }, (_, i) => new Promise((resolve) => {
  const body = JSON.stringify({ jsonrpc: '2.0', id: `listen-${i}`, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: true }, _meta: meta } });
  const req = http.request(url, { method: 'POST', headers: headers('subscriptions/listen', body), agent: streamAgent }, (res) => {
    if (res.statusCode !== 200) { streamErrors++; res.resume(); return resolve(); }
    res.once('data', () => { opened++; resolve(); });
    res.on('error', () => {});
  });
  req.on('error', () => { streamErrors++; resolve(); });
  req.end(body);
  streams.push(req);
})));
const openMs = Date.now() - t0;
await sleep(1000);
const rssOpen = rssMB();

// Calls while they are open.
const lat = [];
let calls = 0, callErrors = 0;
const until = Date.now() + SECONDS * 1000;
while (Date.now() < until) {
  const s = process.hrtime.bigint();
  const ok = await call(1000 + calls);
  lat.push(Number(process.hrtime.bigint() - s) / 1e6);
  calls++;
  if (!ok) callErrors++;
}
lat.sort((a, b) => a - b);
const rssCalls = rssMB();
const stillOpen = held.size;

for (const req of streams) req.destroy();
await sleep(3000);
const rssClosed = rssMB();
console.log(JSON.stringify({ streams: N, opened, stream_errors: streamErrors, open_ms: openMs, upstream_streams_held: stillOpen,
  calls, call_errors: callErrors, call_p50_ms: +lat[Math.floor(lat.length * 0.5)].toFixed(3), call_p99_ms: +lat[Math.floor(lat.length * 0.99)].toFixed(3),
  rss_mb: { before: +rss0.toFixed(1), streams_open: +rssOpen.toFixed(1), after_calls: +rssCalls.toFixed(1), streams_closed: +rssClosed.toFixed(1) },
  upstream_streams_after_close: held.size }));
clearInterval(keepAlive);
await gw.stop();
upstream.close();
upstream.closeAllConnections?.();
callAgent.destroy();
