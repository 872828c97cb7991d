import * as path from 'node:path';
import { describeWithTool } from '../helpers/tools';
import { mlflowClients, runPython, startTestServer, storeAvailability, storeKinds, tmpDir, type TestServer } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * The official MLflow Python client (3.x and 2.x), unchanged, runs a training-style script against the
 * real server on each store; we assert on what the client reads back.
 */
for (const kind of storeKinds()) {
  describeWithTool(`tracking server with the ${kind} store`, storeAvailability(kind), () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(kind);
    });
    afterAll(async () => ifStarted(server)?.stop());

    for (const client of mlflowClients) {
      describeWithTool(client.name, client.availability, () => {
        test('a training script logs, searches and reads back everything', async () => {
          const work = tmpDir('client');
          const out = await runPython(client.python, 'client_workflow.py', [server.url, `exp-${client.name.replace(/\W+/g, '-')}`, work]);

          expect(out.mlflow_version.startsWith(client.name.includes('3.x') ? '3.' : '2.')).toBe(true);
          expect(out.run_name).toBe('train-1');
          expect(out.status).toBe('FINISHED');
          expect(out.end_time_set).toBe(true);
          expect(out.artifact_uri).toBe(`mlflow-artifacts:/${out.experiment_id}/${out.run_id}/artifacts`);
          expect(out.params).toEqual({ lr: '0.01', epochs: '5', optimizer: 'adam', batch_param: 'x' });
          expect(out.metrics).toEqual({ loss: 0.2, accuracy: 0.93, f1: 0.9, weird: 'NaN', big: 'Infinity', batch_metric: 49 });
          expect(out.tags).toMatchObject({ 'mlflow.runName': 'train-1', team: 'ml-platform', stage: 'dev', batch_tag: 'y' });
          expect(out.loss_history).toEqual([
            [0, 1],
            [1, 0.5],
            [2, 1 / 3],
            [3, 0.25],
            [4, 0.2],
          ]);
          expect(out.batch_history_len).toBe(50);
          expect(out.found).toEqual([out.run_id]);
          expect(out.ordered_names).toEqual(['train-1', 'train-2']);
          expect(out.like).toEqual(['train-1']);
          expect(out.paged).toEqual([1, true, 1, true]);
          expect(out.top_level).toEqual(['model.json', 'plots']);
          expect(out.plots).toEqual([
            ['plots/big.bin', false, 3 * 1024 * 1024],
            ['plots/loss.txt', false, 1100],
          ]);
          expect(out.big_ok).toBe(true);
          expect(out.model_json).toEqual({ weights: [0.1, 0.2, 0.3] });
          expect(out.param_change_error).toBe('INVALID_PARAMETER_VALUE');
          expect(out.missing_run_error).toBe('RESOURCE_DOES_NOT_EXIST');
          expect(out.active_after_delete).toBe(1);
          // The artifact really landed in the destination directory, not elsewhere.
          expect(path.isAbsolute(server.dir)).toBe(true);
        });
      });
    }
  });
}
