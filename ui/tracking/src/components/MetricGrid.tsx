import { useMemo, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { formatNumber } from '../format';
import { useLoad, useSeen } from '../hooks';
import { MetricChart, type XAxis } from './MetricChart';
import { Empty, ErrorState } from './states';

/** Points per grid card: a card is ~400 px wide, so more would only cost bytes. */
export const CARD_POINTS = 300;

export interface GridRun {
  runId: string;
  label: string;
}

/** A metric's section in the grid: everything before its last `/` (MLflow groups charts the same way). */
export function groupOf(key: string): string {
  const cut = key.lastIndexOf('/');
  return cut > 0 ? key.slice(0, cut) : '';
}

/** One value per run, compared: a bar each, scaled to the largest magnitude. */
function ValueBars({ values }: { values: { label: string; value: number }[] }) {
  let max = 0;
  for (const v of values) if (Number.isFinite(v.value)) max = Math.max(max, Math.abs(v.value));
  return (
    <table class="value-bars">
      <tbody>
        {values.map((v) => (
          <tr key={v.label}>
            <th title={v.label}>{v.label}</th>
            <td>
              <div class="bar" style={{ width: `${max > 0 && Number.isFinite(v.value) ? (100 * Math.abs(v.value)) / max : 0}%` }} />
            </td>
            <td class="num">{formatNumber(v.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function MetricCard(props: { runs: GridRun[]; metricKey: string; axis: XAxis; onExpand: (key: string) => void }) {
  const { runs, metricKey, axis, onExpand } = props;
  const box = useRef<HTMLDivElement>(null);
  const seen = useSeen(box);
  const ids = runs.map((r) => r.runId).join(',');
  const history = useLoad(
    async () =>
      seen
        ? ((
            await api.historyBulkInterval(
              runs.map((r) => r.runId),
              metricKey,
              CARD_POINTS,
            )
          ).metrics ?? [])
        : undefined,
    [seen, ids, metricKey],
  );
  const series = useMemo(() => {
    if (history.state !== 'ok' || !history.data) return [];
    const points = history.data;
    return runs
      .map((r) => ({ label: r.label, points: points.filter((m) => m.run_id === undefined || m.run_id === r.runId) }))
      .filter((s) => s.points.length > 0);
  }, [history, ids]);
  const group = groupOf(metricKey);
  const name = group ? metricKey.slice(group.length + 1) : metricKey;
  // One value per run (a final score): a chart of one dot says less than the number itself.
  const single = series.length > 0 && series.every((s) => s.points.length === 1);
  return (
    <article class="metric-card" ref={box} data-metric-card={metricKey}>
      <header>
        <h3 title={metricKey}>{name}</h3>
        <button type="button" class="icon" aria-label={`Expand ${metricKey}`} title="Expand" onClick={() => onExpand(metricKey)}>
          ⤢
        </button>
      </header>
      {history.state === 'error' ? (
        <ErrorState error={history.error} what={metricKey} />
      ) : history.state === 'loading' || !history.data ? (
        <div class="card-placeholder muted">Loading…</div>
      ) : single && series.length === 1 ? (
        <div class="value-tile">{formatNumber(Number(series[0].points[0].value))}</div>
      ) : single ? (
        <ValueBars values={series.map((s) => ({ label: s.label, value: Number(s.points[0].value) }))} />
      ) : (
        <MetricChart title={metricKey} series={series} axis={axis} height={190} compact />
      )}
    </article>
  );
}

/**
 * Every metric of one run (or several, compared) as a grid of small charts, grouped by name prefix,
 * with a search box; a card's expand button opens one metric at full size. Cards load their history
 * only when scrolled near, so a run with hundreds of metrics costs a request per chart seen.
 */
export function MetricGrid(props: { runs: GridRun[]; keys: string[]; axis: XAxis; onExpand: (key: string) => void; label: string; emptyText: string }) {
  const { runs, keys, axis, onExpand, label } = props;
  const [search, setSearch] = useState('');
  const shown = useMemo(() => {
    const q = search.trim().toLowerCase();
    return keys.filter((k) => !q || k.toLowerCase().includes(q));
  }, [keys, search]);
  const groups = useMemo(() => {
    const byGroup = new Map<string, string[]>();
    for (const k of shown) byGroup.set(groupOf(k), [...(byGroup.get(groupOf(k)) ?? []), k]);
    // Ungrouped metrics first, then groups by name.
    return [...byGroup.entries()].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b)));
  }, [shown]);
  if (!keys.length) return <Empty>{props.emptyText}</Empty>;
  return (
    <section class="metric-grid" aria-label={label}>
      <div class="toolbar">
        <input
          type="search"
          aria-label={`Search ${label.toLowerCase()}`}
          placeholder="Search metric charts"
          value={search}
          onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
        />
        <span class="muted">
          {shown.length} of {keys.length} chart{keys.length === 1 ? '' : 's'}
        </span>
      </div>
      {!shown.length && <Empty>No metric name contains “{search}”.</Empty>}
      {groups.map(([group, list]) => (
        <div class="chart-group" key={group}>
          {groups.length > 1 && (
            <h3 class="group-title">
              {group || 'metrics'} <span class="muted">({list.length})</span>
            </h3>
          )}
          <div class="cards">
            {list.map((k) => (
              <MetricCard key={k} runs={runs} metricKey={k} axis={axis} onExpand={onExpand} />
            ))}
          </div>
        </div>
      ))}
    </section>
  );
}
