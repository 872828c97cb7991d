import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Metric } from '../api';

export type XAxis = 'step' | 'time' | 'relative';

export interface Series {
  label: string;
  points: Metric[];
}

const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#475569', '#ea580c'];

function xOf(m: Metric, axis: XAxis, t0: number): number {
  if (axis === 'step') return m.step;
  if (axis === 'time') return m.timestamp / 1000; // uPlot's time scale is in seconds
  return (m.timestamp - t0) / 1000;
}

/** Aligned columns for uPlot: one shared sorted x column, one y column per series (null where a series has no point). */
export function alignSeries(series: Series[], axis: XAxis): uPlot.AlignedData {
  const tables: uPlot.AlignedData[] = series.map((s) => {
    const t0 = Math.min(...s.points.map((p) => p.timestamp));
    // Several values at one x (a metric re-logged at a step) keep the last one, as the run page's latest value does.
    const byX = new Map<number, number>();
    for (const p of [...s.points].sort((a, b) => a.timestamp - b.timestamp)) byX.set(xOf(p, axis, t0), Number(p.value));
    const xs = [...byX.keys()].sort((a, b) => a - b);
    return [xs, xs.map((x) => byX.get(x) as number)];
  });
  if (tables.length === 1) return tables[0];
  return uPlot.join(tables);
}

/**
 * One metric over step or time for one or several runs, drawn by uPlot on a canvas (it stays fast at
 * tens of thousands of points; the server downsamples longer histories before they get here).
 */
export function MetricChart({
  title,
  series,
  axis,
  height = 280,
  compact = false,
  onZoomSteps,
}: {
  title: string;
  series: Series[];
  axis: XAxis;
  height?: number;
  /** A grid card: no title or legend inside the canvas (the card has its own heading), narrow axes. @default false */
  compact?: boolean;
  /** Over steps, a drag-selection asks for this step range (refetched at full detail) instead of stretching the sampled points. */
  onZoomSteps?: (from: number, to: number) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const total = series.reduce((n, s) => n + s.points.length, 0);
  useEffect(() => {
    const el = box.current;
    if (!el || total === 0) return;
    const data = alignSeries(series, axis);
    const minWidth = compact ? 200 : 320;
    const width = Math.max(minWidth, el.clientWidth || 640);
    const xLabel = axis === 'step' ? 'step' : axis === 'time' ? 'time' : 'seconds since first point';
    const opts: uPlot.Options = {
      title: compact ? undefined : title,
      width,
      height,
      legend: { show: !compact },
      scales: { x: { time: axis === 'time' } },
      axes: compact ? [{ label: xLabel, labelSize: 18 }, { size: 56 }] : [{ label: xLabel }, { label: title, size: 70 }],
      series: [
        { label: axis },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: true,
          points: { show: data[0].length <= 60 },
        })),
      ],
      cursor: { drag: { x: true, y: false, setScale: !(onZoomSteps && axis === 'step') } },
      hooks:
        onZoomSteps && axis === 'step'
          ? {
              setSelect: [
                (u: uPlot) => {
                  if (u.select.width < 2) return;
                  const from = Math.floor(u.posToVal(u.select.left, 'x'));
                  const to = Math.ceil(u.posToVal(u.select.left + u.select.width, 'x'));
                  u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
                  if (to > from) onZoomSteps(from, to);
                },
              ],
            }
          : {},
    };
    const plot = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(minWidth, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, axis, title, height, compact, total, onZoomSteps]);
  if (total === 0) return <div class="state empty">No values logged for {title}.</div>;
  return <div class="chart" ref={box} data-metric={title} data-points={total} data-series={series.length} />;
}
