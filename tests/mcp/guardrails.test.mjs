// Guardrails on MCP tool calls: the calling key's guardrail policies (the same list its model
// requests obey) read the arguments of a tools/call before they leave (a deny list refuses the
// call with an isError result naming the policy; the upstream never sees it) and what the tool
// returns (PII redacted before the agent sees it); both eras; counted in /metrics. A key without
// guardrails gets the tool's answer untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modern, rpc, startFixture, startMcpGateway } from './helpers.mjs';

const GUARDRAILS = [
  { name: 'deny-words', kind: 'keywords', mode: 'block', keywords: ['drop_database'], patterns: ['rm\\s+-rf'] },
  { name: 'no-pii', kind: 'pii', mode: 'redact', entities: ['email', 'credit_card'] },
];

async function seenCount(fx) {
  return (await (await fetch(`${fx.base}/__seen`)).json()).length;
}

const GUARDED = 'tg-mcp-guarded-0123456789abcdef';
const PLAIN = 'tg-mcp-plain-0123456789abcdef';

test('a key\'s guardrails hold tool arguments to a deny list and redact PII from tool results', { timeout: 120_000 }, async (t) => {
  const fx = await startFixture(t);
  const gw = await startMcpGateway(t, {
    servers: [{ name: 'fixture', url: fx.url }],
    keys: [
      { name: 'guarded', key: GUARDED, mcp: { allow: ['*'] }, guardrails: ['deny-words', 'no-pii'] },
      { name: 'plain', key: PLAIN, mcp: { allow: ['*'] } },
    ],
    extraResources: { guardrails: GUARDRAILS },
  });
  const send = async (name, args, id, server = '', key = GUARDED) => {
    const { message, headers } = modern('tools/call', { name, arguments: args }, { id });
    return rpc(gw.mcpURL(server), message, { key, headers });
  };

  // The list names the advertised tools (the only tool names /metrics carries).
  const listed = modern('tools/list', {}, { id: 0 });
  assert.equal((await rpc(gw.mcpURL(), listed.message, { key: GUARDED, headers: listed.headers })).status, 200);

  // Allowed arguments go through; results come back redacted (text and embedded resource).
  let r = await send('fixture__echo_text', { text: 'hello there' }, 1);
  assert.equal(r.body.result.content[0].text, 'echo: hello there');
  r = await send('fixture__lookup_contact', {}, 2);
  const shown = JSON.stringify(r.body.result);
  assert.ok(!shown.includes('bob.smith@example.org') && !shown.includes('4111 1111 1111 1111'), shown);
  assert.match(r.body.result.content[0].text, /^Contact: \S+, card \S/);
  assert.notEqual(r.body.result.isError, true);
  // A key without guardrails gets the tool's answer untouched.
  r = await send('fixture__lookup_contact', {}, 3, '', PLAIN);
  assert.match(r.body.result.content[0].text, /bob\.smith@example\.org/);

  // A denied argument: refused by the gateway as a tool error, and never sent upstream.
  const before = await seenCount(fx);
  r = await send('fixture__echo_text', { text: 'please DROP_DATABASE now' }, 4);
  assert.equal(r.status, 200);
  assert.equal(r.body.result.isError, true);
  assert.match(r.body.result.content[0].text, /deny-words/);
  assert.ok(!r.body.result.content[0].text.includes('DROP_DATABASE'), 'the reason names the policy, not the value');
  r = await send('echo_text', { text: 'then rm  -rf /' }, 5, 'fixture');
  assert.equal(r.body.result.isError, true, 'on the scoped route too');
  assert.equal(await seenCount(fx), before, 'the refused calls never reached the server');

  // A legacy (session-era) client gets the same treatment.
  const init = await rpc(gw.mcpURL(), { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'legacy', version: '1' } } }, { key: GUARDED });
  const sid = init.headers.get('mcp-session-id');
  const legacy = await rpc(gw.mcpURL(), { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'fixture__lookup_contact', arguments: {} } },
    { key: GUARDED, headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } });
  const legacyResult = legacy.body.result ?? legacy.body.final?.result;
  assert.ok(legacyResult && !JSON.stringify(legacyResult).includes('bob.smith@example.org'), JSON.stringify(legacy.body));

  const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
  assert.match(metrics, /tollgate_guardrail_hits_total\{policy="no-pii",entity="email",acted="true"\} [2-9]/);
  assert.match(metrics, /tollgate_guardrail_hits_total\{policy="deny-words",[^}]*acted="true"\} 1/);
  assert.match(metrics, /tollgate_mcp_requests_total\{server="fixture",method="tools\/call",tool="echo_text",outcome="blocked"\} 2/);
});
