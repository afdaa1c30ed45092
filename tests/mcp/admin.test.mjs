// MCP servers as a resource kind: created, changed and deleted through the Admin API (SQLite
// store), live at once on /mcp without a restart; credentials write-only and sealed at rest;
// the schema and OpenAPI documents name the kind; GET /admin/v1/mcp_status and /metrics report
// what the gateway saw of each server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, processConfig, startGateway, writeConfig } from '../integration/harness.mjs';
import { modern, rpc, startFixture } from './helpers.mjs';

const ADMIN_KEY = 'tg-admin-mcp-0123456789abcdef';
const BEARER = 'fixture-bearer-7d1f0c9e5a';
const HEADER_SECRET = 'team-header-secret-4b8e2a';

async function api(gw, method, p, body) {
  const res = await fetch(`${gw.adminURL}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : null };
}

async function call(gw, key, server, method, params = {}, id = 1) {
  const { message, headers } = modern(method, params, { id });
  return rpc(`${gw.proxyURL}/mcp${server ? `/${server}` : ''}`, message, { key, headers });
}

test('an MCP server created through the Admin API is served on /mcp at once, its credentials held and sealed', { timeout: 120_000 }, async (t) => {
  const fx = await startFixture(t, ['--require-bearer', BEARER]);
  const dir = await makeTempDir(t, 'tollgate-mcp-admin-');
  const { configPath } = await writeConfig(dir, {
    tollgate: processConfig({ store: { kind: 'sqlite', path: './db.sqlite' }, extra: { admin: { key: ADMIN_KEY } } }),
  });
  const gw = await startGateway(t, { configPath });

  // The kind is in the schema document and the OpenAPI document, with its secrets write-only.
  const schema = await api(gw, 'GET', '/schema');
  const kind = schema.json.kinds.find((k) => k.name === 'mcp_servers');
  assert.ok(kind, 'mcp_servers is a kind of GET /admin/v1/schema');
  assert.equal(kind.write.properties.auth.properties.bearer.writeOnly, true);
  assert.equal(kind.write.properties.headers.additionalProperties.writeOnly, true);
  assert.ok(!('bearer' in (kind.read.properties.auth.properties ?? {})), 'no secret in the read schema');
  const openapi = await api(gw, 'GET', '/openapi.json');
  for (const p of ['/admin/v1/mcp_servers', '/admin/v1/mcp_servers/{name}', '/admin/v1/mcp_status'])
    assert.ok(openapi.json.paths[p], `${p} is in the OpenAPI document`);

  // A key with an MCP grant, made through the Admin API too.
  const created = await api(gw, 'POST', '/keys', { name: 'agent', mcp: { allow: ['*'], deny: ['fx__delete_*'] } });
  assert.equal(created.status, 201, created.text);
  const key = created.json.secret;
  assert.deepEqual(created.json.mcp.allow, ['*']);

  // Mistakes are named per field, in the Admin API's envelope.
  let bad = await api(gw, 'POST', '/mcp_servers', { name: 'fx', auth: { bearer: 'x' } });
  assert.equal(bad.status, 400);
  assert.ok(bad.json.error.errors.some((e) => e.field === 'url'), bad.text);
  bad = await api(gw, 'POST', '/mcp_servers', { name: 'fx', url: fx.url, era: 'sometimes' });
  assert.equal(bad.status, 400);
  assert.ok(bad.json.error.errors.some((e) => e.field === 'era'), bad.text);
  bad = await api(gw, 'POST', '/mcp_servers', { name: 'fx', url: fx.url, auth: { oauth2: { client_id: 'a' } } });
  assert.ok(bad.json.error.errors.some((e) => e.field === 'auth.oauth2.token_url'), bad.text);

  // Create: answered without its secrets, which are named in secrets_set.
  const made = await api(gw, 'POST', '/mcp_servers', {
    name: 'fx', url: fx.url, auth: { bearer: BEARER }, headers: { 'X-Team-Token': HEADER_SECRET },
    tools: { exclude: ['test_error_handling'] },
  });
  assert.equal(made.status, 201, made.text);
  assert.ok(!made.text.includes(BEARER) && !made.text.includes(HEADER_SECRET), 'no secret in the answer');
  assert.deepEqual(made.json.secrets_set.sort(), ['auth.bearer', 'headers.X-Team-Token']);
  const got = await api(gw, 'GET', '/mcp_servers/fx');
  assert.equal(got.status, 200);
  assert.ok(!got.text.includes(BEARER) && !got.text.includes(HEADER_SECRET));
  assert.equal((await api(gw, 'POST', '/mcp_servers', { name: 'fx', url: fx.url })).status, 409, 'a taken name');

  // Live at once: listed and called through /mcp with the gateway's credentials, never the key.
  let list = await call(gw, key, '', 'tools/list');
  assert.equal(list.status, 200, JSON.stringify(list.body));
  let tools = list.body.result.tools.map((x) => x.name);
  assert.ok(tools.includes('fx__test_simple_text'), tools.join());
  assert.ok(!tools.includes('fx__test_error_handling'), 'the server filter applies');
  assert.ok(!tools.includes('fx__delete_everything'), 'the key\'s deny applies');
  const r = await call(gw, key, '', 'tools/call', { name: 'fx__test_simple_text', arguments: {} }, 2);
  assert.equal(r.body.result.content[0].text, 'This is a simple text response for testing.');
  const echoed = await call(gw, key, 'fx', 'tools/call', { name: 'echo_headers', arguments: {} }, 3);
  const seen = JSON.parse(echoed.body.result.content[0].text);
  assert.equal(seen.authorization, `Bearer ${BEARER}`);
  assert.equal(seen['x-team-token'], HEADER_SECRET);
  assert.ok(!JSON.stringify(seen).includes(key), 'the caller\'s key never goes upstream');

  // Sealed at rest: neither secret is in the database files in the clear.
  for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('db.sqlite'))) {
    const bytes = fs.readFileSync(path.join(dir, f)).toString('latin1');
    assert.ok(!bytes.includes(BEARER) && !bytes.includes(HEADER_SECRET), `${f} holds a secret in the clear`);
  }

  // PUT without the secrets keeps them (a client that read the server cannot send them back).
  const put = await api(gw, 'PUT', '/mcp_servers/fx', { url: fx.url, tools: { exclude: ['test_simple_text'] } });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(put.json.secrets_set.sort(), ['auth.bearer', 'headers.X-Team-Token']);
  list = await call(gw, key, '', 'tools/list', {}, 4);
  tools = list.body.result.tools.map((x) => x.name);
  assert.ok(!tools.includes('fx__test_simple_text') && tools.includes('fx__test_error_handling'), 'the new filter is live');
  const again = await call(gw, key, 'fx', 'tools/call', { name: 'echo_headers', arguments: {} }, 5);
  assert.equal(JSON.parse(again.body.result.content[0].text).authorization, `Bearer ${BEARER}`, 'the stored bearer was kept');

  // null removes a secret: the upstream then refuses, and the call names the server.
  const cleared = await api(gw, 'PUT', '/mcp_servers/fx', { url: fx.url, auth: null });
  assert.deepEqual(cleared.json.secrets_set, ['headers.X-Team-Token']);
  const refused = await call(gw, key, 'fx', 'tools/call', { name: 'echo_headers', arguments: {} }, 6);
  assert.ok(refused.body.error ?? refused.body.final?.error, JSON.stringify(refused.body));
  assert.match(JSON.stringify(refused.body), /MCP server \\"fx\\"/);
  let status = await api(gw, 'GET', '/mcp_status');
  assert.equal(status.json.data.find((s) => s.name === 'fx').reachable, false, 'a refusal is the last exchange');
  assert.equal((await api(gw, 'PUT', '/mcp_servers/fx', { url: fx.url, auth: { bearer: BEARER } })).status, 200);
  const back = await call(gw, key, 'fx', 'tools/call', { name: 'echo_headers', arguments: {} }, 9);
  assert.equal(JSON.parse(back.body.result.content[0].text).authorization, `Bearer ${BEARER}`);

  // Another server may not mint names with the same prefix.
  const clash = await api(gw, 'POST', '/mcp_servers', { name: 'other', url: fx.url, prefix: 'fx' });
  assert.equal(clash.status, 400);
  assert.ok(clash.json.error.errors.some((e) => e.field === 'prefix' && /collision/.test(e.message)), clash.text);

  // What the gateway saw: reachable, advertised tools, calls per tool; and in /metrics.
  status = await api(gw, 'GET', '/mcp_status');
  const st = status.json.data.find((s) => s.name === 'fx');
  assert.equal(st.reachable, true, status.text);
  assert.ok(st.tools.includes('echo_headers'));
  assert.ok(st.requests >= 4 && st.errors >= 1, status.text);
  assert.ok(st.last_error.includes('fx'), 'the refused call is the last error');
  const echo = st.tool_calls.find((c) => c.tool === 'echo_headers');
  assert.ok(echo.calls >= 4 && echo.errors >= 1, status.text);
  const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
  assert.match(metrics, /tollgate_mcp_requests_total\{server="fx",method="tools\/call",tool="echo_headers",outcome="ok"\} 3/);
  assert.match(metrics, /tollgate_mcp_server_up\{server="fx"\} 1/);
  assert.match(metrics, /tollgate_mcp_request_duration_seconds_count\{server="fx",method="tools\/call",tool="echo_headers",outcome="error"\} 1/);

  // Delete: gone from /mcp at once.
  const del = await api(gw, 'DELETE', '/mcp_servers/fx');
  assert.equal(del.status, 200, del.text);
  assert.equal((await call(gw, key, 'fx', 'tools/list', {}, 7)).status, 404);
  list = await call(gw, key, '', 'tools/list', {}, 8);
  assert.deepEqual(list.body.result.tools, []);
  assert.equal((await api(gw, 'DELETE', '/mcp_servers/fx')).status, 404);
});
