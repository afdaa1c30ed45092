// A newcomer's first start in a browser: the gateway on a fresh data directory with no admin
// key prints a sign-in link; opening it signs the Admin UI in and takes the secret out of the
// address bar; the Access page makes a viewer admin key from the schema-driven form and shows
// the write in the audit log; the Playground's copied snippets name the port the proxy really
// listens on (the config says port 0) and run as copied with the printed virtual key.
// Screenshots land in tests/out/screenshots/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cleanupScope, makeTempDir, processConfig, startGateway, waitFor, writeConfig } from '../integration/harness.mjs';
import { launchBrowser } from './browser.mjs';
import { shot } from './ui-flow.mjs';

const T = { timeout: 90_000 };
const LINK_RE = /sign in to the Admin UI[^\n]*\n\s+(http:\/\/\S+\/ui\/#signin=(\S+))/;
const VKEY_RE = /first virtual key[^\n]*\n\s+export TOLLGATE_KEY=(\S+)/;
const byTest = (id) => `[data-testid="${id}"]`;

describe('first start: the sign-in link in headless chromium', () => {
  const scope = cleanupScope();
  let gw;
  let browser;

  before(async () => {
    const dir = await makeTempDir(scope, 'tollgate-e2e-first-');
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './data/tollgate.db' } }),
    });
    gw = await startGateway(scope, { configPath });
    browser = await launchBrowser();
    scope.after(() => browser.close());
  });
  after(() => scope.run());

  it('the printed link signs in; the Access page creates an admin key and shows the audit log', T, async () => {
    await waitFor(() => LINK_RE.test(gw.output().stdout), { timeout: 5000, message: 'the sign-in link' });
    const [, link, secret] = LINK_RE.exec(gw.output().stdout);
    assert.ok(link.startsWith(`${gw.adminURL}/ui/`), `${link} is on the admin listener`);

    const { page, problems } = browser;
    await page.goto(link);
    await page.waitForSelector(byTest('page-overview'));
    assert.ok(!page.url().includes(secret), `the secret left the address bar: ${page.url()}`);
    assert.match(page.url(), /#\/overview$/);
    await shot(page, '20-first-start-signed-in');
    // No history entry holds the link: back goes to the blank page the browser started on.
    await page.goBack();
    assert.ok(!page.url().includes('signin'), `history kept the link: ${page.url()}`);
    await page.goForward();
    await page.waitForSelector(byTest('page-overview'));

    await page.click(byTest('nav-access'));
    await page.waitForSelector(byTest('table-admin_keys'));
    assert.match(await page.textContent(byTest('row-admin_keys-first-admin')), /first-admin\s*admin/);
    await page.click(byTest('admin-key-new'));
    const form = page.locator(byTest('form-admin_keys'));
    // Made from the schema: the role is a select of its enum, its default named.
    assert.deepEqual(await form.locator('select[name="role"] option').allTextContents(), ['default (viewer)', 'admin', 'viewer', 'team-admin']);
    assert.equal(await form.locator('select[name="role"]').inputValue(), '');
    await form.locator('input[name="name"]').fill('bad name');
    await page.click(byTest('save-admin_keys'));
    await page.waitForSelector(byTest('error-name'));
    assert.match(await page.textContent(byTest('error-name')), /does not match/);
    await shot(page, '21-admin-key-field-error');
    await form.locator('input[name="name"]').fill('ops-viewer');
    await page.click(byTest('save-admin_keys'));
    await page.waitForSelector(byTest('key-secret'));
    const viewer = (await page.textContent(byTest('key-secret'))).trim();
    assert.match(viewer, /^tga-/);
    await shot(page, '22-admin-key-secret-once');
    await page.click(byTest('secret-done'));
    await page.waitForSelector(byTest('row-admin_keys-ops-viewer'));
    assert.match(await page.textContent(byTest('row-admin_keys-ops-viewer')), /viewer/, 'the default role was given');
    await page.waitForFunction(() => document.querySelector('[data-testid="audit-log"]')?.textContent.includes('POST /admin/v1/admin_keys'));
    const audit = await page.textContent(byTest('audit-log'));
    assert.match(audit, /admin_key:first-admin/);
    assert.ok(!audit.includes(viewer), 'the audit log holds no secret');
    await shot(page, '23-access-audit-log');

    // The viewer's key works in the API and may only read.
    const res = await fetch(`${gw.adminURL}/admin/v1/admin_keys`, { method: 'POST', headers: { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' }, body: '{"name":"x"}' });
    assert.equal(res.status, 403);
    assert.deepEqual(problems.filter((p) => p.type === 'pageerror'), []);
  });

  it("the Playground's copied snippets use the proxy's real port and run as copied", T, async () => {
    const [, vkey] = VKEY_RE.exec(gw.output().stdout) ?? [];
    assert.ok(vkey, `the first virtual key is printed:\n${gw.output().stdout}`);
    const { page } = browser;
    await page.click(byTest('nav-playground'));
    await page.fill(byTest('message-0'), 'hello from a copied snippet');
    // The config said 127.0.0.1:0; the snippets name the port the kernel gave.
    const base = `http://127.0.0.1:${gw.proxyPort}/v1`;
    for (const k of ['curl', 'python', 'node']) {
      await page.click(byTest(`snippet-${k}`));
      const text = await page.textContent(byTest('snippet-text'));
      assert.ok(text.includes(base), `the ${k} snippet names ${base}:\n${text}`);
      assert.ok(!/127\.0\.0\.1:0\b/.test(text), `the ${k} snippet names port 0`);
      await page.click(byTest(`snippet-${k}`)); // closes it again
    }
    await page.click(byTest('snippet-curl'));
    await page.click(byTest('snippet-copy'));
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(copied, await page.textContent(byTest('snippet-text')), 'the copy button copies the snippet shown');
    await shot(page, '24-first-start-playground-snippet');
    // The copied command, run by a shell with the printed key: the proxy answers with a stream.
    const { stdout } = await promisify(execFile)('bash', ['-c', copied], { env: { ...process.env, TOLLGATE_KEY: vkey }, timeout: 20_000 });
    assert.match(stdout, /^data: /m, `a stream came back:\n${stdout.slice(0, 500)}`);
    assert.match(stdout, /data: \[DONE\]/);
  });
});
