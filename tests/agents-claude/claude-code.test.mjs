// Claude Code (`@anthropic-ai/claude-code`, pinned in package.json), unmodified, through the
// real gateway to every provider kind's mock. Each gateway serves one provider behind a
// `claude-*` pattern alias, so Claude Code's own default model names (its main and its
// small/fast model) land there with no client configuration. The mocks run in directive mode
// (tests/mocks/directives.mjs): they call a tool or emit thinking only when the prompt says so,
// so Claude Code cannot loop. Per provider: a plain answer, a tool round trip, and thinking.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { startOpenAIMock } from '../mocks/openai-mock.mjs';
import { startGeminiMock } from '../mocks/gemini-mock.mjs';
import { startBedrockMock } from '../mocks/bedrock-mock.mjs';
import { KEYS, cleanupScope, makeTempDir, startGatewayWith } from '../integration/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLAUDE = path.join(HERE, 'node_modules', '.bin', 'claude');
const RUN_TIMEOUT_MS = 120_000;

/** Runs `claude -p prompt` against `gw`; resolves { code, stdout, stderr, json }. */
async function claude(scope, gw, prompt, { maxTurns = 3, format = 'json', home = null } = {}) {
  home ??= await makeTempDir(scope, 'claude-home-');
  const args = ['-p', prompt, '--max-turns', String(maxTurns), '--output-format', format];
  if (format === 'stream-json') args.push('--verbose');
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    ANTHROPIC_BASE_URL: gw.proxyURL,
    ANTHROPIC_API_KEY: KEYS.all,
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
  return new Promise((resolve) => {
    const child = execFile(CLAUDE, args, { cwd: home, env, timeout: RUN_TIMEOUT_MS, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      let json = null;
      if (format === 'json') {
        try {
          json = JSON.parse(stdout);
        } catch {}
      } else {
        json = stdout.split('\n').filter(Boolean).map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return null;
          }
        }).filter(Boolean);
      }
      resolve({ code: err ? err.code ?? err.signal : 0, stdout, stderr, json });
    });
    child.stdin.end(); // -p reads stdin too: give it nothing rather than wait
  });
}

const why = (r, mock) => `exit ${r.code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}\nupstream requests: ${mock.requests.length}`;

// What each provider's mock saw of the conversation, in its own dialect.
const PROVIDERS = [
  {
    label: 'anthropic (fast path)',
    start: () => startAnthropicMock({ directives: true }),
    provider: (m) => ({ name: 'up', kind: 'anthropic', base_url: m.url, api_key: m.apiKey }),
    upstream: 'claude-sonnet-4-5',
    generation: (m) => m.requests.filter((r) => r.path.startsWith('/v1/messages') && !r.path.includes('count_tokens')),
  },
  {
    label: 'openai',
    start: () => startOpenAIMock({ directives: true }),
    provider: (m) => ({ name: 'up', kind: 'openai', base_url: m.baseURL, api_key: m.apiKey }),
    upstream: 'gpt-4o',
    generation: (m) => m.requests.filter((r) => r.path.endsWith('/chat/completions')),
  },
  {
    label: 'gemini',
    start: () => startGeminiMock({ directives: true }),
    provider: (m) => ({ name: 'up', kind: 'gemini', base_url: m.url, api_key: m.apiKey }),
    upstream: 'gemini-2.5-flash',
    generation: (m) => m.requests.filter((r) => /:(stream)?[gG]enerateContent$/.test(r.path) || r.path.includes('enerateContent')),
  },
  {
    label: 'bedrock',
    start: () => startBedrockMock({ directives: true }),
    provider: (m) => ({ name: 'up', kind: 'bedrock', base_url: m.url, api_key: m.apiKey, api_version: m.region }),
    upstream: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
    generation: (m) => m.requests.filter((r) => /\/converse(-stream)?$/.test(r.path)),
  },
];

for (const p of PROVIDERS) {
  describe(`Claude Code -> gateway -> ${p.label}`, { concurrency: true }, () => {
    const scope = cleanupScope();
    let mock;
    let gw;

    before(async () => {
      mock = await p.start();
      scope.after(() => mock.close());
      const resources = {
        providers: [p.provider(mock)],
        // Claude Code's default names (claude-opus-..., claude-haiku-...) land on the pattern.
        models: [{ name: 'claude-*', targets: [{ provider: 'up', model: p.upstream }] }],
        keys: [{ name: 'all', key: KEYS.all, models: ['claude-*'] }],
      };
      gw = await startGatewayWith(scope, resources);
    });
    after(() => scope.run());

    it('answers a plain prompt', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
      const r = await claude(scope, gw, 'Say hello to the gateway', { maxTurns: 2 });
      assert.equal(r.code, 0, why(r, mock));
      assert.equal(r.json?.is_error, false, why(r, mock));
      assert.match(r.json.result, /Echo:.*Say hello to the gateway/s, why(r, mock));
      assert.ok(p.generation(mock).length >= 1, 'the provider answered');
    });

    it('runs a tool round trip', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
      // Claude Code reads the file for the model; the mock then answers with the tool result.
      const home = await makeTempDir(scope, 'claude-home-');
      const file = path.join(home, 'notes.txt');
      await fs.writeFile(file, 'gateway-marker-42\n');
      const r = await claude(scope, gw, `Read the notes [[tool:Read {"file_path":"${file}"}]]`, { maxTurns: 4, home });
      assert.equal(r.code, 0, why(r, mock));
      assert.equal(r.json?.is_error, false, why(r, mock));
      assert.match(r.json.result, /^Tool result:.*gateway-marker-42/s, why(r, mock));
      assert.ok(r.json.num_turns >= 2, `turns: ${r.json.num_turns}`);
    });

    it('shows the thinking the model emitted', { timeout: RUN_TIMEOUT_MS + 10_000 }, async () => {
      const r = await claude(scope, gw, 'Think first [[think:pondering the gateway]]', { maxTurns: 2, format: 'stream-json' });
      assert.equal(r.code, 0, why(r, mock));
      const thinking = r.json
        .filter((e) => e.type === 'assistant')
        .flatMap((e) => e.message?.content ?? [])
        .filter((b) => b.type === 'thinking');
      assert.ok(thinking.some((b) => b.thinking.includes('pondering the gateway')), why(r, mock));
      const result = r.json.find((e) => e.type === 'result');
      assert.equal(result?.is_error, false, why(r, mock));
    });
  });
}
