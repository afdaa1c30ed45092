// TLS termination on the gateway's own listeners (`tls: { proxy: {...}, admin: {...} }` in
// tollgate.yaml): the official `openai` client over HTTPS, streaming and not; ALPN http/1.1
// and TLS 1.2 at least; keep-alive; plain HTTP on the TLS port gets a plain 400 (use https),
// garbage and silence end only that connection; a client leaving mid-stream over TLS still
// cancels the upstream; SIGTERM lets a TLS stream finish; files that do not load fail `validate` and `serve` naming them.
//
// The certificate is self-signed for 127.0.0.1. In process, the `openai` client gets a
// `fetch` built on node:https with that certificate as its CA (Node 20's built-in fetch takes
// no CA option); a child process shows the stock client trusting it via NODE_EXTRA_CA_CERTS.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import {
  KEYS, cleanupScope, makeTempDir, processConfig, runTollgate, sleep, standardResources,
  startGateway, startMock, waitFor, writeConfig, writeYaml,
} from './harness.mjs';

const T = { timeout: 20_000 };
const run = promisify(execFile);
const TESTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A self-signed certificate for 127.0.0.1 written to dir/cert.pem and dir/key.pem. */
async function selfSignedCert(dir) {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  return { keyPath: key, certPath: cert, ca: await fs.readFile(cert) };
}

/**
 * A WHATWG fetch over node:https trusting `ca`, for the openai client's `fetch` option.
 * Requests share one keep-alive agent; an aborted signal destroys the request's socket.
 */
function trustingFetch(ca) {
  const agent = new https.Agent({ ca, keepAlive: true });
  return (input, init = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
      const req = https.request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal ?? undefined }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) for (const one of [].concat(v)) h.append(k, one);
        const empty = res.statusCode === 204 || res.statusCode === 304 || init.method === 'HEAD';
        resolve(new Response(empty ? null : Readable.toWeb(res), { status: res.statusCode, statusText: res.statusMessage, headers: h }));
      });
      req.on('error', reject);
      req.end(init.body ?? undefined);
    });
}

/** GET over https with `agent`; resolves { status, body, reusedSocket }. */
function httpsGet(url, { agent, ca, headers = {} }) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent, ca, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, reusedSocket: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timed out')));
  });
}

/** Opens a raw TCP connection, writes `bytes` (if any), resolves { data, ms } when the server closes it. */
function rawExchange(port, bytes) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const chunks = [];
    const sock = net.connect(port, '127.0.0.1', () => {
      if (bytes) sock.write(bytes);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {}); // a reset counts as closed
    sock.on('close', () => resolve({ data: Buffer.concat(chunks), ms: Date.now() - t0 }));
    setTimeout(() => {
      sock.destroy();
      reject(new Error('the gateway kept the connection open for 8 s'));
    }, 8000).unref();
  });
}

/** Resources for `mock`, plus a patient provider whose idle timeout cannot end a stalled stream. */
function resourcesFor(mock) {
  const r = standardResources(mock, {
    extraModels: [
      { name: 'stall-patient', targets: [{ provider: 'mock-patient', model: 'mock-stall-stream' }] },
      { name: 'delayed', targets: [{ provider: 'mock', model: 'mock-delay-1500' }] },
    ],
  });
  r.providers.push({ name: 'mock-patient', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey, timeouts: { connect_ms: 1000, read_ms: 30_000, idle_ms: 30_000 } });
  return r;
}

describe('TLS on the listeners', () => {
  const scope = cleanupScope();
  let mock, gw, certs, baseURL, adminURL, openai;
  before(async () => {
    mock = await startMock(scope);
    const dir = await makeTempDir(scope);
    certs = await selfSignedCert(dir);
    // Relative paths: taken from the config file's directory.
    const tollgate = processConfig({
      extra: {
        tls: { proxy: { cert_file: 'cert.pem', key_file: 'key.pem' }, admin: { cert_file: 'cert.pem', key_file: './key.pem' } },
        server: { header_timeout_ms: 1000 },
      },
    });
    const { configPath } = await writeConfig(dir, { tollgate, resources: resourcesFor(mock) });
    gw = await startGateway(scope, { configPath });
    baseURL = `https://127.0.0.1:${gw.proxyPort}/v1`;
    adminURL = `https://127.0.0.1:${gw.adminPort}`;
    openai = new OpenAI({ baseURL, apiKey: KEYS.all, maxRetries: 0, timeout: 20_000, fetch: trustingFetch(certs.ca) });
  });
  after(() => scope.run());
  beforeEach(() => mock.reset());

  it('the openai client gets a chat completion over TLS', T, async () => {
    const r = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'over tls' }] });
    assert.equal(r.choices[0].message.content, 'Echo: over tls');
    assert.equal(mock.requestsTo('/v1/chat/completions').length, 1);
  });

  it('the openai client streams a chat completion over TLS', T, async () => {
    const s = await openai.chat.completions.create({ model: 'gpt', stream: true, messages: [{ role: 'user', content: 'a streamed answer' }] });
    let text = '';
    let finish = null;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, 'Echo: a streamed answer');
    assert.equal(finish, 'stop');
    // The strict helper too: it rejects any malformed event.
    const final = await openai.chat.completions.stream({ model: 'gpt', messages: [{ role: 'user', content: 'helper' }] }).finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: helper');
  });

  it('the stock openai client (built-in fetch) trusts the gateway through NODE_EXTRA_CA_CERTS', T, async () => {
    const script = `
      import OpenAI from 'openai';
      const c = new OpenAI({ baseURL: process.env.TG_BASE_URL, apiKey: process.env.TG_KEY, maxRetries: 0 });
      const r = await c.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'from a child' }] });
      let streamed = '';
      for await (const ch of await c.chat.completions.create({ model: 'gpt', stream: true, messages: [{ role: 'user', content: 'child stream' }] }))
        streamed += ch.choices[0]?.delta?.content ?? '';
      console.log(JSON.stringify({ plain: r.choices[0].message.content, streamed }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: TESTS_DIR,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.certPath, TG_BASE_URL: baseURL, TG_KEY: KEYS.all },
      timeout: 15_000,
    });
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').at(-1)), { plain: 'Echo: from a child', streamed: 'Echo: child stream' });
  });

  it('negotiates ALPN http/1.1 and TLS 1.2 at least; a TLS 1.1 client is refused', T, async () => {
    const info = await new Promise((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: gw.proxyPort, ca: certs.ca, ALPNProtocols: ['h2', 'http/1.1'] }, () => {
        resolve({ alpn: s.alpnProtocol, protocol: s.getProtocol(), authorized: s.authorized });
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal(info.alpn, 'http/1.1');
    assert.ok(['TLSv1.2', 'TLSv1.3'].includes(info.protocol), info.protocol);
    assert.equal(info.authorized, true);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: gw.proxyPort, ca: certs.ca, minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
          s.end();
          resolve();
        });
        s.on('error', reject);
      }),
    );
  });

  it('keeps a TLS connection alive across requests', T, async () => {
    const agent = new https.Agent({ ca: certs.ca, keepAlive: true, maxSockets: 1 });
    try {
      const headers = { authorization: `Bearer ${KEYS.all}` };
      const a = await httpsGet(`${baseURL}/models`, { agent, headers });
      const b = await httpsGet(`${baseURL}/models`, { agent, headers });
      assert.equal(a.status, 200);
      assert.equal(b.status, 200);
      assert.ok(JSON.parse(b.body).data.some((m) => m.id === 'gpt'));
      assert.equal(b.reusedSocket, true, 'the second request opened a new connection');
    } finally {
      agent.destroy();
    }
  });

  it('the admin listener terminates TLS too', T, async () => {
    const r = await httpsGet(`${adminURL}/livez`, { ca: certs.ca });
    assert.equal(r.status, 200);
  });

  it('plain HTTP, garbage and silence on the TLS port end that connection only', T, async () => {
    // An http:// URL pointed at the TLS port: a plain 400 saying to use https, never the API.
    const viaHttp = await fetch(`http://127.0.0.1:${gw.proxyPort}/v1/models`, { headers: { authorization: `Bearer ${KEYS.all}` }, signal: AbortSignal.timeout(5000) });
    assert.equal(viaHttp.status, 400);
    const body = await viaHttp.json();
    assert.equal(body.error.code, 'tls_required');
    assert.match(body.error.message, /https:\/\//);
    const plain = await rawExchange(gw.proxyPort, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n{}');
    assert.ok(plain.data.toString('latin1').startsWith('HTTP/1.1 400 '), plain.data.toString('latin1'));
    assert.ok(!plain.data.toString('latin1').includes('"object"'), 'the API answered over plain HTTP');
    assert.ok(plain.ms < 1000, `closed after ${plain.ms} ms`);
    const garbage = await rawExchange(gw.proxyPort, Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff, 1, 2, 3, 4, 5, 0, 0, 0, 0]));
    assert.ok(garbage.ms < 3000, `closed after ${garbage.ms} ms`);
    // Never handshaking: closed after header_timeout_ms (1000), not kept forever.
    const silent = await rawExchange(gw.proxyPort, null);
    assert.ok(silent.ms >= 900 && silent.ms < 4000, `closed after ${silent.ms} ms`);

    assert.equal(gw.proc.exitCode, null, 'the gateway exited');
    const r = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'still here' }] });
    assert.equal(r.choices[0].message.content, 'Echo: still here');
  });

  for (const [model, what] of [['stall-patient', 'while the gateway waits on a silent upstream'], ['slow-stream', 'while chunks flow']]) {
    it(`a client leaving mid-stream over TLS cancels the upstream at once (${what})`, T, async () => {
      const ac = new AbortController();
      const s = await openai.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'go' }] }, { signal: ac.signal });
      try {
        for await (const c of s) if (c.choices[0]?.delta?.content) break; // break aborts the body
      } finally {
        ac.abort();
      }
      const leftAt = Date.now();
      await waitFor(() => mock.stats.aborted_streams === 1 && mock.stats.active_streams === 0, {
        timeout: 1500,
        message: `the provider stream to be closed (stats ${JSON.stringify(mock.stats)})`,
      });
      assert.ok(Date.now() - leftAt < 1500);
      const r = await openai.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'after' }] });
      assert.equal(r.choices[0].message.content, 'Echo: after');
    });
  }
});

describe('TLS on the proxy listener only', () => {
  it('SIGTERM lets a TLS stream in flight finish; the admin listener stays plain HTTP', { timeout: 30_000 }, async () => {
    const scope = cleanupScope();
    try {
      const mock = await startMock(scope);
      const dir = await makeTempDir(scope);
      const certs = await selfSignedCert(dir);
      const tollgate = processConfig({ extra: { tls: { proxy: { cert_file: certs.certPath, key_file: certs.keyPath } } } });
      const { configPath } = await writeConfig(dir, { tollgate, resources: resourcesFor(mock) });
      const gw = await startGateway(scope, { configPath });
      const live = await fetch(`${gw.adminURL}/livez`);
      assert.equal(live.status, 200);

      const openai = new OpenAI({ baseURL: `https://127.0.0.1:${gw.proxyPort}/v1`, apiKey: KEYS.all, maxRetries: 0, fetch: trustingFetch(certs.ca) });
      const inflight = (async () => {
        const s = await openai.chat.completions.create({ model: 'delayed', stream: true, messages: [{ role: 'user', content: 'finish me' }] });
        let text = '';
        for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
        return text;
      })();
      await sleep(300);
      const exited = new Promise((resolve) => gw.proc.once('exit', (code) => resolve(code)));
      gw.proc.kill('SIGTERM');
      assert.equal(await inflight, 'Echo: finish me');
      assert.equal(await exited, 0);
    } finally {
      await scope.run();
    }
  });
});

describe('TLS files that do not load', () => {
  const cases = [
    ['a missing key file', async (dir) => ({ cert: 'cert.pem', key: 'missing.pem' }), /tls\.proxy\.key_file: .*missing\.pem" does not exist/],
    ['a garbage key file', async (dir) => {
      await fs.writeFile(path.join(dir, 'garbage.pem'), 'not a key\n');
      return { cert: 'cert.pem', key: 'garbage.pem' };
    }, /tls\.proxy\.key_file: cannot load a private key from ".*garbage\.pem"/],
    ['a certificate in place of the key', async (dir) => ({ cert: 'cert.pem', key: 'cert.pem' }), /tls\.proxy\.key_file: cannot load a private key from ".*cert\.pem"/],
    ['a key that belongs to another certificate', async (dir) => {
      const other = await makeTempDir(null, 'tollgate-it-other-');
      const o = await selfSignedCert(other);
      await fs.copyFile(o.keyPath, path.join(dir, 'other.pem'));
      await fs.rm(other, { recursive: true, force: true });
      return { cert: 'cert.pem', key: 'other.pem' };
    }, /tls\.proxy\.key_file: the key in ".*other\.pem" does not match the certificate in ".*cert\.pem"/],
  ];
  for (const [what, make, message] of cases) {
    it(`${what}: validate and serve fail naming the file`, T, async (t) => {
      const dir = await makeTempDir(t);
      await selfSignedCert(dir);
      const { cert, key } = await make(dir);
      const configPath = await writeYaml(path.join(dir, 'tollgate.yaml'),
        processConfig({ extra: { tls: { proxy: { cert_file: cert, key_file: key } } } }));
      const v = await runTollgate(['validate', configPath]);
      assert.equal(v.code, 1, v.stdout + v.stderr);
      assert.match(v.stdout, message);
      assert.match(v.stdout, /tollgate\.yaml:\d+:\d+: /);
      const s = await runTollgate(['serve', '--config', configPath], { cwd: dir });
      assert.equal(s.code, 1, s.stdout + s.stderr);
      assert.match(s.stderr, message);
      assert.doesNotMatch(s.stdout, /listening/);
    });
  }
});
