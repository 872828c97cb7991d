import { api, type DatasetInput, type LoggedModel, type ModelVersion, type Run } from '../api';
import { formatTime } from '../format';
import { useLoad, type Loaded } from '../hooks';
import { href } from '../router';
import { Empty, ErrorState, Loading } from './states';

export function tagOf(run: Run, key: string): string | undefined {
  return run.data.tags?.find((t) => t.key === key)?.value;
}

/** The run that `mlflow.parentRunId` names, by name once it loads. */
export function ParentLink({ parentId }: { parentId: string }) {
  const parent = useLoad(async () => (await api.getRun(parentId)).run, [parentId]);
  const name = parent.state === 'ok' ? parent.data.info.run_name || parentId : parentId;
  return (
    <a href={href(['runs', parentId])} class="parent-run">
      {name}
    </a>
  );
}

/** Runs nested under this one (autolog's tuning candidates, `start_run(nested=True)`). */
export function ChildRuns({ run }: { run: Run }) {
  const children = useLoad(async () => (await api.childRuns(run.info.experiment_id, run.info.run_id)).runs ?? [], [run.info.run_id]);
  if (children.state === 'loading') return <span class="muted">…</span>;
  if (children.state === 'error') return <ErrorState error={children.error} what="child runs" />;
  if (!children.data.length) return <span class="muted">—</span>;
  return (
    <ul class="inline-list child-runs" aria-label="Child runs">
      {children.data.map((c) => (
        <li key={c.info.run_id}>
          <a href={href(['runs', c.info.run_id])}>{c.info.run_name || c.info.run_id}</a>
        </li>
      ))}
    </ul>
  );
}

function profileRows(profile?: string): string {
  try {
    const p = JSON.parse(profile ?? '') as { num_rows?: number };
    return p.num_rows !== undefined ? String(p.num_rows) : '—';
  } catch {
    return '—';
  }
}

function schemaColumns(schema?: string): string[] {
  try {
    const s = JSON.parse(schema ?? '') as { mlflow_colspec?: { name?: string; type?: string }[] };
    return (s.mlflow_colspec ?? []).map((c) => `${c.name ?? '?'}: ${c.type ?? '?'}`);
  } catch {
    return [];
  }
}

/** What `mlflow.log_input` recorded: name, digest, context (training, evaluation…), source, rows, schema. */
export function Datasets({ inputs }: { inputs: DatasetInput[] }) {
  if (!inputs.length)
    return (
      <Empty>
        No datasets logged. Record one with <code>mlflow.log_input(mlflow.data.from_pandas(df), context="training")</code>.
      </Empty>
    );
  return (
    <div class="scroll-x">
      <table class="table datasets" aria-label="Datasets">
        <thead>
          <tr>
            <th>Name</th>
            <th>Digest</th>
            <th>Context</th>
            <th>Source</th>
            <th class="num">Rows</th>
            <th>Schema</th>
          </tr>
        </thead>
        <tbody>
          {inputs.map((d, i) => {
            const cols = schemaColumns(d.dataset.schema);
            return (
              <tr key={`${d.dataset.name}-${d.dataset.digest}-${i}`} data-dataset={d.dataset.name}>
                <td>{d.dataset.name}</td>
                <td class="mono">{d.dataset.digest}</td>
                <td>{d.tags?.find((t) => t.key === 'mlflow.data.context')?.value ?? '—'}</td>
                <td class="mono muted">{d.dataset.source_type ?? '—'}</td>
                <td class="num">{profileRows(d.dataset.profile)}</td>
                <td>
                  {cols.length ? (
                    <details>
                      <summary>{cols.length} columns</summary>
                      <ul class="schema">
                        {cols.map((c) => (
                          <li class="mono" key={c}>
                            {c}
                          </li>
                        ))}
                      </ul>
                    </details>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The run's logged models: by source_run_id, plus any its outputs name that were logged elsewhere. */
export async function loadRunModels(run: Run): Promise<LoggedModel[]> {
  const found = (await api.loggedModelsOfRun(run.info.experiment_id, run.info.run_id)).models ?? [];
  const known = new Set(found.map((m) => m.info.model_id));
  const extra = (run.outputs?.model_outputs ?? []).map((o) => o.model_id).filter((id) => !known.has(id));
  const more = await Promise.all([...new Set(extra)].slice(0, 50).map(async (id) => (await api.getLoggedModel(id)).model));
  return [...found, ...more].sort((a, b) => a.info.name.localeCompare(b.info.name));
}

export function LoggedModels({ models, versions, onFiles }: { models: LoggedModel[]; versions: ModelVersion[]; onFiles: string }) {
  if (!models.length)
    return (
      <Empty>
        No logged models. Log one with <code>mlflow.sklearn.log_model(model, name="model")</code> (autolog does it for you).
      </Empty>
    );
  return (
    <div class="scroll-x">
      <table class="table logged-models" aria-label="Logged models">
        <thead>
          <tr>
            <th>Name</th>
            <th>Model ID</th>
            <th>Type</th>
            <th>Status</th>
            <th>Created</th>
            <th>Registered as</th>
          </tr>
        </thead>
        <tbody>
          {models.map((m) => {
            const registered = versions.filter((v) => v.source === `models:/${m.info.model_id}` || v.source === m.info.artifact_uri);
            return (
              <tr key={m.info.model_id} data-model-id={m.info.model_id}>
                <td>
                  <a href={onFiles}>{m.info.name}</a>
                </td>
                <td class="mono">{m.info.model_id}</td>
                <td class="mono">{m.info.model_type || '—'}</td>
                <td>{(m.info.status ?? '').replace(/^LOGGED_MODEL_/, '') || '—'}</td>
                <td>{formatTime(m.info.creation_timestamp_ms)}</td>
                <td>
                  {registered.length
                    ? registered.map((v) => (
                        <a class="badge" key={`${v.name}/${v.version}`} href={href(['models', v.name])}>
                          {v.name} v{v.version}
                        </a>
                      ))
                    : '—'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Registry versions created from this run (model-versions/search by run_id). */
export function ModelVersions({ versions }: { versions: Loaded<ModelVersion[]> }) {
  if (versions.state === 'loading') return <Loading what="registered versions" />;
  if (versions.state === 'error') return <ErrorState error={versions.error} what="registered versions" />;
  if (!versions.data.length)
    return (
      <Empty>
        Not registered. Register a model of this run with <code>mlflow.register_model("models:/&lt;model_id&gt;", "name")</code>.
      </Empty>
    );
  return (
    <div class="scroll-x">
      <table class="table model-versions" aria-label="Registered model versions">
        <thead>
          <tr>
            <th>Model</th>
            <th class="num">Version</th>
            <th>Stage</th>
            <th>Aliases</th>
            <th>Created</th>
            <th>Source</th>
          </tr>
        </thead>
        <tbody>
          {versions.data.map((v) => (
            <tr key={`${v.name}/${v.version}`} data-version={`${v.name}/${v.version}`}>
              <td>
                <a href={href(['models', v.name])}>{v.name}</a>
              </td>
              <td class="num">v{v.version}</td>
              <td>{v.current_stage || 'None'}</td>
              <td>
                {(v.aliases ?? []).map((a) => (
                  <span class="badge alias" key={a}>
                    @{a}
                  </span>
                ))}
              </td>
              <td>{formatTime(v.creation_timestamp)}</td>
              <td class="mono muted wrap">{v.source}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
