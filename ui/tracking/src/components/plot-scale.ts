import { formatNumber } from '../format';

/** A param (text) or metric (number) of one run; undefined when the run has none. */
export type Value = number | string | undefined;

export interface Scale {
  kind: 'number' | 'category';
  /** Position in [0, 1] along the axis; undefined for a missing value. */
  pos(v: Value): number | undefined;
  ticks: { at: number; label: string }[];
  /** Categories only: the width of one category's band, for jitter. */
  band: number;
}

export function toNumber(v: Value): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || !/^\s*[-+]?(\d|\.\d)/.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

const present = (v: Value) => v !== undefined && v !== '';

/**
 * A linear scale when every present value is a number (params are text, so "0.1" counts as 0.1),
 * else evenly spaced categories in natural order ("2" before "10", "linear" before "rbf").
 */
export function scaleFor(values: Value[], tickCount = 5): Scale {
  const shown = values.filter(present);
  const numbers = shown.map(toNumber);
  if (shown.length > 0 && numbers.every((n) => n !== undefined)) {
    const ns = numbers;
    let min = Infinity;
    let max = -Infinity;
    for (const n of ns) {
      if (n < min) min = n;
      if (n > max) max = n;
    }
    const span = max - min;
    const pos = (v: Value) => {
      const n = toNumber(v);
      if (n === undefined || !present(v)) return undefined;
      return span === 0 ? 0.5 : (n - min) / span;
    };
    const ticks =
      span === 0
        ? [{ at: 0.5, label: formatNumber(min) }]
        : Array.from({ length: tickCount }, (_, i) => ({ at: i / (tickCount - 1), label: formatNumber(min + (span * i) / (tickCount - 1)) }));
    return { kind: 'number', pos, ticks, band: 0 };
  }
  const cats = [...new Set(shown.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const at = (i: number) => (cats.length === 1 ? 0.5 : i / (cats.length - 1));
  const index = new Map(cats.map((c, i) => [c, i]));
  return {
    kind: 'category',
    pos: (v) => (present(v) ? at(index.get(String(v)) ?? 0) : undefined),
    ticks: cats.map((c, i) => ({ at: at(i), label: c })),
    band: cats.length > 1 ? 1 / (cats.length - 1) : 1,
  };
}

/** Blue (low) to orange (high): the colour of a run by its value on the colour axis. */
export function rampColor(t: number | undefined): string {
  if (t === undefined) return '#9ca3af';
  const lo = [37, 99, 235];
  const hi = [234, 88, 12];
  const c = lo.map((l, i) => Math.round(l + (hi[i] - l) * Math.max(0, Math.min(1, t))));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** A stable offset in [-0.5, 0.5) from a run id, so runs sharing a category do not hide each other. */
export function jitterOf(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return ((h >>> 0) % 1000) / 1000 - 0.5;
}

export function shorten(label: string, max = 22): string {
  return label.length <= max ? label : `…${label.slice(label.length - max + 1)}`;
}
