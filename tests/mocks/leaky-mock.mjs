// A careless provider: it echoes the credentials it was sent back in its error answers, in the
// error envelope of whichever provider dialect the request came in (OpenAI, Azure OpenAI,
// Anthropic, Gemini, Bedrock). Real providers and the proxies in front of them do this:
// OpenAI's "Incorrect API key provided: sk-abc*****wxyz", AWS's "Authorization=AWS4-HMAC-SHA256
// Credential=AKIA...", debug pages of a misconfigured edge that dump the request headers. A
// gateway must not pass what they say about its credentials on to its callers, logs or records.
//
// The credentials seen are every value of authorization, x-api-key, api-key, x-goog-api-key,
// x-amz-security-token, any header whose name holds key/token/secret/auth, and `?key=`.
//
// Behaviour chosen by the (upstream) model name, wherever the dialect puts it (body `model`,
// Azure deployment, Gemini or Bedrock path):
//   leak-401, leak-403, leak-429 (retry-after: 1), leak-500
//                         that status, the dialect's JSON error envelope, the full credentials
//                         in the message
//   leak-partial-401      401 with the credential shown as OpenAI shows it (3 first, 4 last)
//   leak-text-401         401 text/plain "Unauthorized: <credentials>"
//   leak-html-502         502 text/html: an edge's debug page dumping the request headers
//   leak-stream-error     a 200 stream, one content event, then the dialect's in-stream error
//                         event carrying the credentials (Bedrock: a 500, as above)
//   anything else         OpenAI / Azure chat completions: "Echo: <last user text>" (stream
//                         or not), any key accepted; other dialects: 404
//
// Test hooks: `requests` (method, path, model, dialect, creds), `sawCredential(value)`,
// `reset()`; GET /__mock/requests.
//
// Standalone: node tests/mocks/leaky-mock.mjs --port 0 prints "mock listening on PORT".

import { readBody, runStandalone, serveMock } from './mock-server.mjs';

const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-amz-security-token']);

function credentialsOf(req, url) {
  const out = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (CREDENTIAL_HEADERS.has(name) || /key|token|secret|auth/.test(name)) out.push(String(value));
  }
  const q = url.searchParams.get('key');
  if (q) out.push(q);
  return out;
}

/** The dialect and upstream model of a request, from its path (and body for OpenAI / Anthropic). */
function classify(url, body) {
  let m;
  if ((m = /^\/openai\/deployments\/([^/]+)\//.exec(url.pathname))) return { dialect: 'azure', model: decodeURIComponent(m[1]) };
  if ((m = /^\/v1beta\/models\/([^:]+):(\w+)/.exec(url.pathname))) return { dialect: 'gemini', model: decodeURIComponent(m[1]), stream: m[2] === 'streamGenerateContent' };
  if ((m = /^\/model\/([^/]+)\/(converse(?:-stream)?)$/.exec(url.pathname))) return { dialect: 'bedrock', model: decodeURIComponent(m[1]) };
  if (url.pathname === '/v1/messages') return { dialect: 'anthropic', model: String(body?.model ?? '') };
  return { dialect: 'openai', model: String(body?.model ?? '') };
}

function errorType(status) {
  return status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** The dialect's JSON error envelope for `status` saying `message`; returns [headers, body]. */
function envelope(dialect, status, message) {
  switch (dialect) {
    case 'anthropic':
      return [{}, { type: 'error', error: { type: errorType(status), message } }];
    case 'gemini': {
      const s = { 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 429: 'RESOURCE_EXHAUSTED' }[status] ?? 'INTERNAL';
      return [{}, { error: { code: status, message, status: s } }];
    }
    case 'bedrock': {
      const t = { 401: 'UnrecognizedClientException', 403: 'AccessDeniedException', 429: 'ThrottlingException' }[status] ?? 'InternalServerException';
      return [{ 'x-amzn-errortype': `${t}:http://internal.amazon.com/coral/com.amazon.bedrock/` }, { message }];
    }
    case 'azure':
      return [{}, { error: { code: String(status), message } }];
    default:
      return [{}, { error: { message, type: status === 401 ? 'invalid_request_error' : errorType(status), param: null, code: status === 401 ? 'invalid_api_key' : null } }];
  }
}

function lastUserText(messages) {
  const last = [...(messages ?? [])].reverse().find((m) => m?.role === 'user');
  const c = last?.content;
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.filter((p) => p?.type === 'text').map((p) => p.text).join(' ');
  return '';
}

export async function startLeakyMock({ port = 0, host = '127.0.0.1' } = {}) {
  const requests = [];

  function send(res, status, headers, body) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  function handle(req, res, raw) {
    const url = new URL(req.url, 'http://leaky');
    if (req.method === 'GET' && url.pathname === '/__mock/requests') return send(res, 200, {}, { requests });
    let body = null;
    try {
      body = raw ? JSON.parse(raw) : null;
    } catch {
      // a body the gateway should never send; answered like any other
    }
    const { dialect, model, stream: geminiStream } = classify(url, body);
    const creds = credentialsOf(req, url);
    const record = { method: req.method, path: url.pathname, dialect, model, creds, status: 0 };
    requests.push(record);
    const said = creds.join(', ') || '(none)';
    const answer = (status, message, extra = {}) => {
      record.status = status;
      const [h, b] = envelope(dialect, status, message);
      send(res, status, { ...h, ...extra }, b);
    };

    if (model.includes('leak-partial-401')) {
      const shown = creds.map((c) => `${c.replace(/^Bearer /, '').slice(0, 3)}*****${c.slice(-4)}`).join(', ');
      return answer(401, `Incorrect API key provided: ${shown}. You can find your API key at https://platform.example/account/api-keys.`);
    }
    if (model.includes('leak-401')) return answer(401, `Incorrect API key provided: ${said}. You can find your API key at https://platform.example/account/api-keys.`);
    if (model.includes('leak-403')) return answer(403, `The credentials ${said} are not allowed to use model ${model}.`);
    if (model.includes('leak-429')) return answer(429, `Rate limit reached for the organization of key ${said}.`, { 'retry-after': '1' });
    if (model.includes('leak-500')) return answer(500, `Internal error while checking the key ${said}. Please retry.`);
    if (model.includes('leak-text-401')) {
      record.status = 401;
      return send(res, 401, { 'content-type': 'text/plain' }, `Unauthorized: ${said}\n`);
    }
    if (model.includes('leak-html-502')) {
      record.status = 502;
      const dump = Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`).join('\n');
      return send(res, 502, { 'content-type': 'text/html' },
        `<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><pre>${req.method} ${req.url}\n${dump}</pre></body></html>\n`);
    }
    if (model.includes('leak-stream-error')) {
      if (dialect === 'bedrock') return answer(500, `Stream failed for the key ${said}.`);
      record.status = 200;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      if (dialect === 'anthropic') {
        const ev = (name, data) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
        ev('message_start', { type: 'message_start', message: { id: 'msg_leaky', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } });
        ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
        ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Echo' } });
        ev('error', { type: 'error', error: { type: 'overloaded_error', message: `Overloaded while serving the key ${said}.` } });
      } else if (dialect === 'gemini') {
        const ev = (data) => res.write(`data: ${JSON.stringify(data)}\r\n\r\n`);
        ev({ candidates: [{ content: { parts: [{ text: 'Echo' }], role: 'model' }, index: 0 }], usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } });
        ev({ error: { code: 500, message: `Internal error while serving the key ${said}.`, status: 'INTERNAL' } });
      } else {
        const base = { id: 'chatcmpl-leaky', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model };
        res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Echo' }, finish_reason: null }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ error: { message: `The server had an error serving the key ${said}.`, type: 'server_error', param: null, code: null } })}\n\n`);
      }
      return res.end();
    }

    if (dialect !== 'openai' && dialect !== 'azure') return answer(404, `No such model ${model}.`);
    if (geminiStream) return answer(404, 'unreachable');
    if (!/\/chat\/completions$/.test(url.pathname) || !body) return answer(404, `Invalid URL (${req.method} ${url.pathname})`);
    const text = `Echo: ${lastUserText(body.messages)}`;
    const words = (s) => s.split(/\s+/).filter(Boolean).length;
    const usage = { prompt_tokens: words(lastUserText(body.messages)), completion_tokens: words(text), total_tokens: words(lastUserText(body.messages)) + words(text) };
    const created = Math.floor(Date.now() / 1000);
    record.status = 200;
    if (body.stream !== true) {
      return send(res, 200, {}, {
        id: 'chatcmpl-leaky', object: 'chat.completion', created, model,
        choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }], usage,
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const base = { id: 'chatcmpl-leaky', object: 'chat.completion.chunk', created, model };
    const frame = (o) => res.write(`data: ${JSON.stringify(o)}\n\n`);
    frame({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    for (const piece of text.match(/\s*\S+/g)) frame({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] });
    frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    if (body.stream_options?.include_usage) frame({ ...base, choices: [], usage });
    res.end('data: [DONE]\n\n');
  }

  const served = await serveMock({
    port,
    host,
    handle: async (req, res) => handle(req, res, (await readBody(req)).toString('utf8')),
    fail: (res) => res.destroy(),
  });
  return {
    ...served,
    requests,
    /** True when some request carried `value` as (part of) a credential. */
    sawCredential: (value) => requests.some((r) => r.creds.some((c) => c.includes(value))),
    reset: () => (requests.length = 0),
  };
}

await runStandalone(import.meta.url, (opt) => startLeakyMock({ port: Number(opt('port', '0')) }));
