// One gateway in front of every provider kind's mock, for the SDK suites of this folder: an
// alias per provider kind (chat) and per embedding provider, and a key that may use them all.
// The mocks run in directive mode: they call a tool only when the prompt says [[tool:NAME]].
import { startOpenAIMock } from '../mocks/openai-mock.mjs';
import { startAnthropicMock } from '../mocks/anthropic-mock.mjs';
import { startGeminiMock } from '../mocks/gemini-mock.mjs';
import { startBedrockMock } from '../mocks/bedrock-mock.mjs';
import { KEYS, makeTempDir, startGateway, writeConfig } from '../integration/harness.mjs';

export { KEYS };
// A key limited to 3 requests a minute: what stops a runaway agent.
export const RPM_KEY = 'tg-test-agent-rpm-0123456789abcdef';

// Chat aliases by the provider kind behind them (and `<alias>-rev` for gemini and openai: with a
// reversible email redaction and a card block).
export const CHAT = { gemini: 'g-gemini', openai: 'g-openai', anthropic: 'g-anthropic', bedrock: 'g-bedrock' };
export const EMBED = { gemini: 'e-gemini', openai: 'e-openai' };
// Every test is bounded: a hung stream fails the test instead of the suite.
export const T = { timeout: 20_000 };
// The directive that makes a mock call the weather tool (once).
export const CALL_WEATHER = '[[tool:get_weather]]';

/** Starts the four mocks and a gateway; everything is stopped by `scope.run()`. */
export async function startAll(scope) {
  const mocks = {
    gemini: await startGeminiMock({ directives: true }),
    openai: await startOpenAIMock({ directives: true }),
    anthropic: await startAnthropicMock({ directives: true }),
    bedrock: await startBedrockMock({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1', directives: true }),
  };
  for (const m of Object.values(mocks)) scope.after(() => m.close());
  const dir = await makeTempDir(scope);
  const resources = {
    providers: [
      { name: 'google', kind: 'gemini', base_url: mocks.gemini.url, api_key: mocks.gemini.apiKey },
      { name: 'oai', kind: 'openai', base_url: mocks.openai.baseURL, api_key: mocks.openai.apiKey },
      { name: 'claude', kind: 'anthropic', base_url: mocks.anthropic.url, api_key: mocks.anthropic.apiKey },
      { name: 'aws', kind: 'bedrock', base_url: mocks.bedrock.url, api_key: mocks.bedrock.apiKey, api_version: mocks.bedrock.region },
    ],
    models: [
      { name: CHAT.gemini, targets: [{ provider: 'google', model: 'gemini-2.0-flash' }] },
      { name: CHAT.openai, targets: [{ provider: 'oai', model: 'gpt-4o' }] },
      { name: CHAT.anthropic, targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }] },
      { name: CHAT.bedrock, targets: [{ provider: 'aws', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }] },
      // strict_params: what it cannot honour is a 400, not dropped.
      { name: `${CHAT.anthropic}-strict`, targets: [{ provider: 'claude', model: 'claude-sonnet-4-5' }], strict_params: true },
      { name: `${CHAT.gemini}-rev`, targets: [{ provider: 'google', model: 'gemini-2.0-flash' }], guardrails: ['pii-reversible', 'cards-block'] },
      { name: `${CHAT.openai}-rev`, targets: [{ provider: 'oai', model: 'gpt-4o' }], guardrails: ['pii-reversible', 'cards-block'] },
      // Failures: an upstream 429, and a stream that errors after two events.
      { name: 'g-gemini-429', targets: [{ provider: 'google', model: 'mock-error-429' }], retry: { max_attempts: 1 } },
      { name: 'g-openai-429', targets: [{ provider: 'oai', model: 'mock-error-429' }], retry: { max_attempts: 1 } },
      { name: 'g-gemini-cut', targets: [{ provider: 'google', model: 'mock-stream-error' }] },
      { name: 'g-openai-cut', targets: [{ provider: 'oai', model: 'mock-stream-error' }] },
      { name: EMBED.gemini, targets: [{ provider: 'google', model: 'text-embedding-004' }] },
      { name: EMBED.openai, targets: [{ provider: 'oai', model: 'text-embedding-3-small' }] },
    ],
    guardrails: [
      { name: 'pii-reversible', kind: 'pii', mode: 'redact', reversible: true, entities: ['email'] },
      { name: 'cards-block', kind: 'pii', mode: 'block', entities: ['credit_card'] },
    ],
    keys: [
      { name: 'all', key: KEYS.all },
      { name: 'only-gemini', key: KEYS.limited, models: [CHAT.gemini] },
      { name: 'agent-rpm', key: RPM_KEY, limits: { rpm: 3 } },
    ],
  };
  const { configPath } = await writeConfig(dir, { resources });
  const gw = await startGateway(scope, { configPath });
  return { mocks, gw };
}
