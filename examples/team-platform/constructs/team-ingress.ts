import { k8s, standardLabels, TRACKING_NAME, TRACKING_PORT } from 'mlops-blueprint/constructs';
import type { PlatformExtension } from 'mlops-blueprint/synth';
import type { KubeRule } from 'mlops-blueprint/policies';

/** Every Ingress of the team names its owner (a team rule, checked with the blueprint's own). */
export const ownerRule: KubeRule = {
  id: 'team-ingress-owner',
  severity: 'error',
  description: 'Ingresses carry a team.example.com/owner annotation',
  remediation: 'Annotate the Ingress with team.example.com/owner: <team>.',
  check: (obj) =>
    obj.kind === 'Ingress' && !obj.metadata.annotations?.['team.example.com/owner']
      ? [{ field: 'metadata.annotations', message: `Ingress "${obj.metadata.name}" names no owner` }]
      : [],
};

/**
 * The team's own Ingress: the tracking server under the team's host, behind the same basic auth as the
 * platform's edge. The blueprint's own Ingresses are owned by the platform team (the exceptions say so).
 */
export function teamIngress(host: string, owner: string): PlatformExtension {
  return {
    part: 'team-ingress',
    construct: ({ chart, env, facts }) => {
      new k8s.KubeIngress(chart, 'ingress', {
        metadata: {
          name: 'team-tracking',
          namespace: env.namespaces.platform,
          labels: standardLabels(env, 'team-tracking', 'ingress'),
          annotations: {
            'team.example.com/owner': owner,
            'team.example.com/platform-url': facts.endpoints.tracking,
            'nginx.ingress.kubernetes.io/auth-type': 'basic',
            'nginx.ingress.kubernetes.io/auth-secret': 'ingress-basic-auth',
          },
        },
        spec: {
          ingressClassName: env.ingress.className,
          rules: [
            { host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: TRACKING_NAME, port: { number: TRACKING_PORT } } } }] } },
          ],
        },
      });
    },
    rules: [ownerRule],
    exceptions: ['tracking', 'inference'].map((name) => ({
      rule: ownerRule.id,
      object: `Ingress/${name === 'tracking' ? 'mlops-platform' : 'ml-serving'}/${name}`,
      reason: 'a blueprint Ingress: owned by the platform team',
    })),
  };
}

/** The team's extensions, as every stage (synth, Pulumi, tests) takes them. */
export const extensions: PlatformExtension[] = [teamIngress('tracking.team.127.0.0.1.nip.io', 'team-ml')];
