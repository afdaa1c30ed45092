// Teams in headless chromium, against the real gateway (SQLite store) and the mock OpenAI
// provider: real traffic from keys of two teams and one key of none (one request fails
// upstream), then the Teams list, a team's page (budget bars from its spend, its limits, its
// keys, its usage narrowed to it), the Overview by team, an edit of the team's limits, and a
// team-admin's sign-in landing on its own team's page. The figures asserted come from the
// proxy's answers (tokens, request and error counts) and the Admin API (spend, cost), shown as
// the UI formats them. Screenshots land in tests/out/screenshots/.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, makeTempDir, postJson, processConfig, startGateway, startMock, waitFor, writeConfig } from '../integration/harness.mjs';
import { fmtInt, fmtUsd } from '../../ui/src/format.js';
import { launchBrowser } from './browser.mjs';
import { shot } from './ui-flow.mjs';

const ADMIN_KEY = 'tg-admin-e2e-teams-0123456789abcdef';
const T = { timeout: 150_000 };
const byTest = (id) => `[data-testid="${id}"]`;

async function api(gw, method, path, body, key = ADMIN_KEY) {
  const res = await fetch(`${gw.adminURL}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The cells of a row of the Overview's per-key / per-model / per-team tables. */
async function rowCells(page, testid) {
  const row = page.locator(byTest(testid));
  await row.waitFor({ timeout: 20_000 });
  const [name, requests, errors, tokens, cost] = (await row.locator('td').allTextContents()).map((s) => s.trim());
  return { name, requests, errors, tokens, cost };
}

/** Waits until the usage view (Overview or a team's) shows `requests` in its stat card. */
async function statsShow(page, requests) {
  await page
    .waitForFunction(
      ([sel, want]) => document.querySelector(sel)?.querySelector('.stat-value')?.textContent === want,
      [byTest('stat-requests'), requests],
      { timeout: 30_000 },
    )
    .catch(async (err) => {
      throw new Error(`the stats show ${await page.textContent(`${byTest('stat-requests')} .stat-value`).catch(() => '?')}, not ${requests} requests (${err.message})`);
    });
}

const statValue = async (page, id) => (await page.locator(`${byTest(id)} .stat-value`).textContent()).trim();
const statSub = async (page, id) => (await page.locator(`${byTest(id)} .stat-sub`).textContent()).trim();

describe('teams in headless chromium', () => {
  const scope = cleanupScope();
  let gw;
  let browser;
  const keys = {}; // name -> { id, secret }
  // What the proxy answered, per team: requests, errors, tokens (from each answer's usage).
  const sent = { research: { requests: 0, errors: 0, tokens: 0 }, search: { requests: 0, errors: 0, tokens: 0 }, '': { requests: 0, errors: 0, tokens: 0 } };
  let research; // GET /teams/research once the usage is in
  let teamUsage; // GET /usage?team=research totals

  before(async () => {
    const mock = await startMock(scope);
    const dir = await makeTempDir(scope, 'tollgate-e2e-teams-');
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: 'tollgate.db' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath });
    await api(gw, 'POST', '/providers', { name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey });
    await api(gw, 'POST', '/models', { name: 'priced', targets: [{ provider: 'mock', model: 'gpt-4o' }], pricing: { input: 10000, output: 10000 } });
    await api(gw, 'POST', '/models', { name: 'broken', targets: [{ provider: 'mock', model: 'mock-error-400' }] });
    await api(gw, 'POST', '/teams', { name: 'research', limits: { rpm: 600, concurrency: 8 }, budget: { usd_per_day: 5, usd_per_month: 50, mode: 'warn' } });
    await api(gw, 'POST', '/teams', { name: 'search', budget: { usd_total: 100 } });
    for (const [name, team] of [['r-one', 'research'], ['r-two', 'research'], ['s-one', 'search'], ['loner', null]]) {
      const k = await api(gw, 'POST', '/keys', { name, ...(team ? { team } : {}) });
      keys[name] = { id: k.id, secret: k.secret };
    }

    // The traffic: research 4 requests (one fails upstream), search 1, no team 1.
    const traffic = [
      ['r-one', 'research', 'priced', 'Hello from the research team'],
      ['r-one', 'research', 'priced', 'A second question from research, a little longer than the first'],
      ['r-two', 'research', 'priced', 'Three words here'],
      ['r-two', 'research', 'broken', 'This one fails upstream'],
      ['s-one', 'search', 'priced', 'Search team says hi'],
      ['loner', '', 'priced', 'No team at all'],
    ];
    for (const [key, team, model, text] of traffic) {
      const res = await postJson(`${gw.proxyURL}/v1/chat/completions`, { model, messages: [{ role: 'user', content: text }] }, { apiKey: keys[key].secret });
      sent[team].requests += 1;
      if (model === 'broken') {
        assert.equal(res.status, 400, JSON.stringify(res.json ?? res.text));
        sent[team].errors += 1;
      } else {
        assert.equal(res.status, 200, JSON.stringify(res.json ?? res.text));
        sent[team].tokens += res.json.usage.total_tokens;
      }
    }
    // Usage records are written a moment after each answer: wait for all of them (the
    // Overview test reads the other teams' too), then for the research team's totals.
    const total = Object.values(sent).reduce((n, t) => n + t.requests, 0);
    await waitFor(
      async () => (await api(gw, 'GET', `/usage?from=${Date.now() - 3_600_000}&bucket=0`)).totals?.requests === total,
      { timeout: 20_000, message: 'every usage record' },
    );
    teamUsage = await waitFor(
      async () => {
        const u = await api(gw, 'GET', `/usage?team=research&from=${Date.now() - 3_600_000}&bucket=0`);
        return u.totals?.requests === sent.research.requests ? u.totals : null;
      },
      { timeout: 20_000, message: "the research team's usage" },
    );
    research = await api(gw, 'GET', '/teams/research');
    browser = await launchBrowser();
    scope.after(() => browser.close());
  });
  after(() => scope.run());

  it('the Teams list links to a team page: budget bars, limits, keys and usage of that team only', T, async () => {
    assert.equal(teamUsage.errors, 1);
    assert.equal(teamUsage.input_tokens + teamUsage.output_tokens, sent.research.tokens, 'the usage store counted the tokens the proxy answered');
    assert.ok(research.spend.usd_today > 0, JSON.stringify(research.spend));
    assert.deepEqual([...research.keys].sort(), ['r-one', 'r-two']);

    const { page, problems } = browser;
    await page.goto(`${gw.adminURL}/ui/`);
    await page.fill('input[name="admin-key"]', ADMIN_KEY);
    await page.click('button[type="submit"]');
    await page.waitForSelector(byTest('page-overview'));
    await page.click(byTest('nav-teams'));
    const row = page.locator(byTest('row-teams-research'));
    await row.waitFor();
    assert.equal(Number(await row.locator(byTest('budget-day')).getAttribute('data-spent')), research.spend.usd_today);
    await shot(page, '40-teams-list');

    await page.click(byTest('open-teams-research'));
    await page.waitForSelector(byTest('team-page'));
    assert.match(page.url(), /#\/teams\/research$/);
    assert.equal(await page.textContent(byTest('team-name')), 'research');

    // The team's budget: spent/limit bars from its spend.
    const budget = page.locator(byTest('team-budget'));
    const day = budget.locator(byTest('budget-day'));
    const month = budget.locator(byTest('budget-month'));
    assert.equal(Number(await day.getAttribute('data-spent')), research.spend.usd_today);
    assert.equal(Number(await day.getAttribute('data-limit')), 5);
    assert.equal(Number(await month.getAttribute('data-limit')), 50);
    assert.match(await day.textContent(), new RegExp(`${fmtUsd(research.spend.usd_today).replace('$', '\\$')} / \\$5`));
    const dayWidth = parseFloat(await day.locator('.bar > span').evaluate((el) => el.style.width));
    assert.ok(Math.abs(dayWidth - (research.spend.usd_today / 5) * 100) < 0.01, `day bar ${dayWidth}% for ${research.spend.usd_today} of 5`);
    assert.ok(Math.abs(research.spend.usd_today - teamUsage.cost_usd) < 1e-9, `the spend ${research.spend.usd_today} is the usage's cost ${teamUsage.cost_usd}`);

    // Its limits and its keys (only its own).
    const limit = (name) => page.locator(`${byTest(`team-limit-${name}`)} td`).allTextContents();
    assert.deepEqual(await limit('rpm'), ['rpm', '600']);
    assert.deepEqual(await limit('concurrency'), ['concurrency', '8']);
    const teamKeys = page.locator(byTest('team-keys'));
    await teamKeys.locator(byTest('row-keys-r-one')).waitFor();
    assert.equal(await teamKeys.locator(byTest('row-keys-r-two')).count(), 1);
    assert.equal(await teamKeys.locator(byTest('row-keys-s-one')).count(), 0);
    assert.equal(await teamKeys.locator(byTest('row-keys-loner')).count(), 0);

    // Its usage: the requests, errors and tokens the proxy answered for this team, not the others'.
    await statsShow(page, fmtInt(sent.research.requests));
    assert.equal(await statValue(page, 'stat-tokens'), fmtInt(sent.research.tokens));
    assert.equal(await statSub(page, 'stat-errors'), `${fmtInt(sent.research.errors)} errors`);
    assert.equal(await statValue(page, 'stat-cost'), fmtUsd(teamUsage.cost_usd));
    const rTwo = await rowCells(page, `top-keys-row-${keys['r-two'].id}`);
    assert.deepEqual([rTwo.name, rTwo.requests, rTwo.errors], ['r-two', '2', '1']);
    const rOne = await rowCells(page, `top-keys-row-${keys['r-one'].id}`);
    assert.deepEqual([rOne.name, rOne.requests, rOne.errors], ['r-one', '2', '0']);
    assert.equal(await page.locator(byTest(`top-keys-row-${keys['s-one'].id}`)).count(), 0, "another team's key is not in this team's usage");
    assert.equal(await page.locator(byTest('top-teams')).count(), 0, 'a team page has no per-team table');
    assert.ok(Number(await page.getAttribute(byTest('chart-requests'), 'data-points')) > 0);
    await shot(page, '41-team-page');

    // An admin edits the team's limits from its page.
    await page.click(byTest('team-edit'));
    const form = page.locator(byTest('form-teams'));
    await form.locator('input[name="limits.rpm"]').fill('300');
    await page.click(byTest('save-teams'));
    await page.waitForFunction(() => /300/.test(document.querySelector('[data-testid="team-limit-rpm"]')?.textContent ?? ''), null, { timeout: 10_000 });
    assert.equal((await api(gw, 'GET', '/teams/research')).limits.rpm, 300);
    assert.deepEqual(problems.filter((p) => p.type === 'pageerror'), []);
  });

  it('the Overview shows spend, tokens, requests and errors by team, each linking to its page', T, async () => {
    const { page } = browser;
    await page.click(byTest('nav-overview'));
    await page.waitForSelector(byTest('page-overview'));
    await statsShow(page, fmtInt(6));
    const r = await rowCells(page, 'top-teams-row-research');
    assert.deepEqual(r, { name: 'research', requests: '4', errors: '1', tokens: fmtInt(sent.research.tokens), cost: fmtUsd(teamUsage.cost_usd) });
    const s = await rowCells(page, 'top-teams-row-search');
    assert.deepEqual([s.name, s.requests, s.errors, s.tokens], ['search', '1', '0', fmtInt(sent.search.tokens)]);
    const none = await rowCells(page, 'top-teams-row-');
    assert.deepEqual([none.name, none.requests, none.tokens], ['(no team)', '1', fmtInt(sent[''].tokens)]);
    assert.ok(Number(await page.getAttribute(byTest('top-teams-chart'), 'data-points')) >= 6, 'the chart has bars for the three groups');
    await shot(page, '42-overview-by-team');
    await page.click(`${byTest('top-teams-row-search')} a`);
    await page.waitForSelector(byTest('team-page'));
    assert.equal(await page.textContent(byTest('team-name')), 'search');
    await statsShow(page, '1');
    assert.equal(Number(await page.locator(`${byTest('team-budget')} ${byTest('budget-total')}`).getAttribute('data-limit')), 100);
  });

  it("a team-admin signs in to its own team's page and sees only what it may manage", T, async () => {
    const made = await api(gw, 'POST', '/admin_keys', { name: 'research-lead', role: 'team-admin', team: 'research' });
    const { page, problems } = browser;
    await page.click(byTest('sign-out'));
    await page.waitForSelector(byTest('login-form'));
    const before = problems.length;
    await page.fill('input[name="admin-key"]', made.secret);
    await page.click('button[type="submit"]');
    await page.waitForSelector(byTest('team-page'));
    assert.equal(await page.textContent(byTest('team-name')), 'research');
    assert.match(await page.textContent(byTest('role-team-admin')), /research/);
    const nav = await page.locator('nav.sidebar a').evaluateAll((as) => as.map((a) => a.dataset.testid));
    assert.deepEqual(nav, ['nav-teams', 'nav-keys', 'nav-logs', 'nav-playground']);
    assert.equal(await page.locator(byTest('team-edit')).count(), 0, 'a team-admin does not edit its team');
    await statsShow(page, fmtInt(sent.research.requests));
    assert.equal(await statValue(page, 'stat-tokens'), fmtInt(sent.research.tokens));
    assert.equal(Number(await page.locator(`${byTest('team-budget')} ${byTest('budget-day')}`).getAttribute('data-spent')), (await api(gw, 'GET', '/teams/research')).spend.usd_today);
    await shot(page, '43-team-admin-team-page');
    // On a phone the page fits the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the team page fits a 390 px screen (overflow ${overflow}px)`);
    await shot(page, '43b-team-page-phone');
    await page.setViewportSize({ width: 1400, height: 900 });
    // Its Keys page holds its team's keys only.
    await page.click(byTest('nav-keys'));
    await page.locator(byTest('row-keys-r-one')).waitFor();
    assert.equal(await page.locator(byTest('row-keys-s-one')).count(), 0);
    // Nothing it was shown asked for what it may not read (a 403 would be logged).
    const refused = problems.slice(before).filter((p) => /status of 403/.test(p.text));
    assert.deepEqual(refused, []);
  });
});
