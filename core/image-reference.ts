/*
 * Image references as Docker and containerd read them (distribution/reference): `[registry/]path[:tag][@digest]`.
 * The first path component is a registry when it has a `.` or a `:` or is `localhost`; otherwise the image
 * is on Docker Hub, where single-component names live under `library/`. The one parser of the project: the
 * environment schema, the image lock, the policies and the constructs' version labels all read references here.
 */

export interface ImageReference {
  /** The reference as written, without its digest: the image lock's key. */
  name: string;
  /** Registry host[:port] as users write it (`docker.io` when the reference names none). */
  registry: string;
  /** Repository path inside the registry (`library/postgres`, `oauth2-proxy/oauth2-proxy`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOCKER_HUB = 'docker.io';

/**
 * The parts of a reference without checking them (a registry port is not a tag): for readers of objects
 * that may hold anything, such as the policies on a user's YAML. `path` is the name without its tag.
 */
export function splitImageReference(ref: string): { name: string; path: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.indexOf(':', name.lastIndexOf('/') + 1);
  return { name, path: colon >= 0 ? name.slice(0, colon) : name, tag: colon >= 0 ? name.slice(colon + 1) : undefined, digest };
}

/** Parses an image reference; throws naming the reference when it is not one. */
export function parseImageReference(ref: string): ImageReference {
  const { name, path, tag, digest } = splitImageReference(ref);
  if (digest !== undefined && !SHA256_DIGEST.test(digest)) throw new Error(`image "${ref}": digest must be sha256:<64 hex digits>`);
  if (tag !== undefined && !TAG.test(tag)) throw new Error(`image "${ref}": "${tag}" is not a valid tag`);
  const parts = path.split('/');
  const first = parts[0];
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const registry = hasRegistry ? first : DOCKER_HUB;
  const components = hasRegistry ? parts.slice(1) : parts;
  if (components.length === 0 || !components.every((c) => COMPONENT.test(c)))
    throw new Error(`image "${ref}": "${components.join('/')}" is not a repository path`);
  if (hasRegistry && !/^[a-zA-Z0-9.-]+(:[0-9]{1,5})?$/.test(registry)) throw new Error(`image "${ref}": "${registry}" is not a registry host`);
  const repository = registry === DOCKER_HUB && components.length === 1 ? `library/${components[0]}` : components.join('/');
  return { name, registry, repository, tag, digest };
}

/** The host serving a registry's API: Docker Hub's API is not on docker.io itself. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}
