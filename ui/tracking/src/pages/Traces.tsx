import { useState } from 'preact/hooks';
import { api, type TraceInfo } from '../api';
import { ExperimentTabs } from '../components/ExperimentTabs';
import { KeyTable } from '../components/KeyTable';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatTime } from '../format';
import { useLoad } from '../hooks';
import { href, navigate } from '../router';
import { durationMs, formatMs, spanCount } from '../trace-data';

/** Characters of a request preview shown in a table cell (the full text is the cell's title). */
const PREVIEW_CHARS = 160;

export function preview(s: string | undefined): string {
  if (!s) return '—';
  return s.length > PREVIEW_CHARS ? `${s.slice(0, PREVIEW_CHARS)}…` : s;
}

/** The tags a person set (`mlflow.*` ones are the client's and server's bookkeeping). */
export function userTags(tags: Record<string, string> | undefined): [string, string][] {
  return Object.entries(tags ?? {}).filter(([k]) => !k.startsWith('mlflow.'));
}

export function StateBadge({ state }: { state: string | undefined }) {
  const s = state ?? 'STATE_UNSPECIFIED';
  return <span class={`status trace-${s.toLowerCase()}`}>{s}</span>;
}

function TraceRow({ t }: { t: TraceInfo }) {
  const name = t.tags?.['mlflow.traceName'] ?? t.trace_id;
  const spans = spanCount(t);
  return (
    <tr data-row tabIndex={0} data-trace-id={t.trace_id}>
      <td>
        <a href={href(['traces', t.trace_id])}>{name}</a>
        <div class="muted mono">{t.trace_id}</div>
      </td>
      <td class="mono preview-cell" title={t.request_preview}>
        {preview(t.request_preview)}
      </td>
      <td data-col="state">
        <StateBadge state={t.state} />
      </td>
      <td>{formatTime(t.request_time ? Date.parse(t.request_time) : undefined)}</td>
      <td class="num" data-col="latency">
        {formatMs(durationMs(t.execution_duration))}
      </td>
      <td class="num" data-col="spans">
        {spans ?? '—'}
      </td>
      <td data-col="tags">
        {userTags(t.tags).map(([k, v]) => (
          <span class="badge" key={k}>
            {k}={v}
          </span>
        ))}
      </td>
    </tr>
  );
}

export function TracesPage({ experimentId, filter, page }: { experimentId: string; filter: string; page?: string }) {
  const [filterText, setFilterText] = useState(filter);
  const [previousPages, setPreviousPages] = useState<(string | undefined)[]>([]);
  const experiment = useLoad(() => api.getExperiment(experimentId), [experimentId]);
  const traces = useLoad(() => api.searchTraces(experimentId, filter, page), [experimentId, filter, page]);
  const go = (next: { filter?: string; page?: string }) => navigate(href(['experiments', experimentId, 'traces'], { filter, page, ...next }));
  const name = experiment.state === 'ok' ? experiment.data.experiment.name : experimentId;
  const list = traces.state === 'ok' ? (traces.data.traces ?? []) : [];
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['experiments'])}>Experiments</a> / {name}
      </nav>
      <h1>{name}</h1>
      <ExperimentTabs experimentId={experimentId} current="traces" />
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
          aria-label="Filter traces"
          placeholder="trace.status = 'ERROR' and tags.team = 'search' and execution_time_ms > 100"
          value={filterText}
          onInput={(e) => setFilterText((e.target as HTMLInputElement).value)}
        />
        <button type="submit">Filter</button>
      </form>
      {traces.state === 'loading' && <Loading what="traces" />}
      {traces.state === 'error' && <ErrorState error={traces.error} what="traces" />}
      {traces.state === 'ok' && list.length === 0 && (
        <Empty>
          {filter ? (
            <>
              No trace matches <code>{filter}</code>. Loosen the filter or clear it.
            </>
          ) : (
            <>
              No traces in this experiment yet. Decorate a function with <code>@mlflow.trace</code> and call it while tracking to this server.
            </>
          )}
        </Empty>
      )}
      {list.length > 0 && (
        <>
          <div class="scroll-x">
            <KeyTable
              label="Traces"
              class="traces"
              head={
                <tr>
                  <th>Trace</th>
                  <th>Request</th>
                  <th>Status</th>
                  <th>Started</th>
                  <th class="num">Latency</th>
                  <th class="num">Spans</th>
                  <th>Tags</th>
                </tr>
              }
              onOpen={(i) => navigate(href(['traces', list[i].trace_id]))}
            >
              {list.map((t) => (
                <TraceRow t={t} key={t.trace_id} />
              ))}
            </KeyTable>
          </div>
          <nav class="pager">
            {page !== undefined && (
              <button
                type="button"
                onClick={() => {
                  setPreviousPages(previousPages.slice(0, -1));
                  go({ page: previousPages[previousPages.length - 1] });
                }}
              >
                ← Previous page
              </button>
            )}
            {traces.state === 'ok' && traces.data.next_page_token && (
              <button
                type="button"
                onClick={() => {
                  setPreviousPages([...previousPages, page]);
                  go({ page: traces.data.next_page_token });
                }}
              >
                Next page →
              </button>
            )}
            <span class="muted">↑/↓ move · Enter opens</span>
          </nav>
        </>
      )}
    </section>
  );
}
