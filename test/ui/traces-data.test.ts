// The web UI's reading of traces.json (ui/tracking/src/trace-data.ts), on the shapes MLflow clients
// write and on what a hostile uploader could put there. The browser suite (traces.e2e.test.ts) covers
// the same code against the 3.x client's real files; these cases are the ones no client writes.
import type { TraceInfo } from '../../ui/tracking/src/api';
import { durationMs, parseTraceData, spanCount, spanRows, traceDataUrl, TraceDataError, valueText } from '../../ui/tracking/src/trace-data';

const span = (id: string, parent: string | null, start: number, extra: Record<string, unknown> = {}) => ({
  span_id: id,
  parent_span_id: parent,
  name: `s-${id}`,
  start_time_unix_nano: start,
  end_time_unix_nano: start + 10,
  ...extra,
});

describe('parseTraceData', () => {
  test('reads the v3 schema: JSON-encoded attributes, inputs/outputs, status, exception events', () => {
    const data = parseTraceData(
      JSON.stringify({
        spans: [
          span('r', null, 100, {
            status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
            attributes: {
              'mlflow.spanType': '"TOOL"',
              'mlflow.spanInputs': '{"city": "Oslo"}',
              'mlflow.spanOutputs': '"sunny"',
              custom: '42',
              raw: 'not json',
            },
            events: [{ name: 'exception', time_unix_nano: 105, attributes: { 'exception.type': 'ValueError' } }],
          }),
        ],
      }),
    );
    expect(data.skipped).toBe(0);
    const s = data.spans[0];
    expect(s).toMatchObject({ id: 'r', name: 's-r', spanType: 'TOOL', status: 'ERROR', statusMessage: 'boom', inputs: { city: 'Oslo' }, outputs: 'sunny' });
    expect(s.attributes).toEqual({ custom: 42, raw: 'not json' });
    expect(s.events).toEqual([{ name: 'exception', timeNs: 105, attributes: { 'exception.type': 'ValueError' } }]);
  });

  test('reads the v2 schema (context.span_id, parent_id, start_time, status_code) and int64 times sent as strings', () => {
    const data = parseTraceData(
      JSON.stringify({
        spans: [
          {
            name: 'root',
            context: { span_id: '0x1', trace_id: 't' },
            parent_id: null,
            start_time: '1796196947484522234',
            end_time: 1796196947489885795,
            status_code: 'OK',
          },
          { name: 'kid', context: { span_id: '0x2' }, parent_id: '0x1', start_time: 1796196947484600000, status_code: 'UNSET' },
        ],
      }),
    );
    expect(data.spans.map((s) => [s.id, s.parentId, s.status])).toEqual([
      ['0x1', undefined, 'OK'],
      ['0x2', '0x1', 'UNSET'],
    ]);
    expect(data.spans[0].startNs).toBeCloseTo(1796196947484522234, -4);
    expect(data.spans[1].endNs).toBeUndefined();
  });

  test.each([
    ['truncated JSON', '{"spans": [', /not valid JSON/],
    ['not an object', '[1, 2]', /no "spans" list/],
    ['spans not a list', '{"spans": "x"}', /no "spans" list/],
    ['empty file', '', /not valid JSON/],
  ])('refuses %s with a readable reason', (_what, body, reason) => {
    expect(() => parseTraceData(body)).toThrow(TraceDataError);
    expect(() => parseTraceData(body)).toThrow(reason);
  });

  test('skips and counts entries that are not spans (no id, no or negative start time, not objects)', () => {
    const data = parseTraceData(
      JSON.stringify({
        spans: [span('a', null, 1), null, 'x', 7, { name: 'no id', start_time_unix_nano: 1 }, { span_id: 'b', start_time_unix_nano: -5 }, { span_id: 'c' }],
      }),
    );
    expect(data.spans.map((s) => s.id)).toEqual(['a']);
    expect(data.skipped).toBe(6);
  });
});

describe('spanRows', () => {
  test('orders parents before children and siblings by start time, with depths', () => {
    const { spans } = parseTraceData(JSON.stringify({ spans: [span('c2', 'r', 30), span('g', 'c1', 25), span('r', null, 0), span('c1', 'r', 20)] }));
    expect(spanRows(spans).map((r) => [r.span.id, r.depth])).toEqual([
      ['r', 0],
      ['c1', 1],
      ['g', 2],
      ['c2', 1],
    ]);
  });

  test('shows orphans as roots and loops and self-parents once each, without recursion limits', () => {
    const { spans } = parseTraceData(JSON.stringify({ spans: [span('a', 'b', 1), span('b', 'a', 2), span('self', 'self', 3), span('o', 'missing', 4)] }));
    expect(spanRows(spans).map((r) => r.span.id)).toEqual(['self', 'o', 'a', 'b']);
    // 100,000 spans each the child of the previous: the walk is iterative, so no stack overflow.
    const deep = Array.from({ length: 100_000 }, (_, i) => span(String(i), i === 0 ? null : String(i - 1), i));
    const rows = spanRows(parseTraceData(JSON.stringify({ spans: deep })).spans);
    expect(rows).toHaveLength(100_000);
    expect(rows[99_999].depth).toBe(99_999);
  });
});

describe('trace info helpers', () => {
  test('traceDataUrl reads proxied locations only and refuses dot segments', () => {
    const info = (loc?: string): TraceInfo => ({ trace_id: 't', tags: loc === undefined ? {} : { 'mlflow.artifactLocation': loc } });
    expect(traceDataUrl(info('mlflow-artifacts:/1/traces/tr-1/artifacts'))).toBe('ajax-api/2.0/mlflow-artifacts/artifacts/1/traces/tr-1/artifacts/traces.json');
    expect(traceDataUrl(info('mlflow-artifacts://host:5000/1/traces/a b/artifacts'))).toBe(
      'ajax-api/2.0/mlflow-artifacts/artifacts/1/traces/a%20b/artifacts/traces.json',
    );
    expect(() => traceDataUrl(info('s3://bucket/1/traces/tr-1/artifacts'))).toThrow(/outside the server's artifact proxy/);
    expect(() => traceDataUrl(info('mlflow-artifacts:/1/../../etc'))).toThrow(/not a plain path/);
    expect(() => traceDataUrl(info())).toThrow(/no mlflow.artifactLocation/);
  });

  test('span count, durations and value text are defensive', () => {
    const meta = (v: string) => ({ trace_id: 't', trace_metadata: { 'mlflow.trace.sizeStats': v } });
    expect(spanCount(meta('{"num_spans": 4}'))).toBe(4);
    expect(spanCount(meta('{"num_spans": -1}'))).toBeUndefined();
    expect(spanCount(meta('{"num_spans": "4"}'))).toBeUndefined();
    expect(spanCount(meta('junk'))).toBeUndefined();
    expect(spanCount({ trace_id: 't' })).toBeUndefined();
    expect(durationMs('0.005s')).toBeCloseTo(5);
    expect(durationMs('12s')).toBe(12_000);
    expect(durationMs('-1s')).toBeUndefined();
    expect(durationMs(undefined)).toBeUndefined();
    expect(valueText({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(valueText('x'.repeat(30), 10)).toMatch(/^x{10}\n… \(20 more characters not shown\)$/);
  });
});
