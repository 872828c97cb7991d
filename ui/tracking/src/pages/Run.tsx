import { useMemo, useState } from 'preact/hooks';
import { api, type KeyValue, type LoggedModel, type ModelVersion, type Run } from '../api';
import { ArtifactBrowser } from '../components/Artifacts';
import { useExperimentName, type StepRange } from '../components/ChartControls';
import { KeyTable } from '../components/KeyTable';
import type { XAxis } from '../components/MetricChart';
import { Description, NOTE_TAG, RunTitle, TagEditor } from '../components/RunEditing';
import { ChildRuns, Datasets, loadRunModels, LoggedModels, ModelVersions, ParentLink, tagOf } from '../components/RunRelations';
import { PARENT_TAG } from '../run-tree';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatDuration, formatNumber, formatTime } from '../format';
import { useLoad, type Loaded } from '../hooks';
import { href } from '../router';
import { isSystemMetric, MetricsTab, runHref, type RunTab } from './RunMetrics';

function KeyValueTable({ label, rows }: { label: string; rows: KeyValue[] }) {
  if (!rows.length) return <Empty>No {label.toLowerCase()} logged.</Empty>;
  return (
    <KeyTable
      label={label}
      class="key-value"
      head={
        <tr>
          <th>Key</th>
          <th>Value</th>
        </tr>
      }
    >
      {[...rows]
        .sort((a, b) => a.key.localeCompare(b.key))
        .map((p) => (
          <tr data-row tabIndex={0} key={p.key}>
            <td class="mono wrap">{p.key}</td>
            <td class="mono wrap">{p.value}</td>
          </tr>
        ))}
    </KeyTable>
  );
}

/** Latest value of each metric; a long name wraps inside its column instead of widening the table. */
function LatestMetrics({ run }: { run: Run }) {
  const metrics = [...(run.data.metrics ?? [])].sort((a, b) => Number(isSystemMetric(a.key)) - Number(isSystemMetric(b.key)) || a.key.localeCompare(b.key));
  if (!metrics.length)
    return (
      <Empty>
        No metrics logged. Log some with <code>mlflow.log_metric("loss", value, step=step)</code>.
      </Empty>
    );
  return (
    <KeyTable
      label="Metrics"
      class="latest-metrics"
      head={
        <tr>
          <th>Metric</th>
          <th class="num">Latest</th>
          <th class="num">Step</th>
        </tr>
      }
    >
      {metrics.map((m) => (
        <tr data-row tabIndex={0} key={m.key}>
          <td class="wrap">
            <a href={runHref(run.info.run_id, { tab: isSystemMetric(m.key) ? 'system' : 'metrics', metric: m.key })}>{m.key}</a>
          </td>
          <td class="num">{formatNumber(Number(m.value))}</td>
          <td class="num">{m.step}</td>
        </tr>
      ))}
    </KeyTable>
  );
}

function Source({ run }: { run: Run }) {
  const name = tagOf(run, 'mlflow.source.name');
  const commit = tagOf(run, 'mlflow.source.git.commit');
  if (!name) return <>—</>;
  return (
    <span class="mono">
      {name}
      {commit && <span class="muted"> @ {commit.slice(0, 7)}</span>}
    </span>
  );
}

function Overview({ run, reload, models, versions }: { run: Run; reload: () => void; models: Loaded<LoggedModel[]>; versions: Loaded<ModelVersion[]> }) {
  const { info, data } = run;
  const parent = tagOf(run, PARENT_TAG);
  const userTags = (data.tags ?? []).filter((t) => !t.key.startsWith('mlflow.'));
  const systemTags = (data.tags ?? []).filter((t) => t.key.startsWith('mlflow.'));
  const artifactsTab = runHref(info.run_id, { tab: 'artifacts' });
  return (
    <>
      <dl class="facts">
        <dt>Run ID</dt>
        <dd class="mono">{info.run_id}</dd>
        <dt>Status</dt>
        <dd>
          <span class={`status ${info.status?.toLowerCase()}`}>{info.status}</span>
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(info.start_time)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(info.start_time, info.end_time)}</dd>
        <dt>User</dt>
        <dd>{info.user_id || '—'}</dd>
        <dt>Source</dt>
        <dd>
          <Source run={run} />
        </dd>
        {parent && (
          <>
            <dt>Parent run</dt>
            <dd>
              <ParentLink parentId={parent} />
            </dd>
          </>
        )}
        <dt>Child runs</dt>
        <dd>
          <ChildRuns run={run} />
        </dd>
        <dt>Artifacts</dt>
        <dd class="mono wrap">{info.artifact_uri}</dd>
      </dl>
      <h2>Description</h2>
      <Description key={tagOf(run, NOTE_TAG) ?? ''} runId={info.run_id} note={tagOf(run, NOTE_TAG) ?? ''} onSaved={reload} />
      <h2>Datasets</h2>
      <Datasets inputs={run.inputs?.dataset_inputs ?? []} />
      <h2>Parameters</h2>
      <KeyValueTable label="Parameters" rows={data.params ?? []} />
      <h2>Metrics</h2>
      <LatestMetrics run={run} />
      <h2>Tags</h2>
      <TagEditor runId={info.run_id} tags={userTags} onSaved={reload} />
      {systemTags.length > 0 && (
        <details>
          <summary>System tags ({systemTags.length})</summary>
          <KeyValueTable label="System tags" rows={systemTags} />
        </details>
      )}
      <h2>Logged models</h2>
      {models.state === 'loading' && <Loading what="logged models" />}
      {models.state === 'error' && <ErrorState error={models.error} what="logged models" />}
      {models.state === 'ok' && <LoggedModels models={models.data} versions={versions.state === 'ok' ? versions.data : []} onFiles={artifactsTab} />}
      <h2>Registered model versions</h2>
      <ModelVersions versions={versions} />
    </>
  );
}

const TABS: { tab: RunTab; label: string }[] = [
  { tab: 'overview', label: 'Overview' },
  { tab: 'metrics', label: 'Model metrics' },
  { tab: 'system', label: 'System metrics' },
  { tab: 'artifacts', label: 'Artifacts' },
];

export function RunPage(props: { runId: string; tab?: RunTab; metric?: string; axis: XAxis; steps?: StepRange }) {
  const { runId, metric, axis, steps } = props;
  const [version, setVersion] = useState(0);
  const result = useLoad(() => api.getRun(runId), [runId, version], { keep: true });
  const run = result.state === 'ok' ? result.data.run : undefined;
  const experimentName = useExperimentName(run?.info.experiment_id);
  const models = useLoad(async () => (run ? loadRunModels(run) : []), [run?.info.run_id]);
  const versions = useLoad(async () => (await api.modelVersionsOfRun(runId)).model_versions ?? [], [runId]);
  const counts = useMemo(() => {
    const keys = [...new Set((run?.data.metrics ?? []).map((m) => m.key))];
    return { system: keys.filter(isSystemMetric).length, model: keys.filter((k) => !isSystemMetric(k)).length };
  }, [run]);
  // An expanded metric without a tab (an old link such as #/runs/<id>?metric=loss) opens its own tab.
  const tab: RunTab = props.tab ?? (metric ? (isSystemMetric(metric) ? 'system' : 'metrics') : 'overview');

  if (result.state === 'loading') return <Loading what="the run" />;
  if (result.state === 'error') return <ErrorState error={result.error} what={`run ${runId}`} />;
  const { info } = result.data.run;
  const reload = () => setVersion((v) => v + 1);
  const badge = (t: RunTab) => (t === 'metrics' ? ` (${counts.model})` : t === 'system' ? ` (${counts.system})` : '');
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['experiments'])}>Experiments</a> / <a href={href(['experiments', info.experiment_id])}>{experimentName}</a> /{' '}
        {info.run_name || info.run_id}
      </nav>
      <RunTitle key={info.run_name} runId={info.run_id} name={info.run_name ?? ''} onSaved={reload} />
      <nav class="tabs" aria-label="Run views">
        {TABS.map((t) => (
          <a key={t.tab} href={runHref(runId, { tab: t.tab, x: axis })} aria-current={t.tab === tab ? 'page' : undefined}>
            {t.label}
            {badge(t.tab)}
          </a>
        ))}
      </nav>
      {tab === 'overview' && <Overview run={result.data.run} reload={reload} models={models} versions={versions} />}
      {(tab === 'metrics' || tab === 'system') && (
        <MetricsTab key={tab} run={result.data.run} system={tab === 'system'} metric={metric} axis={axis} steps={steps} />
      )}
      {tab === 'artifacts' &&
        (models.state === 'loading' ? <Loading what="artifacts" /> : <ArtifactBrowser run={info} models={models.state === 'ok' ? models.data : []} />)}
    </section>
  );
}
