import { useMemo, useState } from 'preact/hooks';
import { api, type Run } from '../api';
import { visibleRows, type RunRow } from '../run-tree';
import { ExperimentTabs } from '../components/ExperimentTabs';
import { KeyTable } from '../components/KeyTable';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatDuration, formatNumber, formatTime } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';

/** A chosen column: `metrics.<key>`, `params.<key>`, or `tags.<key>`. */
type Column = string;

interface RunsState {
  filter: string;
  /** search_runs order_by clause, e.g. "metrics.`acc` DESC". */
  order: string;
  cols?: string;
  page?: string;
}

function quoteKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? key : `\`${key.replace(/`/g, '')}\``;
}

/** order_by clause for a column of the table (attributes, metrics, params). */
export function orderClause(col: Column, desc: boolean): string {
  const dot = col.indexOf('.');
  const kind = col.slice(0, dot);
  const key = col.slice(dot + 1);
  const field = kind === 'attributes' ? `attributes.${key}` : `${kind}.${quoteKey(key)}`;
  return `${field} ${desc ? 'DESC' : 'ASC'}`;
}

function parseOrder(order: string): { col: string; desc: boolean } {
  const m = /^(\w+)\.`?(.+?)`?\s+(ASC|DESC)$/i.exec(order.trim());
  if (!m) return { col: 'attributes.start_time', desc: true };
  return { col: `${m[1]}.${m[2]}`, desc: m[3].toUpperCase() === 'DESC' };
}

function cellValue(run: Run, col: Column): string {
  const dot = col.indexOf('.');
  const kind = col.slice(0, dot);
  const key = col.slice(dot + 1);
  if (kind === 'metrics') {
    const m = run.data.metrics?.find((x) => x.key === key);
    return m ? formatNumber(Number(m.value)) : '—';
  }
  const list = kind === 'params' ? run.data.params : run.data.tags;
  return list?.find((x) => x.key === key)?.value ?? '—';
}

export function RunsPage({ experimentId, state }: { experimentId: string; state: RunsState }) {
  const [filterText, setFilterText] = useState(state.filter);
  const [previousPages, setPreviousPages] = useState<(string | undefined)[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [fetchedChildren, setFetchedChildren] = useState<Map<string, Run[]>>(new Map());
  const order = state.order || 'attributes.start_time DESC';
  const experiment = useLoad(() => api.getExperiment(experimentId), [experimentId]);
  const runs = useLoad(() => api.searchRuns(experimentId, state.filter, [order], state.page), [experimentId, state.filter, order, state.page]);

  const go = (next: Partial<RunsState>) => {
    const s = { ...state, order, ...next };
    navigate(href(['experiments', experimentId], { filter: s.filter, order: s.order, cols: s.cols, page: s.page }));
  };

  const available = useMemo(() => {
    if (runs.state !== 'ok') return { metrics: [] as string[], params: [] as string[] };
    const metrics = new Set<string>();
    const params = new Set<string>();
    for (const r of runs.data.runs ?? []) {
      r.data.metrics?.forEach((m) => metrics.add(m.key));
      r.data.params?.forEach((p) => params.add(p.key));
    }
    return { metrics: [...metrics].sort(), params: [...params].sort() };
  }, [runs]);

  // No explicit choice: the first few metrics and params of this page, so the table is useful at once.
  const columns: Column[] =
    state.cols !== undefined
      ? state.cols.split(',').filter(Boolean)
      : [...available.metrics.slice(0, 5).map((k) => `metrics.${k}`), ...available.params.slice(0, 5).map((k) => `params.${k}`)];
  const toggleColumn = (col: Column) => {
    const next = columns.includes(col) ? columns.filter((c) => c !== col) : [...columns, col];
    go({ cols: next.join(','), page: undefined });
  };

  const sort = parseOrder(order);
  const sortHeader = (col: Column, label: string) => {
    const active = sort.col.replace(/`/g, '') === col;
    const desc = active ? !sort.desc : true;
    return (
      <th aria-sort={active ? (sort.desc ? 'descending' : 'ascending') : 'none'} key={col} class={col.startsWith('metrics.') ? 'num' : undefined}>
        <button
          type="button"
          class="sort"
          title={`Sort by ${label}`}
          onClick={() => {
            setPreviousPages([]);
            go({ order: orderClause(col, desc), page: undefined });
          }}
        >
          {label}
          {active ? (sort.desc ? ' ▼' : ' ▲') : ''}
        </button>
      </th>
    );
  };

  const toggle = (runId: string) => {
    const next = new Set(selected);
    if (next.has(runId)) next.delete(runId);
    else next.add(runId);
    setSelected(next);
  };

  /** Opens or closes a parent; the first time, asks the server for all its children (matching the filter), wherever they page. */
  const toggleChildren = async (runId: string) => {
    const next = new Set(expanded);
    if (next.has(runId)) next.delete(runId);
    else next.add(runId);
    setExpanded(next);
    if (!next.has(runId) || fetchedChildren.has(runId)) return;
    try {
      const found = (await api.childRuns(experimentId, runId, 100, state.filter)).runs ?? [];
      setFetchedChildren((m) => new Map(m).set(runId, found));
    } catch {
      // The children on this page still show; the search error is the filter's, already on screen.
    }
  };

  const name = experiment.state === 'ok' ? experiment.data.experiment.name : experimentId;
  const list = runs.state === 'ok' ? (runs.data.runs ?? []) : [];
  const rows: RunRow[] = useMemo(() => visibleRows(list, fetchedChildren, expanded), [runs, fetchedChildren, expanded]);
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['experiments'])}>Experiments</a> / {name}
      </nav>
      <h1>{name}</h1>
      <ExperimentTabs experimentId={experimentId} current="runs" />
      {experiment.state === 'error' && <ErrorState error={experiment.error} what="the experiment" />}
      <form
        class="toolbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setPreviousPages([]);
          go({ filter: filterText.trim(), page: undefined });
        }}
      >
        <input
          type="search"
          class="wide"
          aria-label="Filter runs"
          placeholder="metrics.accuracy > 0.9 and params.model = 'rf' and attributes.status = 'FINISHED'"
          value={filterText}
          onInput={(e) => setFilterText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Filter</button>
        <details class="columns">
          <summary>Columns</summary>
          <div class="column-list">
            {available.metrics.length + available.params.length === 0 && <span class="muted">No metrics or params on this page.</span>}
            {available.metrics.map((k) => (
              <label key={`m${k}`}>
                <input type="checkbox" checked={columns.includes(`metrics.${k}`)} onChange={() => toggleColumn(`metrics.${k}`)} /> metric {k}
              </label>
            ))}
            {available.params.map((k) => (
              <label key={`p${k}`}>
                <input type="checkbox" checked={columns.includes(`params.${k}`)} onChange={() => toggleColumn(`params.${k}`)} /> param {k}
              </label>
            ))}
          </div>
        </details>
        <button
          type="button"
          disabled={selected.size < 1}
          onClick={() => navigate(href(['compare'], { runs: [...selected].join(','), experiment: experimentId }))}
        >
          Compare {selected.size ? `${selected.size} ` : ''}selected
        </button>
      </form>
      {runs.state === 'loading' && <Loading what="runs" />}
      {runs.state === 'error' && <ErrorState error={runs.error} what="runs" />}
      {runs.state === 'ok' && list.length === 0 && (
        <Empty>
          {state.filter ? (
            <>
              No run matches <code>{state.filter}</code>. Loosen the filter or clear it.
            </>
          ) : (
            <>
              No runs in this experiment yet. Start one with <code>mlflow.start_run()</code> while tracking to this server.
            </>
          )}
        </Empty>
      )}
      {list.length > 0 && (
        <>
          <div class="scroll-x">
            <KeyTable
              label="Runs"
              class="runs"
              head={
                <tr>
                  <th class="select">
                    <span class="sr-only">Select</span>
                  </th>
                  {sortHeader('attributes.run_name', 'Run')}
                  {sortHeader('attributes.status', 'Status')}
                  {sortHeader('attributes.start_time', 'Started')}
                  <th>Duration</th>
                  {columns.map((c) => sortHeader(c, c.replace(/^metrics\./, '').replace(/^params\./, 'param ')))}
                </tr>
              }
              onOpen={(i) => navigate(href(['runs', rows[i].run.info.run_id]))}
              onToggle={(i) => toggle(rows[i].run.info.run_id)}
            >
              {rows.map(({ run: r, depth, childCount, expanded: open }) => (
                <tr
                  data-row
                  tabIndex={0}
                  key={r.info.run_id}
                  data-run-id={r.info.run_id}
                  data-depth={depth}
                  class={`${selected.has(r.info.run_id) ? 'selected' : ''} ${depth ? 'child-run' : ''}`}
                  style={depth ? { '--depth': depth } : undefined}
                >
                  <td class="select">
                    <input
                      type="checkbox"
                      aria-label={`Select ${r.info.run_name || r.info.run_id}`}
                      checked={selected.has(r.info.run_id)}
                      onChange={() => toggle(r.info.run_id)}
                    />
                  </td>
                  <td class="run-name">
                    {childCount > 0 && (
                      <button
                        type="button"
                        class="expander"
                        aria-expanded={open}
                        aria-label={`${open ? 'Hide' : 'Show'} child runs of ${r.info.run_name || r.info.run_id}`}
                        onClick={() => void toggleChildren(r.info.run_id)}
                      >
                        {open ? '−' : '+'}
                      </button>
                    )}
                    <a href={href(['runs', r.info.run_id])}>{r.info.run_name || r.info.run_id}</a>
                    {childCount > 0 && !open && (
                      <span class="child-count">
                        {childCount} child run{childCount === 1 ? '' : 's'}
                      </span>
                    )}
                  </td>
                  <td>
                    <span class={`status ${r.info.status?.toLowerCase()}`}>{r.info.status}</span>
                  </td>
                  <td>{formatTime(r.info.start_time)}</td>
                  <td>{formatDuration(r.info.start_time, r.info.end_time)}</td>
                  {columns.map((c) => (
                    <td key={c} class={c.startsWith('metrics.') ? 'num' : ''} data-col={c}>
                      {cellValue(r, c)}
                    </td>
                  ))}
                </tr>
              ))}
            </KeyTable>
          </div>
          <nav class="pager">
            {state.page !== undefined && (
              <button
                type="button"
                onClick={() => {
                  const prev = previousPages.slice(0, -1);
                  setPreviousPages(prev);
                  go({ page: previousPages[previousPages.length - 1] });
                }}
              >
                ← Previous page
              </button>
            )}
            {runs.state === 'ok' && runs.data.next_page_token && (
              <button
                type="button"
                onClick={() => {
                  setPreviousPages([...previousPages, state.page]);
                  go({ page: runs.data.next_page_token });
                }}
              >
                Next page →
              </button>
            )}
            <span class="muted">↑/↓ move · Enter opens · Space selects for comparison</span>
          </nav>
        </>
      )}
    </section>
  );
}
