import * as fs from 'node:fs';
import { ARGO_GROUP, ARGO_VERSION, type WorkflowApi } from './submit';

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const IN_CLUSTER_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Status code of a client-node ApiException (or of a wrapped response), if any. */
function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own message (a Status object's `message`) instead of client-node's whole response dump. */
function apiMessage(err: unknown, what: string): Error {
  const body = (err as { body?: unknown } | null)?.body;
  let message: string | undefined;
  try {
    const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    const m = (parsed as { message?: unknown } | null)?.message;
    if (typeof m === 'string') message = m;
  } catch {
    // not JSON: fall through to the error's own message
  }
  const code = statusOf(err);
  return new Error(`${what}: ${message ?? errorMessage(err)}${code ? ` (HTTP ${code})` : ''}`);
}

/**
 * WorkflowApi over @kubernetes/client-node: the kubeconfig ($KUBECONFIG or ~/.kube/config, current context)
 * or, inside a pod, the in-cluster config with the ServiceAccount's token. Loaded lazily: the package is
 * ESM-only and large, and `mlops --help` must stay fast.
 */
export async function kubernetesWorkflowApi(): Promise<{ api: WorkflowApi; namespace?: string }> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const context = kc.getContextObject(kc.getCurrentContext());
  const namespace = context?.namespace ?? (fs.existsSync(IN_CLUSTER_NAMESPACE) ? fs.readFileSync(IN_CLUSTER_NAMESPACE, 'utf8').trim() : undefined);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const [group, version] = [ARGO_GROUP, ARGO_VERSION];
  const api: WorkflowApi = {
    async getWorkflowTemplate(ns, name) {
      try {
        return (await custom.getNamespacedCustomObject({ group, version, namespace: ns, plural: 'workflowtemplates', name })) as Awaited<
          ReturnType<WorkflowApi['getWorkflowTemplate']>
        >;
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw apiMessage(err, `reading WorkflowTemplate ${ns}/${name}`);
      }
    },
    async createWorkflow(ns, body) {
      try {
        return (await custom.createNamespacedCustomObject({ group, version, namespace: ns, plural: 'workflows', body })) as Awaited<
          ReturnType<WorkflowApi['createWorkflow']>
        >;
      } catch (err) {
        throw apiMessage(err, `creating a Workflow in ${ns}`);
      }
    },
    async getWorkflow(ns, name) {
      try {
        return (await custom.getNamespacedCustomObject({ group, version, namespace: ns, plural: 'workflows', name })) as Awaited<
          ReturnType<WorkflowApi['getWorkflow']>
        >;
      } catch (err) {
        throw apiMessage(err, `reading Workflow ${ns}/${name}`);
      }
    },
  };
  return { api, namespace };
}
