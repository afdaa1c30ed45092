// Time to the first text event of a Responses API stream: the fast path (OpenAI-speaking
// provider, bytes forwarded) next to the translated path (an Anthropic provider: Messages
// events -> canonical chunks -> Responses events), each against the mock it talks to directly.
// Sequential streams on one keep-alive connection; the gateway's added time is gateway - direct.
// The fast path once more with store: true: the answer is then kept (under OpenAI's id) once its
// last event is out, which shows in the time to the stream's end, not to its first event.
//
// Usage: TOLLGATE_BIN=build/tollgate node bench/responses_ttfe.mjs [--n 200] [--warmup 20]
// Needs tests/node_modules (make deps-test). Prints one JSON line per path.

import http from 'node:http';
import { KEYS, startGateway, writeConfig, makeTempDir, cleanupScope } from '../tests/integration/harness.mjs';
import { startOpenAIMock } from '../tests/mocks/openai-mock.mjs';
import { startAnthropicMock } from '../tests/mocks/anthropic-mock.mjs';

const args = process.argv.slice(2);
const opt = (k, d) => (args.includes(k) ? Number(args[args.indexOf(k) + 1]) : d);
const N = opt('--n', 200), WARMUP = opt('--warmup', 20);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// One stream: microseconds from writing the request to the first chunk holding `marker`, and
// to the stream's end.
function once(url, headers, body, marker) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    let first = null;
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.on('data', (d) => {
        if (first === null && d.includes(marker)) first = Number(process.hrtime.bigint() - t0) / 1000;
      });
      res.on('end', () => resolve(res.statusCode === 200 && first !== null ? { first, end: Number(process.hrtime.bigint() - t0) / 1000 } : null));
    });
    req.on('error', () => resolve(null));
    req.end(JSON.stringify(body));
  });
}

async function measure(label, url, headers, body, marker) {
  for (let i = 0; i < WARMUP; i++) await once(url, headers, body, marker);
  const xs = [], ends = [];
  let errors = 0;
  for (let i = 0; i < N; i++) {
    const t = await once(url, headers, body, marker);
    if (t === null) errors++;
    else {
      xs.push(t.first);
      ends.push(t.end);
    }
  }
  xs.sort((a, b) => a - b);
  ends.sort((a, b) => a - b);
  const p = (q, v = xs) => Math.round(v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? -1);
  const line = { label, n: xs.length, errors, ttfe_p50_us: p(0.5), ttfe_p90_us: p(0.9), ttfe_p99_us: p(0.99), end_p50_us: p(0.5, ends) };
  console.log(JSON.stringify(line));
  return line;
}

const scope = cleanupScope();
try {
  const oai = await startOpenAIMock();
  const ant = await startAnthropicMock();
  scope.after(() => oai.close());
  scope.after(() => ant.close());
  const dir = await makeTempDir(scope, 'tollgate-bench-');
  const { configPath } = await writeConfig(dir, {
    tollgate: { listen: { proxy: '127.0.0.1:0', admin: '127.0.0.1:0' }, store: { kind: 'file', path: 'resources.yaml' }, workers: 1, demo: false, log: { access_log: false } },
    resources: {
      providers: [
        { name: 'oai', kind: 'openai', base_url: oai.baseURL, api_key: oai.apiKey },
        { name: 'ant', kind: 'anthropic', base_url: ant.url, api_key: ant.apiKey },
      ],
      models: [
        { name: 'fast', targets: [{ provider: 'oai', model: 'gpt-4o' }] },
        { name: 'translated', targets: [{ provider: 'ant', model: 'claude-sonnet-4-5' }] },
      ],
      keys: [{ name: 'bench', key: KEYS.all, models: ['fast', 'translated'] }],
    },
  });
  const gw = await startGateway(scope, { configPath });
  const gwAuth = { authorization: `Bearer ${KEYS.all}` };
  const rbody = (model) => ({ model, stream: true, store: false, input: 'Say hello in a few tokens.' });
  await measure('openai-mock direct (/v1/responses)', `${oai.baseURL}/responses`, { authorization: `Bearer ${oai.apiKey}` }, rbody('gpt-4o'), 'response.output_text.delta');
  await measure('gateway fast path (Responses -> OpenAI)', `${gw.baseURL}/responses`, gwAuth, rbody('fast'), 'response.output_text.delta');
  await measure('gateway fast path, store: true (kept under OpenAI\'s id)', `${gw.baseURL}/responses`, gwAuth, { ...rbody('fast'), store: true }, 'response.output_text.delta');
  await measure('anthropic-mock direct (/v1/messages)', `${ant.url}/v1/messages`, { 'x-api-key': ant.apiKey, 'anthropic-version': '2023-06-01' },
    { model: 'claude-sonnet-4-5', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Say hello in a few tokens.' }] }, 'text_delta');
  await measure('gateway translated (Responses -> Anthropic)', `${gw.baseURL}/responses`, gwAuth, rbody('translated'), 'response.output_text.delta');
} finally {
  await scope.run();
  agent.destroy();
}
