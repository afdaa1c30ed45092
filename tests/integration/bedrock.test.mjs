// AWS Bedrock (Converse / ConverseStream): the gateway signs with SigV4 (the mock recomputes the
// signature and refuses a wrong one) and decodes the binary event stream, for OpenAI and
// Anthropic callers alike.

import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { startBedrockMock } from '../mocks/bedrock-mock.mjs';
import { KEYS, cleanupScope, startGatewayWith } from './harness.mjs';

const T = { timeout: 20_000 };
const tool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('bedrock through the gateway', () => {
  const scope = cleanupScope();
  let mock;
  let gw;
  let openai;
  before(async () => {
    mock = await startBedrockMock({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1' });
    scope.after(() => mock.close());
    const resources = {
      providers: [
        { name: 'aws', kind: 'bedrock', base_url: mock.url, api_key: mock.apiKey, api_version: mock.region },
        { name: 'aws-bad', kind: 'bedrock', base_url: mock.url, api_key: 'AKIDEXAMPLE:wrong-secret', api_version: mock.region },
      ],
      models: [
        { name: 'claude-br', targets: [{ provider: 'aws', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }] },
        { name: 'badsig', targets: [{ provider: 'aws-bad', model: 'anthropic.claude-3-5-sonnet-20240620-v1:0' }] },
      ],
      keys: [{ name: 'all', key: KEYS.all }],
    };
    gw = await startGatewayWith(scope, resources);
    openai = new OpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all, maxRetries: 0 });
  });
  after(() => scope.run());
  beforeEach(() => mock.reset());

  it('non-stream: signed request, content, finish reason and usage', T, async () => {
    const r = await openai.chat.completions.create({ model: 'claude-br', messages: [{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'hello bedrock' }] });
    assert.equal(r.choices[0].message.content, 'Echo: hello bedrock');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
    const got = mock.requests.at(-1);
    assert.equal(got.signatureValid, true);
    assert.equal(got.operation, 'converse');
  });

  it('stream: the binary event stream becomes OpenAI chunks the SDK helper accepts', T, async () => {
    const runner = openai.chat.completions.stream({ model: 'claude-br', messages: [{ role: 'user', content: 'stream from bedrock' }], stream_options: { include_usage: true } });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, 'Echo: stream from bedrock');
    assert.ok(final.usage.completion_tokens > 0);
    assert.equal(mock.requests.at(-1).operation, 'converse-stream');
    assert.equal(mock.requests.at(-1).signatureValid, true);
  });

  it('tools round trip, streamed', T, async () => {
    const runner = openai.chat.completions.stream({ model: 'claude-br', messages: [{ role: 'user', content: 'Oslo' }], tools: [tool] });
    const first = await runner.finalChatCompletion();
    assert.equal(first.choices[0].finish_reason, 'tool_calls');
    const call = first.choices[0].message.tool_calls[0];
    assert.equal(call.function.name, 'get_weather');
    assert.equal(typeof JSON.parse(call.function.arguments), 'object');
    const second = await openai.chat.completions.create({
      model: 'claude-br', tools: [tool],
      messages: [{ role: 'user', content: 'Oslo' }, first.choices[0].message, { role: 'tool', tool_call_id: call.id, content: '{"temp_c":3}' }],
    });
    assert.equal(second.choices[0].finish_reason, 'stop');
    assert.ok(second.choices[0].message.content.length > 0);
  });

  it('the Anthropic SDK reaches Bedrock through /v1/messages, streaming too', T, async () => {
    const anthropic = new Anthropic({ baseURL: gw.proxyURL, apiKey: KEYS.all, maxRetries: 0 });
    const m = await anthropic.messages.create({ model: 'claude-br', max_tokens: 100, messages: [{ role: 'user', content: 'hi via messages' }] });
    assert.equal(m.content[0].text, 'Echo: hi via messages');
    assert.equal(m.stop_reason, 'end_turn');
    const s = await anthropic.messages.stream({ model: 'claude-br', max_tokens: 100, messages: [{ role: 'user', content: 'stream via messages' }] }).finalMessage();
    assert.equal(s.content[0].text, 'Echo: stream via messages');
    assert.ok(s.usage.output_tokens > 0);
  });

  it('a wrong secret is refused by the provider and reported as an auth error', T, async () => {
    await assert.rejects(
      openai.chat.completions.create({ model: 'badsig', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status === 403 || e.status === 401,
    );
    assert.equal(mock.requests.at(-1).signatureValid, false);
  });
});
