import type { KubeObject } from '../../policies';
import { podTemplates } from '../../policies/kube/workloads';
import { environmentVariants } from '../../policies/platform';
import { synthEnvironment } from '../../stacks/gitops';
import { describeWithTool } from '../helpers/tools';
import { evaluatePods, PSA_LEVELS, psaChecker, type PsaLevel, type PsaRequest } from '../helpers/psa';

/*
 * Every namespace's Pod Security labels fit the pods the platform puts there, judged by the upstream
 * admission library: each pod passes its namespace's enforce, warn and audit levels (so an apply prints
 * no PodSecurity warning and audit logs no violation), and warn/audit are the strictest level all of the
 * namespace's pods pass (never looser than those pods need).
 */
const checker = psaChecker();

const label = (ns: KubeObject, mode: string): { level: PsaLevel; version: string } => ({
  level: (ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}`] ?? 'privileged') as PsaLevel,
  version: ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}-version`] ?? 'latest',
});

describeWithTool('Pod Security labels against the pods of each namespace (k8s.io/pod-security-admission)', checker.availability, () => {
  test.each(environmentVariants().map((v) => [v.label, v.env] as const))('%s', (_label, env) => {
    const objects = synthEnvironment(env).flatMap((f) => f.objects);
    const namespaces = objects.filter((o) => o.kind === 'Namespace');
    expect(namespaces.length).toBeGreaterThanOrEqual(3);
    const report = namespaces.map((ns) => {
      const pods = podTemplates(objects)
        .filter(({ tpl }) => tpl.namespace === ns.metadata.name)
        .map(({ obj, tpl }) => ({
          ref: `${obj.kind}/${obj.metadata.name}`,
          pod: { metadata: { name: obj.metadata.name, namespace: tpl.namespace, labels: tpl.labels }, spec: tpl.spec },
        }));
      const modes = ['enforce', 'warn', 'audit'].map((m) => ({ mode: m, ...label(ns, m) }));
      const requests: PsaRequest[] = pods.flatMap((p) => [
        ...modes.map((m) => ({ level: m.level, version: m.version, pod: p.pod })),
        ...PSA_LEVELS.map((level) => ({ level, version: 'latest', pod: p.pod })),
      ]);
      const verdicts = evaluatePods(checker.bin!, requests);
      const per = modes.length + PSA_LEVELS.length;
      const refused = pods.flatMap((p, i) =>
        modes
          .filter((_, j) => !verdicts[i * per + j].allowed)
          .map((m) => `${p.ref} refused at ${m.mode}=${m.level}: ${verdicts[i * per + modes.indexOf(m)].forbidden.join('; ')}`),
      );
      // The strictest level every pod of the namespace passes (restricted for a namespace without pods).
      const strictest = PSA_LEVELS.find((_, k) => pods.every((__, i) => verdicts[i * per + modes.length + k].allowed)) ?? 'privileged';
      return { namespace: ns.metadata.name, pods: pods.length, refused, warn: modes[1].level, audit: modes[2].level, strictest };
    });
    for (const r of report) expect(r).toEqual({ ...r, refused: [], warn: r.strictest, audit: r.strictest });
    // The device plugin is the one pod that needs privileged; everything else runs restricted.
    for (const r of report) expect([r.namespace, r.strictest]).toEqual([r.namespace, r.namespace === 'nvidia-device-plugin' ? 'privileged' : 'restricted']);
  });
});
