// Opt-in body capture: sampled request and answer bodies, with PII and secrets redacted before
// they are written, one JSON line each; off by default.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';
import { KEYS, cleanupScope, makeTempDir, processConfig, startGateway, startMock, waitFor, writeConfig } from './harness.mjs';

const EMAIL = 'carol.jones@example.org';
const SECRET = 'sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd';

async function setup(scope, capture) {
  const mock = await startMock(scope);
  const dir = await makeTempDir(scope);
  const resources = {
    providers: [{ name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
    models: [{ name: 'gpt', targets: [{ provider: 'mock', model: 'gpt-4o' }] }],
    keys: [{ name: 'all', key: KEYS.all }],
  };
  const extra = capture ? { capture } : {};
  const { configPath } = await writeConfig(dir, { tollgate: processConfig({ extra }), resources });
  const gw = await startGateway(scope, { configPath });
  return { dir, gw, client: new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0 }) };
}

describe('body capture', () => {
  it('captures redacted bodies, streams included, when sampled at 100%', { timeout: 20_000 }, async () => {
    const scope = cleanupScope();
    try {
      const { dir, client } = await setup(scope, { sample_rate: 1 });
      await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: `mail ${EMAIL} key ${SECRET}` }] });
      const stream = await client.chat.completions.create({ model: 'gpt', stream: true, messages: [{ role: 'user', content: `stream ${EMAIL}` }] });
      for await (const _ of stream);
      const file = path.join(dir, 'capture.jsonl');
      const lines = await waitFor(async () => {
        const text = await fs.readFile(file, 'utf8').catch(() => '');
        const l = text.split('\n').filter(Boolean);
        return l.length >= 2 ? l : null;
      }, { timeout: 5000, message: 'two capture lines' });
      const all = lines.join('\n');
      assert.ok(!all.includes(EMAIL), all);
      assert.ok(!all.includes(SECRET), all);
      const [first, second] = lines.map((l) => JSON.parse(l));
      assert.equal(first.model, 'gpt');
      assert.equal(first.status, 200);
      assert.match(first.request, /\[EMAIL\]/);
      assert.match(first.answer, /Echo: mail \[EMAIL\]/);
      assert.match(second.answer, /data: /, 'the stream is captured as the caller got it');
      assert.match(second.answer, /\[EMAIL\]/);
    } finally {
      await scope.run();
    }
  });

  it('is off by default', { timeout: 20_000 }, async () => {
    const scope = cleanupScope();
    try {
      const { dir, client } = await setup(scope, null);
      await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: EMAIL }] });
      await new Promise((r) => setTimeout(r, 300));
      await assert.rejects(fs.access(path.join(dir, 'capture.jsonl')));
    } finally {
      await scope.run();
    }
  });
});
