import { useCallback, useMemo } from 'preact/hooks';
import { api, type Run } from '../api';
import { AxisPicker, CHART_POINTS, ZoomNote, type StepRange } from '../components/ChartControls';
import { ImageGrid } from '../components/ImageGrid';
import { MetricChart, type XAxis } from '../components/MetricChart';
import { MetricGrid } from '../components/MetricGrid';
import { tagOf } from '../components/RunRelations';
import { ErrorState, Loading } from '../components/states';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';

/** What MLflow's system metrics monitor logs: `system/cpu_utilization_percentage`, `system/gpu_0_…`. */
export const isSystemMetric = (key: string) => key.startsWith('system/');

export type RunTab = 'overview' | 'metrics' | 'system' | 'artifacts';

/** The run page's URL; every view of it (tab, expanded metric, axis, zoom) is in the fragment. */
export function runHref(runId: string, q: { tab?: RunTab; metric?: string; x?: XAxis; from?: number; to?: number }): string {
  return href(['runs', runId], {
    tab: q.tab && q.tab !== 'overview' ? q.tab : undefined,
    metric: q.metric,
    x: q.x && q.x !== 'step' ? q.x : undefined,
    from: q.from === undefined ? undefined : String(q.from),
    to: q.to === undefined ? undefined : String(q.to),
  });
}

/** One metric at full size: every logged step (server-sampled to 1000), any x axis, drag to zoom. */
function ExpandedChart(props: { run: Run; tab: RunTab; keys: string[]; metric: string; axis: XAxis; steps?: StepRange }) {
  const { run, tab, keys, metric, axis, steps } = props;
  const runId = run.info.run_id;
  const history = useLoad(
    async () => (await api.historyBulkInterval([runId], metric, CHART_POINTS, steps)).metrics ?? [],
    [runId, metric, steps?.from, steps?.to],
  );
  const series = useMemo(() => (history.state === 'ok' ? [{ label: metric, points: history.data }] : []), [history, metric]);
  const go = (q: { metric?: string; x?: XAxis }) => navigate(runHref(runId, { tab, metric: q.metric ?? metric, x: q.x ?? axis }), true);
  // Zooming is a history entry of its own, so Back zooms out again.
  const zoom = useCallback((from: number, to: number) => navigate(runHref(runId, { tab, metric, x: axis, from, to })), [runId, tab, metric, axis]);
  return (
    <div class="expanded-chart">
      <div class="toolbar">
        <a href={runHref(runId, { tab, x: axis })}>← All charts</a>
        <label>
          Metric{' '}
          <select aria-label="Metric" value={metric} onChange={(e) => go({ metric: (e.target as HTMLSelectElement).value })}>
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <AxisPicker axis={axis} onChange={(x) => go({ x })} />
      </div>
      {history.state === 'loading' && <Loading what={`${metric} history`} />}
      {history.state === 'error' && <ErrorState error={history.error} what={`${metric} history`} />}
      {history.state === 'ok' && <MetricChart title={metric} series={series} axis={axis} height={360} onZoomSteps={zoom} />}
      <ZoomNote steps={steps} onReset={() => go({})} />
      <a href={href(['compare'], { runs: runId, metric, experiment: run.info.experiment_id })}>Compare with other runs…</a>
    </div>
  );
}

/** The Model metrics tab (every non-system metric, then key+step images) or the System metrics tab. */
export function MetricsTab(props: { run: Run; system: boolean; metric?: string; axis: XAxis; steps?: StepRange }) {
  const { run, system, metric, axis, steps } = props;
  const tab: RunTab = system ? 'system' : 'metrics';
  const keys = useMemo(
    () => [...new Set((run.data.metrics ?? []).map((m) => m.key))].filter((k) => isSystemMetric(k) === system).sort((a, b) => a.localeCompare(b)),
    [run, system],
  );
  const runs = useMemo(() => [{ runId: run.info.run_id, label: run.info.run_name || run.info.run_id }], [run]);
  const expand = useCallback((key: string) => navigate(runHref(run.info.run_id, { tab, metric: key, x: axis })), [run.info.run_id, tab, axis]);
  if (metric && keys.includes(metric)) return <ExpandedChart run={run} tab={tab} keys={keys} metric={metric} axis={axis} steps={steps} />;
  const emptyText = system
    ? 'No system metrics. Start the run with mlflow.start_run(log_system_metrics=True) (needs psutil) to record CPU, memory, disk and network.'
    : 'No metrics logged. Log some with mlflow.log_metric("loss", value, step=step).';
  return (
    <>
      <div class="toolbar">
        <AxisPicker axis={axis} onChange={(x) => navigate(runHref(run.info.run_id, { tab, x }), true)} />
      </div>
      <MetricGrid runs={runs} keys={keys} axis={axis} onExpand={expand} label={system ? 'System metrics' : 'Model metrics'} emptyText={emptyText} />
      {!system && tagOf(run, 'mlflow.loggedImages') && (
        <>
          <h2>Images</h2>
          <ImageGrid run={run.info} />
        </>
      )}
    </>
  );
}
