import * as pulumi from '@pulumi/pulumi';
import * as k8s from '@pulumi/kubernetes';
import type { EnvironmentConfig } from '../environments';
import type { KubeObject } from '../core/kube-objects';
import type { SynthesizedFile } from './gitops';
import type { GeneratedSecret } from './credentials';
import { standardLabels } from '../constructs/common';

/** Kinds created first, on their own: everything else may live in a namespace or be an instance of a CRD. */
const FOUNDATION_KINDS = new Set(['Namespace', 'CustomResourceDefinition']);

/** The Pulumi logical name of a Kubernetes object: `<namespace>/<name>` or `<name>` (what yaml.ConfigGroup uses). */
export function objectKey(obj: Pick<KubeObject, 'metadata'>): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** Metadata of a Secret Pulumi generates: the chart's naming and the standard labels. */
export function generatedSecretMetadata(env: EnvironmentConfig, s: { name: string; namespace: string }): KubeObject['metadata'] {
  return { name: s.name, namespace: s.namespace, labels: standardLabels(env, s.name, 'secret') };
}

/**
 * Whether Pulumi deploys a synthesized file: every platform part does; the Argo CD Application
 * (`argocd/…`) does not — it makes Argo CD apply the GitOps copy of the same objects, and two deployers
 * of one set of objects would undo each other. A stack deployed by Pulumi is not also synced by Argo CD.
 */
export function deployedByPulumi(file: Pick<SynthesizedFile, 'name'>): boolean {
  return !file.name.startsWith('argocd/');
}

/** The part of a synthesized file name: `03-tracking.k8s.yaml` → `tracking`. */
export function partOf(fileName: string): string {
  return fileName.replace(/^\d+-/, '').replace(/\.k8s\.yaml$/, '');
}

/**
 * Replaces every occurrence of a placeholder string inside an object tree with its value: the chart is
 * synthesized once with placeholders for values only the cloud knows (a role ARN, the RDS endpoint),
 * and those strings become Outputs here, so the object structure (and the resource set) is known at
 * preview time. Strings without placeholders stay plain.
 */
export function substitute<T>(value: T, substitutions: Record<string, pulumi.Input<string>>): T {
  const keys = Object.keys(substitutions).filter(Boolean);
  if (keys.length === 0) return value;
  const pattern = new RegExp(keys.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (!keys.some((k) => v.includes(k))) return v;
      const parts: pulumi.Input<string>[] = [];
      let last = 0;
      for (const m of v.matchAll(pattern)) {
        parts.push(v.slice(last, m.index), substitutions[m[0]]);
        last = m.index + m[0].length;
      }
      parts.push(v.slice(last));
      return pulumi.all(parts).apply((p) => p.join(''));
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

export interface PlatformArgs {
  env: EnvironmentConfig;
  /** The chart of the environment as `synthEnvironment` returns it (in apply order); see `deployedByPulumi`. */
  files: SynthesizedFile[];
  /** Placeholder string → its value (cloud outputs); see `substitute`. Default: none. */
  substitutions?: Record<string, pulumi.Input<string>>;
  /** Secrets Pulumi generated, created as Kubernetes Secrets before any workload. Default: none. */
  secrets?: GeneratedSecret[];
  /** Kubeconfig (contents or a path) of the target cluster. Default: the local kubeconfig (`KUBECONFIG` or `~/.kube/config`). */
  kubeconfig?: pulumi.Input<string>;
  /** Kubeconfig context. Default: the kubeconfig's current context. */
  context?: pulumi.Input<string>;
  /** What must exist before workloads (node groups, the storage driver). Default: nothing. */
  dependsOn?: pulumi.Resource[];
}

/**
 * The synthesized MlopsPlatform chart deployed by Pulumi — the same objects `mlops synth` writes, not a
 * second copy — through a Kubernetes provider for the target cluster. Apply order: Namespaces and
 * CRDs, then the generated Secrets, then one `yaml.ConfigGroup` per chart part.
 */
export class Platform extends pulumi.ComponentResource {
  readonly provider: k8s.Provider;
  /** Namespaces and CRDs, created before everything else. */
  readonly foundation: pulumi.CustomResource[];
  readonly secrets: k8s.core.v1.Secret[] = [];
  /** One group per chart part (`tracking`, `inference`, ...), keyed by part. */
  readonly groups: Record<string, k8s.yaml.ConfigGroup> = {};
  /** The objects handed to Pulumi, with cloud values substituted (Outputs where they were placeholders). */
  readonly objects: KubeObject[];
  /** What each chart object (`Kind:namespace/name`) was made to wait for, as set when it was registered. */
  readonly waitsFor = new Map<string, pulumi.Resource[]>();

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super('mlops:k8s:Platform', name, {}, opts);
    const subs = args.substitutions ?? {};
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
        ...(args.context !== undefined ? { context: args.context } : {}),
        // Every object is named explicitly by the chart; Pulumi must not rename or take over others' objects.
        enableServerSideApply: true,
      },
      { parent: this },
    );
    const base = { parent: this, provider: this.provider };

    const all = args.files.filter(deployedByPulumi).map((f) => ({ part: partOf(f.name), objects: f.objects.map((o) => substitute(o, subs)) }));
    this.objects = all.flatMap((f) => f.objects);

    const foundation: pulumi.CustomResource[] = [];
    for (const obj of this.objects.filter((o) => FOUNDATION_KINDS.has(o.kind))) {
      foundation.push(
        obj.kind === 'Namespace'
          ? new k8s.core.v1.Namespace(objectKey(obj), obj as unknown as k8s.types.input.core.v1.Namespace, base)
          : new k8s.apiextensions.v1.CustomResourceDefinition(
              objectKey(obj),
              obj as unknown as k8s.types.input.apiextensions.v1.CustomResourceDefinition,
              base,
            ),
      );
    }
    this.foundation = foundation;

    for (const s of args.secrets ?? []) {
      this.secrets.push(
        new k8s.core.v1.Secret(
          `${s.namespace}/${s.name}`,
          { metadata: generatedSecretMetadata(args.env, s), type: 'Opaque', stringData: s.data },
          { ...base, dependsOn: foundation },
        ),
      );
    }

    const dependsOn: pulumi.Resource[] = [...foundation, ...this.secrets, ...(args.dependsOn ?? [])];
    for (const { part, objects } of all) {
      const rest = objects.filter((o) => !FOUNDATION_KINDS.has(o.kind));
      if (rest.length === 0) continue;
      this.groups[part] = new k8s.yaml.ConfigGroup(
        `${name}-${part}`,
        {
          objs: rest,
          // ConfigGroup does not pass its own dependsOn to the objects it creates: set it on each.
          transformations: [
            (obj: KubeObject, o: pulumi.CustomResourceOptions) => {
              o.dependsOn = dependsOn;
              this.waitsFor.set(`${obj.kind}:${objectKey(obj)}`, dependsOn);
            },
          ],
        },
        base,
      );
    }
    this.registerOutputs({});
  }
}
