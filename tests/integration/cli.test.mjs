// The command line and the resource stores: validate, ${ENV} interpolation, SIGHUP reload of a
// resources file (and rejection of a bad one), keys create on the SQLite store, SIGTERM.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import OpenAI from 'openai';
import {
  KEYS,
  cleanupScope,
  makeTempDir,
  processConfig,
  runTollgate,
  sleep,
  standardResources,
  startGateway,
  startMock,
  waitFor,
  writeConfig,
  writeYaml,
} from './harness.mjs';

const T = { timeout: 30_000 };
const clientFor = (gw, apiKey) => new OpenAI({ baseURL: gw.baseURL, apiKey, maxRetries: 0, timeout: 10_000 });
const fakeMock = { baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-x' };

async function modelIds(openai) {
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  return ids;
}

/** A scope whose cleanups run after the test, in reverse order of registration. */
function scoped(t) {
  const scope = cleanupScope();
  t.after(() => scope.run());
  return scope;
}

it('validate: a good file prints ok and exits 0', T, async (t) => {
  const dir = await makeTempDir(scoped(t));
  const file = await writeYaml(path.join(dir, 'resources.yaml'), standardResources(fakeMock));
  const r = await runTollgate(['validate', file]);
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stdout, /\bok\b/);
});

it('validate: a tollgate.yaml without listen or store is still read as a process config', T, async (t) => {
  const dir = await makeTempDir(scoped(t));
  const good = await writeYaml(path.join(dir, 'tollgate.yaml'), { usage: { backend: 'off' }, workers: 2 });
  const ok = await runTollgate(['validate', good]);
  assert.equal(ok.code, 0, `stdout: ${ok.stdout}\nstderr: ${ok.stderr}`);
  const bad = await writeYaml(path.join(dir, 'bad.yaml'), { usage: { backend: 'mongodb' } });
  const r = await runTollgate(['validate', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /usage\.backend/);
  assert.doesNotMatch(r.stdout, /unknown field/);
});

it('validate: an unknown field exits non-zero and names the file, line and field', T, async (t) => {
  const dir = await makeTempDir(scoped(t));
  const file = path.join(dir, 'resources.yaml');
  await fs.writeFile(
    file,
    [
      'providers:',
      '  - name: mock',
      '    kind: openai',
      '    base_url: "http://127.0.0.1:9/v1"',
      '    api_kee: "sk-typo"', // line 5
      'models:',
      '  - name: gpt',
      '    targets: [{ provider: mock, model: gpt-4o }]',
      'keys: []',
      '',
    ].join('\n'),
  );
  const r = await runTollgate(['validate', file]);
  const out = r.stdout + r.stderr;
  assert.notEqual(r.code, 0, out);
  assert.match(out, /resources\.yaml:5:\d+: .*api_kee/, out);
});

it('validate: a target naming a missing provider is rejected with its line', T, async (t) => {
  const dir = await makeTempDir(scoped(t));
  const file = path.join(dir, 'resources.yaml');
  await fs.writeFile(
    file,
    [
      'providers:',
      '  - name: mock',
      '    kind: openai',
      '    base_url: "http://127.0.0.1:9/v1"',
      '    api_key: "sk-x"',
      'models:',
      '  - name: gpt',
      '    targets:',
      '      - provider: nope', // line 9
      '        model: gpt-4o',
      'keys: []',
      '',
    ].join('\n'),
  );
  const r = await runTollgate(['validate', file]);
  const out = r.stdout + r.stderr;
  assert.notEqual(r.code, 0, out);
  assert.match(out, /resources\.yaml:9:\d+: .*nope/, out);
});

it('${ENV} interpolation and key_env: secrets come from the environment', T, async (t) => {
  const scope = scoped(t);
  const mock = await startMock(scope);
  const dir = await makeTempDir(scope);
  const resources = standardResources(mock);
  resources.providers[0].api_key = '${TG_IT_UPSTREAM_KEY}';
  resources.keys.push({ name: 'from-env', key_env: 'TG_IT_VIRTUAL_KEY', models: ['gpt'] });
  const { configPath } = await writeConfig(dir, { resources });
  const gw = await startGateway(scope, {
    configPath,
    env: { TG_IT_UPSTREAM_KEY: mock.apiKey, TG_IT_VIRTUAL_KEY: 'tg-test-from-env-0123456789' },
  });
  const r = await clientFor(gw, 'tg-test-from-env-0123456789').chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'env' }] });
  assert.equal(r.choices[0].message.content, 'Echo: env');
  assert.equal(mock.requests[0].headers.authorization, `Bearer ${mock.apiKey}`);
});

it('SIGHUP reloads the resources file; an invalid file is rejected and the old snapshot keeps serving', T, async (t) => {
  const scope = scoped(t);
  const mock = await startMock(scope);
  const dir = await makeTempDir(scope);
  const resources = standardResources(mock);
  const { configPath, resourcesPath } = await writeConfig(dir, { resources });
  const gw = await startGateway(scope, { configPath });
  const openai = clientFor(gw, KEYS.all);
  assert.ok(!(await modelIds(openai)).includes('gpt-new'));

  // A valid change: a new alias, allowed for the `all` key.
  const next = structuredClone(resources);
  next.models.push({ name: 'gpt-new', targets: [{ provider: 'mock', model: 'gpt-4o-mini' }] });
  next.keys[0].models.push('gpt-new');
  await writeYaml(resourcesPath, next);
  gw.proc.kill('SIGHUP');
  await waitFor(async () => (await modelIds(openai)).includes('gpt-new'), { timeout: 3000, message: 'gpt-new in /v1/models after SIGHUP' });
  const r = await openai.chat.completions.create({ model: 'gpt-new', messages: [{ role: 'user', content: 'new' }] });
  assert.equal(r.choices[0].message.content, 'Echo: new');
  assert.equal(mock.requests.at(-1).body.model, 'gpt-4o-mini');

  // An invalid change: rejected whole.
  const broken = structuredClone(next);
  broken.models.push({ name: 'gpt-broken', targets: [{ provider: 'mock', model: 'x' }], bogus_field: true });
  await writeYaml(resourcesPath, broken);
  gw.proc.kill('SIGHUP');
  await sleep(1500);
  assert.equal(gw.proc.exitCode, null, `gateway exited on a bad reload: ${JSON.stringify(gw.output())}`);
  const ids = await modelIds(openai);
  assert.ok(ids.includes('gpt-new') && !ids.includes('gpt-broken'), JSON.stringify(ids));
  const r2 = await openai.chat.completions.create({ model: 'gpt-new', messages: [{ role: 'user', content: 'still' }] });
  assert.equal(r2.choices[0].message.content, 'Echo: still');

  const { code, signal } = await gw.stop();
  assert.deepEqual({ code, signal }, { code: 0, signal: null }, 'SIGTERM drains and exits 0');
});

it('keys create (SQLite store) prints the secret, and the key works on a running gateway', T, async (t) => {
  const scope = scoped(t);
  const dir = await makeTempDir(scope);
  const { configPath } = await writeConfig(dir, { tollgate: processConfig({ store: { kind: 'sqlite', path: './data.db' } }) });
  const gw = await startGateway(scope, { configPath });

  const r = await runTollgate(['keys', 'create', '--name', 'it-key', '--models', 'demo', '--config', configPath], { cwd: dir });
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const secret = r.stdout.split('\n')[0].trim();
  assert.match(secret, /^\S{16,}$/, `first stdout line should be the secret: ${JSON.stringify(r.stdout)}`);

  const openai = clientFor(gw, secret);
  const answer = await waitFor(
    async () => {
      try {
        return await openai.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'new key' }] });
      } catch (e) {
        if (e.status === 401) return null; // not picked up yet
        throw e;
      }
    },
    { timeout: 3000, interval: 100, message: 'the new key to be accepted' },
  );
  assert.ok(answer.choices[0].message.content.length > 0);

  // A key nobody created is still refused.
  await assert.rejects(clientFor(gw, `${secret}x`).chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'x' }] }), (e) => e.status === 401);
});

it('providers add / models add (SQLite store) declare an upstream that a running gateway serves at once', T, async (t) => {
  const scope = scoped(t);
  const mock = await startMock(scope);
  const dir = await makeTempDir(scope);
  const { configPath } = await writeConfig(dir, { tollgate: processConfig({ store: { kind: 'sqlite', path: './state/db.sqlite' } }) });
  const env = { MOCK_UPSTREAM_KEY: mock.apiKey };
  const cli = (args) => runTollgate([...args, '--config', configPath], { cwd: dir, env });

  // The key stays an ${ENV} reference in the store; a reference to an unset variable is refused.
  const refused = await runTollgate(['providers', 'add', '--name', 'up', '--kind', 'openai', '--base-url', mock.baseURL,
    '--api-key', '${NOT_SET_ANYWHERE}', '--config', configPath], { cwd: dir });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /NOT_SET_ANYWHERE/);

  let r = await cli(['providers', 'add', '--name', 'up', '--kind', 'openai', '--base-url', mock.baseURL, '--api-key', '${MOCK_UPSTREAM_KEY}']);
  assert.equal(r.code, 0, r.stderr);
  r = await cli(['models', 'add', '--name', 'first', '--target', 'up=gpt-4o']);
  assert.equal(r.code, 0, r.stderr);
  r = await cli(['models', 'add', '--name', 'broken', '--target', 'nobody=gpt-4o']);
  assert.equal(r.code, 1, 'a target on an undeclared provider is refused');
  r = await cli(['keys', 'create', '--name', 'k', '--models', 'first,second']);
  assert.equal(r.code, 1, 'a key naming an undeclared model is refused');
  r = await cli(['keys', 'create', '--name', 'k', '--models', 'first']);
  assert.equal(r.code, 0, r.stderr);
  const secret = r.stdout.split('\n')[0].trim();

  const gw = await startGateway(scope, { configPath, env });
  const openai = clientFor(gw, secret);
  const a = await openai.chat.completions.create({ model: 'first', messages: [{ role: 'user', content: 'from sqlite' }] });
  assert.equal(a.choices[0].message.content, 'Echo: from sqlite');
  assert.equal(mock.requests.at(-1).body.model, 'gpt-4o');

  // A model added while the gateway runs is served within about a second.
  r = await cli(['models', 'add', '--name', 'first', '--target', 'up=gpt-4o-mini']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor(async () => {
    await openai.chat.completions.create({ model: 'first', messages: [{ role: 'user', content: 'again' }] });
    return mock.requests.at(-1).body.model === 'gpt-4o-mini';
  }, { timeout: 3000, message: 'the changed alias to be served' });
});

// Issue 18: `workers: 0` means the CPUs the process may run on (its affinity mask, capped by its
// cgroup's cpu.max), and the soft descriptor limit is raised to the hard one at start.
it('workers 0 follows the affinity mask, and the descriptor limit is raised to the hard limit', T, async (t) => {
  const dir = await makeTempDir(t);
  const { configPath } = await writeConfig(dir, {
    tollgate: processConfig({ workers: 0 }),
    resources: standardResources(fakeMock),
  });
  const hard = (await runShell('ulimit -H -n')).trim();
  assert.match(hard, /^(\d+|unlimited)$/);
  const soft = hard === 'unlimited' || Number(hard) > 256 ? 256 : Number(hard);
  // One CPU: the first of this process's own affinity mask.
  const gw = await startGateway(t, { configPath, launch: `ulimit -S -n ${soft} && exec taskset -c "$(taskset -pc $$ | sed 's/.*: //; s/[-,].*//')"` });
  await waitFor(() => /serving \d+ workers/.test(gw.output().stdout + gw.output().stderr), { message: 'the serving line' });
  const log = gw.output().stdout + gw.output().stderr;
  assert.match(log, /serving 1 workers/, 'one CPU in the affinity mask: one worker');
  const limit = Number(/descriptor limit (\d+)/.exec(log)[1]);
  if (hard === 'unlimited') assert.ok(limit > soft, `raised from ${soft}: ${limit}`);
  else assert.equal(limit, Number(hard), `the soft limit ${soft} raised to the hard limit ${hard}`);
  const res = await fetch(`${gw.proxyURL}/livez`);
  assert.equal(res.status, 200);
});

function runShell(command) {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', command], (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}
