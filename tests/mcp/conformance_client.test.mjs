// The official conformance suite's client mode (pinned 0.2.0-alpha.12) against the gateway's
// upstream leg: for each scenario the suite starts its test server and runs
// conformance/client.mjs, which puts the gateway in front of that server and drives the v2 SDK
// client through it; the server scores the requests the gateway makes. Every client scenario
// the 2026-07-28 and 2025-11-25 requirement sets name is run here or listed, with its reason, in
// conformance/client-left-out.yaml.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../integration/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.join(here, 'node_modules/@modelcontextprotocol/conformance');
const suite = path.join(pkg, 'dist/index.js');

const RUN = {
  '2026-07-28': ['tools_call', 'request-metadata', 'sep-2322-client-request-state', 'http-standard-headers',
    'http-custom-headers', 'http-invalid-tool-headers', 'json-schema-ref-no-deref'],
  '2025-11-25': ['initialize', 'tools_call'],
};
const leftOut = [...fs.readFileSync(path.join(here, 'conformance/client-left-out.yaml'), 'utf8')
  .matchAll(/^\s+- scenario: (\S+)$/gm)].map((m) => m[1]);

// The `client:` list of a requirement set (a plain YAML list in the package).
function requiredClientScenarios(rev) {
  const text = fs.readFileSync(path.join(pkg, `requirements/${rev}.yaml`), 'utf8');
  const block = text.split(/^client:\s*$/m)[1].split(/^\S/m)[0];
  return [...block.matchAll(/^\s+- (\S+)\s*$/gm)].map((m) => m[1]);
}

test('every required client scenario is run or left out with a reason', () => {
  for (const [rev, run] of Object.entries(RUN)) {
    for (const s of requiredClientScenarios(rev)) {
      const out = leftOut.some((l) => l === s || (l.endsWith('/*') && s.startsWith(l.slice(0, -1))));
      assert.ok(run.includes(s) || out, `${rev}: client scenario ${s} is neither run nor left out`);
    }
  }
});

function runScenario(scenario, rev, out) {
  const command = `${process.execPath} ${path.join(here, 'conformance/client.mjs')}`;
  const args = ['--import', path.join(here, 'conformance/shim.mjs'), suite, 'client', '--command', command,
    '--scenario', scenario, '--spec-version', rev, '--timeout', '60000', '-o', out];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: process.env, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? err.code ?? 1 : 0, stdout: String(stdout), stderr: String(stderr) }));
  });
}

for (const [rev, scenarios] of Object.entries(RUN)) {
  for (const scenario of scenarios) {
    test(`conformance client ${scenario} (${rev}) through the gateway`, { timeout: 150_000 }, async (t) => {
      const out = await makeTempDir(t, 'tollgate-conformance-client-');
      const r = await runScenario(scenario, rev, out);
      const lines = r.stdout.split('\n').filter((l) => /Passed|✗|FAIL|fail/i.test(l)).join('\n');
      assert.equal(r.code, 0, `${scenario} failed:\n${lines}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-1500)}`);
    });
  }
}
