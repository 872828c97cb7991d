import { createHash } from 'node:crypto';
import { isLoopbackHost, parseImageReference, registryApiHost, SHA256_DIGEST } from './reference';

/*
 * Resolves `repository:tag` to the digest of what the registry serves for it, over the OCI distribution
 * API: HEAD /v2/<name>/manifests/<tag> with every manifest and index media type accepted, the digest from
 * `Docker-Content-Digest`; when a registry leaves that header out (the spec makes it optional), GET the
 * manifest and hash its bytes. 401s are answered with the registry's challenge: the token flow of Docker
 * Hub, ghcr.io, quay.io and registry.k8s.io's backends (`Bearer realm=…,service=…,scope=…`, anonymous or
 * with Basic credentials to the realm), or Basic auth directly (ECR). Redirects are followed by hand so
 * each host gets its own challenge (registry.k8s.io redirects to another registry).
 */

/** What the client accepts: OCI and Docker v2 indexes and manifests. Schema 1 (signed JSON) is not. */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
] as const;

/** Registries must accept manifests of at least 4 MiB (OCI distribution spec); nothing larger is read. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_SMALL_BODY = 64 * 1024;
const MAX_REDIRECTS = 5;

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /**
   * Base URL to use for a registry (keyed by the host written in references, `*` for any): a pull-through
   * mirror, or a registry on loopback in tests. @default each registry itself, over HTTPS
   */
  readonly mirrors?: Readonly<Record<string, string>>;
  /** Credentials for a registry host (as written in references). @default anonymous */
  readonly credentials?: (registry: string) => Credentials | undefined;
  /** Timeout of each HTTP request. @default 30000 */
  readonly timeoutMs?: number;
}

export interface ResolvedDigest {
  digest: string;
  /** The media type the registry answered with (an index for multi-platform images). */
  mediaType?: string;
  /** HEAD when the registry's digest header was used, GET when the manifest bytes were hashed here. */
  via: 'HEAD' | 'GET';
}

/** A reference that could not be resolved; the message names the image and what the registry said. */
export class RegistryError extends Error {
  constructor(
    readonly image: string,
    detail: string,
  ) {
    super(`${image}: ${detail}`);
    this.name = 'RegistryError';
  }
}

interface Challenge {
  scheme: string;
  params: Partial<Record<string, string>>;
}

/** `Bearer realm="…",service="…",scope="a b"` (RFC 7235 auth-params; quoted values may hold commas). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)(?:\s+(.*))?$/s.exec(header);
  if (!m) return undefined;
  const params: Partial<Record<string, string>> = {};
  for (const p of (m.at(2) ?? '').matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))/g)) {
    const key = p[1].toLowerCase();
    // Exactly one of the quoted (2) and bare (3) groups takes part in a match.
    const quoted = p.at(2);
    if (!(key in params)) params[key] = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

const basic = (c: Credentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
const mediaTypeOf = (res: Response): string | undefined => res.headers.get('content-type')?.split(';')[0].trim() || undefined;

/** Reads a body of at most `max` bytes; a larger one is refused without reading it all. */
async function readCapped(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body?.cancel();
    throw new Error(`${what} is ${declared} bytes, over the ${max}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) throw new Error(`${what} is over the ${max}-byte limit`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** The `errors[0].code` of an OCI error body, when there is one. */
async function errorCode(res: Response): Promise<string> {
  try {
    const body = JSON.parse((await readCapped(res, MAX_SMALL_BODY, 'error body')).toString('utf8')) as { errors?: Array<{ code?: string; message?: string }> };
    const e = body.errors?.[0];
    return e?.code ? ` ${e.code}${e.message ? `: ${e.message}` : ''}` : '';
  } catch {
    return '';
  }
}

export class RegistryClient {
  /** Authorization header per origin and repository, reused for the rest of one run. */
  private readonly auth = new Map<string, string>();

  constructor(private readonly opts: RegistryClientOptions = {}) {}

  /** The base URL the API of `registry` is reached at. */
  endpoint(registry: string): URL {
    const mirror = this.opts.mirrors?.[registry] ?? this.opts.mirrors?.['*'];
    const url = new URL(mirror ?? `${isLoopbackHost(registry) ? 'http' : 'https'}://${registryApiHost(registry)}`);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`registry endpoint ${url.href}: only https (or http on loopback) is spoken`);
    return url;
  }

  /** The digest `ref` (repository:tag) resolves to now. */
  async resolve(ref: string): Promise<ResolvedDigest> {
    const r = parseImageReference(ref);
    if (r.digest) throw new RegistryError(ref, 'is already pinned by digest');
    if (!r.tag) throw new RegistryError(ref, 'has no tag to resolve');
    const url = new URL(`v2/${r.repository}/manifests/${encodeURIComponent(r.tag)}`, this.endpoint(r.registry).href.replace(/\/?$/, '/'));
    const head = await this.request(ref, r.registry, r.repository, 'HEAD', url);
    if (head.status === 404) throw new RegistryError(ref, `not found (HTTP 404 for ${url.pathname})`);
    const headType = mediaTypeOf(head);
    if (head.ok && headType && !(MANIFEST_MEDIA_TYPES as readonly string[]).includes(headType))
      throw new RegistryError(ref, `answered ${headType}, not an image index or manifest (schema 1 is not supported)`);
    const headDigest = head.headers.get('docker-content-digest');
    if (head.ok && headDigest && SHA256_DIGEST.test(headDigest)) return { digest: headDigest, mediaType: headType, via: 'HEAD' };
    // No usable digest header (it is optional in the spec) or HEAD refused: hash the manifest itself.
    const get = await this.request(ref, r.registry, r.repository, 'GET', url);
    if (!get.ok) throw new RegistryError(ref, `GET ${url.pathname} answered HTTP ${get.status}${await errorCode(get)}`);
    const mediaType = mediaTypeOf(get);
    if (!mediaType || !(MANIFEST_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
      await get.body?.cancel();
      throw new RegistryError(ref, `answered ${mediaType ?? 'no content type'}, not an image index or manifest (schema 1 is not supported)`);
    }
    let body: Buffer;
    try {
      body = await readCapped(get, MAX_MANIFEST_BYTES, 'the manifest');
    } catch (err) {
      throw new RegistryError(ref, (err as Error).message);
    }
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const claimed = get.headers.get('docker-content-digest');
    if (claimed && SHA256_DIGEST.test(claimed) && claimed !== digest)
      throw new RegistryError(ref, `the registry claims ${claimed} but the manifest it sent hashes to ${digest}`);
    return { digest, mediaType, via: 'GET' };
  }

  /** One API request: answers a 401 challenge once per host, follows redirects (each host challenges on its own). */
  private async request(image: string, registry: string, repository: string, method: 'HEAD' | 'GET', start: URL): Promise<Response> {
    let url = start;
    let challenged = false;
    for (let hops = 0; hops <= MAX_REDIRECTS;) {
      this.checkTransport(image, url);
      const key = `${url.origin} ${url.pathname.replace(/\/manifests\/[^/]*$/, '')}`;
      const headers: Record<string, string> = { Accept: MANIFEST_MEDIA_TYPES.join(', '), 'User-Agent': 'mlops-blueprint-image-lock' };
      const authorization = this.auth.get(key);
      if (authorization) headers.Authorization = authorization;
      const res = await this.fetch(image, url, { method, headers, redirect: 'manual' });
      if (res.status === 401 && !challenged) {
        const challenge = res.headers.get('www-authenticate');
        await res.body?.cancel();
        this.auth.set(key, await this.authorize(image, registry, repository, challenge));
        challenged = true;
        continue;
      }
      if ([301, 302, 303, 307, 308].includes(res.status)) {
        const location = res.headers.get('location');
        await res.body?.cancel();
        if (!location) throw new RegistryError(image, `HTTP ${res.status} without a Location from ${url.host}`);
        url = new URL(location, url);
        challenged = false;
        hops++;
        continue;
      }
      if (res.status === 401) throw new RegistryError(image, `${url.host} refused the credentials it asked for (HTTP 401${await errorCode(res)})`);
      return res;
    }
    throw new RegistryError(image, `more than ${MAX_REDIRECTS} redirects`);
  }

  /** The Authorization header a challenge asks for. */
  private async authorize(image: string, registry: string, repository: string, header: string | null): Promise<string> {
    const challenge = header ? parseChallenge(header) : undefined;
    if (!challenge) throw new RegistryError(image, 'HTTP 401 without a WWW-Authenticate challenge');
    const credentials = this.opts.credentials?.(registry);
    if (challenge.scheme === 'basic') {
      if (!credentials)
        throw new RegistryError(image, `${registry} needs credentials (Basic auth); log in with \`docker login ${registry}\` (config.json "auths")`);
      return basic(credentials);
    }
    if (challenge.scheme !== 'bearer') throw new RegistryError(image, `unsupported auth scheme "${challenge.scheme}"`);
    const { realm, service, scope } = challenge.params;
    if (!realm) throw new RegistryError(image, 'Bearer challenge without a realm');
    const tokenUrl = new URL(realm);
    this.checkTransport(image, tokenUrl);
    if (service) tokenUrl.searchParams.set('service', service);
    for (const s of (scope ?? `repository:${repository}:pull`).split(' ').filter(Boolean)) tokenUrl.searchParams.append('scope', s);
    // No redirects: a followed one could carry the login to a host (or a plain-HTTP URL) not checked here.
    const res = await this.fetch(image, tokenUrl, { headers: credentials ? { Authorization: basic(credentials) } : {}, redirect: 'error' });
    if (!res.ok) throw new RegistryError(image, `token request to ${tokenUrl.origin}${tokenUrl.pathname} answered HTTP ${res.status}${await errorCode(res)}`);
    let token: unknown;
    try {
      const body = JSON.parse((await readCapped(res, MAX_SMALL_BODY, 'the token response')).toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = body.token ?? body.access_token;
    } catch (err) {
      throw new RegistryError(image, `unreadable token response from ${tokenUrl.origin} (${(err as Error).message})`);
    }
    if (typeof token !== 'string' || !token) throw new RegistryError(image, `token response from ${tokenUrl.origin} has neither "token" nor "access_token"`);
    return `Bearer ${token}`;
  }

  /** Digests decide what runs in production: never over plain HTTP except to loopback. */
  private checkTransport(image: string, url: URL): void {
    if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.host))) return;
    throw new RegistryError(image, `refusing ${url.protocol}//${url.host}: only https (or http on loopback) is spoken`);
  }

  private async fetch(image: string, url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RegistryError(image, `cannot reach ${url.host} (${cause?.code ?? cause?.message ?? (err as Error).message})`);
    }
  }
}
