// Time to first streamed chunk, over many sequential requests on one keep-alive connection.
//
// For each request: t0 just before the request is written; TTFC = arrival of the first SSE
// `data:` event carrying content ("tok0", which the mock writes immediately after its
// headers); and the arrival time of every later content chunk. The mock writes chunk k at
// about k*DELAY_MS, so a path that forwards chunks as they arrive shows TTFC << DELAY_MS and
// the last chunk at about (CHUNKS-1)*DELAY_MS; one that buffers shows TTFC >= DELAY_MS.
//
// Usage: node bench/ttfb.mjs --url http://127.0.0.1:P/v1/chat/completions --n 300 \
//          [--warmup 30] [--header 'authorization: Bearer X']... [--model bench-stream] [--label x]
// Prints one JSON line: {label, n, ttfc_p50_us, ttfc_p99_us, ..., errors}.

import http from 'node:http';

const args = process.argv.slice(2);
const headers = { 'content-type': 'application/json' };
let url = null, n = 300, warmup = 30, model = 'bench-stream', label = '';
for (let i = 0; i < args.length; i++) {
  const a = args[i], v = args[i + 1];
  if (a === '--url') { url = new URL(v); i++; }
  else if (a === '--n') { n = Number(v); i++; }
  else if (a === '--warmup') { warmup = Number(v); i++; }
  else if (a === '--model') { model = v; i++; }
  else if (a === '--label') { label = v; i++; }
  else if (a === '--header') { const k = v.indexOf(':'); headers[v.slice(0, k).trim().toLowerCase()] = v.slice(k + 1).trim(); i++; }
}
if (!url) { console.error('--url is required'); process.exit(2); }

const body = JSON.stringify({
  model, stream: true,
  messages: [{ role: 'system', content: 'You are a benchmark.' }, { role: 'user', content: 'Say hello in a few tokens.' }],
});
headers['content-length'] = Buffer.byteLength(body);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function once() {
  return new Promise((resolve) => {
    const arrivals = [];  // [us since t0, token index]
    let text = '', reads = 0, status = 0;
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers, agent }, (res) => {
      status = res.statusCode;
      res.on('data', (d) => {
        const t = Number(process.hrtime.bigint() - t0) / 1000;
        reads++;
        const s = d.toString('utf8');
        text += s;
        for (const m of s.matchAll(/"content":"tok(\d+) "/g)) arrivals.push([t, Number(m[1])]);
      });
      res.on('end', () => {
        const total = Number(process.hrtime.bigint() - t0) / 1000;
        resolve({ status, arrivals, total, reads, text });
      });
      res.on('error', () => resolve({ status: -1, arrivals, total: 0, reads, text }));
    });
    req.on('error', (e) => resolve({ status: -1, err: String(e), arrivals: [], total: 0, reads: 0, text: '' }));
    req.end(body);
  });
}

const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

const ttfc = [], last = [], totals = [], reads = [];
let errors = 0, usageLeaked = 0, noDone = 0, firstErr = '';
let maxTok = 0;
for (let i = 0; i < warmup + n; i++) {
  const r = await once();
  if (i < warmup) continue;
  if (r.status !== 200 || !r.arrivals.length) { errors++; if (!firstErr) firstErr = r.err || `status ${r.status}: ${r.text.slice(0, 200)}`; continue; }
  const first = r.arrivals.find(([, k]) => k === 0);
  if (!first) { errors++; continue; }
  ttfc.push(first[0]);
  const lastTok = r.arrivals.reduce((m, a) => (a[1] > m[1] ? a : m));
  maxTok = Math.max(maxTok, lastTok[1]);
  last.push(lastTok[0]);
  totals.push(r.total);
  reads.push(r.reads);
  if (/"usage"/.test(r.text)) usageLeaked++;
  if (!r.text.includes('data: [DONE]')) noDone++;
}
agent.destroy();
const round = (x) => (x == null ? null : Math.round(x));
console.log(JSON.stringify({
  label, n, errors, first_error: firstErr || undefined,
  ttfc_p50_us: round(pct(ttfc, 50)), ttfc_p99_us: round(pct(ttfc, 99)),
  last_chunk_p50_us: round(pct(last, 50)), total_p50_us: round(pct(totals, 50)),
  reads_p50: pct(reads, 50), chunks: maxTok + 1, usage_leaked: usageLeaked, missing_done: noDone,
}));
