// TLS to upstreams: certificates are verified (a self-signed one is refused with a 502 that
// says why), and `verify_tls: false` is the explicit opt-out. A TLS terminator in front of the
// mock stands in for a provider's HTTPS endpoint.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { KEYS, cleanupScope, makeTempDir, startGateway, startMock, writeConfig } from './harness.mjs';

const T = { timeout: 20_000 };
const run = promisify(execFile);

async function selfSignedCert(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { key: await fs.readFile(key), cert: await fs.readFile(cert) };
}

// Terminates TLS and pipes the plain bytes to the mock.
async function tlsFront(scope, creds, targetPort) {
  const server = tls.createServer(creds, (socket) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  scope.after(() => new Promise((resolve) => server.close(resolve)));
  return server.address().port;
}

describe('TLS to upstreams', () => {
  const scope = cleanupScope();
  let gw;
  before(async () => {
    const mock = await startMock(scope);
    const dir = await makeTempDir(scope);
    const creds = await selfSignedCert(dir);
    const port = await tlsFront(scope, creds, mock.port);
    const base = `https://127.0.0.1:${port}/v1`;
    const resources = {
      providers: [
        { name: 'verified', kind: 'openai', base_url: base, api_key: mock.apiKey, timeouts: { connect_ms: 2000 } },
        { name: 'trusting', kind: 'openai', base_url: base, api_key: mock.apiKey, verify_tls: false },
      ],
      models: [
        { name: 'verified', targets: [{ provider: 'verified', model: 'gpt-4o' }] },
        { name: 'trusting', targets: [{ provider: 'trusting', model: 'gpt-4o' }] },
      ],
      keys: [{ name: 'all', key: KEYS.all }],
    };
    const { configPath } = await writeConfig(dir, { resources });
    gw = await startGateway(scope, { configPath });
  });
  after(() => scope.run());

  const client = () => new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0 });

  it('a certificate the system does not trust is refused: 502 naming the TLS failure', T, async () => {
    await assert.rejects(
      client().chat.completions.create({ model: 'verified', messages: [{ role: 'user', content: 'hi' }] }),
      (e) => e.status === 502 && /TLS/.test(e.message),
    );
  });

  it('verify_tls: false reaches the same endpoint over TLS, streaming too', T, async () => {
    const r = await client().chat.completions.create({ model: 'trusting', messages: [{ role: 'user', content: 'over tls' }] });
    assert.equal(r.choices[0].message.content, 'Echo: over tls');
    const stream = await client().chat.completions.create({ model: 'trusting', stream: true, messages: [{ role: 'user', content: 'tls stream' }] });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Echo: tls stream');
  });
});
