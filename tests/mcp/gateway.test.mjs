// The MCP gateway end to end with the official SDK clients (v1 @modelcontextprotocol/sdk,
// v2 @modelcontextprotocol/client) against the fixture upstream (both eras) and
// @modelcontextprotocol/server-everything: aggregation, ACLs with two keys, read-only keys,
// limits, credentials, a black-holed and a 401 upstream, a 120-character tool name, and two
// gateway processes serving one client alternately.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { makeTempDir, processConfig, runTollgate, startGateway, writeConfig, writeYaml } from '../integration/harness.mjs';
import { MCP_KEYS, mcpKeys, modern, rpc, startFixture, startMcpGateway } from './helpers.mjs';

async function v1(url, key) {
  const client = new ClientV1({ name: 'v1-test', version: '1.0.0' });
  const transport = new TransportV1(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
  await client.connect(transport);
  return { client, transport };
}

async function v2(url, key, versionNegotiation = { mode: 'auto' }) {
  const client = new ClientV2({ name: 'v2-test', version: '1.0.0' }, { versionNegotiation });
  const transport = new TransportV2(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
  await client.connect(transport);
  return { client, transport };
}

const names = (tools) => tools.map((x) => x.name).sort();

test('aggregate /mcp: v1 (legacy session) and v2 (2026-07-28) clients see prefixed tools of both fixtures and call them', async (t) => {
  const a = await startFixture(t, ['--name', 'fixture-a']);
  const b = await startFixture(t, ['--name', 'fixture-b']);
  const gw = await startMcpGateway(t, { servers: [
    { name: 'fixture', url: a.url },
    { name: 'other', url: b.url, era: 'legacy', tools: { include: ['test_simple_text', 'echo_headers'] } },
  ] });
  const one = await v1(gw.mcpURL(), MCP_KEYS.admin);
  t.after(() => one.client.close());
  assert.ok(one.transport.sessionId?.startsWith('tgs1.'), 'the gateway issued a sealed session id');
  const tools1 = names((await one.client.listTools()).tools);
  assert.ok(tools1.includes('fixture__test_simple_text'));
  assert.ok(tools1.includes('other__test_simple_text'));
  assert.ok(!tools1.includes('other__test_image_content'), 'the server filter hides what it excludes');
  for (const n of tools1) assert.match(n, /^[A-Za-z0-9_-]{1,64}$/);
  const r = await one.client.callTool({ name: 'other__test_simple_text', arguments: {} });
  assert.equal(r.content[0].text, 'This is a simple text response for testing.');

  const two = await v2(gw.mcpURL(), MCP_KEYS.admin);
  t.after(() => two.client.close());
  assert.equal(two.client.getProtocolEra(), 'modern');
  const tools2 = names((await two.client.listTools()).tools);
  assert.deepEqual(tools2, tools1);
  const progress = [];
  const p = await two.client.callTool({ name: 'fixture__test_tool_with_progress', arguments: {} }, { onprogress: (x) => progress.push(x.progress) });
  assert.equal(p.content[0].text, 'Tool with progress executed successfully');
  assert.deepEqual(progress, [0, 50, 100]);
  const res = await two.client.readResource({ uri: 'tollgate-mcp://fixture/test://static-text' });
  assert.equal(res.contents[0].text, 'This is the content of the static text resource.');
  const pr = await two.client.getPrompt({ name: 'fixture__test_prompt_with_arguments', arguments: { arg1: 'hello', arg2: 'world' } });
  assert.equal(pr.messages[0].content.text, "Prompt with arguments: arg1='hello', arg2='world'");
});

test('ACLs: two keys see and call different tools; deny wins; no grant is no access; read_only keeps readOnlyHint tools', async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url }] });
  const list = async (key) => names((await rpc(gw.mcpURL(), modern('tools/list').message, { key, headers: modern('tools/list').headers })).body.result.tools);
  const admin = await list(MCP_KEYS.admin);
  const team = await list(MCP_KEYS.team);
  assert.ok(admin.includes('fixture__delete_everything'));
  assert.ok(admin.includes('fixture__test_error_handling'));
  assert.ok(!team.includes('fixture__delete_everything'), 'not allowed');
  assert.ok(!team.includes('fixture__test_error_handling'), 'deny wins over allow');
  assert.ok(team.includes('fixture__test_simple_text'));
  const reader = await list(MCP_KEYS.reader);
  assert.deepEqual(reader, ['fixture__echo_headers', 'fixture__test_simple_text']);

  // Calling what the list hides gets the same answer as a tool that does not exist.
  const call = (key, name) => {
    const m = modern('tools/call', { name, arguments: {} });
    return rpc(gw.mcpURL(), m.message, { key, headers: m.headers });
  };
  const denied = await call(MCP_KEYS.team, 'fixture__test_error_handling');
  const missing = await call(MCP_KEYS.team, 'fixture__no_such_tool');
  assert.equal(denied.body.error.code, -32602);
  assert.equal(denied.body.error.message, 'Unknown tool: fixture__test_error_handling');
  assert.equal(missing.body.error.code, -32602);
  assert.equal((await call(MCP_KEYS.reader, 'fixture__delete_everything')).body.error.code, -32602);
  assert.equal((await call(MCP_KEYS.team, 'fixture__test_simple_text')).body.result.content[0].text,
    'This is a simple text response for testing.');
  // Resources obey the same grant.
  const read = (key, uri) => {
    const m = modern('resources/read', { uri });
    return rpc(gw.mcpURL(), m.message, { key, headers: m.headers });
  };
  assert.ok((await read(MCP_KEYS.team, 'tollgate-mcp://fixture/test://static-text')).body.result);
  const none = await rpc(gw.mcpURL(), modern('tools/list').message, { key: MCP_KEYS.none, headers: modern('tools/list').headers });
  assert.equal(none.status, 403);
  const anon = await rpc(gw.mcpURL(), modern('tools/list').message, { headers: modern('tools/list').headers });
  assert.equal(anon.status, 401);
  assert.equal(anon.body.error.code, -32000);
});

test('credentials: the gateway sends the server its headers and bearer, never the caller key; OAuth2 client credentials refresh on 401', async (t) => {
  const fx = await startFixture(t, ['--require-bearer', 'upstream-secret']);
  const oa = await startFixture(t, ['--oauth', 'gw-client:gw-secret']);
  const gw = await startMcpGateway(t, { servers: [
    { name: 'fixture', url: fx.url, headers: { 'X-Team': 'blue' }, auth: { bearer: 'upstream-secret' } },
    { name: 'oauthed', url: oa.url, auth: { oauth2: { token_url: `${oa.base}/token`, client_id: 'gw-client', client_secret: 'gw-secret', scopes: ['tools'] } } },
  ] });
  const c = await v2(gw.mcpURL('fixture'), MCP_KEYS.admin);
  t.after(() => c.client.close());
  const r = await c.client.callTool({ name: 'echo_headers', arguments: {} });
  const seen = JSON.parse(r.content[0].text);
  assert.equal(seen.authorization, 'Bearer upstream-secret');
  assert.equal(seen['x-team'], 'blue');
  const all = await (await fetch(`${fx.base}/__seen`)).json();
  for (const h of all) assert.ok(!JSON.stringify(h).includes(MCP_KEYS.admin), 'the caller key never reaches the upstream');

  const o = await v2(gw.mcpURL('oauthed'), MCP_KEYS.admin);
  t.after(() => o.client.close());
  assert.equal((await o.client.callTool({ name: 'test_simple_text', arguments: {} })).content[0].text, 'This is a simple text response for testing.');
  await fetch(`${oa.base}/__revoke`, { method: 'POST' });  // every token the fixture issued is now void
  assert.equal((await o.client.callTool({ name: 'test_simple_text', arguments: {} })).content[0].text, 'This is a simple text response for testing.');
});

test('failures: a black-holed server costs its deadline only and is named; a 401 upstream is an error, never an empty list', async (t) => {
  const fx = await startFixture(t);
  // Accepts connections and never answers.
  const hole = net.createServer(() => {});
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  t.after(() => hole.close());
  const locked = await startFixture(t, ['--require-bearer', 'right']);
  const gw = await startMcpGateway(t, { servers: [
    { name: 'fixture', url: fx.url },
    { name: 'hole', url: `http://127.0.0.1:${hole.address().port}/mcp`, timeout_ms: 800 },
    { name: 'locked', url: locked.url, auth: { bearer: 'wrong' } },
  ] });
  const started = Date.now();
  const m = modern('tools/list');
  const r = await rpc(gw.mcpURL(), m.message, { key: MCP_KEYS.admin, headers: m.headers });
  const took = Date.now() - started;
  assert.equal(r.status, 200);
  assert.ok(took < 3000, `listing took ${took} ms`);
  assert.ok(r.body.result.tools.some((x) => x.name === 'fixture__test_simple_text'));
  const down = r.body.result._meta['io.tollgate/unavailable'].map((x) => x.server).sort();
  assert.deepEqual(down, ['hole', 'locked']);
  assert.ok(!JSON.stringify(r.body.result._meta).includes('127.0.0.1'), 'servers are named, not their URLs');

  const scoped = await rpc(gw.mcpURL('locked'), m.message, { key: MCP_KEYS.admin, headers: m.headers });
  assert.equal(scoped.status, 502);
  assert.match(scoped.body.error.message, /MCP server "locked" refused the gateway's credentials \(HTTP 401\)/);
  const call = modern('tools/call', { name: 'test_simple_text', arguments: {} });
  const dead = await rpc(gw.mcpURL('hole'), call.message, { key: MCP_KEYS.admin, headers: call.headers });
  assert.equal(dead.status, 502);
  assert.match(dead.body.error.message, /MCP server "hole" is unavailable/);
});

test('streaming: progress is relayed per event with X-Accel-Buffering: no, and a client closing its stream cancels the upstream call', async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url }] });
  const m = modern('tools/call', { name: 'fixture__test_slow', arguments: { ms: 5000 }, _meta: { progressToken: 'tok' } });
  const ac = new AbortController();
  const started = Date.now();
  const res = await fetch(gw.mcpURL(), { method: 'POST', signal: ac.signal, body: JSON.stringify(m.message),
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${MCP_KEYS.admin}`, ...m.headers } });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.equal(res.headers.get('x-accel-buffering'), 'no');
  const reader = res.body.getReader();
  const { value } = await reader.read();  // the first progress event, long before the call ends
  assert.match(new TextDecoder().decode(value), /notifications\/progress/);
  assert.ok(Date.now() - started < 2000);
  ac.abort();
  const { waitFor } = await import('../integration/harness.mjs');
  await waitFor(async () => (await (await fetch(`${fx.base}/__aborts`)).json()).aborts >= 1, { timeout: 4000, message: 'the upstream call aborted' });
});

test('input: a legacy (v1) client answers sampling and elicitation that a 2026 server asked for with input_required', async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url }] });
  const client = new ClientV1({ name: 'v1-input', version: '1' }, { capabilities: { sampling: {}, elicitation: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
    model: 'test-model', role: 'assistant', content: { type: 'text', text: `Paris (asked: ${req.params.messages[0].content.text})` } }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { username: 'ada', email: 'ada@example.com' } }));
  const transport = new TransportV1(new URL(gw.mcpURL('fixture')), { requestInit: { headers: { authorization: `Bearer ${MCP_KEYS.admin}` } } });
  await client.connect(transport);
  t.after(() => client.close());
  const s = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Capital of France?' } });
  assert.equal(s.content[0].text, 'LLM response: Paris (asked: Capital of France?)');
  const e = await client.callTool({ name: 'test_elicitation', arguments: { message: 'Who are you?' } });
  assert.equal(e.content[0].text, 'User response: action=accept, content={"username":"ada","email":"ada@example.com"}');
});

test('names: a 120-character tool name is shortened to 64 LLM-safe characters and still callable', async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url }] });
  const c = await v2(gw.mcpURL(), MCP_KEYS.admin);
  t.after(() => c.client.close());
  const long = (await c.client.listTools()).tools.map((x) => x.name).find((n) => n.startsWith('fixture__a_tool_name'));
  assert.ok(long, 'the long tool is listed');
  assert.ok(long.length <= 64);
  assert.match(long, /^[A-Za-z0-9_-]+$/);
  assert.equal((await c.client.callTool({ name: long, arguments: {} })).content[0].text, 'long name reached');
});

test('validate: colliding name prefixes and bad MCP settings are reported at config load', async (t) => {
  const dir = await makeTempDir(t, 'tollgate-mcp-validate-');
  const file = await writeYaml(`${dir}/resources.yaml`, { mcp_servers: [
    { name: 'github', url: 'https://a.example/mcp' },
    { name: 'gh', url: 'https://b.example/mcp', prefix: 'github' },
    { name: 'bad name', url: 'ftp://c.example', era: '1999' },
  ] });
  const r = await runTollgate(['validate', file]);
  assert.notEqual(r.code, 0);
  const out = r.stdout + r.stderr;
  assert.match(out, /name collision: servers "github" and "gh" both mint names with prefix "github"/);
  assert.match(out, /mcp_servers\[2\]\.era/);
  assert.match(out, /mcp_servers\[2\]\.url/);
});

test('limits: per key RPM on a server answers JSON-RPC -32029 with HTTP 429 and Retry-After', async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url }], keys: mcpKeys({ team: { limits: { rpm: 2 } } }) });
  const m = modern('tools/call', { name: 'fixture__test_simple_text', arguments: {} });
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push(await rpc(gw.mcpURL(), m.message, { key: MCP_KEYS.team, headers: m.headers }));
  assert.deepEqual(codes.map((r) => r.status), [200, 200, 429]);
  assert.equal(codes[2].body.error.code, -32029);
  assert.ok(Number(codes[2].headers.get('retry-after')) >= 1);
  // Another key is not limited by it.
  assert.equal((await rpc(gw.mcpURL(), m.message, { key: MCP_KEYS.admin, headers: m.headers })).status, 200);
});

test('two gateway processes serve one legacy client alternately (sealed, self-contained sessions)', async (t) => {
  const fx = await startFixture(t);
  const dir = await makeTempDir(t, 'tollgate-mcp-two-');
  const servers = [{ name: 'fixture', url: fx.url }];
  const { configPath } = await writeConfig(dir, { tollgate: processConfig({ workers: 1 }), resources: { mcp_servers: servers, keys: mcpKeys() } });
  const g1 = await startGateway(t, { configPath });
  const g2 = await startGateway(t, { configPath });
  // Round-robin: each request goes to the other process.
  let n = 0;
  const rr = async (input, init) => {
    const u = new URL(input instanceof Request ? input.url : input);
    u.port = String(n++ % 2 ? g2.proxyPort : g1.proxyPort);
    return fetch(u, init);
  };
  const client = new ClientV1({ name: 'alternating', version: '1' });
  const transport = new TransportV1(new URL(`${g1.proxyURL}/mcp/fixture`), { fetch: rr, requestInit: { headers: { authorization: `Bearer ${MCP_KEYS.admin}` } } });
  await client.connect(transport);
  t.after(() => client.close());
  for (let i = 0; i < 4; i++)
    assert.equal((await client.callTool({ name: 'test_simple_text', arguments: {} })).content[0].text, 'This is a simple text response for testing.');
  assert.ok(n >= 6, `requests alternated (${n})`);
});

test('server-everything (third-party, stateful legacy) behind the gateway', async (t) => {
  const port = await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const { spawn } = await import('node:child_process');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const here = path.dirname(fileURLToPath(import.meta.url));
  // It listens on every interface by default: loopback.mjs pins it to 127.0.0.1.
  const proc = spawn(process.execPath, ['--import', path.join(here, 'loopback.mjs'),
    path.join(here, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js'), 'streamableHttp'],
    { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => proc.kill('SIGTERM'));
  const url = `http://127.0.0.1:${port}/mcp`;
  for (let i = 0; i < 100; i++) {
    try { await fetch(url, { method: 'GET' }); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  const gw = await startMcpGateway(t, { servers: [{ name: 'everything', url }] });
  const c = await v2(gw.mcpURL(), MCP_KEYS.admin);
  t.after(() => c.client.close());
  const tools = names((await c.client.listTools()).tools);
  assert.ok(tools.includes('everything__echo'), tools.join(','));
  const r = await c.client.callTool({ name: 'everything__echo', arguments: { message: 'hi' } });
  assert.match(r.content[0].text, /hi/);
});

test('Mcp-Param-* headers (2026-07-28 mirrored arguments) reach the upstream as they came', async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url, era: '2026-07-28' }] });
  const { message, headers } = modern('tools/call', { name: 'echo_headers', arguments: {} });
  const r = await rpc(gw.mcpURL('fixture'), message, { key: MCP_KEYS.admin, headers: { ...headers, 'Mcp-Param-Region': 'eu-west-1', 'mcp-param-tenant': '=?base64?dMOpbmFudA==?=' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const seen = JSON.parse(r.body.result.content[0].text);
  assert.equal(seen['mcp-param-region'], 'eu-west-1');
  assert.equal(seen['mcp-param-tenant'], '=?base64?dMOpbmFudA==?=');
  assert.equal(seen['mcp-name'], 'echo_headers');
});

test('a relayed stream that goes quiet gets ":" keep-alive comments until its answer', { timeout: 120_000 }, async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url, timeout_ms: 120_000 }] });
  const { message, headers } = modern('tools/call', { name: 'test_quiet_stream', arguments: { ms: 17_000 }, _meta: { progressToken: 'q1' } });
  const res = await fetch(gw.mcpURL('fixture'), { method: 'POST', body: JSON.stringify(message),
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${MCP_KEYS.admin}`, ...headers } });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  assert.equal(res.headers.get('x-accel-buffering'), 'no');
  const text = await res.text();
  const comments = text.split('\n\n').filter((e) => e.trim() === ':').length;
  assert.ok(comments >= 1, `a keep-alive comment in the 17 s of silence:\n${text}`);
  assert.match(text, /quiet done/);
  assert.ok(text.indexOf('"progress"') < text.indexOf(':\n\n'), 'the comment came while the stream idled');
});

test('subscriptions/listen on the aggregate /mcp merges the list-changed signals of several servers into one stream', { timeout: 60_000 }, async (t) => {
  const a = await startFixture(t, ['--name', 'fixture-a']);
  const b = await startFixture(t, ['--name', 'fixture-b']);
  const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: a.url }, { name: 'other', url: b.url }] });
  const listen = modern('subscriptions/listen', { notifications: { toolsListChanged: true } }, { id: 'sub-1' });
  const abort = new AbortController();
  const res = await fetch(gw.mcpURL(), { method: 'POST', body: JSON.stringify(listen.message), signal: abort.signal,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${MCP_KEYS.admin}`, ...listen.headers } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const events = [];
  const reading = (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body) {
        buf += dec.decode(chunk, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = ev.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          if (data) events.push(JSON.parse(data));
        }
      }
    } catch {
      // aborted below
    }
  })();
  const until = async (pred, what) => {
    for (let i = 0; i < 200 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(pred(), `${what}: ${JSON.stringify(events)}`);
  };
  await until(() => events.length >= 1, 'the acknowledgement');
  assert.equal(events[0].method, 'notifications/subscriptions/acknowledged');
  assert.equal(events[0].params._meta['io.modelcontextprotocol/subscriptionId'], 'sub-1');
  // Give both upstream listens a moment to be acknowledged, then change both servers' tools.
  await new Promise((r) => setTimeout(r, 1000));
  for (const name of ['fixture__test_trigger_tool_change', 'other__test_trigger_tool_change']) {
    const c = modern('tools/call', { name, arguments: {} }, { id: name });
    assert.equal((await rpc(gw.mcpURL(), c.message, { key: MCP_KEYS.admin, headers: c.headers })).status, 200);
  }
  const changed = () => events.filter((e) => e.method === 'notifications/tools/list_changed');
  await until(() => changed().length >= 2, 'a list_changed from each server');
  for (const e of changed()) assert.equal(e.params._meta['io.modelcontextprotocol/subscriptionId'], 'sub-1');
  assert.equal(events.filter((e) => e.method === 'notifications/subscriptions/acknowledged').length, 1, 'one acknowledgement, the gateway\'s');
  abort.abort();
  await reading;
  // The gateway is fine after the client left.
  const l = modern('tools/list', {}, { id: 9 });
  assert.equal((await rpc(gw.mcpURL(), l.message, { key: MCP_KEYS.admin, headers: l.headers })).status, 200);
});
