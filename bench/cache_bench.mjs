// Response cache benchmark: latency and gateway CPU of a hit against a miss on the OpenAI fast
// path (mock upstream on loopback answering at once), exact and semantic (a paraphrase: one
// embedding call through the gateway's own path to the mock, an index search, the replay),
// and the gateway's resident memory per 10,000 stored entries of each. Sequential requests,
// one connection: the figures are per request, not throughput.
//
//   cd tests && TOLLGATE_BIN=$PWD/../build/tollgate node ../bench/cache_bench.mjs [N=2000] [ENTRIES=10000]
import fs from 'node:fs';
import { cleanupScope, makeTempDir, processConfig, startGateway, startMock, writeConfig } from '../tests/integration/harness.mjs';

const N = Number(process.argv[2] ?? 2000);
const ENTRIES = Number(process.argv[3] ?? 10000);
const KEY = 'tg-bench-cache-0123456789abcdef';
const scope = cleanupScope();
try {
  const mock = await startMock(scope);
  const dir = await makeTempDir(scope);
  const resources = {
    providers: [{ name: 'openai', kind: 'openai', base_url: mock.baseURL, api_key: mock.apiKey }],
    cache_policies: [
      { name: 'exact', ttl_s: 3600, max_bytes: 1 << 30 },
      { name: 'similar', mode: 'semantic', embedding_model: 'embed', threshold: 0.93, ttl_s: 3600, max_bytes: 1 << 30 },
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
  const gw = await startGateway(scope, { configPath });
  const pid = gw.proc.pid;
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
    const c0 = cpuMs();
    for (const b of bodies) {
      const r = await post(b);
      lat.push(r.ms);
      seen[r.cache] = (seen[r.cache] ?? 0) + 1;
    }
    const cpu = ((cpuMs() - c0) * 1000) / bodies.length;
    lat.sort((a, b) => a - b);
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(3);
    console.log(`${name.padEnd(14)} n=${bodies.length} p50=${q(0.5)} ms p99=${q(0.99)} ms gateway CPU=${cpu.toFixed(1)} us/request ${JSON.stringify(seen)}`);
  };
  for (let i = 0; i < 200; i++) await post(body('plain', i)); // warm up
  await run('no policy', Array.from({ length: N }, (_, i) => body('plain', 1e6 + i)));
  await run('miss', Array.from({ length: N }, (_, i) => body('cached', i)));
  const check = await post(body('cached', 0));
  if (check.cache !== 'hit') throw new Error(`expected a hit, got ${check.cache}`);
  await run('hit', Array.from({ length: N }, (_, i) => body('cached', i)));
  // Semantic: a miss embeds, searches and stores; a paraphrase ("Please, ...": ~0.96 similar
  // in the mock's bag of words, the other questions ~0.82) embeds, searches and replays.
  await run('semantic miss', Array.from({ length: N }, (_, i) => body('similar', i)));
  await run('semantic hit', Array.from({ length: N }, (_, i) => body('similar', i, 'Please, ')));

  for (const model of ['cached', 'similar']) {
    const before = rssKb();
    for (let i = 0; i < ENTRIES; i++) await post(body(model, 1e7 + i));
    const after = rssKb();
    console.log(`memory (${model}): +${after - before} KiB RSS for ${ENTRIES} entries (${(((after - before) * 1024) / ENTRIES).toFixed(0)} B/entry, answer ~${JSON.stringify((await (await fetch(`${gw.baseURL}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: body(model, 1e7) })).json())).length} B of JSON)`);
  }
} finally {
  await scope.run();
}
