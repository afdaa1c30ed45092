// Teams (issue 16): a team groups keys. Its model allowlist narrows each key's own (a key gets
// the intersection); its limits and budget are drawn from by all its keys together, on top of
// each key's own, in process and through Redis across replicas; a warn budget fires a signed,
// retried webhook at 50/80/100% once each; usage, metrics and the team resource show spend by
// team; and an admin key with role team-admin manages its own team's keys and nothing else.
//
// Costs are exact: the mock counts a token per word, "hi" is answered "Echo: hi" (1 + 2 tokens),
// and the models are priced at $100,000 per 1M tokens, so every request costs $0.30.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import {
  makeTempDir, postJson, processConfig, runTollgate, sleep, startGateway, startMock, waitFor, writeConfig, writeYaml, adminCall,
} from './harness.mjs';
import { startRedis } from './redis-server.mjs';

const T = { timeout: 60_000 };
const PRICE = 100_000;  // USD per 1M tokens
const COST = 0.3;       // one "hi" request: 3 tokens
const ADMIN = 'tg-admin-teams-0123456789abcdef';
const K = {
  a: 'tg-team-red-a-0123456789abcdef',
  b: 'tg-team-red-b-0123456789abcdef',
  c: 'tg-no-team-c-0123456789abcdef',
};

function pricedModels(mock) {
  return {
    providers: [{ name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
    models: ['m1', 'm2', 'm3'].map((name) => ({
      name, targets: [{ provider: 'mock', model: 'gpt-4o' }], pricing: { input: PRICE, output: PRICE },
    })),
  };
}

function chat(gw, key, model = 'm1', prompt = 'hi') {
  return postJson(`${gw.baseURL}/chat/completions`, { model, messages: [{ role: 'user', content: prompt }], max_tokens: 5 }, { apiKey: key });
}

const admin = (gw, method, path, body, key = ADMIN) => adminCall(gw, method, path, { key, body });

async function gateway(t, resources, extra = {}) {
  const dir = await makeTempDir(t);
  const { configPath } = await writeConfig(dir, { tollgate: processConfig({ extra: { admin: { key: ADMIN }, ...extra } }), resources });
  return startGateway(t, { configPath });
}

describe('teams: allowlist, shared limits and budgets', () => {
  it('a key gets the intersection of its own model list and its team\'s', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gateway(t, {
      ...pricedModels(mock),
      teams: [{ name: 'red', models: ['m1', 'm2'] }],
      keys: [
        { name: 'a', key: K.a, team: 'red', models: ['m2', 'm3'] },
        { name: 'b', key: K.b, team: 'red' },
        { name: 'c', key: K.c, models: ['m3'] },
      ],
    });
    assert.equal((await chat(gw, K.a, 'm2')).status, 200, 'both lists allow m2');
    const m1 = await chat(gw, K.a, 'm1');
    assert.equal(m1.status, 403, 'the team allows m1, the key does not');
    assert.equal(m1.json.error.code, 'model_not_allowed');
    assert.match(m1.json.error.message, /This API key is not allowed/);
    const m3 = await chat(gw, K.a, 'm3');
    assert.equal(m3.status, 403, 'the key allows m3, its team does not');
    assert.match(m3.json.error.message, /team `red` is not allowed to use the model `m3`/);
    assert.equal((await chat(gw, K.b, 'm1')).status, 200, 'a key with no list of its own gets the team\'s');
    assert.equal((await chat(gw, K.b, 'm3')).status, 403);
    assert.equal((await chat(gw, K.c, 'm3')).status, 200, 'a key with no team is not narrowed');
    const listed = await fetch(`${gw.baseURL}/models`, { headers: { authorization: `Bearer ${K.a}` } }).then((r) => r.json());
    assert.deepEqual(listed.data.map((m) => m.id).filter((id) => id.startsWith('m')).sort(), ['m2'], 'GET /v1/models lists the intersection');
  });

  it('a team\'s RPM is shared by its keys, on top of each key\'s own', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gateway(t, {
      ...pricedModels(mock),
      teams: [{ name: 'red', limits: { rpm: 3 } }],
      keys: [
        { name: 'a', key: K.a, team: 'red' },
        { name: 'b', key: K.b, team: 'red', limits: { rpm: 10 } },
        { name: 'c', key: K.c },
      ],
    });
    assert.equal((await chat(gw, K.a)).status, 200);
    assert.equal((await chat(gw, K.a)).status, 200);
    assert.equal((await chat(gw, K.b)).status, 200);
    const over = await chat(gw, K.b);
    assert.equal(over.status, 429, 'b has room of its own, but the team has used its 3');
    assert.equal(over.json.error.code, 'rate_limit_exceeded');
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.equal((await chat(gw, K.a)).status, 429);
    assert.equal((await chat(gw, K.c)).status, 200, 'a key outside the team is not limited by it');
  });

  it('a team\'s hard budget stops all its keys once spent together (in process)', T, async (t) => {
    const mock = await startMock(t);
    const gw = await gateway(t, {
      ...pricedModels(mock),
      teams: [{ name: 'red', budget: { usd_total: 20 * COST } }],
      keys: [
        { name: 'a', key: K.a, team: 'red', budget: { usd_total: 1000 } },
        { name: 'b', key: K.b, team: 'red' },
        { name: 'c', key: K.c },
      ],
    });
    let ok = 0;
    let refused = null;
    for (let i = 0; i < 40 && !refused; i++) {
      const r = await chat(gw, K.a);
      if (r.status === 200) ok++;
      else refused = r;
    }
    assert.ok(refused, 'key a was stopped');
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, 'insufficient_quota');
    assert.match(refused.json.error.message, /team budget is spent/);
    assert.ok(ok >= 2 && ok * COST <= 20 * COST + 1e-9, `a spent ${ok * COST} USD of the team's ${20 * COST}`);
    const b = await chat(gw, K.b);
    assert.equal(b.status, 429, 'key b spent nothing, but its team is spent');
    assert.equal(b.json.error.code, 'insufficient_quota');
    assert.equal((await chat(gw, K.c)).status, 200, 'a key outside the team still serves');
  });

  it('a team\'s hard budget is shared by two keys across two replicas through Redis; the spend never exceeds it', T, async (t) => {
    const redis = await startRedis(t);
    const mock = await startMock(t);
    const resources = {
      ...pricedModels(mock),
      teams: [{ name: 'red', budget: { usd_total: 40 * COST } }],
      keys: [
        { name: 'a', key: K.a, team: 'red' },
        { name: 'b', key: K.b, team: 'red' },
        { name: 'c', key: K.c },
      ],
    };
    const limits = { backend: 'redis', url: redis.url, fail_open: false, timeout_ms: 500 };
    const gws = [await gateway(t, resources, { limits }), await gateway(t, resources, { limits })];
    // 60 requests at once, both keys, both replicas: room for 40 at their actual cost (fewer
    // at once: each reserves its estimate until it settles).
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => chat(gws[i % 2], i % 4 < 2 ? K.a : K.b)));
    const ok = results.filter((r) => r.status === 200);
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 429, r.text);
      assert.equal(r.json.error.code, 'insufficient_quota');
    }
    const spent = ok.reduce((a, r) => a + ((r.json.usage.prompt_tokens + r.json.usage.completion_tokens) * PRICE) / 1e6, 0);
    assert.ok(spent <= 40 * COST + 1e-9, `spent ${spent} USD against a team budget of ${40 * COST}`);
    assert.ok(ok.length >= 1, 'some were admitted');
    const byKeyAndReplica = new Set(results.map((r, i) => (r.status === 200 ? `${i % 4 < 2 ? 'a' : 'b'}@${i % 2}` : null)).filter(Boolean));
    // Spend the rest. Settles reach Redis a moment after the answers (off the request path),
    // and a refusal may be a live reservation's: it counts once it holds after a pause.
    for (let i = 0, refusedInARow = 0; i < 100 && refusedInARow < 2; i++) {
      if ((await chat(gws[i % 2], i % 2 ? K.b : K.a)).status === 200) refusedInARow = 0;
      else {
        refusedInARow++;
        await sleep(500);
      }
    }
    for (const gw of gws) {
      for (const key of [K.a, K.b]) {
        const r = await chat(gw, key);
        assert.equal(r.status, 429, `every key of the team on every replica is stopped (${byKeyAndReplica.size} key/replica pairs were admitted)`);
        assert.match(r.json.error.message, /team budget is spent/);
      }
      assert.equal((await chat(gw, K.c)).status, 200);
    }
  });
});

describe('teams: budget alerts by webhook', () => {
  it('a warn budget fires a signed webhook at 50/80/100% once each (keys and teams), retried after a 500', T, async (t) => {
    const SECRET = 'whsec-test-0123456789';
    const got = [];
    let answered500 = false;
    const receiver = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        got.push({ headers: req.headers, body, url: req.url });
        if (!answered500) {
          answered500 = true;
          res.writeHead(500).end('try again');
        } else {
          res.writeHead(204).end();
        }
      });
    });
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    t.after(() => new Promise((r) => receiver.close(r)));
    const hook = `http://127.0.0.1:${receiver.address().port}/hooks/budget`;

    const mock = await startMock(t);
    const gw = await gateway(t, {
      ...pricedModels(mock),
      // The key crosses its daily 50/80/100% at requests 3, 4, 5; the team its total at 5, 8, 10.
      teams: [{ name: 'red', budget: { usd_total: 10 * COST, mode: 'warn' } }],
      keys: [{ name: 'a', key: K.a, team: 'red', budget: { usd_per_day: 5 * COST, mode: 'warn' } }],
    }, { budget_alerts: { webhook: hook, secret: SECRET } });

    for (let i = 0; i < 13; i++) assert.equal((await chat(gw, K.a)).status, 200, 'warn budgets admit');
    await waitFor(() => new Set(got.map((g) => g.body)).size >= 6 && got.length >= 7, { timeout: 15_000, message: 'six alerts, one of them retried' });
    await new Promise((r) => setTimeout(r, 1500));  // nothing more comes

    for (const g of got) {
      assert.equal(g.url, '/hooks/budget');
      assert.equal(g.headers['content-type'], 'application/json');
      const want = 'sha256=' + crypto.createHmac('sha256', SECRET).update(g.body).digest('hex');
      assert.equal(g.headers['x-tollgate-signature'], want, 'signed with HMAC-SHA256 over the body');
    }
    const distinct = [...new Set(got.map((g) => g.body))].map((b) => JSON.parse(b));
    assert.equal(got.length, 7, `one retry after the 500, no repeats: ${got.map((g) => g.body).join('\n')}`);
    const seen = distinct.map((a) => `${a.scope}:${a.period}:${a.percent}`).sort();
    assert.deepEqual(seen, ['key:day:100', 'key:day:50', 'key:day:80', 'team:total:100', 'team:total:50', 'team:total:80']);
    for (const a of distinct) {
      assert.equal(a.type, 'budget.threshold');
      assert.equal(a.team, 'red');
      assert.equal(a.mode, 'warn');
      if (a.scope === 'key') {
        assert.equal(a.key.name, 'a');
        assert.ok(Math.abs(a.budget_usd - 5 * COST) < 1e-9);
      } else {
        assert.equal(a.key, null);
        assert.ok(Math.abs(a.budget_usd - 10 * COST) < 1e-9);
      }
      assert.ok(a.spent_usd * 100 >= a.percent * a.budget_usd - 1e-6, JSON.stringify(a));
    }
    assert.ok(got.slice(1).some((g) => g.body === got[0].body), 'the alert answered 500 was sent again');
    assert.match(gw.output().stdout + gw.output().stderr, /budget: team red spent [\d.]+ USD of its total budget/, 'and a log line');
  });
});

describe('teams: usage, metrics, the team resource, roles', () => {
  it('usage by team, the team label on metrics, spend on the team; team-admin stays in its team; viewer cannot write', T, async (t) => {
    const mock = await startMock(t);
    const dir = await makeTempDir(t);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './data/tollgate.db' }, extra: { admin: { key: ADMIN } } }),
    });
    const gw = await startGateway(t, { configPath });
    const base = pricedModels(mock);
    assert.equal((await admin(gw, 'POST', '/providers', base.providers[0])).status, 201);
    for (const m of base.models) assert.equal((await admin(gw, 'POST', '/models', m)).status, 201);
    for (const name of ['red', 'blue']) assert.equal((await admin(gw, 'POST', '/teams', { name, limits: { rpm: 100 } })).status, 201);

    // The same mistakes get the same messages from the API as from the resources file.
    const bad = await admin(gw, 'POST', '/teams', { name: 'x', limits: { rpm: 0 }, budget: { mode: 'soft' } });
    assert.equal(bad.status, 400);
    const apiErrors = Object.fromEntries(bad.json.error.errors.map((e) => [e.field, e.message]));
    const file = await writeYaml(`${dir}/bad.yaml`, { teams: [{ name: 'x', limits: { rpm: 0 }, budget: { mode: 'soft' } }] });
    const validate = await runTollgate(['validate', file], { cwd: dir });
    assert.notEqual(validate.code, 0);
    for (const [field, message] of Object.entries(apiErrors)) {
      assert.match(validate.stdout + validate.stderr, new RegExp(`:\\d+:\\d+: teams\\[0\\]\\.${field.replace('.', '\\.')}: ${message.replace(/[()[\]]/g, '\\$&')}`),
        `tollgate validate names ${field} with its line and the API's message "${message}"`);
    }
    const badModel = await admin(gw, 'POST', '/teams', { name: 'y', models: ['m1', 'nope'] });
    assert.equal(badModel.status, 400, badModel.text);
    assert.ok(badModel.json.error.errors.some((e) => e.field === 'models[1]' && /model "nope" is not declared/.test(e.message)), badModel.text);
    const noTeam = await admin(gw, 'POST', '/keys', { name: 'z', team: 'nope' });
    assert.equal(noTeam.status, 400);
    assert.match(noTeam.text, /team \\"nope\\" is not declared/);

    const keys = {};
    for (const [name, team] of [['red-1', 'red'], ['red-2', 'red'], ['blue-1', 'blue']]) {
      const r = await admin(gw, 'POST', '/keys', { name, team });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.team, team);
      keys[name] = r.json;
    }
    for (let i = 0; i < 3; i++) assert.equal((await chat(gw, keys['red-1'].secret)).status, 200);
    assert.equal((await chat(gw, keys['red-2'].secret)).status, 200);
    assert.equal((await chat(gw, keys['blue-1'].secret)).status, 200);

    // Metrics carry the team.
    const metrics = await fetch(`${gw.adminURL}/metrics`).then((r) => r.text());
    assert.match(metrics, /tollgate_requests_total\{[^}]*key="red-1",team="red",status="200"\} 3/);
    assert.match(metrics, /tollgate_requests_total\{[^}]*key="blue-1",team="blue",status="200"\} 1/);
    assert.match(metrics, /tollgate_cost_usd_total\{[^}]*key="red-2",team="red"\} 0\.3/);

    // Usage by team (the usage writer batches: wait for the rows).
    let byTeam;
    await waitFor(async () => {
      byTeam = await admin(gw, 'GET', '/usage?group_by=team');
      return byTeam.status === 200 && byTeam.json.data.find((b) => b.group === 'red')?.requests === 4;
    }, { timeout: 10_000, message: 'usage rows by team' });
    const red = byTeam.json.data.find((b) => b.group === 'red');
    assert.ok(Math.abs(red.cost_usd - 4 * COST) < 1e-9);
    assert.equal(byTeam.json.data.find((b) => b.group === 'blue').requests, 1);
    const onlyBlue = await admin(gw, 'GET', '/usage?team=blue');
    assert.equal(onlyBlue.json.totals.requests, 1);
    const log = await admin(gw, 'GET', '/requests?team=red');
    assert.equal(log.json.data.length, 4);
    assert.ok(log.json.data.every((r) => r.team === 'red'));
    const team = await admin(gw, 'GET', '/teams/red');
    assert.equal(team.status, 200);
    assert.ok(Math.abs(team.json.spend.usd_total - 4 * COST) < 1e-9, JSON.stringify(team.json));
    assert.ok(Math.abs(team.json.spend.usd_today - 4 * COST) < 1e-9);
    assert.deepEqual(team.json.keys.sort(), ['red-1', 'red-2']);

    // A team-admin of red.
    const ta = await admin(gw, 'POST', '/admin_keys', { name: 'red-lead', role: 'team-admin', team: 'red' });
    assert.equal(ta.status, 201, ta.text);
    assert.equal((await admin(gw, 'POST', '/admin_keys', { name: 'x-lead', role: 'team-admin' })).status, 400, 'team-admin needs a team');
    const lead = ta.json.secret;
    const listed = await admin(gw, 'GET', '/keys', undefined, lead);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.data.map((k) => k.name).sort(), ['red-1', 'red-2'], 'only its team\'s keys');
    const blueId = keys['blue-1'].id;
    for (const [method, path, body] of [
      ['GET', `/keys/${blueId}`],
      ['PATCH', `/keys/${blueId}`, { limits: { rpm: 1 } }],
      ['POST', `/keys/${blueId}/revoke`, {}],
      ['POST', `/keys/${blueId}/rotate`, {}],
      ['POST', '/keys', { name: 'sneaky', team: 'blue' }],
      ['PATCH', `/keys/${keys['red-1'].id}`, { team: 'blue' }],
      ['PUT', '/teams/red', { name: 'red', limits: { rpm: 100000 } }],
      ['GET', '/teams/blue'],
      ['GET', '/providers'],
      ['POST', '/providers', { name: 'p2', kind: 'openai', api_key: 'sk-x' }],
      ['GET', '/admin_keys'],
      ['GET', '/audit'],
    ]) {
      const r = await admin(gw, method, path, body, lead);
      assert.ok(r.status === 403 || (r.status === 404 && path === '/teams/blue'), `${method} ${path}: ${r.status} ${r.text}`);
    }
    assert.equal((await admin(gw, 'GET', '/usage?team=blue', undefined, lead)).status, 400, 'another team\'s usage');
    const cfg = await admin(gw, 'GET', '/config', undefined, lead);
    assert.equal(cfg.status, 200, 'the UI learns its role there');
    assert.deepEqual(cfg.json.caller, { actor: 'admin_key:red-lead', role: 'team-admin', team: 'red' });
    assert.deepEqual(cfg.json.providers, [], 'no providers for a team-admin');
    const own = await admin(gw, 'GET', '/usage?group_by=team', undefined, lead);
    assert.deepEqual(own.json.data.map((b) => b.group), ['red'], 'usage narrowed to its team');
    const teams = await admin(gw, 'GET', '/teams', undefined, lead);
    assert.deepEqual(teams.json.data.map((x) => x.name), ['red']);
    assert.ok(teams.json.data[0].spend, 'its budget and spend');
    const made = await admin(gw, 'POST', '/keys', { name: 'red-3', limits: { rpm: 5 } }, lead);
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.team, 'red', 'a key it creates is in its team');
    assert.equal((await admin(gw, 'PATCH', `/keys/${made.json.id}`, { limits: { rpm: 7 } }, lead)).status, 200);
    assert.equal((await admin(gw, 'POST', `/keys/${made.json.id}/revoke`, {}, lead)).status, 200);
    const audit = await admin(gw, 'GET', '/audit?limit=50');
    const byLead = audit.json.data.filter((e) => e.actor === 'admin_key:red-lead');
    assert.ok(byLead.some((e) => e.action === 'POST /admin/v1/keys' && e.status === 201), 'its writes are audited');
    assert.ok(byLead.some((e) => e.action.endsWith('/revoke')));
    assert.ok(byLead.every((e) => !JSON.stringify(e).includes(made.json.secret)), 'no secret in the audit log');

    // A viewer reads, never writes.
    const viewer = (await admin(gw, 'POST', '/admin_keys', { name: 'watcher', role: 'viewer' })).json.secret;
    assert.equal((await admin(gw, 'GET', '/teams', undefined, viewer)).json.data.length, 2);
    assert.equal((await admin(gw, 'PUT', '/teams/red', { name: 'red' }, viewer)).status, 403);
    assert.equal((await admin(gw, 'POST', '/keys', { name: 'v1', team: 'red' }, viewer)).status, 403);

    // A team still used by keys cannot be deleted.
    const del = await admin(gw, 'DELETE', '/teams/blue');
    assert.equal(del.status, 409);
    assert.match(del.text, /key blue-1/);
  });
});
