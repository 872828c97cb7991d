import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../core/kube-objects';
import { writeSynth } from '../../stacks/gitops';
import { describeWithTool } from '../helpers/tools';
import { pinnedEnvironment, testImageLockFile } from '../helpers/image-lock';
import { cacheAvailability } from './cache';
import { startControlPlane, type ControlPlane } from './control-plane';
import { applyFile, installCrds, outputFiles } from './cluster-setup';

/*
 * prod with training.distributed and training.tuning turned on, synthesized as `mlops synth` writes it and
 * applied to a real kube-apiserver with the pinned upstream CRDs (training-operator v1.8.1, Katib v0.19.0):
 * the PyTorchJob and the Experiment are admitted, and read back unchanged — the API server prunes fields its
 * structural schema does not know, so an unchanged spec shows every rendered field is one the CRD has.
 * (No Training Operator or Katib controller runs here: nothing turns these objects into pods.)
 */
const env = pinnedEnvironment('prod', {
  training: {
    distributed: { workers: 4, gpusPerWorker: 1 },
    tuning: {
      objective: { metric: 'auc', type: 'maximize' },
      parameters: [{ name: 'learning-rate', type: 'double', min: 0.05, max: 1 }],
      maxTrials: 6,
      parallelTrials: 2,
    },
  },
});

describeWithTool('prod with distributed training and tuning on a real control plane', cacheAvailability(['kubernetes', 'etcd'], true), () => {
  let cp: ControlPlane | undefined;
  let out: string;
  let objects: KubeObject[];
  const warnings: string[] = [];

  beforeAll(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-synth-kubeflow-'));
    writeSynth([env], out, { imageLock: testImageLockFile() });
    const files = outputFiles(path.join(out, env.name));
    objects = files.flatMap((f) => parseAllDocuments(fs.readFileSync(f, 'utf8'), { version: '1.1' }).map((d) => d.toJSON() as KubeObject));
    const plane = (cp = await startControlPlane());
    await installCrds(plane);
    await plane.kubectl(['create', 'namespace', env.monitoring.prometheusNamespace]);
    for (const f of files) warnings.push(...(await applyFile(plane, f)));
  }, 900_000);
  afterAll(async () => {
    await cp?.stop();
    if (out) fs.rmSync(out, { recursive: true, force: true });
  }, 60_000);

  test.each([
    ['pytorchjobs.kubeflow.org', 'train-churn-distributed', 'PyTorchJob'],
    ['experiments.kubeflow.org', 'tune-churn', 'Experiment'],
  ])(
    '%s/%s is admitted and read back with the spec as rendered',
    async (resource, name, kind) => {
      const rendered = objects.find((o) => o.kind === kind && o.metadata.name === name)!;
      const live = JSON.parse((await (cp as ControlPlane).kubectl(['get', resource, name, '-n', env.namespaces.training, '-o', 'json'])).stdout) as KubeObject;
      expect(live.spec).toEqual(rendered.spec);
      expect(live.metadata.labels).toEqual(rendered.metadata.labels);
    },
    120_000,
  );

  test('no warnings on apply', () => {
    expect(warnings).toEqual([]);
  });
});
