// Many concurrent streams through one gateway (issue 18): memory per open stream, stalls,
// CPU per relayed chunk, and memory after repeated waves.
//
//   TOLLGATE_BIN=build/tollgate node bench/stream_scale.mjs [--streams 2000] [--waves 3]
//       [--chunks 10] [--interval-ms 1000] [--workers 0] [--settle-s 40] [--nginx 1] [--syscalls 1]
//
// --streams 0: every stream the gateway's descriptor limit allows (the callers it admits:
// (limit - 64) / 2, core::connection_cap). --nginx 1: the same waves through nginx (one
// worker, proxy_buffering off, its descriptor limit the same), alternating with the gateway's
// in the same run; its worker's RSS and CPU are reported the same way.
//
// A Node mock (bench/mock_stream.mjs) answers every stream with a chunk every --interval-ms;
// the gateway runs with its defaults (access log on, usage records to SQLite) and a virtual
// key. Each wave opens --streams streams at once (in batches of 200), holds them to the end,
// and notes every chunk's arrival. Reported per wave: RSS with every stream open (and per
// open stream over idle), the longest gap between two chunks of one stream (a stall is a gap
// over twice the interval; the mock stamps each chunk with the time it wrote it, so a stall is
// told apart as the mock's late write, the client's own event loop blocked, or a wait on the
// way; each chunk's time from the mock to the client and the client's longest block beside),
// gateway CPU per relayed chunk (/proc utime+stime), and RSS after the wave; after the last wave, RSS once the gateway has been idle --settle-s seconds (40: it
// gives memory back after 20-30 s without a request in progress, gateway/runtime.cc).
// --syscalls 1: each wave's syscalls per relayed chunk by kind, and context switches (wake-ups)
// per chunk, counted in the kernel by `perf stat` on the syscall tracepoints (every thread of
// the gateway; nginx's worker). perf's tracepoints cost a little per syscall, so a wave's CPU
// figure with it on is not comparable with one without. --profile DIR: each wave's
// `perf record -e cpu-clock -g` of the target (user and kernel stacks) into
// DIR/<target>-<wave>.data, for `perf report -i` (the sampling slows it a little too).
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
let STREAMS = opt('streams', 2000);
const WAVES = opt('waves', 3);
const CHUNKS = opt('chunks', 10);
const INTERVAL = opt('interval-ms', 1000);
const WORKERS = opt('workers', 0);
const SETTLE_S = opt('settle-s', 40);
const NGINX = opt('nginx', 0) === 1;
const SYSCALLS = opt('syscalls', 0) === 1;
const PROFILE_DIR = args.includes('--profile') ? path.resolve(args[args.indexOf('--profile') + 1]) : '';
const PERF_CALLS = ['read', 'write', 'readv', 'writev', 'recvfrom', 'recvmsg', 'sendto', 'sendmsg', 'epoll_wait',
  'epoll_pwait', 'epoll_ctl', 'timerfd_settime', 'futex', 'accept', 'accept4', 'connect', 'socket', 'close',
  'getsockopt', 'setsockopt', 'ioctl', 'shutdown', 'pwrite64', 'pread64', 'fdatasync', 'fcntl', 'openat',
  'mprotect', 'madvise', 'brk', 'munmap', 'mmap', 'newfstatat', 'getpeername', 'getsockname', 'eventfd2'];
const BIN = path.resolve(process.env.TOLLGATE_BIN || path.join(HERE, '..', 'build', 'tollgate'));
const VKEY = 'tg-bench-key-0000000000000000000000000000';
const TICK_US = 10_000;  // CLK_TCK 100
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// The client's own event loop: the spans it was blocked for (a tick due every 10 ms that came
// over 50 ms late), so that a gap the client made itself is not counted against the relay.
const blocked = [];  // [from, to], wall clock in ms
let lastTick = performance.timeOrigin + performance.now();
setInterval(() => {
  const now = performance.timeOrigin + performance.now();
  if (now - lastTick > 50) blocked.push([lastTick, now]);
  lastTick = now;
}, 10).unref();
const blockedWithin = (from, to) => blocked.reduce((a, [b, e]) => a + Math.max(0, Math.min(e, to) - Math.max(b, from)), 0);

const children = [];
const stopAll = () => { for (const c of children) if (c.exitCode === null) c.kill('SIGTERM'); };
process.on('exit', stopAll);
process.on('SIGINT', () => { stopAll(); process.exit(130); });

function start(cmd, argv, opts, ready) {
  const p = spawn(cmd, argv, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  return new Promise((resolve, reject) => {
    let out = '';
    // Read until ready, then only drained: the gateway's access log (a line a stream, on stdout)
    // kept in `out` and matched again on every read made this client's event loop stall for
    // seconds as a wave's 10,000 streams ended (the stalls of the third wave).
    let started = false;
    const onData = (d) => {
      if (started) return;
      out += d;
      const m = ready(out);
      if (m) {
        started = true;
        out = out.slice(-400);
        resolve({ p, m });
      }
    };
    p.stdout.on('data', onData);
    p.stderr.on('data', (d) => { if (!started) out += d; });
    p.on('exit', (code) => reject(new Error(`${cmd} exited (${code}): ${out.slice(-400)}`)));
  });
}
const status = (pid, field) => Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
const cpuSplit = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return [Number(f[11]), Number(f[12])];  // utime, stime
};

const mock = await start('node', [path.join(HERE, 'mock_stream.mjs'), '--port', '0', '--chunks', String(CHUNKS),
  '--delay-ms', String(INTERVAL), '--stamp', '1'], {}, (o) => o.match(/listening on (\d+)/));
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
const nofile = (p) => Number(fs.readFileSync(`/proc/${p}/limits`, 'utf8').match(/Max open files\s+(\d+)/)[1]);
const gwNofile = nofile(pid);
if (STREAMS === 0) STREAMS = Math.floor((gwNofile - 64) / 2);
console.log(`gateway descriptor limit ${gwNofile} (hard ${fs.readFileSync(`/proc/${pid}/limits`, 'utf8').match(/Max open files\s+\d+\s+(\d+)/)[1]}); ` +
  `${fs.readdirSync(`/proc/${pid}/fd`).length} open at idle`);

// nginx as the same kind of relay, for comparison: one worker (the gateway's figures are per
// process), the same descriptor limit.
let ngx = null;
if (NGINX) {
  const nd = path.join(dir, 'nginx');
  fs.mkdirSync(nd);
  const port = await new Promise((r) => { const s = http.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
  fs.writeFileSync(path.join(nd, 'nginx.conf'), `daemon off; master_process on; pid ${nd}/nginx.pid; error_log ${nd}/error.log warn;
worker_processes 1; worker_rlimit_nofile ${gwNofile};
events { worker_connections ${gwNofile}; }
http { access_log off; client_body_temp_path ${nd}/b; proxy_temp_path ${nd}/p; fastcgi_temp_path ${nd}/f;
  uwsgi_temp_path ${nd}/u; scgi_temp_path ${nd}/s; keepalive_timeout 120s;
  upstream smock { server 127.0.0.1:${mockPort}; keepalive 32; }
  server { listen 127.0.0.1:${port} backlog=4096;
    location / { proxy_pass http://smock; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off;
      proxy_read_timeout 120s; } } }
`);
  const bin = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
  const master = spawn(bin, ['-p', nd, '-c', path.join(nd, 'nginx.conf'), '-e', path.join(nd, 'error.log')], { stdio: 'ignore' });
  children.push(master);
  let worker = 0;
  for (let i = 0; i < 100 && !worker; i++) {
    await sleep(100);
    try { worker = Number(fs.readFileSync(`/proc/${master.pid}/task/${master.pid}/children`, 'utf8').trim().split(' ')[0]) || 0; } catch { /* not yet */ }
  }
  if (!worker) throw new Error('nginx did not start');
  ngx = { name: 'nginx', host: '127.0.0.1', port, pid: worker };
}

const body = JSON.stringify({ model: 'bench-stream', stream: true, messages: [{ role: 'user', content: 'hi' }] });
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
function oneStream(target, onFirst) {
  return new Promise((resolve) => {
    const times = [];  // each event's arrival, wall clock in ms
    const sent = [];  // the mock's stamp in it (the time it wrote the chunk), or NaN
    let events = 0;
    const req = http.request({ host: target.host, port: target.port, path: '/v1/chat/completions', method: 'POST', agent,
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
          times.push(performance.timeOrigin + performance.now());
          const stamp = ev.match(/@(\d+\.\d)/);
          sent.push(stamp ? Number(stamp[1]) : NaN);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, times, sent, events }));
      res.on('error', () => resolve({ status: res.statusCode, times, sent, events, error: true }));
    });
    req.on('error', (e) => { onFirst(); resolve({ status: 0, times, sent, events, error: e.code || e.message }); });
    // A wave never hangs on one stream: past its length and a minute it counts as failed.
    req.setTimeout(CHUNKS * INTERVAL + 60_000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

// Gaps between content chunks: the first event (role + first content) and the last ones
// (finish, usage, [DONE]) come in bursts; the interval applies between the content chunks.
// The index of the event that ended a stream's longest gap (0: fewer than two events).
function longestGapAt(times) {
  let at = 0;
  for (let i = 1; i < Math.min(CHUNKS, times.length); i++) if (!at || times[i] - times[i - 1] > times[at] - times[at - 1]) at = i;
  return at;
}
const gapEndingAt = (times, at) => (at ? times[at] - times[at - 1] : 0);
// Where a stall came from: the mock's stamps say when each chunk was written. A stall whose
// chunks were written more than twice the interval apart was the upstream's (the mock's timers
// ran late: the mock shares the cores); one that is no stall once the time the client's own
// event loop was blocked within it is taken out was the client's; else the chunk waited on
// the way (the relay).
function stallSource(r, at) {
  if (r.sent[at] - r.sent[at - 1] > 2 * INTERVAL) return 'upstream';
  return gapEndingAt(r.times, at) - blockedWithin(r.times[at - 1], r.times[at]) <= 2 * INTERVAL ? 'client' : 'relay';
}
const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : 0);

await sleep(1000);
const targets = [{ name: 'tollgate', host: gwHost, port: gwPort, pid }, ...(ngx ? [ngx] : [])];
for (const t of targets) t.idleKb = status(t.pid, 'VmRSS');
const idleKb = targets[0].idleKb;
const report = { streams: STREAMS, waves: WAVES, chunks: CHUNKS, interval_ms: INTERVAL, descriptor_limit: gwNofile,
  idle_rss_kb: idleKb, load: os.loadavg(), runs: [] };
console.log(`idle RSS ${targets.map((t) => `${t.name} ${t.idleKb} kB`).join(', ')}; ${STREAMS} streams x ${WAVES} waves, ` +
  `${CHUNKS} chunks ${INTERVAL} ms apart (load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')})`);
// Starts counting syscalls by kind and context switches of `pid`'s threads; the result's
// stop() resolves to { kind: count }.
function countSyscalls(pid) {
  const out = path.join(dir, `perf-${pid}-${Date.now()}.csv`);
  const ev = ['raw_syscalls:sys_enter', 'context-switches', 'cpu-migrations', 'page-faults', ...PERF_CALLS.map((c) => `syscalls:sys_enter_${c}`)].join(',');
  const p = spawn('perf', ['stat', '-x,', '-e', ev, '-o', out, '-p', String(pid)], { stdio: 'ignore' });
  children.push(p);
  return {
    stop: () => new Promise((resolve) => {
      p.on('exit', () => {
        const counts = {};
        for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
          const f = line.split(',');
          if (f.length < 3 || !(Number(f[0]) > 0)) continue;
          const k = f[2] === 'raw_syscalls:sys_enter' ? 'all' : f[2].replace(/^syscalls:sys_enter_/, '');
          counts[k] = Number(f[0]);
        }
        resolve(counts);
      });
      p.kill('SIGINT');
    }),
  };
}

for (let w = 1; w <= WAVES; w++) {
  for (const target of targets) {
    const perf = SYSCALLS ? countSyscalls(target.pid) : null;
    let profile = null;
    if (PROFILE_DIR) {
      fs.mkdirSync(PROFILE_DIR, { recursive: true });
      profile = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-g', '-o', path.join(PROFILE_DIR, `${target.name}-${w}.data`),
        '-p', String(target.pid)], { stdio: 'ignore' });
      children.push(profile);
    }
    if (perf || profile) await sleep(300);
    const waveStart = performance.timeOrigin + performance.now();
    const s0 = cpuSplit(target.pid);
    const t0 = s0[0] + s0[1];
    let firsts = 0;
    let allOpen;
    const opened = new Promise((r) => { allOpen = r; });
    const all = [];
    for (let i = 0; i < STREAMS; i += 200) {
      for (let j = i; j < Math.min(STREAMS, i + 200); j++) all.push(oneStream(target, () => { if (++firsts === STREAMS) allOpen(); }));
      await sleep(20);
    }
    await Promise.race([opened, sleep(60_000)]);
    if (firsts < STREAMS) console.log(`  ${firsts}/${STREAMS} streams had their first event after 60 s`);
    await sleep(Math.min(INTERVAL, 1000));
    const openKb = status(target.pid, 'VmRSS');
    const results = await Promise.all(all);
    const s1 = cpuSplit(target.pid);
    const t1 = s1[0] + s1[1];
    const calls = perf ? await perf.stop() : null;
    if (profile) await new Promise((r) => { profile.on('exit', r); profile.kill('SIGINT'); });
    await sleep(500);
    const afterKb = status(target.pid, 'VmRSS');
    const ok = results.filter((r) => r.status === 200 && !r.error);
    const why = {};
    for (const r of results) if (r.status !== 200 || r.error) why[r.error || r.status] = (why[r.error || r.status] || 0) + 1;
    if (Object.keys(why).length) console.log(`  failed: ${JSON.stringify(why)}`);
    const chunks = results.reduce((a, r) => a + r.events, 0);
    const gapAt = ok.map((r) => longestGapAt(r.times));
    const gaps = ok.map((r, i) => gapEndingAt(r.times, gapAt[i]));
    const worst = Math.max(0, ...gaps);
    const sources = ok.flatMap((r, i) => (gaps[i] > 2 * INTERVAL ? [stallSource(r, gapAt[i])] : []));
    const stalls = sources.length;
    const fromUpstream = sources.filter((x) => x === 'upstream').length;
    const fromClient = sources.filter((x) => x === 'client').length;
    // Each content chunk's time from the mock's write to the client's read.
    const transit = ok.flatMap((r) => r.times.slice(0, CHUNKS).map((t, i) => t - r.sent[i]).filter((d) => d >= -1)).sort((a, b) => a - b);
    const waveBlocks = blocked.filter(([b]) => b >= waveStart);
    const clientLagMs = Math.max(0, ...waveBlocks.map(([b, e]) => e - b));
    const run = { target: target.name, wave: w, ok: ok.length, failed: STREAMS - ok.length, open_rss_kb: openKb,
      per_stream_kib: (openKb - target.idleKb) / STREAMS, worst_gap_ms: Math.round(worst), stalls,
      stalls_from_upstream: fromUpstream, stalls_from_client: fromClient, stalls_on_the_way: stalls - fromUpstream - fromClient, transit_ms: { p50: pct(transit, 50), p99: pct(transit, 99), max: transit.at(-1) || 0 },
      client_blocked_max_ms: clientLagMs,
      cpu_us_per_chunk: ((t1 - t0) * TICK_US) / Math.max(1, chunks), chunks,
      user_us_per_chunk: ((s1[0] - s0[0]) * TICK_US) / Math.max(1, chunks), sys_us_per_chunk: ((s1[1] - s0[1]) * TICK_US) / Math.max(1, chunks), after_rss_kb: afterKb,
      load: os.loadavg()[0] };
    report.runs.push(run);
    console.log(`${target.name.padEnd(8)} wave ${w}: ${ok.length}/${STREAMS} ok; RSS open ${openKb} kB (${run.per_stream_kib.toFixed(1)} KiB per stream); ` +
      `worst gap ${run.worst_gap_ms} ms, ${stalls} stalls (${fromUpstream} written late by the mock, ${fromClient} the client's own event loop, ` +
      `${run.stalls_on_the_way} on the way); ` +
      `mock to client p50/p99/max ${run.transit_ms.p50.toFixed(1)}/${run.transit_ms.p99.toFixed(1)}/${run.transit_ms.max.toFixed(0)} ms, ` +
      `client event loop's longest block ${clientLagMs ? `${clientLagMs.toFixed(0)} ms` : 'none over 50 ms'}; ${run.cpu_us_per_chunk.toFixed(1)} us CPU per chunk ` +
      `(user ${run.user_us_per_chunk.toFixed(1)}, sys ${run.sys_us_per_chunk.toFixed(1)}); RSS after ${afterKb} kB (load ${run.load.toFixed(1)})`);
    const longBlocks = waveBlocks.filter(([b, e]) => e - b > 500);
    if (longBlocks.length) console.log(`  the client's event loop blocked: ${longBlocks.map(([b, e]) => `${Math.round(e - b)} ms at +${((b - waveStart) / 1000).toFixed(1)} s`).join(', ')}`);
    if (calls) {
      run.syscalls_per_chunk = Object.fromEntries(Object.entries(calls).sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, Number((v / Math.max(1, chunks)).toFixed(3))]));
      console.log(`  ${target.name} per chunk (perf stat, streams' setup included): ` +
        Object.entries(run.syscalls_per_chunk).filter(([, v]) => v >= 0.005).map(([k, v]) => `${k} ${v}`).join(', '));
    }
  }
}
// Per stream and CPU per chunk wave by wave, and their spread: one wave's figure depends on
// the moment RSS is read (issue 18: the same binary read 14.4 and 18.9 KiB in two waves).
for (const target of targets) {
  const runs = report.runs.filter((r) => r.target === target.name);
  const spread = (k, d) => { const xs = runs.map((r) => r[k]); return `${xs.map((x) => x.toFixed(d)).join(' / ')} (min ${Math.min(...xs).toFixed(d)}, max ${Math.max(...xs).toFixed(d)})`; };
  console.log(`${target.name.padEnd(8)} per wave: KiB per stream ${spread('per_stream_kib', 1)}; us CPU per chunk ${spread('cpu_us_per_chunk', 1)}`);
}
if (ngx) {
  const per = (name) => report.runs.filter((r) => r.target === name);
  const t = per('tollgate'), n = per('nginx');
  console.log(`tollgate / nginx per wave: CPU per chunk ${t.map((r, i) => (r.cpu_us_per_chunk / n[i].cpu_us_per_chunk).toFixed(2) + 'x').join(' / ')}; ` +
    `KiB per stream ${t.map((r, i) => (r.per_stream_kib / n[i].per_stream_kib).toFixed(2) + 'x').join(' / ')}`);
}
await sleep(SETTLE_S * 1000);
report.settled_rss_kb = status(pid, 'VmRSS');
console.log(`RSS ${SETTLE_S} s after the last wave: tollgate ${report.settled_rss_kb} kB (idle ${idleKb} kB)` +
  (ngx ? `, nginx ${status(ngx.pid, 'VmRSS')} kB (idle ${ngx.idleKb} kB)` : ''));
console.log(`STREAMJSON ${JSON.stringify(report)}`);
stopAll();
fs.rmSync(dir, { recursive: true, force: true });
process.exit(0);
