import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { KUBE_SCORE_IGNORE } from '../core/annotations';
import { k8s, standardLabels } from './common';

export interface NamespacesProps {
  readonly env: EnvironmentConfig;
  /** Total CPU requests allowed per namespace. @default "16" */
  readonly cpuRequestsQuota?: string;
  /** Total memory requests allowed per namespace. @default "64Gi" */
  readonly memoryRequestsQuota?: string;
  /** Default container requests/limits for containers that omit them. @default 100m/128Mi request, 512Mi limit */
  readonly defaultRequest?: { cpu: string; memory: string };
  readonly defaultMemoryLimit?: string;
}

/**
 * The platform namespaces with Pod Security Admission `restricted` enforced, a ResourceQuota and a
 * LimitRange each, and the default-deny NetworkPolicy (ingress and egress) plus DNS egress: every
 * other flow must be allowed explicitly by the part that needs it.
 */
export class Namespaces extends Construct {
  readonly names: string[];
  /** The namespace-wide policies (default deny, DNS egress) of each namespace, by namespace name. */
  readonly namespacePolicies: Record<string, k8s.KubeNetworkPolicy[]> = {};

  constructor(scope: Construct, id: string, props: NamespacesProps) {
    super(scope, id);
    const { env } = props;
    this.names = [env.namespaces.platform, env.namespaces.training, env.namespaces.serving];
    for (const ns of this.names) {
      const labels = standardLabels(env, ns, 'namespace');
      new k8s.KubeNamespace(this, `ns-${ns}`, {
        metadata: {
          name: ns,
          labels: {
            ...labels,
            'kubernetes.io/metadata.name': ns,
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/audit': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
          },
        },
      });
      new k8s.KubeResourceQuota(this, `quota-${ns}`, {
        metadata: { name: 'compute-quota', namespace: ns, labels: standardLabels(env, 'compute-quota', 'namespace') },
        spec: {
          hard: {
            'requests.cpu': k8s.Quantity.fromString(props.cpuRequestsQuota ?? '16'),
            'requests.memory': k8s.Quantity.fromString(props.memoryRequestsQuota ?? '64Gi'),
          },
        },
      });
      const req = props.defaultRequest ?? { cpu: '100m', memory: '128Mi' };
      new k8s.KubeLimitRange(this, `limits-${ns}`, {
        metadata: { name: 'container-defaults', namespace: ns, labels: standardLabels(env, 'container-defaults', 'namespace') },
        spec: {
          limits: [
            {
              type: 'Container',
              defaultRequest: { cpu: k8s.Quantity.fromString(req.cpu), memory: k8s.Quantity.fromString(req.memory) },
              default: { memory: k8s.Quantity.fromString(props.defaultMemoryLimit ?? '512Mi') },
            },
          ],
        },
      });
      const deny = new k8s.KubeNetworkPolicy(this, `deny-${ns}`, {
        metadata: { name: 'default-deny-all', namespace: ns, labels: standardLabels(env, 'default-deny-all', 'network-policy') },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      });
      const dns = new k8s.KubeNetworkPolicy(this, `dns-${ns}`, {
        metadata: { name: 'allow-dns-egress', namespace: ns, labels: standardLabels(env, 'allow-dns-egress', 'network-policy') },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            {
              to: [
                {
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
                },
              ],
              ports: [
                { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
                { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
              ],
            },
          ],
        },
      });
      this.namespacePolicies[ns] = [deny, dns];
    }
  }

  /**
   * Marks the namespace-wide policies of namespaces that hold no pods in this environment's manifests
   * (e.g. training without a retraining schedule: engineers start Jobs there later), so kube-score's
   * "policy targets no pod" check skips them; the policies still apply to every pod started there.
   */
  markEmpty(namespace: string): void {
    for (const p of this.namespacePolicies[namespace] ?? []) {
      p.metadata.addAnnotation(KUBE_SCORE_IGNORE, 'networkpolicy-targets-pod');
    }
  }
}
