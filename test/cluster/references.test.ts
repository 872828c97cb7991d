import { loadEnvironment } from '../../environments';
import { synthEnvironment } from '../../stacks/gitops';
import type { KubeObject } from '../../policies/types';
import { providedObjects, unresolvedReferences } from './references';
import { startupOrderProblems } from './startup-order';

// The checks the control-plane suites rely on for what kwok does not read: each must catch a broken reference.
const env = loadEnvironment('dev');
const objects = () => JSON.parse(JSON.stringify(synthEnvironment(env).flatMap((f) => f.objects))) as Array<KubeObject & { spec: any }>;
const tracking = (o: Array<KubeObject & { spec: any }>) => o.find((x) => x.kind === 'Deployment' && x.metadata.name === 'tracking')!.spec.template.spec;

describe('reference check (what kwok does not read)', () => {
  test('a Secret key nobody provides, a missing ConfigMap and a missing ServiceAccount are each reported', () => {
    const o = objects();
    const pod = tracking(o);
    pod.containers[0].env.find((e: any) => e.valueFrom?.secretKeyRef).valueFrom.secretKeyRef.key = 'no-such-key';
    pod.volumes.push({ name: 'cfg', configMap: { name: 'not-in-output' } });
    pod.serviceAccountName = 'ghost';
    const problems = unresolvedReferences(o, providedObjects(o, env, 'pulumi'));
    expect(problems).toEqual([
      expect.stringMatching(/serviceAccountName: ServiceAccount mlops-platform\/ghost is neither in the output nor a declared prerequisite/),
      expect.stringMatching(/volume cfg: ConfigMap mlops-platform\/not-in-output is neither/),
      expect.stringMatching(/has no key "no-such-key"/),
    ]);
  });

  test('Pulumi-made Secrets count only where Pulumi makes them', () => {
    const o = objects();
    expect(unresolvedReferences(o, providedObjects(o, env, 'pulumi'))).toEqual([]);
    expect(unresolvedReferences(o, providedObjects(o, env, 'external-secrets')).length).toBeGreaterThan(0);
  });

  test('start-up order: a server that migrates at start, or a Job that never retries, is reported', () => {
    const o = objects();
    tracking(o).containers[0].args.push('--upgrade-db');
    o.find((x) => x.kind === 'Job' && x.metadata.name.startsWith('tracking-db-upgrade-'))!.spec.backoffLimit = 0;
    expect(startupOrderProblems(o)).toEqual([expect.stringMatching(/--upgrade-db/), expect.stringMatching(/backoffLimit 0/)]);
  });
});
