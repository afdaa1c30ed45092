// A mock Anthropic provider that speaks the Messages API wire format closely enough that the
// official `@anthropic-ai/sdk` (including its stream accumulator) accepts it, and that rejects
// what the real API rejects, so a gateway that translates badly fails here first.
//
// Checks, as the real API does:
//   - auth: `x-api-key: KEY` or `authorization: Bearer KEY` (401 authentication_error), and
//     an `anthropic-version` header (400 invalid_request_error);
//   - unknown top-level fields ("stream_options: Extra inputs are not permitted"), a missing
//     max_tokens/model/messages, temperature outside [0, 1], roles other than user/assistant/system,
//     empty text blocks, empty messages, tool ids outside ^[a-zA-Z0-9_-]+$, a tool_use not
//     answered by a tool_result in the next user turn and a tool_result without its tool_use,
//     a thinking budget under 1024 or not below max_tokens.
//
// Answers are deterministic functions of the request, so tests can assert exact content and
// usage:
//   - text is "Echo: <text of the last user message>" (image blocks add " [images: N]");
//     after tool results it is "Tool result: <text of the tool results>";
//   - with tools (tool_choice not none, last user turn not a tool result) the answer is one
//     tool_use of the first tool (or the one tool_choice names) with an input built from its
//     schema (valueForSchema), streamed as several input_json_delta pieces;
//   - started with { directives: true }, tools are called and thinking emitted only as the
//     prompt says (directives.mjs);
//   - with thinking enabled a thinking block "Thinking about: <last user text>" comes first;
//   - a token is a whitespace-separated word; input tokens are the words of system, messages
//     and tool results. Prompt caching: the prefix up to the last `cache_control` marker
//     (tools, system, messages, in that order) is written to the cache the first time this mock
//     sees it (cache_creation_input_tokens) and read from it afterwards
//     (cache_read_input_tokens); input_tokens counts only the rest, as Anthropic does. In a
//     stream, message_start carries the input/cache counts and message_delta the cumulative
//     totals (input and cache counts repeated, final output_tokens);
//   - max_tokens truncates by words (stop_reason max_tokens); a stop sequence found in the
//     text ends it there (stop_reason stop_sequence).
//
// Behaviour chosen by the model name, or by an `x-mock-behavior` header:
//   mock-error-<status>   that status with Anthropic's error envelope (429 adds retry-after;
//                         529 overloaded_error; 500 api_error)
//   mock-html-502         502 with an HTML page
//   mock-stream-error     streams a few events then an `error` event (overloaded_error)
//   mock-fragmented-stream  writes each SSE event in 3-byte pieces (splits UTF-8 code points)
//   mock-delay-<ms>       answers normally after <ms>
//   mock-hang             reads the request and never answers
//
// Test hooks (no auth): GET /__mock/requests, GET /__mock/stats, POST /__mock/reset.
//
// Standalone: node tests/mocks/anthropic-mock.mjs --port 0 [--api-key K] [--host 127.0.0.1]
// prints "mock listening on PORT".

import crypto from 'node:crypto';
import { directivesIn, toolsAsSaid } from './directives.mjs';
import {
  answerHook, countTokens, delayUnlessClosed, randomId, readBody, runStandalone, sendHtml502, serveMock, splitWords, valueForSchema, writeInPieces,
} from './mock-server.mjs';

export const DEFAULT_API_KEY = 'sk-ant-mock-upstream';

// Top-level fields the real POST /v1/messages accepts; anything else is a 400.
const MESSAGE_PARAMS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'metadata', 'stop_sequences', 'stream', 'temperature',
  'top_p', 'top_k', 'tools', 'tool_choice', 'thinking', 'service_tier', 'container', 'mcp_servers',
  'context_management', 'output_config',
]);
const COUNT_TOKENS_PARAMS = new Set(['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'mcp_servers', 'context_management', 'output_config']);
const TOOL_ID = /^[a-zA-Z0-9_-]+$/;

// ---------------------------------------------------------------------------------------------
// Deterministic content, exported so tests compute the same expectations.

export { countTokens, valueForSchema };

/** The text of a content value: a string, or the text blocks of an array (tool results included). */
export function contentText(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const out = [];
  for (const b of content) {
    if (!b || typeof b !== 'object') continue;
    if (b.type === 'text' && typeof b.text === 'string') out.push(b.text);
    else if (b.type === 'tool_result') out.push(contentText(b.content));
  }
  return out.join(' ');
}

export function thinkingSignature(thinking) {
  return crypto.createHash('sha256').update(String(thinking)).digest('base64');
}

function isToolResultTurn(m) {
  return m && m.role === 'user' && Array.isArray(m.content) && m.content.some((b) => b?.type === 'tool_result');
}

function userText(m) {
  if (!m) return '';
  if (typeof m.content === 'string') return m.content;
  return (m.content ?? []).filter((b) => b?.type === 'text').map((b) => b.text).join(' ');
}

function imageCount(m) {
  return Array.isArray(m?.content) ? m.content.filter((b) => b?.type === 'image').length : 0;
}

/** The answer text for a request (before max_tokens / stop sequences). */
export function answerText(messages) {
  const last = messages?.[messages.length - 1];
  if (isToolResultTurn(last)) {
    const results = last.content.filter((b) => b?.type === 'tool_result').map((b) => contentText(b.content));
    return `Tool result: ${results.join(' ')}`;
  }
  const lastUser = [...(messages ?? [])].reverse().find((m) => m?.role === 'user');
  const images = imageCount(lastUser);
  return `Echo: ${userText(lastUser)}${images ? ` [images: ${images}]` : ''}`;
}

export function toolUseIdFor(name) {
  return `toolu_${crypto.createHash('sha256').update(name).digest('hex').slice(0, 24)}`;
}

/** The input the mock gives a tool: its schema filled with the last user text. */
export function toolInputFor(tool, messages) {
  const lastUser = [...(messages ?? [])].reverse().find((m) => m?.role === 'user');
  return valueForSchema(tool?.input_schema ?? { type: 'object' }, userText(lastUser));
}


function behaviorOf(req, body) {
  const h = req.headers['x-mock-behavior'];
  if (typeof h === 'string' && h) return h;
  return typeof body?.model === 'string' ? body.model : '';
}

// ---------------------------------------------------------------------------------------------
// Errors in Anthropic's envelope.

class ApiError extends Error {
  constructor(status, message, { type = 'invalid_request_error', headers = {} } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.headers = headers;
  }
}

const invalid = (message) => new ApiError(400, message);

function errorForStatus(status) {
  switch (status) {
    case 400: return new ApiError(400, 'Invalid request (mock-error-400).');
    case 401: return new ApiError(401, 'invalid x-api-key', { type: 'authentication_error' });
    case 403: return new ApiError(403, 'Your API key does not have permission to use the specified resource.', { type: 'permission_error' });
    case 404: return new ApiError(404, 'model: mock-error-404', { type: 'not_found_error' });
    case 413: return new ApiError(413, 'Request exceeds the maximum allowed number of bytes.', { type: 'request_too_large' });
    case 429:
      return new ApiError(429, 'Number of request tokens has exceeded your per-minute rate limit (mock).', {
        type: 'rate_limit_error',
        headers: {
          'retry-after': '1',
          'anthropic-ratelimit-requests-limit': '50',
          'anthropic-ratelimit-requests-remaining': '0',
          'anthropic-ratelimit-requests-reset': new Date(Date.now() + 1000).toISOString(),
        },
      });
    case 500: return new ApiError(500, 'Internal server error', { type: 'api_error' });
    case 504: return new ApiError(504, 'Request timed out', { type: 'timeout_error' });
    case 529: return new ApiError(529, 'Overloaded', { type: 'overloaded_error' });
    default: return new ApiError(status, `Mock error ${status}.`, { type: status >= 500 ? 'api_error' : 'invalid_request_error' });
  }
}

// ---------------------------------------------------------------------------------------------
// Validation, as the real API answers.

function checkParams(body, allowed) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('The request body must be a JSON object.');
  for (const k of Object.keys(body)) if (!allowed.has(k)) throw invalid(`${k}: Extra inputs are not permitted`);
  if (body.model == null) throw invalid('model: Field required');
  if (typeof body.model !== 'string' || !body.model) throw invalid('model: Input should be a valid string');
}

function checkBlocks(content, path, role) {
  if (typeof content === 'string') return;
  if (!Array.isArray(content)) throw invalid(`${path}: Input should be a valid list`);
  content.forEach((b, j) => {
    const p = `${path}.${j}`;
    if (!b || typeof b !== 'object' || typeof b.type !== 'string') throw invalid(`${p}: Input should be a valid dictionary`);
    switch (b.type) {
      case 'text':
        if (typeof b.text !== 'string') throw invalid(`${p}.text: Field required`);
        if (b.text === '') throw invalid('messages: text content blocks must be non-empty');
        break;
      case 'image':
        if (role !== 'user') throw invalid(`${p}.type: image blocks are only allowed in user messages`);
        if (b.source?.type === 'base64') {
          if (!['image/jpeg', 'image/png', 'image/gif', 'image/webp'].includes(b.source.media_type)) {
            throw invalid(`${p}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`);
          }
          if (typeof b.source.data !== 'string' || !b.source.data) throw invalid(`${p}.source.base64.data: Field required`);
        } else if (b.source?.type === 'url') {
          if (typeof b.source.url !== 'string' || !/^https?:\/\//.test(b.source.url)) throw invalid(`${p}.source.url.url: invalid URL`);
        } else {
          throw invalid(`${p}.source: Input tag does not match any of the expected tags: 'base64', 'url', 'file'`);
        }
        break;
      case 'document':
        break;
      case 'tool_use':
        if (role !== 'assistant') throw invalid(`${p}.type: tool_use blocks are only allowed in assistant messages`);
        if (typeof b.id !== 'string' || !TOOL_ID.test(b.id)) throw invalid(`${p}.id: String should match pattern '^[a-zA-Z0-9_-]+$'`);
        if (typeof b.name !== 'string' || !b.name) throw invalid(`${p}.name: Field required`);
        if (!b.input || typeof b.input !== 'object' || Array.isArray(b.input)) throw invalid(`${p}.input: Input should be a valid dictionary`);
        break;
      case 'tool_result':
        if (role !== 'user') throw invalid(`${p}.type: tool_result blocks are only allowed in user messages`);
        if (typeof b.tool_use_id !== 'string' || !TOOL_ID.test(b.tool_use_id)) throw invalid(`${p}.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'`);
        if (b.content !== undefined) checkBlocks(b.content, `${p}.content`, 'user');
        break;
      case 'thinking':
      case 'redacted_thinking':
        if (role !== 'assistant') throw invalid(`${p}.type: thinking blocks are only allowed in assistant messages`);
        // Signatures are checked, as the real API does: replayed thinking must be this mock's.
        if (b.type === 'thinking' && b.signature !== thinkingSignature(b.thinking)) throw invalid(`${p}: Invalid \`signature\` in \`thinking\` block`);
        break;
      case 'tool_reference': // tool search results (tools with defer_loading)
      case 'search_result':
      case 'server_tool_use':
      case 'web_search_tool_result':
        break;
      default:
        throw invalid(`${p}.type: Input tag '${b.type}' found using 'type' does not match any of the expected tags`);
    }
  });
}

function checkMessages(body) {
  const { messages } = body;
  if (messages == null) throw invalid('messages: Field required');
  if (!Array.isArray(messages)) throw invalid('messages: Input should be a valid list');
  if (messages.length === 0) throw invalid('messages: at least one message is required');
  messages.forEach((m, i) => {
    if (!m || typeof m !== 'object') throw invalid(`messages.${i}: Input should be a valid dictionary`);
    // Current API versions take system entries between turns (Claude Code sends them).
    if (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system') throw invalid(`messages.${i}.role: Input should be 'user', 'assistant' or 'system'`);
    if (m.content == null) throw invalid(`messages.${i}.content: Field required`);
    checkBlocks(m.content, `messages.${i}.content`, m.role);
    const empty = typeof m.content === 'string' ? m.content === '' : m.content.length === 0;
    const finalAssistant = i === messages.length - 1 && m.role === 'assistant';
    if (empty && !finalAssistant) throw invalid(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
  });
  // Every tool_use answered in the next turn; every tool_result refers to the previous turn.
  messages.forEach((m, i) => {
    const uses = Array.isArray(m.content) ? m.content.filter((b) => b.type === 'tool_use').map((b) => b.id) : [];
    const next = messages[i + 1];
    if (m.role === 'assistant' && uses.length) {
      const answered = new Set(Array.isArray(next?.content) ? next.content.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id) : []);
      const missing = uses.filter((id) => !answered.has(id));
      if (missing.length && next) {
        throw invalid(`messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
      }
    }
    if (m.role === 'user' && Array.isArray(m.content)) {
      const prev = messages[i - 1];
      const prevUses = new Set(prev?.role === 'assistant' && Array.isArray(prev.content) ? prev.content.filter((b) => b.type === 'tool_use').map((b) => b.id) : []);
      m.content.forEach((b, j) => {
        if (b.type === 'tool_result' && !prevUses.has(b.tool_use_id)) {
          throw invalid(`messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${b.tool_use_id}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
        }
      });
    }
  });
}

function checkSystem(system) {
  if (system == null || typeof system === 'string') return;
  if (!Array.isArray(system)) throw invalid('system: Input should be a valid list');
  system.forEach((b, i) => {
    if (b?.type !== 'text' || typeof b.text !== 'string') throw invalid(`system.${i}: Input should be a text block`);
    if (b.text === '') throw invalid('system: text content blocks must be non-empty');
  });
}

function checkTools(body) {
  const tools = body.tools ?? [];
  if (!Array.isArray(tools)) throw invalid('tools: Input should be a valid list');
  tools.forEach((t, i) => {
    if (t?.type && t.type !== 'custom') return; // server tools: accepted, never called by the mock
    if (typeof t?.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(t.name)) throw invalid(`tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`);
    if (!t.input_schema || typeof t.input_schema !== 'object') throw invalid(`tools.${i}.custom.input_schema: Field required`);
    if (t.input_schema.type !== 'object') throw invalid(`tools.${i}.custom.input_schema.type: Input should be 'object'`);
  });
  const tc = body.tool_choice;
  if (tc != null) {
    if (typeof tc !== 'object' || !['auto', 'any', 'tool', 'none'].includes(tc.type)) {
      throw invalid("tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'");
    }
    if (tc.type === 'tool' && !tools.some((t) => t.name === tc.name)) throw invalid(`tool_choice.tool.name: tool '${tc.name}' not found in tools`);
  }
}

function checkSampling(body) {
  if (body.max_tokens == null) throw invalid('max_tokens: Field required');
  if (!Number.isInteger(body.max_tokens)) throw invalid('max_tokens: Input should be a valid integer');
  if (body.max_tokens < 1) throw invalid('max_tokens: Input should be greater than or equal to 1');
  if (body.temperature != null) {
    if (typeof body.temperature !== 'number') throw invalid('temperature: Input should be a valid number');
    if (body.temperature < 0) throw invalid('temperature: Input should be greater than or equal to 0');
    if (body.temperature > 1) throw invalid('temperature: Input should be less than or equal to 1');
  }
  if (body.top_p != null && (typeof body.top_p !== 'number' || body.top_p < 0 || body.top_p > 1)) throw invalid('top_p: Input should be less than or equal to 1');
  if (body.stop_sequences != null && (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((s) => typeof s !== 'string'))) {
    throw invalid('stop_sequences: Input should be a valid list of strings');
  }
  if (body.metadata != null && (typeof body.metadata !== 'object' || Object.keys(body.metadata).some((k) => k !== 'user_id'))) {
    throw invalid('metadata: Extra inputs are not permitted');
  }
  if (body.stream != null && typeof body.stream !== 'boolean') throw invalid('stream: Input should be a valid boolean');
  const th = body.thinking;
  if (th != null) {
    if (th.type === 'enabled') {
      if (!Number.isInteger(th.budget_tokens) || th.budget_tokens < 1024) throw invalid('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
      if (th.budget_tokens >= body.max_tokens) throw invalid('`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size');
      if (body.temperature != null && body.temperature !== 1) throw invalid('`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking');
    } else if (th.type !== 'disabled' && th.type !== 'adaptive') {
      throw invalid("thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Prompt caching: the prefix up to the last cache_control marker, in the API's order
// (tools, system, messages).

function cachePrefix(body) {
  const pieces = [];
  let marked = -1;
  const add = (text, block) => {
    pieces.push(text);
    if (block && block.cache_control) marked = pieces.length - 1;
  };
  for (const t of body.tools ?? []) add(JSON.stringify({ name: t.name, description: t.description, input_schema: t.input_schema }), t);
  if (typeof body.system === 'string') add(body.system, null);
  else for (const b of body.system ?? []) add(b.text, b);
  for (const m of body.messages ?? []) {
    if (typeof m.content === 'string') add(m.content, null);
    else for (const b of m.content ?? []) add(b.type === 'text' ? b.text : b.type === 'tool_result' ? contentText(b.content) : '', b);
  }
  if (marked < 0) return null;
  // Tool definitions are not "words" for the mock's counting; only text pieces count.
  const toolCount = (body.tools ?? []).length;
  const text = pieces.slice(toolCount, marked + 1).join(' ');
  return { key: crypto.createHash('sha256').update(pieces.slice(0, marked + 1).join('\u0000')).digest('hex'), tokens: countTokens(text) };
}

export function promptTokens(body) {
  let n = typeof body.system === 'string' ? countTokens(body.system) : (body.system ?? []).reduce((a, b) => a + countTokens(b.text), 0);
  for (const m of body.messages ?? []) n += countTokens(contentText(m.content));
  return n;
}

// ---------------------------------------------------------------------------------------------

/**
 * Starts the mock on host:port (0 = any free port). Returns {port, url, baseURL, apiKey,
 * requests, stats, reset, close, requestsTo}. `baseURL` is what the Anthropic SDK takes (it
 * appends /v1/messages itself).
 */
export async function startAnthropicMock({ apiKey = DEFAULT_API_KEY, port = 0, host = '127.0.0.1', log = false, directives = false } = {}) {
  const requests = [];
  const stats = { requests_total: 0, active_streams: 0, completed_streams: 0, aborted_streams: 0 };
  const cache = new Set();

  function sendJson(res, status, obj, extraHeaders = {}) {
    const body = JSON.stringify(obj);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'request-id': randomId('req_', 24),
      ...extraHeaders,
    });
    res.end(body);
  }

  function sendError(res, err) {
    const requestId = randomId('req_', 24);
    sendJson(res, err.status, { type: 'error', error: { type: err.type, message: err.message }, request_id: requestId }, { 'request-id': requestId, ...err.headers });
  }

  function checkAuth(req) {
    const xKey = req.headers['x-api-key'];
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const key = xKey ?? bearer;
    if (!key) throw new ApiError(401, 'x-api-key header is required', { type: 'authentication_error' });
    if (apiKey != null && key !== apiKey) throw new ApiError(401, 'invalid x-api-key', { type: 'authentication_error' });
    if (!req.headers['anthropic-version']) throw invalid('anthropic-version: header is required');
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://mock');
    const raw = await readBody(req);

    if (url.pathname.startsWith('/__mock/')) {
      if (answerHook(req, res, url.pathname, { requests, stats, reset, sendJson })) return;
      return sendError(res, new ApiError(404, 'no such mock hook', { type: 'not_found_error' }));
    }

    stats.requests_total++;
    const record = { method: req.method, path: url.pathname, query: url.search, headers: { ...req.headers }, rawBody: raw.toString('utf8'), body: null, receivedAt: Date.now(), status: null, stream: false };
    requests.push(record);

    try {
      checkAuth(req);
      if (raw.length) {
        try {
          record.body = JSON.parse(record.rawBody);
        } catch {
          throw invalid('There was an issue with your request body: the body is not valid JSON.');
        }
      }
      const route = `${req.method} ${url.pathname}`;
      if (route === 'POST /v1/messages') return await messages(req, res, record);
      if (route === 'POST /v1/messages/count_tokens') return countTokensRoute(res, record);
      if (route === 'GET /v1/models') {
        record.status = 200;
        const data = ['claude-sonnet-4-5', 'claude-haiku-4-5'].map((id) => ({ type: 'model', id, display_name: id, created_at: '2025-09-29T00:00:00Z' }));
        return sendJson(res, 200, { data, has_more: false, first_id: data[0].id, last_id: data[data.length - 1].id });
      }
      throw new ApiError(404, `Not found: ${req.method} ${url.pathname}`, { type: 'not_found_error' });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      record.status = err.status;
      if (!res.headersSent && !res.destroyed) sendError(res, err);
    }
  }

  function countTokensRoute(res, record) {
    const body = record.body;
    checkParams(body, COUNT_TOKENS_PARAMS);
    checkSystem(body.system);
    checkMessages(body);
    checkTools(body);
    record.status = 200;
    return sendJson(res, 200, { input_tokens: promptTokens(body) });
  }

  /** Fault behaviours. Returns true when the response is handled. */
  async function applyFault(req, res, record, behavior) {
    let m;
    if ((m = /^mock-error-(\d{3})$/.exec(behavior))) throw errorForStatus(Number(m[1]));
    if (behavior === 'mock-html-502') {
      sendHtml502(res, record);
      return true;
    }
    if (behavior === 'mock-hang') {
      record.status = 0;
      return true;
    }
    if ((m = /^mock-delay-(\d+)$/.exec(behavior))) return delayUnlessClosed(res, Number(m[1]));
    return false;
  }

  async function messages(req, res, record) {
    const body = record.body;
    checkParams(body, MESSAGE_PARAMS);
    checkSampling(body);
    checkSystem(body.system);
    checkMessages(body);
    checkTools(body);
    const behavior = behaviorOf(req, body);
    if (await applyFault(req, res, record, behavior)) return;

    // Usage, with prompt caching.
    const total = promptTokens(body);
    let cacheRead = 0;
    let cacheCreation = 0;
    const prefix = cachePrefix(body);
    if (prefix) {
      if (cache.has(prefix.key)) cacheRead = prefix.tokens;
      else {
        cacheCreation = prefix.tokens;
        cache.add(prefix.key);
      }
    }
    const inputTokens = Math.max(0, total - cacheRead - cacheCreation);

    // What to answer.
    const last = body.messages[body.messages.length - 1];
    let tools = (body.tools ?? []).filter((t) => !t.type || t.type === 'custom');
    // Directive mode (directives.mjs): only the tool the prompt names, and only once.
    const said = directives
      ? directivesIn(body.messages.filter((m) => m.role === 'user').map((m) => userText(m)).join('\n'))
      : null;
    const answered = body.messages.some((m) => m.role === 'user' && Array.isArray(m.content) && m.content.some((b) => b?.type === 'tool_result'));
    tools = toolsAsSaid(said, tools, (t) => t.name, answered);
    const tc = body.tool_choice;
    const blocks = [];
    let stopReason = 'end_turn';
    let stopSequence = null;
    let outputTokens = 0;
    const lastUser = [...body.messages].reverse().find((mm) => mm.role === 'user');
    if (body.thinking?.type === 'enabled' || body.thinking?.type === 'adaptive' || said?.think) {
      const thinking = said?.think ?? `Thinking about: ${userText(lastUser)}`;
      blocks.push({ type: 'thinking', thinking, signature: thinkingSignature(thinking) });
      outputTokens += countTokens(thinking);
    }
    if (tools.length && tc?.type !== 'none' && !isToolResultTurn(last)) {
      const tool = tc?.type === 'tool' ? tools.find((t) => t.name === tc.name) : tools[0];
      const input = said?.args ?? toolInputFor(tool, body.messages);
      blocks.push({ type: 'tool_use', id: toolUseIdFor(tool.name), name: tool.name, input });
      outputTokens += countTokens(JSON.stringify(input)) + 1;
      stopReason = 'tool_use';
    } else {
      let text = answerText(body.messages);
      for (const s of body.stop_sequences ?? []) {
        const at = s ? text.indexOf(s) : -1;
        if (at >= 0) {
          text = text.slice(0, at);
          stopReason = 'stop_sequence';
          stopSequence = s;
          break;
        }
      }
      const words = splitWords(text);
      const budget = Math.max(0, body.max_tokens - outputTokens);
      if (words.length > budget) {
        text = words.slice(0, budget).join('');
        stopReason = 'max_tokens';
        stopSequence = null;
      }
      if (text) blocks.push({ type: 'text', text });
      outputTokens += countTokens(text);
    }
    const usage = { input_tokens: inputTokens, cache_creation_input_tokens: cacheCreation, cache_read_input_tokens: cacheRead, output_tokens: outputTokens, service_tier: 'standard' };
    const id = randomId('msg_', 24);
    const message = { id, type: 'message', role: 'assistant', model: body.model, content: blocks, stop_reason: stopReason, stop_sequence: stopSequence, usage };

    if (body.stream !== true) {
      record.status = 200;
      return sendJson(res, 200, message);
    }

    // The stream, in the order the real API sends it.
    const events = [];
    const ev = (type, data) => events.push({ type, data: { type, ...data } });
    ev('message_start', { message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
    const startBlock = (index, content_block) => {
      ev('content_block_start', { index, content_block });
      if (index === 0) ev('ping', {}); // where the real API sends its first ping
    };
    blocks.forEach((b, index) => {
      if (b.type === 'text') {
        startBlock(index, { type: 'text', text: '' });
        for (const piece of splitWords(b.text)) ev('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
      } else if (b.type === 'thinking') {
        startBlock(index, { type: 'thinking', thinking: '', signature: '' });
        for (const piece of splitWords(b.thinking)) ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } });
        ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b.signature } });
      } else if (b.type === 'tool_use') {
        startBlock(index, { type: 'tool_use', id: b.id, name: b.name, input: {} });
        const json = JSON.stringify(b.input);
        ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
        for (let p = 0; p < json.length; p += 5) ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(p, p + 5) } });
      }
      ev('content_block_stop', { index });
    });
    // message_delta's usage is cumulative (MessageDeltaUsage): the API repeats the input and
    // cache counts next to the final output count, so a reader that adds them double counts.
    ev('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: stopSequence },
      usage: { input_tokens: inputTokens, cache_creation_input_tokens: cacheCreation, cache_read_input_tokens: cacheRead, output_tokens: outputTokens },
    });
    ev('message_stop', {});
    return streamEvents(res, record, events, behavior);
  }

  async function streamEvents(res, record, events, behavior) {
    record.stream = true;
    record.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': randomId('req_', 24) });
    stats.active_streams++;
    let ended = false;
    res.on('close', () => {
      stats.active_streams--;
      if (ended) stats.completed_streams++;
      else stats.aborted_streams++;
    });
    const frames = events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
    if (behavior === 'mock-stream-error') {
      for (const f of frames.slice(0, 3)) res.write(f);
      res.write(`event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`);
    } else if (behavior === 'mock-fragmented-stream') {
      for (const f of frames) await writeInPieces(res, f);
    } else {
      for (const f of frames) {
        if (res.destroyed) return;
        res.write(f);
      }
    }
    if (res.destroyed) return;
    ended = true;
    res.end();
  }

  function reset() {
    requests.length = 0;
    cache.clear();
    for (const k of ['requests_total', 'completed_streams', 'aborted_streams']) stats[k] = 0;
  }

  const fail = (res, err) => sendError(res, new ApiError(500, String(err?.message ?? err), { type: 'api_error' }));
  const { port: actualPort, url, close } = await serveMock({ port, host, handle, fail, log });
  return {
    port: actualPort,
    url,
    baseURL: url,
    apiKey,
    requests, // live array of every request received (hooks excluded)
    stats,
    reset,
    close,
    /** Requests to `path` (e.g. '/v1/messages'). */
    requestsTo(path) {
      return requests.filter((r) => r.path === path);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Standalone.

await runStandalone(import.meta.url, (opt) =>
  startAnthropicMock({
    port: Number(opt('port', '0')),
    host: opt('host', '127.0.0.1'),
    apiKey: opt('api-key', process.env.MOCK_ANTHROPIC_API_KEY ?? DEFAULT_API_KEY),
    log: true,
  }),
);
