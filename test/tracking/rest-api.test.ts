import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { describeWithTool } from '../helpers/tools';
import { api, startTestServer, storeAvailability, storeKinds, type TestServer } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

/** Sends a request with the path exactly as given (fetch would normalise `..` and `%2e%2e` away). */
function rawRequest(url: string, method: string, rawPath: string, body?: string): Promise<{ status: number; body: any }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: rawPath, headers: body ? { 'content-type': 'application/octet-stream' } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let parsed: any = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // raw bytes
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bad = (code = 'INVALID_PARAMETER_VALUE') => expect.objectContaining({ error_code: code, message: expect.any(String) });

for (const kind of storeKinds()) {
  describeWithTool(`tracking REST API on ${kind}`, storeAvailability(kind), () => {
    let server: TestServer;
    let url: string;
    let experimentId: string;
    const newRun = async (tags: { key: string; value: string }[] = []) => {
      const r = await api(url, 'POST', '/runs/create', { experiment_id: experimentId, start_time: Date.now(), tags });
      expect(r.status).toBe(200);
      return r.body.run.info.run_id as string;
    };
    const getRun = async (id: string) => (await api(url, 'GET', '/runs/get', { run_id: id })).body.run;

    beforeAll(async () => {
      server = await startTestServer(kind);
      url = server.url;
      const r = await api(url, 'POST', '/experiments/create', { name: 'rest-api', tags: [{ key: 'owner', value: 'team-a' }] });
      experimentId = r.body.experiment_id;
    });
    afterAll(async () => ifStarted(server)?.stop());

    test('health, PEP 440 version and Prometheus metrics by route', async () => {
      expect(await api(url, 'GET', '/health', undefined, '')).toEqual({ status: 200, body: 'OK' });
      const version = await api(url, 'GET', '/version', undefined, '');
      expect(String(version.body)).toMatch(/^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$/);
      const metrics = await api(url, 'GET', '/metrics', undefined, '');
      expect(metrics.body).toContain('mlflow_http_requests_total{method="POST",route="/api/2.0/mlflow/experiments/create",status="200"}');
      expect(metrics.body).toContain('mlflow_http_request_duration_seconds_bucket');
    });

    test('experiments: create, get, get-by-name, search, update, tags, delete and restore', async () => {
      const got = await api(url, 'GET', '/experiments/get', { experiment_id: experimentId });
      expect(got.body.experiment).toMatchObject({
        experiment_id: experimentId,
        name: 'rest-api',
        lifecycle_stage: 'active',
        artifact_location: `mlflow-artifacts:/${experimentId}`,
        tags: [{ key: 'owner', value: 'team-a' }],
      });
      expect((await api(url, 'GET', '/experiments/get-by-name', { experiment_name: 'rest-api' })).body.experiment.experiment_id).toBe(experimentId);
      expect(await api(url, 'POST', '/experiments/create', { name: 'rest-api' })).toEqual({ status: 400, body: bad('RESOURCE_ALREADY_EXISTS') });

      const id2 = (await api(url, 'POST', '/experiments/create', { name: 'rest-api-2' })).body.experiment_id;
      const search = await api(url, 'GET', '/experiments/search', { filter: "name LIKE 'rest-api%'", order_by: ['name DESC'], max_results: 10 });
      expect(search.body.experiments.map((e: any) => e.name)).toEqual(['rest-api-2', 'rest-api']);
      const byTag = await api(url, 'POST', '/experiments/search', { filter: "tags.owner = 'team-a'" });
      expect(byTag.body.experiments.map((e: any) => e.name)).toEqual(['rest-api']);

      expect((await api(url, 'POST', '/experiments/update', { experiment_id: id2, new_name: 'renamed' })).status).toBe(200);
      expect((await api(url, 'POST', '/experiments/update', { experiment_id: id2, new_name: 'rest-api' })).body).toEqual(bad('RESOURCE_ALREADY_EXISTS'));
      expect((await api(url, 'POST', '/experiments/set-experiment-tag', { experiment_id: id2, key: 'k', value: 'v' })).status).toBe(200);
      expect((await api(url, 'POST', '/experiments/delete-experiment-tag', { experiment_id: id2, key: 'k' })).status).toBe(200);
      expect(await api(url, 'POST', '/experiments/delete-experiment-tag', { experiment_id: id2, key: 'k' })).toEqual({
        status: 404,
        body: bad('RESOURCE_DOES_NOT_EXIST'),
      });

      expect((await api(url, 'POST', '/experiments/delete', { experiment_id: id2 })).status).toBe(200);
      const deleted = await api(url, 'POST', '/experiments/search', { view_type: 'DELETED_ONLY' });
      expect(deleted.body.experiments.map((e: any) => e.name)).toEqual(['renamed']);
      // No runs in a deleted experiment.
      expect(await api(url, 'POST', '/runs/create', { experiment_id: id2 })).toEqual({ status: 400, body: bad() });
      expect((await api(url, 'POST', '/experiments/restore', { experiment_id: id2 })).status).toBe(200);
      expect((await api(url, 'GET', '/experiments/get', { experiment_id: id2 })).body.experiment.lifecycle_stage).toBe('active');
    });

    test('the ajax-api prefix serves the same API', async () => {
      const r = await api(url, 'GET', '/experiments/get', { experiment_id: '0' }, '/ajax-api/2.0/mlflow');
      expect(r.body.experiment).toMatchObject({ experiment_id: '0', name: 'Default' });
    });

    test('concurrent creates of one experiment name: exactly one wins', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => api(url, 'POST', '/experiments/create', { name: 'race' })));
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200)) expect(r).toEqual({ status: 400, body: bad('RESOURCE_ALREADY_EXISTS') });
    });

    test('unknown ids and endpoints', async () => {
      expect(await api(url, 'GET', '/experiments/get', { experiment_id: '987654' })).toEqual({ status: 404, body: bad('RESOURCE_DOES_NOT_EXIST') });
      expect(await api(url, 'GET', '/experiments/get', { experiment_id: 'abc' })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'GET', '/experiments/get-by-name', { experiment_name: 'nope' })).toEqual({ status: 404, body: bad('RESOURCE_DOES_NOT_EXIST') });
      expect(await api(url, 'GET', '/runs/get', { run_id: 'ffffffffffffffffffffffffffffffff' })).toEqual({ status: 404, body: bad('RESOURCE_DOES_NOT_EXIST') });
      expect(await api(url, 'GET', '/runs/get', { run_id: "x' OR '1'='1" })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-metric', { run_id: 'ffffffffffffffffffffffffffffffff', key: 'm', value: 1, timestamp: 1 })).toEqual({
        status: 404,
        body: bad('RESOURCE_DOES_NOT_EXIST'),
      });
      expect(await api(url, 'GET', '/no/such/endpoint')).toEqual({ status: 404, body: bad('ENDPOINT_NOT_FOUND') });
    });

    test('malformed JSON, wrong types and missing fields are 400 INVALID_PARAMETER_VALUE', async () => {
      const runId = await newRun();
      expect(await api(url, 'POST', '/runs/log-metric', '{"run_id": ')).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-metric', '[1,2]')).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 'abc', timestamp: 1 })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 'yesterday' })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: -5 })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: true, timestamp: 1 })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-parameter', { run_id: runId, key: 'p' })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-parameter', { run_id: runId, key: 'p', value: { nested: 1 } })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/update', { run_id: runId, status: 'EXPLODED' })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/experiments/create', { name: '' })).toEqual({ status: 400, body: bad() });
      // int64 as protobuf JSON strings and enums by name are accepted.
      expect((await api(url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: '1.5', timestamp: '1700000000000', step: '3' })).status).toBe(200);
      const run = await getRun(runId);
      expect(run.data.metrics).toEqual([{ key: 'm', value: 1.5, timestamp: 1700000000000, step: 3 }]);
    });

    test('invalid keys and oversize values are refused and store nothing', async () => {
      const runId = await newRun();
      for (const key of ['../etc', '/abs', 'a//b', 'semi;colon', '', 'k'.repeat(251), 'a/./b']) {
        expect(await api(url, 'POST', '/runs/log-parameter', { run_id: runId, key, value: 'v' })).toEqual({ status: 400, body: bad() });
      }
      expect(await api(url, 'POST', '/runs/log-parameter', { run_id: runId, key: 'long', value: 'x'.repeat(6001) })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/set-tag', { run_id: runId, key: 'long', value: 'x'.repeat(8001) })).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/experiments/create', { name: 'n'.repeat(501) })).toEqual({ status: 400, body: bad() });
      expect((await api(url, 'POST', '/runs/log-parameter', { run_id: runId, key: 'max', value: 'x'.repeat(6000) })).status).toBe(200);
      const run = await getRun(runId);
      expect(run.data.params).toEqual([{ key: 'max', value: 'x'.repeat(6000) }]);
      expect(run.data.tags.map((t: any) => t.key)).toEqual(['mlflow.runName']);
    });

    test('log_batch limits: 1000 metrics, 100 params/tags, 1 MB', async () => {
      const runId = await newRun();
      const metrics = (n: number) => Array.from({ length: n }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }));
      expect(await api(url, 'POST', '/runs/log-batch', { run_id: runId, metrics: metrics(1001) })).toEqual({ status: 400, body: bad() });
      const params = Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: 'v' }));
      expect(await api(url, 'POST', '/runs/log-batch', { run_id: runId, params })).toEqual({ status: 400, body: bad() });
      const huge = Array.from({ length: 90 }, (_, i) => ({ key: `t${i}`, value: 'x'.repeat(8000) })).concat(
        Array.from({ length: 10 }, (_, i) => ({ key: `u${i}`, value: 'y'.repeat(8000) })),
      );
      expect(
        await api(url, 'POST', '/runs/log-batch', {
          run_id: runId,
          tags: [...huge, ...huge.slice(0, 30).map((t) => ({ ...t, key: `w${t.key}` }))].slice(0, 100),
          params: Array.from({ length: 100 }, (_, i) => ({ key: `q${i}`, value: 'z'.repeat(6000) })),
        }),
      ).toEqual({ status: 400, body: bad() });
      expect((await api(url, 'POST', '/runs/log-batch', { run_id: runId, metrics: metrics(1000) })).status).toBe(200);
      expect((await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'm' })).body.metrics).toHaveLength(1000);
      expect((await getRun(runId)).data.params).toEqual([]);
    });

    test('log_batch is atomic: one bad item or a param conflict stores nothing', async () => {
      const runId = await newRun();
      const metrics = Array.from({ length: 20 }, (_, i) => ({ key: 'acc', value: i / 20, timestamp: 1000 + i, step: i }));
      // Validation failure in the last item.
      expect(
        await api(url, 'POST', '/runs/log-batch', {
          run_id: runId,
          metrics,
          params: [
            { key: 'ok', value: '1' },
            { key: '../bad', value: '2' },
          ],
        }),
      ).toEqual({ status: 400, body: bad() });
      // Failure found inside the transaction (param changed after the metrics would be written).
      expect((await api(url, 'POST', '/runs/log-parameter', { run_id: runId, key: 'lr', value: '0.1' })).status).toBe(200);
      expect(
        await api(url, 'POST', '/runs/log-batch', {
          run_id: runId,
          metrics,
          params: [
            { key: 'other', value: 'x' },
            { key: 'lr', value: '0.2' },
          ],
          tags: [{ key: 't', value: 'v' }],
        }),
      ).toEqual({ status: 400, body: bad() });
      // Duplicate param keys in one batch.
      expect(
        await api(url, 'POST', '/runs/log-batch', {
          run_id: runId,
          params: [
            { key: 'd', value: '1' },
            { key: 'd', value: '1' },
          ],
        }),
      ).toEqual({ status: 400, body: bad() });
      const run = await getRun(runId);
      expect(run.data.metrics).toEqual([]);
      expect(run.data.params).toEqual([{ key: 'lr', value: '0.1' }]);
      expect(run.data.tags.map((t: any) => t.key)).toEqual(['mlflow.runName']);
      expect((await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'acc' })).body.metrics ?? []).toEqual([]);
    });

    test('log_batch is idempotent under retry; same param value is accepted again', async () => {
      const runId = await newRun();
      const batch = {
        run_id: runId,
        metrics: Array.from({ length: 10 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), timestamp: 5000 + i, step: i })),
        params: [{ key: 'lr', value: '0.01' }],
        tags: [{ key: 'phase', value: 'train' }],
      };
      for (let i = 0; i < 3; i++) expect((await api(url, 'POST', '/runs/log-batch', batch)).status).toBe(200);
      const history = await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'loss' });
      expect(history.body.metrics).toHaveLength(10);
      const run = await getRun(runId);
      expect(run.data.metrics).toEqual([{ key: 'loss', value: 0.1, timestamp: 5009, step: 9 }]);
      expect(run.data.params).toEqual([{ key: 'lr', value: '0.01' }]);
    });

    test('a metrics-only batch retried, overlapping earlier points or repeating a point adds each point once', async () => {
      const runId = await newRun();
      const point = (i: number) => ({ key: 'loss', value: 1 / (i + 1), timestamp: 7000 + i, step: i });
      const send = (points: ReturnType<typeof point>[]) => api(url, 'POST', '/runs/log-batch', { run_id: runId, metrics: points });
      const first = Array.from({ length: 10 }, (_, i) => point(i));
      for (let i = 0; i < 3; i++) expect((await send(first)).status).toBe(200);
      // Half already stored, half new; then a batch holding the same new point twice.
      expect((await send(Array.from({ length: 10 }, (_, i) => point(i + 5)))).status).toBe(200);
      expect((await send([point(15), point(15), point(16)])).status).toBe(200);
      const history = await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'loss' });
      expect(history.body.metrics.map((m: { step: number }) => m.step)).toEqual(Array.from({ length: 17 }, (_, i) => i));
      expect((await getRun(runId)).data.metrics).toEqual([point(16)]);
    });

    test('latest metric is the highest step, then timestamp; history pages with opaque tokens', async () => {
      const runId = await newRun();
      await api(url, 'POST', '/runs/log-batch', {
        run_id: runId,
        metrics: [
          { key: 'x', value: 5, timestamp: 10, step: 2 },
          { key: 'x', value: 9, timestamp: 99, step: 1 },
          { key: 'x', value: 7, timestamp: 20, step: 2 },
        ],
      });
      expect((await getRun(runId)).data.metrics).toEqual([{ key: 'x', value: 7, timestamp: 20, step: 2 }]);
      const p1 = await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'x', max_results: 2 });
      expect(p1.body.metrics.map((m: any) => m.value)).toEqual([9, 5]);
      const p2 = await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'x', max_results: 2, page_token: p1.body.next_page_token });
      expect(p2.body.metrics.map((m: any) => m.value)).toEqual([7]);
      expect(p2.body.next_page_token).toBeUndefined();
      expect(await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'x', page_token: 'not-a-token' })).toEqual({
        status: 400,
        body: bad(),
      });
    });

    test('deleted runs refuse writes; restore re-enables them; run name follows mlflow.runName', async () => {
      const runId = await newRun([{ key: 'mlflow.runName', value: 'first' }]);
      expect((await getRun(runId)).info.run_name).toBe('first');
      await api(url, 'POST', '/runs/set-tag', { run_id: runId, key: 'mlflow.runName', value: 'second' });
      expect((await getRun(runId)).info.run_name).toBe('second');
      const updated = await api(url, 'POST', '/runs/update', { run_id: runId, status: 'FINISHED', end_time: 123, run_name: 'third' });
      expect(updated.body.run_info).toMatchObject({ run_name: 'third', status: 'FINISHED', end_time: 123 });
      expect((await api(url, 'POST', '/runs/delete', { run_id: runId })).status).toBe(200);
      expect(await api(url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 })).toEqual({ status: 400, body: bad() });
      expect((await getRun(runId)).info.lifecycle_stage).toBe('deleted');
      expect((await api(url, 'POST', '/runs/restore', { run_id: runId })).status).toBe(200);
      expect((await api(url, 'POST', '/runs/log-metric', { run_id: runId, key: 'm', value: 1, timestamp: 1 })).status).toBe(200);
      expect(await api(url, 'POST', '/runs/delete-tag', { run_id: runId, key: 'missing' })).toEqual({ status: 404, body: bad('RESOURCE_DOES_NOT_EXIST') });
    });

    test('a metrics-only log-batch to a deleted or unknown run writes nothing (PostgreSQL does it in one statement)', async () => {
      const runId = await newRun();
      const batch = (id: string) => ({ run_id: id, metrics: [1, 2, 3].map((step) => ({ key: 'loss', value: 1 / step, timestamp: 10 + step, step })) });
      expect((await api(url, 'POST', '/runs/delete', { run_id: runId })).status).toBe(200);
      expect(await api(url, 'POST', '/runs/log-batch', batch(runId))).toEqual({ status: 400, body: bad() });
      expect(await api(url, 'POST', '/runs/log-batch', batch('0'.repeat(32)))).toEqual({ status: 404, body: bad('RESOURCE_DOES_NOT_EXIST') });
      expect((await api(url, 'POST', '/runs/restore', { run_id: runId })).status).toBe(200);
      expect((await getRun(runId)).data.metrics).toEqual([]);
      expect((await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'loss' })).body.metrics ?? []).toEqual([]);
      expect((await api(url, 'POST', '/runs/log-batch', batch(runId))).status).toBe(200);
      expect((await getRun(runId)).data.metrics).toEqual([{ key: 'loss', value: 1 / 3, timestamp: 13, step: 3 }]);
      expect((await api(url, 'GET', '/metrics/get-history', { run_id: runId, metric_key: 'loss' })).body.metrics).toHaveLength(3);
    });

    test('log-inputs and outputs appear on the run', async () => {
      const runId = await newRun();
      const dataset = { name: 'iris', digest: 'abc123', source_type: 'local', source: '{"uri": "/data/iris.csv"}', schema: '{}' };
      const r = await api(url, 'POST', '/runs/log-inputs', {
        run_id: runId,
        datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset }],
      });
      expect(r.status).toBe(200);
      // Logged twice (client retry): still one input.
      await api(url, 'POST', '/runs/log-inputs', { run_id: runId, datasets: [{ tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset }] });
      await api(url, 'POST', '/runs/outputs', { run_id: runId, models: [{ model_id: 'm-123', step: 4 }] });
      const run = await getRun(runId);
      expect(run.inputs.dataset_inputs).toEqual([{ tags: [{ key: 'mlflow.data.context', value: 'training' }], dataset }]);
      expect(run.outputs.model_outputs).toEqual([{ model_id: 'm-123', step: 4 }]);
      const search = await api(url, 'POST', '/runs/search', {
        experiment_ids: [experimentId],
        filter: "dataset.name = 'iris' AND dataset.context = 'training'",
      });
      expect(search.body.runs.map((x: any) => x.info.run_id)).toEqual([runId]);
    });

    describe('search_runs', () => {
      let expId: string;
      const ids: string[] = [];
      beforeAll(async () => {
        expId = (await api(url, 'POST', '/experiments/create', { name: 'search-dsl' })).body.experiment_id;
        for (let i = 0; i < 6; i++) {
          const r = await api(url, 'POST', '/runs/create', {
            experiment_id: expId,
            run_name: `run-${i}`,
            start_time: 1000 + i,
            user_id: i % 2 ? 'alice' : 'bob',
          });
          const id = r.body.run.info.run_id;
          ids.push(id);
          await api(url, 'POST', '/runs/log-batch', {
            run_id: id,
            metrics: [{ key: 'acc', value: i / 10, timestamp: 1, step: 0 }, ...(i === 5 ? [{ key: 'nan metric', value: 'NaN', timestamp: 1, step: 0 }] : [])],
            params: [{ key: 'lr', value: i < 3 ? '0.01' : '0.1' }],
            tags: [{ key: 'team name', value: i % 2 ? 'Vision' : 'nlp' }],
          });
        }
      });
      const search = (body: object) => api(url, 'POST', '/runs/search', { experiment_ids: [expId], ...body });
      const names = (r: any) => (r.body.runs ?? []).map((x: any) => x.info.run_name);

      test('metric + param filters, backticks, LIKE/ILIKE, IN, attributes and ordering', async () => {
        expect(names(await search({ filter: "metrics.acc > 0.15 and params.lr = '0.01'" }))).toEqual(['run-2']);
        expect(names(await search({ filter: "tags.`team name` LIKE 'V%'", order_by: ['attributes.start_time ASC'] }))).toEqual(['run-1', 'run-3', 'run-5']);
        expect(names(await search({ filter: "tags.`team name` LIKE 'v%'" }))).toEqual([]);
        expect(names(await search({ filter: "tags.`team name` ILIKE 'v%'" }))).toHaveLength(3);
        expect(names(await search({ filter: `attributes.run_id IN ('${ids[0]}', '${ids[4]}')`, order_by: ['metrics.acc DESC'] }))).toEqual(['run-4', 'run-0']);
        expect(names(await search({ filter: "attributes.user_id = 'alice' AND metrics.acc >= 0.3", order_by: ['metrics.acc ASC'] }))).toEqual([
          'run-3',
          'run-5',
        ]);
        expect(names(await search({ filter: "params.lr != '0.01' AND attributes.start_time < 1005" }))).toEqual(['run-4', 'run-3']);
        expect(names(await search({ filter: 'metrics.`nan metric` > -1' }))).toEqual([]);
        expect(names(await search({ filter: 'params.missing IS NULL', max_results: 2 }))).toEqual(['run-5', 'run-4']);
        expect(names(await search({ order_by: ['params.lr DESC', 'metrics.acc ASC'] }))).toEqual(['run-3', 'run-4', 'run-5', 'run-0', 'run-1', 'run-2']);
      });

      test('pages with opaque tokens until exhausted', async () => {
        const seen: string[] = [];
        let token: string | undefined;
        do {
          const r = await search({ max_results: 4, ...(token ? { page_token: token } : {}) });
          seen.push(...names(r));
          token = r.body.next_page_token;
        } while (token);
        expect(seen).toEqual(['run-5', 'run-4', 'run-3', 'run-2', 'run-1', 'run-0']);
      });

      test('SQL in filter strings is data, never code', async () => {
        const injections = [
          "params.lr = '0.01'' OR ''1''=''1'",
          "params.lr = '0.01; DROP TABLE runs; --'",
          "tags.`x'; DELETE FROM runs; --` = 'v'",
          'metrics.`acc) OR (1=1` > 0',
        ];
        for (const filter of injections) {
          const r = await search({ filter });
          expect(r.status).toBe(200);
          expect(names(r)).toEqual([]);
        }
        for (const filter of [
          "params.lr = '0.01' OR 1=1",
          'params.lr = 0.01; DROP TABLE runs',
          "metrics.acc > '1' UNION SELECT * FROM params",
          "attributes.run_id IN ('a') OR 1=1",
          "params.lr = '0.01",
        ]) {
          expect(await search({ filter })).toEqual({ status: 400, body: bad() });
        }
        for (const order of ['metrics.acc; DROP TABLE runs', 'attributes.nope DESC', 'metrics.acc SIDEWAYS']) {
          expect(await search({ order_by: [order] })).toEqual({ status: 400, body: bad() });
        }
        expect(await search({ max_results: 50001 })).toEqual({ status: 400, body: bad() });
        expect(await search({ page_token: 'garbage' })).toEqual({ status: 400, body: bad() });
        expect(await search({ experiment_ids: ["1' OR '1'='1"] })).toEqual({ status: 400, body: bad() });
        // Every run is still there.
        expect(names(await search({}))).toHaveLength(6);
      });
    });

    describe('proxied artifacts', () => {
      const artifactsRoot = () => path.join(server.dir, 'artifacts');
      test('PUT, GET, list and DELETE stream through to the destination', async () => {
        // The proxy acts inside a run's (or logged model's) artifact directory only.
        const r1 = await newRun();
        const runDir = `${experimentId}/${r1}/artifacts`;
        const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
        const put = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${runDir}/data/model.json`, {
          method: 'PUT',
          body: payload,
          headers: { 'content-type': 'application/json' },
        });
        expect(put.status).toBe(200);
        expect(fs.readFileSync(path.join(artifactsRoot(), `${runDir}/data/model.json`))).toEqual(payload);
        const got = await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${runDir}/data/model.json`);
        expect(Buffer.from(await got.arrayBuffer())).toEqual(payload);
        const list = await api(url, 'GET', '/artifacts', { path: `${runDir}/data` }, '/api/2.0/mlflow-artifacts');
        expect(list.body.files).toEqual([{ path: 'model.json', is_dir: false, file_size: payload.length }]);
        expect((await fetch(`${url}/api/2.0/mlflow-artifacts/artifacts/${runDir}/data`, { method: 'DELETE' })).status).toBe(200);
        expect(fs.existsSync(path.join(artifactsRoot(), runDir, 'data'))).toBe(false);
        expect(await api(url, 'GET', `/artifacts/${runDir}/data/model.json`, undefined, '/api/2.0/mlflow-artifacts')).toEqual({
          status: 404,
          body: bad('RESOURCE_DOES_NOT_EXIST'),
        });
      });

      test('path traversal (.., absolute, encoded, backslash) is 400 and writes nothing outside the root', async () => {
        const attempts = [
          '/api/2.0/mlflow-artifacts/artifacts/../../escape.txt',
          '/api/2.0/mlflow-artifacts/artifacts/a/../../escape.txt',
          '/api/2.0/mlflow-artifacts/artifacts/%2e%2e/%2e%2e/escape.txt',
          '/api/2.0/mlflow-artifacts/artifacts/a%2f..%2f..%2fescape.txt',
          '/api/2.0/mlflow-artifacts/artifacts/%252e%252e%252fescape.txt',
          '/api/2.0/mlflow-artifacts/artifacts//etc/escape.txt',
          '/api/2.0/mlflow-artifacts/artifacts/%2Fetc%2Fescape.txt',
          '/api/2.0/mlflow-artifacts/artifacts/a%5C..%5C..%5Cescape.txt',
          '/api/2.0/mlflow-artifacts/artifacts/C:%5Cescape.txt',
        ];
        for (const p of attempts) {
          for (const method of ['PUT', 'GET', 'DELETE']) {
            const r = await rawRequest(url, method, p, method === 'PUT' ? 'pwned' : undefined);
            expect({ p, method, ...r }).toEqual({ p, method, status: 400, body: bad() });
          }
        }
        expect((await rawRequest(url, 'GET', '/api/2.0/mlflow-artifacts/artifacts?path=../..')).status).toBe(400);
        const runId = await newRun();
        expect((await rawRequest(url, 'GET', `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=..%2F..%2F`)).status).toBe(400);
        expect(fs.existsSync(path.join(server.dir, 'escape.txt'))).toBe(false);
        expect(fs.existsSync(path.join(path.dirname(server.dir), 'escape.txt'))).toBe(false);
        expect(fs.existsSync('/etc/escape.txt')).toBe(false);
      });
    });
  });
}

describe('--no-serve-artifacts', () => {
  let server: TestServer;
  let root: string;
  beforeAll(async () => {
    server = await startTestServer('sqlite', { serveArtifacts: false });
    root = path.join(server.dir, 'direct');
  });
  afterAll(() => {
    fs.rmSync(server.dir, { recursive: true, force: true });
  });

  test('runs get direct artifact URIs, artifacts/list reads them, the proxy is not mounted', async () => {
    await server.close();
    const { startTrackingServer } = await import('../../runtime/tracking');
    const direct = await startTrackingServer({
      port: 0,
      backendStoreUri: server.backendStoreUri,
      serveArtifacts: false,
      defaultArtifactRoot: `file://${root}`,
      logger: false,
    });
    try {
      const exp = (await api(direct.url, 'POST', '/experiments/create', { name: 'direct' })).body.experiment_id;
      const run = (await api(direct.url, 'POST', '/runs/create', { experiment_id: exp })).body.run.info;
      expect(run.artifact_uri).toBe(`file://${root}/${exp}/${run.run_id}/artifacts`);
      const dir = path.join(root, exp, run.run_id, 'artifacts', 'model');
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'MLmodel'), 'flavors: {}\n');
      const list = await api(direct.url, 'GET', '/artifacts/list', { run_id: run.run_id, path: 'model' });
      expect(list.body).toEqual({ root_uri: run.artifact_uri, files: [{ path: 'model/MLmodel', is_dir: false, file_size: 12 }] });
      const proxy = await api(direct.url, 'GET', '/artifacts', { path: '' }, '/api/2.0/mlflow-artifacts');
      expect(proxy).toEqual({ status: 404, body: bad('ENDPOINT_NOT_FOUND') });
    } finally {
      await direct.close();
    }
  });
});
