import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from '../helpers/ports';
import { bin, componentDirs, pinnedVersions } from './cache';
import { writeCertificates, type Certificates } from './certs';

const exec = promisify(execFile);

/**
 * A Kubernetes control plane on loopback for one suite: etcd, kube-apiserver (Pod Security Admission on,
 * Node,RBAC authorization, front-proxy request headers, service-account keys), kube-controller-manager
 * (every controller, each with its own service-account credentials, so the garbage collector and the
 * namespace controller run), kube-scheduler, and kwok simulating the nodes the test creates. Built from the
 * binaries test/cluster/build/build.sh caches; everything binds to 127.0.0.1 on free ports.
 */
export interface ControlPlane {
  /** Temporary directory holding the kubeconfig, certificates, etcd data and each component's log. */
  readonly dir: string;
  readonly kubeconfig: string;
  readonly server: string;
  /** Runs kubectl against this control plane; rejects on a non-zero exit unless `allowFailure`. */
  kubectl(args: string[], opts?: { input?: string; allowFailure?: boolean; timeoutMs?: number }): Promise<CommandResult>;
  /** A GET on the API as the cluster admin, parsed as JSON. */
  getJson<T = unknown>(apiPath: string): Promise<T>;
  /** Stops every component (each in its own process group) and removes the directory. */
  stop(): Promise<void>;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

interface Component {
  name: string;
  child: ChildProcess;
  exited: Promise<void>;
}

function startComponent(dir: string, name: string, file: string, args: string[]): Component {
  const log = fs.openSync(path.join(dir, `${name}.log`), 'a');
  // detached: a process group of its own, so stop() reaches anything it forks.
  const child = spawn(file, args, { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { name, child, exited };
}

function logTail(dir: string, name: string, lines = 15): string {
  try {
    return fs
      .readFileSync(path.join(dir, `${name}.log`), 'utf8')
      .trim()
      .split('\n')
      .slice(-lines)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `check` until it returns true; a component that exits meanwhile fails at once with its log. */
async function waitFor(what: string, check: () => Promise<boolean>, deps: Component[], dir: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = deps.find((c) => c.child.exitCode !== null || c.child.signalCode !== null);
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}:\n${logTail(dir, dead.name)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last log lines:\n${deps.map((c) => `[${c.name}]\n${logTail(dir, c.name, 5)}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** TLS options for a GET: the cluster admin, or (for a component's self-signed /healthz on loopback) none. */
type Tls = Certificates | 'self-signed';

function httpGet(url: string, tlsFrom?: Tls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const tls =
      tlsFrom === 'self-signed'
        ? { rejectUnauthorized: false }
        : tlsFrom
          ? { ca: fs.readFileSync(tlsFrom.ca.cert), cert: fs.readFileSync(tlsFrom.admin.cert), key: fs.readFileSync(tlsFrom.admin.key) }
          : {};
    // agent: false — no kept-alive socket outlives the suite (Node's default agent keeps them).
    const req = lib.get(url, { ...tls, agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timeout`)));
  });
}

function kubeconfigYaml(server: string, certs: Certificates, user: 'admin' | 'controllerManager' | 'scheduler'): string {
  const u = certs[user];
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority': certs.ca.cert } }],
    users: [{ name: user, user: { 'client-certificate': u.cert, 'client-key': u.key } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user } }],
    'current-context': 'test',
  });
}

/** The KwokConfiguration plus the stages kwok's module zip carries (it has none built in). */
function kwokConfig(dir: string, serverAddress: string): string {
  const stageDir = path.join(componentDirs().kwok, 'stage');
  const stages = [
    'node/fast/node-initialize.yaml',
    'node/heartbeat-with-lease/node-heartbeat-with-lease.yaml',
    'pod/fast/pod-ready.yaml',
    'pod/fast/pod-complete.yaml',
    'pod/fast/pod-delete.yaml',
  ];
  const config = stringify({
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokConfiguration',
    options: {
      // kwok refuses 0 for these; the defaults apply only through its own CLI config loader.
      podPlayStageParallelism: 4,
      nodePlayStageParallelism: 4,
      nodeLeaseParallelism: 4,
      nodeLeaseDurationSeconds: 40,
      serverAddress,
      nodeIP: '127.0.0.1',
      // Pod IPs are data only (no container runs, nothing connects to them); without a range kwok gives pods the
      // node's loopback IP, which EndpointSlices reject. 198.18.0.0/15 is reserved for benchmarks and never routed.
      cidr: '198.18.0.0/16',
      manageAllNodes: false,
      manageNodesWithAnnotationSelector: `${KWOK_NODE_ANNOTATION}=fake`,
    },
  });
  const file = path.join(dir, 'kwok.yaml');
  fs.writeFileSync(file, [config, ...stages.map((s) => fs.readFileSync(path.join(stageDir, s), 'utf8'))].join('\n---\n'));
  return file;
}

/** Nodes carrying this annotation (value `fake`) are the ones kwok manages. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
const SERVICE_CIDR = '10.96.0.0/16';

async function startEtcd(dir: string): Promise<{ c: Component; url: string }> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const c = startComponent(dir, 'etcd', bin('etcd', 'etcd'), [
    '--name=test',
    `--data-dir=${path.join(dir, 'etcd')}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
    `--initial-cluster=test=http://127.0.0.1:${peer}`,
    // A test cluster: losing its data on a crash is fine, and fsync on a busy disk is the slowest part.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ]);
  await waitFor('etcd /health', async () => JSON.parse((await httpGet(`${url}/health`)).body).health === 'true', [c], dir);
  return { c, url };
}

function apiserverArgs(dir: string, certs: Certificates, etcd: string, port: number): string[] {
  return [
    `--etcd-servers=${etcd}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${path.join(dir, 'apiserver')}`,
    `--tls-cert-file=${certs.apiserver.cert}`,
    `--tls-private-key-file=${certs.apiserver.key}`,
    `--client-ca-file=${certs.ca.cert}`,
    '--authorization-mode=Node,RBAC',
    // PodSecurity is on by default in v1.34; named so the suite's premise does not depend on a default.
    '--enable-admission-plugins=PodSecurity',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
    `--service-account-key-file=${certs.serviceAccount.pub}`,
    `--service-account-signing-key-file=${certs.serviceAccount.key}`,
    // The aggregation layer's front proxy: without these the controllers log a CA error every few seconds.
    `--requestheader-client-ca-file=${certs.frontProxyCa.cert}`,
    '--requestheader-allowed-names=front-proxy-client',
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${certs.frontProxyClient.cert}`,
    `--proxy-client-key-file=${certs.frontProxyClient.key}`,
    '--allow-privileged=true',
    '--profiling=false',
  ];
}

function controllerManagerArgs(dir: string, certs: Certificates, kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${path.join(dir, 'controller-manager')}`,
    '--use-service-account-credentials',
    '--controllers=*',
    '--leader-elect=false',
    `--service-account-private-key-file=${certs.serviceAccount.key}`,
    `--root-ca-file=${certs.ca.cert}`,
    `--cluster-signing-cert-file=${certs.ca.cert}`,
    `--cluster-signing-key-file=${certs.ca.key}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--profiling=false',
  ];
}

function schedulerArgs(dir: string, kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${path.join(dir, 'scheduler')}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}

/** Starts the whole control plane and waits until it serves, schedules and simulates nodes. */
export async function startControlPlane(): Promise<ControlPlane> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cluster-'));
  const components: Component[] = [];
  const stop = async () => {
    for (const c of [...components].reverse()) {
      if (c.child.exitCode !== null || c.child.signalCode !== null || c.child.pid === undefined) continue;
      try {
        process.kill(-c.child.pid, 'SIGTERM');
      } catch {
        continue;
      }
      // The grace timer is cleared once the process is gone: a pending one kept jest alive after the suite.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)));
      const killed = await Promise.race([c.exited.then(() => true), grace]);
      clearTimeout(timer);
      if (!killed) process.kill(-c.child.pid, 'SIGKILL');
      await c.exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const certs = writeCertificates(path.join(dir, 'pki'));
    const etcd = await startEtcd(dir);
    components.push(etcd.c);
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const apiserver = startComponent(dir, 'kube-apiserver', bin('kubernetes', 'kube-apiserver'), apiserverArgs(dir, certs, etcd.url, port));
    components.push(apiserver);
    await waitFor('kube-apiserver /readyz', async () => (await httpGet(`${server}/readyz`, certs)).status === 200, components, dir, 180_000);

    const kubeconfig = path.join(dir, 'kubeconfig');
    const write = (name: string, user: 'admin' | 'controllerManager' | 'scheduler') => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, kubeconfigYaml(server, certs, user), { mode: 0o600 });
      return f;
    };
    write('kubeconfig', 'admin');
    const [kcmPort, schedulerPort] = [await freePort(), await freePort()];
    const kcm = startComponent(
      dir,
      'kube-controller-manager',
      bin('kubernetes', 'kube-controller-manager'),
      controllerManagerArgs(dir, certs, write('controller-manager.kubeconfig', 'controllerManager'), kcmPort),
    );
    const scheduler = startComponent(
      dir,
      'kube-scheduler',
      bin('kubernetes', 'kube-scheduler'),
      schedulerArgs(dir, write('scheduler.kubeconfig', 'scheduler'), schedulerPort),
    );
    const kwokPort = await freePort();
    const kwok = startComponent(dir, 'kwok', bin('kwok', 'kwok'), [
      `--kubeconfig=${kubeconfig}`,
      `--config=${kwokConfig(dir, `127.0.0.1:${kwokPort}`)}`,
      `--server-address=127.0.0.1:${kwokPort}`,
      '--node-ip=127.0.0.1',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
    ]);
    components.push(kcm, scheduler, kwok);

    const cp = makeControlPlane(dir, kubeconfig, server, certs, stop);
    // Healthy components (their /healthz on their own self-signed loopback certificates), and the
    // controllers at work: the service-account controller has given `default` its account.
    const healthy = (p: number) => async () => (await httpGet(`https://127.0.0.1:${p}/healthz`, 'self-signed')).status === 200;
    await waitFor('kube-controller-manager /healthz', healthy(kcmPort), components, dir);
    await waitFor('kube-scheduler /healthz', healthy(schedulerPort), components, dir);
    await waitFor(
      'the default ServiceAccount',
      async () => (await cp.kubectl(['get', 'serviceaccount', 'default', '-n', 'default'], { allowFailure: true })).code === 0,
      components,
      dir,
    );
    await waitFor('kwok /healthz', async () => (await httpGet(`http://127.0.0.1:${kwokPort}/healthz`)).status === 200, components, dir);
    return cp;
  } catch (err) {
    await stop();
    throw err;
  }
}

function makeControlPlane(dir: string, kubeconfig: string, server: string, certs: Certificates, stop: () => Promise<void>): ControlPlane {
  const kubectlBin = bin('kubernetes', 'kubectl');
  return {
    dir,
    kubeconfig,
    server,
    async kubectl(args, opts = {}) {
      const timeout = opts.timeoutMs ?? 120_000;
      const child = exec(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], { maxBuffer: 64 * 1024 * 1024, timeout });
      if (opts.input !== undefined) {
        child.child.stdin?.end(opts.input);
      }
      try {
        const { stdout, stderr } = await child;
        return { stdout, stderr, code: 0 };
      } catch (err) {
        const e = err as { stdout?: string; stderr?: string; code?: number | string; killed?: boolean };
        const killed = e.killed ? `killed after ${timeout / 1000}s; ` : '';
        const result = { stdout: e.stdout ?? '', stderr: `${killed}${e.stderr ?? String(err)}`, code: typeof e.code === 'number' ? e.code : 1 };
        if (opts.allowFailure) return result;
        const command = args.join(' ');
        throw new Error(`kubectl ${command.length > 160 ? `${command.slice(0, 160)}…` : command} failed (${result.code}): ${result.stderr.trim()}`);
      }
    },
    async getJson<T>(apiPath: string) {
      const r = await httpGet(`${server}${apiPath}`, certs);
      if (r.status !== 200) throw new Error(`GET ${apiPath}: ${r.status} ${r.body.slice(0, 300)}`);
      return JSON.parse(r.body) as T;
    },
    stop,
  };
}

/** The pinned Kubernetes version the binaries report (`kubectl version`), for assertions and the README. */
export const KUBERNETES_VERSION = pinnedVersions().KUBERNETES_VERSION;
