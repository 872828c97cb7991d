// The image-reference parser lives in core/image-reference.ts (the schema, policies and constructs read references too).
export { parseImageReference, registryApiHost, SHA256_DIGEST, type ImageReference } from '../../core/image-reference';

/** Loopback hosts, the only ones spoken to over plain HTTP (as Docker treats localhost registries). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.split(':').length === 2 ? host.slice(0, host.indexOf(':')) : host;
  return h === 'localhost' || h === '::1' || /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(h);
}
