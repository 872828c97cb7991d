import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Availability } from '../helpers/tools';
import { ownValue } from '../../core/records';

/**
 * Where test/cluster/build/build.sh puts the control plane's binaries and the upstream CRDs, computed from
 * the same pinned inputs (versions.env, crds.tsv, package-lock.json), so the suites find them without
 * running the build. A directory counts only once build.sh has stamped it (`.stamp`, written last).
 */
const BUILD_DIR = path.join(__dirname, 'build');
const REPO = path.join(__dirname, '..', '..');

export const BUILD_COMMAND = 'bash test/cluster/build/build.sh';

export function cacheRoot(): string {
  return process.env.MLOPS_CLUSTER_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'mlops-blueprint');
}

/** KEY=VALUE lines of versions.env. */
export function pinnedVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(BUILD_DIR, 'versions.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(\S+)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** The upstream CRD sets (crds.tsv): name, Go module, version, path in the module zip. */
export interface CrdSource {
  name: string;
  module: string;
  version: string;
  path: string;
}

export function crdSources(): CrdSource[] {
  return fs
    .readFileSync(path.join(BUILD_DIR, 'crds.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const [name, module, version, p] = l.split('\t');
      return { name, module, version, path: p };
    });
}

/** The plugin version @pulumi/kubernetes (as locked) asks for; the provider binary is built with it. */
export function pulumiKubernetesPluginVersion(): string {
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  return lock.packages['node_modules/@pulumi/kubernetes'].version;
}

/** The cache directory of each component, keyed as build.sh names them. */
export function componentDirs(): Record<string, string> {
  const v = pinnedVersions();
  const root = cacheRoot();
  return {
    kubernetes: path.join(root, `kubernetes-${v.KUBERNETES_VERSION}`),
    etcd: path.join(root, `etcd-${v.ETCD_VERSION}`),
    kwok: path.join(root, `kwok-${v.KWOK_VERSION}`),
    pulumi: path.join(root, `pulumi-${v.PULUMI_VERSION}`),
    'pulumi-kubernetes': path.join(root, `pulumi-resource-kubernetes-v${pulumiKubernetesPluginVersion()}`),
    promtool: path.join(root, `promtool-${v.PROMETHEUS_VERSION}`),
    prometheus: path.join(root, `prometheus-${v.PROMETHEUS_VERSION}`),
    'argo-workflows': path.join(root, `argo-workflows-${v.ARGO_WORKFLOWS_VERSION}`),
  };
}

export function crdDir(name: string): string {
  const src = crdSources().find((s) => s.name === name);
  if (!src) throw new Error(`no CRD set "${name}" in test/cluster/build/crds.tsv`);
  return path.join(cacheRoot(), `crds-${src.name}-${src.version}`);
}

/** Every CRD file of every pinned set, in crds.tsv order. */
export function allCrdFiles(): string[] {
  return crdSources().flatMap((s) => {
    const dir = crdDir(s.name);
    return fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => path.join(dir, f));
  });
}

/** Components build.sh builds only when named, with their cold build time on 2 cores where measured. */
const ON_REQUEST: Readonly<Record<string, string>> = { prometheus: '', 'argo-workflows': '~1 h' };

const built = (dir: string) => fs.existsSync(path.join(dir, '.stamp'));

/** Whether the named components (and, with `crds`, every CRD set) are built; the reason names the command. */
export function cacheAvailability(components: string[], crds = false): Availability {
  const dirs = componentDirs();
  const missing = components.filter((c) => !built(dirs[c]));
  if (crds)
    missing.push(
      ...crdSources()
        .filter((s) => !built(crdDir(s.name)))
        .map((s) => `crds-${s.name}`),
    );
  if (missing.length === 0) return { ok: true, reason: '' };
  // build.sh builds these only when named (.ci/run starts the workflow-controller's build first, in the background).
  const onRequest = missing.filter((c) => ownValue(ON_REQUEST, c) !== undefined);
  const commands = [...(missing.length > onRequest.length ? [BUILD_COMMAND] : []), ...onRequest.map((c) => `${BUILD_COMMAND} ${c}`)];
  const cold = onRequest
    .filter((c) => ownValue(ON_REQUEST, c))
    .map((c) => `${c} ${ON_REQUEST[c]}`)
    .join(', ');
  return {
    ok: false,
    reason: `${missing.join(', ')} not built in ${cacheRoot()} (run \`${commands.join('` and `')}\`; cold: ~30 min on 2 cores${cold ? `, ${cold}` : ''})`,
  };
}

export function bin(component: string, name: string): string {
  return path.join(componentDirs()[component], 'bin', name);
}
