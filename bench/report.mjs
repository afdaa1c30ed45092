// Turns the JSON lines run.sh collected into the Markdown report (printed to stdout).
// Usage: node bench/report.mjs results.jsonl --date D --nproc N --load-start L --load-end L ...
import fs from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
const meta = {};
for (let i = 0; i < rest.length; i += 2) meta[rest[i].replace(/^--/, '')] = rest[i + 1];
const rows = fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const by = Object.fromEntries(rows.map((r) => [r.name, r]));
const direct = by.direct, nginx = by.nginx;

const f0 = (x) => (x == null || Number.isNaN(x) ? '–' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x == null || Number.isNaN(x) ? '–' : x.toFixed(1));
const ms = (us) => (us == null || Number.isNaN(us) ? '–' : us >= 10000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} us`);
const mb = (kb) => (kb == null || !kb ? '–' : (kb / 1024).toFixed(1));
const errs = (w) => (w && w.errors ? Object.values(w.errors).reduce((a, b) => a + b, 0) : 0);
// CPU per request in microseconds: ticks * tick_us / requests.
const cpu = (r, ticks, n) => (r && n ? (ticks * r.tick_us) / n : null);
const cpuAt = (r, c) => (r && r[`wrk${c}`] ? cpu(r, r[`cpu_ticks${c}`], r[`wrk${c}`].requests) : null);
const cpuRate = (r) => (r && r.rate ? cpu(r, r.rate.cpu_ticks, r.rate.requests) : null);
const diff = (a, b) => (a == null || b == null ? null : a - b);
const added = (r, k) => (r && direct && r.rate && direct.rate && r.name !== 'direct' ? diff(r.rate[k], direct.rate[k]) : null);
const addedT = (r, k) => (r && direct && r.stream && direct.stream && r.name !== 'direct' ? diff(r.stream[k], direct.stream[k]) : null);

const out = [];
const p = (s = '') => out.push(s);
p(`# Tollgate benchmark — ${meta.date}`);
p();
p(`Machine: ${meta.nproc} cores, load average ${meta['load-start']} at start, ${meta['load-end']} at end. ` +
  `Tollgate: ${meta.tollgate}.`);
p(`Load: wrk -t2 -c16/-c64 -d${meta.duration}s closed loop; h2load --h1 -c${meta['h2-clients']} at ${meta.rate} req/s ` +
  `for ${meta.duration}s; streams: ${meta['ttfb-n']} sequential requests of ${meta.chunks} chunks, ${meta['delay-ms']} ms apart.`);
p('CPU/req is the target\'s own processes (utime+stime from /proc/PID/stat) over the requests of that run; ' +
  'for `direct` it is the mock\'s. Added = target minus direct.');
p();
p('## Non-stream (POST /v1/chat/completions)');
p();
p('| target | req/s c16 | req/s c64 | % nginx (c64) | wrk p50/p99 c64 | p50 / p99 @' + meta.rate + '/s | added p50 / p99 | CPU/req c64 | CPU/req @' + meta.rate + '/s | RSS idle MB | RSS load MB | peak MB | errors |');
p('|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
for (const r of rows) {
  if (r.skipped) { p(`| ${r.name} | skipped: ${r.skipped} |||||||||||| |`); continue; }
  const w16 = r.wrk16 || {}, w64 = r.wrk64 || {};
  const pct = nginx && nginx.wrk64 && r.name !== 'nginx' && r.name !== 'direct' ? `${f0((100 * w64.rps) / nginx.wrk64.rps)}%` : '';
  const e = errs(w16) + errs(w64) + (r.rate ? r.rate.requests - r.rate.ok : 0);
  p(`| ${r.name} | ${f0(w16.rps)} | ${f0(w64.rps)} | ${pct} | ${ms(w64.p50_us)} / ${ms(w64.p99_us)} | ` +
    `${ms(r.rate && r.rate.p50_us)} / ${ms(r.rate && r.rate.p99_us)} | ` +
    `${r.name === 'direct' ? '' : `${ms(added(r, 'p50_us'))} / ${ms(added(r, 'p99_us'))}`} | ` +
    `${f1(cpuAt(r, 64))} us | ${f1(cpuRate(r))} us | ${mb(r.rss_idle_kb)} | ${mb(r.rss_load_kb)} | ${mb(r.hwm_kb)} | ${e} |`);
}
p();
p('## Stream (time to first chunk)');
p();
p('| target | TTFC p50 / p99 | added p50 / p99 | last chunk p50 | chunks | reads/stream p50 | usage leaked | errors |');
p('|---|--:|--:|--:|--:|--:|--:|--:|');
for (const r of rows) {
  if (r.skipped || !r.stream) continue;
  const s = r.stream;
  p(`| ${r.name} | ${ms(s.ttfc_p50_us)} / ${ms(s.ttfc_p99_us)} | ` +
    `${r.name === 'direct' ? '' : `${ms(addedT(r, 'ttfc_p50_us'))} / ${ms(addedT(r, 'ttfc_p99_us'))}`} | ` +
    `${ms(s.last_chunk_p50_us)} | ${s.chunks} | ${s.reads_p50} | ${s.usage_leaked} | ${s.errors}${s.first_error ? ` (${s.first_error.slice(0, 60)})` : ''} |`);
}

const tg = by.tollgate;
if (tg && !tg.skipped && nginx && !nginx.skipped) {
  p();
  p('## Tollgate (fast path, workers 2, access log off) against the targets of issue 2');
  p();
  p('| target | measured | verdict |');
  p('|---|---|---|');
  const ok = (b) => (b == null ? '?' : b ? 'met' : '**missed**');
  const ratio = tg.wrk64.rps / nginx.wrk64.rps;
  const ratio16 = tg.wrk16.rps / nginx.wrk16.rps;
  p(`| throughput >= 70% of nginx | c64: ${f0(100 * ratio)}% (${f0(tg.wrk64.rps)} vs ${f0(nginx.wrk64.rps)} req/s); c16: ${f0(100 * ratio16)}% | ${ok(ratio >= 0.7 && ratio16 >= 0.7)} |`);
  const a99 = added(tg, 'p99_us'), n99 = added(nginx, 'p99_us');
  p(`| added p99 @${meta.rate}/s within 2x nginx | ${ms(a99)} vs nginx ${ms(n99)} (${f1(a99 / n99)}x) | ${ok(a99 <= 2 * Math.max(n99, 1))} |`);
  const ct = cpuAt(tg, 64), cn = cpuAt(nginx, 64);
  p(`| CPU/request within 2x nginx | c64: ${f1(ct)} us vs ${f1(cn)} us (${f1(ct / cn)}x); @${meta.rate}/s: ${f1(cpuRate(tg))} vs ${f1(cpuRate(nginx))} us | ${ok(ct <= 2 * cn)} |`);
  p(`| idle RSS < 10 MB | ${mb(tg.rss_idle_kb)} MB | ${ok(tg.rss_idle_kb < 10 * 1024)} |`);
  const t99 = addedT(tg, 'ttfc_p99_us'), t50 = addedT(tg, 'ttfc_p50_us');
  // Forwarded as they arrive: the first chunk comes well before the mock writes the second
  // (p50 under half the inter-chunk delay) and the chunks come in separate reads.
  const streamed = tg.stream && tg.stream.errors === 0 && tg.stream.ttfc_p50_us < Number(meta['delay-ms']) * 500 &&
    tg.stream.reads_p50 >= tg.stream.chunks;
  p(`| added time to first chunk < 200 us, chunks as they arrive | p50 ${ms(t50)}, p99 ${ms(t99)}; chunks forwarded one by one: ${streamed ? 'yes' : 'no'} | ${ok(t50 != null && t50 < 200 && streamed)} (p50)${t99 != null && t99 >= 200 ? ', p99 missed' : ''} |`);
}
const g0 = by['tollgate-2k'], g1 = by['tollgate-guard2k'];
if (g0 && g1 && !g0.skipped && !g1.skipped) {
  p();
  p('## Guardrails on a 2 KB prompt (PII redact + prompt-injection block + deny list, no hit)');
  p();
  p('| | without | with guardrails | added |');
  p('|---|--:|--:|--:|');
  const row = (label, a, b, fmt) => p(`| ${label} | ${fmt(a)} | ${fmt(b)} | ${fmt(diff(b, a))} |`);
  row(`p50 @${meta.rate}/s`, g0.rate && g0.rate.p50_us, g1.rate && g1.rate.p50_us, ms);
  row(`p99 @${meta.rate}/s`, g0.rate && g0.rate.p99_us, g1.rate && g1.rate.p99_us, ms);
  row('CPU/req c64', cpuAt(g0, 64), cpuAt(g1, 64), (x) => (x == null ? '–' : `${f1(x)} us`));
  row('req/s c64', g0.wrk64 && g0.wrk64.rps, g1.wrk64 && g1.wrk64.rps, f0);
}
if (meta.abnormal) {
  p();
  p(`**Abnormal exits after SIGTERM:** ${meta.abnormal} (see the target's stderr.log in the kept temp dir).`);
}
console.log(out.join('\n'));
