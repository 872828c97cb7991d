import { stringify } from 'yaml';
import type { KubeObject } from '../core/kube-objects';
import type { SynthesizedFile } from '../stacks/gitops';

/*
 * A full-output snapshot that changes only when the output does: files by name, objects by
 * apiVersion/kind/namespace/name, keys sorted at every level (arrays keep their order: in Kubernetes
 * objects it means something — container order, rule order).
 */

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const objectKey = (o: KubeObject): string => [o.apiVersion, o.kind, o.metadata.namespace ?? '', o.metadata.name].join('\u0000');

/** The objects in a stable order with their keys sorted (a new array; the input is not changed). */
export function stableObjects(objects: readonly KubeObject[]): KubeObject[] {
  return [...objects].sort((a, b) => (objectKey(a) < objectKey(b) ? -1 : objectKey(a) > objectKey(b) ? 1 : 0)).map((o) => sortKeys(o) as KubeObject);
}

/**
 * The whole synthesized output as one YAML text in a stable order — for `expect(snapshot(files)).toMatchSnapshot()`
 * or a golden file. Each file starts with a `# <file name>` line; its objects follow as YAML documents.
 */
export function snapshot(files: readonly SynthesizedFile[]): string {
  return [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(
      (f) =>
        `# ${f.name}\n${stableObjects(f.objects)
          .map((o) => `---\n${stringify(o, { version: '1.1', sortMapEntries: true })}`)
          .join('')}`,
    )
    .join('\n');
}
