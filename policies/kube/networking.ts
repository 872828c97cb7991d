import type { KubeRule, ObjectSet } from '../rule';
import {
  type KubeObject,
  asArray,
  asRecord,
  findObject,
  kserveServices,
  mapSelectorMatches,
  podTemplates,
  selectorMatches,
  stringMap,
} from '../../core/kube-objects';

function podsInNamespace(set: ObjectSet, namespace: string | undefined) {
  return podTemplates(set.objects).filter(({ tpl }) => tpl.namespace === namespace);
}

function isEmptySelector(sel: unknown): boolean {
  const s = asRecord(sel);
  return Object.keys(stringMap(s.matchLabels)).length === 0 && asArray(s.matchExpressions).length === 0;
}

/** Every backend of an Ingress with the field path it sits at. */
function ingressBackends(obj: KubeObject): Array<{ field: string; name: string; port: Record<string, unknown> }> {
  const spec = asRecord(obj.spec);
  const out: Array<{ field: string; name: string; port: Record<string, unknown> }> = [];
  const svc = asRecord(asRecord(spec.defaultBackend).service);
  if (typeof svc.name === 'string') out.push({ field: 'spec.defaultBackend.service', name: svc.name, port: asRecord(svc.port) });
  asArray(spec.rules).forEach((r, i) =>
    asArray(asRecord(asRecord(r).http).paths).forEach((p, j) => {
      const s = asRecord(asRecord(asRecord(p).backend).service);
      if (typeof s.name === 'string') out.push({ field: `spec.rules[${i}].http.paths[${j}].backend.service`, name: s.name, port: asRecord(s.port) });
    }),
  );
  return out;
}

/** nginx annotations that put an authentication step in front of the backends. */
const AUTH_ANNOTATIONS = ['nginx.ingress.kubernetes.io/auth-type', 'nginx.ingress.kubernetes.io/auth-url'];

function isAuthProxy(svc: KubeObject | undefined): boolean {
  if (!svc) return false;
  const labels = svc.metadata.labels ?? {};
  return [labels['app.kubernetes.io/name'], labels['app.kubernetes.io/component'], svc.metadata.name].some(
    (v) => typeof v === 'string' && /oauth2-proxy/.test(v),
  );
}

/** Which directions the namespace's default-deny NetworkPolicies (empty podSelector, no rules) cover. */
function defaultDenied(set: ObjectSet, namespace: string): { ingress: boolean; egress: boolean } {
  const result = { ingress: false, egress: false };
  for (const o of set.objects) {
    if (o.kind !== 'NetworkPolicy' || o.metadata.namespace !== namespace) continue;
    const spec = asRecord(o.spec);
    if (!isEmptySelector(spec.podSelector)) continue;
    const types = asArray(spec.policyTypes).map(String);
    if ((types.includes('Ingress') || types.length === 0) && asArray(spec.ingress).length === 0) result.ingress = true;
    if (types.includes('Egress') && asArray(spec.egress).length === 0) result.egress = true;
  }
  return result;
}

export const networkingRules: KubeRule[] = [
  {
    id: 'service-selects-pods',
    severity: 'error',
    description: "A Service's selector matches some pod template",
    remediation: "Fix spec.selector to match the workload's pod labels, or remove the Service.",
    check: (obj, set) => {
      if (obj.kind !== 'Service') return [];
      const selector = stringMap(asRecord(obj.spec).selector);
      if (Object.keys(selector).length === 0) return [];
      const hit = podsInNamespace(set, obj.metadata.namespace).some(({ tpl }) => mapSelectorMatches(selector, tpl.labels));
      return hit ? [] : [{ field: 'spec.selector', message: `Service selector ${JSON.stringify(selector)} matches no pod template in its namespace` }];
    },
  },
  {
    id: 'ingress-backend-exists',
    severity: 'error',
    description: 'Ingress backends name an existing Service and port',
    remediation: 'Point the backend at a Service in the same namespace and one of its ports.',
    check: (obj, set) => {
      if (obj.kind !== 'Ingress') return [];
      return ingressBackends(obj).flatMap((b) => {
        // The Services of KServe's predictors are the KServe controller's, implied by the InferenceServices.
        const svc =
          findObject(set.objects, 'Service', b.name, obj.metadata.namespace) ??
          findObject(kserveServices(set.objects), 'Service', b.name, obj.metadata.namespace);
        if (!svc) return [{ field: `${b.field}.name`, message: `backend Service "${b.name}" does not exist` }];
        const ports = asArray(asRecord(svc.spec).ports).map(asRecord);
        const ok = b.port.number !== undefined ? ports.some((p) => p.port === b.port.number) : ports.some((p) => p.name === b.port.name);
        return ok ? [] : [{ field: `${b.field}.port`, message: `backend Service "${b.name}" has no port ${String(b.port.number ?? b.port.name)}` }];
      });
    },
  },
  {
    id: 'networkpolicy-selects-pods',
    severity: 'error',
    description: "A NetworkPolicy's podSelector matches some pod template",
    remediation: 'Fix spec.podSelector to match the pods it is meant for, or remove the policy.',
    check: (obj, set) => {
      if (obj.kind !== 'NetworkPolicy') return [];
      const sel = asRecord(obj.spec).podSelector;
      if (isEmptySelector(sel)) return [];
      const hit = podsInNamespace(set, obj.metadata.namespace).some(({ tpl }) => selectorMatches(sel, tpl.labels));
      return hit ? [] : [{ field: 'spec.podSelector', message: 'podSelector matches no pod template in its namespace' }];
    },
  },
  {
    id: 'pod-has-networkpolicy',
    severity: 'error',
    description: 'Every pod is selected by a NetworkPolicy',
    remediation: 'Add a NetworkPolicy for the pods (a namespace default-deny selects them all).',
    check: (obj, set) => {
      const entry = podTemplates([obj]).at(0);
      if (!entry) return [];
      const covered = set.objects.some(
        (o) => o.kind === 'NetworkPolicy' && o.metadata.namespace === entry.tpl.namespace && selectorMatches(asRecord(o.spec).podSelector, entry.tpl.labels),
      );
      const field = entry.tpl.path === 'spec' ? 'metadata.labels' : `${entry.tpl.path.replace(/\.spec$/, '')}.metadata.labels`;
      return covered ? [] : [{ field, message: 'pod template is selected by no NetworkPolicy' }];
    },
  },
  {
    id: 'namespace-default-deny',
    severity: 'error',
    description: 'Each Namespace has default-deny ingress and egress NetworkPolicies',
    remediation: 'Add a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules.',
    check: (obj, set) => {
      if (obj.kind !== 'Namespace') return [];
      const d = defaultDenied(set, obj.metadata.name);
      const missing = [!d.ingress && 'ingress', !d.egress && 'egress'].filter(Boolean);
      return missing.length
        ? [{ field: 'metadata.name', message: `namespace ${obj.metadata.name} has no default-deny ${missing.join(' or ')} NetworkPolicy` }]
        : [];
    },
  },
  {
    id: 'no-node-port',
    severity: 'error',
    description: 'No NodePort Services',
    remediation: 'Use a ClusterIP Service behind the Ingress.',
    check: (obj) => (obj.kind === 'Service' && asRecord(obj.spec).type === 'NodePort' ? [{ field: 'spec.type', message: 'Service has type NodePort' }] : []),
  },
  {
    id: 'no-load-balancer',
    severity: 'error',
    description: 'LoadBalancer Services only where the environment allows them (allowLoadBalancer)',
    remediation: 'Expose the Service through the Ingress, or set allowLoadBalancer in the environment.',
    check: (obj, set) =>
      obj.kind === 'Service' && asRecord(obj.spec).type === 'LoadBalancer' && !set.ctx.environment?.allowLoadBalancer
        ? [{ field: 'spec.type', message: 'Service has type LoadBalancer, which the environment does not allow' }]
        : [],
  },
  {
    id: 'ingress-tls',
    severity: 'error',
    description: 'Ingress serves every host over TLS (unless the environment is local with tls.mode none)',
    remediation: 'Add spec.tls covering every rule host (cert-manager or an existing TLS Secret).',
    check: (obj, set) => {
      if (obj.kind !== 'Ingress' || set.ctx.environment?.ingress.tls.mode === 'none') return [];
      const spec = asRecord(obj.spec);
      const tlsHosts = new Set(asArray(spec.tls).flatMap((t) => asArray(asRecord(t).hosts).map(String)));
      const rules = asArray(spec.rules).map(asRecord);
      if (tlsHosts.size === 0) return [{ field: 'spec.tls', message: 'Ingress has no TLS section' }];
      const i = rules.findIndex((r) => typeof r.host !== 'string' || !tlsHosts.has(r.host));
      return i < 0
        ? []
        : [{ field: `spec.rules[${i}].host`, message: `host ${typeof rules[i].host === 'string' ? rules[i].host : '(any)'} is not covered by spec.tls` }];
    },
  },
  {
    id: 'ingress-auth',
    severity: 'error',
    description: 'Ingress has an auth mechanism (nginx auth annotations or an oauth2-proxy backend)',
    remediation: 'Add nginx.ingress.kubernetes.io/auth-type/auth-url annotations or route through oauth2-proxy.',
    check: (obj, set) => {
      if (obj.kind !== 'Ingress') return [];
      const ann = obj.metadata.annotations ?? {};
      if (AUTH_ANNOTATIONS.some((a) => ann[a])) return [];
      const backends = ingressBackends(obj);
      if (backends.length > 0 && backends.every((b) => isAuthProxy(findObject(set.objects, 'Service', b.name, obj.metadata.namespace)))) return [];
      return [{ field: 'metadata.annotations', message: 'Ingress has no auth annotation and its backends are not an auth proxy' }];
    },
  },
];
