import { useMemo, useState } from 'preact/hooks';
import { cellText } from '../format';

/** MLflow's `log_table` file: pandas' `to_json(orient="split")` without the index. */
export interface LoggedTable {
  columns: string[];
  data: unknown[][];
}

/** Rows drawn at once: a table of 100k rows is still readable through Download, not through the DOM. */
export const TABLE_ROWS_SHOWN = 500;

/** The table in a JSON artifact, when it has `log_table`'s shape ({"columns": [...], "data": [[...], ...]}). */
export function parseLoggedTable(text: string): LoggedTable | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const { columns, data } = json as { columns?: unknown; data?: unknown };
  if (!Array.isArray(columns) || !Array.isArray(data) || !data.every((row) => Array.isArray(row))) return undefined;
  return { columns: columns.map(String), data: data as unknown[][] };
}

const isEmpty = (v: unknown) => v === null || v === undefined || v === '';

/** Numbers before text, numbers by value, text by locale (so "item 10" follows "item 9"). */
export function compareCells(a: unknown, b: unknown): number {
  const na = typeof a === 'number' ? a : Number.NaN;
  const nb = typeof b === 'number' ? b : Number.NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  if (!Number.isNaN(na) !== !Number.isNaN(nb)) return Number.isNaN(na) ? 1 : -1;
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
}

/** A `log_table` artifact as a table sorted by a clicked column (click again to reverse). */
export function TablePreview({ table }: { table: LoggedTable }) {
  const [sort, setSort] = useState<{ col: number; desc: boolean } | undefined>();
  const rows = useMemo(() => {
    if (!sort) return table.data;
    const dir = sort.desc ? -1 : 1;
    // Empty cells stay last in either direction.
    return [...table.data].sort((a, b) => {
      const [x, y] = [a[sort.col], b[sort.col]];
      return isEmpty(x) || isEmpty(y) ? Number(isEmpty(x)) - Number(isEmpty(y)) : dir * compareCells(x, y);
    });
  }, [table, sort]);
  return (
    <div class="table-preview">
      <div class="muted">
        {table.data.length} row{table.data.length === 1 ? '' : 's'} × {table.columns.length} column{table.columns.length === 1 ? '' : 's'}
        {table.data.length > TABLE_ROWS_SHOWN && ` (the first ${TABLE_ROWS_SHOWN} shown; download the file for all of them)`}
      </div>
      <div class="scroll-x">
        <table class="table logged-table" aria-label="Logged table">
          <thead>
            <tr>
              {table.columns.map((c, i) => {
                const active = sort?.col === i;
                return (
                  <th key={i} aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'}>
                    <button type="button" class="sort" onClick={() => setSort({ col: i, desc: active ? !sort.desc : false })}>
                      {c}
                      {active ? (sort.desc ? ' ▼' : ' ▲') : ''}
                    </button>
                  </th>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {rows.slice(0, TABLE_ROWS_SHOWN).map((row, r) => (
              <tr key={r}>
                {table.columns.map((_, i) => (
                  <td key={i} class={typeof row[i] === 'number' ? 'num' : 'mono'}>
                    {cellText(row[i])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
