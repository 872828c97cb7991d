import type { JsonDouble } from './api';
export function formatTime(ms: number | string | null | undefined): string {
  if (ms === undefined || ms === null || ms === '') return '—';
  const d = new Date(Number(ms));
  return Number.isNaN(d.getTime())
    ? '—'
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
}

export function formatDuration(start?: number, end?: number): string {
  if (!start || !end) return '—';
  const s = Math.max(0, (end - start) / 1000);
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

export function formatNumber(v: number | null | undefined): string {
  if (v === undefined || v === null) return '—';
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}

export function formatBytes(n: number | string | undefined): string {
  if (n === undefined) return '';
  const b = Number(n);
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(1)} MiB`;
}

/** A value parsed from JSON as cell text: strings as they are, numbers and booleans as written, objects and lists as JSON. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

/** A JSON double as a number ('NaN' and the infinities as their values); undefined stays undefined. */
export function numberOf(v: JsonDouble | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}
