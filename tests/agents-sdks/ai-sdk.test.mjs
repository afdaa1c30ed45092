// The Vercel AI SDK against Tollgate: google() on the Gemini surface, anthropic() on
// /v1/messages, openai.chat() on chat completions and openai() on the Responses API, each on
// aliases backed by other providers' mocks: generateText, streamText and a tool round trip.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateText, streamText, tool, jsonSchema, stepCountIs } from 'ai';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { cleanupScope } from '../integration/harness.mjs';
import { CALL_WEATHER, CHAT, KEYS, T, startAll } from './setup.mjs';

const tools = {
  get_weather: tool({
    description: 'Weather for a city',
    inputSchema: jsonSchema({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }),
    execute: async ({ city }) => `sunny in ${city}`,
  }),
};

describe('Vercel AI SDK -> tollgate', () => {
  const scope = cleanupScope();
  let gw, mocks;
  const clients = {};
  before(async () => {
    ({ gw, mocks } = await startAll(scope));
    const google = createGoogleGenerativeAI({ baseURL: `${gw.proxyURL}/v1beta`, apiKey: KEYS.all });
    const anthropic = createAnthropic({ baseURL: `${gw.proxyURL}/v1`, apiKey: KEYS.all });
    const openai = createOpenAI({ baseURL: gw.baseURL, apiKey: KEYS.all });
    clients.google = (m) => google(m);
    clients.anthropic = (m) => anthropic(m);
    clients['openai.chat'] = (m) => openai.chat(m);
    clients.openai = (m) => openai(m);  // the Responses API
  });
  after(() => scope.run());

  // (client, backing provider kind): google() and openai() (Responses) everywhere; the others on
  // a provider of another dialect and on their own.
  const pairs = [
    ['google', 'gemini'], ['google', 'openai'], ['google', 'anthropic'], ['google', 'bedrock'],
    ['anthropic', 'anthropic'], ['anthropic', 'gemini'], ['anthropic', 'openai'],
    ['openai.chat', 'openai'], ['openai.chat', 'gemini'], ['openai.chat', 'anthropic'],
    ['openai', 'openai'], ['openai', 'anthropic'], ['openai', 'gemini'], ['openai', 'bedrock'],
  ];
  // openai() (the Responses API) on Anthropic with thinking: the second step of a tool round trip
  // gives the signed thinking back, by item_reference to the stored response (store: true, the
  // AI SDK's default) or as the sealed encrypted_content (store: false). The mock checks every
  // replayed signature.
  for (const store of [true, false]) {
    it(`openai() on anthropic: a tool round trip replays the signed thinking (store: ${store})`, T, async () => {
      mocks.anthropic.reset();
      const r = await generateText({
        model: clients.openai(CHAT.anthropic), prompt: `Paris ${CALL_WEATHER} [[think:weighing Paris]]`, tools,
        stopWhen: stepCountIs(3), maxRetries: 0, providerOptions: { openai: { store, include: ['reasoning.encrypted_content'] } },
      });
      assert.equal(r.steps.length, 2);
      assert.equal(r.steps[0].reasoningText, 'weighing Paris');
      assert.match(r.text, /^Tool result: .*sunny in/);
      const turns = mocks.anthropic.requestsTo('/v1/messages').map((q) => q.body);
      assert.equal(turns.length, 2);
      const assistant = turns[1].messages.find((m) => m.role === 'assistant');
      assert.deepEqual(assistant.content.map((b) => b.type), ['thinking', 'tool_use']);
      assert.equal(assistant.content[0].thinking, 'weighing Paris');
    });
  }

  for (const [client, kind] of pairs) {
    const name = `${client}() on ${kind}`;
    it(`${name}: generateText`, T, async () => {
      const r = await generateText({ model: clients[client](CHAT[kind]), prompt: `hello ${kind}`, maxRetries: 0 });
      assert.equal(r.text, `Echo: hello ${kind}`);
      assert.ok(r.usage.inputTokens > 0 && r.usage.outputTokens > 0, JSON.stringify(r.usage));
      assert.equal(r.finishReason, 'stop');
    });

    it(`${name}: streamText`, T, async () => {
      const r = streamText({ model: clients[client](CHAT[kind]), prompt: `stream ${kind}`, maxRetries: 0, onError: () => {} });
      let text = '';
      for await (const part of r.textStream) text += part;
      assert.equal(text, `Echo: stream ${kind}`);
      const usage = await r.usage;
      assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0, JSON.stringify(usage));
    });

    it(`${name}: a tool round trip`, T, async () => {
      const r = await generateText({
        model: clients[client](CHAT[kind]), prompt: `Paris ${CALL_WEATHER}`, tools, stopWhen: stepCountIs(3), maxRetries: 0,
      });
      assert.equal(r.steps.length, 2, JSON.stringify(r.steps.map((s) => s.finishReason)));
      assert.equal(r.steps[0].toolCalls[0].toolName, 'get_weather');
      assert.equal(r.steps[0].toolResults[0].output, `sunny in ${r.steps[0].toolCalls[0].input.city}`);
      assert.match(r.text, /^Tool result: .*sunny in/);
    });
  }
});
