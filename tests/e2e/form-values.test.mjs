// The resource forms' two conversions (ui/src/schema.js), on schemas shaped as GET
// /admin/v1/schema serves them: a resource into form values and back into the body the API
// takes, so an edit that changes nothing sends what was stored.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applies, paths, toBody, toForm } from '../../ui/src/schema.js';

const doc = {
  components: {
    Limits: { type: 'object', properties: { rpm: { type: 'integer', minimum: 1 }, tpm: { type: 'integer', minimum: 1 } } },
    Pricing: { type: 'object', properties: { input: { type: 'number' }, output: { type: 'number' } } },
  },
};
const model = {
  type: 'object',
  required: ['name', 'targets'],
  properties: {
    name: { type: 'string' },
    strategy: { type: 'string', enum: ['weighted', 'priority'], default: 'weighted' },
    targets: {
      type: 'array',
      items: { type: 'object', properties: { provider: { type: 'string', 'x-reference': 'providers' }, model: { type: 'string' }, weight: { type: 'integer' }, pricing: { $ref: '#/components/Pricing' } } },
    },
    fallbacks: { type: 'array', items: { type: 'string', 'x-reference': 'models' } },
    headers: { type: 'object', additionalProperties: { type: ['string', 'null'] } },
    api_key: { type: ['string', 'null'], writeOnly: true },
    expires_at: { type: ['integer', 'null'] },
    limits: { $ref: '#/components/Limits' },
    provider: { type: 'string', 'x-only-if': { strategy: 'priority' } },
  },
};

describe('resource form values', () => {
  it('a stored resource round-trips unchanged', () => {
    const stored = {
      name: 'gpt', strategy: 'priority', provider: 'p',
      targets: [{ provider: 'openai', model: 'gpt-4o', weight: 2, pricing: { input: 2.5 } }],
      fallbacks: ['demo'], headers: { 'x-team': 'a' }, limits: { rpm: 60 },
    };
    const form = toForm(model, stored, doc);
    assert.equal(form.targets[0].weight, '2', 'numbers are edited as text');
    assert.deepEqual(form.headers, [['x-team', 'a']], 'maps are rows');
    assert.deepEqual(toBody(model, form, doc), stored);
  });

  it('empty inputs are left out, numbers become numbers, a non-number is sent as typed', () => {
    const body = toBody(model, { name: ' m ', strategy: '', targets: [{ provider: 'x', model: 'y', weight: '' }, {}], limits: { rpm: '10', tpm: 'ten' }, api_key: '', headers: [['', 'v'], [' k ', 'w']] }, doc);
    assert.deepEqual(body, { name: 'm', targets: [{ provider: 'x', model: 'y' }], limits: { rpm: 10, tpm: 'ten' }, headers: { k: 'w' } });
  });

  it('null is kept only where the schema allows it; x-only-if fields only where they apply', () => {
    assert.deepEqual(toBody(model, { name: 'm', targets: [], expires_at: null, strategy: 'weighted', provider: 'p' }, doc), { name: 'm', targets: [], expires_at: null, strategy: 'weighted' });
    assert.equal(applies(model.properties.provider, { strategy: 'priority' }), true);
    assert.equal(applies(model.properties.provider, {}), false);
  });

  it('write-only values in maps and nested objects (an MCP server\'s headers, auth.oauth2): empty ones are left out, so the stored ones are kept', () => {
    const mcp = {
      type: 'object',
      properties: {
        name: { type: 'string' },
        headers: { type: 'object', additionalProperties: { type: 'string', writeOnly: true } },
        auth: { type: 'object', properties: { bearer: { type: 'string', writeOnly: true }, oauth2: { type: 'object', required: ['token_url'], properties: { token_url: { type: 'string' }, client_secret: { type: 'string', writeOnly: true }, scopes: { type: 'array', items: { type: 'string' } } } } } },
      },
    };
    const form = { name: 'gh', headers: [['X-Api-Key', ''], ['X-New', ' s3cret ']], auth: { bearer: '', oauth2: { token_url: 'https://a/t', client_secret: '', scopes: ['repo', ''] } } };
    assert.deepEqual(toBody(mcp, form, doc), { name: 'gh', headers: { 'X-New': ' s3cret ' }, auth: { oauth2: { token_url: 'https://a/t', scopes: ['repo'] } } });
  });

  it('names every field path as the API names them in errors', () => {
    const p = paths(model, { targets: [{}, {}], headers: [['x-a', '1']] }, doc);
    for (const want of ['name', 'targets[1].provider', 'targets[0].pricing.input', 'headers.x-a', 'limits.rpm']) assert.ok(p.includes(want), `${want} in ${p.join(' ')}`);
  });
});
