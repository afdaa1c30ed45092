// Stored responses in PostgreSQL: with usage records going to a real PostgreSQL (started and
// stopped by PID: postgres-server.mjs), the responses the gateway serves are kept there too, so a
// second gateway (another replica) continues a chain the first one started.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import OpenAI from 'openai';
import { KEYS, cleanupScope, makeTempDir, startGateway, writeConfig, processConfig } from '../integration/harness.mjs';
import { startPostgres } from '../integration/postgres-server.mjs';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';

describe('stored responses in PostgreSQL', () => {
  const scope = cleanupScope();
  let pg, ant, gateways;
  before(async () => {
    pg = await startPostgres(scope);
    ant = await startAnthropicMock({ directives: true });
    scope.after(() => ant.close());
    const resources = {
      providers: [{ name: 'ant', kind: 'anthropic', base_url: ant.url, api_key: ant.apiKey }],
      models: [{ name: 'claude', targets: [{ provider: 'ant', model: 'claude-sonnet-4-5' }] }],
      keys: [{ name: 'all', key: KEYS.all, models: ['claude'] }],
    };
    // Two replicas: separate directories (no shared SQLite), one PostgreSQL, one sealing key.
    gateways = [];
    for (let i = 0; i < 2; i++) {
      const dir = await makeTempDir(scope);
      const tollgate = processConfig({ extra: { usage: { backend: 'postgres', url: pg.conninfo() } } });
      const { configPath } = await writeConfig(dir, { tollgate, resources });
      gateways.push({ dir, gw: await startGateway(scope, { configPath, env: { TOLLGATE_SECRET_KEY: 'shared-secret-for-the-fleet' } }) });
    }
  });
  after(() => scope.run());

  it('a chain started on one replica continues on the other, thinking included', { timeout: 30_000 }, async () => {
    const [a, b] = gateways.map(({ gw }) => new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 20_000 }));
    const tools = [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } }];
    const first = await a.responses.create({ model: 'claude', input: '[[tool:lookup]] [[think:looking it up]] find it', tools });
    assert.deepEqual(first.output.map((i) => i.type), ['reasoning', 'function_call']);
    const rows = await pg.psql(`SELECT count(*) FROM stored_responses WHERE id = '${first.id}'`);
    assert.equal(rows.trim(), '1');
    const second = await b.responses.create({
      model: 'claude', tools, previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: first.output[1].call_id, output: 'found' }],
    });
    assert.equal(second.output_text, 'Tool result: found');
    const sent = ant.requestsTo('/v1/messages').at(-1).body;
    assert.deepEqual(sent.messages[1].content.map((c) => c.type), ['thinking', 'tool_use'], 'the signed thinking, opened by the other replica');
    assert.equal((await b.responses.retrieve(first.id)).id, first.id);
    for (const { dir } of gateways) await assert.rejects(fs.access(path.join(dir, 'tollgate-responses.db')));
  });
});
