// The Admin API (/admin/v1): providers, models and keys written through it serve real traffic
// at once; credentials are write-only; usage and the request log show the traffic; auth and
// bad input are refused with precise errors; a resources file (read-only store) refuses writes.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import {
  adminCall, cleanupScope, makeTempDir, processConfig, startGateway, startMock, waitFor, writeConfig,
} from './harness.mjs';

const T = { timeout: 30_000 };
const ADMIN_KEY = 'adm-test-key';
const UPSTREAM_SECRET = 'sk-upstream-secret-7f3a9c1e5b';

/** One Admin API call as ADMIN_KEY unless `key` says otherwise (null: none). */
const api = (gw, method, path, { body, key = ADMIN_KEY, headers } = {}) => adminCall(gw, method, path, { key, body, headers });

/** Asserts a 400 invalid_resource naming `field` (and, optionally, a message fragment). */
function assertFieldError(res, field, fragment) {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.json.error.type, 'invalid_request_error');
  assert.equal(res.json.error.code, 'invalid_resource');
  const found = res.json.error.errors.find((e) => e.field === field);
  assert.ok(found, `no error for field ${field}: ${res.text}`);
  if (fragment) assert.match(found.message, fragment);
}

function client(gw, apiKey) {
  return new OpenAI({ baseURL: gw.baseURL, apiKey, maxRetries: 0, timeout: 10_000 });
}

const chat = (gw, apiKey, model, content = 'hello admin') =>
  client(gw, apiKey).chat.completions.create({ model, messages: [{ role: 'user', content }] });

describe('admin api on the sqlite store', () => {
  const scope = cleanupScope();
  let gw;
  let mock;
  const secrets = [UPSTREAM_SECRET];

  before(async () => {
    mock = await startMock(scope, { apiKey: UPSTREAM_SECRET });
    const dir = await makeTempDir(scope);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './db.sqlite' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath, env: { ADMIN_TEST_BASE_URL: mock.baseURL } });
  });
  after(() => scope.run());

  it('refuses a missing or wrong admin key on every route', T, async () => {
    const routes = [
      ['GET', '/providers'], ['POST', '/providers'], ['GET', '/providers/x'], ['PUT', '/providers/x'],
      ['DELETE', '/providers/x'], ['GET', '/models'], ['POST', '/models'], ['GET', '/keys'],
      ['POST', '/keys'], ['PATCH', '/keys/x'], ['POST', '/keys/x/revoke'], ['POST', '/keys/x/rotate'],
      ['GET', '/usage'], ['GET', '/requests'], ['GET', '/requests/x'], ['GET', '/config'], ['GET', '/openapi.json'],
    ];
    for (const [method, path] of routes) {
      for (const key of [null, 'wrong-key', `${ADMIN_KEY}x`, '']) {
        const res = await api(gw, method, path, { key, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
        assert.equal(res.status, 401, `${method} ${path} with ${key}: ${res.text}`);
        assert.equal(res.json.error.type, 'authentication_error');
        assert.match(res.headers.get('www-authenticate') ?? '', /Bearer/);
      }
    }
    // The proxy's virtual keys are not admin keys, and the admin key is not a Basic password.
    const basic = await api(gw, 'GET', '/config', { key: null, headers: { authorization: `Basic ${ADMIN_KEY}` } });
    assert.equal(basic.status, 401);
  });

  it('serves its OpenAPI document', T, async () => {
    const res = await api(gw, 'GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.json.openapi, /^3\./);
    for (const p of ['/admin/v1/providers', '/admin/v1/providers/{name}', '/admin/v1/models', '/admin/v1/models/{name}',
      '/admin/v1/keys', '/admin/v1/keys/{id}', '/admin/v1/keys/{id}/revoke', '/admin/v1/keys/{id}/rotate',
      '/admin/v1/usage', '/admin/v1/requests', '/admin/v1/requests/{request_id}', '/admin/v1/config']) {
      assert.ok(res.json.paths[p], `openapi lacks ${p}`);
    }
    assert.deepEqual(Object.keys(res.json.paths['/admin/v1/keys/{id}']).sort(), ['get', 'parameters', 'patch']);
  });

  it('answers 404 for unknown routes and 405 for wrong methods', T, async () => {
    assert.equal((await api(gw, 'GET', '/nothing')).status, 404);
    assert.equal((await api(gw, 'GET', '')).status, 404);
    const wrong = await api(gw, 'DELETE', '/usage');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET');
    assert.equal((await api(gw, 'PATCH', '/providers')).status, 405);
  });

  it('validates providers with errors that name the field', T, async () => {
    assertFieldError(await api(gw, 'POST', '/providers', { body: { kind: 'openai' } }), 'name');
    assertFieldError(await api(gw, 'POST', '/providers', { body: { name: 'p1', kind: 'nope' } }), 'kind', /must be one of: openai, openai-compatible/);
    assertFieldError(await api(gw, 'POST', '/providers', { body: { name: 'p1' } }), 'kind', /required/);
    assertFieldError(await api(gw, 'POST', '/providers', { body: { name: 'p1', kind: 'openai', timeouts: { connect_ms: 'soon' } } }), 'timeouts.connect_ms');
    assertFieldError(await api(gw, 'POST', '/providers', { body: { name: 'p1', kind: 'openai', colour: 'red' } }), 'colour');
    assertFieldError(await api(gw, 'POST', '/providers', { body: { name: 'p1', kind: 'openai', api_key: '${ADMIN_TEST_NOT_SET}' } }), 'api_key', /ADMIN_TEST_NOT_SET/);
    assertFieldError(await api(gw, 'POST', '/providers', { body: { name: 'p 1', kind: 'openai' } }), 'name');
    assertFieldError(await api(gw, 'POST', '/providers', { body: '{not json' }), '', /JSON/);
    assertFieldError(await api(gw, 'POST', '/providers', { body: [1, 2] }), '', /object/);
    assertFieldError(await api(gw, 'PUT', '/providers/p1', { body: { name: 'p2', kind: 'openai' } }), 'name', /match/);
    assert.equal((await api(gw, 'GET', '/providers/p1')).status, 404, 'nothing was stored');
  });

  let keySecret;
  let keyId;

  it('creates a provider, a model and a key that serve a request through the proxy at once', T, async () => {
    const p = await api(gw, 'POST', '/providers', {
      body: { name: 'mockp', kind: 'openai', base_url: '${ADMIN_TEST_BASE_URL}', api_key: UPSTREAM_SECRET, headers: { 'x-api-key': 'hdr-secret-123', 'x-team': 'blue' } },
    });
    secrets.push('hdr-secret-123');
    assert.equal(p.status, 201, p.text);
    assert.equal(p.json.name, 'mockp');
    assert.equal(p.json.base_url, mock.baseURL);
    assert.equal(p.json.api_key_set, true);
    assert.equal('api_key' in p.json, false);
    assert.deepEqual(p.json.headers, { 'x-team': 'blue' });
    assert.deepEqual(p.json.secret_headers, ['x-api-key']);
    assert.equal((await api(gw, 'POST', '/providers', { body: { name: 'mockp', kind: 'openai' } })).status, 409);

    assertFieldError(await api(gw, 'POST', '/models', { body: { name: 'm1', targets: [{ provider: 'ghost', model: 'gpt-4o' }] } }), 'targets[0].provider', /not declared/);
    assertFieldError(await api(gw, 'POST', '/models', { body: { name: 'm1', strategy: 'random', targets: [{ provider: 'mockp', model: 'gpt-4o' }] } }), 'strategy');
    assertFieldError(await api(gw, 'POST', '/models', { body: { name: 'm1', targets: [] } }), 'targets');
    assertFieldError(await api(gw, 'POST', '/models', { body: { name: 'm1', targets: [{ provider: 'mockp' }] } }), 'targets[0].model');
    const m = await api(gw, 'POST', '/models', {
      body: { name: 'smart', targets: [{ provider: 'mockp', model: 'gpt-4o' }], pricing: { input: 2.5, output: 10 }, limits: { rpm: 1000 } },
    });
    assert.equal(m.status, 201, m.text);
    assert.equal(m.json.name, 'smart');
    assert.deepEqual(m.json.limits, { rpm: 1000 });
    assert.equal(m.json.targets[0].provider, 'mockp');

    assertFieldError(await api(gw, 'POST', '/keys', { body: { models: ['smart'] } }), 'name');
    assertFieldError(await api(gw, 'POST', '/keys', { body: { name: 'k', models: ['ghost'] } }), 'models[0]', /not declared/);
    assertFieldError(await api(gw, 'POST', '/keys', { body: { name: 'k', limits: { rpm: 0 } } }), 'limits.rpm');
    assertFieldError(await api(gw, 'POST', '/keys', { body: { name: 'k', budget: { usd_per_day: 'lots' } } }), 'budget.usd_per_day');
    assertFieldError(await api(gw, 'POST', '/keys', { body: { name: 'k', budget: { mode: 'soft' } } }), 'budget.mode');
    assertFieldError(await api(gw, 'POST', '/keys', { body: { name: 'k', key: 'tg-chosen' } }), 'key', /generates/);
    assertFieldError(await api(gw, 'POST', '/keys', { body: { name: 'k', expires_at: 'tomorrow' } }), 'expires_at');

    const k = await api(gw, 'POST', '/keys', {
      body: { name: 'team-a', models: ['smart'], limits: { rpm: 100, concurrency: 4 }, budget: { usd_per_month: 50 }, model_limits: { smart: { tpm: 100000 } } },
    });
    assert.equal(k.status, 201, k.text);
    assert.match(k.json.id, /^key_[0-9a-f]{12}$/);
    assert.match(k.json.secret, /^tg-/);
    assert.equal(k.json.prefix, k.json.secret.slice(0, 8));
    assert.deepEqual(k.json.models, ['smart']);
    assert.deepEqual(k.json.limits, { rpm: 100, concurrency: 4 });
    assert.deepEqual(k.json.budget, { usd_per_month: 50 });
    assert.deepEqual(k.json.model_limits, { smart: { tpm: 100000 } });
    assert.ok(Math.abs(k.json.created_at - Date.now() / 1000) < 60, `created_at ${k.json.created_at}`);
    keySecret = k.json.secret;
    keyId = k.json.id;
    secrets.push(keySecret);
    assert.equal((await api(gw, 'POST', '/keys', { body: { name: 'team-a' } })).status, 409);

    // Live at once: no wait between the writes and the request.
    const answer = await chat(gw, keySecret, 'smart');
    assert.equal(answer.choices[0].message.content, 'Echo: hello admin');
    // The key may only use `smart`.
    await assert.rejects(chat(gw, keySecret, 'demo'), (err) => err.status === 403 || err.status === 404);
  });

  it('never returns credentials, and a write without them keeps them', T, async () => {
    const put = await api(gw, 'PUT', '/providers/mockp', { body: { kind: 'openai', base_url: '${ADMIN_TEST_BASE_URL}', headers: { 'x-team': 'green' } } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.api_key_set, true);
    assert.deepEqual(put.json.headers, { 'x-team': 'green' });
    assert.deepEqual(put.json.secret_headers, ['x-api-key']);
    // The upstream still gets the stored key (the mock refuses any other).
    const answer = await chat(gw, keySecret, 'smart', 'after put');
    assert.equal(answer.choices[0].message.content, 'Echo: after put');
    const seen = await (await fetch(`${mock.baseURL.replace(/\/v1$/, '')}/__mock/requests`)).json();
    const last = (seen.requests ?? seen).at(-1);
    assert.equal(JSON.stringify(last).includes('hdr-secret-123'), true, 'the secret header still goes upstream');

    const reads = [
      await api(gw, 'GET', '/providers'), await api(gw, 'GET', '/providers/mockp'), await api(gw, 'GET', '/config'),
      await api(gw, 'GET', '/keys'), await api(gw, 'GET', `/keys/${keyId}`), await api(gw, 'GET', '/models'),
    ];
    for (const r of reads) {
      assert.equal(r.status, 200, r.text);
      for (const s of secrets) assert.equal(r.text.includes(s), false, `a read returned a secret: ${r.text}`);
      assert.equal(r.text.includes('"api_key"'), false);
    }
    const list = reads[0].json.data;
    assert.ok(list.find((p) => p.name === 'mockp'));
    const demo = list.find((p) => p.name === 'demo');
    assert.equal(demo?.builtin, true);
    assert.equal(list.find((p) => p.name === 'mockp').builtin, false);

    // api_key: null clears it; the provider then reports api_key_set: false.
    const cleared = await api(gw, 'PUT', '/providers/mockp', { body: { kind: 'openai', base_url: '${ADMIN_TEST_BASE_URL}', api_key: null } });
    assert.equal(cleared.json.api_key_set, false);
    await assert.rejects(chat(gw, keySecret, 'smart'), (err) => err.status >= 400);
    const restored = await api(gw, 'PUT', '/providers/mockp', { body: { kind: 'openai', base_url: '${ADMIN_TEST_BASE_URL}', api_key: UPSTREAM_SECRET } });
    assert.equal(restored.json.api_key_set, true);
    assert.equal((await chat(gw, keySecret, 'smart', 'restored')).choices[0].message.content, 'Echo: restored');
  });

  it('reads, updates and deletes models and providers', T, async () => {
    const got = await api(gw, 'GET', '/models/smart');
    assert.equal(got.status, 200);
    assert.equal(got.json.strategy, 'weighted');
    assert.equal(got.json.builtin, false);
    assert.equal((await api(gw, 'GET', '/models/ghost')).status, 404);
    assert.equal((await api(gw, 'GET', '/providers/ghost')).status, 404);

    const put = await api(gw, 'PUT', '/models/smart', {
      body: { strategy: 'fallback', targets: [{ provider: 'mockp', model: 'gpt-4o' }, { provider: 'mockp', model: 'gpt-4o-mini' }], limits: { rpm: 500 } },
    });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.strategy, 'fallback');
    assert.equal(put.json.targets.length, 2);
    assert.deepEqual((await api(gw, 'GET', '/config')).json.models.find((x) => x.name === 'smart').limits, { rpm: 500 });

    // What others refer to cannot go; what nothing names is a 404.
    const inUse = await api(gw, 'DELETE', '/providers/mockp');
    assert.equal(inUse.status, 409);
    assert.match(inUse.json.error.message, /model smart/);
    const modelInUse = await api(gw, 'DELETE', '/models/smart');
    assert.equal(modelInUse.status, 409);
    assert.match(modelInUse.json.error.message, /key team-a/);
    assert.equal((await api(gw, 'DELETE', '/models/ghost')).status, 404);
    assert.equal((await api(gw, 'DELETE', '/providers/demo')).status, 409);

    assert.equal((await api(gw, 'POST', '/models', { body: { name: 'scratch', targets: [{ provider: 'mockp', model: 'gpt-4o' }] } })).status, 201);
    const del = await api(gw, 'DELETE', '/models/scratch');
    assert.equal(del.status, 200);
    assert.deepEqual(del.json, { name: 'scratch', deleted: true });
    assert.equal((await api(gw, 'GET', '/models/scratch')).status, 404);
    assert.equal((await api(gw, 'POST', '/providers', { body: { name: 'spare', kind: 'openai', api_key: 'sk-spare' } })).status, 201);
    secrets.push('sk-spare');
    assert.equal((await api(gw, 'DELETE', '/providers/spare')).status, 200);
    assert.equal((await api(gw, 'GET', '/providers/spare')).status, 404);
  });

  it('updates a key\'s settings with PATCH', T, async () => {
    const patched = await api(gw, 'PATCH', `/keys/${keyId}`, {
      body: { limits: { rpm: 7 }, budget: { usd_per_day: 1.5, mode: 'warn' }, model_limits: null, expires_at: 4102444800 },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.json.limits, { rpm: 7 });
    assert.deepEqual(patched.json.budget, { usd_per_day: 1.5, mode: 'warn' });
    assert.deepEqual(patched.json.model_limits, {});
    assert.equal(patched.json.expires_at, 4102444800);
    assert.deepEqual(patched.json.models, ['smart'], 'fields not named stay');
    // The new limit is live: the 8th request within the minute is refused (7 allowed; some were used already).
    let refused = null;
    for (let i = 0; i < 8 && !refused; i++) {
      try {
        await chat(gw, keySecret, 'smart', `n${i}`);
      } catch (err) {
        refused = err;
      }
    }
    assert.equal(refused?.status, 429);
    const relaxed = await api(gw, 'PATCH', `/keys/team-a`, { body: { limits: null } });
    assert.equal(relaxed.status, 200, relaxed.text);
    assert.deepEqual(relaxed.json.limits, {});
    assert.equal((await chat(gw, keySecret, 'smart', 'unlimited')).choices[0].message.content, 'Echo: unlimited');

    assertFieldError(await api(gw, 'PATCH', `/keys/${keyId}`, { body: { name: 'renamed' } }), 'name');
    assertFieldError(await api(gw, 'PATCH', `/keys/${keyId}`, { body: { secret: 'x' } }), 'secret');
    assertFieldError(await api(gw, 'PATCH', `/keys/${keyId}`, { body: { limits: { rpm: -3 } } }), 'limits.rpm');
    assertFieldError(await api(gw, 'PATCH', `/keys/${keyId}`, { body: { models: ['ghost'] } }), 'models[0]');
    assertFieldError(await api(gw, 'PATCH', `/keys/${keyId}`, { body: { model_limits: { smart: { qps: 3 } } } }), 'model_limits.smart.qps');
    assert.equal((await api(gw, 'PATCH', '/keys/key_000000000000', { body: {} })).status, 404);
  });

  it('shows the traffic in usage, the request log and the key\'s spend', T, async () => {
    const res = await client(gw, keySecret).chat.completions.create({ model: 'smart', messages: [{ role: 'user', content: 'count me please' }] }).withResponse();
    const requestId = res.response.headers.get('x-request-id');
    assert.ok(requestId);

    // Usage rows are written in batches (~200 ms): poll.
    const detail = await waitFor(async () => {
      const r = await api(gw, 'GET', `/requests/${encodeURIComponent(requestId)}`);
      return r.status === 200 && r.json;
    }, { timeout: 5000, message: 'the request in the log' });
    assert.equal(detail.request_id, requestId);
    assert.equal(detail.key_id, keyId);
    assert.equal(detail.key_name, 'team-a');
    assert.equal(detail.model, 'smart');
    assert.equal(detail.provider, 'mockp');
    assert.equal(detail.status, 200);
    assert.equal(detail.input_tokens, 3);
    assert.equal(detail.output_tokens, 4);
    assert.ok(detail.cost_usd > 0, 'priced from the model\'s pricing');

    const log = await api(gw, 'GET', `/requests?key=${keyId}&model=smart&status=200&limit=2`);
    assert.equal(log.status, 200, log.text);
    assert.equal(log.json.data[0].request_id, requestId, 'newest first');
    assert.equal(log.json.data.length, 2);
    assert.equal(log.json.has_more, true);
    const page2 = await api(gw, 'GET', `/requests?key=team-a&limit=2&offset=2`);
    assert.equal(page2.status, 200);
    assert.ok(!page2.json.data.some((r) => r.request_id === requestId));
    const errorsOnly = await api(gw, 'GET', `/requests?key=${keyId}&status=error`);
    assert.ok(errorsOnly.json.data.every((r) => r.status >= 400));
    assert.ok(errorsOnly.json.data.some((r) => r.status === 429), 'the refused request is logged');
    const none = await api(gw, 'GET', `/requests?model=ghost`);
    assert.deepEqual(none.json.data, []);
    assert.equal((await api(gw, 'GET', '/requests/req-does-not-exist')).status, 404);

    const byKey = await api(gw, 'GET', '/usage?from=-1h&group_by=key');
    assert.equal(byKey.status, 200, byKey.text);
    const mine = byKey.json.data.find((b) => b.group === keyId);
    assert.ok(mine, byKey.text);
    assert.equal(mine.label, 'team-a');
    assert.ok(mine.requests >= 3);
    assert.ok(mine.cost_usd > 0);
    const byModel = await api(gw, 'GET', `/usage?from=${Date.now() - 3600_000}&to=${new Date(Date.now() + 60_000).toISOString()}&bucket=1m&group_by=model&model=smart`);
    assert.equal(byModel.status, 200, byModel.text);
    assert.equal(byModel.json.bucket_seconds, 60);
    assert.ok(byModel.json.data.length >= 1 && byModel.json.data.every((b) => b.group === 'smart'));
    assert.equal(byModel.json.totals.requests, byModel.json.data.reduce((n, b) => n + b.requests, 0));
    const byProvider = await api(gw, 'GET', '/usage?group_by=provider&provider=mockp');
    assert.ok(byProvider.json.data.find((b) => b.group === 'mockp'));

    assertFieldError(await api(gw, 'GET', '/usage?group_by=colour'), 'group_by');
    assertFieldError(await api(gw, 'GET', '/usage?from=yesterday'), 'from');
    assertFieldError(await api(gw, 'GET', '/usage?bucket=fast'), 'bucket');
    assertFieldError(await api(gw, 'GET', '/usage?from=-1h&to=-2h'), 'to');
    assertFieldError(await api(gw, 'GET', '/requests?limit=0'), 'limit');
    assertFieldError(await api(gw, 'GET', '/requests?status=teapot'), 'status');
    assertFieldError(await api(gw, 'GET', '/requests?offset=-1'), 'offset');

    const key = await api(gw, 'GET', `/keys/${keyId}`);
    assert.equal(key.status, 200);
    assert.ok(key.json.spend.usd_total > 0);
    assert.ok(key.json.spend.usd_today > 0);
    assert.ok(Math.abs(key.json.last_used_at - Date.now() / 1000) < 60, `last_used_at ${key.json.last_used_at}`);
    const listed = (await api(gw, 'GET', '/keys')).json.data.find((k) => k.id === keyId);
    assert.equal(listed.spend.usd_total, key.json.spend.usd_total);
    assert.equal(listed.name, 'team-a');
    assert.equal(listed.prefix, keySecret.slice(0, 8));
  });

  it('rotates a key: the old secret stops working, the new one keeps id and settings', T, async () => {
    const before = (await api(gw, 'GET', `/keys/${keyId}`)).json;
    const rotated = await api(gw, 'POST', `/keys/${keyId}/rotate`);
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(rotated.json.id, keyId);
    assert.equal(rotated.json.name, 'team-a');
    assert.notEqual(rotated.json.secret, keySecret);
    assert.equal(rotated.json.prefix, rotated.json.secret.slice(0, 8));
    assert.deepEqual(rotated.json.budget, before.budget);
    assert.equal(rotated.json.spend.usd_total, before.spend.usd_total, 'spend carries on');
    secrets.push(rotated.json.secret);
    await assert.rejects(chat(gw, keySecret, 'smart'), (err) => err.status === 401);
    keySecret = rotated.json.secret;
    assert.equal((await chat(gw, keySecret, 'smart', 'rotated')).choices[0].message.content, 'Echo: rotated');
    assert.equal((await api(gw, 'POST', '/keys/key_000000000000/rotate')).status, 404);
    assert.equal((await api(gw, 'GET', `/keys/${keyId}/rotate`)).status, 405);
  });

  it('revokes a key: it answers 401 at once and is listed as revoked', T, async () => {
    const revoked = await api(gw, 'POST', `/keys/${keyId}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.revoked, true);
    assert.ok(revoked.json.revoked_at > 0);
    await assert.rejects(chat(gw, keySecret, 'smart'), (err) => err.status === 401);
    assert.equal((await api(gw, 'POST', `/keys/${keyId}/revoke`)).status, 200, 'idempotent');
    assert.equal((await api(gw, 'POST', `/keys/${keyId}/rotate`)).status, 409);
    assert.equal((await api(gw, 'PATCH', `/keys/${keyId}`, { body: { limits: { rpm: 1 } } })).status, 409);
    assert.equal((await api(gw, 'GET', `/keys/${keyId}`)).json.revoked, true);
    assert.ok(!(await api(gw, 'GET', '/keys')).json.data.some((k) => k.id === keyId));
    assert.ok((await api(gw, 'GET', '/keys?include_revoked=true')).json.data.some((k) => k.id === keyId));
    assert.equal((await api(gw, 'POST', '/keys', { body: { name: 'team-a' } })).status, 409, 'a revoked name stays taken');
    assert.equal((await api(gw, 'POST', '/keys/key_000000000000/revoke')).status, 404);
  });

  it('summarises the live snapshot', T, async () => {
    const cfg = await api(gw, 'GET', '/config');
    assert.equal(cfg.status, 200);
    assert.ok(cfg.json.version >= 2);
    assert.equal(cfg.json.store.kind, 'sqlite');
    assert.equal(cfg.json.store.writable, true);
    assert.equal(cfg.json.usage_enabled, true);
    assert.ok(cfg.json.providers.find((p) => p.name === 'mockp' && p.api_key_set === true));
    assert.ok(cfg.json.models.find((m) => m.name === 'smart'));
    assert.equal(typeof cfg.json.key_count, 'number');
  });

  it('keeps credentials out of the gateway\'s output', T, async () => {
    const { stdout, stderr } = gw.output();
    for (const s of secrets) {
      assert.equal(stdout.includes(s), false, `stdout has a secret`);
      assert.equal(stderr.includes(s), false, `stderr has a secret`);
    }
  });
});

// (On the sqlite store a first start makes an admin key instead: tests/admin/admin_access.test.mjs.)
describe('admin api with no admin key configured nor stored (a resources file)', () => {
  const scope = cleanupScope();
  let gw;
  before(async () => {
    const dir = await makeTempDir(scope);
    const { configPath } = await writeConfig(dir, { tollgate: processConfig(), resources: { providers: [] } });
    gw = await startGateway(scope, { configPath });
  });
  after(() => scope.run());

  it('answers 403 on every route, explaining how to set admin.key', T, async () => {
    for (const [method, path] of [['GET', '/providers'], ['POST', '/keys'], ['GET', '/usage'], ['GET', '/config'], ['GET', '/openapi.json']]) {
      for (const key of [null, 'anything', '']) {
        const res = await api(gw, method, path, { key, body: method === 'POST' ? {} : undefined });
        assert.equal(res.status, 403, res.text);
        assert.equal(res.json.error.code, 'admin_api_disabled');
        assert.match(res.json.error.message, /admin\.key|admin: \{ key/);
      }
    }
    // Health and metrics stay open.
    assert.equal((await fetch(`${gw.adminURL}/livez`)).status, 200);
  });
});

describe('admin api on a resources file (read-only store)', () => {
  const scope = cleanupScope();
  let gw;
  before(async () => {
    const mock = await startMock(scope);
    const dir = await makeTempDir(scope);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ extra: { admin: { key: ADMIN_KEY } } }),
      resources: {
        providers: [{ name: 'filep', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
        models: [{ name: 'filem', targets: [{ provider: 'filep', model: 'gpt-4o' }] }],
        keys: [{ name: 'filek', key: 'tg-file-key-0123456789', models: ['filem'] }],
      },
    });
    gw = await startGateway(scope, { configPath });
  });
  after(() => scope.run());

  it('reads what the file declares', T, async () => {
    const p = await api(gw, 'GET', '/providers/filep');
    assert.equal(p.status, 200);
    assert.equal(p.json.api_key_set, true);
    assert.equal((await api(gw, 'GET', '/models/filem')).status, 200);
    const keys = await api(gw, 'GET', '/keys');
    const k = keys.json.data.find((x) => x.name === 'filek');
    assert.ok(k);
    assert.equal(k.prefix, 'tg-file-');
    assert.equal((await api(gw, 'GET', `/keys/${k.id}`)).status, 200);
    const cfg = await api(gw, 'GET', '/config');
    assert.equal(cfg.json.store.kind, 'file');
    assert.equal(cfg.json.store.writable, false);
  });

  it('answers 409 to every write, explaining that the file is read-only', T, async () => {
    const writes = [
      ['POST', '/providers', { name: 'x', kind: 'openai' }], ['PUT', '/providers/filep', { kind: 'openai' }],
      ['DELETE', '/providers/filep'], ['POST', '/models', { name: 'x', targets: [{ provider: 'filep', model: 'm' }] }],
      ['PUT', '/models/filem', { targets: [{ provider: 'filep', model: 'm' }] }], ['DELETE', '/models/filem'],
      ['POST', '/keys', { name: 'x' }], ['PATCH', '/keys/filek', { limits: { rpm: 1 } }],
      ['POST', '/keys/filek/revoke'], ['POST', '/keys/filek/rotate'],
    ];
    for (const [method, path, body] of writes) {
      const res = await api(gw, method, path, { body });
      assert.equal(res.status, 409, `${method} ${path}: ${res.text}`);
      assert.equal(res.json.error.code, 'read_only_store');
      assert.match(res.json.error.message, /read-only/);
      assert.match(res.json.error.message, /SIGHUP/);
      assert.match(res.json.error.message, /sqlite/);
    }
    assert.equal((await api(gw, 'GET', '/providers/filep')).status, 200, 'nothing changed');
  });
});
