// Teams: the kind's generic page (table and schema-made form), each name linking to the team's
// own page (#/teams/<name>): its budget as spent/limit bars and its limits, which all its keys
// draw from together; its keys with their own budgets; and its usage over time (the Overview
// narrowed by `team=`). A team-admin's navigation leads here, to its own team.
import { useState } from 'react';
import { api, items } from '../api.js';
import { BudgetBars } from '../components/BudgetBars.jsx';
import { ResourceForm } from '../components/ResourceForm.jsx';
import { ErrorBox, Loading, Modal, useLoad } from '../components/ui.jsx';
import { fmtInt } from '../format.js';
import { kindOf, label, loadSchema } from '../schema.js';
import { KEY_COLUMNS } from './Keys.jsx';
import { UsageView } from './Overview.jsx';
import { ResourcePage, ResourceTable } from './Resources.jsx';

const LIMITS = ['rpm', 'rpd', 'tpm', 'tpd', 'concurrency'];
const teamHref = (name) => `#/teams/${encodeURIComponent(name)}`;

async function loadTeam(name) {
  const [doc, team, keys] = await Promise.all([
    loadSchema(),
    api.get(`/admin/v1/teams/${encodeURIComponent(name)}`),
    api.get('/admin/v1/keys?include_revoked=true'),
  ]);
  return { doc, team, keys: items(keys).filter((k) => k.team === name) };
}

function Limits({ team }) {
  const set = LIMITS.filter((l) => typeof team.limits?.[l] === 'number');
  return (
    <section className="card" data-testid="team-limits">
      <h3>Limits</h3>
      <p className="muted small">Shared by all the team's keys, on top of each key's own.</p>
      {set.length ? (
        <table className="compact">
          <tbody>
            {set.map((l) => (
              <tr key={l} data-testid={`team-limit-${l}`}>
                <td>{label(l)}</td>
                <td className="num">{fmtInt(team.limits[l])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p className="muted">No team limits: each key's own apply.</p>
      )}
      <p className="small">
        <span className="muted">Models: </span>
        {team.models?.length ? team.models.join(', ') : <span className="muted">every model the keys allow</span>}
      </p>
    </section>
  );
}

function TeamPage({ name, config }) {
  const [data, error, loading, reload] = useLoad(() => loadTeam(name), [name]);
  const [editing, setEditing] = useState(false);
  const role = config?.caller?.role;
  const team = data?.team;
  const kind = kindOf(data?.doc, 'teams');
  return (
    <div className="page" data-testid="team-page">
      <div className="page-head">
        <h1>
          Team <span data-testid="team-name">{name}</span>
        </h1>
        <div className="toolbar">
          {role !== 'team-admin' && <a href="#/teams">All teams</a>}
          {role === 'admin' && team && (
            <button onClick={() => setEditing(true)} data-testid="team-edit">
              Edit team
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={error} onRetry={reload} />
      {loading && !data && <Loading />}
      {team && (
        <>
          <div className="grid2">
            <section className="card" data-testid="team-budget">
              <h3>Budget</h3>
              <p className="muted small">
                {team.budget ? `${team.budget.mode === 'warn' ? 'Warn' : 'Hard'} budget for all the team's keys together.` : 'No team budget.'}
              </p>
              <BudgetBars budget={team.budget} spend={team.spend} />
            </section>
            <Limits team={team} />
          </div>
          <section data-testid="team-keys">
            <div className="page-head">
              <h2>Keys ({data.keys.length})</h2>
              <a href="#/keys">Manage keys</a>
            </div>
            <ResourceTable kind={kindOf(data.doc, 'keys')} doc={data.doc} rows={data.keys} columns={KEY_COLUMNS} rowKey={(k) => k.id} actions={() => null} />
          </section>
        </>
      )}
      {team && <UsageView team={name} heading={<h2>Usage</h2>} />}
      {editing && kind && (
        <Modal title={`Edit team ${name}`} onClose={() => setEditing(false)} wide>
          <ResourceForm
            kind={kind}
            doc={data.doc}
            existing={team}
            onCancel={() => setEditing(false)}
            onDone={() => {
              setEditing(false);
              reload();
            }}
          />
        </Modal>
      )}
    </div>
  );
}

export default function Teams({ arg, config }) {
  if (arg) return <TeamPage key={arg} name={arg} config={config} />;
  return <ResourcePage kindName="teams" nameHref={(r) => teamHref(r.name)} />;
}
