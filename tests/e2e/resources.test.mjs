// The schema-driven resource pages in headless chromium, against the real gateway (SQLite store)
// and the mock OpenAI provider: budgets as spent/limit bars on keys (spend from a real request);
// guardrail policies made and edited through the generic form (x-only-if fields, API errors at
// the field, PII entities) and "try a prompt"; and a kind the UI has no code for, which gets a
// page from the schema alone. Screenshots land in tests/out/screenshots/.
//
// The last kind stands in for the ones other branches add (teams, mcp_servers, ...): the test
// adds it to the gateway's real GET /admin/v1/schema answer and answers its routes itself, with
// the gateway's envelopes. Everything else is the real gateway.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, makeTempDir, postJson, processConfig, startGateway, startMock, waitFor, writeConfig } from '../integration/harness.mjs';
import { launchBrowser } from './browser.mjs';
import { shot } from './ui-flow.mjs';

const ADMIN_KEY = 'tg-admin-e2e-res-0123456789abcdef';
const T = { timeout: 120_000 };
const byTest = (id) => `[data-testid="${id}"]`;

async function api(gw, method, path, body) {
  const res = await fetch(`${gw.adminURL}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The "teams" kind as another branch declares it: what the schema would say of it. */
function teamsKind() {
  const write = {
    type: 'object',
    description: 'A team of keys (stand-in).',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: '^[a-z-]+$' },
      models: { type: 'array', items: { type: 'string', 'x-reference': 'models' }, description: 'allowed aliases' },
      limits: { $ref: '#/components/Limits' },
      budget: { $ref: '#/components/Budget' },
      webhook_secret: { type: 'string', writeOnly: true, description: 'signs budget webhooks' },
    },
  };
  const read = { ...write, properties: { ...write.properties, spend: { type: ['object', 'null'], readOnly: true } } };
  delete read.properties.webhook_secret;
  return { name: 'teams', singular: 'team', component: 'Team', description: 'A team of keys (stand-in).', generic_routes: true, path: '/admin/v1/teams', write, read, example: { name: 'search' } };
}

/** Answers /admin/v1/teams as the gateway's generic routes do (an in-memory store). */
function serveTeams(page, seen) {
  const teams = new Map();
  const reply = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  const shown = (t) => {
    const { webhook_secret: _secret, ...rest } = t;
    return { ...rest, spend: { usd_today: 0.5, usd_month: 0.5, usd_total: 0.5 } };
  };
  return page.route(/\/admin\/v1\/teams(\/[^?]*)?(\?.*)?$/, async (route) => {
    const req = route.request();
    const name = decodeURIComponent(new URL(req.url()).pathname.split('/')[4] ?? '');
    const body = req.postData() ? JSON.parse(req.postData()) : null;
    seen.push({ method: req.method(), name, body });
    if (req.method() === 'GET') return name ? reply(route, 200, shown(teams.get(name))) : reply(route, 200, { data: [...teams.values()].map(shown) });
    if (req.method() === 'DELETE') return teams.delete(name), reply(route, 200, { name, deleted: true });
    if (body?.limits?.rpm !== undefined && body.limits.rpm < 1)
      return reply(route, 400, { error: { message: 'Invalid resource: limits.rpm: must be between 1 and 1125899906842624, not 0', type: 'invalid_request_error', code: 'invalid_resource', errors: [{ field: 'limits.rpm', message: 'must be between 1 and 1125899906842624, not 0' }] } });
    const doc = { ...teams.get(name || body.name), ...body, ...(body.webhook_secret ? {} : { webhook_secret: teams.get(name)?.webhook_secret }) };
    teams.set(doc.name, doc);
    return reply(route, name ? 200 : 201, shown(doc));
  });
}

describe('schema-driven resource pages in headless chromium', () => {
  const scope = cleanupScope();
  let gw;
  let mock;
  let browser;
  let spender;

  before(async () => {
    mock = await startMock(scope);
    const dir = await makeTempDir(scope, 'tollgate-e2e-res-');
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: 'tollgate.db' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath });
    // A priced model and a key with a warn budget, then one real request so the key has spend.
    await api(gw, 'POST', '/providers', { name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey });
    await api(gw, 'POST', '/models', { name: 'priced', targets: [{ provider: 'mock', model: 'gpt-4o' }], pricing: { input: 10000, output: 10000 } });
    const key = await api(gw, 'POST', '/keys', { name: 'spender', models: ['priced'], budget: { usd_per_day: 0.01, usd_per_month: 100, mode: 'warn' } });
    const res = await postJson(`${gw.proxyURL}/v1/chat/completions`, { model: 'priced', messages: [{ role: 'user', content: 'Say something to spend a little' }] }, { apiKey: key.secret });
    assert.equal(res.status, 200, JSON.stringify(res.json ?? res.text));
    spender = await waitFor(
      async () => {
        const k = (await api(gw, 'GET', '/keys')).data.find((x) => x.name === 'spender');
        return k.spend?.usd_today > 0 ? k : null;
      },
      { timeout: 15_000, message: 'the key to show spend' },
    );
    browser = await launchBrowser();
    scope.after(() => browser.close());
  });
  after(() => scope.run());

  it('signs in; keys show spent/limit bars from the spend the API returns', T, async () => {
    const { page } = browser;
    await page.goto(`${gw.adminURL}/ui/`);
    await page.fill('input[name="admin-key"]', ADMIN_KEY);
    await page.click('button[type="submit"]');
    await page.click(byTest('nav-keys'));
    const row = page.locator(byTest('row-keys-spender'));
    await row.waitFor();
    const day = row.locator(byTest('budget-day'));
    const month = row.locator(byTest('budget-month'));
    assert.equal(Number(await day.getAttribute('data-spent')), spender.spend.usd_today);
    assert.equal(Number(await day.getAttribute('data-limit')), 0.01);
    assert.equal(Number(await month.getAttribute('data-limit')), 100);
    // Spent past the day's cap: a full bar marked over, and the warn budget says so.
    const dayBar = day.locator('.bar > span');
    if (spender.spend.usd_today >= 0.01) {
      assert.equal(await dayBar.getAttribute('class'), 'over');
      assert.match(await day.textContent(), /over \(warn\)/);
      assert.equal(await dayBar.evaluate((el) => el.style.width), '100%');
    }
    const monthWidth = parseFloat(await month.locator('.bar > span').evaluate((el) => el.style.width));
    assert.ok(Math.abs(monthWidth - (spender.spend.usd_month / 100) * 100) < 0.01, `month bar ${monthWidth}% for ${spender.spend.usd_month} of 100`);
    assert.equal(await month.locator('[role="meter"]').getAttribute('aria-valuenow'), String(spender.spend.usd_month));
    await shot(page, '30-keys-budget-bars');
  });

  it('keys keep their own flows: edit by PATCH, rotate and revoke with the secret shown once', T, async () => {
    const { page } = browser;
    await page.click(byTest('new-keys'));
    const form = page.locator(byTest('form-keys'));
    await form.locator('input[name="name"]').fill('flows');
    await form.locator('input[name="limits.rpm"]').fill('30');
    await form.locator('input[name="budget.usd_total"]').fill('5');
    await page.click(byTest('save-keys'));
    const first = (await page.textContent(byTest('key-secret'))).trim();
    await page.click(byTest('secret-done'));
    const row = page.locator(byTest('row-keys-flows'));
    await row.waitFor();
    assert.match(await row.textContent(), /30 rpm/);
    assert.equal(await row.locator(byTest('budget-total')).getAttribute('data-limit'), '5');

    // An edit: the name is fixed, fields a PATCH cannot change are not offered, a cleared limit is removed.
    await page.click(byTest('edit-keys-flows'));
    assert.equal(await form.locator('input[name="name"]').isDisabled(), true);
    assert.equal(await form.locator('input[name="team"]').count(), 0);
    await form.locator('input[name="limits.rpm"]').fill('');
    await form.locator('input[name="limits.tpm"]').fill('1000');
    await page.click(byTest('save-keys'));
    await page.waitForFunction(() => /1000 tpm/.test(document.querySelector('[data-testid="row-keys-flows"]')?.textContent ?? ''));
    const patched = (await api(gw, 'GET', '/keys')).data.find((k) => k.name === 'flows');
    assert.deepEqual(patched.limits, { tpm: 1000 });
    assert.equal(patched.budget.usd_total, 5, 'what the edit left alone is kept');

    page.once('dialog', (d) => d.accept());
    await page.click(byTest('rotate-keys-flows'));
    await page.waitForSelector(byTest('secret-modal'));
    const second = (await page.textContent(byTest('key-secret'))).trim();
    assert.notEqual(second, first, 'rotate shows a new secret');
    await page.click(byTest('secret-done'));
    const works = await postJson(`${gw.proxyURL}/v1/chat/completions`, { model: 'demo', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: second });
    assert.equal(works.status, 200, works.text);
    const old = await postJson(`${gw.proxyURL}/v1/chat/completions`, { model: 'demo', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: first });
    assert.equal(old.status, 401);

    page.once('dialog', (d) => d.accept());
    await page.click(byTest('revoke-keys-flows'));
    await page.waitForFunction(() => /revoked/.test(document.querySelector('[data-testid="row-keys-flows"]')?.textContent ?? ''));
    assert.equal(await page.locator(byTest('rotate-keys-flows')).count(), 0, 'a revoked key cannot be rotated');
    const revoked = await postJson(`${gw.proxyURL}/v1/chat/completions`, { model: 'demo', messages: [{ role: 'user', content: 'hi' }] }, { apiKey: second });
    assert.equal(revoked.status, 401);
    await shot(page, '30b-keys-rotated-revoked');
  });

  it('makes and edits guardrail policies with the generic form and tries a prompt against them', T, async () => {
    const { page } = browser;
    await page.click(byTest('nav-guardrails'));
    await page.click(byTest('new-guardrails'));
    const form = page.locator(byTest('form-guardrails'));
    await form.locator('input[name="name"]').fill('no-email');
    // Fields that apply only to one kind appear with it (x-only-if in the schema).
    await form.locator('select[name="kind"]').selectOption('moderation');
    await form.locator('select[name="provider"]').waitFor();
    // The select appears before the providers' list has come back: wait for its options.
    await form.locator('select[name="provider"] option', { hasText: 'mock' }).waitFor({ state: 'attached' });
    const providers = await form.locator('select[name="provider"] option').allTextContents();
    assert.deepEqual(providers.sort(), ['demo', 'mock', '— choose —'], 'a reference is a select of the existing providers');
    await form.locator('select[name="kind"]').selectOption('pii');
    assert.equal(await form.locator('select[name="provider"]').count(), 0);
    assert.equal(await form.locator('textarea[name="patterns"]').count(), 0, 'deny-list patterns are for kind keywords');
    await form.locator('select[name="mode"]').selectOption('redact');
    await form.locator('input[name="entities:email"]').check();
    await shot(page, '31-guardrail-form');
    await page.click(byTest('save-guardrails'));
    const noEmail = page.locator(byTest('row-guardrails-no-email'));
    await noEmail.waitFor();
    assert.match(await noEmail.textContent(), /pii.*redact.*email/);

    // A broken pattern: the API's message shows at the field, the form stays open.
    await page.click(byTest('new-guardrails'));
    await form.locator('input[name="name"]').fill('deny-falcon');
    await form.locator('select[name="kind"]').selectOption('keywords');
    await form.locator('textarea[name="patterns"]').fill('project\\s+(falcon');
    await page.click(byTest('save-guardrails'));
    await page.waitForSelector(byTest('error-patterns'));
    assert.match(await page.textContent(byTest('error-patterns')), /missing \)/);
    await shot(page, '32-guardrail-pattern-error');
    await form.locator('textarea[name="patterns"]').fill('project\\s+falcon\nclassified');
    await page.click(byTest('save-guardrails'));
    await page.locator(byTest('row-guardrails-deny-falcon')).waitFor();
    const stored = (await api(gw, 'GET', '/guardrails/deny-falcon'));
    assert.deepEqual(stored.patterns, ['project\\s+falcon', 'classified'], 'one pattern a line');

    // Try a prompt: redact with the new text, block with the reason.
    await page.fill(byTest('try-text'), 'Mail jane.doe@example.com about project falcon');
    await page.click(byTest('try-run'));
    await page.waitForSelector(byTest('try-results'));
    assert.equal(await page.getAttribute(byTest('try-result-no-email'), 'data-outcome'), 'redact');
    const redacted = await page.textContent(byTest('try-redacted-no-email'));
    assert.match(redacted, /^Mail \[EMAIL[^\]]*\] about project falcon$/);
    assert.equal(await page.getAttribute(byTest('try-result-deny-falcon'), 'data-outcome'), 'block');
    assert.match(await page.textContent(byTest('try-reason-deny-falcon')), /deny-falcon/);
    await shot(page, '33-guardrail-try');
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the try page fits a 390 px screen (overflow ${overflow}px)`);
    await shot(page, '33b-guardrail-try-phone');
    await page.setViewportSize({ width: 1400, height: 900 });
    // Only the policies ticked are tried.
    await page.uncheck('input[name="try-policy-deny-falcon"]');
    await page.fill(byTest('try-text'), 'Nothing to see here');
    await page.click(byTest('try-run'));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="try-results"] tbody tr').length === 1);
    assert.equal(await page.getAttribute(byTest('try-result-no-email'), 'data-outcome'), 'allow');

    // An edit starts from the stored policy and is live at once.
    await page.click(byTest('edit-guardrails-no-email'));
    assert.equal(await form.locator('input[name="name"]').isDisabled(), true, 'the name cannot change');
    assert.equal(await form.locator('input[name="entities:email"]').isChecked(), true);
    await form.locator('select[name="mode"]').selectOption('block');
    await page.click(byTest('save-guardrails'));
    await page.waitForFunction(() => /block/.test(document.querySelector('[data-testid="row-guardrails-no-email"]')?.textContent ?? ''));
    await page.fill(byTest('try-text'), 'write to ann@example.com');
    await page.click(byTest('try-run'));
    await page.waitForFunction(() => document.querySelector('[data-testid="try-result-no-email"]')?.dataset.outcome === 'block');
  });

  it('the model form is the generic one: a target list with provider selects, pricing, limits', T, async () => {
    const { page } = browser;
    await page.click(byTest('nav-models'));
    await page.click(byTest('edit-models-priced'));
    const form = page.locator(byTest('form-models'));
    assert.equal(await form.locator('select[name="targets[0].provider"]').inputValue(), 'mock');
    assert.equal(await form.locator('input[name="targets[0].model"]').inputValue(), 'gpt-4o');
    assert.equal(await form.locator('input[name="pricing.input"]').inputValue(), '10000');
    await form.getByRole('button', { name: 'Add target' }).click();
    await form.locator('select[name="targets[1].provider"]').selectOption('mock');
    // Left without its upstream model: the API names targets[1].model and the form shows it there.
    await form.locator('input[name="limits.rpm"]').fill('120');
    await page.click(byTest('save-models'));
    await page.waitForSelector(byTest('error-targets[1].model'));
    await page.locator(byTest('error-targets[1].model')).scrollIntoViewIfNeeded();
    await shot(page, '34-model-form-target-error');
    await form.locator('input[name="targets[1].model"]').fill('gpt-4o-mini');
    await page.click(byTest('save-models'));
    await page.waitForFunction(() => /gpt-4o-mini/.test(document.querySelector('[data-testid="row-models-priced"]')?.textContent ?? ''));
    const model = await api(gw, 'GET', '/models/priced');
    assert.deepEqual(model.targets.map((t) => `${t.provider}/${t.model}`), ['mock/gpt-4o', 'mock/gpt-4o-mini']);
    assert.equal(model.limits.rpm, 120);
    assert.equal(model.pricing.input, 10000, 'fields the person did not touch are kept');
    assert.match(await page.textContent(byTest('row-models-priced')), /120 rpm/);
  });

  it('a kind the UI has no code for gets a page, a form and budget bars from the schema alone', T, async () => {
    const { context } = browser;
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.route(/\/admin\/v1\/schema$/, async (route) => {
      const res = await route.fetch();
      const doc = await res.json();
      // The real teams kind (when this branch has it) gives way to the stand-in this test serves.
      doc.kinds = doc.kinds.filter((k) => k.name !== 'teams');
      doc.kinds.push(teamsKind());
      await route.fulfill({ response: res, body: JSON.stringify(doc) });
    });
    const seen = [];
    await serveTeams(page, seen);
    // A new tab has its own sessionStorage: sign in again.
    await page.goto(`${gw.adminURL}/ui/`);
    await page.fill('input[name="admin-key"]', ADMIN_KEY);
    await page.click('button[type="submit"]');
    await page.click(byTest('nav-teams'));
    await page.waitForSelector(byTest('page-teams'));
    assert.equal(await page.textContent(byTest('nav-teams')), 'Teams');
    await page.click(byTest('new-teams'));
    const form = page.locator(byTest('form-teams'));
    await form.locator('input[name="name"]').fill('search');
    await form.locator('input[name="models:priced"]').check();
    await form.locator('input[name="limits.rpm"]').fill('0');
    await form.locator('input[name="budget.usd_per_day"]').fill('2');
    await form.locator('select[name="budget.mode"]').selectOption('warn');
    await form.locator('input[name="webhook_secret"]').fill('whsec-123');
    assert.equal(await form.locator('input[name="webhook_secret"]').getAttribute('type'), 'password');
    await page.click(byTest('save-teams'));
    await page.waitForSelector(byTest('error-limits.rpm'));
    assert.match(await page.textContent(byTest('error-limits.rpm')), /must be between 1/);
    await form.locator('input[name="limits.rpm"]').fill('60');
    await page.click(byTest('save-teams'));
    const row = page.locator(byTest('row-teams-search'));
    await row.waitFor();
    assert.deepEqual(seen.filter((s) => s.method === 'POST').at(-1).body, {
      name: 'search', models: ['priced'], limits: { rpm: 60 }, budget: { usd_per_day: 2, mode: 'warn' }, webhook_secret: 'whsec-123',
    });
    const text = await row.textContent();
    assert.match(text, /priced/);
    assert.match(text, /60 rpm/);
    assert.ok(!text.includes('whsec-123'), 'a write-only field is never shown');
    const day = row.locator(byTest('budget-day'));
    assert.equal(await day.getAttribute('data-spent'), '0.5');
    assert.equal(await day.locator('.bar > span').evaluate((el) => el.style.width), '25%');
    await shot(page, '35-generic-kind-page');
    // An edit that leaves the secret empty does not send it (the stored one is kept).
    await page.click(byTest('edit-teams-search'));
    assert.equal(await form.locator('input[name="webhook_secret"]').inputValue(), '');
    await form.locator('input[name="limits.rpm"]').fill('90');
    await page.click(byTest('save-teams'));
    await page.waitForFunction(() => /90 rpm/.test(document.querySelector('[data-testid="row-teams-search"]')?.textContent ?? ''));
    const put = seen.filter((s) => s.method === 'PUT').at(-1);
    assert.equal(put.name, 'search');
    assert.equal(put.body.webhook_secret, undefined);
    assert.deepEqual(put.body.limits, { rpm: 90 });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('a provider\'s write-only key is kept by an edit that leaves it empty, and can be removed', T, async () => {
    const { page } = browser;
    await page.click(byTest('nav-providers'));
    const row = page.locator(byTest('row-providers-mock'));
    await row.waitFor();
    assert.equal(await row.locator('.badge').textContent(), 'set');
    await page.click(byTest('edit-providers-mock'));
    const form = page.locator(byTest('form-providers'));
    assert.equal(await form.locator('input[name="api_key"]').inputValue(), '', 'a secret is never filled in');
    assert.match(await form.locator('input[name="api_key"]').getAttribute('placeholder'), /unchanged/);
    await form.locator('input[name="timeouts.read_ms"]').fill('90000');
    await page.click(byTest('save-providers'));
    await form.waitFor({ state: 'detached' });
    let stored = await api(gw, 'GET', '/providers/mock');
    assert.equal(stored.api_key_set, true, 'left empty, the stored key is kept');
    assert.equal(stored.timeouts.read_ms, 90000);
    await page.click(byTest('edit-providers-mock'));
    await form.locator('input[name="api_key:remove"]').check();
    await page.click(byTest('save-providers'));
    await page.waitForFunction(() => /not set/.test(document.querySelector('[data-testid="row-providers-mock"]')?.textContent ?? ''));
    stored = await api(gw, 'GET', '/providers/mock');
    assert.equal(stored.api_key_set, false);
  });

  it('a viewer sees every page without its write buttons, and may still try a prompt', T, async () => {
    const { secret } = await api(gw, 'POST', '/admin_keys', { name: 'looker', role: 'viewer' });
    const page = await browser.context.newPage();
    await page.goto(`${gw.adminURL}/ui/`);
    await page.fill('input[name="admin-key"]', secret);
    await page.click('button[type="submit"]');
    await page.waitForSelector(byTest('role-viewer'));
    await page.click(byTest('nav-keys'));
    await page.locator(byTest('row-keys-spender')).waitFor();
    assert.equal(await page.locator(byTest('new-keys')).count(), 0);
    assert.equal(await page.locator(byTest('edit-keys-spender')).count(), 0);
    assert.equal(await page.locator(byTest('rotate-keys-spender')).count(), 0);
    await page.click(byTest('nav-guardrails'));
    await page.locator(byTest('row-guardrails-no-email')).waitFor();
    assert.equal(await page.locator(byTest('new-guardrails')).count(), 0);
    await page.fill(byTest('try-text'), 'mail ann@example.com');
    await page.click(byTest('try-run'));
    await page.waitForSelector(byTest('try-result-no-email'));
    assert.equal(await page.getAttribute(byTest('try-result-no-email'), 'data-outcome'), 'block');
    await page.click(byTest('nav-access'));
    await page.locator(byTest('row-admin_keys-looker')).waitFor();
    assert.equal(await page.locator(byTest('admin-key-new')).count(), 0);
    await shot(page, '36-viewer-read-only');
    await page.close();
  });

  it('nothing reached the console but the 400s the tests provoked', T, async () => {
    const unexpected = browser.problems.filter((p) => !/Failed to load resource: the server responded with a status of 400/.test(p.text));
    assert.deepEqual(unexpected, [], unexpected.map((p) => `${p.type}: ${p.text}`).join('\n'));
  });
});
