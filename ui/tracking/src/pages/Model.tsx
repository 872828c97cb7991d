import { api, type AuditEntry } from '../api';
import { KeyTable } from '../components/KeyTable';
import { Empty, ErrorState, Loading } from '../components/states';
import { cellText, formatTime } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';

const AUDIT_KNOWN = new Set(['timestamp', 'user_id', 'user', 'action', 'name', 'version']);

function AuditTrail({ name }: { name: string }) {
  const result = useLoad(async () => {
    const r = await api.auditTrail(name);
    return r.entries ?? r.events ?? r.audit ?? [];
  }, [name]);
  if (result.state === 'loading') return <Loading what="the audit trail" />;
  if (result.state === 'error') return <ErrorState error={result.error} what="the audit trail" />;
  const entries: AuditEntry[] = [...result.data].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0));
  if (!entries.length) return <Empty>No registry changes recorded for this model yet.</Empty>;
  return (
    <KeyTable
      label="Audit trail"
      class="audit"
      head={
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>Action</th>
          <th class="num">Version</th>
          <th>Details</th>
        </tr>
      }
    >
      {entries.map((e, i) => (
        <tr data-row tabIndex={0} key={i}>
          <td>{formatTime(e.timestamp as number)}</td>
          <td>{e.user_id ?? e.user ?? '—'}</td>
          <td class="mono">{e.action ?? '—'}</td>
          <td class="num">{e.version ? `v${e.version}` : '—'}</td>
          <td class="mono wrap">
            {Object.entries(e)
              .filter(([k, v]) => !AUDIT_KNOWN.has(k) && v !== undefined && v !== null && v !== '')
              .map(([k, v]) => `${k}=${cellText(v)}`)
              .join('  ')}
          </td>
        </tr>
      ))}
    </KeyTable>
  );
}

export function ModelPage({ name }: { name: string }) {
  const model = useLoad(() => api.getRegisteredModel(name), [name]);
  const versions = useLoad(() => api.searchModelVersions(name), [name]);
  if (model.state === 'loading') return <Loading what={`model ${name}`} />;
  if (model.state === 'error') return <ErrorState error={model.error} what={`model ${name}`} />;
  const m = model.data.registered_model;
  const list = versions.state === 'ok' ? [...(versions.data.model_versions ?? [])].sort((a, b) => Number(b.version) - Number(a.version)) : [];
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['models'])}>Registered models</a> / {m.name}
      </nav>
      <h1>{m.name}</h1>
      {m.description && <p>{m.description}</p>}
      <dl class="facts">
        <dt>Created</dt>
        <dd>{formatTime(m.creation_timestamp)}</dd>
        <dt>Last modified</dt>
        <dd>{formatTime(m.last_updated_timestamp)}</dd>
        <dt>Aliases</dt>
        <dd class="aliases">
          {!m.aliases?.length
            ? '—'
            : m.aliases.map((a) => (
                <span class="badge alias" key={a.alias}>
                  @{a.alias} → v{a.version}
                </span>
              ))}
        </dd>
        {m.tags !== undefined && m.tags.length > 0 && (
          <>
            <dt>Tags</dt>
            <dd>
              {m.tags.map((t) => (
                <span class="badge" key={t.key}>
                  {t.key}={t.value}
                </span>
              ))}
            </dd>
          </>
        )}
      </dl>

      <h2>Versions</h2>
      {versions.state === 'loading' && <Loading what="versions" />}
      {versions.state === 'error' && <ErrorState error={versions.error} what="versions" />}
      {versions.state === 'ok' && list.length === 0 && <Empty>No versions yet. Register a run's model under this name to create version 1.</Empty>}
      {list.length > 0 && (
        <KeyTable
          label="Versions"
          class="versions"
          head={
            <tr>
              <th class="num">Version</th>
              <th>Stage</th>
              <th>Aliases</th>
              <th>Status</th>
              <th>Created</th>
              <th>Source run</th>
              <th>Source</th>
            </tr>
          }
          onOpen={(i) => list[i].run_id && navigate(href(['runs', list[i].run_id]))}
        >
          {list.map((v) => (
            <tr data-row tabIndex={0} key={v.version} data-version={v.version}>
              <td class="num">v{v.version}</td>
              <td>
                <span class={`badge stage ${(v.current_stage ?? 'None').toLowerCase()}`}>{v.current_stage || 'None'}</span>
              </td>
              <td>
                {(v.aliases ?? []).map((a) => (
                  <span class="badge alias" key={a}>
                    @{a}
                  </span>
                ))}
              </td>
              <td>{v.status}</td>
              <td>{formatTime(v.creation_timestamp)}</td>
              <td>{v.run_id ? <a href={href(['runs', v.run_id])}>{v.run_id.slice(0, 12)}</a> : '—'}</td>
              <td class="mono muted wrap">{v.source}</td>
            </tr>
          ))}
        </KeyTable>
      )}

      <h2>Audit trail</h2>
      <AuditTrail name={m.name} />
    </section>
  );
}
