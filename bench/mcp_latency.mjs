// Added latency per MCP tools/call: the same 2026-07-28 call sent N times in sequence straight
// to a canned upstream (a fixed JSON-RPC answer, no SDK), through Debian's nginx as a plain
// keep-alive reverse proxy (the floor a proxy pays), and through Tollgate's /mcp/canned.
//   cd tests && TOLLGATE_BIN=../build/tollgate node ../bench/mcp_latency.mjs [N]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { closedPort, makeTempDir, processConfig, sleep, startGateway, writeConfig } from '../tests/integration/harness.mjs';

const N = Number(process.argv[2] ?? 2000);
const answer = (id, result) => JSON.stringify({ jsonrpc: '2.0', id, result });
const upstream = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    let m;
    try {
      m = JSON.parse(body);
    } catch {
      res.writeHead(400).end();  // nginx's readiness probe
      return;
    }
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

// nginx in front of the same upstream: own prefix, pid and temp dirs, one worker.
const ngxPort = await closedPort();
const ngxConf = path.join(dir, 'nginx.conf');
fs.writeFileSync(ngxConf, `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log warn; worker_processes 1;
events { worker_connections 1024; }
http {
  access_log off; client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi; keepalive_requests 10000000;
  upstream up { server ${up.replace(/^http:\/\/|\/mcp$/g, '')}; keepalive 16; }
  server { listen 127.0.0.1:${ngxPort};
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; } }
}
`);
const ngx = spawn('nginx', ['-p', dir, '-c', ngxConf, '-e', `${dir}/nginx-error.log`], { stdio: 'ignore' });
for (let i = 0; i < 100; i++) {
  const ok = await new Promise((r) => http.get(`http://127.0.0.1:${ngxPort}/`, (res) => { res.resume(); r(true); }).on('error', () => r(false)));
  if (ok) break;
  await sleep(50);
}
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
const proxied = await run(`http://127.0.0.1:${ngxPort}/mcp`);
const via = await run(`${gw.proxyURL}/mcp/canned`);
const added = (x) => ({ p50: +(x.p50 - direct.p50).toFixed(3), p99: +(x.p99 - direct.p99).toFixed(3) });
console.log(JSON.stringify({ calls: N, direct_ms: direct, nginx_ms: proxied, tollgate_ms: via,
  nginx_added_ms: added(proxied), tollgate_added_ms: added(via) }));
ngx.kill('SIGTERM');
await gw.stop();
upstream.close();
agent.destroy();
