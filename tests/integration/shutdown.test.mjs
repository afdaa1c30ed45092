// Graceful shutdown: SIGTERM stops new connections but lets a stream in progress finish.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS, cleanupScope, postJson, sseData, standardSetup, sleep } from './harness.mjs';

describe('graceful shutdown', () => {
  it('SIGTERM lets an in-flight stream finish, then the process exits 0', { timeout: 30_000 }, async () => {
    const scope = cleanupScope();
    try {
      const env = await standardSetup(scope, {
        extraModels: [{ name: 'delayed', targets: [{ provider: 'mock', model: 'mock-delay-1500' }] }],
      });
      const inflight = postJson(`${env.gw.baseURL}/chat/completions`,
        { model: 'delayed', stream: true, messages: [{ role: 'user', content: 'finish me' }] }, { apiKey: KEYS.all });
      await sleep(300);
      const exited = new Promise((resolve) => env.gw.proc.once('exit', (code) => resolve(code)));
      env.gw.proc.kill('SIGTERM');
      await sleep(200);
      // New connections are refused while draining.
      await assert.rejects(fetch(`${env.gw.baseURL}/models`, { headers: { authorization: `Bearer ${KEYS.all}` } }));
      const res = await inflight;
      assert.equal(res.status, 200);
      const data = sseData(res.text);
      assert.equal(data.at(-1), '[DONE]');
      const text = data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '').join('');
      assert.equal(text, 'Echo: finish me');
      assert.equal(await exited, 0);
    } finally {
      await scope.run();
    }
  });
});
