// Browser tests of the Admin UI and Playground against the real gateway (SQLite store, an
// admin key) and the mock OpenAI provider: sign in, create a provider, a model and a key,
// stream a Playground prompt, find the request in Logs and in the Overview charts.
// Screenshots land in tests/out/screenshots/.
//
//   cd tests/e2e && npm ci && TOLLGATE_BIN=../../build/tollgate node --test ui.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, makeTempDir, processConfig, startGateway, startMock, writeConfig } from '../integration/harness.mjs';
import { launchBrowser } from './browser.mjs';
import { checkLogs, checkOverview, checkResponsive, createKey, createModel, createProvider, runPlayground, signIn, watchStream } from './ui-flow.mjs';

const ADMIN_KEY = 'tg-admin-e2e-0123456789abcdef';
const T = { timeout: 120_000 };

// What the UI needs from the admin listener; probed first so a missing piece is named.
async function missingEndpoints(adminURL) {
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const probes = [
    ['GET /ui/ (the embedded UI)', `${adminURL}/ui/`, {}, (r) => r.status === 200 && /text\/html/.test(r.headers.get('content-type') ?? '')],
    ['GET /admin/v1/config', `${adminURL}/admin/v1/config`, { headers: auth }, (r) => r.status === 200],
    ['GET /admin/v1/config without the key answers 401', `${adminURL}/admin/v1/config`, {}, (r) => r.status === 401],
    ['GET /admin/v1/providers', `${adminURL}/admin/v1/providers`, { headers: auth }, (r) => r.status === 200],
    ['GET /admin/v1/models', `${adminURL}/admin/v1/models`, { headers: auth }, (r) => r.status === 200],
    ['GET /admin/v1/keys', `${adminURL}/admin/v1/keys`, { headers: auth }, (r) => r.status === 200],
    ['GET /admin/v1/usage', `${adminURL}/admin/v1/usage?from=${Date.now() - 3_600_000}&to=${Date.now()}&bucket=60&group_by=none`, { headers: auth }, (r) => r.status === 200],
    ['GET /admin/v1/requests', `${adminURL}/admin/v1/requests?limit=1`, { headers: auth }, (r) => r.status === 200],
    ['POST /v1/chat/completions on the admin listener (Playground pass-through)', `${adminURL}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, (r) => !(r.status === 404 && /unknown_route/.test(r.text ?? ''))],
  ];
  const missing = [];
  for (const [name, url, init, ok] of probes) {
    let res;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
      res.text = await res.text();
    } catch (err) {
      missing.push(`${name}: ${err.message}`);
      continue;
    }
    if (!ok(res)) missing.push(`${name}: HTTP ${res.status} ${res.text.slice(0, 120)}`);
  }
  return missing;
}

describe('Admin UI in headless chromium', () => {
  const scope = cleanupScope();
  let gw;
  let mock;
  let browser;

  before(async () => {
    mock = await startMock(scope);
    const dir = await makeTempDir(scope, 'tollgate-e2e-');
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: 'tollgate.db' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath });
    browser = await launchBrowser();
    scope.after(() => browser.close());
  });
  after(() => scope.run());

  it('signs in, configures a provider, a model and a key, streams a prompt, finds it in Logs and Overview', T, async () => {
    const missing = await missingEndpoints(gw.adminURL);
    assert.deepEqual(missing, [], `the admin listener lacks what the UI needs:\n  ${missing.join('\n  ')}`);

    const { page, problems } = browser;
    await signIn(page, { adminURL: gw.adminURL, adminKey: ADMIN_KEY });
    await createProvider(page, { name: 'mock', baseURL: mock.baseURL, apiKey: mock.apiKey });
    await createModel(page, { name: 'e2e-gpt', provider: 'mock', upstream: 'gpt-4o', priceIn: 2.5, priceOut: 10 });
    await createModel(page, { name: 'e2e-slow', provider: 'mock', upstream: 'mock-slow-stream' });
    const secret = await createKey(page, { name: 'e2e-key', models: ['e2e-gpt', 'e2e-slow'], rpm: 600, usdPerDay: 5 });

    await watchStream(page, { virtualKey: secret, model: 'e2e-slow' });

    const prompt = 'Hello from the browser test, one word at a time';
    const run = await runPlayground(page, { virtualKey: secret, model: 'e2e-gpt', prompt, expect: `Echo: ${prompt}` });
    assert.ok(run.requestId, 'the run names its request id');

    await checkLogs(page, { requestId: run.requestId, model: 'e2e-gpt', keyName: 'e2e-key' });
    await checkOverview(page, { model: 'e2e-gpt', keyName: 'e2e-key' });
    await checkResponsive(page);

    // The deliberate wrong admin key (401) and bad base_url (400) log a failed resource load;
    // nothing else may reach the console.
    const unexpected = problems.filter((p) => !/Failed to load resource: the server responded with a status of (401|400)/.test(p.text));
    assert.deepEqual(unexpected, [], `console errors or warnings:\n${unexpected.map((p) => `${p.type}: ${p.text}`).join('\n')}`);
  });

  it('a wrong admin key on the API is refused and the UI asks to sign in again', T, async () => {
    const { page } = browser;
    // The wrong key is stored from a page of the same origin where the app is not running:
    // a running app would meet the 401 first and clear the key before the reload.
    await page.goto(`${gw.adminURL}/livez`);
    await page.evaluate(() => {
      sessionStorage.clear();
      sessionStorage.setItem('tollgate.adminKey', 'not-the-admin-key');
    });
    await page.goto(`${gw.adminURL}/ui/#/keys`);
    await page.waitForSelector('[data-testid="login-form"]');
    await page.waitForSelector('[data-testid="login-error"]', { timeout: 10_000 });
    assert.match(await page.textContent('[data-testid="login-error"]'), /sign in again/i);
  });
});
