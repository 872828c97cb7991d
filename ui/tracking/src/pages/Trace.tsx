import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, type Assessment, type TraceInfo } from '../api';
import { Empty, ErrorState, Loading } from '../components/states';
import { formatTime } from '../format';
import { useLoad } from '../hooks';
import { href } from '../router';
import {
  durationMs,
  formatMs,
  loadTraceData,
  MAX_SPANS_SHOWN,
  spanRows,
  TraceDataError,
  valueText,
  type Span,
  type SpanRow,
  type TraceData,
} from '../trace-data';
import { StateBadge, userTags } from './Traces';

/** A value block: pretty JSON or text, as text (never markup), cut to a readable size. */
function Value({ label, value }: { label: string; value: unknown }) {
  return (
    <div class="span-value">
      <h4>{label}</h4>
      {value === undefined ? <p class="muted">—</p> : <pre class="text-preview">{valueText(value)}</pre>}
    </div>
  );
}

function SpanDetail({ span, traceStartNs }: { span: Span; traceStartNs: number }) {
  const attrs = Object.entries(span.attributes);
  return (
    <div class="span-detail" aria-label={`Span ${span.name}`} data-span={span.name}>
      <h3>
        {span.name} {span.spanType && <span class="badge">{span.spanType}</span>} <span class={`status span-${span.status.toLowerCase()}`}>{span.status}</span>
      </h3>
      <p class="muted">
        starts at {formatMs((span.startNs - traceStartNs) / 1e6)} · takes {formatMs(span.endNs === undefined ? undefined : (span.endNs - span.startNs) / 1e6)}
        {span.statusMessage && <> · {span.statusMessage}</>}
      </p>
      <Value label="Inputs" value={span.inputs} />
      <Value label="Outputs" value={span.outputs} />
      <h4>Attributes</h4>
      {attrs.length === 0 ? (
        <p class="muted">—</p>
      ) : (
        <table class="table key-value" aria-label="Span attributes">
          <tbody>
            {attrs.map(([k, v]) => (
              <tr key={k}>
                <td class="mono">{k}</td>
                <td class="mono wrap">{valueText(v, 2000)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h4>Events</h4>
      {span.events.length === 0 ? (
        <p class="muted">—</p>
      ) : (
        <ul class="span-events" aria-label="Span events">
          {span.events.map((e, i) => (
            <li key={i} class={e.name === 'exception' ? 'exception' : undefined}>
              <strong>{e.name}</strong>
              {e.timeNs !== undefined && <span class="muted"> at {formatMs((e.timeNs - traceStartNs) / 1e6)}</span>}
              {Object.entries(e.attributes).map(([k, v]) => (
                <div key={k} class="event-attr">
                  <span class="mono muted">{k}</span>
                  <pre class="text-preview">{valueText(v, 8000)}</pre>
                </div>
              ))}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** One row of the span tree: the name indented by depth, then a bar placed by its start and length within the trace. */
function SpanTreeRow({ row, start, total, selected, onSelect }: { row: SpanRow; start: number; total: number; selected: boolean; onSelect: () => void }) {
  const { span, depth } = row;
  const left = total > 0 ? ((span.startNs - start) / total) * 100 : 0;
  const width = total > 0 && span.endNs !== undefined ? Math.max(0.5, ((span.endNs - span.startNs) / total) * 100) : 0.5;
  const failed = span.status === 'ERROR' || span.events.some((e) => e.name === 'exception');
  return (
    <tr
      data-row
      tabIndex={0}
      data-span-id={span.id}
      data-depth={depth}
      class={selected ? 'selected' : undefined}
      onClick={onSelect}
      onKeyDown={(e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        onSelect();
      }}
    >
      <td class="span-name" style={{ paddingLeft: `${8 + Math.min(depth, 30) * 18}px` }}>
        <button type="button" class="link" tabIndex={-1}>
          {span.name}
        </button>
        {span.spanType && <span class="badge">{span.spanType}</span>}
        {failed && <span class="status span-error">error</span>}
      </td>
      <td class="num">{formatMs(span.endNs === undefined ? undefined : (span.endNs - span.startNs) / 1e6)}</td>
      <td class="timeline">
        <div
          class={`span-bar ${failed ? 'failed' : ''}`}
          style={{ marginLeft: `${Math.min(99.5, left)}%`, width: `${Math.min(100 - Math.min(99.5, left), width)}%` }}
        />
      </td>
    </tr>
  );
}

function SpanTree({ data }: { data: TraceData }) {
  const rows = useMemo(() => spanRows(data.spans), [data]);
  const [selectedId, setSelectedId] = useState<string | undefined>(rows.at(0)?.span.id);
  if (rows.length === 0) return <Empty>traces.json holds no spans.</Empty>;
  // reduce, not Math.min(...spread): a file with a huge span list would overflow the argument stack.
  const start = data.spans.reduce((m, s) => Math.min(m, s.startNs), Infinity);
  const end = data.spans.reduce((m, s) => Math.max(m, s.endNs ?? s.startNs), start);
  const shown = rows.slice(0, MAX_SPANS_SHOWN);
  const selected = shown.find((r) => r.span.id === selectedId)?.span ?? shown[0].span;
  return (
    <>
      {(data.skipped > 0 || rows.length > shown.length) && (
        <p class="state empty">
          {data.skipped > 0 && <>{data.skipped} entries of traces.json are not spans and are left out. </>}
          {rows.length > shown.length && (
            <>
              Showing the first {shown.length} of {rows.length} spans.
            </>
          )}
        </p>
      )}
      <div class="trace-layout">
        <table class="table span-tree" aria-label="Spans">
          <thead>
            <tr>
              <th>Span</th>
              <th class="num">Duration</th>
              <th class="timeline">Timeline ({formatMs((end - start) / 1e6)})</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => (
              <SpanTreeRow row={r} key={r.span.id} start={start} total={end - start} selected={r.span === selected} onSelect={() => setSelectedId(r.span.id)} />
            ))}
          </tbody>
        </table>
        <SpanDetail span={selected} traceStartNs={start} />
      </div>
    </>
  );
}

function AssessmentValue({ a }: { a: Assessment }) {
  if (a.feedback?.error) return <span class="status span-error">{a.feedback.error.error_message ?? a.feedback.error.error_code ?? 'error'}</span>;
  const v = a.feedback ? a.feedback.value : (a.expectation?.value ?? a.expectation?.serialized_value?.value);
  return <span class="mono">{valueText(v, 500)}</span>;
}

function Assessments({ list }: { list: Assessment[] }) {
  if (!list.length) return <Empty>No feedback or expectations on this trace yet (mlflow.log_feedback, mlflow.log_expectation).</Empty>;
  return (
    <table class="table" aria-label="Assessments">
      <thead>
        <tr>
          <th>Name</th>
          <th>Kind</th>
          <th>Value</th>
          <th>Rationale</th>
          <th>Source</th>
          <th>Valid</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {list.map((a) => (
          <tr key={a.assessment_id} data-assessment={a.assessment_name}>
            <td>{a.assessment_name}</td>
            <td>{a.feedback ? 'feedback' : a.expectation ? 'expectation' : '—'}</td>
            <td>
              <AssessmentValue a={a} />
            </td>
            <td class="wrap">{a.rationale ?? '—'}</td>
            <td>{[a.source?.source_type, a.source?.source_id].filter(Boolean).join(' · ') || '—'}</td>
            <td>{a.valid === false ? 'overridden' : 'yes'}</td>
            <td>{formatTime(a.last_update_time ? Date.parse(a.last_update_time) : undefined)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function KeyValues({ label, entries }: { label: string; entries: [string, string][] }) {
  if (!entries.length) return <p class="muted">—</p>;
  return (
    <table class="table key-value" aria-label={label}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <td class="mono">{k}</td>
            <td class="mono wrap">{valueText(v, 2000)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SpanData({ info }: { info: TraceInfo }) {
  const data = useLoad(async () => {
    try {
      return { ok: true as const, data: await loadTraceData(info) };
    } catch (e) {
      if (e instanceof TraceDataError) return { ok: false as const, message: e.message };
      throw e instanceof ApiError ? e : new ApiError(0, 'CLIENT_ERROR', String(e));
    }
  }, [info.trace_id]);
  if (data.state === 'loading') return <Loading what="the spans" />;
  if (data.state === 'error' && data.error.status === 404 && data.error.errorCode === 'RESOURCE_DOES_NOT_EXIST')
    return <Empty>No span data has been uploaded for this trace (traces.json is missing): the client may still be sending it, or never did.</Empty>;
  if (data.state === 'error') return <ErrorState error={data.error} what="the span data (traces.json)" />;
  if (!data.data.ok)
    return (
      <div class="state error" role="alert">
        <strong>Could not show the span data</strong>
        <div class="error-message">{data.data.message}</div>
        <div>The trace's info, tags and assessments below are unaffected.</div>
      </div>
    );
  return <SpanTree data={data.data.data} />;
}

export function TracePage({ traceId }: { traceId: string }) {
  const trace = useLoad(() => api.getTraceInfo(traceId), [traceId]);
  if (trace.state === 'loading') return <Loading what={`trace ${traceId}`} />;
  if (trace.state === 'error') return <ErrorState error={trace.error} what={`trace ${traceId}`} />;
  const info = trace.data.trace.trace_info;
  const experimentId = info.trace_location?.mlflow_experiment?.experiment_id;
  const name = info.tags?.['mlflow.traceName'] ?? info.trace_id;
  return (
    <section>
      <nav class="crumbs">
        <a href={href(['experiments'])}>Experiments</a>
        {experimentId && (
          <>
            {' '}
            / <a href={href(['experiments', experimentId, 'traces'])}>traces of experiment {experimentId}</a>
          </>
        )}{' '}
        / {info.trace_id}
      </nav>
      <h1>{name}</h1>
      <dl class="facts">
        <dt>Trace id</dt>
        <dd class="mono">{info.trace_id}</dd>
        <dt>Status</dt>
        <dd>
          <StateBadge state={info.state} />
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(info.request_time ? Date.parse(info.request_time) : undefined)}</dd>
        <dt>Latency</dt>
        <dd>{formatMs(durationMs(info.execution_duration))}</dd>
      </dl>
      <h2>Spans</h2>
      <SpanData info={info} />
      <h2>Assessments</h2>
      <Assessments list={info.assessments ?? []} />
      <h2>Tags</h2>
      <KeyValues label="Trace tags" entries={[...userTags(info.tags), ...Object.entries(info.tags ?? {}).filter(([k]) => k.startsWith('mlflow.'))]} />
      <h2>Request metadata</h2>
      <KeyValues label="Trace metadata" entries={Object.entries(info.trace_metadata ?? {}).sort(([a], [b]) => a.localeCompare(b))} />
    </section>
  );
}
