// Several replicas on one SQLite store (issue 15): provider credentials are sealed with the
// TOLLGATE_SECRET_KEY every replica shares; a replica with another key refuses to start with a
// clear message (the store's key check value), never serving credentials it cannot open. The
// store carries a schema version: an older store is migrated once, a newer one is refused.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import OpenAI from 'openai';
import { makeTempDir, processConfig, runTollgate, startGateway, startMock, writeConfig } from './harness.mjs';

const T = { timeout: 60_000 };

/** The sqlite3 shell's answer, or null when there is none here. */
function sqlite3(args) {
  return new Promise((resolve, reject) => execFile('sqlite3', args, { timeout: 10_000 }, (err, stdout, stderr) => {
    if (err && err.code === 'ENOENT') resolve(null);
    else if (err) reject(new Error(`sqlite3 ${args.join(' ')}: ${stderr || err.message}`));
    else resolve(stdout.trim());
  }));
}

/** A sqlite store provisioned through the CLI with a literal (so sealed) provider key. */
async function provisioned(t, env) {
  const mock = await startMock(t);
  const dir = await makeTempDir(t);
  const { configPath } = await writeConfig(dir, { tollgate: processConfig({ store: { kind: 'sqlite', path: './db.sqlite' } }) });
  const cli = (args, e = env) => runTollgate([...args, '--config', configPath], { cwd: dir, env: e });
  let r = await cli(['providers', 'add', '--name', 'up', '--kind', 'openai', '--base-url', mock.baseURL, '--api-key', mock.apiKey]);
  assert.equal(r.code, 0, r.stderr);
  r = await cli(['models', 'add', '--name', 'm', '--target', 'up=gpt-4o']);
  assert.equal(r.code, 0, r.stderr);
  r = await cli(['keys', 'create', '--name', 'k', '--models', 'm']);
  assert.equal(r.code, 0, r.stderr);
  const secret = r.stdout.split('\n')[0].trim();
  return { mock, dir, configPath, secret, db: path.join(dir, 'db.sqlite'), cli };
}

async function ask(gw, secret, content) {
  const openai = new OpenAI({ baseURL: gw.baseURL, apiKey: secret, maxRetries: 0, timeout: 10_000 });
  const a = await openai.chat.completions.create({ model: 'm', messages: [{ role: 'user', content }] });
  return a.choices[0].message.content;
}

describe('replicas on one sqlite store', () => {
  it('the same TOLLGATE_SECRET_KEY serves the sealed credential on every replica; another key refuses to start with a clear message', T, async (t) => {
    const shared = { TOLLGATE_SECRET_KEY: 'the cluster passphrase' };
    const s = await provisioned(t, shared);
    const raw = await sqlite3([s.db, "SELECT doc FROM providers WHERE name = 'up'"]);
    if (raw !== null) {
      assert.ok(!raw.includes(s.mock.apiKey), 'the provider key is sealed at rest');
      assert.match(await sqlite3([s.db, "SELECT value FROM meta WHERE key = 'secret_check'"]), /^enc:v1:/);
    }

    const a = await startGateway(t, { configPath: s.configPath, env: shared });
    const b = await startGateway(t, { configPath: s.configPath, env: shared });
    assert.equal(await ask(a, s.secret, 'via a'), 'Echo: via a');
    assert.equal(await ask(b, s.secret, 'via b'), 'Echo: via b');
    const sent = s.mock.requestsTo('/v1/chat/completions');
    assert.equal(sent.length, 2);

    const other = await runTollgate(['serve', '--config', s.configPath], { cwd: s.dir, env: { TOLLGATE_SECRET_KEY: 'another passphrase' } });
    assert.equal(other.code, 1, `${other.stdout}\n${other.stderr}`);
    assert.match(other.stdout + other.stderr, /sealed with another secret key.*TOLLGATE_SECRET_KEY/s);
    // The CLI refuses it the same way (it would write credentials sealed with another key).
    const cli = await s.cli(['keys', 'create', '--name', 'k2', '--models', 'm'], { TOLLGATE_SECRET_KEY: 'another passphrase' });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stdout + cli.stderr, /sealed with another secret key/);
    assert.equal(s.mock.requestsTo('/v1/chat/completions').length, 2, 'nothing reached the provider');
  });

  it('schema version: an older store is migrated once at start; a newer one is refused with a clear message and left as it was', T, async (t) => {
    const shared = { TOLLGATE_SECRET_KEY: 'the cluster passphrase' };
    const s = await provisioned(t, shared);
    if ((await sqlite3([s.db, 'PRAGMA user_version'])) === null) return t.skip('no sqlite3 shell to change the store');
    assert.equal(await sqlite3([s.db, 'PRAGMA user_version']), '2');

    // Older: the version before versions (0). Migrated at start, served as before.
    await sqlite3([s.db, 'PRAGMA user_version = 0']);
    const gw = await startGateway(t, { configPath: s.configPath, env: shared });
    assert.equal(await ask(gw, s.secret, 'migrated'), 'Echo: migrated');
    assert.equal(await sqlite3([s.db, 'PRAGMA user_version']), '2');
    const out = gw.output();
    assert.match(out.stdout + out.stderr, /migrated the store sqlite:.* from schema version 0 to 2/);
    await gw.stop();

    // Newer: refused by serve and by the CLI, with the versions named; the store is untouched.
    await sqlite3([s.db, 'PRAGMA user_version = 7']);
    const r = await runTollgate(['serve', '--config', s.configPath], { cwd: s.dir, env: shared });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout + r.stderr, /schema version 7, newer than this tollgate knows \(2\)/);
    const cli = await s.cli(['keys', 'create', '--name', 'k2', '--models', 'm']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stdout + cli.stderr, /schema version 7/);
    assert.equal(await sqlite3([s.db, 'PRAGMA user_version']), '7');
  });
});
