// LangChain's ChatOpenAI and ChatAnthropic against Tollgate, on aliases backed by other
// providers: invoke, streaming with usage (input tokens non-zero: clients read them from the
// stream's usage, Anthropic's in message_start), and a tool call.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ChatOpenAI } from '@langchain/openai';
import { ChatAnthropic } from '@langchain/anthropic';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { cleanupScope } from '../integration/harness.mjs';
import { CALL_WEATHER, CHAT, KEYS, T, startAll } from './setup.mjs';

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather', description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('LangChain -> tollgate', () => {
  const scope = cleanupScope();
  let gw;
  const make = {};
  before(async () => {
    ({ gw } = await startAll(scope));
    make.openai = (model) => new ChatOpenAI({ model, apiKey: KEYS.all, configuration: { baseURL: gw.baseURL }, maxRetries: 0, timeout: 15_000 });
    make.anthropic = (model) => new ChatAnthropic({ model, apiKey: KEYS.all, anthropicApiUrl: gw.proxyURL, maxRetries: 0, maxTokens: 256 });
  });
  after(() => scope.run());

  const pairs = [['openai', 'openai'], ['openai', 'gemini'], ['openai', 'anthropic'], ['openai', 'bedrock'],
                 ['anthropic', 'anthropic'], ['anthropic', 'openai'], ['anthropic', 'gemini'], ['anthropic', 'bedrock']];
  for (const [client, kind] of pairs) {
    const name = `Chat${client === 'openai' ? 'OpenAI' : 'Anthropic'} on ${kind}`;
    it(`${name}: invoke`, T, async () => {
      const r = await make[client](CHAT[kind]).invoke([new HumanMessage(`hello ${kind}`)]);
      assert.equal(r.content, `Echo: hello ${kind}`);
      assert.ok(r.usage_metadata.input_tokens > 0 && r.usage_metadata.output_tokens > 0, JSON.stringify(r.usage_metadata));
    });

    it(`${name}: stream, with usage (input tokens non-zero)`, T, async () => {
      let acc;
      for await (const chunk of await make[client](CHAT[kind]).stream([new HumanMessage(`stream ${kind}`)])) {
        acc = acc ? acc.concat(chunk) : chunk;
      }
      assert.equal(acc.content, `Echo: stream ${kind}`);
      assert.ok(acc.usage_metadata, 'no usage_metadata');
      assert.ok(acc.usage_metadata.input_tokens > 0, JSON.stringify(acc.usage_metadata));
      assert.ok(acc.usage_metadata.output_tokens > 0, JSON.stringify(acc.usage_metadata));
    });

    it(`${name}: a tool call and its result`, T, async () => {
      const model = make[client](CHAT[kind]).bindTools([weatherTool]);
      const history = [new HumanMessage(`Oslo ${CALL_WEATHER}`)];
      const first = await model.invoke(history);
      assert.equal(first.tool_calls?.length, 1, JSON.stringify(first));
      assert.equal(first.tool_calls[0].name, 'get_weather');
      history.push(first, new ToolMessage({ tool_call_id: first.tool_calls[0].id, content: 'rainy' }));
      const second = await model.invoke(history);
      const text = typeof second.content === 'string' ? second.content : second.content.map((b) => b.text ?? '').join('');
      assert.match(text, /^Tool result: .*rainy/);
    });
  }
});
