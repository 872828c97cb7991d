import { describeWithTool } from '../helpers/tools';
import { runPython, storeAvailability, storeKinds, tracingClients } from '../tracking/helpers';
import { ADMIN, as, createUser, startAuthServer, type AuthTestServer, type Credentials } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * MLflow 3 traces under `--app-name basic-auth` (issue 15 item 4): the official client traces with
 * credentials, and every trace route follows the permission of the trace's experiment.
 */
const V3 = '/api/3.0/mlflow';

function startBody(experimentId: string, id: string) {
  return {
    trace: {
      trace_info: {
        trace_id: id,
        trace_location: { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
        request_time: '2025-03-04T05:06:07Z',
        state: 'OK',
      },
    },
  };
}

for (const kind of storeKinds()) {
  describeWithTool(`traces under basic-auth on the ${kind} store`, storeAvailability(kind), () => {
    let server: AuthTestServer;
    let alice: Credentials;
    let bob: Credentials;
    let carol: Credentials;
    let exp: string;
    const id = 'tr-0123456789abcdef0123456789abcdef';
    beforeAll(async () => {
      server = await startAuthServer(kind);
      [alice, bob, carol] = [await createUser(server, 'alice'), await createUser(server, 'bob'), await createUser(server, 'carol')];
      exp = (await as(server, alice)('POST', '/experiments/create', { name: 'alice-traces' })).body.experiment_id;
      await as(server, ADMIN)('POST', '/experiments/permissions/create', { experiment_id: exp, username: carol.username, permission: 'NO_PERMISSIONS' });
      expect((await as(server, alice)('POST', '/traces', startBody(exp, id), V3)).status).toBe(200);
    });
    afterAll(async () => ifStarted(server)?.stop());

    for (const client of tracingClients)
      describeWithTool(client.name, client.availability, () => {
        test('the tracing script runs unchanged with MLFLOW_TRACKING_USERNAME/PASSWORD', async () => {
          const out = await runPython(client.python, 'tracing_workflow.py', [server.url, `traced-auth-${kind}-${client.tag}`], {
            MLFLOW_TRACKING_USERNAME: alice.username,
            MLFLOW_TRACKING_PASSWORD: alice.password,
          });
          expect(out.count).toBe(5);
          expect(out.span_names).toEqual(['agent', 'format', 'lookup', 'summarize']);
          expect(out.spans.format.parent).toBe('summarize');
          if (!client.early) {
            expect(out.assessed.after_delete).toEqual([
              ['expected', null],
              ['helpful', true],
            ]);
          }
          expect(out.linked_count).toBe(client.early ? 1 : 2);
          expect([out.deleted_by_id, out.deleted_by_time, out.remaining]).toEqual([1, 2, 2]);
        });
      });

    test('anonymous calls are 401, server-info included', async () => {
      expect((await as(server, null)('POST', '/traces/search', { experiment_ids: [exp] }, V3)).status).toBe(401);
      expect((await as(server, null)('GET', '/server-info', undefined, V3)).status).toBe(401);
      expect((await as(server, alice)('GET', '/server-info', undefined, V3)).status).toBe(200);
    });

    test('READ (the default) reads traces but cannot write them', async () => {
      const bobCalls = as(server, bob);
      expect((await bobCalls('GET', `/traces/${id}`, undefined, V3)).status).toBe(200);
      expect(
        (await bobCalls('POST', '/traces/search', { locations: [{ type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: exp } }] }, V3)).status,
      ).toBe(200);
      expect((await bobCalls('POST', '/traces/batchGetInfos', { trace_ids: [id] }, V3)).status).toBe(200);
      expect((await bobCalls('POST', '/traces', startBody(exp, 'tr-bob'), V3)).status).toBe(403);
      expect((await bobCalls('PATCH', `/traces/${id}/tags`, { key: 'k', value: 'v' }, V3)).status).toBe(403);
      expect((await bobCalls('PATCH', `/traces/${id}/tags`, { key: 'k', value: 'v' })).status).toBe(403);
      expect((await bobCalls('POST', `/traces/${id}/assessments`, { assessment: { assessment_name: 'a', feedback: { value: 1 } } }, V3)).status).toBe(403);
      expect((await bobCalls('POST', '/traces/delete-traces', { experiment_id: exp, request_ids: [id] })).status).toBe(403);
      expect((await bobCalls('POST', '/traces/delete-traces', { experiment_id: exp, request_ids: [id] }, V3)).status).toBe(403);
      // The v2 API (2.x and 3.1 clients) under the same rules; a body naming two experiments needs both.
      expect((await bobCalls('POST', '/traces', { experiment_id: exp, timestamp_ms: 1 })).status).toBe(403);
      expect((await bobCalls('GET', '/traces', { experiment_ids: [exp] })).status).toBe(200);
      expect((await bobCalls('GET', `/traces/${id}/info`)).status).toBe(200);
      expect((await bobCalls('PATCH', `/traces/${id}`, { timestamp_ms: 2, status: 'ERROR' })).status).toBe(403);
      // A trace id already in alice's experiment cannot be re-sent into bob's own experiment to rewrite it.
      const bobExp = (await bobCalls('POST', '/experiments/create', { name: 'bob-traces' })).body.experiment_id;
      expect((await bobCalls('POST', '/traces', startBody(bobExp, id), V3)).status).toBe(403);
      expect((await bobCalls('POST', '/traces', startBody(bobExp, 'tr-bob-own'), V3)).status).toBe(200);
      expect((await bobCalls('POST', '/traces', { ...startBody(bobExp, 'tr-bob-mixed'), experiment_id: exp, timestamp_ms: 1 })).status).toBe(403);
      expect((await bobCalls('POST', '/traces', { ...startBody(bobExp, 'tr-bob-mixed'), experiment_id: exp, timestamp_ms: 1 }, V3)).status).toBe(403);
      expect((await as(server, alice)('GET', `/traces/${id}`, undefined, V3)).body.trace.trace_info.tags).not.toHaveProperty('k');
    });

    test('NO_PERMISSIONS on the experiment hides its traces on every route', async () => {
      const carolCalls = as(server, carol);
      expect((await carolCalls('GET', `/traces/${id}`, undefined, V3)).status).toBe(403);
      expect((await carolCalls('POST', '/traces/search', { experiment_ids: [exp] }, V3)).status).toBe(403);
      expect((await carolCalls('POST', '/traces/batchGetInfos', { trace_ids: [id] }, V3)).status).toBe(403);
      expect((await carolCalls('GET', `/traces/${id}/assessments/a-00000000000000000000000000000000`, undefined, V3)).status).toBe(403);
      expect((await carolCalls('GET', `/traces/${id}`, undefined, '/ajax-api/3.0/mlflow')).status).toBe(403);
      expect((await carolCalls('GET', '/traces', { experiment_ids: [exp] })).status).toBe(403);
      expect((await carolCalls('GET', `/traces/${id}/info`)).status).toBe(403);
    });
  });
}
