import type { EnvironmentConfig } from '../../environments';
import type { KubeObject } from '../../policies/types';
import { asArray, asRecord, isRecord } from '../../policies/rule';
import { containers, podTemplates } from '../../policies/kube/workloads';
import { PLATFORM_SECRETS, requiredSecrets, secretNamespace } from '../../constructs/secrets';

/**
 * kwok marks pods Ready without reading their Secrets, ConfigMaps or volumes, so a missing one would pass the
 * cluster suites unnoticed: this resolves every reference a pod template makes against what the environment's
 * output provides (or what is declared to be created outside it), key by key where keys are known.
 */
export type ReferencedKind = 'Secret' | 'ConfigMap' | 'ServiceAccount' | 'PersistentVolumeClaim';

export interface PodReference {
  /** `Kind/namespace/name` of the workload and the field that refers. */
  from: string;
  kind: ReferencedKind;
  namespace: string;
  name: string;
  /** A key within a Secret or ConfigMap (env `valueFrom`, volume `items`). */
  key?: string;
  /** `optional: true` references may be missing. */
  optional: boolean;
}

/** Something a reference can resolve to; `keys` undefined means its keys are not known (any key passes). */
export interface Provided {
  kind: ReferencedKind;
  namespace: string;
  name: string;
  keys?: ReadonlySet<string>;
  /** Where it comes from: the output file's object, an ExternalSecret, or a declared prerequisite. */
  source: string;
}

function ref(out: PodReference[], from: string, kind: ReferencedKind, namespace: string, name: unknown, key?: unknown, optional?: unknown): void {
  if (typeof name !== 'string') return;
  out.push({ from, kind, namespace, name, key: typeof key === 'string' ? key : undefined, optional: optional === true });
}

function volumeRefs(out: PodReference[], from: string, ns: string, volume: Record<string, unknown>): void {
  const secret = asRecord(volume.secret);
  const configMap = asRecord(volume.configMap);
  const items = (v: Record<string, unknown>) => asArray(v.items).map((i) => asRecord(i).key);
  if (volume.secret) (items(secret).length ? items(secret) : [undefined]).forEach((k) => ref(out, from, 'Secret', ns, secret.secretName, k, secret.optional));
  if (volume.configMap)
    (items(configMap).length ? items(configMap) : [undefined]).forEach((k) => ref(out, from, 'ConfigMap', ns, configMap.name, k, configMap.optional));
  if (volume.persistentVolumeClaim) ref(out, from, 'PersistentVolumeClaim', ns, asRecord(volume.persistentVolumeClaim).claimName);
  for (const source of asArray(asRecord(volume.projected).sources).map(asRecord)) {
    if (source.secret) volumeRefs(out, from, ns, { secret: { ...asRecord(source.secret), secretName: asRecord(source.secret).name } });
    if (source.configMap) volumeRefs(out, from, ns, { configMap: source.configMap });
  }
}

/** Every Secret, ConfigMap, ServiceAccount and PVC the pod templates of `objects` refer to. */
export function podReferences(objects: readonly KubeObject[]): PodReference[] {
  const out: PodReference[] = [];
  for (const { obj, tpl } of podTemplates(objects)) {
    const ns = tpl.namespace ?? 'default';
    const from = `${obj.kind}/${ns}/${obj.metadata.name}`;
    ref(out, `${from} serviceAccountName`, 'ServiceAccount', ns, tpl.spec.serviceAccountName ?? 'default');
    asArray(tpl.spec.imagePullSecrets).forEach((s) => ref(out, `${from} imagePullSecrets`, 'Secret', ns, asRecord(s).name));
    asArray(tpl.spec.volumes)
      .filter(isRecord)
      .forEach((v) => volumeRefs(out, `${from} volume ${String(v.name)}`, ns, v));
    for (const c of containers(tpl)) {
      const where = `${from} container ${String(c.container.name)}`;
      for (const e of asArray(c.container.env).map(asRecord)) {
        const vf = asRecord(e.valueFrom);
        if (vf.secretKeyRef)
          ref(
            out,
            `${where} env ${String(e.name)}`,
            'Secret',
            ns,
            asRecord(vf.secretKeyRef).name,
            asRecord(vf.secretKeyRef).key,
            asRecord(vf.secretKeyRef).optional,
          );
        if (vf.configMapKeyRef)
          ref(
            out,
            `${where} env ${String(e.name)}`,
            'ConfigMap',
            ns,
            asRecord(vf.configMapKeyRef).name,
            asRecord(vf.configMapKeyRef).key,
            asRecord(vf.configMapKeyRef).optional,
          );
      }
      for (const e of asArray(c.container.envFrom).map(asRecord)) {
        if (e.secretRef) ref(out, `${where} envFrom`, 'Secret', ns, asRecord(e.secretRef).name, undefined, asRecord(e.secretRef).optional);
        if (e.configMapRef) ref(out, `${where} envFrom`, 'ConfigMap', ns, asRecord(e.configMapRef).name, undefined, asRecord(e.configMapRef).optional);
      }
    }
  }
  return out;
}

const KINDS = new Set<string>(['Secret', 'ConfigMap', 'ServiceAccount', 'PersistentVolumeClaim']);

/**
 * What the output provides: its own Secrets/ConfigMaps/ServiceAccounts/PVCs (with their keys), each
 * StatefulSet's claims, each ExternalSecret's target Secret (with the keys it maps), and, when the Pulumi
 * stack creates the credentials (`secretsMode: pulumi`), the Secrets it is declared to create.
 */
export function providedObjects(objects: readonly KubeObject[], env: EnvironmentConfig, secretsMode: 'pulumi' | 'external-secrets'): Provided[] {
  const out: Provided[] = [];
  for (const o of objects) {
    const ns = o.metadata.namespace ?? 'default';
    if (KINDS.has(o.kind)) {
      const data = { ...asRecord(o.data), ...asRecord(o.stringData), ...asRecord(o.binaryData) };
      const keys = o.kind === 'Secret' || o.kind === 'ConfigMap' ? new Set(Object.keys(data)) : undefined;
      out.push({ kind: o.kind as ReferencedKind, namespace: ns, name: o.metadata.name, keys, source: `output ${o.kind}` });
    }
    if (o.kind === 'ExternalSecret') {
      const spec = asRecord(o.spec);
      const named = asRecord(spec.target).name;
      const target = typeof named === 'string' ? named : o.metadata.name;
      out.push({
        kind: 'Secret',
        namespace: ns,
        name: target,
        keys: new Set(asArray(spec.data).map((d) => String(asRecord(d).secretKey))),
        source: `ExternalSecret ${o.metadata.name}`,
      });
    }
    if (o.kind === 'StatefulSet') {
      const spec = asRecord(o.spec);
      const replicas = typeof spec.replicas === 'number' ? spec.replicas : 1;
      for (const t of asArray(spec.volumeClaimTemplates).map(asRecord)) {
        for (let i = 0; i < replicas; i++)
          out.push({
            kind: 'PersistentVolumeClaim',
            namespace: ns,
            name: `${String(asRecord(t.metadata).name)}-${o.metadata.name}-${i}`,
            source: `StatefulSet ${o.metadata.name}`,
          });
      }
    }
  }
  if (secretsMode === 'pulumi') {
    for (const id of requiredSecrets(env)) {
      const s = PLATFORM_SECRETS[id];
      out.push({
        kind: 'Secret',
        namespace: secretNamespace(env, s),
        name: s.name,
        keys: new Set(s.keys),
        source: 'created by the Pulumi stack (requiredSecrets)',
      });
    }
  }
  return out;
}

/** One line per reference that resolves to nothing (or to an object without that key); empty when all resolve. */
export function unresolvedReferences(objects: readonly KubeObject[], provided: readonly Provided[]): string[] {
  const problems: string[] = [];
  for (const r of podReferences(objects)) {
    if (r.optional) continue;
    const target = provided.find((p) => p.kind === r.kind && p.namespace === r.namespace && p.name === r.name);
    if (!target) {
      problems.push(`${r.from}: ${r.kind} ${r.namespace}/${r.name} is neither in the output nor a declared prerequisite`);
    } else if (r.key !== undefined && target.keys && !target.keys.has(r.key)) {
      problems.push(`${r.from}: ${r.kind} ${r.namespace}/${r.name} (${target.source}) has no key "${r.key}" (has: ${[...target.keys].join(', ') || 'none'})`);
    }
  }
  return problems;
}
