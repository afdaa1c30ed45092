// The Admin UI used as a person uses it, step by step. ui.test.mjs runs these steps against
// the real gateway; each step leaves a screenshot under tests/out/screenshots/.

import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SHOTS = path.resolve(here, '../out/screenshots');

export async function shot(page, name) {
  await fs.mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const byTest = (id) => `[data-testid="${id}"]`;

export async function signIn(page, { adminURL, adminKey }) {
  await page.goto(`${adminURL}/ui/`);
  await page.waitForSelector(byTest('login-form'));
  // A wrong key is refused on the form, with a message.
  await page.fill('input[name="admin-key"]', `${adminKey}-wrong`);
  await page.click('button[type="submit"]');
  await page.waitForSelector(byTest('login-error'));
  assert.match(await page.textContent(byTest('login-error')), /not accepted/);
  await shot(page, '01-sign-in');
  await page.fill('input[name="admin-key"]', adminKey);
  await page.click('button[type="submit"]');
  await page.waitForSelector(byTest('page-overview'));
}

export async function goTo(page, name) {
  await page.click(byTest(`nav-${name}`));
  await page.waitForSelector(byTest(`page-${name}`));
}

export async function createProvider(page, { name, baseURL, apiKey }) {
  await goTo(page, 'providers');
  await page.click(byTest('new-providers'));
  const form = page.locator(byTest('form-providers'));
  await form.locator('input[name="name"]').fill(name);
  await form.locator('select[name="kind"]').selectOption('openai');
  // A bad URL first: the API's field error shows under the field.
  await form.locator('input[name="base_url"]').fill('not a url');
  await form.locator('input[name="api_key"]').fill(apiKey);
  await page.click(byTest('save-providers'));
  await page.waitForSelector(byTest('error-base_url'));
  await shot(page, '02-provider-field-error');
  await form.locator('input[name="base_url"]').fill(baseURL);
  await page.click(byTest('save-providers'));
  const row = page.locator(byTest(`row-providers-${name}`));
  await row.waitFor();
  assert.match(await row.textContent(), /set/, 'the provider list says an API key is set (and never shows it)');
  assert.ok(!(await page.content()).includes(apiKey), 'the provider API key never reaches the page');
  await shot(page, '03-providers');
}

export async function createModel(page, { name, provider, upstream, priceIn, priceOut }) {
  await goTo(page, 'models');
  await page.click(byTest('new-models'));
  const form = page.locator(byTest('form-models'));
  await form.locator('input[name="name"]').fill(name);
  await form.locator('select[name="targets[0].provider"]').selectOption(provider);
  await form.locator('input[name="targets[0].model"]').fill(upstream);
  if (priceIn !== undefined) await form.locator('input[name="pricing.input"]').fill(String(priceIn));
  if (priceOut !== undefined) await form.locator('input[name="pricing.output"]').fill(String(priceOut));
  await page.click(byTest('save-models'));
  const row = page.locator(byTest(`row-models-${name}`));
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`${provider}/${upstream}`));
  await shot(page, '04-models');
}

/** Creates a key with limits and a budget; returns its secret (shown once). */
export async function createKey(page, { name, models, rpm, usdPerDay }) {
  await goTo(page, 'keys');
  await page.click(byTest('new-keys'));
  const form = page.locator(byTest('form-keys'));
  await form.locator('input[name="name"]').fill(name);
  await form.locator('input[name="all-models"]').uncheck();
  for (const model of models) await form.locator(`input[name="model-${model}"]`).check();
  await form.locator('input[name="limits.rpm"]').fill(String(rpm));
  await form.locator('input[name="budget.usd_per_day"]').fill(String(usdPerDay));
  await page.click(byTest('save-keys'));
  await page.waitForSelector(byTest('secret-modal'));
  const secret = (await page.textContent(byTest('key-secret'))).trim();
  assert.ok(secret.length >= 16, `a secret is shown once: ${secret}`);
  await shot(page, '05-key-secret');
  await page.click(byTest('copy-secret'));
  await page.click(byTest('secret-done'));
  const row = page.locator(byTest(`row-keys-${name}`));
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, new RegExp(`${rpm} rpm`));
  assert.ok(!text.includes(secret), 'the key list never shows the secret');
  await shot(page, '06-keys');
  return secret;
}

/**
 * Tokens arrive one by one: on a model whose upstream streams a chunk every 100 ms, the
 * output grows while the run is going, and Stop ends it.
 */
export async function watchStream(page, { virtualKey, model }) {
  await goTo(page, 'playground');
  await page.fill(byTest('virtual-key'), virtualKey);
  await page.selectOption(byTest('model-select-0'), model);
  await page.fill(byTest('message-0'), 'Count slowly');
  await page.click(byTest('run'));
  const out = byTest('output-0');
  await page.waitForFunction((sel) => /tick1\b/.test(document.querySelector(sel).textContent), out, { timeout: 15_000 });
  const early = await page.textContent(out);
  await page.waitForFunction((sel) => /tick4\b/.test(document.querySelector(sel).textContent), out, { timeout: 15_000 });
  const later = await page.textContent(out);
  assert.ok(!/tick4\b/.test(early) && later.startsWith(early.replace(/\s+$/, '')), `the answer grows while it streams: ${JSON.stringify(early)} -> ${JSON.stringify(later)}`);
  await shot(page, '07-playground-streaming');
  await page.click(byTest('stop'));
  await page.waitForSelector(byTest('status-0'));
  assert.equal((await page.textContent(byTest('status-0'))).trim(), 'stopped');
}

/** Runs a streamed prompt; returns { requestId, text, updates } (updates: DOM text changes seen). */
export async function runPlayground(page, { virtualKey, model, prompt, expect }) {
  await goTo(page, 'playground');
  await page.fill(byTest('virtual-key'), virtualKey);
  await page.selectOption(byTest('model-select-0'), model);
  await page.fill(byTest('message-0'), prompt);
  await page.fill(byTest('temperature'), '0');
  // Count the output's text changes while it streams: tokens arrive, not one final blob.
  await page.evaluate((sel) => {
    const el = document.querySelector(sel);
    window.__updates = [];
    new MutationObserver(() => window.__updates.push(el.textContent)).observe(el, { childList: true, subtree: true, characterData: true });
  }, byTest('output-0'));
  await page.click(byTest('run'));
  await page.waitForSelector(byTest('metrics-0'), { timeout: 20_000 }).catch(async (err) => {
    const failure = await page.locator(byTest('run-error-0')).textContent().catch(() => null);
    await shot(page, '07-playground-failed');
    throw new Error(`the Playground run did not finish${failure ? `: ${failure}` : ''} (${err.message})`);
  });
  const text = await page.textContent(byTest('output-0'));
  assert.ok(text.includes(expect), `the streamed answer appears: ${JSON.stringify(text)}`);
  const updates = await page.evaluate(() => window.__updates.filter((t, i, a) => t !== a[i - 1]).length);
  assert.match(await page.textContent(byTest('ttft-0')), /\d/, 'TTFT is shown');
  assert.match(await page.textContent(byTest('latency-0')), /\d/, 'latency is shown');
  assert.match(await page.textContent(byTest('tokens-0')), /\d+ in · \d+ out/, 'tokens are shown');
  // Cost comes from the request's usage row, written a moment after the stream ends.
  await page.waitForFunction((sel) => !/…|—/.test(document.querySelector(sel)?.textContent ?? '…'), byTest('cost-0'), { timeout: 10_000 });
  await page.click(byTest('snippet-curl'));
  const curl = await page.textContent(byTest('snippet-text'));
  assert.match(curl, /chat\/completions/);
  assert.ok(!curl.includes(virtualKey), 'the snippet leaves the key as $TOLLGATE_KEY');
  await shot(page, '07-playground');
  const href = page.locator(byTest('open-log-0'));
  await href.click();
  await page.waitForSelector(byTest('request-detail'));
  const requestId = decodeURIComponent(new URL(page.url()).hash.replace(/^#\/logs\//, ''));
  return { requestId, text, updates };
}

export async function checkLogs(page, { requestId, model, keyName }) {
  // The detail view opened from the Playground: timings, tokens, cost, target.
  const detail = page.locator(byTest('request-detail'));
  await detail.getByText(requestId).waitFor();
  const d = await detail.textContent();
  assert.match(d, new RegExp(model));
  assert.match(d, new RegExp(keyName));
  assert.match(d, /Time to first token/);
  await shot(page, '08-log-detail');
  await page.keyboard.press('Escape');
  await page.waitForSelector(byTest('request-detail'), { state: 'detached' });
  // The list, filtered by the model, holds the row.
  await page.fill('input[name="model"]', model);
  await page.click(byTest('logs-apply'));
  await page.locator(`[data-request-id="${requestId}"]`).waitFor();
  await shot(page, '09-logs');
}

export async function checkOverview(page, { model, keyName }) {
  await goTo(page, 'overview');
  await page.selectOption(byTest('range'), '15m');
  const topModels = page.locator(byTest('top-models'));
  await topModels.getByText(model).first().waitFor({ timeout: 15_000 });
  await page.locator(byTest('top-keys')).getByText(keyName).first().waitFor();
  const requests = Number((await page.textContent(`${byTest('stat-requests')} .stat-value`)).replace(/[^\d]/g, ''));
  assert.ok(requests >= 1, `the request is counted: ${requests}`);
  for (const chart of ['chart-requests', 'chart-tokens', 'chart-latency', 'chart-ttft']) {
    const points = Number(await page.getAttribute(byTest(chart), 'data-points'));
    assert.ok(points > 0, `${chart} has data`);
  }
  await shot(page, '10-overview');
}

/** A phone-sized viewport: no horizontal scrolling, the menu folds into a toggle. */
export async function checkResponsive(page) {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const name of ['overview', 'keys', 'models', 'guardrails', 'logs', 'playground']) {
    await page.evaluate((n) => (window.location.hash = `#/${n}`), name);
    await page.waitForSelector(byTest(`page-${name}`));
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name} fits a 390 px screen (overflow ${overflow}px)`);
    await shot(page, `11-mobile-${name}`);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
}
