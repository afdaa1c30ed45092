// The response cache on the Overview, in headless chromium: hits, misses and what hits saved,
// in all and per model, key and team, from the request log; a hit of an unknown price says
// "unknown", never $0.
//
//   cd tests/e2e && TOLLGATE_BIN=../../build/tollgate node --test cache_overview.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cleanupScope, makeTempDir, postJson, processConfig, startGateway, startMock, waitFor, writeConfig } from '../integration/harness.mjs';
import { launchBrowser } from './browser.mjs';
import { signIn } from './ui-flow.mjs';

const ADMIN_KEY = 'tg-admin-e2e-cache-0123456789abcdef';
const KEY = 'tg-e2e-cache-member-0123456789abcdef';
const T = { timeout: 120_000 };
const byTest = (id) => `[data-testid="${id}"]`;

describe('the response cache on the Overview', () => {
  const scope = cleanupScope();
  let gw;
  let browser;

  before(async () => {
    const mock = await startMock(scope);
    const dir = await makeTempDir(scope, 'tollgate-e2e-');
    const resources = {
      providers: [{ name: 'openai', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
      cache_policies: [{ name: 'faq', ttl_s: 600, scope: 'team' }],
      teams: [{ name: 'research', cache: 'faq' }],
      models: [
        { name: 'priced', targets: [{ provider: 'openai', model: 'gpt-4o' }], pricing: { input: 2, output: 8 } },
        { name: 'unpriced', targets: [{ provider: 'openai', model: 'acme-unpriced-1' }] },
      ],
      keys: [{ name: 'member', key: KEY, team: 'research' }],
    };
    const { configPath } = await writeConfig(dir, {
      resources,
      tollgate: processConfig({ store: { kind: 'file', path: 'resources.yaml' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath });
    browser = await launchBrowser();
    scope.after(() => browser.close());
  });
  after(() => scope.run());

  it('shows hits, misses and savings per model, key and team; an unknown price is unknown', T, async () => {
    const ask = (model, content) => postJson(`${gw.baseURL}/chat/completions`, { model, messages: [{ role: 'user', content }] }, { apiKey: KEY });
    const verdicts = [];
    for (const [model, q] of [['priced', 'one'], ['priced', 'one'], ['priced', 'two'], ['unpriced', 'three'], ['unpriced', 'three']])
      verdicts.push((await ask(model, `${q} ${process.pid}`)).headers.get('x-tollgate-cache'));
    assert.deepEqual(verdicts, ['miss', 'hit', 'miss', 'miss', 'hit']);
    await waitFor(async () => {
      const r = await fetch(`${gw.adminURL}/admin/v1/requests?limit=10`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      return r.status === 200 && (await r.json()).data.length >= 5;
    }, { timeout: 15_000, message: 'the five usage records' });
    // The store sums the verdicts (GET /usage): the Overview shows those sums, not a count of
    // the request log's newest page.
    const usage = await (await fetch(`${gw.adminURL}/admin/v1/usage?from=${Date.now() - 3_600_000}&bucket=0&group_by=model`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
    const t = usage.totals;
    assert.deepEqual([t.cache_hits, t.cache_misses, t.cache_unpriced_hits], [2, 3, 1], JSON.stringify(t));
    assert.ok(t.cache_saved_usd > 0 && t.cache_saved_tokens > 0, JSON.stringify(t));
    const byModel = Object.fromEntries(usage.data.map((b) => [b.group, b]));
    assert.deepEqual([byModel.unpriced.cache_hits, byModel.unpriced.cache_saved_usd, byModel.unpriced.cache_unpriced_hits], [1, 0, 1]);
    assert.equal(byModel.priced.cache_saved_usd, t.cache_saved_usd);

    const { page } = browser;
    await signIn(page, { adminURL: gw.adminURL, adminKey: ADMIN_KEY });
    await page.selectOption(byTest('range'), '15m');
    await page.waitForSelector(byTest('stat-cache'), { timeout: 15_000 });
    assert.equal((await page.textContent(`${byTest('stat-cache')} .stat-value`)).trim(), '40.0%');
    assert.match(await page.textContent(`${byTest('stat-cache')} .stat-sub`), /2 of 5 · saved \$\S+ \+ 1 unpriced/);
    const row = async (id) => (await page.locator(byTest(id)).locator('td').allTextContents()).map((x) => x.trim());
    const team = await row('cache-team-research');
    assert.deepEqual(team.slice(0, 4), ['team', 'research', '2', '3']);
    assert.match(team[5], /^\$\S+ \+ 1 unpriced$/);
    assert.deepEqual((await row('cache-key-member')).slice(2, 4), ['2', '3']);
    const unpriced = await row('cache-model-unpriced');
    assert.deepEqual([unpriced[2], unpriced[3], unpriced[5]], ['1', '1', 'unknown']);
    const priced = await row('cache-model-priced');
    assert.notEqual(priced[5], 'unknown');
    assert.notEqual(priced[5], '$0');
    assert.equal(priced[4], byModel.priced.cache_saved_tokens.toLocaleString('en-US'));
  });
});
