// Many concurrent streams through one gateway (issue 18): memory per open stream, stalls,
// CPU per relayed chunk, and memory after repeated waves.
//
//   TOLLGATE_BIN=build/tollgate node bench/stream_scale.mjs [--streams 2000] [--waves 3]
//       [--chunks 10] [--interval-ms 1000] [--workers 0] [--settle-s 15]
//
// A Node mock (bench/mock_stream.mjs) answers every stream with a chunk every --interval-ms;
// the gateway runs with its defaults (access log on, usage records to SQLite) and a virtual
// key. Each wave opens --streams streams at once (in batches of 200), holds them to the end,
// and notes every chunk's arrival. Reported per wave: RSS with every stream open (and per
// open stream over idle), the longest gap between two chunks of one stream (a stall is a gap
// over twice the interval), gateway CPU per relayed chunk (/proc utime+stime), and RSS after
// the wave; after the last wave, RSS once the gateway has been idle --settle-s seconds.
// Everything it starts is stopped on exit.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const STREAMS = opt('streams', 2000);
const WAVES = opt('waves', 3);
const CHUNKS = opt('chunks', 10);
const INTERVAL = opt('interval-ms', 1000);
const WORKERS = opt('workers', 0);
const SETTLE_S = opt('settle-s', 15);
const BIN = path.resolve(process.env.TOLLGATE_BIN || path.join(HERE, '..', 'build', 'tollgate'));
const VKEY = 'tg-bench-key-0000000000000000000000000000';
const TICK_US = 10_000;  // CLK_TCK 100
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];
const stopAll = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
process.on('exit', stopAll);
process.on('SIGINT', () => { stopAll(); process.exit(130); });

function start(cmd, argv, opts, ready) {
  const p = spawn(cmd, argv, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d) => {
      out += d;
      const m = ready(out);
      if (m) resolve({ p, m });
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', (d) => { out += d; });
    p.on('exit', (code) => reject(new Error(`${cmd} exited (${code}): ${out.slice(-400)}`)));
  });
}
const status = (pid, field) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};

const mock = await start('node', [path.join(HERE, 'mock_stream.mjs'), '--port', '0', '--chunks', String(CHUNKS),
  '--delay-ms', String(INTERVAL)], {}, (o) => o.match(/listening on (\d+)/));
const mockPort = mock.m[1];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-streams-'));
fs.writeFileSync(path.join(dir, 'tollgate.yaml'), `listen: { proxy: "127.0.0.1:0", admin: "127.0.0.1:0" }
store: { kind: file, path: resources.yaml }
workers: ${WORKERS}
`);
fs.writeFileSync(path.join(dir, 'resources.yaml'), `providers:
  - { name: smock, kind: openai-compatible, base_url: "http://127.0.0.1:${mockPort}/v1", api_key: sk-mock,
      timeouts: { idle_ms: ${Math.max(30000, INTERVAL * 4)} } }
models:
  - { name: bench-stream, targets: [ { provider: smock, model: mock-model } ] }
keys:
  - { name: bench, key: "${VKEY}" }
`);
const gw = await start(BIN, ['serve', '--config', path.join(dir, 'tollgate.yaml')], { cwd: dir },
  (o) => o.match(/listening proxy=([0-9.]+):(\d+)/));
const [gwHost, gwPort] = [gw.m[1], Number(gw.m[2])];
const pid = gw.p.pid;
gw.p.stdout.resume();

const body = JSON.stringify({ model: 'bench-stream', stream: true, messages: [{ role: 'user', content: 'hi' }] });
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
function oneStream(onFirst) {
  return new Promise((resolve) => {
    const times = [];
    let events = 0;
    const req = http.request({ host: gwHost, port: gwPort, path: '/v1/chat/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${VKEY}`, 'content-length': Buffer.byteLength(body) } },
    (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (!ev.startsWith('data:')) continue;
          if (events++ === 0) onFirst();
          times.push(performance.now());
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, times, events }));
      res.on('error', () => resolve({ status: res.statusCode, times, events, error: true }));
    });
    req.on('error', () => { onFirst(); resolve({ status: 0, times, events, error: true }); });
    req.end(body);
  });
}

// Gaps between content chunks: the first event (role + first content) and the last ones
// (finish, usage, [DONE]) come in bursts; the interval applies between the content chunks.
function maxGap(times) {
  let g = 0;
  for (let i = 1; i < times.length; i++) g = Math.max(g, times[i] - times[i - 1]);
  return g;
}

await sleep(1000);
const idleKb = status(pid, 'VmRSS');
const report = { streams: STREAMS, waves: WAVES, chunks: CHUNKS, interval_ms: INTERVAL, idle_rss_kb: idleKb, load: os.loadavg(), runs: [] };
console.log(`idle RSS ${idleKb} kB; ${STREAMS} streams x ${WAVES} waves, ${CHUNKS} chunks ${INTERVAL} ms apart (load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`);
for (let w = 1; w <= WAVES; w++) {
  const t0 = cpuTicks(pid);
  let firsts = 0;
  let allOpen;
  const opened = new Promise((r) => { allOpen = r; });
  const all = [];
  for (let i = 0; i < STREAMS; i += 200) {
    for (let j = i; j < Math.min(STREAMS, i + 200); j++) all.push(oneStream(() => { if (++firsts === STREAMS) allOpen(); }));
    await sleep(20);
  }
  await Promise.race([opened, sleep(60_000)]);
  await sleep(Math.min(INTERVAL, 1000));
  const openKb = status(pid, 'VmRSS');
  const results = await Promise.all(all);
  const t1 = cpuTicks(pid);
  await sleep(500);
  const afterKb = status(pid, 'VmRSS');
  const ok = results.filter((r) => r.status === 200 && !r.error);
  const chunks = results.reduce((a, r) => a + r.events, 0);
  const gaps = ok.map((r) => maxGap(r.times.slice(0, CHUNKS)));
  const worst = Math.max(0, ...gaps);
  const stalls = gaps.filter((g) => g > 2 * INTERVAL).length;
  const run = { wave: w, ok: ok.length, failed: STREAMS - ok.length, open_rss_kb: openKb,
    per_stream_kib: (openKb - idleKb) / STREAMS, worst_gap_ms: Math.round(worst), stalls,
    cpu_us_per_chunk: ((t1 - t0) * TICK_US) / Math.max(1, chunks), chunks, after_rss_kb: afterKb };
  report.runs.push(run);
  console.log(`wave ${w}: ${ok.length}/${STREAMS} ok; RSS open ${openKb} kB (${run.per_stream_kib.toFixed(1)} KiB per stream); ` +
    `worst gap ${run.worst_gap_ms} ms, ${stalls} stalls; ${run.cpu_us_per_chunk.toFixed(1)} us CPU per chunk; RSS after ${afterKb} kB`);
}
await sleep(SETTLE_S * 1000);
report.settled_rss_kb = status(pid, 'VmRSS');
console.log(`RSS ${SETTLE_S} s after the last wave: ${report.settled_rss_kb} kB (idle ${idleKb} kB)`);
console.log(`STREAMJSON ${JSON.stringify(report)}`);
stopAll();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
