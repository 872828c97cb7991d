/** How the benchmarks print a figure: en-US grouping, a fixed number of decimals, `—` for a figure that was not measured (NaN). */
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—';

/** `HH:MM` of an ISO timestamp, for the run lines above the README's tables (they say UTC). */
export const minute = (iso: string): string => iso.slice(11, 16);
