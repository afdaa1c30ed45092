// A real PostgreSQL on loopback for the tests that share state through it (cluster mode):
// initdb into a temporary directory, the server on a free port, stopped by its PID after the
// test (and if this process dies). stop() and start() again keep the data and the port.

import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { closedPort, makeTempDir, sleep, waitFor } from './harness.mjs';

const PG_BIN = process.env.POSTGRES_BIN_DIR || '/usr/lib/postgresql/15/bin';

const livePg = new Set();
process.on('exit', () => {
  for (const p of livePg) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 16 << 20, ...opts }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(String(stdout));
    });
  });
}

/**
 * Starts PostgreSQL. Returns { port, conninfo(db), psql(sql, db), createDb(name), stop(), start(), log() }.
 * As root the server runs as the `postgres` account (setpriv execs it in place, so the PID is
 * the postmaster's).
 */
export async function startPostgres(t) {
  const root = await makeTempDir(t, 'tollgate-pg-');
  const asRoot = process.getuid?.() === 0;
  const cmd = (bin, args) => (asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', bin, ...args]] : [bin, args]);
  if (asRoot) await run('chown', ['postgres:postgres', root]);
  const data = path.join(root, 'data');
  await run(...cmd(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']), { timeout: 60_000 });
  const port = await closedPort();
  let proc = null;
  let exited = null;
  let log = '';
  const pg = {
    port,
    conninfo: (db = 'postgres') => `host=127.0.0.1 port=${port} user=postgres dbname=${db} connect_timeout=5`,
    psql: (sql, db = 'postgres') => run('psql', ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql]),
    async createDb(name) {
      await pg.psql(`CREATE DATABASE ${name}`);
      return name;
    },
    async start() {
      const [bin, args] = cmd(`${PG_BIN}/postgres`, ['-D', data, '-k', root, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off', '-c', 'full_page_writes=off']);
      proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      livePg.add(proc);
      proc.stdout.on('data', (d) => (log += d));
      proc.stderr.on('data', (d) => (log += d));
      const p = proc;
      exited = new Promise((resolve) => p.on('exit', (code, signal) => {
        livePg.delete(p);
        resolve({ code, signal });
      }));
      await waitFor(async () => (await pg.psql('SELECT 1').catch(() => '')).trim() === '1', { timeout: 30_000, interval: 100, message: `postgres on ${port}; log:\n${log}` });
    },
    /** Fast shutdown (SIGINT): sessions are cut, as when the database goes away. */
    async stop() {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(proc.pid, 'SIGINT');
      await Promise.race([exited, sleep(15_000)]);
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(proc.pid, 'SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
    },
    log: () => log,
  };
  t.after(() => pg.stop());
  await pg.start();
  return pg;
}
