// A mock Google Gemini API (generativelanguage v1beta) that speaks Gemini's wire format closely
// enough to catch what gateways get wrong: auth by `x-goog-api-key` or `?key=`, the Schema
// subset of function declarations, the function response count, roles, SSE only with
// `?alt=sse` (else one JSON array), events terminated by "\r\n\r\n", usageMetadata without
// candidatesTokenCount on intermediate stream chunks.
//
// Routes (POST):
//   /v1beta/models/{model}:generateContent
//   /v1beta/models/{model}:streamGenerateContent[?alt=sse]
//   /v1beta/models/{model}:embedContent
//   /v1beta/models/{model}:batchEmbedContents
//
// Answers are deterministic functions of the request, so tests can assert exact content/usage:
//   - text is "Echo: <text of the last user turn>" (inline/file parts add " [images: N]"); after
//     a function response it is "Tool result: <JSON of the last response object>";
//   - with function declarations (and mode not NONE) the model calls the first function (the
//     first allowed one under mode ANY + allowedFunctionNames) with arguments that satisfy its
//     schema, strings filled with the last user text; the first call carries a thoughtSignature;
//   - a token is a whitespace-separated word: promptTokenCount counts the words of every text
//     part (system instruction included) plus those of function call args / responses as JSON;
//     candidatesTokenCount the words of the answer (a function call: words of its args JSON + 1);
//   - maxOutputTokens truncates the answer to that many words (finishReason MAX_TOKENS);
//   - started with { directives: true }, functions are called and thoughts emitted only as the
//     prompt says (directives.mjs);
//   - thinkingConfig (budget > 0 or a level) reports thoughtsTokenCount 5; includeThoughts adds
//     a `thought: true` part;
//   - responseMimeType application/json answers JSON ({"echo": text}, or a value of responseSchema);
//   - embeddings come from embeddingFor(text, dims) (a hashed bag of words, float32-exact), dims = outputDimensionality
//     or 8.
//
// Behaviour chosen by the model name, or an `x-mock-behavior` header:
//   mock-error-<status>     that status with Google's error envelope (429 RESOURCE_EXHAUSTED,
//                           500 INTERNAL, 503 UNAVAILABLE, 404 NOT_FOUND, 400 INVALID_ARGUMENT)
//   mock-context-length     400 "The input token count (N) exceeds the maximum number of tokens allowed"
//   mock-safety             the candidate stops with finishReason SAFETY (after one word when streaming)
//   mock-blocked            the prompt is blocked: promptFeedback.blockReason, no candidates
//   mock-cached             cachedContentTokenCount = half the prompt tokens
//   mock-stream-error       streams two events, then an event with an `error` object
//   mock-fragmented-stream  writes each SSE event in 3-byte pieces (splits UTF-8 code points)
//   gemini-3*               (model name) function calls in the history must carry their
//                           thoughtSignature, as Gemini 3 requires
//
// Test hooks (no auth): GET /__mock/requests, POST /__mock/reset.
//
// Standalone: node tests/mocks/gemini-mock.mjs --port 0 [--api-key K] [--host 127.0.0.1]
// prints "mock listening on PORT".

import { directivesIn, toolsAsSaid } from './directives.mjs';
import {
  answerHook, bagOfWordsEmbedding, countTokens, randomId, readBody, runStandalone, serveMock, splitWords, valueForSchema, writeInPieces,
} from './mock-server.mjs';

export const DEFAULT_API_KEY = 'AIza-mock-gemini-upstream';
const DEFAULT_EMBEDDING_DIMS = 8;
const THOUGHT_SIGNATURE = 'bW9jay10aG91Z2h0LXNpZ25hdHVyZQ==';

// Keys Gemini's Schema (an OpenAPI 3.0 subset) knows; anything else in a function declaration's
// parameters is a 400, as the real API answers.
const SCHEMA_KEYS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties',
  'required', 'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf',
  'propertyOrdering', 'default', 'items', 'minimum', 'maximum',
]);
const SCHEMA_TYPES = new Set(['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);
const REQUEST_KEYS = new Set([
  'contents', 'tools', 'toolConfig', 'tool_config', 'safetySettings', 'safety_settings', 'systemInstruction',
  'system_instruction', 'generationConfig', 'generation_config', 'cachedContent', 'cached_content',
]);
const GENERATION_KEYS = new Set([
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities',
  'candidateCount', 'maxOutputTokens', 'temperature', 'topP', 'topK', 'seed', 'presencePenalty',
  'frequencyPenalty', 'responseLogprobs', 'logprobs', 'enableEnhancedCivicAnswers', 'speechConfig',
  'thinkingConfig', 'mediaResolution',
]);
const PART_DATA_KEYS = ['text', 'inlineData', 'functionCall', 'functionResponse', 'fileData', 'executableCode', 'codeExecutionResult'];

// ---------------------------------------------------------------------------------------------
// Deterministic content, exported so tests compute the same expectations.

export { countTokens };

/** The embedding of `text` (bagOfWordsEmbedding), 8 dimensions unless told. */
export function embeddingFor(text, dims = DEFAULT_EMBEDDING_DIMS) {
  return bagOfWordsEmbedding(text, dims);
}

// ---------------------------------------------------------------------------------------------
// Errors in Google's envelope: {"error":{"code","message","status","details"?}}.

const STATUS_NAMES = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  409: 'ABORTED', 429: 'RESOURCE_EXHAUSTED', 499: 'CANCELLED', 500: 'INTERNAL', 503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

class ApiError extends Error {
  constructor(code, message, { status, details } = {}) {
    super(message);
    this.code = code;
    this.status = status ?? STATUS_NAMES[code] ?? (code >= 500 ? 'INTERNAL' : 'INVALID_ARGUMENT');
    this.details = details;
  }
  body() {
    const error = { code: this.code, message: this.message, status: this.status };
    if (this.details) error.details = this.details;
    return { error };
  }
}

function invalid(message, fieldViolations) {
  return new ApiError(400, message, {
    details: fieldViolations
      ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations }]
      : undefined,
  });
}

function errorForStatus(code, model) {
  switch (code) {
    case 400:
      return invalid('Request contains an invalid argument.');
    case 404:
      return new ApiError(404, `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`);
    case 429:
      return new ApiError(429, 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.', {
        details: [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier' }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' },
        ],
      });
    case 500:
      return new ApiError(500, 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');
    case 503:
      return new ApiError(503, 'The model is overloaded. Please try again later.');
    default:
      return new ApiError(code, `Mock error ${code}.`);
  }
}

// ---------------------------------------------------------------------------------------------
// Request validation, as the real API does it.

function checkSchema(schema, where) {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw invalid(`Invalid value at '${where}': expected a Schema object.`);
  }
  for (const [k, v] of Object.entries(schema)) {
    if (!SCHEMA_KEYS.has(k)) {
      throw invalid(`Invalid JSON payload received. Unknown name "${k}" at '${where}': Cannot find field.`, [
        { field: where, description: `Invalid JSON payload received. Unknown name "${k}" at '${where}': Cannot find field.` },
      ]);
    }
    if (k === 'type' && (typeof v !== 'string' || !SCHEMA_TYPES.has(v.toUpperCase()))) {
      throw invalid(`Invalid value at '${where}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "${v}"`);
    }
    if (k === 'properties') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`Invalid value at '${where}.properties'.`);
      for (const [name, sub] of Object.entries(v)) checkSchema(sub, `${where}.properties[${name}].value`);
    }
    if (k === 'items') checkSchema(v, `${where}.items`);
    if (k === 'anyOf') {
      if (!Array.isArray(v)) throw invalid(`Invalid value at '${where}.any_of'.`);
      v.forEach((s, i) => checkSchema(s, `${where}.any_of[${i}]`));
    }
    if (k === 'enum' && (!Array.isArray(v) || v.some((e) => typeof e !== 'string'))) {
      throw invalid(`Invalid value at '${where}.enum': enum values must be strings.`);
    }
  }
  const type = String(schema.type ?? '').toUpperCase();
  if (type === 'OBJECT' && schema.properties && Object.keys(schema.properties).length === 0) {
    throw invalid(`* GenerateContentRequest.${where}.properties: should be non-empty for OBJECT type\n`);
  }
}

function textOfParts(parts) {
  return (parts ?? []).filter((p) => typeof p?.text === 'string' && !p.thought).map((p) => p.text).join(' ');
}

function validateGenerate(body, model) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalid('Invalid JSON payload received. Expected an object.');
  for (const k of Object.keys(body)) {
    if (!REQUEST_KEYS.has(k)) throw invalid(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`, [{ description: `Invalid JSON payload received. Unknown name "${k}": Cannot find field.` }]);
  }
  const contents = body.contents;
  if (!Array.isArray(contents) || contents.length === 0) throw invalid('* GenerateContentRequest.contents: contents is not specified\n');
  contents.forEach((c, i) => {
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model') {
      throw invalid(`Please use a valid role: user, model.`);
    }
    if (!Array.isArray(c.parts) || c.parts.length === 0) {
      throw invalid(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.\n`);
    }
    c.parts.forEach((p, j) => {
      const data = PART_DATA_KEYS.filter((k) => p && p[k] !== undefined);
      if (data.length !== 1) {
        throw invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].data: required oneof field 'data' must have one initialized field\n`);
      }
      if (p.functionResponse) {
        const r = p.functionResponse.response;
        if (!r || typeof r !== 'object' || Array.isArray(r)) {
          throw invalid(`Invalid value at 'contents[${i}].parts[${j}].function_response.response' (type.googleapis.com/google.protobuf.Struct), ${JSON.stringify(r)}`);
        }
        if (typeof p.functionResponse.name !== 'string' || !p.functionResponse.name) {
          throw invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].function_response.name: Name cannot be empty.\n`);
        }
      }
      if (p.functionCall && (typeof p.functionCall.name !== 'string' || !p.functionCall.name)) {
        throw invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].function_call.name: Name cannot be empty.\n`);
      }
      if (p.inlineData && (typeof p.inlineData.data !== 'string' || typeof p.inlineData.mimeType !== 'string')) {
        throw invalid(`* GenerateContentRequest.contents[${i}].parts[${j}].inline_data: mimeType and data are required.\n`);
      }
    });
    // Each function-call turn must be answered by exactly as many function responses.
    const calls = c.role === 'model' ? c.parts.filter((p) => p.functionCall).length : 0;
    if (calls > 0) {
      const next = contents[i + 1];
      const responses = next ? next.parts.filter((p) => p.functionResponse).length : 0;
      if (next && responses !== calls) {
        throw invalid('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
      }
      if (model.startsWith('gemini-3')) {
        const first = c.parts.find((p) => p.functionCall);
        if (!first.thoughtSignature) {
          throw invalid(`Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${first.functionCall.name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
        }
      }
    }
    const responses = c.parts.filter((p) => p.functionResponse).length;
    if (responses > 0) {
      const prev = contents[i - 1];
      const prevCalls = prev && prev.role === 'model' ? prev.parts.filter((p) => p.functionCall).length : 0;
      if (prevCalls !== responses) {
        throw invalid('Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.');
      }
    }
  });
  const sys = body.systemInstruction ?? body.system_instruction;
  if (sys !== undefined && (!sys || !Array.isArray(sys.parts))) throw invalid("Invalid value at 'system_instruction'.");

  (body.tools ?? []).forEach((tool, i) => {
    (tool.functionDeclarations ?? tool.function_declarations ?? []).forEach((fd, j) => {
      if (typeof fd.name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/.test(fd.name)) {
        throw invalid(`* GenerateContentRequest.tools[${i}].function_declarations[${j}].name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.\n`);
      }
      if (fd.parameters !== undefined) checkSchema(fd.parameters, `tools[${i}].function_declarations[${j}].parameters`);
    });
  });

  const gc = body.generationConfig ?? body.generation_config;
  if (gc !== undefined) {
    for (const k of Object.keys(gc)) {
      if (!GENERATION_KEYS.has(k)) {
        throw invalid(`Invalid JSON payload received. Unknown name "${k}" at 'generation_config': Cannot find field.`);
      }
    }
    if (gc.responseSchema !== undefined) checkSchema(gc.responseSchema, 'generation_config.response_schema');
    if (gc.maxOutputTokens !== undefined && !(Number.isInteger(gc.maxOutputTokens) && gc.maxOutputTokens > 0)) {
      throw invalid('* GenerateContentRequest.generation_config.max_output_tokens: must be positive\n');
    }
    if (gc.temperature !== undefined && (typeof gc.temperature !== 'number' || gc.temperature < 0 || gc.temperature > 2)) {
      throw invalid('* GenerateContentRequest.generation_config.temperature: must be in [0, 2]\n');
    }
    if (Array.isArray(gc.stopSequences) && gc.stopSequences.length > 5) {
      throw invalid('* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are allowed\n');
    }
    const tc = gc.thinkingConfig;
    if (tc && tc.thinkingBudget !== undefined && tc.thinkingLevel !== undefined) {
      throw invalid('You can only set only one of thinking budget and thinking level.');
    }
  }
  const fcc = (body.toolConfig ?? body.tool_config)?.functionCallingConfig;
  if (fcc) {
    if (fcc.mode !== undefined && !['AUTO', 'ANY', 'NONE', 'VALIDATED', 'MODE_UNSPECIFIED'].includes(fcc.mode)) {
      throw invalid(`Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "${fcc.mode}"`);
    }
    if (fcc.allowedFunctionNames && fcc.mode !== 'ANY' && fcc.mode !== 'VALIDATED') {
      throw invalid('* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: allowed_function_names should only be set when the Mode is ANY or VALIDATED.\n');
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** Starts the mock on host:port (0 = any free port). */
export async function startGeminiMock({ apiKey = DEFAULT_API_KEY, port = 0, host = '127.0.0.1', log = false, directives = false } = {}) {
  const requests = [];

  function sendJson(res, status, obj) {
    const body = JSON.stringify(obj, null, 2);
    res.writeHead(status, {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': Buffer.byteLength(body),
      vary: 'Origin, X-Origin, Referer',
      'server-timing': 'gfet4t7; dur=1',
    });
    res.end(body);
  }

  function checkAuth(req, url) {
    const key = req.headers['x-goog-api-key'] ?? url.searchParams.get('key');
    if (!key) {
      throw new ApiError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", { status: 'PERMISSION_DENIED' });
    }
    if (apiKey != null && key !== apiKey) {
      throw new ApiError(400, 'API key not valid. Please pass a valid API key.', {
        details: [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
          { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
        ],
      });
    }
  }

  async function handle(req, res) {
    const url = new URL(req.url, 'http://mock');
    if (answerHook(req, res, url.pathname, { requests, reset, sendJson })) return;
    const raw = await readBody(req);
    const record = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: null,
      status: 0,
    };
    requests.push(record);
    try {
      const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|embedContent|batchEmbedContents|countTokens)$/.exec(url.pathname);
      if (!m) throw new ApiError(404, `Requested entity was not found.`);
      if (req.method !== 'POST') throw new ApiError(405, 'Method not allowed.', { status: 'INVALID_ARGUMENT' });
      checkAuth(req, url);
      try {
        record.body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch {
        throw invalid(`Invalid JSON payload received. Unexpected token.\n${raw.toString('utf8').slice(0, 40)}\n^`);
      }
      const model = decodeURIComponent(m[1]);
      const behavior = (typeof req.headers['x-mock-behavior'] === 'string' && req.headers['x-mock-behavior']) || model;
      let em;
      if ((em = /^mock-error-(\d{3})$/.exec(behavior))) throw errorForStatus(Number(em[1]), model);
      switch (m[2]) {
        case 'generateContent':
          return generate(res, record, model, behavior, null);
        case 'streamGenerateContent':
          return generate(res, record, model, behavior, url.searchParams.get('alt') === 'sse' ? 'sse' : 'array');
        case 'embedContent':
          return embed(res, record, model);
        case 'batchEmbedContents':
          return batchEmbed(res, record, model);
        case 'countTokens': {
          // {contents} or {generateContentRequest: {model, contents, systemInstruction, ...}}
          const g = record.body.generateContentRequest ?? record.body;
          if (!Array.isArray(g.contents)) throw invalid('* CountTokensRequest.contents: contents is not specified\n');
          let totalTokens = countTokens(textOfParts((g.systemInstruction ?? g.system_instruction)?.parts));
          for (const c of g.contents) totalTokens += countTokens(textOfParts(c.parts));
          record.status = 200;
          return sendJson(res, 200, { totalTokens });
        }
      }
    } catch (err) {
      if (err instanceof ApiError) record.status = err.code;
      throw err;
    }
  }

  // ------------------------------------------------------------------ generateContent

  function answerFor(body, model, behavior) {
    const contents = body.contents;
    const sys = body.systemInstruction ?? body.system_instruction;
    const gc = body.generationConfig ?? body.generation_config ?? {};
    let promptTokens = countTokens(textOfParts(sys?.parts));
    for (const c of contents) {
      promptTokens += countTokens(textOfParts(c.parts));
      for (const p of c.parts) {
        if (p.functionCall) promptTokens += countTokens(JSON.stringify(p.functionCall.args ?? {}));
        if (p.functionResponse) promptTokens += countTokens(JSON.stringify(p.functionResponse.response));
      }
    }
    if (behavior === 'mock-context-length') {
      throw invalid(`The input token count (${promptTokens + 1048576}) exceeds the maximum number of tokens allowed (1048576).`);
    }
    const last = contents[contents.length - 1];
    const lastUser = [...contents].reverse().find((c) => (c.role ?? 'user') === 'user' && c.parts.some((p) => typeof p.text === 'string'));
    const userText = textOfParts(lastUser?.parts);
    const lastResponse = [...(last.parts ?? [])].reverse().find((p) => p.functionResponse);

    let decls = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? t.function_declarations ?? []);
    // Directive mode (directives.mjs): only the function the prompt names, and only once.
    const said = directives
      ? directivesIn(contents.filter((c) => (c.role ?? 'user') === 'user').map((c) => textOfParts(c.parts)).join('\n'))
      : null;
    const answered = contents.some((c) => (c.parts ?? []).some((p) => p.functionResponse));
    decls = toolsAsSaid(said, decls, (d) => d.name, answered);
    const fcc = (body.toolConfig ?? body.tool_config)?.functionCallingConfig ?? {};
    const thinking = gc.thinkingConfig && ((gc.thinkingConfig.thinkingBudget ?? 0) !== 0 || gc.thinkingConfig.thinkingLevel);
    const thoughtsTokens = thinking ? 5 : 0;

    const candidates = [];
    const n = Number.isInteger(gc.candidateCount) && gc.candidateCount > 0 ? gc.candidateCount : 1;
    let candidatesTokens = 0;
    for (let index = 0; index < n; index++) {
      const parts = [];
      let finishReason = 'STOP';
      if (said?.think) parts.push({ text: said.think, thought: true });
      else if (thinking && gc.thinkingConfig.includeThoughts) parts.push({ text: `Thinking about: ${userText}`, thought: true });
      if (decls.length && fcc.mode !== 'NONE' && !lastResponse) {
        let decl = decls[0];
        if (Array.isArray(fcc.allowedFunctionNames) && fcc.allowedFunctionNames.length) {
          decl = decls.find((d) => d.name === fcc.allowedFunctionNames[0]) ?? decl;
        }
        const args = said?.args ?? valueForSchema(decl.parameters ?? { type: 'OBJECT' }, userText);
        parts.push({ functionCall: { name: decl.name, args }, thoughtSignature: THOUGHT_SIGNATURE });
        candidatesTokens += countTokens(JSON.stringify(args)) + 1;
      } else {
        let text;
        if (lastResponse) {
          text = `Tool result: ${JSON.stringify(lastResponse.functionResponse.response)}`;
        } else {
          const images = (lastUser?.parts ?? []).filter((p) => p.inlineData || p.fileData).length;
          text = `Echo: ${userText}${images ? ` [images: ${images}]` : ''}`;
        }
        if (gc.responseMimeType === 'application/json') {
          text = JSON.stringify(gc.responseSchema ? valueForSchema(gc.responseSchema, userText) : { echo: text });
        } else if (Number.isInteger(gc.maxOutputTokens)) {
          const words = splitWords(text);
          if (words.length > gc.maxOutputTokens) {
            text = words.slice(0, gc.maxOutputTokens).join('');
            finishReason = 'MAX_TOKENS';
          }
        }
        if (behavior === 'mock-safety') {
          text = splitWords(text)[0] ?? '';
          finishReason = 'SAFETY';
        }
        parts.push({ text });
        candidatesTokens += countTokens(text);
      }
      const cand = { content: { parts, role: 'model' }, finishReason, index };
      if (behavior === 'mock-safety') {
        cand.safetyRatings = [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }];
      }
      candidates.push(cand);
    }
    const usage = {
      promptTokenCount: promptTokens,
      candidatesTokenCount: candidatesTokens,
      totalTokenCount: promptTokens + candidatesTokens + thoughtsTokens,
      promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
    };
    if (thoughtsTokens) usage.thoughtsTokenCount = thoughtsTokens;
    if (behavior === 'mock-cached') {
      usage.cachedContentTokenCount = Math.floor(promptTokens / 2);
      usage.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: usage.cachedContentTokenCount }];
    }
    return { candidates, usage, model };
  }

  async function generate(res, record, model, behavior, streamMode) {
    const body = record.body;
    validateGenerate(body, model);
    const responseId = randomId('', 22);
    const modelVersion = model;

    if (behavior === 'mock-blocked') {
      const promptTokens = body.contents.reduce((a, c) => a + countTokens(textOfParts(c.parts)), 0);
      const blocked = {
        promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
        usageMetadata: { promptTokenCount: promptTokens, totalTokenCount: promptTokens },
        modelVersion,
        responseId,
      };
      record.status = 200;
      if (!streamMode) return sendJson(res, 200, blocked);
      return writeStream(res, record, [blocked], streamMode, behavior);
    }

    const { candidates, usage } = answerFor(body, model, behavior);
    if (!streamMode) {
      record.status = 200;
      return sendJson(res, 200, { candidates, usageMetadata: usage, modelVersion, responseId });
    }

    // Streaming: one event per word of each text part; a function call whole in one event;
    // intermediate events carry usageMetadata without candidatesTokenCount.
    const partial = { promptTokenCount: usage.promptTokenCount, totalTokenCount: usage.promptTokenCount, promptTokensDetails: usage.promptTokensDetails };
    const events = [];
    const steps = candidates.map((c) => {
      const pieces = [];
      for (const p of c.content.parts) {
        if (typeof p.text === 'string') {
          for (const w of splitWords(p.text)) pieces.push(p.thought ? { text: w, thought: true } : { text: w });
          if (p.text === '') pieces.push({ text: '' });
        } else {
          pieces.push(p);
        }
      }
      return pieces;
    });
    const longest = Math.max(...steps.map((s) => s.length));
    for (let k = 0; k < longest; k++) {
      const cands = [];
      candidates.forEach((c, i) => {
        if (k >= steps[i].length) return;
        const cand = { content: { parts: [steps[i][k]], role: 'model' }, index: c.index };
        if (k === steps[i].length - 1) {
          cand.finishReason = c.finishReason;
          if (c.safetyRatings) cand.safetyRatings = c.safetyRatings;
        }
        cands.push(cand);
      });
      events.push({ candidates: cands, usageMetadata: k === longest - 1 ? usage : partial, modelVersion, responseId });
    }
    record.status = 200;
    return writeStream(res, record, events, streamMode, behavior);
  }

  async function writeStream(res, record, events, mode, behavior) {
    record.stream = mode;
    if (mode === 'array') {
      // Without alt=sse Google streams one JSON array, element by element.
      res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
      res.write('[');
      events.forEach((e, i) => res.write(`${i ? ',\r\n' : ''}${JSON.stringify(e)}`));
      res.end(']');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'content-disposition': 'attachment',
      'x-content-type-options': 'nosniff',
    });
    let frames = events.map((e) => `data: ${JSON.stringify(e)}\r\n\r\n`);
    if (behavior === 'mock-stream-error') {
      frames = frames.slice(0, 2);
      frames.push(`data: ${JSON.stringify(new ApiError(503, 'The model is overloaded. Please try again later.').body())}\r\n\r\n`);
    }
    for (const f of frames) {
      if (res.destroyed) return;
      if (behavior === 'mock-fragmented-stream') await writeInPieces(res, f);
      else res.write(f);
    }
    if (!res.destroyed) res.end();
  }

  // ------------------------------------------------------------------ embeddings

  function embedOne(reqBody, model, where) {
    if (!reqBody || typeof reqBody !== 'object') throw invalid(`Invalid value at '${where}'.`);
    for (const k of Object.keys(reqBody)) {
      if (!['model', 'content', 'taskType', 'title', 'outputDimensionality'].includes(k)) {
        throw invalid(`Invalid JSON payload received. Unknown name "${k}" at '${where || 'request'}': Cannot find field.`);
      }
    }
    if (reqBody.model !== undefined && reqBody.model !== `models/${model}`) {
      throw invalid(`* BatchEmbedContentsRequest.${where}.model: Model in the request must match the model in the URL (models/${model}).\n`);
    }
    const parts = reqBody.content?.parts;
    if (!Array.isArray(parts) || parts.length === 0) throw invalid(`* ${where ? `BatchEmbedContentsRequest.${where}` : 'EmbedContentRequest'}.content: contents is not specified\n`);
    const text = textOfParts(parts);
    const dims = reqBody.outputDimensionality;
    if (dims !== undefined && !(Number.isInteger(dims) && dims > 0)) throw invalid('* EmbedContentRequest.output_dimensionality: must be positive\n');
    return { values: embeddingFor(text, dims ?? DEFAULT_EMBEDDING_DIMS) };
  }

  function embed(res, record, model) {
    const embedding = embedOne(record.body, model, '');
    record.status = 200;
    return sendJson(res, 200, { embedding });
  }

  function batchEmbed(res, record, model) {
    const reqs = record.body?.requests;
    if (!Array.isArray(reqs) || reqs.length === 0) throw invalid('* BatchEmbedContentsRequest.requests: requests is not specified\n');
    for (const k of Object.keys(record.body)) {
      if (k !== 'requests') throw invalid(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
    }
    if (reqs.length > 100) throw invalid('* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n');
    const embeddings = reqs.map((r, i) => embedOne(r, model, `requests[${i}]`));
    record.status = 200;
    return sendJson(res, 200, { embeddings });
  }

  // ------------------------------------------------------------------ lifecycle

  function reset() {
    requests.length = 0;
  }

  const fail = (res, err) => {
    const e = err instanceof ApiError ? err : new ApiError(500, String(err?.message ?? err));
    sendJson(res, e.code, e.body());
  };
  const expected = (err) => err instanceof ApiError;
  const { port: actualPort, url, close } = await serveMock({ port, host, handle, fail, log, expected });
  return {
    port: actualPort,
    url,
    apiKey,
    requests, // live array of every request received (hooks excluded)
    reset,
    close,
    /** Requests whose path ends with `suffix` (e.g. ':generateContent'). */
    requestsTo(suffix) {
      return requests.filter((r) => r.path.endsWith(suffix));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Standalone.

await runStandalone(import.meta.url, (opt) =>
  startGeminiMock({
    port: Number(opt('port', '0')),
    host: opt('host', '127.0.0.1'),
    apiKey: opt('api-key', process.env.MOCK_GEMINI_API_KEY ?? DEFAULT_API_KEY),
    log: true,
  }),
);
