import { useMemo } from 'preact/hooks';
import { href, navigate } from '../router';
import type { PlotAxis, PlotRun } from './ParallelCoordinates';
import { jitterOf, rampColor, scaleFor, shorten } from './plot-scale';

const W = 600;
const H = 380;
const LEFT = 72;
const RIGHT = 20;
const TOP = 16;
const BOTTOM = 48;

/**
 * One param or metric against another across the compared runs (SVG): a point per run with both
 * values, coloured by the y value; runs sharing a category are spread a little so none hides another.
 */
export function Scatter({ runs, x: xAxis, y: yAxis }: { runs: PlotRun[]; x: PlotAxis; y: PlotAxis }) {
  const sx = useMemo(() => scaleFor(runs.map((r) => r.values[xAxis.key])), [runs, xAxis.key]);
  const sy = useMemo(() => scaleFor(runs.map((r) => r.values[yAxis.key])), [runs, yAxis.key]);
  // Inset from the axes (more for categories), so a point at the minimum is not cut in half by the frame.
  const inset = (kind: string, t: number) => (kind === 'number' ? 0.04 + 0.92 * t : 0.08 + 0.84 * t);
  const px = (t: number) => LEFT + (W - LEFT - RIGHT) * inset(sx.kind, t);
  const py = (t: number) => TOP + (H - TOP - BOTTOM) * (1 - inset(sy.kind, t));
  const points = runs
    .map((r) => {
      const tx = sx.pos(r.values[xAxis.key]);
      const ty = sy.pos(r.values[yAxis.key]);
      if (tx === undefined || ty === undefined) return undefined;
      const jx = sx.kind === 'category' ? jitterOf(r.id) * 0.3 * sx.band * 0.84 : 0;
      return { run: r, cx: px(tx + jx), cy: py(ty), color: rampColor(ty) };
    })
    .filter((p): p is NonNullable<typeof p> => p !== undefined);
  return (
    <svg
      class="plot scatter"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`${yAxis.label} against ${xAxis.label}, ${points.length} runs`}
      data-points={points.length}
    >
      <g class="axis x">
        <line x1={LEFT} x2={W - RIGHT} y1={H - BOTTOM} y2={H - BOTTOM} />
        {sx.ticks.map((t) => (
          <text key={t.label} x={px(t.at)} y={H - BOTTOM + 16} text-anchor="middle">
            {shorten(t.label, 14)}
          </text>
        ))}
        <text x={(LEFT + W - RIGHT) / 2} y={H - 8} text-anchor="middle" font-weight="600">
          {shorten(xAxis.label, 60)}
        </text>
      </g>
      <g class="axis y">
        <line x1={LEFT} x2={LEFT} y1={TOP} y2={H - BOTTOM} />
        {sy.ticks.map((t) => (
          <text key={t.label} x={LEFT - 6} y={py(t.at)} dy="0.32em" text-anchor="end">
            {shorten(t.label, 10)}
          </text>
        ))}
        <text transform={`translate(14,${(TOP + H - BOTTOM) / 2}) rotate(-90)`} text-anchor="middle" font-weight="600">
          {shorten(yAxis.label, 40)}
        </text>
      </g>
      {points.map((p) => (
        <circle
          key={p.run.id}
          data-run-id={p.run.id}
          cx={p.cx}
          cy={p.cy}
          r={6}
          fill={p.color}
          stroke="#fff"
          stroke-width={1.5}
          style={{ cursor: 'pointer' }}
          onClick={() => navigate(href(['runs', p.run.id]))}
        >
          <title>
            {p.run.label}: {xAxis.label}={p.run.values[xAxis.key] ?? '—'}, {yAxis.label}={p.run.values[yAxis.key] ?? '—'}
          </title>
        </circle>
      ))}
    </svg>
  );
}
