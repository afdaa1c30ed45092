// The resource schema as the Admin API serves it: GET /admin/v1/schema lists every kind; the
// OpenAPI document made from it covers every route and kind and is valid OpenAPI 3.1 (checked
// by an OpenAPI validator from npm); every kind's example goes through its CRUD routes, and its
// constraints are enforced with errors naming the field.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import {
  adminCall, cleanupScope, makeTempDir, processConfig, startGateway, writeConfig,
} from '../integration/harness.mjs';

const T = { timeout: 30_000 };
const ADMIN_KEY = 'adm-schema-test-key';

const api = (gw, method, path, body) => adminCall(gw, method, path, { key: ADMIN_KEY, body });

// Every route the Admin API serves. A route added to admin_api.cc belongs here and in the
// OpenAPI document (the generic ones come from the kinds).
const NON_CRUD_ROUTES = [
  ['get', '/admin/v1/keys'], ['post', '/admin/v1/keys'], ['get', '/admin/v1/keys/{id}'],
  ['patch', '/admin/v1/keys/{id}'], ['post', '/admin/v1/keys/{id}/revoke'], ['post', '/admin/v1/keys/{id}/rotate'],
  ['get', '/admin/v1/usage'], ['get', '/admin/v1/requests'], ['get', '/admin/v1/requests/{request_id}'],
  ['get', '/admin/v1/config'], ['get', '/admin/v1/schema'], ['get', '/admin/v1/openapi.json'],
  ['get', '/admin/v1/admin_keys'], ['post', '/admin/v1/admin_keys'], ['get', '/admin/v1/admin_keys/{name}'],
  ['delete', '/admin/v1/admin_keys/{name}'], ['get', '/admin/v1/audit'], ['post', '/admin/v1/guardrails/try'],
  ['get', '/admin/v1/mcp_status'],
];

describe('resource schema, OpenAPI document and generic CRUD', () => {
  const scope = cleanupScope();
  let gw;
  let schema;
  let openapi;

  before(async () => {
    const dir = await makeTempDir(scope);
    const { configPath } = await writeConfig(dir, {
      tollgate: processConfig({ store: { kind: 'sqlite', path: './db.sqlite' }, extra: { admin: { key: ADMIN_KEY } } }),
    });
    gw = await startGateway(scope, { configPath });
    schema = (await api(gw, 'GET', '/schema')).json;
    openapi = (await api(gw, 'GET', '/openapi.json')).json;
  });
  after(() => scope.run());

  it('lists every kind with its write and read schemas and an example', T, () => {
    const names = schema.kinds.map((k) => k.name);
    assert.deepEqual([...names].sort(), ['admin_keys', 'cache_policies', 'guardrails', 'keys', 'mcp_servers', 'models', 'providers', 'teams']);
    for (const k of schema.kinds) {
      assert.equal(k.write.type, 'object', k.name);
      assert.ok(k.write.properties.name, `${k.name} has a name`);
      assert.equal(k.write.additionalProperties, false, `${k.name}: unknown fields are refused`);
      assert.ok(k.example && typeof k.example === 'object', `${k.name} has an example`);
      // Secrets are write-only: never in what the API answers.
      for (const [field, s] of Object.entries(k.write.properties)) {
        if (s.writeOnly) assert.equal(k.read.properties[field], undefined, `${k.name}.${field} is secret`);
      }
    }
    const provider = schema.kinds.find((k) => k.name === 'providers');
    assert.equal(provider.write.properties.api_key.writeOnly, true);
    assert.deepEqual(provider.write.required, ['name', 'kind']);
    const model = schema.kinds.find((k) => k.name === 'models');
    assert.equal(model.write.properties.targets.items.$ref, '#/components/Target');
    assert.equal(schema.components.Target.properties.provider['x-reference'], 'providers');
    assert.equal(model.write.properties.retry.properties.max_attempts.maximum, 20);
  });

  it('is a valid OpenAPI 3.1 document', T, async () => {
    const result = await new Validator().validate(openapi);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 1));
    assert.equal(openapi.openapi, '3.1.0');
  });

  it('documents every route and every kind, and every documented route is served', T, async () => {
    const expected = [...NON_CRUD_ROUTES];
    for (const k of schema.kinds) {
      assert.ok(openapi.components.schemas[k.component], `schema ${k.component}`);
      assert.ok(openapi.components.schemas[`${k.component}Write`], `schema ${k.component}Write`);
      if (!k.generic_routes) continue;
      expected.push(['get', `/admin/v1/${k.name}`], ['post', `/admin/v1/${k.name}`]);
      for (const m of ['get', 'put', 'delete']) expected.push([m, `/admin/v1/${k.name}/{name}`]);
    }
    for (const [method, path] of expected) {
      assert.ok(openapi.paths[path]?.[method], `OpenAPI lacks ${method.toUpperCase()} ${path}`);
    }
    const documented = Object.entries(openapi.paths)
      .flatMap(([path, ops]) => Object.keys(ops).filter((m) => m !== 'parameters').map((m) => [m, path]));
    assert.equal(documented.length, expected.length, `documented: ${JSON.stringify(documented)}`);
    // Each documented route answers as a route (not unknown_route, not 405).
    for (const [method, path] of documented) {
      const concrete = path.replace(/\{[^}]+\}/g, 'no-such-thing');
      const body = method === 'get' || method === 'delete' ? undefined : {};
      const res = await api(gw, method.toUpperCase(), concrete.slice('/admin/v1'.length), body);
      assert.notEqual(res.status, 405, `${method} ${path}: ${res.text}`);
      assert.notEqual(res.json?.error?.code, 'unknown_route', `${method} ${path}: ${res.text}`);
      if (res.status === 404) assert.doesNotMatch(res.text, /Unknown Admin API route/, `${method} ${path}`);
    }
    // A $ref never points at nothing.
    const refs = JSON.stringify(openapi).match(/"\$ref":"#\/components\/[^"]+"/g);
    for (const r of refs) {
      const [, section, name] = r.match(/#\/components\/([^/]+)\/([^"]+)/);
      assert.ok(openapi.components[section]?.[name], `dangling ${r}`);
    }
  });

  it('creates, reads, replaces and deletes every kind from its example', T, async () => {
    const created = [];
    for (const k of schema.kinds) {
      const fileOnly = ['key', 'key_env', 'key_hash'];
      const body = Object.fromEntries(Object.entries(k.example).filter(([f]) => !(k.name === 'keys' && fileOnly.includes(f))));
      const res = await api(gw, 'POST', `/${k.name}`, body);
      assert.equal(res.status, 201, `${k.name}: ${res.text}`);
      assert.equal(res.json.name, k.example.name);
      for (const [field, s] of Object.entries(k.write.properties)) {
        if (s.writeOnly) assert.equal(res.json[field], undefined, `${k.name}.${field} returned`);
      }
      if (!k.generic_routes) {
        assert.match(res.json.secret, /\S{20,}/, 'a key is created with its secret, shown once');
        continue;
      }
      created.push(k);
      const again = await api(gw, 'POST', `/${k.name}`, body);
      assert.equal(again.status, 409, `${k.name} twice: ${again.text}`);
      const read = await api(gw, 'GET', `/${k.name}/${encodeURIComponent(k.example.name)}`);
      assert.equal(read.status, 200, read.text);
      const put = await api(gw, 'PUT', `/${k.name}/${encodeURIComponent(k.example.name)}`, body);
      assert.equal(put.status, 200, `${k.name} PUT: ${put.text}`);
      const listed = await api(gw, 'GET', `/${k.name}`);
      assert.ok(listed.json.data.some((r) => r.name === k.example.name), `${k.name} listed`);
    }
    // Refused: an unknown field, a value out of range or of the wrong enum, each naming the field.
    for (const k of created) {
      const path = `/${k.name}/${encodeURIComponent(k.example.name)}`;
      const unknown = await api(gw, 'PUT', path, { ...k.example, zz_no_such_field: 1 });
      assert.equal(unknown.status, 400, unknown.text);
      assert.ok(unknown.json.error.errors.some((e) => e.field === 'zz_no_such_field' && /unknown field/.test(e.message)),
        unknown.text);
      for (const [field, s] of Object.entries(k.write.properties)) {
        let bad;
        if (s.enum) bad = 'zz-not-a-value';
        else if (s.type === 'integer' && s.maximum !== undefined) bad = s.maximum + 1;
        else if (s.type === 'number' && s.maximum !== undefined) bad = s.maximum + 1;
        else continue;
        const res = await api(gw, 'PUT', path, { ...k.example, [field]: bad });
        assert.equal(res.status, 400, `${k.name}.${field}=${bad}: ${res.text}`);
        assert.ok(res.json.error.errors.some((e) => e.field === field), `${k.name}.${field}: ${res.text}`);
      }
    }
    // Refused while something refers to it; deleted once nothing does.
    const provider = `/providers/${encodeURIComponent(created[0].example.name)}`;
    assert.equal((await api(gw, 'DELETE', provider)).status, 409, 'a provider models use');
    const key = schema.kinds.find((k) => k.name === 'keys').example.name;
    assert.equal((await api(gw, 'POST', `/keys/${encodeURIComponent(key)}/revoke`)).status, 200);
    for (const k of [...created].reverse()) {
      const path = `/${k.name}/${encodeURIComponent(k.example.name)}`;
      const res = await api(gw, 'DELETE', path);
      assert.equal(res.status, 200, `${k.name} DELETE: ${res.text}`);
      assert.equal((await api(gw, 'GET', path)).status, 404);
    }
  });
});
