// Time to first streamed chunk of several targets, interleaved stream by stream (issue 18):
// stream k goes to every target in turn (the order rotated each k) before stream k+1, so all
// targets see the same moment of the host's load. Each target keeps its own keep-alive
// connection. Same measurement as ttfb.mjs: t0 just before the request is written, TTFC = the
// arrival of the first content chunk ("tok0").
//
//   node bench/ttfc_interleaved.mjs --n 400 --warmup 30 \
//     --target direct=http://127.0.0.1:P/v1/chat/completions \
//     --target 'tollgate=http://127.0.0.1:Q/v1/chat/completions|authorization: Bearer X'
//
// Prints one JSON line per target: {label, n, ttfc_p50_us, ttfc_p99_us, reads_p50, errors,
// usage_leaked, missing_done}.
import http from 'node:http';

const args = process.argv.slice(2);
let n = 400, warmup = 30, model = 'bench-stream';
const targets = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i], v = args[i + 1];
  if (a === '--n') { n = Number(v); i++; }
  else if (a === '--warmup') { warmup = Number(v); i++; }
  else if (a === '--model') { model = v; i++; }
  else if (a === '--target') {
    const eq = v.indexOf('=');
    const [url, ...hs] = v.slice(eq + 1).split('|');
    const headers = { 'content-type': 'application/json' };
    for (const h of hs) { const k = h.indexOf(':'); headers[h.slice(0, k).trim().toLowerCase()] = h.slice(k + 1).trim(); }
    targets.push({ label: v.slice(0, eq), url: new URL(url), headers, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }),
      ttfc: [], reads: [], errors: 0, usageLeaked: 0, noDone: 0, firstErr: '' });
    i++;
  }
}
if (!targets.length) { console.error('--target label=url is required'); process.exit(2); }

const body = JSON.stringify({
  model, stream: true,
  messages: [{ role: 'system', content: 'You are a benchmark.' }, { role: 'user', content: 'Say hello in a few tokens.' }],
});

function once(t) {
  return new Promise((resolve) => {
    let first = null, text = '', reads = 0, status = 0;
    const headers = { ...t.headers, 'content-length': Buffer.byteLength(body) };
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: t.url.hostname, port: t.url.port, path: t.url.pathname, method: 'POST', headers, agent: t.agent }, (res) => {
      status = res.statusCode;
      res.on('data', (d) => {
        const at = Number(process.hrtime.bigint() - t0) / 1000;
        reads++;
        const s = d.toString('utf8');
        text += s;
        if (first === null && s.includes('"content":"tok0 "')) first = at;
      });
      res.on('end', () => resolve({ status, first, reads, text }));
      res.on('error', () => resolve({ status: -1, first, reads, text }));
    });
    req.on('error', (e) => resolve({ status: -1, err: String(e), first: null, reads: 0, text: '' }));
    req.end(body);
  });
}

for (let k = 0; k < warmup + n; k++) {
  for (let j = 0; j < targets.length; j++) {
    const t = targets[(k + j) % targets.length];
    const r = await once(t);
    if (k < warmup) continue;
    if (r.status !== 200 || r.first === null) {
      t.errors++;
      if (!t.firstErr) t.firstErr = r.err || `status ${r.status}: ${r.text.slice(0, 200)}`;
      continue;
    }
    t.ttfc.push(r.first);
    t.reads.push(r.reads);
    if (/"usage"/.test(r.text)) t.usageLeaked++;
    if (!r.text.includes('data: [DONE]')) t.noDone++;
  }
}
const pct = (xs, p) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
for (const t of targets) {
  t.agent.destroy();
  console.log(JSON.stringify({ label: t.label, n, errors: t.errors, first_error: t.firstErr || undefined,
    ttfc_p50_us: Math.round(pct(t.ttfc, 50)), ttfc_p99_us: Math.round(pct(t.ttfc, 99)), reads_p50: pct(t.reads, 50),
    usage_leaked: t.usageLeaked, missing_done: t.noDone }));
}
