import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { GITOPS_NEEDS_EXTERNAL_SECRETS, type EnvironmentConfig } from '../environments';
import { objectRef, type KubeObject } from '../core/kube-objects';
import { crdSchemaProblems, hasCrdSchema } from '../constructs/crd-schema';
import type { Violation } from '../policies/types';
import { assertPolicyClean } from '../policies/synth-gate';
import { MlopsPlatform } from '../constructs/platform';
import type { CloudOutputs } from '../constructs/common';
import { argoSchemaProblems, isArgoWorkflowsKind } from '../constructs/pipelines/argo-schema';
import { RENDERED_FROM_ANNOTATION, workflowCreatedObjects } from '../core/argo-pods';
import { DEFAULT_IMAGE_LOCK, readImageLock, resolveImages } from '../environments/image-lock';
import { ENVIRONMENT_RECORD, renderEnvironmentRecord } from '../environments/record';
import { extensionPolicy, type PlatformExtension } from './extensions';

/** Values the Pulumi stack fills in (the one type the constructs take); GitOps synth uses environment defaults. */
export type { CloudOutputs } from '../constructs/common';

export interface SynthOptions {
  /** Where Secrets come from. @default the environment's `secrets.mode` */
  secretsMode?: 'pulumi' | 'external-secrets';
  /** Cloud stack outputs. @default none (GitOps: the environment's settings) */
  cloud?: CloudOutputs;
  /** A team's own parts, rules and exceptions (stacks/extensions.ts). @default none */
  extensions?: readonly PlatformExtension[];
}

export interface SynthesizedFile {
  /** Path relative to the environment's directory: `NN-<part>.k8s.yaml` in apply order, then `argocd/application.k8s.yaml`. */
  name: string;
  objects: KubeObject[];
}

/** Where the Argo CD Application goes: a subdirectory, so the (non-recursive) Application does not sync itself. */
export const ARGOCD_FILE = 'argocd/application.k8s.yaml';

/** What the platform's constructs say about what they built (typed; nobody reads the objects back for it). */
export type PlatformFacts = Pick<MlopsPlatform, 'pods' | 'identities' | 'endpoints'>;

/** Synthesizes one environment in memory: its files and the constructs' facts. Pure. */
export function synthPlatform(env: EnvironmentConfig, opts: SynthOptions = {}): { files: SynthesizedFile[]; facts: PlatformFacts } {
  const app = new App();
  const platform = new MlopsPlatform(app, env.name, { env, secretsMode: opts.secretsMode, cloud: opts.cloud, extensions: opts.extensions });
  const files = platform.charts.map(({ part, chart }, i) => ({
    name: `${String(i).padStart(2, '0')}-${part}.k8s.yaml`,
    objects: chart.toJson() as KubeObject[],
  }));
  if (platform.argocd) files.push({ name: ARGOCD_FILE, objects: platform.argocd.toJson() as KubeObject[] });
  const { pods, identities, endpoints } = platform;
  return { files, facts: { pods, identities, endpoints } };
}

/** Synthesizes one environment in memory: one file per platform part, namespaces first. Pure. */
export function synthEnvironment(env: EnvironmentConfig, opts: SynthOptions = {}): SynthesizedFile[] {
  return synthPlatform(env, opts).files;
}

/** Schema model modules by API group: the built-in groups from kubernetes-models, CRDs from their packages. */
const CRD_MODELS: Record<string, string> = {
  'external-secrets.io': '@kubernetes-models/external-secrets/external-secrets.io',
  'cert-manager.io': '@kubernetes-models/cert-manager/cert-manager.io',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator/monitoring.coreos.com',
  'argoproj.io': '@kubernetes-models/argo-cd/argoproj.io',
};

type ModelClass = new (data: unknown) => { validate(): void };

/** The kubernetes-models class for an apiVersion/kind, or undefined when no published schema is known. */
export function schemaModel(apiVersion: string, kind: string): ModelClass | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const base = group === '' ? 'kubernetes-models' : (CRD_MODELS[group] ?? `kubernetes-models/${group}`);
  const modulePath = group === '' ? `${base}/${version}` : `${base}/${version}`;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(modulePath) as Record<string, ModelClass | undefined>;
    return mod[kind];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/**
 * API versions checked with another version's published model, because the models lag the operator:
 * `external-secrets.io/v1` is `v1beta1` promoted unchanged — the upstream CRDs (v0.16.2) carry identical
 * openAPIV3Schemas for both, which test/cluster/crd-schemas.test.ts checks — and
 * @kubernetes-models/external-secrets 0.5.x ships no v1 module. The real judge, the upstream v1 CRD on a
 * kube-apiserver, runs in test/cluster.
 */
const SCHEMA_STAND_INS: Record<string, string> = { 'external-secrets.io/v1': 'external-secrets.io/v1beta1' };

/** Validates one object against its OpenAPI schema; returns the problems (empty when valid). */
export function schemaProblems(obj: KubeObject): string[] {
  // Argo Workflows kinds: no published model for v4, so the upstream CRD schema itself (constructs/pipelines/argo-schema.ts).
  // The objects its resource templates create (a distributed step's PyTorchJob) are checked as themselves.
  if (isArgoWorkflowsKind(obj.apiVersion, obj.kind)) {
    const created = workflowCreatedObjects([obj]).flatMap((o) => schemaProblems(o).map((p) => `${o.metadata.annotations?.[RENDERED_FROM_ANNOTATION]}: ${p}`));
    return [...argoSchemaProblems(obj), ...created];
  }
  const standIn = SCHEMA_STAND_INS[obj.apiVersion];
  const checked = standIn ? { ...obj, apiVersion: standIn } : obj;
  // Kinds without a published model (Kubeflow's) are checked against their committed upstream CRD schema.
  if (hasCrdSchema(checked.apiVersion, checked.kind)) return crdSchemaProblems(checked);
  const Model = schemaModel(checked.apiVersion, checked.kind);
  if (!Model) return [`no published schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(checked).validate();
    return [];
  } catch (err) {
    return [(err as Error).message.split('\n')[0]];
  }
}

/** A synthesized environment failed validation; the message lists every problem, one per line. */
export class SynthValidationError extends Error {
  constructor(
    readonly environment: string,
    readonly problems: string[],
  ) {
    super(`environment "${environment}": synthesized objects are invalid; nothing was written:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'SynthValidationError';
  }
}

/**
 * Structural checks every object must pass before anything is written: apiVersion/kind/name, no Secret
 * with literal data, unique `Kind/namespace/name`, and the OpenAPI schema of its kind (built-in or CRD).
 */
export function validateObjects(files: SynthesizedFile[], environment = '(unnamed)'): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const f of files) {
    for (const o of f.objects) {
      // Objects from a team's construct may be malformed: metadata is not guaranteed at run time.
      const metadata = o.metadata as KubeObject['metadata'] | undefined;
      if (!o.apiVersion || !o.kind || !metadata?.name) {
        problems.push(`${f.name}: object without apiVersion/kind/metadata.name`);
        continue;
      }
      const ref = objectRef(o);
      if (o.kind === 'Secret' && (o.data || o.stringData)) problems.push(`${f.name}: ${ref} carries literal data`);
      if (seen.has(`${o.apiVersion.split('/')[0]} ${ref}`)) problems.push(`${f.name}: ${ref} is defined twice`);
      seen.add(`${o.apiVersion.split('/')[0]} ${ref}`);
      for (const p of schemaProblems(o)) problems.push(`${f.name}: ${ref}: ${p}`);
    }
  }
  if (problems.length) throw new SynthValidationError(environment, problems);
}

/** What `renderEnvironment` and `writeSynth` take beyond the synth options. */
export interface RenderOptions extends SynthOptions {
  /** Image lock file the environments' images are pinned with. @default environments/images.lock.json (an empty lock when absent) */
  imageLock?: string;
}

export interface RenderedEnvironment {
  /** The environment as rendered: every image the lock pins written `repository:tag@sha256:…`. */
  env: EnvironmentConfig;
  files: SynthesizedFile[];
  /** Warnings and excepted violations of the policy gate (errors throw). */
  violations: Violation[];
}

/**
 * Synthesizes one environment and runs every gate: images pinned from the lock (an environment that
 * requires digests and has an unpinned image throws `UnpinnedImagesError`), schema validation, then the
 * policies. Throws on any error.
 */
export function renderEnvironment(input: EnvironmentConfig, opts: RenderOptions = {}): RenderedEnvironment {
  if (input.gitops && (opts.secretsMode ?? input.secrets.mode) === 'pulumi')
    throw new SynthValidationError(input.name, [`gitops: ${GITOPS_NEEDS_EXTERNAL_SECRETS}`]);
  const lockFile = opts.imageLock ?? DEFAULT_IMAGE_LOCK;
  const env = resolveImages(input, readImageLock(lockFile, { missingOk: opts.imageLock === undefined }), lockFile);
  const files = synthEnvironment(env, opts);
  validateObjects(files, env.name);
  const violations = assertPolicyClean(
    files.flatMap((f) => f.objects),
    env,
    'gitops',
    extensionPolicy(opts.extensions),
  );
  return { env, files, violations };
}

/**
 * The YAML text of one synthesized file: documents separated by `---`. Written as YAML 1.1 so strings such
 * as "off" or "yes" are quoted: kubectl and most Go tools still read plain `off` as a boolean.
 */
export function renderYaml(objects: KubeObject[]): string {
  return objects.map((o) => stringify(o, { version: '1.1' })).join('---\n');
}

/**
 * Synthesizes, validates, policy-checks and writes `<out>/<env>/NN-<part>.k8s.yaml` for each environment,
 * and `<out>/<env>/mlops-environment`, the environment as rendered (environments/record.ts).
 * Every environment is rendered and checked before anything touches the disk; files go to a temporary
 * directory first and are renamed into place, so any failure writes nothing.
 */
export function writeSynth(envs: EnvironmentConfig[], out: string, opts: RenderOptions = {}): { written: string[]; rendered: RenderedEnvironment[] } {
  const rendered = envs.map((env) => renderEnvironment(env, opts));
  fs.mkdirSync(out, { recursive: true });
  const staging = fs.mkdtempSync(path.join(out, '.synth-'));
  const written: string[] = [];
  try {
    for (const { env, files } of rendered) {
      for (const f of files) {
        const file = path.join(staging, env.name, f.name);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, renderYaml(f.objects));
      }
      // What the folder was synthesized for, so `mlops policy check` applies this environment's allowances.
      fs.writeFileSync(path.join(staging, env.name, ENVIRONMENT_RECORD), renderEnvironmentRecord(env, 'gitops'));
    }
    for (const { env, files } of rendered) {
      const target = path.join(out, env.name);
      fs.rmSync(target, { recursive: true, force: true });
      fs.renameSync(path.join(staging, env.name), target);
      written.push(...files.map((f) => path.join(target, f.name)), path.join(target, ENVIRONMENT_RECORD));
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return { written, rendered };
}
