export function formatTime(ms: number | string | undefined): string {
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
  const s = Math.max(0, (Number(end) - Number(start)) / 1000);
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

export function formatNumber(v: number | undefined): string {
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
