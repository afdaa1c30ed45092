// A mock OpenAI provider that speaks OpenAI's wire format closely enough that the official
// `openai` SDK (including its strict `chat.completions.stream()` helper) accepts it.
//
// Answers are deterministic functions of the request, so tests can assert exact content and
// usage:
//   - chat content is "Echo: <text of the last user message>" (image parts add " [images: N]"),
//     after a tool result it is "Tool result: <tool message content>";
//   - a token is a whitespace-separated word (see countTokens); prompt tokens are the words of
//     every message's text, completion tokens the words of the answer;
//   - embeddings come from embeddingFor(text, dims), a hashed bag of words (similar texts are
//     similar), float32-exact, so the JSON floats and the base64 form decode to the same numbers.
//
// Started with { directives: true }, tools are called and reasoning_content emitted only as the
// prompt says (directives.mjs); on /v1/responses as function_call and reasoning items.
//
// Behaviour is chosen by the (upstream) model name, or by an `x-mock-behavior` header:
//   mock-error-<status>     that status with an OpenAI error envelope (429 adds retry-after)
//   mock-error-429-noretry  429 rate_limit_exceeded with no retry-after / retry-after-ms header
//   mock-error-429-ms-<ms>  429 with `retry-after-ms: <ms>` (and retry-after rounded up to seconds)
//   mock-429-once-<s>-then-<behavior>  the first request naming this (since start or reset) gets a
//                           429 rate_limit_exceeded with `retry-after: <s>`, as a provider shedding
//                           one call; every later one behaves as <behavior> (`ok`: a normal answer,
//                           or any behaviour above, e.g. mock-error-500, mock-stream-cut)
//   mock-html-502           502 with an HTML page, as OpenAI's edge sometimes answers
//   mock-not-found          404 model_not_found
//   mock-hang               reads the request and never answers
//   mock-delay-<ms>         answers normally after <ms>
//   mock-slow-stream        streams one chunk every 100 ms for a minute (non-stream: normal)
//   mock-stream-error       streams two chunks then a `data: {"error":...}` event
//   mock-stream-cut         streams two chunks then destroys the socket (no [DONE])
//   mock-stream-cut-early   sends the 200 event-stream head, then destroys the socket before
//                           any byte of the body (a stream that fails before its first byte)
//   mock-stream-slow-first-<ms>  sends the 200 event-stream head at once, the first chunk only
//                           after <ms>, then the rest normally (a slow first token)
//   mock-stall-stream       streams two chunks then goes silent, never ending the stream
//   mock-fragmented-stream  writes each SSE event in 3-byte pieces (splits UTF-8 code points)
//   mock-stream-bursts      writes the stream in two bursts 300 ms apart, each burst's events as
//                           HTTP chunks of their own in one socket write: the first three events,
//                           then the rest and [DONE]; the record's burstsAt holds each burst's
//                           write time (performance.now())
//   mock-cached             usage reports half the prompt tokens as cached
//   mock-reasoning          usage reports 5 reasoning tokens (added to completion tokens)
//   mock-parallel-tools     calls every tool offered instead of the first
//
// POST /v1/responses/input_tokens counts the input's words, as /v1/responses does.
//
// POST /v1/moderations answers like omni-moderation-latest, scoring trigger words (see
// moderationScores); the fault behaviours above apply to it through the header or
// /__mock/behavior.
//
// Test hooks (no auth): GET /__mock/requests, GET /__mock/stats, POST /__mock/reset,
// POST /__mock/behavior {"behavior": "mock-error-500"} makes every generation request behave
// so (as if its model named it) until {"behavior": null} (also mock.setBehavior(b) in
// process); an `x-mock-behavior` header still wins over it.
//
// Standalone: node tests/mocks/openai-mock.mjs --port 0 [--api-key K] [--host 127.0.0.1]
// prints "mock listening on PORT".

import crypto from 'node:crypto';
import { directivesIn, toolsAsSaid } from './directives.mjs';
import {
  answerHook, bagOfWordsEmbedding, countTokens, delayUnlessClosed, randomId, readBody, runStandalone, sendHtml502, serveMock, sleep, splitWords, valueForSchema, writeInPieces,
} from './mock-server.mjs';

export const DEFAULT_API_KEY = 'sk-mock-openai-upstream';
const SYSTEM_FINGERPRINT = 'fp_mock00001';
const DEFAULT_EMBEDDING_DIMS = 256;  // room for the bag of words (embeddingFor)

// Parameters the real /v1/chat/completions accepts; anything else is a 400, as OpenAI does.
const CHAT_PARAMS = new Set([
  'messages', 'model', 'audio', 'frequency_penalty', 'function_call', 'functions', 'logit_bias',
  'logprobs', 'max_completion_tokens', 'max_tokens', 'metadata', 'modalities', 'n',
  'parallel_tool_calls', 'prediction', 'presence_penalty', 'prompt_cache_key',
  'prompt_cache_retention', 'reasoning_effort', 'response_format', 'safety_identifier', 'seed',
  'service_tier', 'stop', 'store', 'stream', 'stream_options', 'temperature', 'tool_choice',
  'tools', 'top_logprobs', 'top_p', 'user', 'verbosity', 'web_search_options',
]);
const COMPLETION_PARAMS = new Set([
  'model', 'prompt', 'best_of', 'echo', 'frequency_penalty', 'logit_bias', 'logprobs',
  'max_tokens', 'n', 'presence_penalty', 'seed', 'stop', 'stream', 'stream_options', 'suffix',
  'temperature', 'top_p', 'user',
]);
const EMBEDDING_PARAMS = new Set(['input', 'model', 'dimensions', 'encoding_format', 'user']);
const MODERATION_PARAMS = new Set(['input', 'model']);

// The categories of omni-moderation-latest, each scored from trigger words: a trigger gives its
// score, anything else 0.0001. "borderline" gives violence 0.4 (under the endpoint's own cut).
export const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence',
  'violence/graphic',
];
const MODERATION_TRIGGERS = [
  [/\b(kill|murder|stab)\b/i, 'violence', 0.93],
  [/\bborderline\b/i, 'violence', 0.4],
  [/\bhurt myself\b/i, 'self-harm', 0.88],
  [/\b(hateful|bigot)\b/i, 'hate', 0.81],
  [/\b(buy|make) (meth|explosives)\b/i, 'illicit', 0.9],
];
export function moderationScores(text) {
  const scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, 0.0001]));
  for (const [re, category, score] of MODERATION_TRIGGERS) if (re.test(text)) scores[category] = Math.max(scores[category], score);
  return scores;
}

// ---------------------------------------------------------------------------------------------
// Deterministic content, exported so tests compute the same expectations.

export { countTokens, valueForSchema };

/** The text of a message's content: a string, or the text parts of an array of parts. */
export function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .filter((p) => p && (p.type === 'text' || p.type === 'input_text') && typeof p.text === 'string')
      .map((p) => p.text)
      .join(' ');
  }
  return '';
}

function imageCount(content) {
  if (!Array.isArray(content)) return 0;
  return content.filter((p) => p && p.type === 'image_url').length;
}

export function promptTokensForMessages(messages) {
  let n = 0;
  for (const m of messages ?? []) n += countTokens(contentText(m?.content));
  return n;
}

/** The assistant's text answer for a chat request (before max_tokens truncation). */
export function chatAnswerText(messages) {
  const last = messages?.[messages.length - 1];
  if (last && last.role === 'tool') return `Tool result: ${contentText(last.content)}`;
  const lastUser = [...(messages ?? [])].reverse().find((m) => m && m.role === 'user');
  if (!lastUser) return 'Echo:';
  const images = imageCount(lastUser.content);
  const text = contentText(lastUser.content);
  return `Echo: ${text}${images ? ` [images: ${images}]` : ''}`;
}

/** The embedding of `text` (bagOfWordsEmbedding), 256 dimensions unless told. */
export function embeddingFor(text, dims = DEFAULT_EMBEDDING_DIMS) {
  return bagOfWordsEmbedding(text, dims);
}

/** The arguments (as the JSON string sent on the wire) the mock passes to a tool. */
export function toolArgumentsFor(tool, messages) {
  const lastUser = [...(messages ?? [])].reverse().find((m) => m && m.role === 'user');
  const text = contentText(lastUser?.content);
  return JSON.stringify(valueForSchema(tool?.function?.parameters ?? { type: 'object' }, text));
}

export function toolCallIdFor(name, index) {
  return `call_${crypto.createHash('sha256').update(`${name}:${index}`).digest('hex').slice(0, 24)}`;
}

function truncateWords(text, max) {
  if (max == null || !Number.isInteger(max) || max < 0) return { text, truncated: false };
  const words = splitWords(text);
  if (words.length <= max) return { text, truncated: false };
  return { text: words.slice(0, max).join(''), truncated: true };
}

// A reasoning item's encrypted_content: opaque to the caller, and only this process's seals
// open (a replayed item that was altered is refused, as OpenAI refuses one it cannot decrypt).
const SEAL_KEY = crypto.randomBytes(32);
function seal(text) {
  const data = Buffer.from(String(text)).toString('base64url');
  return `gAAAAA${data}.${crypto.createHmac('sha256', SEAL_KEY).update(data).digest('base64url')}`;
}
function isOurSeal(sealed) {
  const m = /^gAAAAA([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]+)$/.exec(String(sealed));
  return !!m && crypto.createHmac('sha256', SEAL_KEY).update(m[1]).digest('base64url') === m[2];
}

function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

function behaviorOf(req, body, forced = null) {
  const h = req.headers['x-mock-behavior'];
  if (typeof h === 'string' && h) return h;
  if (typeof forced === 'string' && forced) return forced;
  return typeof body?.model === 'string' ? body.model : '';
}

// ---------------------------------------------------------------------------------------------
// Errors in OpenAI's envelope.

class ApiError extends Error {
  constructor(status, message, { type = 'invalid_request_error', param = null, code = null, headers = {} } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
    this.headers = headers;
  }
}

function errorForStatus(status) {
  switch (status) {
    case 400:
      return new ApiError(400, 'Invalid request (mock-error-400).', { code: null });
    case 401:
      return new ApiError(401, 'Incorrect API key provided.', { code: 'invalid_api_key' });
    case 403:
      return new ApiError(403, 'You are not allowed to sample from this model', { type: 'invalid_request_error' });
    case 404:
      return new ApiError(404, 'The model `mock-not-found` does not exist or you do not have access to it.', { code: 'model_not_found' });
    case 429:
      return new ApiError(429, 'Rate limit reached for requests (mock). Limit 3, Used 3, Requested 1. Please try again in 1s.', {
        type: 'requests',
        code: 'rate_limit_exceeded',
        headers: {
          'retry-after': '1',
          'x-ratelimit-limit-requests': '3',
          'x-ratelimit-remaining-requests': '0',
          'x-ratelimit-reset-requests': '1s',
        },
      });
    case 500:
      return new ApiError(500, 'The server had an error while processing your request. Sorry about that!', { type: 'server_error' });
    case 503:
      return new ApiError(503, 'The engine is currently overloaded, please try again later.', { type: 'server_error' });
    default:
      return new ApiError(status, `Mock error ${status}.`, { type: status >= 500 ? 'server_error' : 'invalid_request_error' });
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Starts the mock on host:port (0 = any free port). `keepAliveTimeout` (ms) is how long an idle
 * keep-alive connection stays open (Node's default, 5 s, unless given).
 */
export async function startOpenAIMock({ apiKey = DEFAULT_API_KEY, port = 0, host = '127.0.0.1', log = false, keepAliveTimeout, directives = false } = {}) {
  const requests = [];
  const stats = {
    requests_total: 0,
    active_requests: 0,
    active_streams: 0,
    completed_streams: 0,
    aborted_streams: 0, // SSE responses whose peer went away before the stream ended
    aborted_requests: 0, // any response whose peer went away before it ended (streams included)
    connections_total: 0,
    connections_open: 0,
  };
  let forcedBehavior = null; // POST /__mock/behavior: applies to every generation request

  function sendJson(res, status, obj, extraHeaders = {}) {
    const body = JSON.stringify(obj);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': randomId('req_', 32),
      'openai-version': '2020-10-01',
      'openai-processing-ms': '1',
      ...extraHeaders,
    });
    res.end(body);
  }

  function sendError(res, err) {
    sendJson(
      res,
      err.status,
      { error: { message: err.message, type: err.type, param: err.param, code: err.code } },
      err.headers,
    );
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://mock');
    const raw = await readBody(req);

    // Test hooks.
    if (url.pathname.startsWith('/__mock/')) {
      if (answerHook(req, res, url.pathname, { requests, stats, reset, sendJson })) return;
      if (req.method === 'POST' && url.pathname === '/__mock/behavior') {
        let b = null;
        try {
          b = raw.length ? JSON.parse(raw.toString('utf8'))?.behavior ?? null : null;
        } catch {
          return sendJson(res, 400, { error: { message: 'body must be {"behavior": string|null}', type: 'invalid_request_error', param: null, code: null } });
        }
        forcedBehavior = typeof b === 'string' && b ? b : null;
        return sendJson(res, 200, { ok: true, behavior: forcedBehavior });
      }
      return sendJson(res, 404, { error: { message: 'no such mock hook', type: 'invalid_request_error', param: null, code: null } });
    }

    stats.requests_total++;
    stats.active_requests++;
    const record = {
      method: req.method,
      path: url.pathname,
      query: url.search,
      headers: { ...req.headers },
      rawBody: raw.toString('utf8'),
      body: null,
      receivedAt: Date.now(),
      status: null,
      stream: false,
      endedAt: null,
      closedByPeerAt: null,
    };
    requests.push(record);
    res.on('close', () => {
      stats.active_requests--;
      if (!res.writableEnded && !record.cutByMock) {
        record.closedByPeerAt = Date.now();
        stats.aborted_requests++;
      }
    });
    res.on('finish', () => {
      record.endedAt = Date.now();
    });

    try {
      if (raw.length && (req.headers['content-type'] ?? '').includes('json')) {
        try {
          record.body = JSON.parse(record.rawBody);
        } catch {
          throw new ApiError(
            400,
            'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)',
          );
        }
      }
      checkAuth(req);

      const route = `${req.method} ${url.pathname}`;
      if (route === 'POST /v1/chat/completions') return await chatCompletions(req, res, record);
      if (route === 'POST /v1/completions') return await completions(req, res, record);
      if (route === 'POST /v1/embeddings') return await embeddings(req, res, record);
      if (route === 'POST /v1/moderations') return await moderations(req, res, record);
      if (route === 'POST /v1/responses') return await responses(req, res, record);
      if (route === 'POST /v1/responses/input_tokens') return inputTokens(res, record);
      if (route === 'GET /v1/models') return models(res, record);
      const m = /^\/v1\/models\/(.+)$/.exec(url.pathname);
      if (req.method === 'GET' && m) return models(res, record, decodeURIComponent(m[1]));
      throw new ApiError(404, `Invalid URL (${req.method} ${url.pathname})`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      record.status = err.status;
      if (!res.headersSent && !res.destroyed) sendError(res, err);
    }
  }

  function checkAuth(req) {
    const auth = req.headers.authorization;
    if (!auth) {
      throw new ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      );
    }
    const m = /^Bearer (.+)$/.exec(auth);
    if (!m || (apiKey != null && m[1] !== apiKey)) {
      const shown = m ? `${m[1].slice(0, 3)}*****${m[1].slice(-4)}` : '';
      throw new ApiError(401, `Incorrect API key provided: ${shown}.`, { code: 'invalid_api_key' });
    }
  }

  /** Fault behaviours shared by all generation routes. Returns true when the response is handled. */
  async function applyFault(req, res, record, behavior) {
    let m;
    if ((m = /^mock-error-(\d{3})$/.exec(behavior))) throw errorForStatus(Number(m[1]));
    if (behavior === 'mock-error-429-noretry') {
      const err = errorForStatus(429);
      err.headers = { 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' };
      throw err;
    }
    if ((m = /^mock-error-429-ms-(\d+)$/.exec(behavior))) {
      const err = errorForStatus(429);
      err.headers = { ...err.headers, 'retry-after-ms': m[1], 'retry-after': String(Math.max(1, Math.ceil(Number(m[1]) / 1000))) };
      throw err;
    }
    if (behavior === 'mock-not-found') throw errorForStatus(404);
    if (behavior === 'mock-html-502') {
      sendHtml502(res, record);
      return true;
    }
    if (behavior === 'mock-hang') {
      // Never answer; the peer (or close()) ends it.
      record.status = 0;
      return true;
    }
    if ((m = /^mock-delay-(\d+)$/.exec(behavior))) return delayUnlessClosed(res, Number(m[1]));
    return false;
  }

  function checkParams(body, allowed, { requireStreamForOptions = true } = {}) {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'The request body must be a JSON object.');
    for (const k of Object.keys(body)) {
      if (!allowed.has(k)) throw new ApiError(400, `Unrecognized request argument supplied: ${k}`, { param: k });
    }
    if (typeof body.model !== 'string' || !body.model) throw new ApiError(400, 'you must provide a model parameter', { param: 'model' });
    if (requireStreamForOptions && body.stream_options != null && body.stream !== true) {
      throw new ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", { param: 'stream_options' });
    }
  }

  // ------------------------------------------------------------------ /v1/chat/completions

  async function chatCompletions(req, res, record) {
    const body = record.body;
    checkParams(body, CHAT_PARAMS);
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new ApiError(400, "[] is too short - 'messages'", { param: 'messages' });
    }
    validateToolMessages(body.messages);
    const behavior = onceThen(behaviorOf(req, body, forcedBehavior));
    if (await applyFault(req, res, record, behavior)) return;

    const n = Number.isInteger(body.n) && body.n > 0 ? body.n : 1;
    const promptTokens = promptTokensForMessages(body.messages);
    const cachedTokens = behavior === 'mock-cached' ? Math.floor(promptTokens / 2) : 0;
    const reasoningTokens = behavior === 'mock-reasoning' ? 5 : 0;
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;

    // What to answer: a tool call, JSON, or text.
    const last = body.messages[body.messages.length - 1];
    let tools = Array.isArray(body.tools) ? body.tools.filter((t) => t?.type === 'function') : [];
    // Directive mode (directives.mjs): only the tool the prompt names, and only once.
    const said = directives
      ? directivesIn(body.messages.filter((m) => m?.role === 'user').map((m) => contentText(m.content)).join('\n'))
      : null;
    tools = toolsAsSaid(said, tools, (t) => t.function?.name, body.messages.some((m) => m?.role === 'tool'));
    const reasoningText = said?.think ?? null;
    let toolCalls = null;
    if (tools.length && body.tool_choice !== 'none' && last?.role !== 'tool') {
      let chosen = [tools[0]];
      if (body.tool_choice && typeof body.tool_choice === 'object' && body.tool_choice.function?.name) {
        chosen = tools.filter((t) => t.function?.name === body.tool_choice.function.name);
        if (!chosen.length) throw new ApiError(400, `Tool choice '${body.tool_choice.function.name}' not found in 'tools' parameter.`, { param: 'tool_choice' });
      } else if (behavior === 'mock-parallel-tools' && body.parallel_tool_calls !== false) {
        chosen = tools;
      }
      toolCalls = chosen.map((t, i) => ({
        id: toolCallIdFor(t.function.name, i),
        type: 'function',
        function: { name: t.function.name, arguments: said?.args ? JSON.stringify(said.args) : toolArgumentsFor(t, body.messages) },
      }));
    }

    let text = null;
    let finishReason = 'stop';
    let completionTokens = 0;
    if (toolCalls) {
      finishReason = 'tool_calls';
      completionTokens = toolCalls.reduce((a, tc) => a + countTokens(tc.function.arguments) + 1, 0);
    } else {
      const rf = body.response_format;
      if (rf?.type === 'json_object') {
        text = JSON.stringify({ echo: chatAnswerText(body.messages) });
      } else if (rf?.type === 'json_schema') {
        const lastUser = [...body.messages].reverse().find((m) => m.role === 'user');
        text = JSON.stringify(valueForSchema(rf.json_schema?.schema ?? { type: 'object' }, contentText(lastUser?.content)));
      } else {
        text = chatAnswerText(body.messages);
        const t = truncateWords(text, maxTokens);
        text = t.text;
        if (t.truncated) finishReason = 'length';
      }
      completionTokens = countTokens(text);
    }
    completionTokens = completionTokens * n + reasoningTokens;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };

    const id = randomId('chatcmpl-', 29);
    const created = nowSeconds();
    const model = body.model;

    if (body.stream !== true) {
      const choices = [];
      for (let i = 0; i < n; i++) {
        const message = { role: 'assistant', content: toolCalls ? null : text, refusal: null, annotations: [] };
        if (reasoningText) message.reasoning_content = reasoningText;
        if (toolCalls) message.tool_calls = toolCalls;
        choices.push({ index: i, message, logprobs: null, finish_reason: finishReason });
      }
      record.status = 200;
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices,
        usage,
        service_tier: 'default',
        system_fingerprint: SYSTEM_FINGERPRINT,
      });
    }

    // Streaming.
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices, extra = {}) => {
      const c = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default', system_fingerprint: SYSTEM_FINGERPRINT, choices };
      if (includeUsage) c.usage = null;
      Object.assign(c, extra);
      c.obfuscation = randomId('', 6); // OpenAI pads chunks with this; gateways must pass it through
      return c;
    };
    const events = [];
    for (let i = 0; i < n; i++) {
      if (reasoningText) {
        // As DeepSeek-style and vLLM servers stream reasoning: deltas before the answer.
        for (const piece of splitWords(reasoningText)) {
          events.push(chunk([{ index: i, delta: { role: 'assistant', reasoning_content: piece }, logprobs: null, finish_reason: null }]));
        }
      }
      if (toolCalls) {
        toolCalls.forEach((tc, tci) => {
          // As OpenAI does, the role rides on the first tool call's opening delta.
          const opening = { tool_calls: [{ index: tci, id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } }] };
          const delta = tci === 0 ? { role: 'assistant', content: null, ...opening, refusal: null } : opening;
          events.push(chunk([{ index: i, delta, logprobs: null, finish_reason: null }]));
          const args = tc.function.arguments;
          for (let p = 0; p < args.length; p += 4) {
            events.push(chunk([{ index: i, delta: { tool_calls: [{ index: tci, function: { arguments: args.slice(p, p + 4) } }] }, logprobs: null, finish_reason: null }]));
          }
        });
      } else {
        events.push(chunk([{ index: i, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]));
        for (const piece of splitWords(text)) {
          events.push(chunk([{ index: i, delta: { content: piece }, logprobs: null, finish_reason: null }]));
        }
      }
      events.push(chunk([{ index: i, delta: {}, logprobs: null, finish_reason: finishReason }]));
    }
    if (includeUsage) events.push(chunk([], { usage }));
    return streamEvents(res, record, events, behavior);
  }

  function validateToolMessages(messages) {
    const callIds = new Set();
    messages.forEach((m, i) => {
      if (!m || typeof m !== 'object' || typeof m.role !== 'string') {
        throw new ApiError(400, `Invalid value for 'messages[${i}]': expected an object with a role.`, { param: `messages[${i}]` });
      }
      if (m.role === 'assistant' && Array.isArray(m.tool_calls)) for (const tc of m.tool_calls) callIds.add(tc?.id);
      if (m.role === 'tool' && !callIds.has(m.tool_call_id)) {
        throw new ApiError(
          400,
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          { param: `messages.[${i}].role` },
        );
      }
    });
  }

  // ------------------------------------------------------------------ SSE writer

  async function streamEvents(res, record, events, behavior) {
    record.stream = true;
    record.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': randomId('req_', 32),
      'openai-version': '2020-10-01',
      'openai-processing-ms': '1',
    });
    stats.active_streams++;
    let ended = false;
    res.on('close', () => {
      stats.active_streams--;
      if (!ended) stats.aborted_streams++;
      else if (!record.cutByMock) stats.completed_streams++;
    });
    const frames = events.map((e) => `data: ${JSON.stringify(e)}\n\n`);

    if (behavior === 'mock-slow-stream') {
      // The first real chunk (role) then a content chunk every 100 ms for a minute.
      const first = events[0];
      const template = events.find((e) => e.choices?.[0]?.delta?.content);
      const tick = (k) => JSON.stringify({ ...(template ?? first), choices: [{ index: 0, delta: { content: ` tick${k}` }, logprobs: null, finish_reason: null }] });
      res.write(frames[0]);
      for (let k = 0; k < 600 && !res.destroyed; k++) {
        await sleep(100);
        if (res.destroyed) break;
        res.write(`data: ${tick(k)}\n\n`);
      }
      if (res.destroyed) return;
      for (const f of frames.slice(1)) res.write(f);
    } else if (behavior === 'mock-stream-error') {
      for (const f of frames.slice(0, 2)) res.write(f);
      res.write(`data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } })}\n\n`);
      ended = true;
      res.end();
      return;
    } else if (behavior === 'mock-stall-stream') {
      // Two chunks, then silence until the peer gives up.
      for (const f of frames.slice(0, 2)) res.write(f);
      return;
    } else if (behavior === 'mock-stream-cut-early') {
      // The head only: no byte of the body before the socket goes.
      res.flushHeaders();
      await sleep(20);
      ended = true; // we cut it, the peer did not go away
      record.cutByMock = true;
      res.destroy();
      return;
    } else if (/^mock-stream-slow-first-\d+$/.test(behavior)) {
      res.flushHeaders();
      await sleep(Number(/(\d+)$/.exec(behavior)[1]));
      for (const f of frames) {
        if (res.destroyed) return;
        res.write(f);
      }
    } else if (behavior === 'mock-stream-cut') {
      for (const f of frames.slice(0, 2)) res.write(f);
      await sleep(20);
      ended = true; // we cut it, the peer did not go away
      record.cutByMock = true;
      res.destroy();
      return;
    } else if (behavior === 'mock-stream-bursts') {
      const burst = (list) => {
        res.cork();
        for (const f of list) res.write(f);
        (record.burstsAt ??= []).push(performance.now());
        res.uncork();
      };
      burst(frames.slice(0, 3));
      await sleep(300);
      if (res.destroyed) return;
      burst([...frames.slice(3), 'data: [DONE]\n\n']);
      ended = true;
      res.end();
      return;
    } else if (behavior === 'mock-fragmented-stream') {
      for (const f of [...frames, 'data: [DONE]\n\n']) await writeInPieces(res, f);
      if (res.destroyed) return;
      ended = true;
      res.end();
      return;
    } else {
      for (const f of frames) {
        if (res.destroyed) return;
        res.write(f);
      }
    }
    if (res.destroyed) return;
    res.write('data: [DONE]\n\n');
    ended = true;
    res.end();
  }

  // ------------------------------------------------------------------ /v1/completions

  async function completions(req, res, record) {
    const body = record.body;
    checkParams(body, COMPLETION_PARAMS);
    if (body.prompt == null) throw new ApiError(400, 'you must provide a prompt parameter', { param: 'prompt' });
    const behavior = onceThen(behaviorOf(req, body, forcedBehavior));
    if (await applyFault(req, res, record, behavior)) return;

    const prompts = Array.isArray(body.prompt) && body.prompt.every((p) => typeof p === 'string') ? body.prompt : [body.prompt];
    const n = Number.isInteger(body.n) && body.n > 0 ? body.n : 1;
    const id = randomId('cmpl-', 29);
    const created = nowSeconds();
    const model = body.model;
    const answers = [];
    let promptTokens = 0;
    let completionTokens = 0;
    prompts.forEach((p) => {
      const ptext = typeof p === 'string' ? p : Array.isArray(p) ? p.join(' ') : String(p);
      promptTokens += typeof p === 'string' ? countTokens(p) : Array.isArray(p) ? p.length : 1;
      for (let i = 0; i < n; i++) {
        let { text, truncated } = truncateWords(` Echo: ${ptext}`, body.max_tokens ?? 16);
        completionTokens += countTokens(text);
        if (body.echo === true) text = ptext + text;
        answers.push({ text, finish_reason: truncated ? 'length' : 'stop' });
      }
    });
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };

    if (body.stream !== true) {
      record.status = 200;
      return sendJson(res, 200, {
        id,
        object: 'text_completion',
        created,
        model,
        choices: answers.map((a, index) => ({ text: a.text, index, logprobs: null, finish_reason: a.finish_reason })),
        usage,
        system_fingerprint: SYSTEM_FINGERPRINT,
      });
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices, extra = {}) => {
      const c = { id, object: 'text_completion', created, choices, model, system_fingerprint: SYSTEM_FINGERPRINT };
      if (includeUsage) c.usage = null;
      return Object.assign(c, extra);
    };
    const events = [];
    answers.forEach((a, index) => {
      for (const piece of a.text.match(/\s*\S+\s*?/g) ?? []) {
        events.push(chunk([{ text: piece, index, logprobs: null, finish_reason: null }]));
      }
      events.push(chunk([{ text: '', index, logprobs: null, finish_reason: a.finish_reason }]));
    });
    if (includeUsage) events.push(chunk([], { usage }));
    return streamEvents(res, record, events, behavior);
  }

  // ------------------------------------------------------------------ /v1/responses
  // The Responses API: a `response` object; streams are named events (`event: <type>`) whose
  // data carries `type` and `sequence_number`, ending with response.completed (usage inside).
  // The answer is "Echo: <last user text>", or "Tool result: <output>" after a
  // function_call_output. In directive mode (directives.mjs) [[tool:NAME]] makes a function_call
  // item (once: never when the input already holds a function_call_output) and [[think:TEXT]] a
  // reasoning item first, its summary TEXT and its encrypted_content (with include
  // ["reasoning.encrypted_content"]) the mock's own seal, checked when replayed as OpenAI does.
  // Stored responses (store is not false) can be continued by previous_response_id.

  const storedResponses = new Map(); // id -> the conversation's items through that response

  async function responses(req, res, record) {
    const body = record.body ?? {};
    const behavior = onceThen(behaviorOf(req, body, forcedBehavior));
    if (await applyFault(req, res, record, behavior)) return;
    if (body.input == null) throw new ApiError(400, "Missing required parameter: 'input'.", { param: 'input' });
    let items = typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: body.input }] : body.input;
    if (!Array.isArray(items)) throw new ApiError(400, "Invalid type for 'input': expected a string or an array.", { param: 'input' });
    items.forEach((it, i) => {
      if (it?.type === 'reasoning' && it.encrypted_content != null && !isOurSeal(it.encrypted_content)) {
        throw new ApiError(400, `The encrypted content for item ${it.id ?? `input[${i}]`} could not be verified.`, { param: `input[${i}].encrypted_content`, code: 'invalid_encrypted_content' });
      }
    });
    if (body.previous_response_id != null) {
      const prior = storedResponses.get(body.previous_response_id);
      if (!prior) throw new ApiError(400, `Previous response with id '${body.previous_response_id}' not found.`, { param: 'previous_response_id', code: 'previous_response_not_found' });
      items = [...prior, ...items];
    }
    const callIds = new Set(items.filter((it) => it?.type === 'function_call').map((it) => it.call_id));
    for (const it of items) {
      if (it?.type === 'function_call_output' && !callIds.has(it.call_id)) {
        throw new ApiError(400, `No tool call found for function call output with call_id ${it.call_id}.`, { param: 'input' });
      }
    }
    const isMessage = (it) => it && (it.type === 'message' || (it.type == null && typeof it.role === 'string'));
    const userTexts = items.filter((it) => isMessage(it) && it.role === 'user').map((it) => contentText(it.content));
    const last = items.at(-1);
    const answered = items.some((it) => it?.type === 'function_call_output');
    const said = directives ? directivesIn(userTexts.join('\n')) : null;
    const tools = Array.isArray(body.tools) ? body.tools.filter((t) => t?.type === 'function') : [];
    const toolChoiceName = body.tool_choice?.type === 'function' ? body.tool_choice.name : null;
    if (toolChoiceName && !tools.some((t) => t.name === toolChoiceName)) {
      throw new ApiError(400, `Tool choice '${toolChoiceName}' not found in 'tools' parameter.`, { param: 'tool_choice' });
    }
    const callName = said?.tool && !answered && body.tool_choice !== 'none' ? (toolChoiceName ?? said.tool) : null;
    const called = callName ? tools.find((t) => t.name === callName) : null;

    const id = randomId('resp_', 32);
    const created = Math.floor(Date.now() / 1000);
    const output = [];
    let reasoningTokens = 0;
    if (said?.think) {
      const item = { id: randomId('rs_', 32), type: 'reasoning', summary: [{ type: 'summary_text', text: said.think }] };
      if (Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content')) item.encrypted_content = seal(said.think);
      output.push(item);
      reasoningTokens = countTokens(said.think);
    }
    let text = null;
    if (called) {
      const args = said.args ? JSON.stringify(said.args) : JSON.stringify(valueForSchema(called.parameters ?? { type: 'object' }, userTexts.at(-1) ?? ''));
      output.push({ id: randomId('fc_', 32), type: 'function_call', status: 'completed', arguments: args, call_id: toolCallIdFor(called.name, items.length), name: called.name });
    } else {
      text = last?.type === 'function_call_output'
        ? `Tool result: ${typeof last.output === 'string' ? last.output : contentText(last.output)}`
        : `Echo: ${userTexts.at(-1) ?? ''}`;
      output.push({ id: randomId('msg_', 32), type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] });
    }
    const inputTokens = items.reduce((n, it) => n + countTokens(isMessage(it) ? contentText(it.content) : it?.type === 'function_call_output' ? String(it.output) : ''), 0)
      + (body.instructions ? countTokens(body.instructions) : 0);
    const outputTokens = reasoningTokens + (text != null ? countTokens(text) : countTokens(output.at(-1).arguments) + 1);
    const usage = {
      input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0 },
      output_tokens: outputTokens, output_tokens_details: { reasoning_tokens: reasoningTokens },
      total_tokens: inputTokens + outputTokens,
    };
    const response = (status, out, u) => ({
      id, object: 'response', created_at: created, status, background: false, error: null, incomplete_details: null,
      instructions: body.instructions ?? null, max_output_tokens: body.max_output_tokens ?? null, model: body.model, output: out,
      parallel_tool_calls: body.parallel_tool_calls ?? true, previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
      store: body.store !== false, temperature: body.temperature ?? 1, text: body.text ?? { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto', tools: body.tools ?? [], top_p: body.top_p ?? 1, truncation: 'disabled',
      usage: u, metadata: body.metadata ?? {},
    });
    if (body.store !== false) storedResponses.set(id, [...items, ...output]);
    if (!body.stream) {
      record.status = 200;
      return sendJson(res, 200, response('completed', output, usage));
    }
    record.stream = true;
    record.status = 200;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': randomId('req_', 32) });
    let seq = 0;
    const send = async (type, fields) => {
      if (res.destroyed) return;
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`);
      await sleep(1);
    };
    await send('response.created', { response: response('in_progress', [], null) });
    await send('response.in_progress', { response: response('in_progress', [], null) });
    for (const [output_index, item] of output.entries()) {
      const at = { item_id: item.id, output_index };
      if (item.type === 'reasoning') {
        await send('response.output_item.added', { output_index, item: { ...item, summary: [] } });
        const summary = item.summary[0].text;
        await send('response.reasoning_summary_part.added', { ...at, summary_index: 0, part: { type: 'summary_text', text: '' } });
        for (const delta of splitWords(summary)) await send('response.reasoning_summary_text.delta', { ...at, summary_index: 0, delta });
        await send('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: summary });
        await send('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: { type: 'summary_text', text: summary } });
      } else if (item.type === 'function_call') {
        await send('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', arguments: '' } });
        for (let p = 0; p < item.arguments.length; p += 8) await send('response.function_call_arguments.delta', { ...at, delta: item.arguments.slice(p, p + 8) });
        await send('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.arguments });
      } else {
        await send('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } });
        const part = { ...at, content_index: 0 };
        await send('response.content_part.added', { ...part, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
        for (const delta of text.split(/(?= )/)) await send('response.output_text.delta', { ...part, delta, logprobs: [] });
        await send('response.output_text.done', { ...part, text, logprobs: [] });
        await send('response.content_part.done', { ...part, part: { type: 'output_text', text, annotations: [], logprobs: [] } });
      }
      await send('response.output_item.done', { output_index, item });
    }
    await send('response.completed', { response: response('completed', output, usage) });
    res.end();
  }

  // POST /v1/responses/input_tokens: the words of the input's texts and the instructions, as
  // /v1/responses counts them.
  function inputTokens(res, record) {
    const body = record.body ?? {};
    if (typeof body.model !== 'string') throw new ApiError(400, "Missing required parameter: 'model'.", { param: 'model' });
    const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : Array.isArray(body.input) ? body.input : [];
    const tokens = items.reduce((n, it) => n + countTokens(it?.content != null ? contentText(it.content) : it?.type === 'function_call_output' ? String(it.output) : ''), 0)
      + (body.instructions ? countTokens(body.instructions) : 0);
    record.status = 200;
    return sendJson(res, 200, { object: 'response.input_tokens', input_tokens: tokens });
  }

  // ------------------------------------------------------------------ /v1/embeddings

  async function embeddings(req, res, record) {
    const body = record.body;
    checkParams(body, EMBEDDING_PARAMS, { requireStreamForOptions: false });
    const behavior = onceThen(behaviorOf(req, body, forcedBehavior));
    if (await applyFault(req, res, record, behavior)) return;
    let inputs = body.input;
    if (inputs == null || inputs === '' || (Array.isArray(inputs) && inputs.length === 0)) {
      throw new ApiError(400, "'$.input' is invalid. Please check the API reference.", { param: 'input' });
    }
    // string | string[] | number[] (one tokenized input) | number[][]
    if (!Array.isArray(inputs) || inputs.every((x) => typeof x === 'number')) inputs = [inputs];
    const format = body.encoding_format ?? 'float';
    if (format !== 'float' && format !== 'base64') {
      throw new ApiError(400, `Invalid value for 'encoding_format': '${format}'.`, { param: 'encoding_format' });
    }
    const dims = Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : DEFAULT_EMBEDDING_DIMS;
    let tokens = 0;
    const data = inputs.map((inp, index) => {
      const text = typeof inp === 'string' ? inp : JSON.stringify(inp);
      tokens += typeof inp === 'string' ? countTokens(inp) : inp.length;
      const vec = embeddingFor(text, dims);
      let embedding = vec;
      if (format === 'base64') {
        const f = new Float32Array(vec);
        embedding = Buffer.from(f.buffer).toString('base64');
      }
      return { object: 'embedding', index, embedding };
    });
    record.status = 200;
    return sendJson(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  // ------------------------------------------------------------------ /v1/moderations
  // Scores are deterministic functions of the words (see moderationScores); `flagged` and
  // `categories` are true from 0.5, as the real endpoint's own cut.

  async function moderations(req, res, record) {
    const body = record.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'The request body must be a JSON object.');
    for (const k of Object.keys(body)) {
      if (!MODERATION_PARAMS.has(k)) throw new ApiError(400, `Unrecognized request argument supplied: ${k}`, { param: k });
    }
    const behavior = onceThen(behaviorOf(req, {}, forcedBehavior));
    if (await applyFault(req, res, record, behavior)) return;
    let inputs = body.input;
    if (inputs == null || inputs === '' || (Array.isArray(inputs) && inputs.length === 0)) {
      throw new ApiError(400, "'$.input' is invalid. Please check the API reference.", { param: 'input' });
    }
    if (!Array.isArray(inputs)) inputs = [inputs];
    // string[] | ({type: 'text', text} | {type: 'image_url', image_url: {url}})[]: multimodal
    // inputs are judged together, as one result.
    const multimodal = inputs.some((x) => x && typeof x === 'object');
    const texts = multimodal
      ? [inputs.filter((x) => x?.type === 'text').map((x) => String(x.text ?? '')).join('\n')]
      : inputs.map((x) => {
          if (typeof x !== 'string') throw new ApiError(400, "'$.input' is invalid. Please check the API reference.", { param: 'input' });
          return x;
        });
    const results = texts.map((text) => {
      const scores = moderationScores(text);
      const categories = Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, v >= 0.5]));
      const applied = Object.fromEntries(Object.keys(scores).map((k) => [k, ['text']]));
      return { flagged: Object.values(categories).some(Boolean), categories, category_scores: scores, category_applied_input_types: applied };
    });
    record.status = 200;
    return sendJson(res, 200, { id: `modr-${randomId('', 24)}`, model: body.model ?? 'omni-moderation-latest', results });
  }

  // ------------------------------------------------------------------ /v1/models

  const MODEL_IDS = ['gpt-4o', 'gpt-4o-mini', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small'];
  function models(res, record, one) {
    const obj = (id) => ({ id, object: 'model', created: 1715367049, owned_by: 'system' });
    record.status = 200;
    if (one !== undefined) {
      if (!MODEL_IDS.includes(one)) throw new ApiError(404, `The model '${one}' does not exist`, { param: 'model', code: 'model_not_found' });
      return sendJson(res, 200, obj(one));
    }
    return sendJson(res, 200, { object: 'list', data: MODEL_IDS.map(obj) });
  }

  // ------------------------------------------------------------------ lifecycle

  // mock-429-once-<s>-then-<behavior>: the first request gets the 429, the rest <behavior>.
  const rateLimitedOnce = new Set();
  function onceThen(behavior) {
    const m = /^mock-429-once-(\d+)-then-(.+)$/.exec(behavior);
    if (!m) return behavior;
    if (!rateLimitedOnce.has(behavior)) {
      rateLimitedOnce.add(behavior);
      const err = errorForStatus(429);
      err.headers = { ...err.headers, 'retry-after': m[1] };
      throw err;
    }
    return m[2] === 'ok' ? '' : m[2];
  }

  function reset() {
    rateLimitedOnce.clear();
    storedResponses.clear();
    requests.length = 0;
    for (const k of ['requests_total', 'completed_streams', 'aborted_streams', 'aborted_requests', 'connections_total']) stats[k] = 0;
  }

  const fail = (res, err) => sendJson(res, 500, { error: { message: String(err?.message ?? err), type: 'server_error', param: null, code: null } });
  const countConnection = (socket) => {
    stats.connections_total++;
    stats.connections_open++;
    socket.on('close', () => stats.connections_open--);
  };
  const { port: actualPort, url, close } = await serveMock({ port, host, handle, fail, log, keepAliveTimeout, onConnection: countConnection });
  return {
    port: actualPort,
    url,
    baseURL: `${url}/v1`,
    apiKey,
    requests, // live array of every request received (hooks excluded)
    stats, // live counters
    reset,
    close,
    /** Makes every generation request behave as `behavior` names (null: back to the model's). */
    setBehavior(behavior) {
      forcedBehavior = typeof behavior === 'string' && behavior ? behavior : null;
    },
    /** Requests to `path` (e.g. '/v1/chat/completions'). */
    requestsTo(path) {
      return requests.filter((r) => r.path === path);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Standalone.

await runStandalone(import.meta.url, (opt) =>
  startOpenAIMock({
    port: Number(opt('port', '0')),
    host: opt('host', '127.0.0.1'),
    apiKey: opt('api-key', process.env.MOCK_OPENAI_API_KEY ?? DEFAULT_API_KEY),
    log: true,
  }),
);
