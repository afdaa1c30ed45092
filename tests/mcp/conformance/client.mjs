// The conformance suite's client mode, pointed at Tollgate's upstream leg. The suite starts a
// scenario server and runs `node client.mjs <server url>` (MCP_CONFORMANCE_SCENARIO and
// MCP_CONFORMANCE_CONTEXT set). This starts the gateway (TOLLGATE_BIN) with that server as its
// only MCP server (`up`, empty prefix, era detected), then drives the official v2 client
// through /mcp/up: what the scenario server observes, and scores, is the gateway as a client.
import fs from 'node:fs/promises';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { makeTempDir, processConfig, startGateway, writeConfig } from '../../integration/harness.mjs';

const KEY = 'tg-conformance-client-0123456789abcdef';
const serverURL = process.argv.at(-1);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}');

const dir = await makeTempDir(null, 'tollgate-conformance-client-');
const { configPath } = await writeConfig(dir, {
  tollgate: processConfig({ workers: 1 }),
  resources: {
    mcp_servers: [{ name: 'up', url: serverURL, prefix: '', timeout_ms: 10_000 }],
    keys: [{ name: 'conformance', key: KEY, mcp: { allow: ['*'] } }],
  },
});
const gw = await startGateway(null, { configPath });
const tryTo = async (what, fn) => {
  try {
    return await fn();
  } catch (err) {
    console.error(`${scenario}: ${what}: ${err.message}`);
    return undefined;
  }
};

const client = new Client({ name: 'tollgate-conformance', version: '1.0.0' },
  { versionNegotiation: { mode: 'auto' }, capabilities: { elicitation: {}, sampling: {}, roots: {} } });
client.setRequestHandler('elicitation/create', async (req) => {
  // Accept with each field's default (SEP-1034), or a confirmation.
  const props = req.params?.requestedSchema?.properties ?? {};
  const content = Object.fromEntries(Object.entries(props).map(([k, p]) => [k, p.default ?? (p.type === 'boolean' ? true : 'ok')]));
  return { action: 'accept', content };
});
client.setRequestHandler('sampling/createMessage', async () => ({ role: 'assistant', content: { type: 'text', text: 'ok' }, model: 'conformance' }));
client.setRequestHandler('roots/list', async () => ({ roots: [] }));
const transport = new StreamableHTTPClientTransport(new URL(`${gw.proxyURL}/mcp/up`),
  { requestInit: { headers: { authorization: `Bearer ${KEY}` } } });

try {
  await client.connect(transport);
  const tools = (await tryTo('tools/list', () => client.listTools()))?.tools ?? [];
  const call = (name, args = {}) => tryTo(`tools/call ${name}`, () => client.callTool({ name, arguments: args }));
  if (Array.isArray(context.toolCalls)) {
    for (const c of context.toolCalls) await call(c.name, c.arguments ?? {});
  } else if (scenario === 'tools_call') {
    await call('add_numbers', { a: 5, b: 3 });
  } else if (scenario === 'sep-2322-client-request-state') {
    for (const name of ['test_mrtr_echo_state', 'test_mrtr_no_state', 'test_mrtr_unrelated', 'test_mrtr_no_result_type']) await call(name);
  } else {
    // Every tool the client kept (it drops tools with invalid x-mcp-header annotations), then
    // the other request kinds once each where the server offers them.
    for (const t of tools) await call(t.name, {});
    const resources = (await tryTo('resources/list', () => client.listResources()))?.resources ?? [];
    if (resources[0]) await tryTo('resources/read', () => client.readResource({ uri: resources[0].uri }));
    const prompts = (await tryTo('prompts/list', () => client.listPrompts()))?.prompts ?? [];
    if (prompts[0]) await tryTo('prompts/get', () => client.getPrompt({ name: prompts[0].name, arguments: {} }));
  }
} finally {
  await client.close().catch(() => {});
  await gw.stop();
  await fs.rm(dir, { recursive: true, force: true });
}
