// The shell: sign-in gate, navigation, hash routes (#/overview, #/logs/<id>, ...). Hash routes
// need nothing from the server but /ui/ itself. Every resource kind with generic routes in the
// schema gets a page; the ones below with a page of their own keep it.
import { useEffect, useState } from 'react';
import { Logo } from './components/Logo.jsx';
import { api, auth, onUnauthorized } from './api.js';
import { CanWrite } from './components/ui.jsx';
import Login from './pages/Login.jsx';
import Overview from './pages/Overview.jsx';
import Keys from './pages/Keys.jsx';
import Guardrails from './pages/Guardrails.jsx';
import Resources from './pages/Resources.jsx';
import { forgetSchema, loadSchema, title } from './schema.js';
import Logs from './pages/Logs.jsx';
import Playground from './pages/Playground.jsx';
import Access from './pages/Access.jsx';
import McpServers from './pages/McpServers.jsx';
import Teams from './pages/Teams.jsx';

const PAGES = [
  { id: 'overview', title: 'Overview', component: Overview },
  { id: 'providers', title: 'Providers', component: Resources },
  { id: 'models', title: 'Models', component: Resources },
  { id: 'keys', title: 'Keys', component: Keys },
  { id: 'guardrails', title: 'Guardrails', component: Guardrails },
  { id: 'teams', title: 'Teams', component: Teams },
  { kinds: true }, // the schema's other kinds (cache_policies, ...), in its order
  { id: 'logs', title: 'Logs', component: Logs },
  { id: 'playground', title: 'Playground', component: Playground },
  { id: 'access', title: 'Access', component: Access },
  { id: 'mcp_servers', title: 'MCP servers', component: McpServers },
];

// A team-admin manages one team: its page (first), its keys, its requests, the Playground.
const TEAM_ADMIN_PAGES = ['teams', 'keys', 'logs', 'playground'];

/** The pages, with one for each kind of the schema that has generic routes and no page above. */
function pagesOf(schema, caller) {
  const own = new Set(PAGES.map((p) => p.id));
  const kinds = (schema?.kinds ?? [])
    .filter((k) => k.generic_routes && !own.has(k.name))
    .map((k) => ({ id: k.name, title: title(k.name), component: Resources }));
  const all = PAGES.flatMap((p) => (p.kinds ? kinds : [p]));
  if (caller?.role !== 'team-admin') return all;
  return all
    .filter((p) => TEAM_ADMIN_PAGES.includes(p.id))
    .map((p) => (p.id === 'teams' ? { ...p, title: 'Team', arg: caller.team } : p))
    .sort((a, b) => TEAM_ADMIN_PAGES.indexOf(a.id) - TEAM_ADMIN_PAGES.indexOf(b.id));
}

// The first-start sign-in link (.../ui/#signin=<admin key>): the key is taken from the fragment,
// which leaves the address bar and the history at once, before anything else reads it.
function takeSigninFragment() {
  const m = /^#signin=([^&/]+)$/.exec(window.location.hash);
  if (!m) return '';
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/overview`);
  return decodeURIComponent(m[1]);
}

function parseHash() {
  const h = window.location.hash.replace(/^#\/?/, '');
  const [page, ...rest] = h.split('/');
  return { page: page || 'overview', arg: rest.length ? decodeURIComponent(rest.join('/')) : null };
}

export default function App() {
  const [linkKey] = useState(takeSigninFragment);
  const [checkingLink, setCheckingLink] = useState(Boolean(linkKey));
  const [key, setKey] = useState(auth.get());
  const [config, setConfig] = useState(null);
  const [route, setRoute] = useState(parseHash());
  const [menuOpen, setMenuOpen] = useState(false);
  const [expired, setExpired] = useState(false);
  const [schema, setSchema] = useState(null);

  useEffect(() => {
    const onHash = () => {
      setRoute(parseHash());
      setMenuOpen(false);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(
    () =>
      onUnauthorized(() => {
        auth.clear();
        setKey('');
        setExpired(true);
      }),
    [],
  );

  // The config is what the Playground's model list and the snippets' base URL come from.
  useEffect(() => {
    if (!key) return;
    let live = true;
    api.get('/admin/v1/config').then(
      (c) => live && setConfig(c),
      () => live && setConfig((c) => c ?? {}), // pages wait for it (the caller's role)
    );
    return () => {
      live = false;
    };
  }, [key, route.page]);

  useEffect(() => {
    if (!key) return;
    let live = true;
    loadSchema().then(
      (s) => live && setSchema(s),
      () => live && setSchema({ kinds: [] }),
    );
    return () => {
      live = false;
    };
  }, [key]);

  useEffect(() => {
    if (!linkKey) return;
    api.get('/admin/v1/config', { key: linkKey, quiet401: true }).then(
      (c) => {
        auth.set(linkKey);
        setConfig(c);
        setExpired(false);
        setKey(linkKey);
        setCheckingLink(false);
      },
      () => {
        setExpired('link');
        setCheckingLink(false);
      },
    );
  }, [linkKey]);

  if (checkingLink) return <div className="login muted">Signing in…</div>;
  if (!key) {
    return (
      <Login
        expired={expired}
        onSignedIn={(k, c) => {
          auth.set(k);
          setConfig(c);
          setExpired(false);
          setKey(k);
        }}
      />
    );
  }

  const pages = pagesOf(schema, config?.caller);
  // An unknown page is the first (the overview; a team-admin's team), once the schema and the
  // caller's role are known. A page's own argument (a team-admin's team) wins over the route's.
  const current = schema && config ? (pages.find((p) => p.id === route.page) ?? pages[0]) : null;
  const Page = current?.component;
  const arg = current?.arg ?? (current?.id === route.page ? route.arg : null);
  return (
    <div className="shell">
      <header className="topbar">
        <button className="icon menu-toggle" aria-label="Menu" aria-expanded={menuOpen} onClick={() => setMenuOpen((o) => !o)}>
          ☰
        </button>
        <a className="brand" href="#/overview">
          <Logo /> Tollgate
        </a>
        <span className="spacer" />
        {config?.caller?.role === 'viewer' && (
          <span className="badge" data-testid="role-viewer">
            viewer: read-only
          </span>
        )}
        {config?.caller?.role === 'team-admin' && (
          <span className="badge" data-testid="role-team-admin">
            team-admin: {config.caller.team}
          </span>
        )}
        {config?.gateway_version && <span className="muted small">v{config.gateway_version}</span>}
        <button
          className="secondary"
          data-testid="sign-out"
          onClick={() => {
            auth.clear();
            forgetSchema();
            setKey('');
            setConfig(null);
          }}
        >
          Sign out
        </button>
      </header>
      <nav className={`sidebar${menuOpen ? ' open' : ''}`} aria-label="Pages">
        {pages.map((p) => (
          <a key={p.id} href={`#/${p.id}${p.arg ? `/${encodeURIComponent(p.arg)}` : ''}`} className={p.id === current?.id ? 'active' : ''} data-testid={`nav-${p.id}`} aria-current={p.id === current?.id ? 'page' : undefined}>
            {p.title}
          </a>
        ))}
      </nav>
      <main className="content" data-testid={current ? `page-${current.id}` : 'page-loading'}>
        <CanWrite.Provider value={config?.caller?.role !== 'viewer'}>
          {Page && <Page key={current.id} kindName={current.id} arg={arg} config={config} />}
        </CanWrite.Provider>
      </main>
    </div>
  );
}
