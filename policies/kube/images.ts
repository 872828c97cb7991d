import type { KubeRule } from '../rule';
import { asRecord, containerName, containers, objectPodTemplates, type ContainerRef, type PodTemplate } from '../../core/kube-objects';
import { splitImageReference } from '../../core/image-reference';

function eachImage(fn: (c: ContainerRef, image: string) => { field: string; message: string } | undefined): KubeRule['check'] {
  return (obj) => {
    return objectPodTemplates(obj).flatMap((tpl) =>
      containers(tpl)
        .filter((c) => !inheritsImage(tpl, c))
        .flatMap((c) => fn(c, typeof c.container.image === 'string' ? c.container.image : '') ?? []),
    );
  };
}

/**
 * A KServe predictor's model without an image of its own that names its ServingRuntime: KServe runs the
 * runtime's image, which these rules check on the ServingRuntime.
 */
function inheritsImage(tpl: PodTemplate, c: ContainerRef): boolean {
  const isModel = (tpl.extraContainers ?? []).includes(c);
  return isModel && c.container.image === undefined && typeof asRecord(c.container).runtime === 'string';
}

export const imageRules: KubeRule[] = [
  {
    id: 'image-tag-pinned',
    severity: 'error',
    description: 'Images pinned by a version tag or digest (not `latest`, not untagged)',
    remediation: 'Reference the image as repository:version or repository@sha256:digest.',
    check: eachImage((c, image) => {
      const { tag, digest } = splitImageReference(image);
      if (!image) return { field: `${c.path}.image`, message: `container "${containerName(c)}" has no image` };
      if (digest) return undefined;
      if (!tag) return { field: `${c.path}.image`, message: `container "${containerName(c)}" image "${image}" is untagged` };
      if (tag === 'latest') return { field: `${c.path}.image`, message: `container "${containerName(c)}" image "${image}" uses the mutable tag "latest"` };
      return undefined;
    }),
  },
  {
    id: 'image-digest',
    severity: 'warning',
    // A tag can be re-pushed: where the environment says so (staging, prod), only a digest will do.
    severityIn: (ctx) => (ctx.environment?.images.requireDigests ? 'error' : 'warning'),
    description: 'Images pinned by digest: an error where the environment sets images.requireDigests (staging, prod), else advisory (tags can be re-pushed)',
    remediation: 'Run `mlops images lock --env <env>` to pin the image lock, or append @sha256:<digest> to the image reference.',
    check: eachImage((c, image) =>
      image && !splitImageReference(image).digest
        ? { field: `${c.path}.image`, message: `container "${containerName(c)}" image "${image}" is not pinned by digest` }
        : undefined,
    ),
  },
];
