import type { EnvironmentConfig } from '../schema';
import type { ImageLock } from './lock-file';
import { parseImageReference } from './reference';

/** One image an environment deploys: the config field that names it and the reference written there. */
export interface ImageUse {
  /** Dotted path in the environment (`tracking.image`). */
  field: string;
  image: string;
}

/** Every image the environment's manifests run, by the field that names it (only parts that are deployed). */
export function environmentImages(env: EnvironmentConfig): ImageUse[] {
  const uses: ImageUse[] = [
    { field: 'tracking.image', image: env.tracking.image },
    { field: 'training.image', image: env.training.image },
  ];
  if (env.inference.models.length > 0) uses.push({ field: 'inference.image', image: env.inference.image });
  if (env.metadataStore.kind === 'in-cluster-postgres') uses.push({ field: 'metadataStore.image', image: env.metadataStore.image });
  if (env.artifactStore.kind === 'minio') {
    uses.push({ field: 'artifactStore.image', image: env.artifactStore.image }, { field: 'artifactStore.clientImage', image: env.artifactStore.clientImage });
  }
  if (env.ingress.auth.mode === 'oidc') uses.push({ field: 'ingress.auth.image', image: env.ingress.auth.image });
  if (env.gpu.pools.length > 0) uses.push({ field: 'gpu.devicePluginImage', image: env.gpu.devicePluginImage });
  // Pipeline steps without their own image run training.image, pinned above.
  for (const [p, def] of Object.entries(env.pipelines ?? {})) {
    for (const [s, step] of Object.entries(def.steps)) if (step.image) uses.push({ field: `pipelines.${p}.steps.${s}.image`, image: step.image });
  }
  return uses;
}

/** Images not pinned by digest (neither inline nor, after `pinImages`, by the lock). */
export function unpinnedImages(env: EnvironmentConfig): ImageUse[] {
  return environmentImages(env).filter((u) => !parseImageReference(u.image).digest);
}

/** The environment with every image the lock knows rendered `repository:tag@sha256:…`; inline digests stay as written. */
export function pinImages(env: EnvironmentConfig, lock: ImageLock): EnvironmentConfig {
  // A JSON copy, not structuredClone: under jest that returns another realm's arrays, which `instanceof Array` misses.
  const out = JSON.parse(JSON.stringify(env)) as EnvironmentConfig;
  for (const use of environmentImages(env)) {
    if (parseImageReference(use.image).digest) continue;
    const digest = lock.images[use.image];
    if (digest) setField(out, use.field, `${use.image}@${digest}`);
  }
  return out;
}

function setField(target: object, field: string, value: string): void {
  const keys = field.split('.');
  let o = target as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
}

/** An environment that requires digests has images neither it nor the lock pins: nothing is synthesized. */
export class UnpinnedImagesError extends Error {
  constructor(
    readonly environment: string,
    readonly images: ImageUse[],
    readonly lockFile: string,
  ) {
    super(
      [
        `environment "${environment}" requires every image pinned by digest (images.requireDigests), but ${images.length} ${images.length === 1 ? 'is' : 'are'} not, in the environment or in ${lockFile}:`,
        ...images.map((u) => `  ${u.field}: ${u.image}`),
        `Resolve them where the registries are reachable with \`mlops images lock --env ${environment}\`, or write repository:tag@sha256:<digest> in the environment.`,
      ].join('\n'),
    );
    this.name = 'UnpinnedImagesError';
  }
}

/**
 * What synth and the Pulumi program deploy: the environment pinned by the lock, refused (fail closed) when
 * it requires digests and any image is still unpinned. Environments that do not require digests pass with
 * whatever the lock pins; the `image-digest` policy warns about the rest.
 */
export function resolveImages(env: EnvironmentConfig, lock: ImageLock, lockFile: string): EnvironmentConfig {
  const pinned = pinImages(env, lock);
  const missing = unpinnedImages(pinned);
  if (env.images.requireDigests && missing.length > 0) throw new UnpinnedImagesError(env.name, missing, lockFile);
  return pinned;
}
