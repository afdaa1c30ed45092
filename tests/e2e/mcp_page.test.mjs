// The Admin UI's MCP servers page in headless chromium: a server registered through its form
// (credential held by the gateway, never shown), agents' calls through /mcp, then the page shows
// each server's status (reachable, or unreachable with its last error), advertised tools,
// requests, errors and latency, per server and per tool. Screenshot: tests/out/screenshots/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closedPort, makeTempDir, processConfig, startGateway, writeConfig } from '../integration/harness.mjs';
import { modern, rpc, startFixture } from '../mcp/helpers.mjs';
import { launchBrowser } from './browser.mjs';
import { shot } from './ui-flow.mjs';

const ADMIN_KEY = 'tg-admin-e2e-mcp-0123456789abcdef';
const BEARER = 'fixture-bearer-e2e-91c3';
const byTest = (id) => `[data-testid="${id}"]`;

async function admin(gw, method, p, body) {
  const res = await fetch(`${gw.adminURL}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, json: await res.json() };
}

test('MCP servers page: register a server, then see status, tools, calls, errors and latency', { timeout: 180_000 }, async (t) => {
  const fx = await startFixture(t, ['--require-bearer', BEARER]);
  const dir = await makeTempDir(t, 'tollgate-e2e-mcp-');
  const { configPath } = await writeConfig(dir, {
    tollgate: processConfig({ store: { kind: 'sqlite', path: 'tollgate.db' }, extra: { admin: { key: ADMIN_KEY } } }),
  });
  const gw = await startGateway(t, { configPath });
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const { page, problems } = browser;

  await page.goto(`${gw.adminURL}/ui/`);
  await page.fill('input[name="admin-key"]', ADMIN_KEY);
  await page.click('button[type="submit"]');
  await page.waitForSelector(byTest('page-overview'));
  await page.click(byTest('nav-mcp_servers'));
  await page.waitForSelector(byTest('page-mcp_servers'));

  // Registered through the page's form (made from the schema); a missing url is named first.
  await page.click(byTest('new-mcp_servers'));
  const form = page.locator(byTest('form-mcp_servers'));
  await form.locator('input[name="name"]').fill('fx');
  await form.locator('details[data-group="auth"] > summary').click();
  await form.locator('input[name="auth.bearer"]').fill(BEARER);
  await page.click(byTest('save-mcp_servers'));
  await page.waitForSelector(byTest('error-url'));
  await form.locator('input[name="url"]').fill(fx.url);
  await page.click(byTest('save-mcp_servers'));
  await page.locator(byTest('mcp-row-fx')).waitFor();
  assert.ok(!(await page.content()).includes(BEARER), 'the bearer never reaches the page');

  // A second server nobody answers at, registered through the API.
  const down = await admin(gw, 'POST', '/mcp_servers', { name: 'down', url: `http://127.0.0.1:${await closedPort()}/mcp`, timeout_ms: 2000 });
  assert.equal(down.status, 201);
  const created = await admin(gw, 'POST', '/keys', { name: 'agent', mcp: { allow: ['*'] } });
  const key = created.json.secret;

  // An agent works: lists (the dead server is named, the other's tools come back), calls.
  const send = async (method, params, id, server = '') => {
    const { message, headers } = modern(method, params, { id });
    return rpc(`${gw.proxyURL}/mcp${server ? `/${server}` : ''}`, message, { key, headers });
  };
  const list = await send('tools/list', {}, 1);
  assert.ok(list.body.result.tools.some((x) => x.name === 'fx__test_simple_text'));
  assert.equal(list.body.result._meta['io.tollgate/unavailable'][0].server, 'down');
  for (let i = 0; i < 3; i++) await send('tools/call', { name: 'fx__test_simple_text', arguments: {} }, 10 + i);
  await send('tools/call', { name: 'fx__test_error_handling', arguments: {} }, 20);
  await send('tools/call', { name: 'down__anything', arguments: {} }, 21);

  // The page, refreshed: both servers' status and counters.
  await page.click(byTest('mcp-status-refresh'));
  const fxRow = page.locator(byTest('mcp-row-fx'));
  await page.waitForFunction(() => /reachable/.test(document.querySelector('[data-testid="mcp-row-fx"]')?.textContent ?? '')
    && /unreachable/.test(document.querySelector('[data-testid="mcp-row-down"]')?.textContent ?? ''), null, { timeout: 15_000 });
  const cells = await fxRow.locator('td').allTextContents();
  assert.equal(cells[1], 'reachable');
  assert.ok(Number(cells[2]) >= 20, `advertised tools: ${cells[2]}`);
  assert.equal(cells[3], '4', 'three calls and one tool error');
  assert.equal(cells[4], '1');
  assert.match(cells[5], /ms|s$/);
  assert.match(await page.locator(byTest('mcp-row-down')).textContent(), /MCP server "down"/);

  await fxRow.click();
  const details = page.locator(byTest('mcp-details-fx'));
  await details.waitFor();
  assert.match(await details.locator(byTest('mcp-tools-fx')).textContent(), /test_simple_text/);
  const perTool = await details.locator(byTest('mcp-tool-calls-fx')).textContent();
  assert.match(perTool, /test_simple_text\s*30/);
  assert.match(perTool, /test_error_handling\s*11/);
  assert.match(await details.textContent(), /credentials set: auth\.bearer/);
  await shot(page, 'mcp-servers');

  await page.locator(byTest('mcp-row-down')).click();
  await page.locator(byTest('mcp-last-error-down')).waitFor();
  await shot(page, 'mcp-servers-down');
  // The form's deliberate 400 is the only one the browser may report.
  const unexpected = problems.filter((p) => !/Failed to load resource: the server responded with a status of 400/.test(p.text));
  assert.deepEqual(unexpected, [], 'no console errors');
});
