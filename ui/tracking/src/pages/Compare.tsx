import { useCallback, useMemo } from 'preact/hooks';
import { api, type Run } from '../api';
import { KeyTable } from '../components/KeyTable';
import { MetricChart, type XAxis } from '../components/MetricChart';
import { MetricGrid } from '../components/MetricGrid';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatNumber, numberOf } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';
import { AxisPicker, CHART_POINTS, useExperimentName, ZoomNote, type StepRange } from '../components/ChartControls';
import { ComparePlots } from './ComparePlots';
import { isSystemMetric } from './RunMetrics';

/** Several runs side by side: one metric's curves on one chart, then their params and latest metrics. */
export function ComparePage(props: { runIds: string[]; metric?: string; axis: XAxis; experimentId?: string; steps?: StepRange }) {
  const { runIds, metric, axis, experimentId, steps } = props;
  const runs = useLoad(() => Promise.all(runIds.map(async (id) => (await api.getRun(id)).run)), [runIds.join(',')]);
  const list: Run[] = runs.state === 'ok' ? runs.data : [];
  const keys = useMemo(() => [...new Set(list.flatMap((r) => (r.data.metrics ?? []).map((m) => m.key)))].sort(), [runs]);
  const chosen = metric ?? keys[0];
  const history = useLoad(
    async () => (chosen && runIds.length ? ((await api.historyBulkInterval(runIds, chosen, CHART_POINTS, steps)).metrics ?? []) : []),
    [runIds.join(','), chosen, steps?.from, steps?.to],
  );
  const series = useMemo(() => {
    if (history.state !== 'ok') return [];
    return list
      .map((r) => ({ label: r.info.run_name || r.info.run_id, points: history.data.filter((m) => m.run_id === r.info.run_id) }))
      .filter((s) => s.points.length > 0);
  }, [history, runs]);
  const expId = experimentId ?? list[0]?.info.experiment_id;
  const experimentName = useExperimentName(expId);
  const others = useLoad(async () => (expId ? ((await api.searchRuns(expId, '', ['attributes.start_time DESC'], undefined, 50)).runs ?? []) : []), [expId]);
  const go = (q: { runs?: string[]; metric?: string; x?: XAxis }) =>
    navigate(href(['compare'], { runs: (q.runs ?? runIds).join(','), metric: q.metric ?? chosen, x: q.x ?? axis, experiment: expId }), true);
  const zoom = useCallback(
    (from: number, to: number) =>
      navigate(href(['compare'], { runs: runIds.join(','), metric: chosen, x: axis, experiment: expId, from: String(from), to: String(to) })),
    [runIds.join(','), chosen, axis, expId],
  );

  if (!runIds.length) return <Empty>Pick runs to compare: tick them in an experiment's runs table, then press “Compare selected”.</Empty>;
  if (runs.state === 'loading') return <Loading what="runs" />;
  if (runs.state === 'error') return <ErrorState error={runs.error} what="the runs to compare" />;
  const params = [...new Set(list.flatMap((r) => (r.data.params ?? []).map((p) => p.key)))].sort();
  const modelKeys = keys.filter((k) => !isSystemMetric(k));
  const gridRuns = list.slice(0, 100).map((r) => ({ runId: r.info.run_id, label: r.info.run_name || r.info.run_id }));
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['experiments'])}>Experiments</a>
        {expId && (
          <>
            {' '}
            / <a href={href(['experiments', expId])}>{experimentName}</a>
          </>
        )}{' '}
        / compare
      </nav>
      <h1>
        Compare {list.length} run{list.length === 1 ? '' : 's'}
      </h1>
      <div class="toolbar">
        <label>
          Metric{' '}
          <select aria-label="Metric" value={chosen} onChange={(e) => go({ metric: (e.target as HTMLSelectElement).value })}>
            {keys.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <AxisPicker axis={axis} onChange={(x) => go({ x })} />
      </div>
      {!chosen && <Empty>These runs have no metrics to chart.</Empty>}
      {history.state === 'loading' && <Loading what={`${chosen} histories`} />}
      {history.state === 'error' && <ErrorState error={history.error} what={`${chosen} histories`} />}
      {history.state === 'ok' && chosen && (
        <div class="compare-chart">
          <MetricChart title={chosen} series={series} axis={axis} height={340} onZoomSteps={zoom} />
        </div>
      )}
      {chosen && <ZoomNote steps={steps} onReset={() => go({})} />}

      <h2>Params against metrics</h2>
      <ComparePlots runs={list} metricKeys={modelKeys} paramKeys={params} metric={chosen && !isSystemMetric(chosen) ? chosen : undefined} />

      <h2>All metrics</h2>
      <MetricGrid
        runs={gridRuns}
        keys={modelKeys}
        axis={axis}
        onExpand={(k) => {
          go({ metric: k });
          window.scrollTo(0, 0);
        }}
        label="Compared metrics"
        emptyText="These runs have no metrics to chart."
      />

      <h2>Side by side</h2>
      <div class="scroll-x">
        <KeyTable
          label="Runs compared"
          head={
            <tr>
              <th />
              {list.map((r) => (
                <th key={r.info.run_id}>
                  <a href={href(['runs', r.info.run_id])}>{r.info.run_name || r.info.run_id}</a>
                </th>
              ))}
            </tr>
          }
        >
          {keys.map((k) => (
            <tr data-row tabIndex={0} key={`m${k}`}>
              <th class="mono">{k}</th>
              {list.map((r) => (
                <td class="num" key={r.info.run_id}>
                  {formatNumber(numberOf(r.data.metrics?.find((m) => m.key === k)?.value))}
                </td>
              ))}
            </tr>
          ))}
          {params.map((k) => (
            <tr data-row tabIndex={0} key={`p${k}`}>
              <th class="mono">param {k}</th>
              {list.map((r) => (
                <td class="mono" key={r.info.run_id}>
                  {r.data.params?.find((p) => p.key === k)?.value ?? '—'}
                </td>
              ))}
            </tr>
          ))}
        </KeyTable>
      </div>

      {others.state === 'ok' && others.data.length > 1 && (
        <details>
          <summary>Add or remove runs</summary>
          <div class="column-list">
            {others.data.map((r) => (
              <label key={r.info.run_id}>
                <input
                  type="checkbox"
                  checked={runIds.includes(r.info.run_id)}
                  onChange={() => go({ runs: runIds.includes(r.info.run_id) ? runIds.filter((id) => id !== r.info.run_id) : [...runIds, r.info.run_id] })}
                />{' '}
                {r.info.run_name || r.info.run_id}
              </label>
            ))}
          </div>
        </details>
      )}
    </section>
  );
}
