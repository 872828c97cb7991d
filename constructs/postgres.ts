import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../environments';
import { emptyDir, imageVersion, k8s, POSTGRES_NAME, resources, secretFiles, selectorLabels, serviceAccount, standardLabels, type PlatformContext } from './common';
import { disruptionBudget, podMetadata, restricted } from './platform-pods';
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

    this.service = new k8s.KubeService(this, 'service', {
      metadata: { name, namespace: ns, labels: standardLabels(env, name, 'database', version) },
      spec: {
        // Headless: the StatefulSet's governing Service, and the stable DNS name of its only pod.
        clusterIp: 'None',
        selector: selectorLabels(env, name),
        ports: [{ name: 'postgres', port: POSTGRES_PORT, targetPort: k8s.IntOrString.fromString('postgres') }],
      },
    });

    // The login as files: the image's entrypoint reads POSTGRES_USER_FILE / POSTGRES_PASSWORD_FILE.
    const login = secretFiles(db, ['username', 'password']);
    // pg_isready exits 0 once the server accepts connections; readiness over TCP, liveness over the socket.
    const isReady = (host: string): string[] => ['/bin/sh', '-c', `exec pg_isready -U "$(cat ${login.path('username')})" -d "$POSTGRES_DB" -h ${host} -p ${POSTGRES_PORT}`];

    this.statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: {
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
      },
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: selectorLabels(env, name) },
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: podMetadata(env, name, 'database', version),
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            securityContext: sec.pod,
            terminationGracePeriodSeconds: props.terminationGracePeriodSeconds ?? 60,
            containers: [
              {
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
                securityContext: sec.container,
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
              },
            ],
            volumes: [emptyDir('run', '16Mi'), emptyDir('tmp', '256Mi'), login.volume],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels: standardLabels(env, 'data', 'database') },
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(cfg.storage.storageClassName ? { storageClassName: cfg.storage.storageClassName } : {}),
              resources: { requests: { storage: k8s.Quantity.fromString(cfg.storage.size) } },
            },
          },
        ],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      },
    });

    disruptionBudget(this, env, name, ns, 'database');
  }
}
