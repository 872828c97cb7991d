import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeWithTool } from '../helpers/tools';
import { api, runPython, startTestServer, storeAvailability, storeKinds, tracingClients, type TestServer } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * MLflow 3 tracing (issue 15): the official 3.x client, unchanged, traces nested calls and reads them
 * back through the real server on each store; hostile and malformed requests answer 4xx and store
 * nothing.
 */
const V3 = '/api/3.0/mlflow';

let seq = 0;
const traceId = () => `tr-${(++seq).toString(16).padStart(32, '0')}`;

/** A StartTraceV3 body as the client sends it. */
function startBody(experimentId: string, id: string, extra: Record<string, unknown> = {}) {
  return {
    trace: {
      trace_info: {
        trace_id: id,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_time: '2025-03-04T05:06:07.890Z',
        execution_duration: '0.25s',
        state: 'OK',
        request_preview: '{"q": 1}',
        trace_metadata: { 'mlflow.sourceRun': 'r' },
        tags: { 'mlflow.traceName': 'root' },
        ...extra,
      },
    },
  };
}

for (const kind of storeKinds()) {
  describeWithTool(`MLflow 3 tracing on the ${kind} store`, storeAvailability(kind), () => {
    let server: TestServer;
    let exp: string;
    beforeAll(async () => {
      server = await startTestServer(kind);
      exp = (await api(server.url, 'POST', '/experiments/create', { name: 'rest-traces' })).body.experiment_id;
    });
    afterAll(async () => ifStarted(server)?.stop());

    for (const client of tracingClients)
      describeWithTool(client.name, client.availability, () => {
        test('a traced agent script: nested spans, search, tags, assessments, run links, deletes', async () => {
          const out = await runPython(client.python, 'tracing_workflow.py', [server.url, `traced-${kind}-${client.tag}`]);
          expect(out.mlflow_version.startsWith(client.prefix)).toBe(true);
          expect(out.answers).toEqual(['Paris: 21C', 'Oslo: 21C', 'Lima: 21C']);
          expect(out.count).toBe(5);
          expect(out.ordered_both_ways).toBe(true);
          expect([out.ok_count, out.error_count, out.by_tag_count, out.by_run_count, out.slow_count]).toEqual([4, 1, 4, 1, 5]);
          expect(out.pages).toEqual([2, 2, 1, true]);
          expect(out.paged_ids_distinct).toBe(5);
          // The span tree as the client uploaded it: names, parent links, types, inputs and outputs.
          expect(out.span_names).toEqual(['agent', 'format', 'lookup', 'summarize']);
          expect(out.spans.agent).toMatchObject({
            parent: null,
            type: 'AGENT',
            inputs: { question: 'weather in Paris?', city: 'Paris' },
            outputs: 'Paris: 21C',
          });
          expect(out.spans.lookup).toMatchObject({ parent: 'agent', type: 'TOOL', outputs: { city: 'Paris', temp_c: 21 } });
          expect(out.spans.summarize.parent).toBe('agent');
          expect(out.spans.format).toMatchObject({ parent: 'summarize', type: 'PARSER', outputs: 'Paris: 21C' });
          expect(out.format_attribute).toBe(10);
          expect(out.state).toBe('OK');
          expect(out.tags).toEqual({ team: 'genai', question_kind: 'weather' });
          expect(out.artifact_location).toMatch(/^mlflow-artifacts:\/\d+\/traces\/tr-[0-9a-f]{32}\/artifacts$/);
          expect(JSON.parse(out.request_preview)).toEqual({ question: 'weather in Paris?', city: 'Paris' });
          expect(out.execution_ms_nonnegative).toBe(true);
          expect(out.failing_state).toContain('ERROR');
          expect(out.failing_events).toContain('exception');
          expect([out.tag_after_set, out.tag_after_delete]).toEqual(['yes', null]);
          if (client.early) {
            // 3.1 refuses assessments client-side outside Databricks, 2.x has none; neither has link_traces_to_run.
            expect(out.assessed).toBeNull();
            expect(out.linked_count).toBe(1);
          } else {
            // Feedback overridden (old one invalid), an updated expectation; deleting the override restores the original.
            expect(out.assessed).toEqual({
              assessments: [
                ['expected', null, { city: 'Paris', temp_c: 21 }],
                ['helpful', false, true],
                ['helpful', true, false],
              ],
              fetched_expectation: { city: 'Paris', temp_c: 21 },
              feedback_source: ['HUMAN', 'alice@example.com'],
              feedback_rationale: 'answers the question',
              after_delete: [
                ['expected', null],
                ['helpful', true],
              ],
            });
            expect(out.linked_count).toBe(2);
          }
          expect([out.bad_filter, out.bad_order, out.missing_trace]).toEqual(['INVALID_PARAMETER_VALUE', 'INVALID_PARAMETER_VALUE', 'RESOURCE_DOES_NOT_EXIST']);
          expect([out.deleted_by_id, out.deleted_by_time, out.remaining]).toEqual([1, 2, 2]);
          // The span data really is the artifact the client uploaded, under the proxied destination.
          const rel = out.artifact_location.replace('mlflow-artifacts:/', '');
          expect(fs.existsSync(path.join(server.dir, 'artifacts', rel, 'traces.json'))).toBe(true);
        });
      });

    test('server-info answers as MLflow 3 does', async () => {
      const r = await api(server.url, 'GET', '/server-info', undefined, V3);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ store_type: 'SqlStore', workspaces_enabled: false, multipart_uploads_enabled: false });
      expect((await api(server.url, 'GET', '/server-info', undefined, '/ajax-api/3.0/mlflow')).status).toBe(200);
    });

    test('start, get, batch get and search round-trip the TraceInfoV3 fields', async () => {
      const id = traceId();
      const started = await api(
        server.url,
        'POST',
        '/traces',
        startBody(exp, id, { tags: { 'mlflow.traceName': 'root', 'mlflow.artifactLocation': 's3://elsewhere/x' } }),
        V3,
      );
      expect(started.status).toBe(200);
      const info = started.body.trace.trace_info;
      expect(info).toMatchObject({
        trace_id: id,
        request_time: '2025-03-04T05:06:07.890Z',
        execution_duration: '0.25s',
        state: 'OK',
        request_preview: '{"q": 1}',
      });
      expect(info.trace_location).toEqual({ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: exp } });
      // The artifact location is the server's, never the client's.
      expect(info.tags['mlflow.artifactLocation']).toBe(`mlflow-artifacts:/${exp}/traces/${id}/artifacts`);
      expect((await api(server.url, 'GET', `/traces/${id}`, undefined, V3)).body.trace.trace_info).toEqual(info);
      const batch = await api(server.url, 'POST', '/traces/batchGetInfos', { trace_ids: [id, 'tr-missing', '../x'] }, V3);
      expect(batch.body.trace_infos.map((t: { trace_id: string }) => t.trace_id)).toEqual([id]);
      const found = await api(
        server.url,
        'POST',
        '/traces/search',
        {
          locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: exp } }],
          filter: `request_id = '${id}' AND metadata.\`mlflow.sourceRun\` = 'r'`,
        },
        V3,
      );
      expect(found.body.traces).toEqual([info]);
      // A retry of the same trace merges; the same id in another experiment is refused.
      expect((await api(server.url, 'POST', '/traces', startBody(exp, id, { state: 'ERROR' }), V3)).body.trace.trace_info.state).toBe('ERROR');
      const other = (await api(server.url, 'POST', '/experiments/create', { name: 'other-traces' })).body.experiment_id;
      expect((await api(server.url, 'POST', '/traces', startBody(other, id), V3)).body.error_code).toBe('RESOURCE_ALREADY_EXISTS');
    });

    test('malformed and hostile trace requests are 4xx and store nothing', async () => {
      const bad = async (route: string, body: unknown, method = 'POST', prefix = V3) => {
        const r = await api(server.url, method, route, body, prefix);
        return [r.status, r.body.error_code];
      };
      const invalid = [400, 'INVALID_PARAMETER_VALUE'];
      expect(await bad('/traces', startBody(exp, '../../etc'))).toEqual(invalid);
      expect(await bad('/traces', startBody(exp, 'tr-x/../../y'))).toEqual(invalid);
      expect(await bad('/traces', startBody(exp, 'x'.repeat(51)))).toEqual(invalid);
      expect(await bad('/traces', startBody(exp, traceId(), { request_time: 'yesterday' }))).toEqual(invalid);
      expect(await bad('/traces', startBody(exp, traceId(), { execution_duration: '-1s' }))).toEqual(invalid);
      expect(await bad('/traces', startBody(exp, traceId(), { state: 'DONE' }))).toEqual(invalid);
      expect(
        await bad('/traces', startBody(exp, traceId(), { trace_location: { type: 'INFERENCE_TABLE', inference_table: { full_table_name: 'a.b.c' } } })),
      ).toEqual(invalid);
      expect(await bad('/traces', startBody('99999', traceId()))).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
      expect(await bad('/traces', startBody('1; DROP TABLE trace_info', traceId()))).toEqual(invalid);
      const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v']));
      // Nothing of a refused trace is stored, even when the bad part comes after good ones.
      const refused = traceId();
      expect(await bad('/traces', startBody(exp, refused, { tags: { good: 'x', '../escape': 'v' } }))).toEqual(invalid);
      expect(await bad('/traces', startBody(exp, refused, { tags: many }))).toEqual(invalid);
      expect(await bad('/traces', startBody(exp, refused, { assessments: [{ assessment_name: 'x' }] }))).toEqual(invalid);
      expect(await bad(`/traces/${refused}`, undefined, 'GET')).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
      expect(await bad('/traces', '{"trace": {"trace_info": ')).toEqual(invalid);
      expect(await bad('/traces/..%2F..%2Fetc', undefined, 'GET')).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);

      const search = (body: Record<string, unknown>) => bad('/traces/search', { locations: [{ mlflow_experiment: { experiment_id: exp } }], ...body });
      expect(await search({ filter: "status = 'OK' OR status = 'ERROR'" })).toEqual(invalid);
      expect(await search({ filter: "span.name = 'x'" })).toEqual(invalid);
      expect(await search({ filter: "tags.a RLIKE '(a+)+$'" })).toEqual(invalid);
      expect(await search({ filter: "constructor.x = 'y'" })).toEqual(invalid);
      expect(await search({ filter: "feedback.helpful = 'true'" })).toEqual(invalid);
      expect(await search({ filter: "timestamp_ms > 'soon'" })).toEqual(invalid);
      expect(await search({ filter: 'x'.repeat(50_001) })).toEqual(invalid);
      expect(await search({ filter: Array.from({ length: 21 }, (_, i) => `tags.t${i} = 'v'`).join(' AND ') })).toEqual(invalid);
      expect(await search({ filter: `request_id IN (${Array.from({ length: 1001 }, (_, i) => `'${i}'`).join(',')})` })).toEqual(invalid);
      expect(await search({ filter: 'timestamp_ms > 1e309 AND execution_time_ms < -1e309' })).toEqual([200, undefined]);
      expect(await search({ max_results: 0 })).toEqual(invalid);
      expect(await search({ max_results: 50_001 })).toEqual(invalid);
      expect(await search({ page_token: 'not-a-token' })).toEqual(invalid);
      expect(await search({ order_by: Array.from({ length: 11 }, () => 'timestamp_ms') })).toEqual(invalid);
      expect(await search({ order_by: ['tags.x DESC'] })).toEqual(invalid);
      expect(await bad('/traces/search', {})).toEqual(invalid);

      const del = (body: Record<string, unknown>) => bad('/traces/delete-traces', { experiment_id: exp, ...body }, 'POST', '/api/2.0/mlflow');
      expect(await del({})).toEqual(invalid);
      expect(await del({ max_timestamp_millis: 1, request_ids: ['a'] })).toEqual(invalid);
      expect(await del({ request_ids: ['a'], max_traces: 1 })).toEqual(invalid);
      expect(await del({ max_timestamp_millis: 1, max_traces: 0 })).toEqual(invalid);
      expect(await del({ request_ids: Array.from({ length: 1001 }, (_, i) => `t${i}`) })).toEqual(invalid);
      const link = (body: Record<string, unknown>) => bad('/traces/link-to-run', body, 'POST', '/api/2.0/mlflow');
      expect(await link({ trace_ids: Array.from({ length: 101 }, traceId), run_id: '0'.repeat(32) })).toEqual(invalid);
      expect(await link({ trace_ids: [traceId()], run_id: '0'.repeat(32) })).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
      expect(await bad(`/traces/${traceId()}/tags`, { key: 'k', value: 'v' }, 'PATCH')).toEqual([404, 'RESOURCE_DOES_NOT_EXIST']);
      expect(await bad(`/traces/${traceId()}/assessments`, { assessment: { assessment_name: 'a', feedback: { value: 1 } } })).toEqual([
        404,
        'RESOURCE_DOES_NOT_EXIST',
      ]);
    });

    test('the v2 trace API of 2.x and 3.1 clients: StartTrace names the trace, EndTrace completes it', async () => {
      const V2 = '/api/2.0/mlflow';
      const started = await api(
        server.url,
        'POST',
        '/traces',
        {
          experiment_id: exp,
          timestamp_ms: 1_700_000_000_000,
          request_metadata: [{ key: 'mlflow.traceInputs', value: '{"q": 1}' }],
          tags: [{ key: 'mlflow.traceName', value: 'v2' }],
        },
        V2,
      );
      expect(started.status).toBe(200);
      const info = started.body.trace_info;
      expect(info).toMatchObject({ experiment_id: exp, timestamp_ms: 1_700_000_000_000, status: 'IN_PROGRESS' });
      expect(info.request_id).toMatch(/^tr-[0-9a-f]{32}$/);
      expect(info.tags).toContainEqual({ key: 'mlflow.artifactLocation', value: `mlflow-artifacts:/${exp}/traces/${info.request_id}/artifacts` });
      const ended = await api(
        server.url,
        'PATCH',
        `/traces/${info.request_id}`,
        { timestamp_ms: 1_700_000_000_250, status: 'OK', request_metadata: [{ key: 'mlflow.traceOutputs', value: '2' }], tags: [] },
        V2,
      );
      expect(ended.body.trace_info).toMatchObject({ execution_time_ms: 250, status: 'OK' });
      const got = (await api(server.url, 'GET', `/traces/${info.request_id}/info`, undefined, V2)).body.trace_info;
      expect(got.request_metadata).toEqual(
        expect.arrayContaining([
          { key: 'mlflow.traceInputs', value: '{"q": 1}' },
          { key: 'mlflow.traceOutputs', value: '2' },
        ]),
      );
      const found = await api(server.url, 'GET', '/traces', { experiment_ids: [exp], filter: "name = 'v2'", max_results: 5 }, V2);
      expect(found.body.traces.map((t: { request_id: string }) => t.request_id)).toEqual([info.request_id]);
      // The same trace through the v3 API.
      expect((await api(server.url, 'GET', `/traces/${info.request_id}`, undefined, V3)).body.trace.trace_info.execution_duration).toBe('0.25s');
      expect((await api(server.url, 'PATCH', `/traces/${traceId()}`, { timestamp_ms: 1, status: 'OK' }, V2)).status).toBe(404);
      expect((await api(server.url, 'POST', '/traces', { experiment_id: exp, timestamp_ms: 'noon' }, V2)).status).toBe(400);
      expect((await api(server.url, 'PATCH', `/traces/${info.request_id}`, { timestamp_ms: 1, status: 'FINE' }, V2)).status).toBe(400);
    });

    test('tags: the server-set artifact location cannot be overwritten, values are truncated as MLflow does', async () => {
      const id = traceId();
      await api(server.url, 'POST', '/traces', startBody(exp, id), V3);
      expect((await api(server.url, 'PATCH', `/traces/${id}/tags`, { key: 'mlflow.artifactLocation', value: 'file:///etc' }, V3)).status).toBe(400);
      expect((await api(server.url, 'PATCH', `/traces/${id}/tags`, { key: 'long', value: 'x'.repeat(9000) }, V3)).status).toBe(200);
      const tags = (await api(server.url, 'GET', `/traces/${id}`, undefined, V3)).body.trace.trace_info.tags;
      expect(tags['mlflow.artifactLocation']).toBe(`mlflow-artifacts:/${exp}/traces/${id}/artifacts`);
      expect(tags.long).toHaveLength(8000);
      expect((await api(server.url, 'DELETE', `/traces/${id}/tags`, { key: 'nope' }, V3)).status).toBe(404);
      expect((await api(server.url, 'DELETE', `/traces/${id}/tags`, { key: 'mlflow.artifactLocation' }, V3)).status).toBe(400);
      expect((await api(server.url, 'GET', `/traces/${id}`, undefined, V3)).body.trace.trace_info.tags['mlflow.artifactLocation']).toBe(
        `mlflow-artifacts:/${exp}/traces/${id}/artifacts`,
      );
    });

    test('delete by timestamp takes the oldest first and stops at max_traces', async () => {
      const e = (await api(server.url, 'POST', '/experiments/create', { name: 'delete-by-time' })).body.experiment_id;
      const ids = [traceId(), traceId(), traceId()];
      for (const [i, id] of ids.entries()) await api(server.url, 'POST', '/traces', startBody(e, id, { request_time: `2025-01-0${i + 1}T00:00:00Z` }), V3);
      const del = await api(
        server.url,
        'POST',
        '/traces/delete-traces',
        { experiment_id: e, max_timestamp_millis: Date.parse('2025-01-02T00:00:00Z'), max_traces: 1 },
        V3,
      );
      expect(del.body).toEqual({ traces_deleted: 1 });
      const left = await api(server.url, 'POST', '/traces/search', { experiment_ids: [e], order_by: ['timestamp_ms ASC'] }, V3);
      expect(left.body.traces.map((t: { trace_id: string }) => t.trace_id)).toEqual(ids.slice(1));
    });
  });
}
