import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { crdSchemaProblems } from '../../constructs/crd-schema';
import type { KubeObject } from '../../core/kube-objects';
import { prod } from '../../environments/prod';
import { synthesize } from '../../testing/synth';
import { env as pinned } from '../constructs/workload-helpers';
import { repoRoot } from '../helpers/cli';
import { commandAvailable, describeWithTool } from '../helpers/tools';

/*
 * The real judge of the KServe objects: the official KServe Python SDK from PyPI
 * (test/inference/python/requirements-kserve.txt, in the .venv-kserve .ci/run creates). Each synthesized
 * InferenceService and ServingRuntime is written as JSON, deserialized into the SDK's models
 * (V1beta1InferenceService, V1alpha1ServingRuntime) and serialized back: a field the models do not know is
 * dropped on the way, so the round trip must equal what was written.
 */

const python = path.join(repoRoot, '.venv-kserve', 'bin', 'python');
const script = path.join(__dirname, 'python', 'kserve_roundtrip.py');
const kserveSdk = fs.existsSync(python)
  ? commandAvailable(python, ['-c', 'import kserve, kubernetes'], 'the KServe Python SDK')
  : { ok: false, reason: `${python} is missing (.ci/run creates it)` };

const SDK_TYPES: Record<string, string> = { InferenceService: 'V1beta1InferenceService', ServingRuntime: 'V1alpha1ServingRuntime' };

interface RoundTrip {
  file: string;
  ok: boolean;
  type?: string;
  roundtrip?: unknown;
  error?: string;
}

/** Round-trips each object through the SDK; results in the objects' order. */
function roundTrip(objects: KubeObject[]): RoundTrip[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kserve-sdk-'));
  const jobs = objects.map((o, i) => {
    const file = path.join(dir, `${i}-${o.kind}-${o.metadata.name}.json`);
    fs.writeFileSync(file, JSON.stringify(o));
    return { file, type: SDK_TYPES[o.kind] };
  });
  const r = spawnSync(python, [script], { input: JSON.stringify(jobs), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`kserve_roundtrip.py failed: ${r.stderr}`);
  const byFile = new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RoundTrip)
      .map((x) => [x.file, x]),
  );
  return jobs.map((j) => byFile.get(j.file) ?? { file: j.file, ok: false, error: 'no result' });
}

const kserveObjects = (objects: KubeObject[]) => objects.filter((o) => o.apiVersion.startsWith('serving.kserve.io/'));

describeWithTool('KServe objects round-trip through the official KServe Python SDK', kserveSdk, () => {
  // prod (a canary, a GPU model) and dev (one small model, given a canary), both with KServe delivery.
  const environments = [
    pinned('prod', {
      inference: {
        ...prod.inference,
        delivery: 'kserve',
        models: (prod.inference.models ?? []).map((m) => ({ ...m, autoscaling: { ...m.autoscaling, targetRequestsInFlight: undefined } })),
      },
    }),
    pinned('dev', { inference: { delivery: 'kserve' } }),
  ];
  const objects = environments.flatMap((e) => kserveObjects(synthesize(e).objects));

  it('synthesizes the objects to judge: a ServingRuntime per environment and an InferenceService per model, one with a canary', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(['InferenceService', 'InferenceService', 'InferenceService', 'ServingRuntime', 'ServingRuntime']);
    expect(objects.some((o) => Array.isArray((o.spec as { canary?: unknown }).canary))).toBe(true);
  });

  it('every field of every object survives the SDK’s models', () => {
    const results = roundTrip(objects);
    results.forEach((r, i) => {
      expect({ file: r.file, ok: r.ok, error: r.error }).toEqual({ file: r.file, ok: true, error: undefined });
      expect(r.type).toBe(SDK_TYPES[objects[i].kind]);
      expect(r.roundtrip).toEqual(objects[i]);
    });
  });

  it('a misspelled field is dropped by the SDK (so the round trip differs) and refused by synth’s derived schema', () => {
    const isvc = structuredClone(objects.find((o) => o.kind === 'InferenceService')) as any;
    isvc.spec.predictor.model.protocolVersoin = 'v2';
    const runtime = structuredClone(objects.find((o) => o.kind === 'ServingRuntime')) as any;
    runtime.spec.containers[0].securityContex = { runAsNonRoot: true };
    const [a, b] = roundTrip([isvc, runtime]);
    expect(a.ok && b.ok).toBe(true);
    expect((a.roundtrip as any).spec.predictor.model.protocolVersoin).toBeUndefined();
    expect(a.roundtrip).not.toEqual(isvc);
    expect((b.roundtrip as any).spec.containers[0].securityContex).toBeUndefined();
    expect(crdSchemaProblems(isvc)).toEqual(['/spec/predictor/model: must NOT have additional properties "protocolVersoin"']);
    expect(crdSchemaProblems(runtime)).toEqual(['/spec/containers/0: must NOT have additional properties "securityContex"']);
  });

  it('a value of the wrong type is refused by the SDK and by synth’s derived schema', () => {
    const isvc = structuredClone(objects.find((o) => o.kind === 'InferenceService')) as any;
    isvc.spec.predictor.minReplicas = 'two';
    const [r] = roundTrip([isvc]);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^ValueError: invalid literal for int\(\)/);
    expect(crdSchemaProblems(isvc)).toEqual(['/spec/predictor/minReplicas: must be integer']);
  });

  it('synth’s schemas are what scripts/import-kserve-schema.py derives from the pinned SDK', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kserve-schema-'));
    const r = spawnSync(python, [path.join(repoRoot, 'scripts', 'import-kserve-schema.py'), dir], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    for (const f of ['serving.kserve.io_v1beta1_InferenceService.json', 'serving.kserve.io_v1alpha1_ServingRuntime.json'])
      expect(fs.readFileSync(path.join(dir, f), 'utf8')).toBe(fs.readFileSync(path.join(repoRoot, 'constructs', 'imports', 'schemas', f), 'utf8'));
  });
});
