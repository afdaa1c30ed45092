// @google/genai (the SDK under Gemini CLI) against Tollgate's Gemini surface, on aliases backed
// by every provider kind's mock: Gemini (the fast path: bytes through, model in the URL
// replaced), OpenAI, Anthropic and Bedrock (through the canonical form).
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { GoogleGenAI } from '@google/genai';
import { embeddingFor } from '../mocks/gemini-mock.mjs';
import { cleanupScope } from '../integration/harness.mjs';
import { CALL_WEATHER, CHAT, EMBED, KEYS, RPM_KEY, T, startAll } from './setup.mjs';

const weather = {
  functionDeclarations: [{
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] },
  }],
};

describe('@google/genai -> tollgate', () => {
  const scope = cleanupScope();
  let mocks;
  let gw;
  let ai;
  before(async () => {
    ({ mocks, gw } = await startAll(scope));
    ai = new GoogleGenAI({ apiKey: KEYS.all, httpOptions: { baseUrl: gw.proxyURL, timeout: 15_000 } });
  });
  after(() => scope.run());
  beforeEach(() => Promise.all(Object.values(mocks).map((m) => m.reset())));

  for (const kind of ['gemini', 'openai', 'anthropic', 'bedrock']) {
    const model = CHAT[kind];

    it(`${kind}: generateContent with a system instruction; text and usageMetadata`, T, async () => {
      const r = await ai.models.generateContent({
        model,
        contents: `hello ${kind}`,
        config: { systemInstruction: 'Be brief.', temperature: 0.5, maxOutputTokens: 100 },
      });
      assert.equal(r.text, `Echo: hello ${kind}`);
      assert.equal(r.candidates[0].finishReason, 'STOP');
      assert.ok(r.usageMetadata.promptTokenCount > 0, JSON.stringify(r.usageMetadata));
      assert.ok(r.usageMetadata.candidatesTokenCount > 0, JSON.stringify(r.usageMetadata));
      assert.equal(r.usageMetadata.totalTokenCount, r.usageMetadata.promptTokenCount + r.usageMetadata.candidatesTokenCount);
      if (kind === 'gemini') {
        // The fast path: the caller's body went up as it was, the model in the URL replaced.
        const [got] = mocks.gemini.requestsTo(':generateContent');
        assert.equal(got.path, '/v1beta/models/gemini-2.0-flash:generateContent');
        assert.equal(got.headers['x-goog-api-key'], mocks.gemini.apiKey);
        assert.deepEqual(got.body.systemInstruction, { role: 'user', parts: [{ text: 'Be brief.' }] });
        assert.equal(r.usageMetadata.promptTokenCount, 4);
      }
    });

    it(`${kind}: generateContentStream; chunks join to the answer, usage in the last chunk`, T, async () => {
      const stream = await ai.models.generateContentStream({ model, contents: `stream from ${kind}` });
      let text = '';
      let last;
      let chunks = 0;
      for await (const chunk of stream) {
        text += chunk.text ?? '';
        last = chunk;
        chunks++;
      }
      assert.equal(text, `Echo: stream from ${kind}`);
      assert.ok(chunks >= 2, `only ${chunks} chunk(s)`);
      assert.equal(last.candidates[0].finishReason, 'STOP');
      assert.ok(last.usageMetadata.promptTokenCount > 0, JSON.stringify(last.usageMetadata));
      assert.ok(last.usageMetadata.candidatesTokenCount > 0, JSON.stringify(last.usageMetadata));
    });

    it(`${kind}: a function call and its response (tool round trip)`, T, async () => {
      const contents = [{ role: 'user', parts: [{ text: `weather in Paris ${CALL_WEATHER}` }] }];
      const first = await ai.models.generateContent({ model, contents, config: { tools: [weather] } });
      const calls = first.functionCalls;
      assert.equal(calls?.length, 1, JSON.stringify(first.candidates));
      assert.equal(calls[0].name, 'get_weather');
      assert.equal(typeof calls[0].args.city, 'string');
      contents.push(first.candidates[0].content);
      contents.push({ role: 'user', parts: [{ functionResponse: { id: calls[0].id, name: 'get_weather', response: { result: 'sunny, 21C' } } }] });
      const second = await ai.models.generateContent({ model, contents, config: { tools: [weather] } });
      assert.match(second.text, /^Tool result: .*sunny, 21C/);
      assert.equal(second.functionCalls, undefined);
    });

    it(`${kind}: tools offered but not asked for: a text answer (the mock follows directives only)`, T, async () => {
      const r = await ai.models.generateContent({ model, contents: 'just talk', config: { tools: [weather] } });
      assert.equal(r.text, 'Echo: just talk');
    });

    it(`${kind}: thoughts come back as thought parts; a second turn replays them`, T, async () => {
      const config = { thinkingConfig: { includeThoughts: true, thinkingBudget: 2048 } };
      const contents = [{ role: 'user', parts: [{ text: 'why [[think:pondering the sky]]' }] }];
      const first = await ai.models.generateContent({ model, contents, config });
      const parts = first.candidates[0].content.parts;
      assert.deepEqual(parts.filter((p) => p.thought).map((p) => p.text), ['pondering the sky'], JSON.stringify(parts));
      assert.equal(first.text, 'Echo: why [[think:pondering the sky]]');
      contents.push(first.candidates[0].content, { role: 'user', parts: [{ text: 'and then?' }] });
      const second = await ai.models.generateContent({ model, contents, config });
      assert.equal(second.text, 'Echo: and then?');
    });

    it(`${kind}: countTokens`, T, async () => {
      const r = await ai.models.countTokens({ model, contents: 'one two three four' });
      if (kind === 'gemini' || kind === 'anthropic') assert.equal(r.totalTokens, 4);  // the provider's own count (the mock's words)
      else assert.ok(r.totalTokens > 0 && r.totalTokens < 20, `estimate ${r.totalTokens}`);
      if (kind === 'anthropic') assert.match(JSON.stringify(mocks.anthropic.requestsTo('/v1/messages/count_tokens').at(-1).body.messages), /one two three four/);
    });
  }

  it('gemini: streamed function call arrives whole, via the fast path', T, async () => {
    const stream = await ai.models.generateContentStream({
      model: CHAT.gemini, contents: `weather in Rome ${CALL_WEATHER}`, config: { tools: [weather] },
    });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].name, 'get_weather');
    assert.equal(mocks.gemini.requestsTo(':streamGenerateContent')[0].query.alt, 'sse');
  });

  it('openai: a streamed function call is gathered from its pieces', T, async () => {
    const stream = await ai.models.generateContentStream({
      model: CHAT.openai, contents: `weather in Rome ${CALL_WEATHER}`, config: { tools: [weather] },
    });
    const calls = [];
    for await (const chunk of stream) calls.push(...(chunk.functionCalls ?? []));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].name, 'get_weather');
    assert.equal(calls[0].args.city, `weather in Rome ${CALL_WEATHER}`);
  });

  for (const kind of ['gemini', 'openai']) {
    it(`${kind}: embedContent (batchEmbedContents on the wire)`, T, async () => {
      const r = await ai.models.embedContent({ model: EMBED[kind], contents: ['alpha', 'beta'], config: { outputDimensionality: 8 } });
      assert.equal(r.embeddings.length, 2);
      assert.equal(r.embeddings[0].values.length, 8);
      if (kind === 'gemini') {
        assert.deepEqual(r.embeddings[1].values, embeddingFor('beta', 8));
        const [got] = mocks.gemini.requestsTo(':batchEmbedContents');
        assert.equal(got.path, '/v1beta/models/text-embedding-004:batchEmbedContents');
        assert.deepEqual(got.body.requests.map((q) => q.model), ['models/text-embedding-004', 'models/text-embedding-004']);
      }
    });
  }

  const EMAIL = 'jane.doe@example.com';
  for (const kind of ['gemini', 'openai']) {
    const model = `${CHAT[kind]}-rev`;
    const mock = () => mocks[kind];
    it(`${kind}: guardrails read Gemini requests; a redacted email is restored in the answer and its stream`, T, async () => {
      const r = await ai.models.generateContent({ model, contents: `mail ${EMAIL} now` });
      assert.equal(r.text, `Echo: mail ${EMAIL} now`);
      const stream = await ai.models.generateContentStream({ model, contents: `to ${EMAIL} please` });
      let text = '';
      for await (const chunk of stream) text += chunk.text ?? '';
      assert.equal(text, `Echo: to ${EMAIL} please`);
      const sent = JSON.stringify(mock().requests.map((q) => q.body));
      assert.ok(!sent.includes(EMAIL) && sent.includes('[EMAIL_1]'), sent);
    });

    it(`${kind}: a card number is blocked in Google's envelope, nothing sent`, T, async () => {
      await assert.rejects(ai.models.generateContent({ model, contents: 'pay with 4111 1111 1111 1111' }), (e) => {
        assert.equal(e.status, 400);
        assert.match(e.message, /cards-block/);
        assert.doesNotMatch(e.message, /4111/);
        return true;
      });
      assert.equal(mock().requests.length, 0);
    });
  }

  for (const kind of ['gemini', 'openai']) {
    it(`${kind}: an upstream 429 reaches the caller as 429 RESOURCE_EXHAUSTED`, T, async () => {
      const res = await fetch(`${gw.proxyURL}/v1beta/models/g-${kind}-429:generateContent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': KEYS.all },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }] }),
      });
      assert.equal(res.status, 429);
      const body = await res.json();
      assert.equal(body.error.code, 429);
      assert.equal(body.error.status, 'RESOURCE_EXHAUSTED');
      assert.ok(!JSON.stringify(body).includes(mocks[kind].apiKey));
    });

    it(`${kind}: a stream that fails midway ends with an error the SDK raises`, T, async () => {
      const stream = await ai.models.generateContentStream({ model: `g-${kind}-cut`, contents: 'break please' });
      let text = '';
      await assert.rejects(async () => {
        for await (const chunk of stream) text += chunk.text ?? '';
      }, (e) => {
        assert.ok(e.status >= 400 || /error|rror/.test(e.message), String(e));
        return true;
      });
      assert.ok(text.length > 0, 'the events before the failure arrived');
    });
  }

  it('a key\'s limits stop a runaway agent on this surface: 429 in Google\'s envelope, nothing sent', T, async () => {
    const agent = new GoogleGenAI({ apiKey: RPM_KEY, httpOptions: { baseUrl: gw.proxyURL } });
    for (let i = 0; i < 3; i++) await agent.models.generateContent({ model: CHAT.openai, contents: `turn ${i}` });
    const sent = mocks.openai.requests.length;
    await assert.rejects(agent.models.generateContent({ model: CHAT.openai, contents: 'one more' }), (e) => {
      assert.equal(e.status, 429);
      assert.match(e.message, /RESOURCE_EXHAUSTED/);
      return true;
    });
    assert.equal(mocks.openai.requests.length, sent);
  });

  it('models.list and models.get answer in Gemini\'s shape, only what the key may use', T, async () => {
    const names = [];
    for await (const m of await ai.models.list()) names.push(m.name);
    assert.ok(names.includes(`models/${CHAT.gemini}`) && names.includes(`models/${CHAT.bedrock}`), names.join());
    const limited = new GoogleGenAI({ apiKey: KEYS.limited, httpOptions: { baseUrl: gw.proxyURL } });
    const few = [];
    for await (const m of await limited.models.list()) few.push(m.name);
    assert.deepEqual(few, [`models/${CHAT.gemini}`]);
    const one = await ai.models.get({ model: CHAT.openai });
    assert.equal(one.name, `models/${CHAT.openai}`);
    await assert.rejects(ai.models.get({ model: 'nope' }), (e) => e.status === 404);
  });

  it('what a target cannot honour is dropped and named in x-tollgate-dropped; Gemini itself gets every byte', T, async () => {
    const body = {
      contents: [{ role: 'user', parts: [{ text: 'steer me' }] }],
      safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }],
      generationConfig: { topK: 20, temperature: 0.3 },
    };
    const post = (model) => fetch(`${gw.proxyURL}/v1beta/models/${model}:generateContent`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': KEYS.all }, body: JSON.stringify(body),
    });
    const res = await post(CHAT.openai);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual((res.headers.get('x-tollgate-dropped') ?? '').split(',').sort(), ['safetySettings', 'top_k']);
    const sent = mocks.openai.requests.at(-1).body;
    assert.equal(sent.temperature, 0.3);
    assert.ok(!('top_k' in sent) && !('safetySettings' in sent), JSON.stringify(sent));
    const fast = await post(CHAT.gemini);
    assert.equal(fast.status, 200);
    assert.equal(fast.headers.get('x-tollgate-dropped'), null);
    assert.deepEqual(mocks.gemini.requests.at(-1).body, body);
  });

  it('a call Gemini signed (thoughtSignature), replayed to Anthropic: the signature is dropped and named, for a strict model too', T, async () => {
    const contents = [{ role: 'user', parts: [{ text: `weather in Oslo ${CALL_WEATHER}` }] }];
    const first = await ai.models.generateContent({ model: CHAT.gemini, contents, config: { tools: [weather] } });
    const signed = first.candidates[0].content.parts.find((p) => p.functionCall);
    assert.ok(signed.thoughtSignature, 'the Gemini mock signs its first call');
    contents.push(first.candidates[0].content);
    contents.push({ role: 'user', parts: [{ functionResponse: { id: signed.functionCall.id, name: 'get_weather', response: { result: 'cold' } } }] });
    for (const model of [CHAT.anthropic, `${CHAT.anthropic}-strict`]) {
      const second = await ai.models.generateContent({ model, contents, config: { tools: [weather] } });
      assert.match(second.text, /^Tool result: .*cold/);
      assert.equal(second.sdkHttpResponse.headers['x-tollgate-dropped'], 'contents[].parts[].thoughtSignature');
      const sent = JSON.stringify(mocks.anthropic.requests.at(-1).body);
      assert.ok(!sent.includes(signed.thoughtSignature), sent);
    }
    // A parameter the strict model cannot honour is still refused.
    await assert.rejects(ai.models.generateContent({ model: `${CHAT.anthropic}-strict`, contents: 'hi', config: { safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }] } }),
      (e) => e.status === 400 && /safetySettings/.test(e.message));
  });

  it('errors come in Google\'s envelope: unknown model, bad key, refused field', T, async () => {
    await assert.rejects(ai.models.generateContent({ model: 'no-such-model', contents: 'x' }), (e) => {
      assert.equal(e.status, 404);
      return true;
    });
    const bad = new GoogleGenAI({ apiKey: 'wrong', httpOptions: { baseUrl: gw.proxyURL } });
    await assert.rejects(bad.models.generateContent({ model: CHAT.gemini, contents: 'x' }), (e) => e.status === 401);
    const res = await fetch(`${gw.proxyURL}/v1beta/models/${CHAT.openai}:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': KEYS.all },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'x' }] }], tools: [{ googleSearch: {} }] }),
    });
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.equal(body.error.code, 400);
    assert.equal(body.error.status, 'INVALID_ARGUMENT');
    assert.match(body.error.message, /googleSearch/);
  });
});

describe('the Gemini surface over plain HTTP', () => {
  const scope = cleanupScope();
  let gw;
  before(async () => {
    ({ gw } = await startAll(scope));
  });
  after(() => scope.run());

  for (const kind of ['gemini', 'anthropic']) {
    it(`${kind}: streamGenerateContent without alt=sse is one JSON array; ?key= authenticates`, T, async () => {
      const res = await fetch(`${gw.proxyURL}/v1beta/models/${CHAT[kind]}:streamGenerateContent?key=${KEYS.all}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'as an array' }] }] }),
        signal: AbortSignal.timeout(15_000),
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      const arr = JSON.parse(await res.text());
      assert.ok(Array.isArray(arr) && arr.length >= 2, JSON.stringify(arr));
      const text = arr.map((e) => (e.candidates?.[0]?.content?.parts ?? []).map((p) => p.text ?? '').join('')).join('');
      assert.equal(text, 'Echo: as an array');
      assert.ok(arr.at(-1).usageMetadata.promptTokenCount > 0);
    });
  }

  it('SSE events end with \\r\\n\\r\\n on the translated path as on Gemini\'s', T, async () => {
    const res = await fetch(`${gw.proxyURL}/v1beta/models/${CHAT.openai}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.all}` },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'framing' }] }] }),
      signal: AbortSignal.timeout(15_000),
    });
    assert.equal(res.status, 200);
    const raw = await res.text();
    const events = raw.split('\r\n\r\n').filter(Boolean);
    assert.ok(events.length >= 2 && events.every((e) => e.startsWith('data: {')), raw);
  });

  it('a missing key is 401 in Google\'s envelope', T, async () => {
    const res = await fetch(`${gw.proxyURL}/v1beta/models/${CHAT.gemini}:generateContent`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"contents":[{"parts":[{"text":"x"}]}]}',
    });
    assert.equal(res.status, 401);
    const body = await res.json();
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'status']);
    assert.equal(body.error.status, 'UNAUTHENTICATED');
  });
});
