import { z } from 'zod';

/*
 * Per-part overrides of the constructs' optional props, through the environment (`parts.<part>`), so a team
 * tunes a built-in part without forking it. Each entry mirrors that construct's documented props (its
 * `@default`s apply to what is left out); MlopsPlatform spreads the entry into the props, so the compiler
 * checks that the two agree.
 */

const quantity = z.string().regex(/^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, 'must be a Kubernetes quantity, e.g. "500m", "1Gi"');
const requests = z.object({ cpu: quantity, memory: quantity }).strict();
const resources = z.object({ requests, limits: z.object({ cpu: quantity.optional(), memory: quantity }).strict() }).strict();

export const partOverridesSchema = z
  .object({
    /** Namespaces: quota and container defaults of each platform namespace. */
    namespaces: z
      .object({ cpuRequestsQuota: quantity, memoryRequestsQuota: quantity, defaultRequest: requests, defaultMemoryLimit: quantity })
      .partial()
      .strict()
      .optional(),
    /** MinIO: how long a finished bucket Job is kept, in seconds. */
    minio: z
      .object({ jobTtlSeconds: z.number().int().min(0) })
      .partial()
      .strict()
      .optional(),
    /** The tracking edge: oauth2-proxy replicas (at least 2 are run) and resources, in OIDC mode. */
    ingress: z
      .object({ oauth2ProxyReplicas: z.number().int().min(1).max(20), oauth2ProxyResources: resources })
      .partial()
      .strict()
      .optional(),
    /** Inference: the size limit of each pod's model cache. */
    inference: z.object({ modelCacheSize: quantity }).partial().strict().optional(),
    /** The NVIDIA device plugin: its container resources. */
    gpu: z
      .object({ resources: z.object({ requests, limits: z.object({ memory: quantity }).strict() }).strict() })
      .partial()
      .strict()
      .optional(),
  })
  .strict();

/** Overrides of the built-in parts' props, by part. */
export type PartOverrides = z.output<typeof partOverridesSchema>;
