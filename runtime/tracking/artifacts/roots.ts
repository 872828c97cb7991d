import * as fs from 'node:fs';
import * as path from 'node:path';
import { MlflowError } from '../http/errors';
import { LocalArtifactRepository } from './local';
import { childLocation, formatArtifactLocation, isWithin, localPathOf, parseArtifactLocation, segmentsBelow, type ArtifactLocation } from './locations';
import { joinArtifactPath } from './paths';
import type { ArtifactRepository } from './repository';
import { S3ArtifactRepository } from './s3';

/**
 * The artifact roots this server reads and writes, and the one policy that decides which locations an
 * experiment may have (when it is created) and which stored run or logged-model roots are served (on
 * every artifact request, whatever the database says).
 *
 * Roots: the proxy (`mlflow-artifacts:` → `--artifacts-destination`), `--default-artifact-root`, and
 * `--allowed-artifact-roots` (admins only). Nothing may contain or sit inside the backend store's
 * directory, or name the proxy's destination other than as `mlflow-artifacts:`.
 */
export type RootKind = 'proxied' | 'default' | 'allowed';

interface Root {
  kind: RootKind;
  /** As clients write it: `mlflow-artifacts:/…` for the proxy, `file:///…` or `s3://…` for direct roots. */
  location: ArtifactLocation;
  /** Where it is: the proxy mapped onto its destination, a local root by its real path. */
  physical: ArtifactLocation;
  repository: ArtifactRepository;
  /** The root's own path inside `repository` ('' unless it is a sub-path of the proxy's destination). */
  base: string;
}

export interface ArtifactRootsOptions {
  /** `--artifacts-destination` and its repository, when artifacts are proxied. @default undefined (not proxied) */
  proxied?: { destination: string; repository: ArtifactRepository };
  /** `--default-artifact-root`: `mlflow-artifacts:/`, `s3://bucket/prefix` or a local directory. */
  defaultArtifactRoot: string;
  /** `--allowed-artifact-roots`: further `s3://` or local prefixes that only admins may give experiments. @default [] */
  allowed?: readonly string[];
  /** Directories of the backend store (the SQLite database's folder) no artifact location may touch. @default [] */
  storeDirs?: readonly string[];
}

/** Who asks for a location: `privileged` is an admin, or anybody when the server runs without authentication. */
export interface Caller {
  privileged: boolean;
}

/** A stored root that passed the checks: read it as `repository` paths below `base`. */
export interface ResolvedRoot {
  repository: ArtifactRepository;
  base: string;
}

/** Which run or logged model a stored root belongs to: its directory must end in `<id>/artifacts`. */
export type ArtifactOwnerRef = { kind: 'run'; id: string } | { kind: 'logged_model'; id: string } | { kind: 'trace'; id: string };

/** The last segments of an owner's artifact directory: `<run>/artifacts`, `models/<model>/artifacts`, `traces/<trace>/artifacts`. */
export function ownerSuffix(ref: ArtifactOwnerRef): string[] {
  return ref.kind === 'run' ? [ref.id, 'artifacts'] : [ref.kind === 'trace' ? 'traces' : 'models', ref.id, 'artifacts'];
}

/** "run x", "logged model x", "trace x" for messages. */
export function ownerName(ref: ArtifactOwnerRef): string {
  return `${ref.kind === 'logged_model' ? 'logged model' : ref.kind} ${ref.id}`;
}

/** Finds the run or logged model whose artifact directory contains a location (see owners.ts). */
export type OwnerLookup = (location: ArtifactLocation) => Promise<ArtifactOwnerRef | undefined>;

const denied = (uri: string, why: string) => new MlflowError('PERMISSION_DENIED', `The artifact root '${uri}' is not served: ${why}.`);
const invalid = (uri: string, why: string) => MlflowError.invalid(`Invalid artifact location '${uri}': ${why}.`);

/** A local path by its real path: the deepest existing ancestor resolved, the missing rest appended. */
async function realLocation(loc: ArtifactLocation): Promise<ArtifactLocation> {
  if (loc.scheme !== 'file') return loc;
  let existing = localPathOf(loc);
  const rest: string[] = [];
  for (;;) {
    try {
      return parseArtifactLocation(path.join(await fs.promises.realpath(existing), ...rest));
    } catch (err) {
      if (err instanceof MlflowError || existing === '/') throw err;
      rest.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
}

/** A direct root's repository: S3, or a local directory the server does not create. */
function openDirect(uri: string): ArtifactRepository {
  return uri.startsWith('s3://') ? new S3ArtifactRepository(uri) : new LocalArtifactRepository(uri, false);
}

export class ArtifactRoots {
  private readonly roots: Root[] = [];
  private storeDirs: ArtifactLocation[] = [];
  private proxiedPhysical?: ArtifactLocation;

  private constructor() {}

  /** Resolves every configured root (local ones to their real paths) once, at start. */
  static async create(opts: ArtifactRootsOptions): Promise<ArtifactRoots> {
    const roots = new ArtifactRoots();
    const cwd = process.cwd();
    roots.storeDirs = await Promise.all((opts.storeDirs ?? []).map((d) => realLocation(parseArtifactLocation(d, { relativeTo: cwd }))));
    if (opts.proxied) {
      roots.proxiedPhysical = await realLocation(parseArtifactLocation(opts.proxied.destination, { relativeTo: cwd }));
      const location: ArtifactLocation = { scheme: 'mlflow-artifacts', bucket: '', segments: [] };
      roots.roots.push({ kind: 'proxied', location, physical: roots.proxiedPhysical, repository: opts.proxied.repository, base: '' });
    }
    await roots.addRoot('default', opts.defaultArtifactRoot, cwd);
    for (const uri of opts.allowed ?? []) {
      if (!/^(s3|file):\/\/|^\//i.test(uri)) throw new Error(`--allowed-artifact-roots: ${uri} is not an s3:// URI or an absolute local path`);
      await roots.addRoot('allowed', uri, cwd);
    }
    return roots;
  }

  private async addRoot(kind: RootKind, uri: string, cwd: string): Promise<void> {
    const location = parseArtifactLocation(uri, { relativeTo: cwd });
    if (location.scheme === 'mlflow-artifacts') {
      // Without --serve-artifacts such a root is another server's proxy: this one serves none of it.
      const proxy = this.roots.find((r) => r.kind === 'proxied');
      if (!proxy) return;
      this.roots.push({
        kind,
        location,
        physical: childLocation(proxy.physical, location.segments),
        repository: proxy.repository,
        base: location.segments.join('/'),
      });
      return;
    }
    const physical = await realLocation(location);
    // A prefix may contain the store (locations under it are checked one by one), but the proxy's
    // destination has one name only: every default location inside it would be refused later.
    if (kind === 'default' && this.proxiedPhysical && (isWithin(physical, this.proxiedPhysical) || isWithin(this.proxiedPhysical, physical))) {
      throw new Error(`--default-artifact-root ${uri} overlaps --artifacts-destination: use mlflow-artifacts:/ (the default when serving artifacts)`);
    }
    this.roots.push({ kind, location, physical, repository: openDirect(formatArtifactLocation(location)), base: '' });
  }

  /** The most specific root containing `loc`; the proxy and default root must contain it strictly. */
  private rootFor(loc: ArtifactLocation): Root | undefined {
    const containing = this.roots.filter((r) => isWithin(loc, r.location, r.kind !== 'allowed'));
    return containing.sort((a, b) => b.location.segments.length - a.location.segments.length)[0];
  }

  /**
   * The backend store's directory and the proxy's destination are off limits: no location may be or
   * contain either, and the destination is reachable only as `mlflow-artifacts:` (never by another name).
   */
  private checkZones(uri: string, loc: ArtifactLocation, physical: ArtifactLocation): void {
    const direct = loc.scheme !== 'mlflow-artifacts';
    for (const dir of this.storeDirs) if (isWithin(dir, physical)) throw invalid(uri, "it is or contains the server's backend store directory");
    if (this.proxiedPhysical && isWithin(this.proxiedPhysical, physical)) throw invalid(uri, "it is or contains the server's artifact destination");
    if (this.proxiedPhysical && direct && isWithin(physical, this.proxiedPhysical))
      throw invalid(uri, "it is inside the server's artifact destination: use an mlflow-artifacts:/ location");
  }

  /**
   * Checks the location a client asks for a new experiment and returns the canonical URI to store.
   * Invalid or unsafe locations are 400 for everyone; valid ones under the proxy or the allow-list are
   * 403 for a non-admin (who gets the server-assigned directory by leaving artifact_location empty).
   */
  async checkNewLocation(uri: string, caller: Caller, owners: OwnerLookup): Promise<string> {
    const loc = parseArtifactLocation(uri);
    if (this.roots.some((r) => r.kind !== 'allowed' && isWithin(r.location, loc) && isWithin(loc, r.location))) {
      throw invalid(uri, 'it is an artifact root itself; leave artifact_location empty to get a directory of your own under it');
    }
    const root = this.rootFor(loc);
    if (!root) throw invalid(uri, 'it is outside the artifact roots this server accepts');
    const physical = await realLocation(loc.scheme === 'mlflow-artifacts' ? childLocation(root.physical, segmentsBelow(loc, root.location)) : loc);
    if (!isWithin(physical, root.physical)) throw invalid(uri, 'it resolves (through a symbolic link) outside its artifact root');
    this.checkZones(uri, loc, physical);
    const proxy = this.roots.find((r) => r.kind === 'proxied');
    // `<root>/<n>` is the server-assigned directory of experiment n, and the proxy's permission check reads n from it.
    for (const r of [root, ...(proxy && isWithin(loc, proxy.location) ? [proxy] : [])]) {
      if (r.kind !== 'allowed' && /^\d+$/.test(segmentsBelow(loc, r.location)[0] ?? ''))
        throw invalid(uri, 'numbered directories are reserved for server-assigned experiment locations');
    }
    const owner = await owners(loc);
    if (owner) throw invalid(uri, `it is inside the artifact directory of ${ownerName(owner)}`);
    if (!caller.privileged && (root.kind === 'allowed' || loc.scheme === 'mlflow-artifacts')) {
      throw new MlflowError(
        'PERMISSION_DENIED',
        `Only an admin can place an experiment at '${uri}'; leave artifact_location empty to get the server-assigned directory.`,
      );
    }
    return formatArtifactLocation(loc);
  }

  /**
   * Resolves the stored artifact root of a run or logged model to the repository that holds it, or
   * refuses (403): it must parse cleanly, end in `<id>/artifacts` of that run (`models/<id>/artifacts`
   * of that model), lie inside a configured root and keep out of the store's own directories.
   */
  resolveStored(uri: string, owner: ArtifactOwnerRef): ResolvedRoot {
    let loc: ArtifactLocation;
    try {
      loc = parseArtifactLocation(uri);
    } catch (err) {
      throw denied(uri, err instanceof Error ? err.message.replace(/\.$/, '') : 'not a valid location');
    }
    const suffix = ownerSuffix(owner);
    if (loc.segments.length < suffix.length || suffix.some((s, i) => loc.segments[loc.segments.length - suffix.length + i] !== s)) {
      throw denied(uri, `it is not the artifact directory of ${ownerName(owner)}`);
    }
    if (loc.scheme === 'mlflow-artifacts' && !this.roots.some((r) => r.kind === 'proxied')) {
      throw new MlflowError('ENDPOINT_NOT_FOUND', 'Artifact proxying is disabled: the server runs with --no-serve-artifacts.');
    }
    const root = this.rootFor(loc);
    if (!root) throw denied(uri, 'it is outside the artifact roots this server serves');
    try {
      this.checkZones(uri, loc, loc.scheme === 'mlflow-artifacts' ? childLocation(root.physical, segmentsBelow(loc, root.location)) : loc);
    } catch (err) {
      throw denied(uri, (err as Error).message.replace(/^Invalid artifact location '[^']*': /, '').replace(/\.$/, ''));
    }
    return { repository: root.repository, base: joinArtifactPath(root.base, ...segmentsBelow(loc, root.location)) };
  }

  /** Releases the direct roots' connections (the proxy's repository is closed by its owner). */
  close(): void {
    for (const r of this.roots) if (r.kind !== 'proxied' && r.base === '') r.repository.close?.();
  }
}
