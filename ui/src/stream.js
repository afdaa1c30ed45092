// One streamed chat completion through the gateway, measured as the caller sees it.
//
// POST CHAT_PATH on the admin origin (the admin listener passes it to the proxy's
// /v1/chat/completions with the virtual key given), parse the SSE stream, call onDelta with
// each piece of text, and resolve to { text, ttftMs, latencyMs, usage, requestId, finish }.

export const CHAT_PATH = '/v1/chat/completions';

export class ChatError extends Error {
  constructor(message, status, requestId) {
    super(message);
    this.status = status;
    this.requestId = requestId;
  }
}

export async function streamChat({ key, body, onDelta, signal }) {
  const started = performance.now();
  let res;
  try {
    res = await fetch(CHAT_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, accept: 'text/event-stream' },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ChatError(`Cannot reach the gateway: ${err.message}`, 0, null);
  }
  const requestId = res.headers.get('x-request-id');
  if (!res.ok) {
    const text = await res.text();
    let msg = text.slice(0, 300) || res.statusText;
    try {
      const j = JSON.parse(text);
      if (j?.error?.message) msg = j.error.message;
    } catch {
      // not JSON: keep the text
    }
    if (res.status === 404 && !text.includes('"error"')) msg = `The admin listener does not serve ${CHAT_PATH} (HTTP 404).`;
    throw new ChatError(msg, res.status, requestId);
  }

  let text = '';
  let ttftMs = null;
  let usage = null;
  let finish = null;
  let model = null;
  const handle = (data) => {
    if (data === '[DONE]') return;
    let chunk;
    try {
      chunk = JSON.parse(data);
    } catch {
      return;
    }
    if (chunk.error) throw new ChatError(chunk.error.message || 'The stream failed.', res.status, requestId);
    if (chunk.usage) usage = chunk.usage;
    if (chunk.model) model = chunk.model;
    for (const c of chunk.choices ?? []) {
      const piece = c.delta?.content ?? c.delta?.refusal ?? '';
      if (c.finish_reason) finish = c.finish_reason;
      if (piece) {
        if (ttftMs === null) ttftMs = performance.now() - started;
        text += piece;
        onDelta?.(piece, text);
      }
    }
  };

  // A non-streamed answer (a provider that ignored stream: true) still works.
  const type = res.headers.get('content-type') || '';
  if (!type.includes('event-stream')) {
    const j = await res.json();
    const content = j.choices?.[0]?.message?.content ?? '';
    ttftMs = performance.now() - started;
    text = content;
    onDelta?.(content, content);
    return { text, ttftMs, latencyMs: performance.now() - started, usage: j.usage ?? null, requestId, finish: j.choices?.[0]?.finish_reason ?? null, model: j.model };
  }

  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let i;
    while ((i = buf.search(/\r?\n\r?\n/)) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(buf[i] === '\r' ? i + 4 : i + 2);
      const data = event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) handle(data);
    }
  }
  if (buf.trim()) {
    const data = buf
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data) handle(data);
  }
  return { text, ttftMs, latencyMs: performance.now() - started, usage, requestId, finish, model };
}

/** The snippets a run can be copied as; the key is left as an environment variable. */
export function snippets({ baseURL, body }) {
  const payload = { ...body, stream: true };
  const json = JSON.stringify(payload, null, 2);
  const curl = `curl ${baseURL}/chat/completions \\
  -H "Authorization: Bearer $TOLLGATE_KEY" \\
  -H "Content-Type: application/json" \\
  -N -d '${json.replace(/'/g, "'\\''")}'`;
  const pyArgs = Object.entries(payload)
    .map(([k, v]) => `    ${k}=${pyValue(v, 4)},`)
    .join('\n');
  const python = `import os
from openai import OpenAI

client = OpenAI(base_url="${baseURL}", api_key=os.environ["TOLLGATE_KEY"])
stream = client.chat.completions.create(
${pyArgs}
)
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        print(chunk.choices[0].delta.content, end="", flush=True)
`;
  const node = `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${baseURL}', apiKey: process.env.TOLLGATE_KEY });
const stream = await client.chat.completions.create(${json.replace(/\n/g, '\n')});
for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? '');
}
`;
  return { curl, python, node };
}

function pyValue(v, indent) {
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (v === null) return 'None';
  if (Array.isArray(v)) {
    const pad = ' '.repeat(indent + 4);
    return `[\n${v.map((x) => `${pad}${pyValue(x, indent + 4)},`).join('\n')}\n${' '.repeat(indent)}]`;
  }
  if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyValue(x, indent)}`).join(', ')}}`;
  return JSON.stringify(v);
}
