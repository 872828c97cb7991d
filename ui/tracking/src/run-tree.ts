import type { Run } from './api';

/** Tag the client puts on a nested run (`start_run(nested=True)`, autolog's tuning candidates). */
export const PARENT_TAG = 'mlflow.parentRunId';

export const parentOf = (run: Run): string | undefined => run.data.tags?.find((t) => t.key === PARENT_TAG)?.value;

export interface RunRow {
  run: Run;
  /** 0 for a top-level row, 1 for a child shown under its parent, … */
  depth: number;
  /** Children known for this run: those on the page, or all of them once fetched. */
  childCount: number;
  expanded: boolean;
}

/**
 * The rows the runs table shows: a run whose parent is on the page hides under it until the parent is
 * expanded; other runs are top-level. `fetched` holds children asked for when a parent was expanded
 * (they may sit on other pages), merged with those on the page.
 */
export function visibleRows(page: Run[], fetched: Map<string, Run[]>, expanded: Set<string>): RunRow[] {
  const ids = new Set(page.map((r) => r.info.run_id));
  const children = new Map<string, Run[]>();
  const add = (parent: string, run: Run) => {
    const list = children.get(parent) ?? [];
    if (!list.some((r) => r.info.run_id === run.info.run_id)) list.push(run);
    children.set(parent, list);
  };
  for (const run of page) {
    const parent = parentOf(run);
    if (parent && ids.has(parent)) add(parent, run);
  }
  for (const [parent, list] of fetched) list.forEach((run) => add(parent, run));
  const rows: RunRow[] = [];
  const seen = new Set<string>();
  const walk = (run: Run, depth: number) => {
    const id = run.info.run_id;
    if (seen.has(id)) return; // a run shows once, even if tags form a cycle
    seen.add(id);
    const kids = children.get(id) ?? [];
    const open = expanded.has(id) && kids.length > 0;
    rows.push({ run, depth, childCount: kids.length, expanded: open });
    if (open) kids.forEach((k) => walk(k, depth + 1));
  };
  for (const run of page) {
    const parent = parentOf(run);
    if (!parent || !ids.has(parent)) walk(run, 0);
  }
  return rows;
}
