import { useCallback, useMemo } from 'preact/hooks';
import { api, type KeyValue } from '../api';
import { ArtifactBrowser } from '../components/Artifacts';
import { KeyTable } from '../components/KeyTable';
import { MetricChart, type XAxis } from '../components/MetricChart';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatDuration, formatNumber, formatTime } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';

/** Points per chart request: plenty for a screen-wide line, and cheap even when the run logged 100k. */
export const CHART_POINTS = 1000;

export function AxisPicker({ axis, onChange }: { axis: XAxis; onChange: (a: XAxis) => void }) {
  return (
    <div class="axis-picker" role="radiogroup" aria-label="X axis">
      {(['step', 'time', 'relative'] as XAxis[]).map((a) => (
        <label key={a}>
          <input type="radio" name="x-axis" checked={axis === a} onChange={() => onChange(a)} /> {a === 'relative' ? 'relative time' : a}
        </label>
      ))}
    </div>
  );
}

function KeyValueTable({ label, rows }: { label: string; rows: KeyValue[] }) {
  if (!rows.length) return <Empty>No {label.toLowerCase()} logged.</Empty>;
  return (
    <KeyTable label={label} class="key-value" head={<tr><th>Key</th><th>Value</th></tr>}>
      {[...rows].sort((a, b) => a.key.localeCompare(b.key)).map((p) => (
        <tr data-row tabIndex={0} key={p.key}>
          <td class="mono">{p.key}</td>
          <td class="mono wrap">{p.value}</td>
        </tr>
      ))}
    </KeyTable>
  );
}

/** An experiment's name for breadcrumbs; its id until (or unless) the name loads. */
export function useExperimentName(experimentId: string | undefined): string {
  const experiment = useLoad(async () => (experimentId ? (await api.getExperiment(experimentId)).experiment.name : ''), [experimentId]);
  return experiment.state === 'ok' && experiment.data ? experiment.data : `experiment ${experimentId ?? ''}`;
}

export interface StepRange {
  from: number;
  to: number;
}

/** The zoom window and how to leave it: a line under the chart. */
export function ZoomNote({ steps, onReset }: { steps?: StepRange; onReset: () => void }) {
  return (
    <div class="muted zoom-note">
      {steps ? (
        <>
          Steps {steps.from}–{steps.to}.{' '}
          <button type="button" class="link" onClick={onReset}>
            Show all steps
          </button>
        </>
      ) : (
        'Drag across the chart (over steps) to zoom in at full detail.'
      )}
    </div>
  );
}

export function RunPage({ runId, metric, axis, steps }: { runId: string; metric?: string; axis: XAxis; steps?: StepRange }) {
  const result = useLoad(() => api.getRun(runId), [runId]);
  const run = result.state === 'ok' ? result.data.run : undefined;
  const experimentName = useExperimentName(run?.info.experiment_id);
  const metrics = useMemo(() => [...(run?.data.metrics ?? [])].sort((a, b) => a.key.localeCompare(b.key)), [run]);
  const chosen = metric ?? metrics[0]?.key;
  const history = useLoad(
    async () => (chosen ? (await api.historyBulkInterval([runId], chosen, CHART_POINTS, steps)).metrics ?? [] : []),
    [runId, chosen, steps?.from, steps?.to],
  );
  const series = useMemo(() => (history.state === 'ok' && chosen ? [{ label: chosen, points: history.data }] : []), [history, chosen]);
  const go = (q: { metric?: string; x?: XAxis }) => navigate(href(['runs', runId], { metric: q.metric ?? chosen, x: q.x ?? axis }), true);
  // Zooming is a history entry of its own, so Back zooms out again.
  const zoom = useCallback(
    (from: number, to: number) => navigate(href(['runs', runId], { metric: chosen, x: axis, from: String(from), to: String(to) })),
    [runId, chosen, axis],
  );

  if (result.state === 'loading') return <Loading what="the run" />;
  if (result.state === 'error') return <ErrorState error={result.error} what={`run ${runId}`} />;
  const { info, data } = result.data.run;
  const userTags = (data.tags ?? []).filter((t) => !t.key.startsWith('mlflow.'));
  const systemTags = (data.tags ?? []).filter((t) => t.key.startsWith('mlflow.'));
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['experiments'])}>Experiments</a> / <a href={href(['experiments', info.experiment_id])}>{experimentName}</a> / {info.run_name || info.run_id}
      </nav>
      <h1>{info.run_name || info.run_id}</h1>
      <dl class="facts">
        <dt>Run ID</dt><dd class="mono">{info.run_id}</dd>
        <dt>Status</dt><dd><span class={`status ${info.status?.toLowerCase()}`}>{info.status}</span></dd>
        <dt>Started</dt><dd>{formatTime(info.start_time)}</dd>
        <dt>Duration</dt><dd>{formatDuration(info.start_time, info.end_time)}</dd>
        <dt>User</dt><dd>{info.user_id || '—'}</dd>
        <dt>Artifacts</dt><dd class="mono">{info.artifact_uri}</dd>
      </dl>

      <h2>Metrics</h2>
      {metrics.length === 0 ? (
        <Empty>No metrics logged. Log some with <code>mlflow.log_metric("loss", value, step=step)</code>.</Empty>
      ) : (
        <div class="metrics-layout">
          <KeyTable
            label="Metrics"
            head={<tr><th>Metric</th><th class="num">Latest</th><th class="num">Step</th></tr>}
            onOpen={(i) => go({ metric: metrics[i].key })}
          >
            {metrics.map((m) => (
              <tr data-row tabIndex={0} key={m.key} class={m.key === chosen ? 'selected' : ''}>
                <td>
                  <a href={href(['runs', runId], { metric: m.key, x: axis })}>{m.key}</a>
                </td>
                <td class="num">{formatNumber(Number(m.value))}</td>
                <td class="num">{m.step}</td>
              </tr>
            ))}
          </KeyTable>
          <div class="chart-panel">
            <AxisPicker axis={axis} onChange={(x) => go({ x })} />
            {history.state === 'loading' && <Loading what={`${chosen} history`} />}
            {history.state === 'error' && <ErrorState error={history.error} what={`${chosen} history`} />}
            {history.state === 'ok' && chosen && <MetricChart title={chosen} series={series} axis={axis} onZoomSteps={zoom} />}
            <ZoomNote steps={steps} onReset={() => go({})} />
            <a href={href(['compare'], { runs: runId, metric: chosen, experiment: info.experiment_id })}>Compare with other runs…</a>
          </div>
        </div>
      )}

      <h2>Parameters</h2>
      <KeyValueTable label="Parameters" rows={data.params ?? []} />
      <h2>Tags</h2>
      <KeyValueTable label="Tags" rows={userTags} />
      {systemTags.length > 0 && (
        <details>
          <summary>System tags ({systemTags.length})</summary>
          <KeyValueTable label="System tags" rows={systemTags} />
        </details>
      )}
      <h2>Artifacts</h2>
      <ArtifactBrowser run={info} />
    </section>
  );
}
