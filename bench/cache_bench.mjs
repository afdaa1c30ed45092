// Response cache benchmark: latency and gateway CPU of a hit against a miss on the OpenAI fast
// path (mock upstream on loopback answering at once), exact and semantic (a paraphrase: one
// embedding call through the gateway's own path to the mock, an index search, the replay),
// and the gateway's resident memory per 10,000 stored entries of each. Sequential requests,
// one connection: the figures are per request, not throughput.
//
//   cd tests && TOLLGATE_BIN=$PWD/../build/tollgate node ../bench/cache_bench.mjs [N=2000] [ENTRIES=10000]
//
// With CACHE_BENCH_CALLGRIND=1 the gateway runs under callgrind and each path also reports the
// instructions it executed per request (every thread of the gateway: load does not move it);
// memory is then left out (valgrind's own) and N of a few hundred is enough.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cleanupScope, makeTempDir, processConfig, sleep, startGateway, startMock, writeConfig } from '../tests/integration/harness.mjs';

const N = Number(process.argv[2] ?? 2000);
const ENTRIES = Number(process.argv[3] ?? 10000);
const KEY = 'tg-bench-cache-0123456789abcdef';
const CALLGRIND = process.env.CACHE_BENCH_CALLGRIND === '1';
const scope = cleanupScope();

// The gateway under callgrind (the harness's start timeout is too short for valgrind).
async function startUnderCallgrind(configPath, dir) {
  const bin = process.env.TOLLGATE_BIN || path.resolve('../build/tollgate');
  const proc = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${dir}/cg.out`, '--dump-instr=no', bin, 'serve', '--config', configPath],
    { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
  scope.after(async () => {
    proc.kill('SIGTERM');
    await new Promise((resolve) => (proc.exitCode !== null ? resolve() : proc.on('exit', resolve)));
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  for (let waited = 0; ; waited += 100) {
    const m = /listening proxy=(\S+):(\d+)/.exec(out);
    if (m) return { proc, baseURL: `http://${m[1]}:${m[2]}/v1` };
    if (waited > 300_000 || proc.exitCode !== null) throw new Error(`no listening line under callgrind:\n${out}`);
    await sleep(100);
  }
}

try {
  const mock = await startMock(scope);
  const dir = await makeTempDir(scope);
  const resources = {
    providers: [{ name: 'openai', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
    cache_policies: [
      { name: 'exact', ttl_s: 3600, max_bytes: 1 << 30 },
      { name: 'similar', mode: 'semantic', embedding_model: 'embed', threshold: 0.93, ttl_s: 3600, max_bytes: 1 << 30,
        max_entries: 1_000_000 },
    ],
    models: [
      { name: 'cached', targets: [{ provider: 'openai', model: 'gpt-4o' }], cache: 'exact' },
      { name: 'similar', targets: [{ provider: 'openai', model: 'gpt-4o' }], cache: 'similar' },
      { name: 'embed', targets: [{ provider: 'openai', model: 'text-embedding-3-small' }] },
      { name: 'plain', targets: [{ provider: 'openai', model: 'gpt-4o' }] },
    ],
    keys: [{ name: 'bench', key: KEY }],
  };
  const tollgate = processConfig({ workers: 1, extra: { log: { access_log: false } } });
  const { configPath } = await writeConfig(dir, { tollgate, resources });
  const gw = CALLGRIND ? await startUnderCallgrind(configPath, dir) : await startGateway(scope, { configPath });
  const pid = gw.proc.pid;
  // Instructions since the last zeroing, every thread: a dump, then its totals line.
  const cgZero = () => execFileSync('callgrind_control', ['-z', String(pid)]);
  const cgInstructions = async () => {
    await sleep(300);  // what the requests left to the writer threads
    execFileSync('callgrind_control', ['-d', String(pid)]);
    const dumps = fs.readdirSync(dir).filter((f) => f.startsWith('cg.out.')).map((f) => path.join(dir, f));
    const newest = dumps.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
    return Number(/^(?:summary|totals): (\d+)/m.exec(fs.readFileSync(newest, 'utf8'))[1]);
  };
  const cpuMs = () => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, USER_HZ 100
  };
  const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  const body = (model, i, lead = '') => JSON.stringify({ model, temperature: 0, max_tokens: 64,
    messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: `${lead}What is the capital of country number ${i}, code ${i * 7 + 3}? Answer briefly.` }] });
  const post = async (b) => {
    const t0 = process.hrtime.bigint();
    const r = await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: b });
    await r.text();
    return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cache: r.headers.get('x-tollgate-cache') };
  };
  const run = async (name, bodies) => {
    const lat = [];
    const seen = {};
    if (CALLGRIND) cgZero();
    const c0 = cpuMs();
    for (const b of bodies) {
      const r = await post(b);
      lat.push(r.ms);
      seen[r.cache] = (seen[r.cache] ?? 0) + 1;
    }
    const cpu = ((cpuMs() - c0) * 1000) / bodies.length;
    const ir = CALLGRIND ? ` Ir=${Math.round((await cgInstructions()) / bodies.length)}/request` : '';
    lat.sort((a, b) => a - b);
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(3);
    console.log(`${name.padEnd(14)} n=${bodies.length} p50=${q(0.5)} ms p99=${q(0.99)} ms gateway CPU=${cpu.toFixed(1)} us/request${ir} ${JSON.stringify(seen)}`);
  };
  for (let i = 0; i < (CALLGRIND ? 50 : 200); i++) await post(body('plain', i)); // warm up
  for (let i = 0; i < 5; i++) await post(body('similar', 2e7 + i)); // the first graph and embedding calls
  await run('no policy', Array.from({ length: N }, (_, i) => body('plain', 1e6 + i)));
  await run('miss', Array.from({ length: N }, (_, i) => body('cached', i)));
  const check = await post(body('cached', 0));
  if (check.cache !== 'hit') throw new Error(`expected a hit, got ${check.cache}`);
  await run('hit', Array.from({ length: N }, (_, i) => body('cached', i)));
  // Semantic: a miss embeds, searches and stores; a paraphrase ("Please, ...": ~0.96 similar
  // in the mock's bag of words, the other questions ~0.82) embeds, searches and replays.
  await run('semantic miss', Array.from({ length: N }, (_, i) => body('similar', i)));
  await run('semantic hit', Array.from({ length: N }, (_, i) => body('similar', i, 'Please, ')));

  // Memory: one partition (single-turn questions), then one partition per entry (a distinct
  // earlier turn each: conversations), where a partition's fixed cost shows.
  const convo = (i) => JSON.stringify({ model: 'similar', temperature: 0, max_tokens: 64, messages: [
    { role: 'user', content: `Conversation ${i} opener.` }, { role: 'assistant', content: 'Go on.' },
    { role: 'user', content: `What is the capital of country number ${i}? Answer briefly.` }] });
  const cases = [['cached', (i) => body('cached', 1e7 + i)], ['similar', (i) => body('similar', 1e7 + i)], ['similar, a partition each', convo]];
  for (const [name, make] of CALLGRIND ? [] : cases) {
    const before = rssKb();
    for (let i = 0; i < ENTRIES; i++) await post(make(i));
    const after = rssKb();
    console.log(`memory (${name}): +${after - before} KiB RSS for ${ENTRIES} entries (${(((after - before) * 1024) / ENTRIES).toFixed(0)} B/entry, answer ~${JSON.stringify((await (await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: make(0) })).json())).length} B of JSON)`);
  }
} finally {
  await scope.run();
}
