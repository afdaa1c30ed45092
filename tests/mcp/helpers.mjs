// Shared setup for the MCP suites: the fixture upstream (fixture.mjs) and a gateway in front
// of it with `mcp_servers` and keys holding MCP grants.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, processConfig, startGateway, writeConfig } from '../integration/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Starts fixture.mjs on 127.0.0.1 (a free port); stopped after the test. Returns { url, base, port, stop }. */
export async function startFixture(t, args = []) {
  const proc = spawn(process.execPath, [path.join(here, 'fixture.mjs'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`fixture did not start: ${err}`)), 10_000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => reject(new Error(`fixture exited (${code}): ${err}`)));
  });
  const stop = () => new Promise((resolve) => {
    if (proc.exitCode !== null) return resolve();
    proc.once('exit', resolve);
    proc.kill('SIGTERM');
  });
  if (t) t.after(stop);
  const base = `http://127.0.0.1:${port}`;
  return { port, base, url: `${base}/mcp`, stop, proc };
}

export const MCP_KEYS = {
  admin: 'tg-mcp-admin-0123456789abcdef',
  team: 'tg-mcp-team-0123456789abcdef',
  reader: 'tg-mcp-reader-0123456789abcdef',
  none: 'tg-mcp-none-0123456789abcdef',
};

/** Keys: admin (everything), team (fixture__test_* but not fixture__test_error*), reader (read_only), none (no grant). */
export function mcpKeys(extra = {}) {
  return [
    { name: 'mcp-admin', key: MCP_KEYS.admin, mcp: { allow: ['*'], ...(extra.admin ?? {}) } },
    { name: 'mcp-team', key: MCP_KEYS.team, mcp: { allow: ['fixture__test_*', 'fixture__test://*'], deny: ['fixture__test_error*'], ...(extra.team ?? {}) } },
    { name: 'mcp-reader', key: MCP_KEYS.reader, mcp: { allow: ['*'], read_only: true } },
    { name: 'mcp-none', key: MCP_KEYS.none },
  ];
}

/** A gateway serving `servers` (mcp_servers entries) to the keys above; `extraResources`: other sections (guardrails). */
export async function startMcpGateway(t, { servers, keys = mcpKeys(), dir, env = {}, extraResources = {} }) {
  dir ??= await makeTempDir(t, 'tollgate-mcp-');
  const { configPath } = await writeConfig(dir, {
    tollgate: processConfig({ workers: 2 }),
    resources: { mcp_servers: servers, keys, ...extraResources },
  });
  const gw = await startGateway(t, { configPath, env });
  gw.mcpURL = (server) => `${gw.proxyURL}/mcp${server ? `/${server}` : ''}`;
  gw.dir = dir;
  return gw;
}

/** One JSON-RPC POST; returns { status, headers, body (parsed JSON or the SSE text) }. */
export async function rpc(url, message, { key, headers = {} } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...headers,
    },
    body: typeof message === 'string' ? message : JSON.stringify(message),
  });
  const text = await res.text();
  let body = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text) body = JSON.parse(text);
  else if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    const events = text.split('\n\n').filter((e) => e.includes('data:')).map((e) => JSON.parse(e.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n')));
    body = { events, final: events.find((e) => 'result' in e || 'error' in e) };
  }
  return { status: res.status, headers: res.headers, body };
}

/** A 2026-07-28 request (per-request _meta and the mirrored headers). */
export function modern(method, params = {}, { id = 1, capabilities = {} } = {}) {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': capabilities,
    'io.modelcontextprotocol/clientInfo': { name: 'tollgate-test', version: '1' }, ...(params._meta ?? {}) };
  const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': method };
  const subject = params.name ?? params.uri;
  if (subject && ['tools/call', 'resources/read', 'prompts/get'].includes(method)) headers['mcp-name'] = subject;
  return { message: { jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } }, headers };
}
