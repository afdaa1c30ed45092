// Helpers for integration tests that drive the real `tollgate` binary.
//
// Every helper that starts something registers its cleanup on the test context passed in
// (t.after), so a failing test still stops what it started.

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach } from 'node:test';
import OpenAI from 'openai';
import { startOpenAIMock } from '../mocks/openai-mock.mjs';

export const TOLLGATE_BIN = process.env.TOLLGATE_BIN || '/work/main/build/tollgate';
const LISTENING_RE = /listening proxy=(\S+):(\d+) admin=(\S+):(\d+)/;
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 10_000;

// ---------------------------------------------------------------------------------------------
// Small utilities.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (returned) or `timeout` ms pass (throws). */
export async function waitFor(fn, { timeout = 3000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${message}; last: ${last instanceof Error ? last.stack : JSON.stringify(last)}`);
    }
    await sleep(interval);
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago and has nothing listening now. */
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

// The stops of the gateways a test started, by test context: a test's temp dirs are removed
// after them (below).
const gatewayStops = new WeakMap();

/** Temp dir under os.tmpdir(); removed after the test when `t` is given. */
export async function makeTempDir(t, prefix = 'tollgate-it-') {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  // A test's after hooks run in the order they were added, so this one runs before the stop of
  // a gateway started later in the test, which may still be writing into the dir (its usage
  // database): those gateways are stopped first (a stop is idempotent). Retried for what other
  // children (an agent client killed by its test) may still be writing there.
  if (t) {
    t.after(async () => {
      await Promise.all((gatewayStops.get(t) ?? []).map((stop) => stop()));
      await fs.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    });
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------
// YAML: config is written in block style from plain objects; strings are double-quoted (JSON
// string syntax is valid YAML), so no YAML library is needed. Pass a string to write it as is.

export function toYaml(value, indent = 0) {
  const pad = ' '.repeat(indent);
  const scalar = (v) => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw new Error(`toYaml: unsupported scalar ${typeof v}`);
  };
  const isScalar = (v) => v === null || typeof v !== 'object';
  if (isScalar(value)) return `${pad}${scalar(value)}\n`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}[]\n`;
    let out = '';
    for (const item of value) {
      if (isScalar(item)) out += `${pad}- ${scalar(item)}\n`;
      else if (Array.isArray(item)) out += `${pad}-\n${toYaml(item, indent + 2)}`;
      else {
        const body = toYaml(item, indent + 2);
        out += `${pad}- ${body.slice(indent + 2)}`;
      }
    }
    return out;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return `${pad}{}\n`;
  let out = '';
  for (const [k, v] of entries) {
    if (isScalar(v)) out += `${pad}${k}: ${scalar(v)}\n`;
    else if (Array.isArray(v) && v.length === 0) out += `${pad}${k}: []\n`;
    else if (!Array.isArray(v) && Object.keys(v).length === 0) out += `${pad}${k}: {}\n`;
    else out += `${pad}${k}:\n${toYaml(v, indent + 2)}`;
  }
  return out;
}

export async function writeYaml(file, content) {
  await fs.writeFile(file, typeof content === 'string' ? content : toYaml(content));
  return file;
}

/** tollgate.yaml contents with loopback listeners on free ports. */
export function processConfig({ store = { kind: 'file', path: 'resources.yaml' }, workers = 2, demo = true, extra = {} } = {}) {
  return {
    listen: { proxy: '127.0.0.1:0', admin: '127.0.0.1:0' },
    store,
    workers,
    demo,
    ...extra,
  };
}

/** Writes tollgate.yaml (and resources.yaml when given) into `dir`; returns their paths. */
export async function writeConfig(dir, { tollgate = processConfig(), resources } = {}) {
  const configPath = await writeYaml(path.join(dir, 'tollgate.yaml'), tollgate);
  let resourcesPath = null;
  if (resources !== undefined) resourcesPath = await writeYaml(path.join(dir, 'resources.yaml'), resources);
  return { configPath, resourcesPath };
}

// ---------------------------------------------------------------------------------------------
// The gateway process.

// Gateways still running when this test process dies (a crash, or the runner's SIGTERM) are
// killed with it, so no test leaves a server behind.
const liveProcs = new Set();
process.on('exit', () => {
  for (const p of liveProcs) p.kill('SIGKILL');
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => {
    for (const p of liveProcs) p.kill('SIGKILL');
    process.exit(128 + (sig === 'SIGTERM' ? 15 : 2));
  });
}

/**
 * Starts `tollgate serve --config configPath` and waits for its listening line.
 * Returns { proc, proxyURL, adminURL, baseURL, proxyPort, adminPort, output(), stop() }.
 * With `t`, the process is stopped after the test.
 */
export async function startGateway(t, { configPath, env = {}, args = [], nofile, launch }) {
  // nofile: the descriptor limit (soft and hard) the gateway runs under, set by the shell.
  // launch: a shell prefix the gateway is exec'd through instead (`ulimit -S -n 256 && exec taskset -c 0`).
  const argv = ['serve', '--config', configPath, ...args];
  const prefix = launch ?? (nofile ? `ulimit -n ${Number(nofile)} && exec` : null);
  const [cmd, cmdArgs] = prefix ? ['bash', ['-c', `${prefix} "$0" "$@"`, TOLLGATE_BIN, ...argv]] : [TOLLGATE_BIN, argv];
  const proc = spawn(cmd, cmdArgs, {
    cwd: path.dirname(configPath),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  liveProcs.add(proc);
  const exited = new Promise((resolve) =>
    proc.on('exit', (code, signal) => {
      liveProcs.delete(proc);
      resolve({ code, signal });
    }),
  );
  const spawnError = new Promise((resolve) => proc.on('error', resolve));

  const gw = {
    proc,
    exited,
    output: () => ({ stdout, stderr }),
    stop: () => stopProcess(proc, exited),
  };
  if (t) {
    t.after(() => gw.stop());
    if (!gatewayStops.has(t)) gatewayStops.set(t, []);
    gatewayStops.get(t).push(gw.stop);
  }

  const listening = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`tollgate did not print its listening line within ${START_TIMEOUT_MS} ms\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`));
    }, START_TIMEOUT_MS);
    const onData = () => {
      const m = LISTENING_RE.exec(stdout);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = ({ code, signal }) => {
      cleanup();
      reject(new Error(`tollgate exited before listening (code ${code}, signal ${signal})\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
    };
    proc.stdout.on('data', onData);
    exited.then(onExit);
    spawnError.then((err) => {
      cleanup();
      reject(new Error(`cannot start ${TOLLGATE_BIN}: ${err.message}`));
    });
  });
  const [, proxyHost, proxyPort, adminHost, adminPort] = listening;
  Object.assign(gw, {
    proxyPort: Number(proxyPort),
    adminPort: Number(adminPort),
    proxyURL: `http://${proxyHost}:${proxyPort}`,
    adminURL: `http://${adminHost}:${adminPort}`,
    baseURL: `http://${proxyHost}:${proxyPort}/v1`,
  });
  return gw;
}

/** A gateway on `resources` (and `tollgate`, processConfig() by default) in a new temporary directory, stopped after `t`. */
export async function startGatewayWith(t, resources, { tollgate } = {}) {
  const dir = await makeTempDir(t);
  const { configPath } = await writeConfig(dir, { tollgate, resources });
  return startGateway(t, { configPath });
}

/** SIGTERM, wait for exit, SIGKILL after STOP_GRACE_MS. Resolves to { code, signal }. */
export async function stopProcess(proc, exited) {
  if (proc.exitCode !== null || proc.signalCode !== null) return exited;
  proc.kill('SIGTERM');
  let timer;
  const killed = new Promise((resolve) => {
    timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve();
    }, STOP_GRACE_MS);
  });
  await Promise.race([exited, killed]);
  clearTimeout(timer);
  return exited;
}

/** Runs `tollgate ...args` to completion. Resolves to { code, stdout, stderr } (never rejects on exit code). */
export function runTollgate(args, { cwd, env = {}, timeout = 10_000 } = {}) {
  return new Promise((resolve) => {
    execFile(TOLLGATE_BIN, args, { cwd, env: { ...process.env, ...env }, timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : err.signal ? `signal ${err.signal}` : String(err.code)) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Mock providers and a standard setup.

export async function startMock(t, opts = {}) {
  const mock = await startOpenAIMock(opts);
  if (t) t.after(() => mock.close());
  return mock;
}

export const KEYS = {
  all: 'tg-test-all-0123456789abcdef',
  limited: 'tg-test-limited-0123456789abcdef',
  open: 'tg-test-open-0123456789abcdef',
};

/**
 * Resources for one mock: the provider `mock` (and `mock-short`, read_ms 1000, and `dead`, a
 * closed port), aliases for the mock's behaviours, and three keys:
 *   all     every alias + demo
 *   limited only `gpt`
 *   open    an empty model list (demo only)
 */
export function standardResources(mock, { deadPort, extraModels = [] } = {}) {
  const providers = [
    { name: 'mock', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey, timeouts: { connect_ms: 1000, read_ms: 5000, idle_ms: 5000 } },
    { name: 'mock-short', kind: 'openai-compatible', base_url: mock.baseURL, api_key: mock.apiKey, timeouts: { connect_ms: 1000, read_ms: 1000, idle_ms: 1000 } },
  ];
  if (deadPort) {
    providers.push({ name: 'dead', kind: 'openai', base_url: `http://127.0.0.1:${deadPort}/v1`, api_key: 'sk-dead', timeouts: { connect_ms: 1000, read_ms: 1000, idle_ms: 1000 } });
  }
  const models = [
    { name: 'gpt', targets: [{ provider: 'mock', model: 'gpt-4o' }] },
    { name: 'instruct', targets: [{ provider: 'mock', model: 'gpt-3.5-turbo-instruct' }] },
    { name: 'embed', targets: [{ provider: 'mock', model: 'text-embedding-3-small' }] },
    { name: 'err-429', targets: [{ provider: 'mock', model: 'mock-error-429' }] },
    { name: 'err-500', targets: [{ provider: 'mock', model: 'mock-error-500' }] },
    { name: 'html-502', targets: [{ provider: 'mock', model: 'mock-html-502' }] },
    { name: 'hang', targets: [{ provider: 'mock-short', model: 'mock-hang' }] },
    { name: 'slow-stream', targets: [{ provider: 'mock', model: 'mock-slow-stream' }] },
    { name: 'fragmented', targets: [{ provider: 'mock', model: 'mock-fragmented-stream' }] },
    { name: 'bursts', targets: [{ provider: 'mock', model: 'mock-stream-bursts' }] },
    { name: 'stream-error', targets: [{ provider: 'mock', model: 'mock-stream-error' }] },
    { name: 'stream-cut', targets: [{ provider: 'mock', model: 'mock-stream-cut' }] },
    { name: 'stall', targets: [{ provider: 'mock-short', model: 'mock-stall-stream' }] },
    ...(deadPort ? [{ name: 'dead', targets: [{ provider: 'dead', model: 'gpt-4o' }] }] : []),
    ...extraModels,
  ];
  const keys = [
    { name: 'all', key: KEYS.all, models: [...models.map((m) => m.name), 'demo'] },
    { name: 'limited', key: KEYS.limited, models: ['gpt'] },
    { name: 'open', key: KEYS.open, models: [] },
  ];
  return { providers, models, keys };
}

/**
 * One mock + one gateway on the standard resources, stopped after `t` (a test or a suite
 * context: pass the `before` hook's context and cleanup runs in `after`).
 */
export async function standardSetup(t, opts = {}) {
  const mock = await startMock(t);
  const dir = await makeTempDir(t);
  const deadPort = await closedPort();
  const resources = standardResources(mock, { deadPort, ...opts });
  const { configPath, resourcesPath } = await writeConfig(dir, { resources });
  const gw = await startGateway(t, { configPath });
  const client = (apiKey = KEYS.all, extra = {}) => new OpenAI({ baseURL: gw.baseURL, apiKey, maxRetries: 0, timeout: 20_000, ...extra });
  return { mock, dir, gw, configPath, resourcesPath, resources, client };
}

/**
 * For a describe: standardSetup(opts) before its tests, stopped after them, the mock's records
 * reset before each. Returns the object standardSetup's fields land in once started.
 */
export function standardSuite(opts) {
  const scope = cleanupScope();
  const env = {};
  before(async () => Object.assign(env, await standardSetup(scope, opts)));
  after(() => scope.run());
  beforeEach(() => env.mock.reset());
  return env;
}

/** Parses an SSE body into the list of `data:` payloads (strings), in order. */
export function sseData(text) {
  const out = [];
  for (const event of text.split(/\r?\n\r?\n/)) {
    const lines = event.split(/\r?\n/).filter((l) => l.startsWith('data:'));
    if (!lines.length) continue;
    out.push(lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n'));
  }
  return out;
}

/** POST JSON (or a raw string) with fetch; returns { status, headers, text, json }. */
export async function postJson(url, body, { apiKey, headers = {}, signal } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: signal ?? AbortSignal.timeout(20_000),
  });
  return answerOf(res);
}

/** A fetch response read whole: { status, headers, text, json } (json null when not JSON). */
async function answerOf(res) {
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON; callers assert on text
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * One Admin API call (`path` after /admin/v1) as admin key `key` (none when not given); a
 * string body goes as is. Returns { status, headers, json, text } (json null when not JSON).
 */
export async function adminCall(gw, method, path, { key, body, headers = {}, timeout = 10_000 } = {}) {
  const res = await fetch(`${gw.adminURL}/admin/v1${path}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeout),
  });
  return answerOf(res);
}

/** Asserts-friendly check of OpenAI's error envelope; returns a list of problems (empty = ok). */
export function envelopeProblems(json) {
  const problems = [];
  if (!json || typeof json !== 'object') return ['body is not a JSON object'];
  const e = json.error;
  if (!e || typeof e !== 'object') return ['no "error" object'];
  if (typeof e.message !== 'string' || !e.message) problems.push('error.message is not a non-empty string');
  if (!('type' in e) || (e.type !== null && typeof e.type !== 'string')) problems.push('error.type missing');
  if (!('param' in e)) problems.push('error.param missing');
  if (!('code' in e)) problems.push('error.code missing');
  return problems;
}

/**
 * A stand-in for a test context in suites: pass it where helpers take `t`, and call run() in
 * the suite's after hook. Cleanups run in reverse order; all run even when one throws.
 */
export function cleanupScope() {
  const fns = [];
  return {
    after(fn) {
      fns.push(fn);
    },
    async run() {
      const errors = [];
      while (fns.length) {
        try {
          await fns.pop()();
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length) throw errors[0];
    },
  };
}

