// Referential integrity from the schema: a resource that another names through a reference
// field (core/schema.h: a target's provider, a fallback, a guardrail, a cache policy, a key's
// team, an admin key's team, an allowlist's model or PROVIDER/*) cannot be deleted; the 409 names
// every referrer and the field that names it. Once nothing names it, it goes.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cleanupScope, makeTempDir, processConfig, startGateway, writeConfig, adminCall,
} from '../integration/harness.mjs';

const T = { timeout: 60_000 };
const ADMIN_KEY = 'adm-references-test-key';

const api = (gw, method, path, body) => adminCall(gw, method, path, { key: ADMIN_KEY, body });

async function ok(gw, method, path, body) {
  const r = await api(gw, method, path, body);
  assert.ok(r.status === 200 || r.status === 201, `${method} ${path}: ${r.status} ${r.text}`);
  return r;
}

// DELETE refused with 409, the message naming each referrer "KIND NAME (FIELD)".
async function refused(gw, path, referrers) {
  const r = await api(gw, 'DELETE', path);
  assert.equal(r.status, 409, `${path}: ${r.text}`);
  const message = r.json.error.message;
  assert.match(message, /is used by .*; change or delete them first/, message);
  for (const who of referrers) assert.ok(message.includes(who), `${path}: "${who}" in: ${message}`);
  return message;
}

describe('deleting what others refer to', () => {
  it('is refused with 409 naming every referrer and field, for every kind of reference', T, async (t) => {
    const scope = cleanupScope();
    t.after(() => scope.run());
    const dir = await makeTempDir(scope);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './db.sqlite' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    const gw = await startGateway(scope, { configPath });

    await ok(gw, 'POST', '/providers', { name: 'p1', kind: 'openai', base_url: 'http://127.0.0.1:9/v1' });
    await ok(gw, 'POST', '/providers', { name: 'p2', kind: 'openai-compatible', base_url: 'http://127.0.0.1:9/v1' });
    await ok(gw, 'POST', '/guardrails', { name: 'mod', kind: 'moderation', provider: 'p2' });
    await ok(gw, 'POST', '/guardrails', { name: 'kw', kind: 'keywords', keywords: ['falcon'] });
    await ok(gw, 'POST', '/models', { name: 'm1', targets: [{ provider: 'p1', model: 'gpt-4o' }], guardrails: ['kw'] });
    await ok(gw, 'POST', '/models', { name: 'emb', targets: [{ provider: 'p1', model: 'text-embedding-3-small' }] });
    await ok(gw, 'POST', '/cache_policies', { name: 'sem', mode: 'semantic', embedding_model: 'emb' });
    await ok(gw, 'POST', '/models', { name: 'm2', targets: [{ provider: 'p1', model: 'gpt-4o-mini' }], fallbacks: ['m1'], cache: 'sem' });
    await ok(gw, 'POST', '/teams', { name: 't1', models: ['m1', 'p2/*', '*'], cache: 'sem' });
    const key = (await ok(gw, 'POST', '/keys', { name: 'k1', team: 't1', models: ['m2'], guardrails: ['kw'], cache: 'sem' })).json;
    await ok(gw, 'POST', '/admin_keys', { name: 'ta', role: 'team-admin', team: 't1' });

    // A provider: by a model's target, a moderation guardrail, an allowlist's PROVIDER/*.
    await refused(gw, '/providers/p1', ['model emb (targets[0].provider)', 'model m1 (targets[0].provider)', 'model m2 (targets[0].provider)']);
    await refused(gw, '/providers/p2', ['guardrail mod (provider)', 'team t1 (models[1])']);
    // A model: by a fallback, a team's and a key's allowlist, a cache policy's embedding model.
    await refused(gw, '/models/m1', ['model m2 (fallbacks[0])', 'team t1 (models[0])']);
    await refused(gw, '/models/m2', ['key k1 (models[0])']);
    await refused(gw, '/models/emb', ['cache policy sem (embedding_model)']);
    // A guardrail, a cache policy (by a model, a team, a key), a team.
    await refused(gw, '/guardrails/kw', ['model m1 (guardrails[0])', 'key k1 (guardrails[0])']);
    await refused(gw, '/cache_policies/sem', ['model m2 (cache)', 'team t1 (cache)', 'key k1 (cache)']);
    const teamMessage = await refused(gw, '/teams/t1', ['key k1 (team)', 'admin key ta (team)']);
    assert.match(teamMessage, /^team "t1" is used by/);

    // Nothing was deleted.
    for (const path of ['/providers/p1', '/providers/p2', '/models/m1', '/models/emb', '/guardrails/kw', '/cache_policies/sem', '/teams/t1'])
      assert.equal((await api(gw, 'GET', path)).status, 200, path);

    // A revoked key names nothing; the admin key still names the team.
    await ok(gw, 'POST', `/keys/${key.id}/revoke`);
    const still = await refused(gw, '/teams/t1', ['admin key ta (team)']);
    assert.ok(!still.includes('key k1'), still);
    await ok(gw, 'DELETE', '/admin_keys/ta');
    await ok(gw, 'DELETE', '/teams/t1');
    await refused(gw, '/models/m1', ['model m2 (fallbacks[0])']);

    // Unwound referrers first, everything goes.
    await ok(gw, 'PUT', '/models/m2', { targets: [{ provider: 'p1', model: 'gpt-4o-mini' }] });
    await ok(gw, 'DELETE', '/cache_policies/sem');
    for (const path of ['/models/m1', '/models/m2', '/models/emb', '/guardrails/kw', '/guardrails/mod', '/providers/p1', '/providers/p2'])
      await ok(gw, 'DELETE', path);
    assert.equal((await api(gw, 'GET', '/providers/p2')).status, 404);
  });
});
