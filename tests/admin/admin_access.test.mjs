// Admin access: on a first start with no admin key configured, the gateway makes an admin key
// and prints a one-time sign-in link for the Admin UI; admin keys have roles (a viewer may only
// read); every Admin API write lands in the audit log with its actor, before and after, and no
// secret in it.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  adminCall, cleanupScope, makeTempDir, processConfig, startGateway, waitFor, writeConfig,
} from '../integration/harness.mjs';

const T = { timeout: 30_000 };
const LINK_RE = /sign in to the Admin UI[^\n]*\n\s+(http:\/\/[^\s/]+)\/ui\/#signin=(\S+)/;

const api = (gw, key, method, path, body) => adminCall(gw, method, path, { key, body });

async function signinLink(gw) {
  await waitFor(() => LINK_RE.test(gw.output().stdout), { timeout: 5000, message: 'the sign-in link' });
  const [, origin, secret] = LINK_RE.exec(gw.output().stdout);
  return { origin, secret };
}

describe('first start, admin key roles and the audit log', () => {
  const scope = cleanupScope();
  let dir;
  let configPath;
  let gw;
  let adminSecret;

  before(async () => {
    dir = await makeTempDir(scope);
    // The embedded defaults' store and no admin key, on free ports.
    ({ configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './data/tollgate.db' } }),
    }));
    gw = await startGateway(scope, { configPath });
  });
  after(() => scope.run());

  it('prints a sign-in link on the admin port beside the first virtual key; the key in it is an admin', T, async () => {
    const { origin, secret } = await signinLink(gw);
    assert.equal(origin, gw.adminURL, 'the link names the port the admin listener really has');
    assert.match(secret, /^tga-[A-Za-z0-9_-]{40,}$/);
    assert.match(gw.output().stdout, /export TOLLGATE_KEY=tg-/, 'the first virtual key is printed too');
    adminSecret = secret;
    const config = await api(gw, secret, 'GET', '/config');
    assert.equal(config.status, 200, config.text);
    // The ports really bound (the config says :0): what the Playground's snippets are made from.
    assert.equal(config.json.listen.proxy, `127.0.0.1:${gw.proxyPort}`);
    assert.equal(config.json.listen.admin, `127.0.0.1:${gw.adminPort}`);
    const keys = await api(gw, secret, 'GET', '/admin_keys');
    assert.deepEqual(keys.json.data.map((k) => [k.name, k.role]), [['first-admin', 'admin']]);
    assert.doesNotMatch(keys.text, new RegExp(secret.slice(8)), 'only a prefix of the secret is shown');
    assert.equal((await api(gw, 'tga-wrong', 'GET', '/config')).status, 401);
    assert.equal((await api(gw, null, 'GET', '/config')).status, 401);
  });

  it('prints no second link on the next start, and the first one still signs in', T, async () => {
    await gw.stop();
    gw = await startGateway(scope, { configPath });
    assert.doesNotMatch(gw.output().stdout, /signin=/);
    assert.equal((await api(gw, adminSecret, 'GET', '/providers')).status, 200);
  });

  it('a viewer reads everything but writes nothing and never sees a secret', T, async () => {
    const created = await api(gw, adminSecret, 'POST', '/admin_keys', { name: 'ops-viewer', role: 'viewer' });
    assert.equal(created.status, 201, created.text);
    const viewer = created.json.secret;
    assert.match(viewer, /^tga-/);
    for (const path of ['/providers', '/models', '/keys', '/guardrails', '/config', '/admin_keys', '/audit', '/schema']) {
      const res = await api(gw, viewer, 'GET', path);
      assert.equal(res.status, 200, `viewer GET ${path}: ${res.text}`);
      assert.doesNotMatch(res.text, /tga-[A-Za-z0-9_-]{20,}|tg-[A-Za-z0-9_-]{40,}/, `a secret in ${path}`);
    }
    const writes = [
      ['POST', '/providers', { name: 'p', kind: 'demo' }], ['PUT', '/models/m', {}], ['DELETE', '/providers/demo'],
      ['POST', '/keys', { name: 'k' }], ['POST', '/admin_keys', { name: 'sneaky', role: 'admin' }],
      ['DELETE', '/admin_keys/first-admin'],
    ];
    for (const [method, path, body] of writes) {
      const res = await api(gw, viewer, method, path, body);
      assert.equal(res.status, 403, `viewer ${method} ${path}: ${res.text}`);
      assert.equal(res.json.error.code, 'read_only_role');
    }
    assert.equal((await api(gw, adminSecret, 'GET', '/admin_keys/sneaky')).status, 404);
    // Bad input is refused with the schema's messages.
    const bad = await api(gw, adminSecret, 'POST', '/admin_keys', { name: 'x y', role: 'root', extra: 1 });
    assert.equal(bad.status, 400, bad.text);
    const fields = bad.json.error.errors.map((e) => e.field).sort();
    assert.deepEqual(fields, ['extra', 'name', 'role'], bad.text);
    assert.equal((await api(gw, adminSecret, 'POST', '/admin_keys', { name: 'ops-viewer' })).status, 409);
    // A huge value is refused like any other (patterns are matched in linear time).
    const huge = await api(gw, adminSecret, 'POST', '/admin_keys', { name: `${'a'.repeat(200_000)} ` });
    assert.equal(huge.status, 400);
    assert.equal(huge.json.error.errors[0].field, 'name');
  });

  it('records every write: who, what, when, before and after, secrets masked', T, async () => {
    const t0 = Date.now();
    const put = await api(gw, adminSecret, 'POST', '/providers',
      { name: 'audited', kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1', api_key: 'sk-audit-secret-123456' });
    assert.equal(put.status, 201, put.text);
    const change = await api(gw, adminSecret, 'PUT', '/providers/audited',
      { kind: 'openai-compatible', base_url: 'http://127.0.0.1:10/v1' });
    assert.equal(change.status, 200, change.text);
    const key = await api(gw, adminSecret, 'POST', '/keys', { name: 'audited-key' });
    assert.equal(key.status, 201, key.text);
    assert.equal((await api(gw, adminSecret, 'DELETE', '/providers/audited')).status, 200);
    const refused = await api(gw, adminSecret, 'POST', '/models', { name: 'broken' });
    assert.equal(refused.status, 400);

    const log = await api(gw, adminSecret, 'GET', '/audit?limit=50');
    assert.equal(log.status, 200, log.text);
    const mine = log.json.data.slice(0, 5);
    for (const e of mine) assert.ok(e.ts >= t0 && e.ts <= Date.now(), `when: ${e.ts}`);
    assert.deepEqual(mine.map((e) => [e.action, e.status]), [
      ['POST /admin/v1/models', 400],
      ['DELETE /admin/v1/providers/audited', 200],
      ['POST /admin/v1/keys', 201],
      ['PUT /admin/v1/providers/audited', 200],
      ['POST /admin/v1/providers', 201],
    ]);
    for (const e of mine) assert.equal(e.actor, 'admin_key:first-admin');
    const [, del, createdKey, changed, created] = mine;
    assert.equal(created.before, null);
    assert.equal(created.after.base_url, 'http://127.0.0.1:9/v1');
    assert.equal(created.after.api_key_set, true);
    assert.equal(changed.before.base_url, 'http://127.0.0.1:9/v1');
    assert.equal(changed.after.base_url, 'http://127.0.0.1:10/v1');
    assert.equal(del.before.name, 'audited');
    assert.equal(del.after, null);
    assert.equal(createdKey.name, 'audited-key');
    assert.equal(createdKey.after.secret, '***');
    assert.doesNotMatch(log.text, /sk-audit-secret-123456/);
    assert.ok(!log.text.includes(key.json.secret), 'a created key\'s secret is not in the audit log');
    assert.ok(!log.text.includes(adminSecret), 'an admin key\'s secret is not in the audit log');
    // The viewer made by the test before is there too, its secret masked.
    const viewerMade = log.json.data.find((e) => e.action === 'POST /admin/v1/admin_keys' && e.status === 201);
    assert.equal(viewerMade.after.secret, '***');
    assert.equal(viewerMade.name, 'ops-viewer');
  });

  it('tollgate.yaml\'s admin key stays the bootstrap admin beside the stored ones', T, async () => {
    await gw.stop();
    ({ configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './data/tollgate.db' }, extra: { admin: { key: 'adm-bootstrap' } } }),
    }));
    gw = await startGateway(scope, { configPath });
    assert.equal((await api(gw, 'adm-bootstrap', 'GET', '/config')).status, 200);
    assert.equal((await api(gw, adminSecret, 'GET', '/config')).status, 200);
    const made = await api(gw, 'adm-bootstrap', 'POST', '/admin_keys', { name: 'second' });
    assert.equal(made.status, 201);
    assert.equal(made.json.role, 'viewer', 'viewer unless said otherwise');
    const log = await api(gw, 'adm-bootstrap', 'GET', '/audit?limit=1');
    assert.equal(log.json.data[0].actor, 'config');
  });
});
