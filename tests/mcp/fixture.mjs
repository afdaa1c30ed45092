// A fixture upstream MCP server for the gateway's tests, built on the official v2 server SDK
// (both eras: 2026-07-28 stateless, and 2025 legacy requests served statelessly). It exposes
// the names the official conformance suite calls (MCP-NOTES §7) plus what the gateway's own
// tests need: recorded request headers (GET /__seen), a bearer it may require, an OAuth2
// client-credentials token endpoint (POST /token), a 120-character tool name, a read-only tool.
//
//   node fixture.mjs [--port N] [--require-bearer TOKEN] [--oauth ID:SECRET] [--name NAME]
// Prints one JSON line {"port": N} once listening on 127.0.0.1.
import http from 'node:http';
import crypto from 'node:crypto';
import { z } from 'zod';
import { McpServer, ResourceTemplate, createMcpHandler, inputRequired, createRequestStateCodec, completable, MissingRequiredClientCapabilityError, fromJsonSchema } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const port = Number(opt('port', '0'));
const requireBearer = opt('require-bearer', '');
const oauth = opt('oauth', '');  // "client:secret": tokens minted at /token are required
const serverName = opt('name', 'tollgate-fixture');

// 1x1 red PNG and a tiny WAV.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
const WAV = 'UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=';
const LONG_NAME = 'a_tool_name_that_goes_on_and_on_' + 'x'.repeat(120 - 32 - 4) + '_end';

let aborts = 0;  // test_slow calls whose client went away (the gateway cancelled them)
const seen = [];  // headers of every MCP request, for the credential tests
const tokens = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const clientCaps = (ctx) => {
  const env = ctx.mcpReq.envelope ?? {};
  return env.clientCapabilities ?? env['io.modelcontextprotocol/clientCapabilities'] ?? {};
};
const text = (t) => ({ content: [{ type: 'text', text: t }] });
const stateCodec = createRequestStateCodec({ key: crypto.randomBytes(32) });

function build() {
  const server = new McpServer({ name: serverName, version: '1.0.0' },
    { capabilities: { logging: {}, completions: {}, resources: { subscribe: true } }, requestState: { verify: (st, c) => stateCodec.verify(st, c) } });
  const tool = (name, config, cb) => server.registerTool(name, { description: `fixture tool ${name}`, ...config }, cb);

  tool('test_simple_text', { annotations: { readOnlyHint: true } }, async () => text('This is a simple text response for testing.'));
  tool('test_image_content', {}, async () => ({ content: [{ type: 'image', data: PNG, mimeType: 'image/png' }] }));
  tool('test_audio_content', {}, async () => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] }));
  tool('test_embedded_resource', {}, async () => ({
    content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
  }));
  tool('test_multiple_content_types', {}, async () => ({
    content: [
      { type: 'text', text: 'Multiple content types test:' },
      { type: 'image', data: PNG, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: '{"test":"data","value":123}' } },
    ],
  }));
  const logging = async (...a) => {
    const ctx = a.at(-1);
    await ctx.mcpReq.log('info', 'Tool execution started');
    await sleep(50);
    await ctx.mcpReq.log('info', 'Tool processing data');
    await sleep(50);
    await ctx.mcpReq.log('info', 'Tool execution completed');
    return text('Tool with logging executed successfully');
  };
  tool('test_tool_with_logging', {}, logging);
  tool('test_logging_tool', {}, logging);
  tool('test_tool_with_progress', {}, async (...a) => {
    const ctx = a.at(-1);
    const token = ctx.mcpReq._meta?.progressToken;
    for (const p of [0, 50, 100]) {
      if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: p, total: 100 } });
      if (p < 100) await sleep(50);
    }
    return text('Tool with progress executed successfully');
  });
  tool('test_error_handling', {}, async () => ({ isError: true, content: [{ type: 'text', text: 'This tool intentionally returns an error for testing' }] }));
  // A slow tool: the gateway's cancellation test closes the client stream while it runs.
  tool('test_slow', { inputSchema: z.object({ ms: z.number().optional() }) }, async ({ ms }, ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    const until = Date.now() + (ms ?? 3000);
    let i = 0;
    while (Date.now() < until && !ctx.mcpReq.signal.aborted) {
      if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: ++i } });
      await sleep(100);
    }
    if (ctx.mcpReq.signal.aborted) aborts++;
    return text(ctx.mcpReq.signal.aborted ? 'aborted' : 'slow done');
  });
  // A stream that goes quiet: one progress event, then nothing until the answer.
  tool('test_quiet_stream', { inputSchema: z.object({ ms: z.number() }) }, async ({ ms }, ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    if (token !== undefined) await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: 1 } });
    await sleep(ms);
    return text('quiet done');
  });
  tool('echo_headers', { annotations: { readOnlyHint: true } }, async () => text(JSON.stringify(seen.at(-1) ?? {})));
  tool('delete_everything', { annotations: { destructiveHint: true } }, async () => text('deleted'));
  // For the guardrail tests: what a tool is sent comes back; a tool that returns PII.
  tool('echo_text', { inputSchema: z.object({ text: z.string() }) }, async ({ text: t }) => text(`echo: ${t}`));
  tool('lookup_contact', {}, async () => ({ content: [{ type: 'text', text: 'Contact: bob.smith@example.org, card 4111 1111 1111 1111' },
    { type: 'resource', resource: { uri: 'test://contact', mimeType: 'text/plain', text: 'bob.smith@example.org' } }] }));
  tool(LONG_NAME, {}, async () => text('long name reached'));

  // MRTR (2026-07-28); the SDK's legacy shim turns these into server->client requests for 2025 clients.
  const nameSchema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
  const askName = (message) => inputRequired.elicit({ message, requestedSchema: nameSchema });
  tool('test_input_required_result_elicitation', {}, async (...a) => {
    const ctx = a.at(-1);
    const r = ctx.mcpReq.inputResponses?.user_name;
    const name = r?.action === 'accept' ? r.content?.name : undefined;
    if (typeof name !== 'string') return inputRequired({ inputRequests: { user_name: askName('What is your name?') } });
    return text(`Hello, ${name}!`);
  });
  tool('test_input_required_result_sampling', {}, async (...a) => {
    const ctx = a.at(-1);
    const r = ctx.mcpReq.inputResponses?.capital_question;
    if (!r) return inputRequired({ inputRequests: { capital_question: inputRequired.createMessage({
      messages: [{ role: 'user', content: { type: 'text', text: 'What is the capital of France?' } }], maxTokens: 100 }) } });
    return text(`Sampling response: ${r.content?.text ?? JSON.stringify(r.content)}`);
  });
  tool('test_input_required_result_list_roots', {}, async (...a) => {
    const ctx = a.at(-1);
    const r = ctx.mcpReq.inputResponses?.client_roots;
    if (!r) return inputRequired({ inputRequests: { client_roots: inputRequired.listRoots() } });
    return text(`Roots: ${(r.roots ?? []).map((x) => x.uri).join(', ')}`);
  });
  const okSchema = { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] };
  tool('test_input_required_result_request_state', {}, async (...a) => {
    const ctx = a.at(-1);
    const r = ctx.mcpReq.inputResponses?.confirm;
    const state = ctx.mcpReq.requestState();
    if (!r || !state) return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: 'Please confirm', requestedSchema: okSchema }) },
      requestState: await stateCodec.mint({ round: 1 }) });
    return text('state-ok: confirmed');
  });
  tool('test_input_required_result_tampered_state', {}, async (...a) => {
    const ctx = a.at(-1);
    const r = ctx.mcpReq.inputResponses?.confirm;
    const state = ctx.mcpReq.requestState();
    if (!r || !state) return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: 'Please confirm', requestedSchema: okSchema }) },
      requestState: await stateCodec.mint({ round: 1 }) });
    return text('state-ok');
  });
  tool('test_input_required_result_multiple_inputs', {}, async (...a) => {
    const ctx = a.at(-1);
    const ir = ctx.mcpReq.inputResponses ?? {};
    if (!ir.user_name || !ir.greeting || !ir.client_roots || !ctx.mcpReq.requestState())
      return inputRequired({
        inputRequests: {
          user_name: askName('What is your name?'),
          greeting: inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }], maxTokens: 50 }),
          client_roots: inputRequired.listRoots(),
        },
        requestState: await stateCodec.mint({ round: 1 }),
      });
    return text('All inputs received');
  });
  tool('test_input_required_result_multi_round', {}, async (...a) => {
    const ctx = a.at(-1);
    const ir = ctx.mcpReq.inputResponses ?? {};
    const state = ctx.mcpReq.requestState();
    if (!state || !ir.step1 && state.round === undefined)
      return inputRequired({ inputRequests: { step1: askName('Step 1: What is your name?') }, requestState: await stateCodec.mint({ round: 1 }) });
    if (state.round === 1) {
      if (!ir.step1) return inputRequired({ inputRequests: { step1: askName('Step 1: What is your name?') }, requestState: await stateCodec.mint({ round: 1 }) });
      return inputRequired({
        inputRequests: { step2: inputRequired.elicit({ message: 'Step 2: What is your favorite color?',
          requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] } }) },
        requestState: await stateCodec.mint({ round: 2, name: ir.step1?.content?.name }),
      });
    }
    if (!ir.step2) return inputRequired({ inputRequests: { step2: inputRequired.elicit({ message: 'Step 2: What is your favorite color?',
      requestedSchema: { type: 'object', properties: { color: { type: 'string' } }, required: ['color'] } }) }, requestState: await stateCodec.mint(state) });
    return text(`Done: ${state.name ?? ''} likes ${ir.step2?.content?.color ?? ''}`);
  });
  // Needs sampling from the client: without the capability the call is refused with -32021.
  // Sampling and elicitation written once as MRTR: 2026 clients answer input_required; the SDK's
  // legacy shim sends 2025 clients real server->client requests on the call's stream.
  tool('test_sampling', { inputSchema: z.object({ prompt: z.string() }) }, async ({ prompt }, ctx) => {
    const r = ctx.mcpReq.inputResponses?.sample;
    if (!r) return inputRequired({ inputRequests: { sample: inputRequired.createMessage({
      messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 }) } });
    return text(`LLM response: ${r.content?.text ?? JSON.stringify(r.content)}`);
  });
  const userSchema = { type: 'object', properties: { username: { type: 'string', description: "User's response" },
    email: { type: 'string', description: "User's email address" } }, required: ['username', 'email'] };
  tool('test_elicitation', { inputSchema: z.object({ message: z.string() }) }, async ({ message }, ctx) => {
    const r = ctx.mcpReq.inputResponses?.answer;
    if (!r) return inputRequired({ inputRequests: { answer: inputRequired.elicit({ message, requestedSchema: userSchema }) } });
    return text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
  });
  const elicitTool = (name, requestedSchema) => tool(name, {}, async (...a) => {
    const r = a.at(-1).mcpReq.inputResponses?.answer;
    if (!r) return inputRequired({ inputRequests: { answer: inputRequired.elicit({ message: `Please fill in ${name}`, requestedSchema }) } });
    return text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
  });
  elicitTool('test_elicitation_sep1034_defaults', { type: 'object', properties: {
    name: { type: 'string', default: 'John Doe' }, age: { type: 'integer', default: 30 }, score: { type: 'number', default: 95.5 },
    status: { type: 'string', enum: ['active', 'inactive', 'pending'], default: 'active' }, verified: { type: 'boolean', default: true } } });
  elicitTool('test_elicitation_sep1330_enums', { type: 'object', properties: {
    untitledSingle: { type: 'string', enum: ['option1', 'option2', 'option3'] },
    titledSingle: { type: 'string', oneOf: [{ const: 'value1', title: 'First Option' }, { const: 'value2', title: 'Second Option' }, { const: 'value3', title: 'Third Option' }] },
    legacyEnum: { type: 'string', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
    untitledMulti: { type: 'array', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
    titledMulti: { type: 'array', items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' }, { const: 'value3', title: 'Third Choice' }] } } } });
  tool('test_missing_capability', {}, async (...a) => {
    const caps = clientCaps(a.at(-1));
    if (!caps.sampling) throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
    return text('ok');
  });
  tool('test_input_required_result_capabilities', {}, async (...a) => {
    const ctx = a.at(-1);
    if (ctx.mcpReq.inputResponses) return text('capabilities respected');
    const caps = clientCaps(ctx);
    const inputRequests = {};
    if (caps.elicitation) inputRequests.user_name = askName('What is your name?');
    if (caps.sampling) inputRequests.greeting = inputRequired.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'Generate a greeting' } }], maxTokens: 50 });
    if (caps.roots) inputRequests.client_roots = inputRequired.listRoots();
    if (Object.keys(inputRequests).length === 0) return text('no capability to ask with');
    return inputRequired({ inputRequests });
  });
  tool('test_streaming_elicitation', {}, async (...a) => {
    const ctx = a.at(-1);
    const token = ctx.mcpReq._meta?.progressToken ?? 'stream';
    await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: 1, total: 2 } });
    if (!ctx.mcpReq.inputResponses?.confirm)
      return inputRequired({ inputRequests: { confirm: inputRequired.elicit({ message: 'Continue?', requestedSchema: okSchema }) } });
    return text('streamed');
  });
  tool('test_trigger_tool_change', {}, async () => { setTimeout(() => handler.notify.toolsChanged(), 20); return text('tools changed'); });
  tool('test_trigger_prompt_change', {}, async () => { setTimeout(() => handler.notify.promptsChanged(), 20); return text('prompts changed'); });

  // Resources
  server.registerResource('static-text', 'test://static-text', { description: 'A static text resource', mimeType: 'text/plain' },
    async () => ({ contents: [{ uri: 'test://static-text', mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] }));
  server.registerResource('static-binary', 'test://static-binary', { description: 'A static binary resource', mimeType: 'image/png' },
    async () => ({ contents: [{ uri: 'test://static-binary', mimeType: 'image/png', blob: PNG }] }));
  server.registerResource('watched-resource', 'test://watched-resource', { description: 'A watched resource', mimeType: 'text/plain' },
    async () => ({ contents: [{ uri: 'test://watched-resource', mimeType: 'text/plain', text: 'watched' }] }));
  server.registerResource('template', new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'A resource template', mimeType: 'application/json' },
    async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }));

  // Prompts
  server.registerPrompt('test_simple_prompt', { description: 'A simple prompt' },
    async () => ({ messages: [{ role: 'user', content: { type: 'text', text: 'This is a simple prompt for testing.' } }] }));
  server.registerPrompt('test_prompt_with_arguments', { description: 'A prompt with arguments',
    argsSchema: z.object({ arg1: completable(z.string().describe('First test argument'), (v) => ['paris', 'park', 'party'].filter((x) => x.startsWith(v ?? ''))),
      arg2: z.string().describe('Second test argument') }) },
    async ({ arg1, arg2 }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Prompt with arguments: arg1='${arg1}', arg2='${arg2}'` } }] }));
  server.registerPrompt('test_prompt_with_embedded_resource', { description: 'A prompt with an embedded resource',
    argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }) },
    async ({ resourceUri }) => ({ messages: [
      { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
      { role: 'user', content: { type: 'text', text: 'Please process the embedded resource above.' } },
    ] }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' },
    async () => ({ messages: [
      { role: 'user', content: { type: 'image', data: PNG, mimeType: 'image/png' } },
      { role: 'user', content: { type: 'text', text: 'Please analyze the image above.' } },
    ] }));
  server.registerPrompt('test_input_required_result_prompt', { description: 'A prompt that needs input' }, async (...a) => {
    const ctx = a.at(-1);
    const r = ctx.mcpReq.inputResponses?.user_context;
    if (!r) return inputRequired({ inputRequests: { user_context: inputRequired.elicit({ message: 'What context should the prompt use?',
      requestedSchema: { type: 'object', properties: { context: { type: 'string' } }, required: ['context'] } }) } });
    return { messages: [{ role: 'user', content: { type: 'text', text: `Context: ${r.content?.context ?? ''}` } }] };
  });
  return server;
}

const handler = createMcpHandler(() => build(), { onerror: () => {} });
const node = toNodeHandler(handler);

const httpServer = http.createServer(async (req, res) => {
  if (req.url === '/__aborts') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ aborts }));
    return;
  }
  if (req.url === '/__seen') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(seen));
    return;
  }
  if (req.url === '/token' && req.method === 'POST') {
    let body = '';
    for await (const c of req) body += c;
    const p = new URLSearchParams(body);
    const [id, secret] = oauth.split(':');
    if (p.get('grant_type') !== 'client_credentials' || p.get('client_id') !== id || p.get('client_secret') !== secret) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_client' }));
      return;
    }
    const tok = 'tok-' + crypto.randomBytes(8).toString('hex');
    tokens.add(tok);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: tok, token_type: 'Bearer', expires_in: 3600 }));
    return;
  }
  if (req.url === '/__revoke' && req.method === 'POST') {
    tokens.clear();
    res.writeHead(204);
    res.end();
    return;
  }
  seen.push({ ...req.headers });
  if (seen.length > 200) seen.shift();
  const auth = req.headers.authorization ?? '';
  const ok = requireBearer ? auth === `Bearer ${requireBearer}` : oauth ? tokens.has(auth.replace(/^Bearer /, '')) : true;
  if (!ok) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
    res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Unauthorized' } }));
    return;
  }
  let parsed;
  if (req.method === 'POST') {
    let body = '';
    for await (const c of req) body += c;
    try { parsed = JSON.parse(body); } catch { parsed = body; }
    // The SDK turns a tool's thrown error into an isError result; a missing client
    // capability must be a protocol error (-32021, HTTP 400), so it is answered here.
    const p = parsed?.params;
    if (parsed?.method === 'tools/call' && p?.name === 'test_missing_capability' &&
        p?._meta?.['io.modelcontextprotocol/protocolVersion'] && !p._meta['io.modelcontextprotocol/clientCapabilities']?.sampling) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: parsed.id, error: { code: -32021, message: 'Missing required client capability: sampling',
        data: { requiredCapabilities: { sampling: {} } } } }));
      return;
    }
  }
  node(req, res, parsed);
});
httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port }) + '\n');
});
const stop = () => httpServer.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
