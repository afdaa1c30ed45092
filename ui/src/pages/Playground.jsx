// Try a model through the gateway: system prompt + messages + parameters, streamed; each run
// shows TTFT, latency, tokens and cost (cost from the request log entry of the run); compare
// two models on the same prompt; copy the run as curl / Python / Node.
import { useEffect, useRef, useState } from 'react';
import { api, items, modelNames, one } from '../api.js';
import { CopyButton } from '../components/ui.jsx';
import { fmtInt, fmtMs, fmtUsd } from '../format.js';
import { navigate } from '../nav.js';
import { ChatError, streamChat, snippets } from '../stream.js';

const KEY_STORAGE = 'tollgate.playgroundKey';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The proxy's OpenAI base URL for snippets, from the config when it says where it listens. */
function proxyBase(config) {
  const c = config?.data ?? config ?? {};
  const listen = c.proxy_url ?? c.listen?.proxy ?? c.proxy?.listen ?? c.proxy_listen ?? null;
  if (!listen) return 'http://127.0.0.1:8080/v1';
  // A wildcard address is no place to connect to: the host this page came from is.
  const reachable = String(listen).replace(/^(0\.0\.0\.0|\[::\])(?=:)/, window.location.hostname);
  const base = /^https?:\/\//.test(reachable) ? reachable : `http://${reachable}`;
  return `${base.replace(/\/$/, '').replace(/\/v1$/, '')}/v1`;
}

/** The usage row of a finished run (written within a moment): cost and the gateway's timings. */
async function fetchRecord(requestId, signal) {
  for (let i = 0; i < 12; i++) {
    await sleep(i === 0 ? 250 : 400);
    if (signal?.aborted) return null;
    try {
      return one(await api.get(`/admin/v1/requests/${encodeURIComponent(requestId)}`, { signal }), 'request');
    } catch (err) {
      if (err.status !== 404) return null;
    }
  }
  return null;
}

function Pane({ index, model, models, onModel, run }) {
  const outRef = useRef(null);
  useEffect(() => {
    if (outRef.current) outRef.current.scrollTop = outRef.current.scrollHeight;
  }, [run?.text]);
  const u = run?.usage;
  const cost = run?.record?.cost_usd;
  return (
    <section className="card pane" data-testid={`pane-${index}`}>
      <div className="pane-head">
        <select aria-label={`Model ${index + 1}`} value={model} onChange={(e) => onModel(e.target.value)} data-testid={`model-select-${index}`}>
          {!models.includes(model) && <option value={model}>{model || '— choose a model —'}</option>}
          {models.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
        {run?.status === 'running' && <span className="badge subtle pulse">streaming…</span>}
        {run?.status === 'done' && <span className="badge ok" data-testid={`status-${index}`} title={run.finish ? `finish_reason: ${run.finish}` : undefined}>{run.finish === 'stopped' ? 'stopped' : 'done'}</span>}
        {run?.status === 'error' && <span className="badge bad">error{run.error?.status ? ` ${run.error.status}` : ''}</span>}
      </div>
      <div className="output" ref={outRef} data-testid={`output-${index}`} aria-live="polite">
        {run?.text ? run.text : run?.status === 'running' ? <span className="muted">Waiting for the first token…</span> : <span className="muted">The answer streams here.</span>}
        {run?.status === 'running' && run.text && <span className="caret" />}
      </div>
      {run?.status === 'error' && (
        <div className="alert error" role="alert" data-testid={`run-error-${index}`}>
          {run.error.message}
        </div>
      )}
      {run && run.status !== 'running' && run.status !== 'error' && (
        <div className="metrics" data-testid={`metrics-${index}`}>
          <div>
            <span className="muted">TTFT</span> <strong data-testid={`ttft-${index}`}>{fmtMs(run.ttftMs)}</strong>
          </div>
          <div>
            <span className="muted">Latency</span> <strong data-testid={`latency-${index}`}>{fmtMs(run.latencyMs)}</strong>
          </div>
          <div>
            <span className="muted">Tokens</span>{' '}
            <strong data-testid={`tokens-${index}`}>{u ? `${fmtInt(u.prompt_tokens)} in · ${fmtInt(u.completion_tokens)} out` : '—'}</strong>
          </div>
          <div>
            <span className="muted">Cost</span>{' '}
            <strong data-testid={`cost-${index}`}>{run.record ? (cost === null || cost === undefined ? 'unknown price' : fmtUsd(cost)) : run.recordPending ? '…' : '—'}</strong>
          </div>
          {run.requestId && (
            <div>
              <button className="link" onClick={() => navigate('logs', run.requestId)} data-testid={`open-log-${index}`}>
                Open in Logs
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

export default function Playground({ config }) {
  const [models, setModels] = useState(() => modelNames(config));
  const [vkey, setVkey] = useState(() => sessionStorage.getItem(KEY_STORAGE) || '');
  const [system, setSystem] = useState('You are a helpful assistant.');
  const [messages, setMessages] = useState([{ role: 'user', content: '' }]);
  const [temperature, setTemperature] = useState('0.7');
  const [maxTokens, setMaxTokens] = useState('512');
  const [compare, setCompare] = useState(false);
  const [picked, setPicked] = useState(['', '']);
  const [runs, setRuns] = useState([null, null]);
  const [snippet, setSnippet] = useState(null); // 'curl' | 'python' | 'node'
  const aborts = useRef([]);

  useEffect(() => {
    const fromConfig = modelNames(config);
    if (fromConfig.length) setModels(fromConfig);
    else
      api
        .get('/admin/v1/models')
        .then((m) => setModels([...new Set([...items(m, 'models').map((x) => x.name), 'demo'])]))
        .catch(() => setModels(['demo']));
  }, [config]);

  useEffect(() => {
    if (!models.length) return;
    setPicked((p) => [p[0] || models[0], p[1] || models[1] || models[0]]);
  }, [models]);

  useEffect(() => () => aborts.current.forEach((a) => a?.abort()), []);

  const running = runs.some((r) => r?.status === 'running');
  const body = (model) => {
    const msgs = [...(system.trim() ? [{ role: 'system', content: system }] : []), ...messages.filter((m) => m.content.trim())];
    const b = { model, messages: msgs };
    if (temperature !== '' && Number.isFinite(Number(temperature))) b.temperature = Number(temperature);
    if (maxTokens !== '' && Number.isFinite(Number(maxTokens))) b.max_tokens = Number(maxTokens);
    return b;
  };

  async function runPane(i) {
    const controller = new AbortController();
    aborts.current[i] = controller;
    const update = (patch) => setRuns((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
    setRuns((rs) => rs.map((r, j) => (j === i ? { status: 'running', text: '' } : r)));
    try {
      const res = await streamChat({
        key: vkey.trim(),
        body: body(picked[i]),
        signal: controller.signal,
        onDelta: (_piece, text) => update({ text }),
      });
      update({ ...res, status: 'done', recordPending: !!res.requestId });
      if (res.requestId) {
        const record = await fetchRecord(res.requestId, controller.signal);
        update({ record, recordPending: false });
      }
    } catch (err) {
      if (err.name === 'AbortError') update({ status: 'done', finish: 'stopped' });
      else update({ status: 'error', error: err instanceof ChatError ? err : { message: err.message } });
    }
  }

  function run(e) {
    e?.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, vkey.trim());
    setRuns(compare ? [null, null] : [null, runs[1]]);
    runPane(0);
    if (compare) runPane(1);
  }

  const canRun = vkey.trim() && picked[0] && messages.some((m) => m.content.trim()) && !running;
  const snip = snippets({ baseURL: proxyBase(config), body: body(picked[0]) });

  return (
    <div className="page playground">
      <div className="page-head">
        <h1>Playground</h1>
        <div className="toolbar">
          <label className="check">
            <input type="checkbox" checked={compare} onChange={(e) => setCompare(e.target.checked)} data-testid="compare" /> Compare two models
          </label>
        </div>
      </div>
      <div className="pg-layout">
        <form className="card pg-input" onSubmit={run} data-testid="playground-form">
          <label className="field">
            <span className="field-label">Virtual key</span>
            <input type="password" name="virtual-key" autoComplete="off" value={vkey} onChange={(e) => setVkey(e.target.value)} placeholder="tg-…" data-testid="virtual-key" />
            <span className="field-hint">Runs are made with this key, so they count against its limits and budget.</span>
          </label>
          <label className="field">
            <span className="field-label">System prompt</span>
            <textarea name="system" rows={2} value={system} onChange={(e) => setSystem(e.target.value)} data-testid="system-prompt" />
          </label>
          {messages.map((m, i) => (
            <div className="message" key={i}>
              <select aria-label={`Role of message ${i + 1}`} value={m.role} onChange={(e) => setMessages(messages.map((x, j) => (j === i ? { ...x, role: e.target.value } : x)))}>
                <option>user</option>
                <option>assistant</option>
              </select>
              <textarea
                aria-label={`Message ${i + 1}`}
                rows={3}
                value={m.content}
                placeholder={m.role === 'user' ? 'Ask something…' : 'An earlier answer'}
                onChange={(e) => setMessages(messages.map((x, j) => (j === i ? { ...x, content: e.target.value } : x)))}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && (e.metaKey || e.ctrlKey) && canRun) run(e);
                }}
                data-testid={`message-${i}`}
              />
              {messages.length > 1 && (
                <button type="button" className="icon" aria-label={`Remove message ${i + 1}`} onClick={() => setMessages(messages.filter((_, j) => j !== i))}>
                  ×
                </button>
              )}
            </div>
          ))}
          <button type="button" className="link" onClick={() => setMessages([...messages, { role: messages[messages.length - 1]?.role === 'user' ? 'assistant' : 'user', content: '' }])}>
            + Add message
          </button>
          <div className="params">
            <label className="field">
              <span className="field-label">Temperature</span>
              <input type="number" min="0" max="2" step="0.1" value={temperature} onChange={(e) => setTemperature(e.target.value)} data-testid="temperature" />
            </label>
            <label className="field">
              <span className="field-label">Max tokens</span>
              <input type="number" min="1" step="1" value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} data-testid="max-tokens" />
            </label>
          </div>
          <div className="form-actions">
            {running ? (
              <button type="button" className="secondary" onClick={() => aborts.current.forEach((a) => a?.abort())} data-testid="stop">
                Stop
              </button>
            ) : null}
            <button type="submit" disabled={!canRun} data-testid="run">
              {running ? 'Running…' : 'Run ▸'}
            </button>
          </div>
          <div className="snippet-actions">
            <span className="muted small">Copy as</span>
            {['curl', 'python', 'node'].map((k) => (
              <button type="button" key={k} className={`secondary small${snippet === k ? ' active' : ''}`} onClick={() => setSnippet(snippet === k ? null : k)} data-testid={`snippet-${k}`}>
                {k === 'curl' ? 'curl' : k === 'python' ? 'Python SDK' : 'Node SDK'}
              </button>
            ))}
          </div>
          {snippet && (
            <div className="snippet">
              <pre data-testid="snippet-text">{snip[snippet]}</pre>
              <CopyButton text={snip[snippet]} testid="snippet-copy" />
            </div>
          )}
        </form>
        <div className={`panes${compare ? ' two' : ''}`}>
          <Pane index={0} model={picked[0]} models={models} onModel={(m) => setPicked([m, picked[1]])} run={runs[0]} />
          {compare && <Pane index={1} model={picked[1]} models={models} onModel={(m) => setPicked([picked[0], m])} run={runs[1]} />}
        </div>
      </div>
    </div>
  );
}
