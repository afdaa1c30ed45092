// Headless Debian chromium driven by playwright-core. playwright-core never downloads a
// browser: it is pointed at the system one (apt-get install chromium), with a fresh profile
// per launch and nothing that calls home.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--metrics-recording-only',
  '--password-store=basic',
];

/**
 * Launches chromium with a new profile directory; returns { context, page, close() }.
 * Every console error, warning and uncaught page error is kept in `problems`.
 */
export async function launchBrowser({ viewport = { width: 1400, height: 900 } } = {}) {
  try {
    await fs.access(CHROMIUM);
  } catch {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'tollgate-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport,
    acceptDownloads: false,
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push({ type: m.type(), text: m.text(), url: m.location()?.url ?? '' });
  });
  page.on('pageerror', (e) => problems.push({ type: 'pageerror', text: e.stack || e.message }));
  return {
    context,
    page,
    problems,
    async close() {
      await context.close().catch(() => {});
      await fs.rm(profile, { recursive: true, force: true }).catch(() => {});
    },
  };
}
