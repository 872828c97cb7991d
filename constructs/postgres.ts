import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import {
  emptyDir,
  imageVersion,
  k8s,
  POSTGRES_NAME,
  resources,
  secretFiles,
  selectorLabels,
  serviceAccount,
  standardLabels,
  type PlatformContext,
} from './common';
import { restricted } from './platform-pods';
import { StatefulWorkload } from './serving-workload';
import type { PodGroup } from './facts';
import { deviationAnnotations } from './deviations';
import { PLATFORM_SECRETS } from './secrets';

type InClusterPostgres = Extract<EnvironmentConfig['metadataStore'], { kind: 'in-cluster-postgres' }>;

export const POSTGRES_PORT = 5432;

export interface PostgresProps {
  readonly ctx: PlatformContext;
  /**
   * uid/gid the server runs as. The image's own `postgres` user, so initdb finds it in /etc/passwd
   * (the Alpine images have no nss_wrapper for arbitrary uids). @default 70 for `*alpine*` images, else 999 (Debian)
   */
  readonly uid?: number;
  /** Seconds the server gets for a clean shutdown (checkpoint) before SIGKILL. @default 60 */
  readonly terminationGracePeriodSeconds?: number;
}

/** The in-cluster PostgreSQL's address, for the tracking server's store URI. */
export function postgresHost(env: EnvironmentConfig): string {
  return `${POSTGRES_NAME}.${env.namespaces.platform}.svc`;
}

/**
 * PostgreSQL as a single-replica StatefulSet (one writer) behind a headless Service: the data directory
 * on a volumeClaimTemplate, the image's non-root uid with fsGroup so the volume is writable, a
 * read-only root filesystem with emptyDirs for the socket directory and /tmp, `pg_isready` probes,
 * the superuser (also the tracking server's login) from the `tracking-db` Secret, and a PDB.
 */
export class Postgres extends Construct {
  readonly workload: StatefulWorkload;
  /** The database's pods. */
  readonly pods: readonly PodGroup[];
  readonly statefulSet: k8s.KubeStatefulSet;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const { env } = props.ctx;
    const store = env.metadataStore;
    if (store.kind !== 'in-cluster-postgres') throw new Error(`environment "${env.name}": Postgres construct needs metadataStore.kind "in-cluster-postgres"`);
    const cfg: InClusterPostgres = store;
    const ns = env.namespaces.platform;
    const name = POSTGRES_NAME;
    const version = imageVersion(cfg.image);
    const uid = props.uid ?? (/alpine/.test(cfg.image) ? 70 : 999);
    const sec = restricted(uid);
    const db = PLATFORM_SECRETS.trackingDb.name;

    serviceAccount(this, env, name, ns, 'database');

    // The login as files: the image's entrypoint reads POSTGRES_USER_FILE / POSTGRES_PASSWORD_FILE.
    const login = secretFiles(db, ['username', 'password']);
    this.workload = new StatefulWorkload(this, 'database', {
      name,
      namespace: ns,
      labels: standardLabels(env, name, 'database', version),
      annotations: deviationAnnotations([
        {
          checkov: ['CKV_K8S_40'],
          kubeScore: ['container-security-context-user-group-id'],
          reason: `Runs as the postgres image's own user (uid ${uid}), not a uid above 10000: that user owns the data directory and initdb needs the uid in /etc/passwd (the Alpine image has no nss_wrapper). Still non-root, no capabilities, read-only root.`,
        },
      ]),
      selector: selectorLabels(env, name),
      serviceAccountName: name,
      securityContext: sec.pod,
      terminationGracePeriodSeconds: props.terminationGracePeriodSeconds ?? 60,
      containers: [postgresContainer(cfg, sec.container, login)],
      volumes: [emptyDir('run', '16Mi'), emptyDir('tmp', '256Mi'), login.volume],
      // Headless: the StatefulSet's governing Service, and the stable DNS name of its only pod.
      governingService: { ports: [{ name: 'postgres', port: POSTGRES_PORT }] },
      dataVolume: { name: 'data', size: cfg.storage.size, storageClassName: cfg.storage.storageClassName, labels: standardLabels(env, 'data', 'database') },
    });
    this.service = this.workload.governingService;
    this.statefulSet = this.workload.apiObject;
    this.pods = [this.workload.pods];
    // The PDB carries the blueprint's version label, not the image's (as it always has).
    this.workload.limitDisruptions({ labels: standardLabels(env, name, 'database') });
  }
}

/** The server container: the login from files, `pg_isready` probes (readiness over TCP, liveness over the socket). */
function postgresContainer(cfg: InClusterPostgres, securityContext: k8s.SecurityContext, login: ReturnType<typeof secretFiles>): k8s.Container {
  // pg_isready exits 0 once the server accepts connections.
  const isReady = (host: string): string[] => [
    '/bin/sh',
    '-c',
    `exec pg_isready -U "$(cat ${login.path('username')})" -d "$POSTGRES_DB" -h ${host} -p ${POSTGRES_PORT}`,
  ];
  return {
    name: 'postgres',
    image: cfg.image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'postgres', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
    env: [
      { name: 'POSTGRES_USER_FILE', value: login.path('username') },
      { name: 'POSTGRES_PASSWORD_FILE', value: login.path('password') },
      { name: 'POSTGRES_DB', value: cfg.database },
      // A subdirectory: the volume root holds lost+found, which initdb refuses.
      { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
    ],
    securityContext,
    resources: resources(cfg.resources),
    startupProbe: { exec: { command: isReady('127.0.0.1') }, periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 5 },
    readinessProbe: { exec: { command: isReady('127.0.0.1') }, periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 5 },
    livenessProbe: { exec: { command: isReady('/var/run/postgresql') }, periodSeconds: 20, failureThreshold: 6, timeoutSeconds: 5 },
    volumeMounts: [
      { name: 'data', mountPath: '/var/lib/postgresql/data' },
      { name: 'run', mountPath: '/var/run/postgresql' },
      { name: 'tmp', mountPath: '/tmp' },
      login.mount,
    ],
  };
}
