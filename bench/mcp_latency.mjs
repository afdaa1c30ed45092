// Added latency per MCP tools/call: the same 2026-07-28 call sent N times in sequence straight
// to a canned upstream (a fixed JSON-RPC answer, no SDK) and through Tollgate's /mcp/canned.
//   cd tests && TOLLGATE_BIN=../build/tollgate node ../bench/mcp_latency.mjs [N]
import http from 'node:http';
import { makeTempDir, processConfig, startGateway, writeConfig } from '../tests/integration/harness.mjs';

const N = Number(process.argv[2] ?? 2000);
const answer = (id, result) => JSON.stringify({ jsonrpc: '2.0', id, result });
const upstream = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const m = JSON.parse(body);
    res.writeHead(200, { 'content-type': 'application/json' });
    if (m.method === 'server/discover')
      res.end(answer(m.id, { supportedVersions: ['2026-07-28'], capabilities: { tools: {} }, ttlMs: 0, cacheScope: 'private', resultType: 'complete' }));
    else res.end(answer(m.id, { content: [{ type: 'text', text: 'ok' }], resultType: 'complete' }));
  });
});
await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
const up = `http://127.0.0.1:${upstream.address().port}/mcp`;
const dir = await makeTempDir(null, 'tollgate-mcp-bench-');
const key = 'tg-bench-0123456789abcdef';
const { configPath } = await writeConfig(dir, { tollgate: processConfig({ workers: 2 }),
  resources: { mcp_servers: [{ name: 'canned', url: up }], keys: [{ name: 'bench', key, mcp: { allow: ['*'] } }] } });
const gw = await startGateway(null, { configPath });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {}, _meta: meta } });
const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${key}`,
  'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'echo', 'content-length': Buffer.byteLength(body) };
const post = (url) => new Promise((resolve, reject) => {
  const req = http.request(url, { method: 'POST', headers, agent }, (res) => { res.resume(); res.on('end', resolve); });
  req.on('error', reject);
  req.end(body);
});
async function run(url) {
  for (let i = 0; i < 100; i++) await post(url);  // warm-up
  const t = [];
  for (let i = 0; i < N; i++) {
    const s = process.hrtime.bigint();
    await post(url);
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  t.sort((a, b) => a - b);
  return { p50: t[Math.floor(N * 0.5)], p99: t[Math.floor(N * 0.99)] };
}
const direct = await run(up);
const via = await run(`${gw.proxyURL}/mcp/canned`);
console.log(JSON.stringify({ calls: N, direct_ms: direct, tollgate_ms: via,
  added_p50_ms: +(via.p50 - direct.p50).toFixed(3), added_p99_ms: +(via.p99 - direct.p99).toFixed(3) }));
await gw.stop();
upstream.close();
agent.destroy();
