/** Markdown tables for the scale benchmark's curves. */

export type Cell = string | number;

/** A number as the tables print it: 3 significant digits, integers as they are. */
export function formatCell(c: Cell): string {
  if (typeof c === 'string') return c;
  if (!Number.isFinite(c)) return '–';
  if (Number.isInteger(c)) return String(c);
  return Math.abs(c) >= 100 ? c.toFixed(0) : c.toPrecision(3);
}

/** A GitHub-flavoured Markdown table; numeric columns right-aligned. */
export function markdownTable(header: string[], rows: Cell[][]): string {
  const numeric = header.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(numeric.map((n) => (n ? '---:' : '---'))), ...rows.map((r) => line(r.map(formatCell)))].join('\n');
}

/** Bytes as MiB with one decimal. */
export const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;

/** `value / base`, rounded to 2 decimals (NaN when there is no base). */
export const ratio = (value: number, base: number | undefined): number => (base ? Math.round((value / base) * 100) / 100 : NaN);
