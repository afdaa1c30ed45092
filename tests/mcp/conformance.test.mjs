// The official MCP conformance suite (@modelcontextprotocol/conformance, pinned 0.2.0-alpha.12)
// in server mode against the gateway: /mcp/fixture (one server, its own names) for the
// 2026-07-28 and 2025-11-25 requirement sets, and the aggregate /mcp with an empty prefix.
// The suite runs on this Node 20 through conformance/shim.mjs (fs.globSync, and the gateway
// key on every request). Scenarios not passed yet are listed, with reasons, in
// conformance/expected-*.yaml; a scenario failing outside that list, or a listed one now
// passing, fails the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../integration/harness.mjs';
import { MCP_KEYS, startFixture, startMcpGateway } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const suite = path.join(here, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');

function runSuite(url, requirements, out) {
  const expected = path.join(here, `conformance/expected-${requirements}.yaml`);
  const args = ['--import', path.join(here, 'conformance/shim.mjs'), suite, 'server', '--url', url,
    '--requirements', requirements, '-o', out, '--expected-failures', expected];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, TOLLGATE_CONFORMANCE_KEY: MCP_KEYS.admin }, timeout: 240_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
}

const summary = (r) => r.stdout.split('\n').filter((l) => /Total|✗|Unexpected|Stale|Baseline/.test(l)).join('\n');

for (const [name, requirements, aggregate] of [
  ['2026-07-28 on /mcp/fixture', '2026-07-28', false],
  ['2025-11-25 on /mcp/fixture', '2025-11-25', false],
  ['2026-07-28 on the aggregate /mcp, empty prefix', '2026-07-28', true],
  ['2025-11-25 on the aggregate /mcp, empty prefix', '2025-11-25', true],
]) {
  test(`conformance ${name}`, { timeout: 300_000 }, async (t) => {
    const fx = await startFixture(t);
    const gw = await startMcpGateway(t, { servers: [{ name: 'fixture', url: fx.url, prefix: '' }] });
    const out = await makeTempDir(t, 'tollgate-conformance-');
    const r = await runSuite(aggregate ? gw.mcpURL() : gw.mcpURL('fixture'), requirements, out);
    assert.equal(r.code, 0, `conformance failed:\n${summary(r)}\n${r.stderr.slice(-2000)}`);
  });
}
