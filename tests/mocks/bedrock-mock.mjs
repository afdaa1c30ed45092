// A mock of AWS Bedrock Runtime (Converse and ConverseStream) that speaks Bedrock's wire format
// closely enough to catch what gateways get wrong:
//   - every request must carry a valid AWS Signature Version 4 (recomputed here with node:crypto
//     from the known test credentials: service "bedrock", the configured region, the canonical URI
//     encoded twice as the AWS SDKs do, x-amz-content-sha256 checked against the body, the clock
//     skew limited to 15 minutes); otherwise 403 with Bedrock's error shape
//     (MissingAuthenticationTokenException, UnrecognizedClientException, InvalidSignatureException);
//   - the Converse request is validated (roles alternate and start with user, blank text refused,
//     one member per content block, image formats, toolUse/toolResult need toolConfig, toolResult
//     ids answer the previous assistant turn's toolUse ids, unknown members refused);
//   - ConverseStream answers a real binary event stream (application/vnd.amazon.eventstream)
//     with correct CRC32s: messageStart, contentBlockStart (tool use only), contentBlockDelta,
//     contentBlockStop, messageStop, metadata; payloads carry the "p" padding member Bedrock adds.
//
// Routes (POST): /model/{modelId}/converse, /model/{modelId}/converse-stream
//
// Answers are deterministic functions of the request, so tests can assert exact content/usage:
//   - text is "Echo: <text of the last user turn>"; when the last user turn holds tool results it
//     is "Tool result: <text of the last toolResult>";
//   - with toolConfig (and no tool results in the last turn) the model calls the first tool (or
//     toolChoice.tool.name) with an input that fills each string property of its schema with the
//     last user text (numbers 1, booleans true); toolUseId "tooluse_mock_<n>";
//   - a token is a whitespace-separated word: inputTokens counts the words of every text block
//     (system included) and of tool inputs/results as JSON; outputTokens the answer's words (a tool
//     call: words of its input JSON + 1);
//   - inferenceConfig.maxTokens truncates the answer to that many words (stopReason max_tokens);
//     a stopSequence found in the answer cuts it there (stopReason stop_sequence).
//
// Behaviour chosen by the model id (or an `x-mock-behavior` header):
//   mock-error-<status>    Bedrock's error for that status (400 ValidationException, 403
//                          AccessDeniedException, 404 ResourceNotFoundException, 408
//                          ModelTimeoutException, 424 ModelErrorException, 429 ThrottlingException,
//                          500 InternalServerException, 503 ServiceUnavailableException)
//   mock-context-length    400 ValidationException "Input is too long for requested model."
//   mock-cached            of the N prompt tokens, floor(N/2) are cache reads (cacheReadInputTokens),
//                          min(3, the rest) cache writes (cacheWriteInputTokens), and inputTokens
//                          counts only what is left (as Bedrock does: the three add up to N)
//   mock-guardrail         stopReason guardrail_intervened with a canned text
//   mock-reasoning         a reasoningContent block ("Thinking about it.", signed) before the answer
//   mock-stream-exception  streams messageStart and one delta, then a throttlingException message
//   mock-fragmented-stream writes the event stream in 3-byte pieces (splits frames and UTF-8)
//   mock-bad-crc           the second frame's message CRC is wrong
//
// Test hooks (no auth): GET /__mock/requests, POST /__mock/reset.
//
// Standalone: node tests/mocks/bedrock-mock.mjs --port 0 [--region us-east-1]
//   [--access-key-id K --secret-access-key S] prints "mock listening on PORT".

import crypto from 'node:crypto';
import { directivesIn, toolsAsSaid } from './directives.mjs';
import { answerHook, countTokens, readBody, runStandalone, serveMock } from './mock-server.mjs';

export const DEFAULT_CREDENTIALS = {
  accessKeyId: 'AKIDMOCKBEDROCK',
  secretAccessKey: 'mock/Secret+Key/For/Bedrock/Tests0000000',
};
export const DEFAULT_REGION = 'us-east-1';
const MAX_SKEW_MS = 15 * 60 * 1000;
const ERROR_NAMESPACE = 'http://internal.amazon.com/coral/com.amazon.bedrock/';

// ---------------------------------------------------------------------------------------------
// AWS event stream encoding, exported for tests.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32(buf, crc = 0) {
  let c = ~crc >>> 0;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** One message with string headers ({name: value}) and a payload (string or Buffer). */
export function encodeFrame(headers, payload) {
  const parts = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, 'utf8');
    const v = Buffer.from(String(value), 'utf8');
    const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
    h.writeUInt8(n.length, 0);
    n.copy(h, 1);
    h.writeUInt8(7, 1 + n.length);
    h.writeUInt16BE(v.length, 2 + n.length);
    v.copy(h, 4 + n.length);
    parts.push(h);
  }
  const hdr = Buffer.concat(parts);
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const total = 16 + hdr.length + body.length;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(hdr.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  hdr.copy(out, 12);
  body.copy(out, 12 + hdr.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

/** Decodes a whole event-stream body into [{headers, payload}] (CRCs checked). For tests. */
export function decodeFrames(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    const total = buf.readUInt32BE(pos);
    const hlen = buf.readUInt32BE(pos + 4);
    if (crc32(buf.subarray(pos, pos + 8)) !== buf.readUInt32BE(pos + 8)) throw new Error('prelude CRC mismatch');
    if (crc32(buf.subarray(pos, pos + total - 4)) !== buf.readUInt32BE(pos + total - 4)) throw new Error('message CRC mismatch');
    const headers = {};
    let i = pos + 12;
    while (i < pos + 12 + hlen) {
      const nl = buf.readUInt8(i);
      const name = buf.toString('utf8', i + 1, i + 1 + nl);
      i += 1 + nl;
      const type = buf.readUInt8(i++);
      if (type !== 7) throw new Error(`header type ${type} not supported by this decoder`);
      const vl = buf.readUInt16BE(i);
      headers[name] = buf.toString('utf8', i + 2, i + 2 + vl);
      i += 2 + vl;
    }
    out.push({ headers, payload: buf.toString('utf8', pos + 12 + hlen, pos + total - 4) });
    pos += total;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// SigV4, recomputed the way AWS does, exported for tests.

const sha256hex = (data) => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data, 'utf8').digest();

function uriEncode(s, keepSlash) {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function canonicalQuery(query) {
  if (!query) return '';
  return query
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=');
      const k = eq < 0 ? p : p.slice(0, eq);
      const v = eq < 0 ? '' : p.slice(eq + 1);
      return [uriEncode(decodeURIComponent(k), false), uriEncode(decodeURIComponent(v), false)];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/**
 * The SigV4 signature (hex) of a request. `path` is the path as sent (percent-encoded), `headers`
 * a map of lower-case names to values, `signedHeaders` the names to sign.
 */
export function sigv4Signature({ method, path, query = '', headers, signedHeaders, body, secretAccessKey, region, service = 'bedrock', amzDate }) {
  const names = [...signedHeaders].map((n) => n.toLowerCase()).sort();
  const canonicalHeaders = names
    .map((n) => `${n}:${String(headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [
    method,
    uriEncode(path || '/', true), // the path as sent, encoded once more (every service but S3)
    canonicalQuery(query),
    canonicalHeaders,
    names.join(';'),
    sha256hex(body ?? ''),
  ].join('\n');
  const date = amzDate.slice(0, 8);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${secretAccessKey}`, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  return { signature: crypto.createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'), canonicalRequest, stringToSign };
}

// ---------------------------------------------------------------------------------------------
// Deterministic content, exported so tests compute the same expectations.

export { countTokens };

export function valueForSchema(schema, text) {
  if (!schema || typeof schema !== 'object') return text;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if (type === 'object' || schema.properties) {
    const out = {};
    for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = valueForSchema(v, text);
    return out;
  }
  if (type === 'array') return [valueForSchema(schema.items, text)];
  if (type === 'integer' || type === 'number') return 1;
  if (type === 'boolean') return true;
  return text;
}

class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

const ERROR_TYPES = {
  400: 'ValidationException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};
const ERROR_MESSAGES = {
  400: 'The provided request is not valid',
  403: "You don't have access to the model with the specified model ID.",
  404: 'The provided model identifier is invalid.',
  408: 'Model has timed out in processing the request. Try your request again.',
  424: 'Received error from model: internal failure',
  429: 'Too many requests, please wait before trying again.',
  500: 'The server encountered an internal error while processing the request.',
  503: 'Bedrock is unable to process your request.',
};

const REQUEST_KEYS = new Set(['messages', 'system', 'inferenceConfig', 'toolConfig', 'guardrailConfig',
  'additionalModelRequestFields', 'additionalModelResponseFieldPaths', 'promptVariables', 'requestMetadata',
  'performanceConfig']);
const BLOCK_KEYS = ['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent'];
const INFERENCE_KEYS = new Set(['maxTokens', 'temperature', 'topP', 'stopSequences']);
// The signature of every reasoning block this mock emits; replayed blocks must carry it.
export const REASONING_SIGNATURE = 'bW9jay1zaWduYXR1cmU=';
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);

// ---------------------------------------------------------------------------------------------

export async function startBedrockMock({
  accessKeyId = DEFAULT_CREDENTIALS.accessKeyId,
  secretAccessKey = DEFAULT_CREDENTIALS.secretAccessKey,
  sessionToken = null,
  region = DEFAULT_REGION,
  port = 0,
  host = '127.0.0.1',
  log = false,
  directives = false, // tools and reasoning only as the prompt says (directives.mjs)
} = {}) {
  const requests = [];
  let toolCalls = 0;

  function baseHeaders() {
    return { 'x-amzn-requestid': crypto.randomUUID(), date: new Date().toUTCString() };
  }

  function sendJson(res, status, obj, extra = {}) {
    const body = JSON.stringify(obj);
    res.writeHead(status, { ...baseHeaders(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }

  function sendError(res, err) {
    sendJson(res, err.status, { message: err.message }, { 'x-amzn-errortype': `${err.type}:${ERROR_NAMESPACE}` });
  }

  function checkSignature(req, rawPath, query, raw) {
    const auth = req.headers.authorization;
    if (!auth) throw new ApiError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new ApiError(403, 'IncompleteSignatureException', `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters. Authorization=${auth}`);
    const [, akid, date, scopeRegion, service, signedList, signature] = m;
    if (akid !== accessKeyId) throw new ApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    if (service !== 'bedrock') throw new ApiError(403, 'InvalidSignatureException', `Credential should be scoped to correct service: 'bedrock'.`);
    if (scopeRegion !== region) throw new ApiError(403, 'InvalidSignatureException', `Credential should be scoped to a valid region.`);
    const signed = signedList.split(';');
    for (const required of ['host', 'x-amz-date']) {
      if (!signed.includes(required)) throw new ApiError(403, 'InvalidSignatureException', `'${required}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
    const amzDate = req.headers['x-amz-date'] ?? '';
    const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
    if (!dm) throw new ApiError(403, 'IncompleteSignatureException', 'Date must be in ISO-8601 \'basic format\'.');
    if (amzDate.slice(0, 8) !== date) throw new ApiError(403, 'InvalidSignatureException', 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.');
    const when = Date.UTC(+dm[1], +dm[2] - 1, +dm[3], +dm[4], +dm[5], +dm[6]);
    if (Math.abs(Date.now() - when) > MAX_SKEW_MS) throw new ApiError(403, 'InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than the allowed window.`);
    const bodyHash = sha256hex(raw);
    const declared = req.headers['x-amz-content-sha256'];
    if (declared !== undefined && declared !== bodyHash) throw new ApiError(400, 'ValidationException', 'The provided x-amz-content-sha256 header does not match what was computed.');
    if (sessionToken != null) {
      if (req.headers['x-amz-security-token'] !== sessionToken || !signed.includes('x-amz-security-token'))
        throw new ApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const { signature: expected } = sigv4Signature({
      method: req.method, path: rawPath, query, headers: req.headers, signedHeaders: signed, body: raw,
      secretAccessKey, region, service: 'bedrock', amzDate,
    });
    if (expected !== signature) {
      throw new ApiError(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
    }
  }

  function invalid(message) {
    return new ApiError(400, 'ValidationException', message);
  }

  function textOfBlocks(blocks) {
    return (blocks ?? []).filter((b) => typeof b.text === 'string').map((b) => b.text).join('\n');
  }

  function validate(body) {
    for (const k of Object.keys(body)) if (!REQUEST_KEYS.has(k)) throw invalid(`Malformed input request: extraneous key [${k}] is not permitted, please reformat your input and try again.`);
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) throw invalid('A conversation must start with a user message. Try again with a conversation that starts with a user message.');
    let usesTools = false;
    let lastToolUseIds = [];
    messages.forEach((m, i) => {
      if (m.role !== 'user' && m.role !== 'assistant') throw invalid(`1 validation error detected: Value '${m.role}' at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`);
      if (i === 0 && m.role !== 'user') throw invalid('A conversation must start with a user message. Try again with a conversation that starts with a user message.');
      if (i > 0 && messages[i - 1].role === m.role) throw invalid('A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.');
      if (!Array.isArray(m.content) || m.content.length === 0) throw invalid(`The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`);
      const resultIds = [];
      m.content.forEach((b, j) => {
        const keys = BLOCK_KEYS.filter((k) => k in b);
        if (keys.length !== 1 || Object.keys(b).length !== 1) throw invalid(`The ContentBlock object at messages.${i}.content.${j} must contain exactly one of: ${BLOCK_KEYS.join(', ')}.`);
        if ('text' in b && (typeof b.text !== 'string' || b.text.trim() === '')) throw invalid(`The text field in the ContentBlock object at messages.${i}.content.${j} is blank. Add text to the text field, and try again.`);
        if ('image' in b) {
          if (!IMAGE_FORMATS.has(b.image?.format)) throw invalid(`The image format at messages.${i}.content.${j} is not supported.`);
          if (typeof b.image?.source?.bytes !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(b.image.source.bytes)) throw invalid(`The image bytes at messages.${i}.content.${j} are not valid base64.`);
        }
        if ('reasoningContent' in b) {
          // Replayed reasoning must be this mock's, as signed (Bedrock checks the model's signature).
          if (m.role !== 'assistant') throw invalid('reasoningContent blocks are only allowed in assistant messages.');
          const rt = b.reasoningContent.reasoningText;
          if (rt && rt.signature !== REASONING_SIGNATURE) throw invalid(`The reasoning signature at messages.${i}.content.${j} is invalid.`);
        }
        if ('toolUse' in b) {
          usesTools = true;
          if (m.role !== 'assistant') throw invalid('toolUse blocks are only allowed in assistant messages.');
          if (!/^[a-zA-Z0-9_-]+$/.test(b.toolUse.toolUseId ?? '')) throw invalid(`Value at 'messages.${i + 1}.member.content.${j + 1}.member.toolUse.toolUseId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+`);
          if (typeof b.toolUse.input !== 'object' || b.toolUse.input === null || Array.isArray(b.toolUse.input)) throw invalid('The toolUse input must be a JSON object.');
        }
        if ('toolResult' in b) {
          usesTools = true;
          if (m.role !== 'user') throw invalid('toolResult blocks are only allowed in user messages.');
          if (!Array.isArray(b.toolResult.content) || b.toolResult.content.length === 0) throw invalid(`The toolResult content at messages.${i}.content.${j} is empty.`);
          resultIds.push(b.toolResult.toolUseId);
        }
      });
      if (m.role === 'user' && lastToolUseIds.length) {
        const missing = lastToolUseIds.filter((id) => !resultIds.includes(id));
        if (missing.length) throw invalid(`Expected toolResult blocks at messages.${i}.content for the following Ids: ${missing.join(', ')}`);
      }
      if (m.role === 'user' && resultIds.some((id) => !lastToolUseIds.includes(id))) throw invalid(`messages.${i}.content: toolResult with an id that matches no toolUse of the previous turn.`);
      if (m.role === 'assistant') lastToolUseIds = m.content.filter((b) => b.toolUse).map((b) => b.toolUse.toolUseId);
      else lastToolUseIds = [];
    });
    if (usesTools && !body.toolConfig) throw invalid('The toolConfig field must be defined when using toolUse and toolResult content blocks.');
    if (body.system !== undefined) {
      if (!Array.isArray(body.system)) throw invalid('system must be a list.');
      body.system.forEach((b, j) => {
        if (!('text' in b) && !('cachePoint' in b) && !('guardContent' in b)) throw invalid(`system.${j} must be a text, guardContent or cachePoint block.`);
      });
    }
    for (const k of Object.keys(body.inferenceConfig ?? {})) if (!INFERENCE_KEYS.has(k)) throw invalid(`Malformed input request: extraneous key [inferenceConfig.${k}] is not permitted.`);
    if (body.toolConfig) {
      const tc = body.toolConfig;
      if (!Array.isArray(tc.tools) || tc.tools.filter((t) => t.toolSpec).length === 0) throw invalid('The value at toolConfig.tools must contain at least 1 toolSpec.');
      for (const t of tc.tools) {
        if (t.cachePoint) continue;
        if (!t.toolSpec?.name || typeof t.toolSpec?.inputSchema?.json !== 'object') throw invalid('Each toolSpec needs a name and inputSchema.json.');
      }
      if (tc.toolChoice) {
        const k = Object.keys(tc.toolChoice);
        if (k.length !== 1 || !['auto', 'any', 'tool'].includes(k[0])) throw invalid('toolChoice must have exactly one of auto, any, tool.');
        if (k[0] === 'tool' && !tc.tools.some((t) => t.toolSpec?.name === tc.toolChoice.tool.name)) throw invalid(`toolChoice.tool.name ${tc.toolChoice.tool.name} is not a declared tool.`);
      }
    }
  }

  // The answer: {blocks: [content blocks], stopReason, usage}.
  function answer(body, behavior) {
    const messages = body.messages;
    const last = messages[messages.length - 1];
    let inputTokens = countTokens(textOfBlocks(body.system));
    for (const m of messages) {
      for (const b of m.content) {
        if (typeof b.text === 'string') inputTokens += countTokens(b.text);
        if (b.toolUse) inputTokens += countTokens(JSON.stringify(b.toolUse.input));
        if (b.toolResult) inputTokens += countTokens(JSON.stringify(b.toolResult.content));
      }
    }
    const blocks = [];
    let stopReason = 'end_turn';
    let outputTokens = 0;
    // Directive mode (directives.mjs): only the tool the prompt names, and only once.
    const said = directives
      ? directivesIn(messages.filter((m) => m.role === 'user').map((m) => textOfBlocks(m.content)).join('\n'))
      : null;
    if (behavior === 'mock-reasoning' || said?.think) {
      const text = said?.think ?? 'Thinking about it.';
      blocks.push({ reasoningContent: { reasoningText: { text, signature: REASONING_SIGNATURE } } });
      outputTokens += countTokens(text);
    }
    const results = last.content.filter((b) => b.toolResult);
    const userText = textOfBlocks(last.content);
    let tools = (body.toolConfig?.tools ?? []).filter((t) => t.toolSpec);
    const answered = messages.some((m) => m.content.some((b) => b.toolResult));
    tools = toolsAsSaid(said, tools, (t) => t.toolSpec.name, answered);
    if (behavior === 'mock-guardrail') {
      blocks.push({ text: 'Sorry, the model cannot answer this question.' });
      stopReason = 'guardrail_intervened';
      outputTokens += 7;
    } else if (results.length === 0 && tools.length > 0) {
      const wanted = body.toolConfig.toolChoice?.tool?.name;
      const tool = tools.find((t) => t.toolSpec.name === wanted) ?? tools[0];
      const input = said?.args ?? valueForSchema(tool.toolSpec.inputSchema.json, userText);
      blocks.push({ toolUse: { toolUseId: `tooluse_mock_${++toolCalls}`, name: tool.toolSpec.name, input } });
      stopReason = 'tool_use';
      outputTokens += countTokens(JSON.stringify(input)) + 1;
    } else {
      let text = results.length
        ? `Tool result: ${textOfBlocks(results[results.length - 1].toolResult.content) || JSON.stringify(results[results.length - 1].toolResult.content)}`
        : `Echo: ${userText}`;
      for (const s of body.inferenceConfig?.stopSequences ?? []) {
        const at = text.indexOf(s);
        if (at >= 0) {
          text = text.slice(0, at);
          stopReason = 'stop_sequence';
        }
      }
      const max = body.inferenceConfig?.maxTokens;
      const words = text.split(/(\s+)/);
      if (max && countTokens(text) > max) {
        let n = 0;
        let out = '';
        for (const w of words) {
          if (w.trim()) {
            if (n === max) break;
            n++;
          }
          out += w;
        }
        text = out.trimEnd();
        stopReason = 'max_tokens';
      }
      blocks.push({ text });
      outputTokens += countTokens(text);
    }
    const usage = { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
    if (behavior === 'mock-cached') {
      // inputTokens counts only what was neither read from nor written to the cache.
      const read = Math.floor(inputTokens / 2);
      const write = Math.min(3, inputTokens - read);
      usage.inputTokens = inputTokens - read - write;
      usage.cacheReadInputTokens = read;
      usage.cacheWriteInputTokens = write;
    }
    return { blocks, stopReason, usage };
  }

  function padding(payload) {
    // Bedrock pads event payloads with a "p" member of varying length.
    const n = 1 + (JSON.stringify(payload).length % 23);
    return { ...payload, p: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.slice(0, n) };
  }

  function event(type, payload) {
    return encodeFrame({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(padding(payload)));
  }

  function exception(type, message) {
    return encodeFrame({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' }, JSON.stringify({ message }));
  }

  async function stream(res, result, behavior) {
    const frames = [event('messageStart', { role: 'assistant' })];
    result.blocks.forEach((b, index) => {
      if (b.text !== undefined) {
        const pieces = b.text.match(/\S+\s*|\s+/g) ?? [''];
        for (const piece of pieces) frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { text: piece } }));
      } else if (b.toolUse) {
        frames.push(event('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: b.toolUse.toolUseId, name: b.toolUse.name } } }));
        const json = JSON.stringify(b.toolUse.input);
        for (let i = 0; i < json.length; i += 7) frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: json.slice(i, i + 7) } } }));
      } else if (b.reasoningContent) {
        frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { text: b.reasoningContent.reasoningText.text } } }));
        frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { signature: b.reasoningContent.reasoningText.signature } } }));
      }
      frames.push(event('contentBlockStop', { contentBlockIndex: index }));
    });
    frames.push(event('messageStop', { stopReason: result.stopReason }));
    frames.push(event('metadata', { usage: result.usage, metrics: { latencyMs: 42 } }));

    if (behavior === 'mock-stream-exception') {
      frames.splice(2);
      frames.push(exception('throttlingException', 'Too many tokens, please wait before trying again.'));
    }
    if (behavior === 'mock-bad-crc' && frames.length > 1) {
      const f = Buffer.from(frames[1]);
      f[f.length - 1] ^= 0xff;
      frames[1] = f;
    }
    res.writeHead(200, { ...baseHeaders(), 'content-type': 'application/vnd.amazon.eventstream', 'transfer-encoding': 'chunked' });
    const all = Buffer.concat(frames);
    if (behavior === 'mock-fragmented-stream') {
      for (let i = 0; i < all.length; i += 3) {
        res.write(all.subarray(i, i + 3));
        await new Promise((r) => setImmediate(r));
      }
    } else {
      for (const f of frames) {
        res.write(f);
        await new Promise((r) => setImmediate(r));
      }
    }
    res.end();
  }

  async function handle(req, res) {
    const q = req.url.indexOf('?');
    const rawPath = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q + 1);
    if (answerHook(req, res, rawPath, { requests, reset, sendJson })) return;
    const raw = await readBody(req);
    const record = { method: req.method, path: rawPath, modelId: null, operation: null, headers: req.headers, body: null, status: 0, signatureValid: false };
    requests.push(record);
    try {
      const m = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(rawPath);
      if (!m) throw new ApiError(404, 'UnknownOperationException', 'UnknownOperationException');
      if (req.method !== 'POST') throw new ApiError(404, 'UnknownOperationException', 'UnknownOperationException');
      checkSignature(req, rawPath, query, raw);
      record.signatureValid = true;
      record.modelId = decodeURIComponent(m[1]);
      record.operation = m[2];
      try {
        record.body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch {
        throw new ApiError(400, 'SerializationException', 'Unable to parse the request body as JSON.');
      }
      const behavior = req.headers['x-mock-behavior'] ?? (record.modelId.startsWith('mock-') ? record.modelId : '');
      const em = /^mock-error-(\d{3})$/.exec(behavior);
      if (em) {
        const status = Number(em[1]);
        throw new ApiError(status, ERROR_TYPES[status] ?? 'InternalServerException', ERROR_MESSAGES[status] ?? 'error');
      }
      if (behavior === 'mock-context-length') throw invalid('Input is too long for requested model.');
      validate(record.body);
      const result = answer(record.body, behavior);
      record.status = 200;
      if (record.operation === 'converse-stream') return await stream(res, result, behavior);
      return sendJson(res, 200, {
        output: { message: { role: 'assistant', content: result.blocks } },
        stopReason: result.stopReason,
        usage: result.usage,
        metrics: { latencyMs: 42 },
      });
    } catch (err) {
      if (err instanceof ApiError) record.status = err.status;
      throw err;
    }
  }

  // ------------------------------------------------------------------ lifecycle

  function reset() {
    requests.length = 0;
    toolCalls = 0;
  }

  const fail = (res, err) => sendError(res, err instanceof ApiError ? err : new ApiError(500, 'InternalServerException', String(err?.message ?? err)));
  const expected = (err) => err instanceof ApiError;
  const { port: actualPort, url, close } = await serveMock({ port, host, handle, fail, log, expected });
  return {
    port: actualPort,
    url,
    region,
    accessKeyId,
    secretAccessKey,
    /** The provider api_key the gateway needs for these credentials. */
    apiKey: sessionToken ? `${accessKeyId}:${secretAccessKey}:${sessionToken}` : `${accessKeyId}:${secretAccessKey}`,
    requests, // live array of every request received (hooks excluded)
    reset,
    close,
    /** Requests whose path ends with `suffix` (e.g. '/converse-stream'). */
    requestsTo(suffix) {
      return requests.filter((r) => r.path.endsWith(suffix));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Standalone.

await runStandalone(import.meta.url, (opt) =>
  startBedrockMock({
    port: Number(opt('port', '0')),
    host: opt('host', '127.0.0.1'),
    region: opt('region', DEFAULT_REGION),
    accessKeyId: opt('access-key-id', DEFAULT_CREDENTIALS.accessKeyId),
    secretAccessKey: opt('secret-access-key', DEFAULT_CREDENTIALS.secretAccessKey),
    log: true,
  }),
);
