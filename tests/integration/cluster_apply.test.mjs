// Cluster mode (issue 15), the declarative side, on a REAL PostgreSQL store:
// - `tollgate apply` / `tollgate export` cover every kind the schema lists (GET /admin/v1/schema):
//   a file holding each kind is applied, exported without a credential in clear, applied to a
//   second store and exported again to the same bytes, and that store serves it all;
// - apply is one transaction: a file that validates but breaks the store as a whole (a pruned
//   provider a stored model still uses; an admin key naming no team) leaves every row as it was,
//   and --dry-run reports the same refusal without writing;
// - store.snapshot_cache: a replica started while PostgreSQL is down serves its last good load
//   from the cache file, answers writes 503, and catches up by itself when the database is back.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import OpenAI from 'openai';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cleanupScope, makeTempDir, processConfig, runTollgate, startGateway, startMock, toYaml, waitFor, writeConfig } from './harness.mjs';
import { startPostgres } from './postgres-server.mjs';

const T = { timeout: 180_000 };
const ADMIN_KEY = 'apply-admin-key';
const SECRETS = {
  upstream: 'sk-literal-upstream-0123456789',
  header: 'hdr-secret-abcdef',
  mcpHeader: 'mcp-header-secret-42',
  mcpBearer: 'mcp-bearer-secret-43',
  key: 'tg-apply-key-secret-0123456789',
  admin: 'tga-apply-admin-secret-0123456789',
};
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

async function api(gw, method, p, { body, key = ADMIN_KEY } = {}) {
  const res = await fetch(`${gw.adminURL}/admin/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json, text };
}

const chat = (gw, apiKey, model, content) =>
  new OpenAI({ baseURL: gw.baseURL, apiKey, maxRetries: 0, timeout: 15_000 }).chat.completions.create({ model, messages: [{ role: 'user', content }] });

/** A resources file with one or more of every kind. */
function everyKind(mock) {
  return {
    providers: [
      { name: 'up', kind: 'openai', base_url: mock.baseURL, api_key: '${APPLY_UP_KEY}' },
      { name: 'lit', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey, headers: { 'x-secret-token': SECRETS.header } },
    ],
    guardrails: [{ name: 'words', kind: 'keywords', mode: 'block', keywords: ['forbidden'] }],
    models: [
      { name: 'm', targets: [{ provider: 'up', model: 'gpt-4o' }], pricing: { input: 1, output: 2 }, cache: 'faq' },
      { name: 'm2', strategy: 'fallback', targets: [{ provider: 'lit', model: 'gpt-4o-mini', weight: 3 }], fallbacks: ['m'], guardrails: ['words'] },
    ],
    teams: [{ name: 'research', models: ['m', 'm2'], limits: { rpm: 600 }, budget: { usd_per_month: 50, mode: 'warn' } }],
    keys: [{ name: 'k1', key_env: 'APPLY_K1', models: ['m', 'm2'], team: 'research', limits: { rpm: 100 }, budget: { usd_per_day: 5 } }],
    admin_keys: [{ name: 'ops', role: 'team-admin', team: 'research', key_hash: sha256(SECRETS.admin) }],
    cache_policies: [{ name: 'faq', mode: 'exact', ttl_s: 600, scope: 'team' }],
    mcp_servers: [{
      name: 'tools',
      url: `${mock.baseURL.replace(/\/v1$/, '')}/mcp`,
      headers: { 'X-Api-Key': SECRETS.mcpHeader },
      auth: { bearer: SECRETS.mcpBearer },
      tools: { exclude: ['delete_*'] },
      timeout_ms: 5000,
    }],
  };
}

describe('apply and export: every kind, one transaction, and the snapshot cache', () => {
  const scope = cleanupScope();
  let pg;
  let mock;
  let dbCount = 0;
  const env = () => ({ TOLLGATE_SECRET_KEY: 'the apply passphrase', APPLY_UP_KEY: mock.apiKey, APPLY_K1: SECRETS.key });

  before(async () => {
    pg = await startPostgres(scope);
    mock = await startMock(scope);
  });
  after(() => scope.run());

  /** A database of its own and a tollgate.yaml on it. */
  async function store(t, storeExtra = {}) {
    const db = await pg.createDb(`apply_${process.pid}_${++dbCount}`);
    const dir = await makeTempDir(t);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'postgres', url: pg.conninfo(db), ...storeExtra }, workers: 1, extra: { admin: { key: ADMIN_KEY } } }),
    });
    const cli = (...args) => runTollgate([...args, '--config', configPath], { cwd: dir, env: env(), timeout: 60_000 });
    return { db, dir, configPath, cli, psql: (sql) => pg.psql(sql, db) };
  }

  /** Every row of every resource table, to compare before and after. */
  const rows = (s) => s.psql(`SELECT 'p', name, doc, version FROM tollgate.providers UNION ALL SELECT 'm', name, doc, version FROM tollgate.models
    UNION ALL SELECT 'g', name, doc, version FROM tollgate.guardrails UNION ALL SELECT 's', name, doc, version FROM tollgate.mcp_servers
    UNION ALL SELECT 'k', name, coalesce(settings, '') || coalesce(revoked_at::text, ''), version FROM tollgate.keys
    UNION ALL SELECT kind, name, doc, version FROM tollgate.documents ORDER BY 1, 2`);

  it('covers every kind of the schema: apply, export with no secret in clear, and a round trip through a second store', T, async (t) => {
    const a = await store(t);
    const file = path.join(a.dir, 'resources.yaml');
    const resources = everyKind(mock);
    await fs.writeFile(file, toYaml(resources));

    let r = await a.cli('apply', file, '--dry-run');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await a.psql('SELECT count(*) FROM tollgate.providers')).trim(), '0', 'a dry run writes nothing');
    const t0 = performance.now();
    r = await a.cli('apply', file);
    console.log(`# apply of every kind (10 resources) in one transaction: ${Math.round(performance.now() - t0)} ms, the CLI process included`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      '+ MCP server tools', '+ admin key ops', '+ cache policy faq', '+ guardrail words', '+ key k1',
      '+ model m', '+ model m2', '+ provider lit', '+ provider up', '+ team research',
    ]);
    r = await a.cli('apply', file, '--dry-run');
    assert.equal(r.stdout.trim(), '', `applied twice: nothing left to change\n${r.stdout}`);

    // The schema's kinds, as the running gateway lists them: the file and the export hold each.
    const gw = await startGateway(t, { configPath: a.configPath, env: env() });
    const kinds = (await api(gw, 'GET', '/schema')).json.kinds.map((k) => k.name);
    assert.ok(kinds.length >= 8, kinds.join());
    for (const kind of kinds) assert.ok(resources[kind]?.length, `the test file covers ${kind}`);

    r = await a.cli('export');
    assert.equal(r.code, 0, r.stderr);
    const exported = r.stdout;
    for (const kind of kinds) assert.match(exported, new RegExp(`^${kind}:`, 'm'), `${kind} exported`);
    for (const [what, secret] of Object.entries({ ...SECRETS, upstream: mock.apiKey })) assert.ok(!exported.includes(secret), `${what} in clear:\n${exported}`);
    assert.match(exported, /\$\{APPLY_UP_KEY\}/);
    assert.ok((exported.match(/enc:v1:/g) ?? []).length >= 4, exported);  // api_key, header, MCP header and bearer
    assert.ok(exported.includes(sha256(SECRETS.key)) && exported.includes(sha256(SECRETS.admin)), exported);

    // The export applied to an empty store exports the same bytes, and that store serves it.
    const b = await store(t);
    const copy = path.join(b.dir, 'exported.yaml');
    await fs.writeFile(copy, exported);
    r = await b.cli('apply', copy);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 10, r.stdout);
    r = await b.cli('export');
    assert.equal(r.stdout, exported);
    assert.equal((await b.cli('apply', copy, '--dry-run')).stdout.trim(), '');
    // The same file applied back to the first store changes nothing either.
    assert.equal((await a.cli('apply', copy, '--dry-run')).stdout.trim(), '');

    const other = await startGateway(t, { configPath: b.configPath, env: env() });
    assert.equal((await chat(other, SECRETS.key, 'm2', 'round trip')).choices[0].message.content, 'Echo: round trip');
    assert.equal(mock.requestsTo('/v1/chat/completions').at(-1).headers.authorization, `Bearer ${mock.apiKey}`, 'the sealed credential opened by the other store');
    assert.equal(mock.requestsTo('/v1/chat/completions').at(-1).headers['x-secret-token'], SECRETS.header);
    // The admin key kept its hash: its secret signs in to the second store's Admin API, as a team-admin.
    const teams = await api(other, 'GET', '/teams', { key: SECRETS.admin });
    assert.equal(teams.status, 200, teams.text);
    assert.deepEqual(teams.json.data.map((x) => x.name), ['research']);
    assert.deepEqual(teams.json.data[0].keys, ['k1']);
    const server = await api(other, 'GET', '/mcp_servers/tools');
    assert.equal(server.status, 200, server.text);
    assert.deepEqual([...server.json.secrets_set].sort(), ['auth.bearer', 'headers.X-Api-Key']);
    const policy = await api(other, 'GET', '/cache_policies/faq');
    assert.equal(policy.status, 200, policy.text);
    assert.equal(policy.json.scope, 'team');

    // --prune, on the sections the file gives: the MCP server goes; the admin keys, a section
    // the file leaves out, stay.
    const { admin_keys: _unmentioned, ...withoutAdminKeys } = resources;
    await fs.writeFile(file, toYaml({ ...withoutAdminKeys, mcp_servers: [] }));
    r = await a.cli('apply', file, '--prune');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['- MCP server tools']);
    assert.equal((await api(gw, 'GET', '/teams', { key: SECRETS.admin })).status, 200, 'the admin key stays');
  });

  it('is one transaction: a file that breaks the store as a whole leaves every row as it was', T, async (t) => {
    const s = await store(t);
    const file = path.join(s.dir, 'resources.yaml');
    const resources = everyKind(mock);
    await fs.writeFile(file, toYaml(resources));
    assert.equal((await s.cli('apply', file)).code, 0);
    const before = await rows(s);

    // Valid as a file; in the store, the pruned provider "up" is still used by model m, which
    // this file does not mention. Its other changes (a changed guardrail, a new key, a key
    // revoked) come first and must not stay.
    const breaking = path.join(s.dir, 'breaking.yaml');
    await fs.writeFile(breaking, toYaml({
      providers: [resources.providers[1]],
      guardrails: [{ name: 'words', kind: 'keywords', mode: 'monitor', keywords: ['other'] }],
      keys: [{ name: 'k9', key: 'tg-apply-new-key-9' }],
    }));
    for (const dry of [true, false]) {
      const r = await s.cli('apply', breaking, '--prune', ...(dry ? ['--dry-run'] : []));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /provider "up" is used by model m/);
      assert.match(r.stderr, /nothing was applied/);
      assert.equal(await rows(s), before, 'every row as it was');
    }

    // Refused by the check of the whole store before commit: an admin key naming no team.
    const dangling = path.join(s.dir, 'dangling.yaml');
    await fs.writeFile(dangling, toYaml({
      guardrails: [{ name: 'words', kind: 'keywords', mode: 'monitor', keywords: ['other'] }],
      admin_keys: [{ name: 'lost', role: 'team-admin', team: 'nobody', key_hash: sha256('x') }],
    }));
    const r = await s.cli('apply', dangling);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /admin_keys\/lost.*team.*"nobody" is not stored/);
    assert.match(r.stderr, /would not load after these changes.*nothing was applied/);
    assert.equal(await rows(s), before, 'every row as it was');

    // And a file that does not validate is refused before any transaction, naming the place.
    await fs.writeFile(dangling, toYaml({ admin_keys: [{ name: 'bad', role: 'root', key_hash: 'xyz' }] }));
    const bad = await s.cli('apply', dangling);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /admin_keys\[0\]\.role.*must be one of/);
    assert.match(bad.stdout, /admin_keys\[0\]\.key_hash/);
    assert.equal(await rows(s), before);
  });

  it('store.snapshot_cache: a replica starts while PostgreSQL is down, serves its last good load, and catches up', T, async (t) => {
    const s = await store(t, { snapshot_cache: 'cache/snapshot.yaml' });
    const cachePath = path.join(s.dir, 'cache', 'snapshot.yaml');
    const first = await startGateway(t, { configPath: s.configPath, env: env() });
    assert.equal((await api(first, 'POST', '/providers', { body: { name: 'up', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey } })).status, 201);
    assert.equal((await api(first, 'POST', '/models', { body: { name: 'm', targets: [{ provider: 'up', model: 'gpt-4o' }] } })).status, 201);
    const key = await api(first, 'POST', '/keys', { body: { name: 'cached', models: ['m'] } });
    assert.equal(key.status, 201, key.text);
    // Written after each good load, atomically, with the credential still sealed.
    const cached = await waitFor(async () => {
      const text = await fs.readFile(cachePath, 'utf8').catch(() => '');
      return text.includes('name: cached') && text;
    }, { timeout: 20_000, interval: 100, message: 'the snapshot cache written' });
    assert.ok(!cached.includes(mock.apiKey), cached);
    assert.match(cached, /enc:v1:/);
    assert.equal(((await fs.stat(cachePath)).mode & 0o777).toString(8), '600');
    await first.stop();

    await pg.stop();
    let down = true;
    try {
      // A cache configured but not written yet: refused, saying why.
      const noCacheDir = await makeTempDir(t);
      const { configPath: noCache } = await writeConfig(noCacheDir, {
        tollgate: processConfig({ store: { kind: 'postgres', url: pg.conninfo(s.db), snapshot_cache: 'missing.yaml' }, workers: 1, extra: { admin: { key: ADMIN_KEY } } }),
      });
      await assert.rejects(startGateway(t, { configPath: noCache, env: env() }), (err) => /no snapshot cache at .*missing\.yaml/.test(err.message));

      const t0 = performance.now();
      const replica = await startGateway(t, { configPath: s.configPath, env: env() });
      console.log(`# a replica started from the snapshot cache, PostgreSQL down, listening after ${Math.round(performance.now() - t0)} ms`);
      assert.match(replica.output().stdout + replica.output().stderr, /starting from the snapshot cache/);
      assert.equal((await chat(replica, key.json.secret, 'm', 'from the cache')).choices[0].message.content, 'Echo: from the cache');
      assert.equal(mock.requestsTo('/v1/chat/completions').at(-1).headers.authorization, `Bearer ${mock.apiKey}`, 'the sealed credential opened');
      const ready = await waitFor(async () => {
        const j = await (await fetch(`${replica.proxyURL}/readyz`)).json();
        return j.status === 'degraded' && j;
      }, { timeout: 10_000, interval: 100, message: '/readyz degraded' });
      assert.match(ready.reason, /cannot be reached|unavailable/);
      const write = await api(replica, 'POST', '/keys', { body: { name: 'during', models: ['m'] } });
      assert.equal(write.status, 503, write.text);

      await pg.start();
      down = false;
      const t1 = performance.now();
      const back = await waitFor(async () => {
        const r = await api(replica, 'POST', '/keys', { body: { name: 'after', models: ['m'] } });
        return r.status === 201 && r.json;
      }, { timeout: 30_000, interval: 250, message: 'writes working again' });
      await waitFor(async () => {
        const res = await fetch(`${replica.baseURL}/models`, { headers: { authorization: `Bearer ${back.secret}` } });
        await res.arrayBuffer();
        return res.status === 200;
      }, { timeout: 20_000, interval: 100, message: 'the replica serving what was written after the outage' });
      console.log(`# PostgreSQL back: a key written through the replica served by it ${Math.round(performance.now() - t1)} ms later`);
      await waitFor(async () => (await (await fetch(`${replica.proxyURL}/readyz`)).json()).status === 'ready', { timeout: 10_000, interval: 200, message: 'ready again' });
      await waitFor(async () => (await fs.readFile(cachePath, 'utf8')).includes('name: after'), { timeout: 10_000, interval: 100, message: 'the cache rewritten' });
    } finally {
      if (down) await pg.start();
    }
  });
});
