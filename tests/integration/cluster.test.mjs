// Cluster mode (issue 15): three gateway processes on one REAL PostgreSQL store (store: { kind:
// postgres }). A write through the Admin API of any replica is served by every replica within
// about a second (LISTEN/NOTIFY); a revoked key is refused everywhere; stale writes answer 409
// with the current version (If-Match); PostgreSQL stopped and started again under traffic fails
// no proxy request (writes answer 503 meanwhile, /readyz says why) and the replicas catch up by
// themselves; the schema is migrated once and a newer one refused; usage rows from every
// replica land in the same database and every replica's Admin API shows them all.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import fs from 'node:fs/promises';
import path from 'node:path';
import { cleanupScope, makeTempDir, processConfig, runTollgate, sleep, startGateway, startMock, toYaml, waitFor, writeConfig, adminCall } from './harness.mjs';
import { startPostgres } from './postgres-server.mjs';

const T = { timeout: 120_000 };
const ADMIN_KEY = 'cluster-admin-key';
const ENV = { TOLLGATE_SECRET_KEY: 'the cluster passphrase' };
// The issue asks for a second; the machine these tests run on is shared and loaded, so the
// assertions allow more and the measured figures are printed.
const PROPAGATION_BOUND_MS = 3000;

const api = (gw, method, path, { body, headers = {} } = {}) => adminCall(gw, method, path, { key: ADMIN_KEY, body, headers, timeout: 20_000 });

const client = (gw, apiKey) => new OpenAI({ baseURL: gw.baseURL, apiKey, maxRetries: 0, timeout: 15_000 });
const chat = (gw, apiKey, content) =>
  client(gw, apiKey).chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] });

/** The status /v1/models answers for a key on one replica (200 or 401). */
async function keyStatus(gw, secret) {
  const res = await fetch(`${gw.baseURL}/models`, { headers: { authorization: `Bearer ${secret}` }, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res.status;
}

/** Milliseconds until `fn` holds on every replica (polled every 20 ms). */
async function timeUntilAll(replicas, fn, message) {
  const t0 = performance.now();
  const each = await Promise.all(replicas.map(async (gw) => {
    await waitFor(() => fn(gw), { timeout: 20_000, interval: 20, message });
    return Math.round(performance.now() - t0);
  }));
  if (process.env.CLUSTER_DEBUG) console.log(`# ${message}: ${each.join(' / ')} ms`);
  return Math.max(...each);
}

let dbCount = 0;

/** A database of its own, three replicas on it, a provider and a model written through replica A. */
async function cluster(t, pg, mock, { replicas = 3 } = {}) {
  const db = await pg.createDb(`cluster_${process.pid}_${++dbCount}`);
  const dir = await makeTempDir(t);
  const { configPath } = await writeConfig(dir, {
    tollgate: processConfig({
      store: { kind: 'postgres', url: pg.conninfo(db) },
      workers: 1,
      extra: { admin: { key: ADMIN_KEY }, usage: { backend: 'postgres', url: pg.conninfo(db) }, ...(process.env.CLUSTER_DEBUG ? { log: { level: 'debug' } } : {}) },
    }),
  });
  // CLUSTER_UP_KEY: what a resources file applied later may name the upstream's key by.
  const gws = await Promise.all(Array.from({ length: replicas }, () => startGateway(t, { configPath, env: { ...ENV, CLUSTER_UP_KEY: mock.apiKey } })));
  const [a] = gws;
  let r = await api(a, 'POST', '/providers', { body: { name: 'up', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey } });
  assert.equal(r.status, 201, r.text);
  r = await api(a, 'POST', '/models', { body: { name: 'm', targets: [{ provider: 'up', model: 'gpt-4o' }], pricing: { input: 1, output: 2 } } });
  assert.equal(r.status, 201, r.text);
  return { db, dir, configPath, gws, psql: (sql) => pg.psql(sql, db) };
}

async function createKey(gw, name) {
  const r = await api(gw, 'POST', '/keys', { body: { name, models: ['m'] } });
  assert.equal(r.status, 201, r.text);
  assert.ok(r.json.secret, r.text);
  return r.json;
}

describe('cluster mode: three replicas on one PostgreSQL store', () => {
  const scope = cleanupScope();
  let pg;
  let mock;

  before(async () => {
    pg = await startPostgres(scope);
    mock = await startMock(scope);
  });
  after(() => scope.run());

  it('migrates a new store once (three replicas starting together) and every replica serves what A wrote', T, async (t) => {
    const c = await cluster(t, pg, mock);
    const logs = c.gws.map((gw) => gw.output().stdout + gw.output().stderr).join('\n');
    assert.equal((logs.match(/migrated the store postgres:/g) ?? []).length, 1, logs);
    assert.equal((await c.psql("SELECT value FROM tollgate.meta WHERE key = 'schema_version'")).trim(), '1');
    // The credential is sealed at rest with the shared TOLLGATE_SECRET_KEY.
    const doc = await c.psql("SELECT doc FROM tollgate.providers WHERE name = 'up'");
    assert.ok(!doc.includes(mock.apiKey), doc);
    assert.match(doc, /enc:v1:/);

    const key = await createKey(c.gws[0], 'k1');
    const ms = await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, key.secret)) === 200, 'the new key on every replica');
    console.log(`# key created on A served by all three replicas after ${ms.toFixed(0)} ms`);
    assert.ok(ms < PROPAGATION_BOUND_MS, `${ms} ms`);
    for (const [i, gw] of c.gws.entries()) assert.equal((await chat(gw, key.secret, `via ${i}`)).choices[0].message.content, `Echo: via ${i}`);
    // The upstream got the real credential (unsealed by each replica).
    assert.ok(mock.requestsTo('/v1/chat/completions').slice(-3).every((r) => r.headers.authorization === `Bearer ${mock.apiKey}`));

    const revoked = await api(c.gws[1], 'POST', `/keys/${key.id}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    const gone = await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, key.secret)) === 401, 'the revoked key refused on every replica');
    console.log(`# key revoked on B refused by all three replicas after ${gone.toFixed(0)} ms`);
    assert.ok(gone < PROPAGATION_BOUND_MS, `${gone} ms`);
    for (const gw of c.gws) await assert.rejects(chat(gw, key.secret, 'after revoke'), (err) => err.status === 401);

    // An expiry is checked at each request: a key that expired is refused on every replica.
    const soon = Math.floor(Date.now() / 1000) + 2;
    const r = await api(c.gws[2], 'POST', '/keys', { body: { name: 'k-expiring', models: ['m'], expires_at: soon } });
    assert.equal(r.status, 201, r.text);
    await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, r.json.secret)) === 200, 'the expiring key on every replica');
    await sleep(Math.max(0, soon * 1000 - Date.now()) + 50);
    for (const gw of c.gws) assert.equal(await keyStatus(gw, r.json.secret), 401);
  });

  it('stale writes answer 409 with the current version; a write that would break the snapshot is refused', T, async (t) => {
    const c = await cluster(t, pg, mock);
    const [a, b, cc] = c.gws;
    const read = await api(a, 'GET', '/models/m');
    assert.equal(read.status, 200, read.text);
    const etag = read.headers.get('etag');
    assert.match(etag ?? '', /^"\d+"$/);
    for (const gw of [b, cc]) {
      const seen = await waitFor(async () => {
        const r = await api(gw, 'GET', '/models/m');
        return r.status === 200 && r;
      }, { timeout: 10_000, interval: 20, message: 'the model on every replica' });
      assert.equal(seen.headers.get('etag'), etag, 'the same version on every replica');
    }

    const body = { name: 'm', targets: [{ provider: 'up', model: 'gpt-4o-mini' }] };
    const first = await api(a, 'PUT', '/models/m', { body, headers: { 'if-match': etag } });
    assert.equal(first.status, 200, first.text);
    const newer = first.headers.get('etag');
    assert.notEqual(newer, etag);
    const stale = await api(b, 'PUT', '/models/m', { body: { ...body, strategy: 'weighted' }, headers: { 'if-match': etag } });
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.json.error.code, 'stale_version');
    assert.equal(`"${stale.json.error.current_version}"`, newer);
    assert.equal(stale.headers.get('etag'), newer);
    assert.equal((await api(cc, 'DELETE', '/models/m', { headers: { 'if-match': etag } })).status, 409);
    assert.equal((await api(b, 'PUT', '/models/m', { body: { name: 'm' }, headers: { 'if-match': 'soon' } })).status, 400);

    // Five writers at once on three replicas, all having read the same version: one wins.
    const racers = await Promise.all([0, 1, 2, 3, 4].map((i) =>
      api(c.gws[i % 3], 'PUT', '/models/m', { body: { ...body, targets: [{ provider: 'up', model: `gpt-${i}` }] }, headers: { 'if-match': newer } })));
    assert.deepEqual(racers.map((r) => r.status).sort(), [200, 409, 409, 409, 409], racers.map((r) => r.text).join('\n'));

    // Referential integrity under concurrency: a model naming a provider while another replica
    // deletes it. Whatever the order, the store never holds a model naming nothing.
    for (let i = 0; i < 5; i += 1) {
      const p = `p${i}`;
      assert.equal((await api(a, 'POST', '/providers', { body: { name: p, kind: 'openai', base_url: mock.baseURL, api_key: 'sk-unused' } })).status, 201);
      const [put, del] = await Promise.all([
        api(b, 'POST', '/models', { body: { name: `m${i}`, targets: [{ provider: p, model: 'x' }] } }),
        api(cc, 'DELETE', `/providers/${p}`),
      ]);
      assert.ok(!(put.status === 201 && del.status === 200), `both won: ${put.text} / ${del.text}`);
      assert.ok([201, 400].includes(put.status) && [200, 409].includes(del.status), `${put.status} ${put.text} / ${del.status} ${del.text}`);
    }
    const dangling = await c.psql("SELECT count(*) FROM tollgate.models m WHERE NOT EXISTS (SELECT 1 FROM tollgate.providers p WHERE m.doc LIKE '%\"provider\":\"' || p.name || '\"%')");
    assert.equal(dangling.trim(), '0');
    // Every replica still serves (no snapshot was rejected).
    const key = await createKey(a, 'after-races');
    await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, key.secret)) === 200, 'serving after the races');
  });

  it('PostgreSQL stopped and started under traffic: no proxy request fails, writes answer 503, replicas catch up', T, async (t) => {
    const c = await cluster(t, pg, mock);
    const key = await createKey(c.gws[0], 'steady');
    await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, key.secret)) === 200, 'the key everywhere');

    let stop = false;
    const results = { ok: 0, failed: [] };
    const traffic = c.gws.map(async (gw, i) => {
      for (let n = 0; !stop; n += 1) {
        try {
          await chat(gw, key.secret, `r${i}-${n}`);
          results.ok += 1;
        } catch (err) {
          results.failed.push(`${i}: ${err.status} ${err.message}`);
        }
        await sleep(20);
      }
    });
    try {
      await sleep(300);
      await pg.stop();
      const write = await waitFor(async () => {
        const r = await api(c.gws[0], 'POST', '/keys', { body: { name: 'during-outage', models: ['m'] } });
        return r.status === 503 && r;
      }, { timeout: 10_000, interval: 200, message: 'a write answering 503' });
      assert.equal(write.json.error.code, 'store_unavailable');
      assert.match(write.json.error.message, /unavailable|cannot be reached/);
      const ready = await waitFor(async () => {
        const res = await fetch(`${c.gws[1].proxyURL}/readyz`);
        const j = await res.json();
        return j.status === 'degraded' && { code: res.status, j };
      }, { timeout: 10_000, interval: 200, message: '/readyz saying why' });
      assert.equal(ready.code, 200, 'still in rotation: it serves traffic');
      assert.match(ready.j.reason, /postgres:127\.0\.0\.1/);
      assert.equal((await api(c.gws[2], 'POST', `/keys/${key.id}/revoke`)).status, 503);
      const okBefore = results.ok;
      await sleep(1500);
      assert.ok(results.ok > okBefore, 'traffic flows while the database is down');

      await pg.start();
      // Writes work again without a restart; a change made now reaches every replica.
      const back = await waitFor(async () => {
        const r = await api(c.gws[1], 'POST', '/keys', { body: { name: 'after-outage', models: ['m'] } });
        return r.status === 201 && r.json;
      }, { timeout: 30_000, interval: 250, message: 'writes working again' });
      const ms = await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, back.secret)) === 200, 'convergence after the outage');
      console.log(`# after the restart, a key created on B served by all three after ${ms.toFixed(0)} ms`);
      if (process.env.CLUSTER_DEBUG) for (const gw of c.gws) console.log(gw.output().stderr.split('\n').filter((l) => /listening|notified|reload|reachable|failed|cannot/.test(l)).slice(-10).join('\n'));
      assert.ok(ms < PROPAGATION_BOUND_MS, `${ms} ms`);
      for (const gw of c.gws) {
        await waitFor(async () => (await (await fetch(`${gw.proxyURL}/readyz`)).json()).status === 'ready', { timeout: 10_000, interval: 200, message: 'ready again' });
      }
      await sleep(300);
    } finally {
      stop = true;
      await Promise.all(traffic);
    }
    console.log(`# ${results.ok} proxy requests through the outage, ${results.failed.length} failed`);
    assert.deepEqual(results.failed, []);
    assert.ok(results.ok > 20);
  });

  it('usage rows from every replica land in one database; every replica\'s Admin API shows them all', T, async (t) => {
    const c = await cluster(t, pg, mock);
    const key = await createKey(c.gws[0], 'usage-key');
    await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, key.secret)) === 200, 'the key everywhere');
    // Replica by replica, so the rows each one wrote are seen landing in the one database.
    const chatRows = async () => Number((await c.psql(`SELECT count(*) FROM usage_records WHERE key_id = '${key.id}' AND model = 'm'`)).trim());
    let total = 0;
    for (const [i, gw] of c.gws.entries()) {
      for (let n = 0; n < i + 2; n += 1) await chat(gw, key.secret, `u${i}-${n}`);
      total += i + 2;
      let rows = 0;
      for (const deadline = Date.now() + 15_000; Date.now() < deadline && rows !== total; await sleep(100)) rows = await chatRows();
      assert.equal(rows, total, `the rows of replica ${i} in postgres`);
    }
    const all = Number((await c.psql(`SELECT count(*) FROM usage_records WHERE key_id = '${key.id}'`)).trim());
    for (const gw of c.gws) {
      const r = await api(gw, 'GET', '/usage?from=-1h&group_by=key');
      assert.equal(r.status, 200, r.text);
      const mine = r.json.data.find((b) => b.group === key.id);
      assert.ok(mine, r.text);
      assert.equal(mine.requests, all, 'every replica\'s rows, whichever replica answers');
      const byModel = await api(gw, 'GET', '/usage?from=-1h&group_by=model&model=m');
      assert.equal(byModel.json.data.find((b) => b.group === 'm')?.requests, total, byModel.text);
    }
  });

  it('apply (validated whole, --dry-run, --prune) into a running cluster, and export back: a round trip, no secret in clear', T, async (t) => {
    const c = await cluster(t, pg, mock, { replicas: 2 });
    const env = { ...ENV, CLUSTER_UP_KEY: mock.apiKey, K1_SECRET: 'tg-k1-secret-0123456789abcdef' };
    const cli = (args, configPath = c.configPath) => runTollgate([...args, '--config', configPath], { cwd: path.dirname(configPath), env, timeout: 30_000 });
    const resources = {
      providers: [
        { name: 'up', kind: 'openai', base_url: mock.baseURL, api_key: '${CLUSTER_UP_KEY}' },
        { name: 'lit', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey },  // a literal: sealed at rest
      ],
      guardrails: [{ name: 'words', kind: 'keywords', mode: 'block', keywords: ['forbidden'] }],
      models: [
        { name: 'm', targets: [{ provider: 'up', model: 'gpt-4o' }], pricing: { input: 1, output: 2 } },
        { name: 'm2', targets: [{ provider: 'lit', model: 'gpt-4o-mini' }], fallbacks: ['m'], guardrails: ['words'] },
      ],
      keys: [{ name: 'k1', key_env: 'K1_SECRET', models: ['m', 'm2'], limits: { rpm: 100 } }],
    };
    const file = path.join(c.dir, 'resources.yaml');
    await fs.writeFile(file, toYaml(resources));

    // Validated whole first: one bad reference and nothing is written.
    const badFile = path.join(c.dir, 'bad.yaml');
    await fs.writeFile(badFile, toYaml({ ...resources, models: [...resources.models, { name: 'x', targets: [{ provider: 'ghost', model: 'y' }] }] }));
    let r = await cli(['apply', badFile]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /ghost/);
    assert.match(r.stderr, /nothing was applied/);
    assert.equal((await c.psql("SELECT count(*) FROM tollgate.keys")).trim(), '0');

    r = await cli(['apply', file, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    const planned = r.stdout.trim().split('\n');
    assert.deepEqual(planned.filter((l) => l.startsWith('+')).sort(), ['+ guardrail words', '+ key k1', '+ model m2', '+ provider lit'], r.stdout);
    assert.ok(planned.every((l) => /^[+~] (provider|guardrail|model|key) /.test(l)), r.stdout);
    assert.equal((await c.psql("SELECT count(*) FROM tollgate.keys")).trim(), '0', 'a dry run writes nothing');

    r = await cli(['apply', file]);
    assert.equal(r.code, 0, r.stderr);
    // The running replicas serve what apply wrote (NOTIFY reaches them from the CLI too).
    const ms = await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, env.K1_SECRET)) === 200, 'the applied key on every replica');
    console.log(`# a key applied with the CLI served by both replicas after ${ms.toFixed(0)} ms`);
    assert.equal((await client(c.gws[1], env.K1_SECRET).chat.completions.create({ model: 'm2', messages: [{ role: 'user', content: 'applied' }] })).choices[0].message.content, 'Echo: applied');
    r = await cli(['apply', file, '--dry-run']);
    assert.equal(r.stdout.trim(), '', `applied twice: nothing left to change\n${r.stdout}`);

    r = await cli(['export']);
    assert.equal(r.code, 0, r.stderr);
    const exported = r.stdout;
    assert.ok(!exported.includes(mock.apiKey) && !exported.includes(env.K1_SECRET), exported);
    assert.match(exported, /\$\{CLUSTER_UP_KEY\}/);
    assert.match(exported, /enc:v1:/);
    assert.match(exported, /key_hash:/);

    // Round trip: the export applied to another (empty) store exports the same file, and serves.
    const db2 = await pg.createDb(`cluster_${process.pid}_${++dbCount}`);
    const dir2 = await makeTempDir(t);
    const { configPath: config2 } = await writeConfig(dir2, {
      tollgate: processConfig({ store: { kind: 'postgres', url: pg.conninfo(db2) }, workers: 1, extra: { admin: { key: ADMIN_KEY } } }),
    });
    const exportFile = path.join(dir2, 'exported.yaml');
    await fs.writeFile(exportFile, exported);
    r = await cli(['apply', exportFile], config2);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    r = await cli(['export'], config2);
    assert.equal(r.stdout, exported);
    r = await cli(['apply', exportFile, '--dry-run'], config2);
    assert.equal(r.stdout.trim(), '', r.stdout);
    const other = await startGateway(t, { configPath: config2, env: { ...ENV, CLUSTER_UP_KEY: mock.apiKey } });
    assert.equal((await client(other, env.K1_SECRET).chat.completions.create({ model: 'm2', messages: [{ role: 'user', content: 'round trip' }] })).choices[0].message.content, 'Echo: round trip');
    assert.equal(mock.requestsTo('/v1/chat/completions').at(-1).headers.authorization, `Bearer ${mock.apiKey}`, 'the sealed credential opened by the other store');

    // --prune removes what the file no longer has (a key is revoked); without it, nothing goes.
    await fs.writeFile(file, toYaml({ ...resources, models: [resources.models[0]], keys: [] }));
    r = await cli(['apply', file, '--dry-run']);
    assert.equal(r.stdout.trim(), '');
    r = await cli(['apply', file, '--prune']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['- key k1', '- model m2']);
    await timeUntilAll(c.gws, async (gw) => (await keyStatus(gw, env.K1_SECRET)) === 401, 'the pruned key refused everywhere');
    assert.equal((await api(c.gws[0], 'GET', '/models/m2')).status, 404);
  });

  it('refuses to start on a database it cannot reach, and on a store with a newer schema', T, async (t) => {
    const dir = await makeTempDir(t);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'postgres', url: `host=127.0.0.1 port=1 user=postgres dbname=x connect_timeout=2` }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    await assert.rejects(startGateway(t, { configPath, env: ENV }), (err) => /exited before listening \(code 1/.test(err.message) &&
      /cannot start: the resource store postgres:127\.0\.0\.1:1\/x cannot be reached/.test(err.message) &&
      /does not start without its resources/.test(err.message));

    const c = await cluster(t, pg, mock, { replicas: 1 });
    await c.gws[0].stop();
    await c.psql("UPDATE tollgate.meta SET value = '7' WHERE key = 'schema_version'");
    await assert.rejects(startGateway(t, { configPath: c.configPath, env: ENV }), (err) =>
      /has schema version 7, newer than this tollgate knows \(1\)/.test(err.message));
    assert.equal((await c.psql("SELECT value FROM tollgate.meta WHERE key = 'schema_version'")).trim(), '7', 'left as it was');

    // Another TOLLGATE_SECRET_KEY than the one that sealed the store: refused, never garbage.
    await c.psql("UPDATE tollgate.meta SET value = '1' WHERE key = 'schema_version'");
    await assert.rejects(startGateway(t, { configPath: c.configPath, env: { TOLLGATE_SECRET_KEY: 'another passphrase' } }),
      (err) => /sealed with another secret key/.test(err.message));
  });
});
