// Two admins editing one resource (issue 15): the Admin UI's edit form saves with If-Match, the
// version it opened; a save after someone else's answers 409, which the form says plainly, and
// "Load the latest version" brings theirs into the form so the edit can be made again. The real
// gateway (SQLite store: the same versions as PostgreSQL) in headless chromium.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, makeTempDir, processConfig, startGateway, writeConfig } from '../integration/harness.mjs';
import { launchBrowser } from './browser.mjs';
import { shot } from './ui-flow.mjs';

const ADMIN_KEY = 'tg-admin-e2e-stale-0123456789abcdef';
const T = { timeout: 120_000 };
const byTest = (id) => `[data-testid="${id}"]`;

async function api(gw, method, path, body) {
  const res = await fetch(`${gw.adminURL}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, etag: res.headers.get('etag'), json: await res.json() };
}

describe('the edit form against a concurrent writer', () => {
  const scope = cleanupScope();
  let gw;
  let browser;

  before(async () => {
    const dir = await makeTempDir(scope, 'tollgate-e2e-stale-');
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: 'tollgate.db' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath });
    assert.equal((await api(gw, 'POST', '/guardrails', { name: 'words', kind: 'keywords', mode: 'block', keywords: ['one'] })).status, 201);
    browser = await launchBrowser();
    scope.after(() => browser.close());
  });
  after(() => scope.run());

  it('saves with If-Match; a stale save answers 409, shown in the form, and the latest version can be loaded and saved', T, async () => {
    const { page } = browser;
    const writes = [];
    page.on('request', (req) => {
      if (['PUT', 'PATCH'].includes(req.method()) && req.url().includes('/admin/v1/guardrails/')) writes.push(req.headers()['if-match'] ?? null);
    });
    await page.goto(`${gw.adminURL}/ui/`);
    await page.fill('input[name="admin-key"]', ADMIN_KEY);
    await page.click('button[type="submit"]');
    await page.click(byTest('nav-guardrails'));
    await page.click(byTest('edit-guardrails-words'));
    const form = page.locator(byTest('form-guardrails'));
    await form.waitFor();
    const opened = (await api(gw, 'GET', '/guardrails/words')).etag;
    await page.waitForSelector(`${byTest('form-guardrails')}[data-version='${opened}']`);  // the form has read it

    // Another admin saves first.
    const other = await api(gw, 'PUT', '/guardrails/words', { name: 'words', kind: 'keywords', mode: 'monitor', keywords: ['two'] });
    assert.equal(other.status, 200);

    await form.locator('select[name="mode"]').selectOption('redact');
    await page.click(byTest('save-guardrails'));
    const stale = page.locator(byTest('stale-version'));
    await stale.waitFor();
    assert.match(await stale.textContent(), /changed by someone else since you opened it \(it is now at version \d+\); your changes were not saved/);
    assert.deepEqual(writes, [opened], 'the save carried the version the form opened');
    assert.equal((await api(gw, 'GET', '/guardrails/words')).json.mode, 'monitor', 'their change stands');
    await shot(page, '60-stale-edit');

    await page.click(byTest('load-latest'));
    await stale.waitFor({ state: 'detached' });
    await page.waitForSelector(`${byTest('form-guardrails')}[data-version='${other.etag}']`);
    assert.equal(await form.locator('select[name="mode"]').inputValue(), 'monitor', 'their version in the form');
    await form.locator('select[name="mode"]').selectOption('redact');
    await page.click(byTest('save-guardrails'));
    await form.waitFor({ state: 'detached' });
    const now = await api(gw, 'GET', '/guardrails/words');
    assert.equal(now.json.mode, 'redact');
    assert.deepEqual(now.json.keywords, ['two'], 'made on top of theirs');
    assert.equal(writes.length, 2);
    assert.equal(writes[1], other.etag, 'the second save carried the version it loaded');
  });
});
