import { useMemo } from 'preact/hooks';
import { href, navigate } from '../router';
import { rampColor, scaleFor, shorten, type Value } from './plot-scale';

export interface PlotRun {
  id: string;
  label: string;
  /** Values by axis key (`params.<k>` / `metrics.<k>`). */
  values: Record<string, Value>;
}

export interface PlotAxis {
  key: string;
  label: string;
}

const W = 960;
const H = 380;
const TOP = 48;
const BOTTOM = 28;
const SIDE = 70;

/**
 * Parallel coordinates, drawn as SVG: one vertical axis per chosen param or metric, one line per run,
 * coloured by the last axis (usually the metric being optimised). A run missing a value breaks its
 * line at that axis. Clicking a line opens the run.
 */
export function ParallelCoordinates({ runs, axes }: { runs: PlotRun[]; axes: PlotAxis[] }) {
  const scales = useMemo(() => axes.map((a) => scaleFor(runs.map((r) => r.values[a.key]))), [runs, axes]);
  if (axes.length < 2) return <p class="muted">Choose at least two params or metrics to draw parallel coordinates.</p>;
  const x = (i: number) => SIDE + ((W - 2 * SIDE) * i) / (axes.length - 1);
  const y = (t: number) => TOP + (H - TOP - BOTTOM) * (1 - t);
  const colorScale = scales[scales.length - 1];
  const colorKey = axes[axes.length - 1].key;
  return (
    <svg
      class="plot parallel"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Parallel coordinates of ${runs.length} runs over ${axes.map((a) => a.label).join(', ')}`}
    >
      {axes.map((a, i) => (
        <g class="axis" key={a.key} data-axis={a.key} transform={`translate(${x(i)},0)`}>
          <line y1={y(0)} y2={y(1)} />
          <text y={TOP - 26} text-anchor="middle" font-weight="600">
            <title>{a.label}</title>
            {shorten(a.label)}
          </text>
          {scales[i].ticks.map((t) => (
            <g key={t.label} transform={`translate(0,${y(t.at)})`}>
              <line x2={-4} />
              <text x={-7} dy="0.32em" text-anchor="end">
                {shorten(t.label, 12)}
              </text>
            </g>
          ))}
        </g>
      ))}
      {runs.map((r) => {
        const points = axes.map((a, i) => {
          const t = scales[i].pos(r.values[a.key]);
          return t === undefined ? undefined : `${x(i).toFixed(1)},${y(t).toFixed(1)}`;
        });
        // Consecutive defined points form one segment; a missing value starts a new one.
        const segments: string[][] = [[]];
        for (const p of points) {
          if (p) segments[segments.length - 1].push(p);
          else segments.push([]);
        }
        const color = rampColor(colorScale.pos(r.values[colorKey]));
        return (
          <g key={r.id} data-run-id={r.id} class="run" onClick={() => navigate(href(['runs', r.id]))} style={{ cursor: 'pointer' }}>
            <title>
              {r.label}: {axes.map((a) => `${a.label}=${r.values[a.key] ?? '—'}`).join(', ')}
            </title>
            {segments
              .filter((s) => s.length > 0)
              .map((s, i) =>
                s.length === 1 ? (
                  <circle key={i} cx={s[0].split(',')[0]} cy={s[0].split(',')[1]} r={3} fill={color} />
                ) : (
                  <polyline key={i} class="run-line" points={s.join(' ')} stroke={color} />
                ),
              )}
          </g>
        );
      })}
    </svg>
  );
}
