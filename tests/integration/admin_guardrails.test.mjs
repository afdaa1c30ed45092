// Guardrail policies through the Admin API (SQLite store): create with validation (a bad
// pattern is a 400 naming the field), attach to a key, live at once, and refuse to delete a
// policy still in use.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminCall, cleanupScope, makeTempDir, processConfig, startGateway, startMock, writeConfig } from './harness.mjs';

const T = { timeout: 30_000 };
const ADMIN_KEY = 'adm-guard-key';

const api = (gw, method, path, body) => adminCall(gw, method, path, { key: ADMIN_KEY, body });

describe('guardrails through the admin api', () => {
  const scope = cleanupScope();
  let gw;
  let mock;
  before(async () => {
    mock = await startMock(scope);
    const dir = await makeTempDir(scope);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './db.sqlite' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath });
  });
  after(() => scope.run());

  it('create, validate, attach, enforce, and refuse to delete while in use', T, async () => {
    const bad = await api(gw, 'POST', '/guardrails', { name: 'deny', kind: 'keywords', mode: 'block', patterns: ['(unclosed'] });
    assert.equal(bad.status, 400, bad.text);
    assert.ok(bad.json.error.errors.some((e) => e.field === 'patterns'), bad.text);
    const wrongKind = await api(gw, 'POST', '/guardrails', { name: 'x', kind: 'telepathy' });
    assert.equal(wrongKind.status, 400);
    assert.ok(wrongKind.json.error.errors.some((e) => e.field === 'kind'), wrongKind.text);

    const created = await api(gw, 'POST', '/guardrails', { name: 'deny', kind: 'keywords', mode: 'block', keywords: ['blue falcon'] });
    assert.equal(created.status, 201, created.text);
    const list = await api(gw, 'GET', '/guardrails');
    assert.deepEqual(list.json.data.map((g) => g.name), ['deny']);

    const key = await api(gw, 'POST', '/keys', { name: 'guarded', models: ['demo'] });
    assert.equal(key.status, 201, key.text);
    const patched = await api(gw, 'PATCH', `/keys/${key.json.id}`, { guardrails: ['deny'] });
    assert.equal(patched.status, 200, patched.text);

    const call = (content) => fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.json.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content }] }),
    });
    const blocked = await call('tell me about Blue Falcon');
    assert.equal(blocked.status, 400);
    assert.match((await blocked.json()).error.message, /deny/);
    assert.equal((await call('tell me about falcons')).status, 200);

    const inUse = await api(gw, 'DELETE', '/guardrails/deny');
    assert.equal(inUse.status, 409, inUse.text);
    await api(gw, 'PATCH', `/keys/${key.json.id}`, { guardrails: null });
    const deleted = await api(gw, 'DELETE', '/guardrails/deny');
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal((await call('tell me about Blue Falcon')).status, 200);
  });

  it('a moderation policy names a live openai-compatible provider, is stored whole and enforced at once', T, async () => {
    const missing = await api(gw, 'POST', '/guardrails', { name: 'mod', kind: 'moderation', provider: 'nope' });
    assert.equal(missing.status, 400, missing.text);
    assert.ok(missing.json.error.errors.some((e) => e.field === 'provider'), missing.text);
    const redact = await api(gw, 'POST', '/guardrails', { name: 'mod', kind: 'moderation', provider: 'nope', mode: 'redact' });
    assert.ok(redact.json.error.errors.some((e) => e.field === 'mode'), redact.text);

    const provider = await api(gw, 'POST', '/providers', { name: 'modp', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey });
    assert.equal(provider.status, 201, provider.text);
    const body = { name: 'mod', kind: 'moderation', mode: 'block', provider: 'modp', categories: ['violence'], threshold: 0.3, timeout_ms: 2000, fail_open: true };
    const created = await api(gw, 'POST', '/guardrails', body);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json, body);
    assert.deepEqual((await api(gw, 'GET', '/guardrails/mod')).json, body);

    const key = await api(gw, 'POST', '/keys', { name: 'moderated', models: ['demo'], guardrails: ['mod'] });
    assert.equal(key.status, 201, key.text);
    const call = (content) => fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.json.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content }] }),
    });
    const blocked = await call('a borderline tale');
    assert.equal(blocked.status, 400);
    assert.match((await blocked.json()).error.message, /'mod' \(moderation: violence\)/);
    assert.equal((await call('a quiet tale')).status, 200);
    assert.ok(mock.requests.some((r) => r.path === '/v1/moderations' && r.body.input[0] === 'a quiet tale'));
  });
});
