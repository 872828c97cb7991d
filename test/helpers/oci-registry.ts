import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A small OCI-distribution registry on loopback, for tests of the image-lock resolver (no registry is
 * reachable from this machine). It speaks the parts of the protocol a digest lookup uses, the way Docker
 * Hub, ghcr.io and quay.io do: `GET /v2/`, `HEAD`/`GET /v2/<name>/manifests/<tag|digest>` with Accept
 * negotiation, `Content-Type`, `Docker-Content-Digest` and `Content-Length`, OCI error bodies, and the
 * token flow — a 401 with `WWW-Authenticate: Bearer realm="<url>/token",service="…",scope="repository:<name>:pull"`,
 * then `GET /token?service=…&scope=…` answering `{"token","access_token","expires_in","issued_at"}`.
 * Per repository it can instead demand Basic auth (as ECR does), require a login at the token endpoint
 * (a private repository), leave the digest header out (the spec makes it optional), answer with a
 * schema-1 media type, or redirect manifest requests to another registry (as registry.k8s.io does).
 * Content is synthetic: `syntheticIndex(name)` is a deterministic OCI image index for `repository:tag`.
 */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A deterministic single-platform OCI image (index → manifest) standing in for `repository:tag`. */
export function syntheticIndex(name: string): { index: Buffer; manifest: Buffer } {
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(`config of ${name}`), size: 2 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(`layer of ${name}`), size: 32 }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_MANIFEST, digest: sha256(manifest), size: manifest.length, platform: { architecture: 'amd64', os: 'linux' } }],
      annotations: { 'org.opencontainers.image.description': `synthetic test image for ${name}; not a real image` },
    }),
  );
  return { index, manifest };
}

/** The digest the fake registry serves for `repository:tag` (what `mlops images lock` must record). */
export const syntheticDigest = (name: string): string => sha256(syntheticIndex(name).index);

export interface RepositoryOptions {
  /** `token` (default): anonymous Bearer tokens; `private`: the token endpoint needs this login; `basic`: Basic auth on the registry itself. */
  auth?: 'token' | 'private' | 'basic';
  login?: { username: string; password: string };
  /** Answer HEAD without Docker-Content-Digest (clients must GET and hash). */
  omitDigestHeader?: boolean;
  /** Serve manifests as this media type instead of the stored one (e.g. schema 1). */
  contentType?: string;
  /** Send a different Docker-Content-Digest than the bytes hash to (a lying mirror). */
  wrongDigestHeader?: boolean;
  /** Pad the stored index with this many spaces (still valid JSON): a manifest over the size limit. */
  padBytes?: number;
  /** 307-redirect manifest requests for this repository to the same reference of a repository on another registry. */
  redirectTo?: { base: string; repository: string };
}

interface Blob {
  body: Buffer;
  mediaType: string;
}

export interface RequestLog {
  method: string;
  path: string;
  authorization?: string;
  accept?: string;
}

export class FakeOciRegistry {
  readonly requests: RequestLog[] = [];
  readonly tokenRequests: URLSearchParams[] = [];
  private readonly server = http.createServer((req, res) => this.handle(req, res));
  private readonly manifests = new Map<string, Blob>();
  private readonly repos = new Map<string, RepositoryOptions>();
  /** token → repository it grants pull on. */
  private readonly tokens = new Map<string, string>();
  url = '';
  readonly service: string;

  constructor(service = 'fake-registry.test') {
    this.service = service;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stores the synthetic image of `repository:tag` (tag and both digests resolve). */
  push(repository: string, tag: string, opts: RepositoryOptions = {}, name = `${repository}:${tag}`): string {
    const synthetic = syntheticIndex(name);
    const manifest = synthetic.manifest;
    const index = opts.padBytes ? Buffer.concat([synthetic.index, Buffer.alloc(opts.padBytes, 0x20)]) : synthetic.index;
    this.repos.set(repository, { ...this.repos.get(repository), ...opts });
    for (const ref of [tag, sha256(index)]) this.manifests.set(`${repository}@${ref}`, { body: index, mediaType: OCI_INDEX });
    this.manifests.set(`${repository}@${sha256(manifest)}`, { body: manifest, mediaType: OCI_MANIFEST });
    return sha256(index);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, accept: req.headers.accept });
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    if (url.pathname === '/token') {
      this.token(req, url, res);
      return;
    }
    if (url.pathname === '/v2/') {
      if (req.headers.authorization) res.writeHead(200).end('{}');
      else this.challenge(res, undefined);
      return;
    }
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    if (!m || (req.method !== 'GET' && req.method !== 'HEAD')) {
      this.error(res, 404, 'NAME_UNKNOWN', 'no such endpoint');
      return;
    }
    const [, repository, reference] = m;
    const opts = this.repos.get(repository);
    if (!opts) {
      this.error(res, 401, 'UNAUTHORIZED', 'authentication required', () => this.challenge(res, repository));
      return;
    }
    if (opts.redirectTo) return void res.writeHead(307, { Location: `${opts.redirectTo.base}/v2/${opts.redirectTo.repository}/manifests/${reference}` }).end();
    if (!this.authorized(req, repository, opts)) {
      this.error(res, 401, 'UNAUTHORIZED', 'authentication required', () => this.challenge(res, repository, opts));
      return;
    }
    const blob = this.manifests.get(`${repository}@${decodeURIComponent(reference)}`);
    if (!blob) {
      this.error(res, 404, 'MANIFEST_UNKNOWN', `manifest unknown: ${reference}`);
      return;
    }
    const accepted = (req.headers.accept ?? '').split(',').map((t) => t.trim().split(';')[0]);
    // As registries do: a client that does not accept an index gets no index.
    if (!opts.contentType && !accepted.includes(blob.mediaType)) {
      this.error(res, 404, 'MANIFEST_UNKNOWN', `no manifest in an accepted media type (${blob.mediaType})`);
      return;
    }
    const headers: Record<string, string | number> = { 'Content-Type': opts.contentType ?? blob.mediaType, 'Content-Length': blob.body.length };
    const digest = opts.wrongDigestHeader ? sha256('something else') : sha256(blob.body);
    if (!(opts.omitDigestHeader && req.method === 'HEAD')) headers['Docker-Content-Digest'] = digest;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : blob.body);
  }

  private authorized(req: http.IncomingMessage, repository: string, opts: RepositoryOptions): boolean {
    const auth = req.headers.authorization ?? '';
    if (opts.auth === 'basic') return auth === basicHeader(opts.login!);
    return auth.startsWith('Bearer ') && this.tokens.get(auth.slice('Bearer '.length)) === repository;
  }

  private challenge(res: http.ServerResponse, repository: string | undefined, opts: RepositoryOptions = {}): void {
    if (opts.auth === 'basic') res.setHeader('WWW-Authenticate', `Basic realm="${this.url}/",service="${this.service}"`);
    else
      res.setHeader(
        'WWW-Authenticate',
        `Bearer realm="${this.url}/token",service="${this.service}"${repository ? `,scope="repository:${repository}:pull"` : ''}`,
      );
  }

  private token(req: http.IncomingMessage, url: URL, res: http.ServerResponse): void {
    this.tokenRequests.push(url.searchParams);
    if (url.searchParams.get('service') !== this.service) {
      this.error(res, 400, 'DENIED', 'unknown service');
      return;
    }
    const scope = /^repository:(.+):pull$/.exec(url.searchParams.get('scope') ?? '');
    const repository = scope?.[1];
    const opts = repository ? this.repos.get(repository) : undefined;
    if (opts?.auth === 'private' && req.headers.authorization !== basicHeader(opts.login!)) {
      this.error(res, 401, 'UNAUTHORIZED', 'login required for a private repository');
      return;
    }
    const token = randomBytes(16).toString('hex');
    // Anonymous clients get a token for what they may pull; one for an unknown repository grants nothing.
    if (repository && opts) this.tokens.set(token, repository);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string, before?: () => void): void {
    before?.();
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
  }
}

export const basicHeader = (login: { username: string; password: string }): string =>
  `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}`;
