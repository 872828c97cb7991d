import { Construct } from 'constructs';
import { customObject, standardLabels, type PlatformContext } from './common';

export interface ArgoCdApplicationProps {
  readonly ctx: PlatformContext;
  /** Destination cluster API. @default https://kubernetes.default.svc (the cluster Argo CD runs in) */
  readonly destinationServer?: string;
}

/**
 * The Argo CD Application that syncs this environment's synthesized directory (`gitops.path` in
 * `gitops.repoURL`). Not recursive: the Application itself is written to `argocd/` under that directory,
 * so it is applied once by hand (or by an app-of-apps) and never manages itself.
 */
export class ArgoCdApplication extends Construct {
  constructor(scope: Construct, id: string, props: ArgoCdApplicationProps) {
    super(scope, id);
    const { env } = props.ctx;
    const g = env.gitops;
    if (!g) throw new Error(`environment "${env.name}": an Argo CD Application needs gitops settings in the environment`);
    const name = `mlops-${env.name}`;
    customObject(this, 'application', {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name, namespace: g.argocdNamespace, labels: standardLabels(env, name, 'gitops') },
      spec: {
        project: g.project,
        source: { repoURL: g.repoURL, targetRevision: g.targetRevision, path: g.path, directory: { recurse: false } },
        destination: { server: props.destinationServer ?? 'https://kubernetes.default.svc', namespace: env.namespaces.platform },
        syncPolicy: {
          ...(g.automatedSync ? { automated: { prune: true, selfHeal: true } } : {}),
          // Objects carry their namespaces; the namespaces are part of the output (00-namespaces).
          syncOptions: ['CreateNamespace=false', 'PrunePropagationPolicy=foreground', 'PruneLast=true'],
          retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } },
        },
      },
    });
  }
}
