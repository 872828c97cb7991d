import { useMemo, useState } from 'preact/hooks';
import type { Run } from '../api';
import { ParallelCoordinates, type PlotAxis, type PlotRun } from '../components/ParallelCoordinates';
import { Scatter } from '../components/Scatter';

/** Axes drawn before anyone chooses: the params that differ between the runs (at most this many), then the metric. */
const DEFAULT_PARAMS = 6;

function plotRuns(runs: Run[]): PlotRun[] {
  return runs.map((r) => {
    const values: PlotRun['values'] = {};
    for (const p of r.data.params ?? []) values[`params.${p.key}`] = p.value;
    for (const m of r.data.metrics ?? []) values[`metrics.${m.key}`] = Number(m.value);
    return { id: r.info.run_id, label: r.info.run_name || r.info.run_id, values };
  });
}

const label = (key: string) => key.replace(/^metrics\./, '').replace(/^params\./, 'param ');

function AxisSelect({ name, value, options, onChange }: { name: string; value: string; options: string[]; onChange: (v: string) => void }) {
  return (
    <label>
      {name}{' '}
      <select aria-label={`${name} axis`} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        {options.map((o) => (
          <option key={o} value={o}>
            {label(o)}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Parallel coordinates over chosen params and metrics, and a scatter of one against another, for the compared runs. */
export function ComparePlots({ runs, metricKeys, paramKeys, metric }: { runs: Run[]; metricKeys: string[]; paramKeys: string[]; metric?: string }) {
  const data = useMemo(() => plotRuns(runs), [runs]);
  const varying = useMemo(() => paramKeys.filter((k) => new Set(data.map((r) => r.values[`params.${k}`])).size > 1), [data, paramKeys]);
  const metricAxis = metric ? `metrics.${metric}` : metricKeys[0] ? `metrics.${metricKeys[0]}` : undefined;
  const defaults = [...(varying.length ? varying : paramKeys).slice(0, DEFAULT_PARAMS).map((k) => `params.${k}`), ...(metricAxis ? [metricAxis] : [])];
  const [chosen, setChosen] = useState<string[]>();
  const axisKeys = chosen ?? defaults;
  const all = [...paramKeys.map((k) => `params.${k}`), ...metricKeys.map((k) => `metrics.${k}`)];
  const axes: PlotAxis[] = axisKeys.filter((k) => all.includes(k)).map((k) => ({ key: k, label: label(k) }));
  const toggle = (key: string) => setChosen(axisKeys.includes(key) ? axisKeys.filter((k) => k !== key) : [...axisKeys, key]);

  const [sx, setX] = useState<string>();
  const [sy, setY] = useState<string>();
  const xKey = sx ?? (varying[0] ? `params.${varying[0]}` : all[0]);
  const yKey = sy ?? metricAxis ?? all[all.length - 1];
  if (!all.length) return null;
  return (
    <div class="plots">
      <section aria-label="Parallel coordinates">
        <div class="plot-controls">
          <strong>Parallel coordinates</strong>
          <details class="columns">
            <summary>Axes ({axes.length})</summary>
            <div class="column-list">
              {all.map((k) => (
                <label key={k}>
                  <input type="checkbox" checked={axisKeys.includes(k)} onChange={() => toggle(k)} /> {label(k)}
                </label>
              ))}
            </div>
          </details>
          <span class="muted">coloured by {axes.length ? axes[axes.length - 1].label : '—'}, blue low → orange high</span>
        </div>
        <ParallelCoordinates runs={data} axes={axes} />
      </section>
      <section aria-label="Scatter">
        <div class="plot-controls">
          <strong>Scatter</strong>
          <AxisSelect name="X" value={xKey} options={all} onChange={setX} />
          <AxisSelect name="Y" value={yKey} options={all} onChange={setY} />
        </div>
        <Scatter runs={data} x={{ key: xKey, label: label(xKey) }} y={{ key: yKey, label: label(yKey) }} />
      </section>
    </div>
  );
}
