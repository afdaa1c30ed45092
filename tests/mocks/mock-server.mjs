// The HTTP plumbing every provider mock shares: the server and its shutdown, body reading, the
// test hooks, fault pacing (delays, streams written in 3-byte pieces) and the standalone entry;
// and the deterministic pieces more than one mock answers with (words, tokens, schema values).
// Nothing here speaks a provider's wire format: each mock keeps its own envelopes, headers and
// frames, so what a gateway sees from a mock stays what that provider sends.

import http from 'node:http';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A token is a whitespace-separated word, in every mock. */
export function countTokens(text) {
  if (typeof text !== 'string') return 0;
  return text.split(/\s+/).filter(Boolean).length;
}

/** "Echo: a b" -> ["Echo:", " a", " b"]; joining the pieces gives the text back. */
export function splitWords(text) {
  return text.match(/\s*\S+/g) ?? [];
}

/**
 * Deterministic float32-exact embedding of `text`: a hashed bag of words, so similar texts are
 * similar (the response cache's semantic tests rely on it). Each word (lowercased letters and
 * digits) adds +1 or -1 to one of `dims` buckets, both picked by its SHA-256; the sum is scaled
 * to unit length. Cosine similarity is then about (shared words) / sqrt(words a * words b):
 * "what is the capital of france" and "what is the capital of france please" score ~0.93,
 * texts with no word in common ~0. No words: the zero vector.
 */
export function bagOfWordsEmbedding(text, dims) {
  const out = new Array(dims).fill(0);
  for (const word of String(text).toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = crypto.createHash('sha256').update(word).digest();
    out[h.readUInt32LE(0) % dims] += h[4] & 1 ? 1 : -1;
  }
  const norm = Math.hypot(...out) || 1;
  return out.map((x) => Math.fround(x / norm));
}

/** A value that satisfies a (simple) JSON schema or a Gemini Schema (upper-case types); strings
 *  become `text`. */
export function valueForSchema(schema, text) {
  if (!schema || typeof schema !== 'object') return text;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const declared = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (declared === undefined && Array.isArray(schema.anyOf) && schema.anyOf.length) return valueForSchema(schema.anyOf[0], text);
  switch (String(declared ?? (schema.properties ? 'object' : 'string')).toLowerCase()) {
    case 'object': {
      const o = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) o[k] = valueForSchema(v, text);
      return o;
    }
    case 'array':
      return [valueForSchema(schema.items, text)];
    case 'integer':
    case 'number':
      return 42;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return text;
  }
}

export function randomId(prefix, len) {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.randomBytes(len);
  let s = '';
  for (let i = 0; i < len; i++) s += chars[bytes[i] % chars.length];
  return `${prefix}${s}`;
}

/** The page a CDN in front of a provider answers with a 502. */
const HTML_502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>cloudflare</center>
</body>
</html>
`;

export function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * The test hooks (no auth): GET /__mock/requests, GET /__mock/stats (when the mock keeps
 * stats), POST /__mock/reset. True when `pathname` was one of them and is answered.
 */
export function answerHook(req, res, pathname, { requests, stats, reset, sendJson }) {
  const route = `${req.method} ${pathname}`;
  if (route === 'GET /__mock/requests') sendJson(res, 200, requests);
  else if (stats && route === 'GET /__mock/stats') sendJson(res, 200, stats);
  else if (route === 'POST /__mock/reset') {
    reset();
    sendJson(res, 200, { ok: true });
  } else return false;
  return true;
}

/** The HTML 502 a CDN answers (`mock-html-502`). */
export function sendHtml502(res, record) {
  record.status = 502;
  res.writeHead(502, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(HTML_502) });
  res.end(HTML_502);
}

/** Waits `ms` (`mock-delay-<ms>`) or until the peer goes. True when the peer went. */
export async function delayUnlessClosed(res, ms, setTimer = setTimeout) {
  await new Promise((resolve) => {
    const t = setTimer(resolve, ms);
    res.on('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
  return res.destroyed;
}

/** Writes `frame` in 3-byte pieces 1 ms apart (`mock-fragmented-stream`: splits UTF-8 code points). */
export async function writeInPieces(res, frame) {
  const buf = Buffer.from(frame, 'utf8');
  for (let p = 0; p < buf.length && !res.destroyed; p += 3) {
    res.write(buf.subarray(p, p + 3));
    await sleep(1);
  }
}

/**
 * Starts an HTTP server on host:port (0 = any free port) that runs `handle(req, res)`. An error
 * escaping `handle` is answered by `fail(res, err)` (in the mock's own envelope), or ends the
 * response when its head is already out; with `log`, those `expected(err)` does not know are
 * printed. `close()` ends every open connection, so a teardown never waits for a hanging stream.
 */
export async function serveMock({ port, host, handle, fail, log = false, expected = () => false, keepAliveTimeout, onConnection }) {
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (log && !expected(err)) console.error('mock: handler error', err);
      if (!res.headersSent) fail(res, err);
      else res.destroy();
    });
  });
  if (keepAliveTimeout !== undefined) server.keepAliveTimeout = keepAliveTimeout;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection?.(socket);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = server.address().port;

  let closed = false;
  async function close() {
    if (closed) return;
    closed = true;
    const done = new Promise((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await done;
  }
  return { port: actualPort, url: `http://${host}:${actualPort}`, close };
}

/**
 * Run as a script (`node tests/mocks/x-mock.mjs --port 0 ...`): starts the mock that
 * `start(opt)` makes, with `opt(name, default)` reading `--name value`, prints
 * "mock listening on PORT" and stops on SIGTERM/SIGINT. Does nothing when imported.
 */
export async function runStandalone(moduleUrl, start) {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
  };
  const mock = await start(opt);
  console.log(`mock listening on ${mock.port}`);
  const stop = async () => {
    await mock.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
