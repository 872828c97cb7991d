import { ApiError, ARTIFACTS_API, type TraceInfo } from './api';

// A trace's spans are the `traces.json` the client uploads under the trace's `mlflow.artifactLocation`
// tag. Anyone who can write to the experiment can upload any bytes there, so everything below is
// defensive: a size cap while downloading, JSON errors as messages, spans of the wrong shape skipped,
// ids and times checked, and the tree built without recursion (a hostile file may nest deeply or loop).

/** Bytes read at most; a larger file is refused with a message rather than parsed. */
export const MAX_TRACE_BYTES = 16 * 1024 * 1024;
/** Spans drawn at most; the rest are counted, not rendered. */
export const MAX_SPANS_SHOWN = 1000;

export interface SpanEvent {
  name: string;
  timeNs?: number;
  attributes: Record<string, unknown>;
}

export interface Span {
  id: string;
  parentId?: string;
  name: string;
  spanType?: string;
  startNs: number;
  endNs?: number;
  /** OK, ERROR or UNSET. */
  status: string;
  statusMessage?: string;
  inputs?: unknown;
  outputs?: unknown;
  /** The other attributes, each decoded from the JSON text MLflow stores. */
  attributes: Record<string, unknown>;
  events: SpanEvent[];
}

export interface TraceData {
  spans: Span[];
  /** Entries of `spans` that were not span objects (counted, so the page can say so). */
  skipped: number;
}

/** Why the span data could not be shown, in words for the page. */
export class TraceDataError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** MLflow stores attribute values as JSON text (`"\"AGENT\""`); a value that is not JSON stays as written. */
function decodeAttribute(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** Nanoseconds as a number; protobuf JSON may send int64 as a string. Undefined unless finite and non-negative. */
function nanos(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,25}$/.test(v) ? Number(v) : typeof v === 'number' ? v : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function statusOf(raw: Record<string, unknown>): { status: string; message?: string } {
  const st = raw.status;
  const code = isObject(st) ? st.code : raw.status_code;
  const message = isObject(st) ? text(st.message) : text(raw.status_message);
  const s = typeof code === 'string' ? code.replace(/^STATUS_CODE_/, '') : 'UNSET';
  return { status: ['OK', 'ERROR'].includes(s) ? s : 'UNSET', message };
}

function eventsOf(raw: unknown): SpanEvent[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(isObject).map((e) => ({
    name: text(e.name) ?? '(unnamed event)',
    timeNs: nanos(e.time_unix_nano ?? e.timestamp),
    attributes: isObject(e.attributes) ? e.attributes : {},
  }));
}

const IO_KEYS = new Set(['mlflow.spanInputs', 'mlflow.spanOutputs', 'mlflow.spanType']);

/** One span in the v3 (OTLP-like: span_id, parent_span_id, *_unix_nano) or v2 (context, parent_id, start_time) schema; undefined if unusable. */
export function toSpan(raw: unknown): Span | undefined {
  if (!isObject(raw)) return undefined;
  const context = isObject(raw.context) ? raw.context : {};
  const id = text(raw.span_id) ?? text(context.span_id);
  const startNs = nanos(raw.start_time_unix_nano ?? raw.start_time);
  if (id === undefined || startNs === undefined) return undefined;
  const attrs = isObject(raw.attributes) ? raw.attributes : {};
  const attributes: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) if (!IO_KEYS.has(k)) attributes[k] = decodeAttribute(v);
  const spanType = decodeAttribute(attrs['mlflow.spanType']);
  const { status, message } = statusOf(raw);
  return {
    id,
    parentId: text(raw.parent_span_id) ?? text(raw.parent_id),
    name: text(raw.name) ?? '(unnamed span)',
    spanType: typeof spanType === 'string' ? spanType : undefined,
    startNs,
    endNs: nanos(raw.end_time_unix_nano ?? raw.end_time),
    status,
    statusMessage: message,
    inputs: 'mlflow.spanInputs' in attrs ? decodeAttribute(attrs['mlflow.spanInputs']) : undefined,
    outputs: 'mlflow.spanOutputs' in attrs ? decodeAttribute(attrs['mlflow.spanOutputs']) : undefined,
    attributes,
    events: eventsOf(raw.events),
  };
}

/** Parses the text of a traces.json; throws TraceDataError with a readable reason. */
export function parseTraceData(body: string): TraceData {
  let json: unknown;
  try {
    json = JSON.parse(body) as unknown;
  } catch (e) {
    throw new TraceDataError(`traces.json is not valid JSON (${(e as Error).message}).`);
  }
  if (!isObject(json) || !Array.isArray(json.spans)) throw new TraceDataError('traces.json has no "spans" list: it is not span data MLflow wrote.');
  const spans: Span[] = [];
  for (const raw of json.spans) {
    const span = toSpan(raw);
    if (span) spans.push(span);
  }
  return { spans, skipped: json.spans.length - spans.length };
}

/** The proxy URL of a trace's traces.json, or a TraceDataError when its location is not one the browser can read. */
export function traceDataUrl(info: TraceInfo): string {
  const location = info.tags?.['mlflow.artifactLocation'];
  if (!location) throw new TraceDataError('This trace has no mlflow.artifactLocation tag, so there is no span data to read.');
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(location);
  if (!m)
    throw new TraceDataError(
      `The span data is stored at ${location}, outside the server's artifact proxy; the web UI reads proxied (mlflow-artifacts:) locations only.`,
    );
  const parts = [...m[1].split('/').filter(Boolean), 'traces.json'];
  if (parts.some((p) => p === '..' || p === '.')) throw new TraceDataError(`The trace's artifact location ${location} is not a plain path.`);
  return `${ARTIFACTS_API}/${parts.map(encodeURIComponent).join('/')}`;
}

/** Reads a response body, giving up (and cancelling the download) past `max` bytes. */
async function readCapped(res: Response, max: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '');
  const tooBig = () => new TraceDataError(`traces.json is larger than ${max / 1024 / 1024} MiB; the web UI does not load span data that large.`);
  if (declared > max) {
    await res.body?.cancel();
    throw tooBig();
  }
  if (!res.body) return res.text();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Downloads and parses a trace's spans; server errors come back as ApiError, bad content as TraceDataError. */
export async function loadTraceData(info: TraceInfo, max = MAX_TRACE_BYTES): Promise<TraceData> {
  const url = traceDataUrl(info);
  let res: Response;
  try {
    res = await fetch(url, { credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK_ERROR', `Cannot reach the tracking server (${(e as Error).message}).`);
  }
  if (!res.ok) {
    let err: { error_code?: string; message?: string } = {};
    try {
      err = (await res.json()) as typeof err;
    } catch {
      // Not MLflow's error JSON: the status line says enough.
    }
    throw new ApiError(res.status, err.error_code ?? `HTTP_${res.status}`, err.message ?? `HTTP ${res.status} reading traces.json`);
  }
  return parseTraceData(await readCapped(res, max));
}

export interface SpanRow {
  span: Span;
  depth: number;
}

/**
 * Spans in tree order (each parent before its children, siblings by start time), with their depth.
 * A span whose parent is missing becomes a root; a span reached twice (a loop, a repeated id) is shown once.
 */
export function spanRows(spans: readonly Span[]): SpanRow[] {
  const byId = new Map(spans.map((s) => [s.id, s]));
  const children = new Map<string, Span[]>();
  const roots: Span[] = [];
  for (const s of spans) {
    if (s.parentId !== undefined && s.parentId !== s.id && byId.has(s.parentId)) {
      const list = children.get(s.parentId) ?? [];
      list.push(s);
      children.set(s.parentId, list);
    } else roots.push(s);
  }
  const byStart = (a: Span, b: Span) => a.startNs - b.startNs;
  const rows: SpanRow[] = [];
  const seen = new Set<Span>();
  const stack: SpanRow[] = [...roots]
    .sort(byStart)
    .reverse()
    .map((span) => ({ span, depth: 0 }));
  for (let next = stack.pop(); next; next = stack.pop()) {
    if (seen.has(next.span)) continue;
    seen.add(next.span);
    rows.push(next);
    const kids = [...(children.get(next.span.id) ?? [])].sort(byStart).reverse();
    for (const k of kids) stack.push({ span: k, depth: next.depth + 1 });
  }
  // Spans only reachable through a loop never met a root: show them at the top level, not drop them.
  for (const s of spans) if (!seen.has(s)) rows.push({ span: s, depth: 0 });
  return rows;
}

/** A parsed JSON value as readable text: strings as written, everything else pretty JSON; cut at `max` characters. */
export function valueText(v: unknown, max = 20_000): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else {
    try {
      // JSON.stringify gives undefined (not text) for these, whatever the lib typing says.
      s = v === undefined || typeof v === 'function' || typeof v === 'symbol' ? String(v) : JSON.stringify(v, null, 2);
    } catch {
      s = String(v);
    }
  }
  return s.length > max ? `${s.slice(0, max)}\n… (${(s.length - max).toLocaleString()} more characters not shown)` : s;
}

/** "0.005s" (protobuf Duration) as milliseconds; undefined when absent or malformed. */
export function durationMs(d: string | undefined): number | undefined {
  const m = d === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(d);
  return m ? Number(m[1]) * 1000 : undefined;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)}m ${Math.round((ms % 60_000) / 1000)}s`;
}

/** The span count the client records in `mlflow.trace.sizeStats` (`num_spans`), when it is there and sane. */
export function spanCount(info: TraceInfo): number | undefined {
  const raw = info.trace_metadata?.['mlflow.trace.sizeStats'];
  if (!raw) return undefined;
  try {
    const n = (JSON.parse(raw) as { num_spans?: unknown }).num_spans;
    return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
}
