// A real redis-server on loopback for the tests that share limits through Redis (limits,
// budgets): started on a free port, stopped by its PID after the test (and if this process
// dies).

import { spawn } from 'node:child_process';
import net from 'node:net';
import { closedPort, makeTempDir, sleep, waitFor } from './harness.mjs';

const REDIS_BIN = process.env.REDIS_SERVER_BIN || '/usr/bin/redis-server';

const liveRedis = new Set();
process.on('exit', () => {
  for (const p of liveRedis) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** PING over a raw socket; true when the server answers +PONG within `ms`. */
export function redisPing(port, ms = 500) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.on('error', () => done(false));
  });
}

/**
 * Starts redis-server on `port` (a free one when omitted). Returns { port, url, start(), stop(signal) };
 * start() after stop() brings it back on the same port (empty: no persistence).
 */
export async function startRedis(t, { port } = {}) {
  port ??= await closedPort();
  const dir = await makeTempDir(t, 'tollgate-redis-');
  const r = { port, url: `redis://127.0.0.1:${port}`, proc: null, exited: null, log: '' };
  r.start = async () => {
    const proc = spawn(REDIS_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    liveRedis.add(proc);
    r.proc = proc;
    r.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
      liveRedis.delete(proc);
      resolve({ code, signal });
    }));
    proc.stdout.on('data', (d) => (r.log += d));
    proc.stderr.on('data', (d) => (r.log += d));
    const spawnErr = new Promise((_, reject) => proc.on('error', reject));
    await Promise.race([
      spawnErr,
      waitFor(() => redisPing(port), { timeout: 5000, interval: 30, message: `redis-server on ${port} to answer PING` }).catch((e) => {
        throw new Error(`${e.message}\n--- redis log:\n${r.log}`);
      }),
    ]);
  };
  r.stop = async (signal = 'SIGKILL') => {
    const proc = r.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const t0 = Date.now();
    await Promise.race([r.exited, sleep(5000)]);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await Promise.race([r.exited, sleep(2000)]);
    }
    return Date.now() - t0;
  };
  t.after(() => r.stop('SIGKILL'));
  await r.start();
  return r;
}
