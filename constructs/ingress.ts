import { Construct } from 'constructs';
import type { EnvOnlySecrets } from './deviations';
import type { EnvironmentConfig } from '../environments';
import {
  customObject,
  emptyDir,
  imageVersion,
  k8s,
  OAUTH2_PROXY_NAME,
  RUNTIME_UID,
  resources,
  secretEnv,
  selectorLabels,
  serviceAccount,
  standardLabels,
  TRACKING_NAME,
  TRACKING_PORT,
  trackingUrl,
  type PlatformContext,
} from './common';
import { httpProbe, restricted, serviceMonitor, spreadTopologyKeys } from './platform-pods';
import { ServingWorkload } from './serving-workload';
import { edgeScheme, type PodGroup } from './facts';
import { PLATFORM_SECRETS } from './secrets';

export const OAUTH2_PROXY_PORT = 4180;
export const OAUTH2_PROXY_METRICS_PORT = 44180;
/** The TLS Secret cert-manager fills for the tracking host (or the environment's existing Secret). */
export const TRACKING_TLS_SECRET = 'tracking-tls';

const OAUTH2_PROXY_ENV_ONLY =
  'oauth2-proxy reads its settings from OAUTH2_PROXY_* env; its --client-secret-file and --cookie-secret-file flags were not verified against the pinned v7.7.1 image here, so the env form it certainly reads stays.';

/** oauth2-proxy's Secret env vars and why they stay env vars. */
export const OAUTH2_PROXY_ENV_ONLY_SECRETS: EnvOnlySecrets = {
  OAUTH2_PROXY_CLIENT_SECRET: OAUTH2_PROXY_ENV_ONLY,
  OAUTH2_PROXY_COOKIE_SECRET: OAUTH2_PROXY_ENV_ONLY,
};

type OidcAuth = Extract<EnvironmentConfig['ingress']['auth'], { mode: 'oidc' }>;

/**
 * TLS for an Ingress of this environment: the `spec.tls` entry and the cert-manager annotation.
 * Exported so the inference Ingresses (serving namespace) use the same issuer.
 */
export function ingressTls(env: EnvironmentConfig, hosts: string[], secretName: string): { tls: k8s.IngressTls[]; annotations: Record<string, string> } {
  const t = env.ingress.tls;
  if (t.mode === 'none') return { tls: [], annotations: {} };
  if (t.mode === 'existing-secret') return { tls: [{ hosts, secretName: t.secretName }], annotations: {} };
  return { tls: [{ hosts, secretName }], annotations: { 'cert-manager.io/cluster-issuer': t.clusterIssuer } };
}

export interface TrackingIngressProps {
  readonly ctx: PlatformContext;
  /** oauth2-proxy replicas (OIDC mode). @default 2 */
  readonly oauth2ProxyReplicas?: number;
  /** oauth2-proxy container resources. @default 50m/64Mi requests, 128Mi limit */
  readonly oauth2ProxyResources?: EnvironmentConfig['tracking']['resources'];
}

/**
 * The tracking server's public entry: an nginx Ingress on the environment's host, authenticated at the
 * edge either by nginx basic auth (htpasswd from the `ingress-basic-auth` Secret) or by OIDC through an
 * oauth2-proxy Deployment the Ingress routes to; TLS from cert-manager (and its ACME ClusterIssuer when
 * the environment defines one) or an existing Secret.
 */
export class TrackingIngress extends Construct {
  readonly ingress: k8s.KubeIngress;
  /** The edge's own pods: oauth2-proxy's under OIDC, none under basic auth (nginx checks it). */
  readonly pods: readonly PodGroup[] = [];
  /** The tracking server's public URL, `http(s)://<ingress.host>`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: TrackingIngressProps) {
    super(scope, id);
    const { env } = props.ctx;
    const ns = env.namespaces.platform;
    const host = env.ingress.host;
    this.url = `${edgeScheme(env)}://${host}`;
    const auth = env.ingress.auth;
    const { tls, annotations: tlsAnnotations } = ingressTls(env, [host], TRACKING_TLS_SECRET);

    const annotations: Record<string, string> = {
      ...tlsAnnotations,
      // Artifact uploads go through the tracking server (proxied artifacts): allow large bodies.
      'nginx.ingress.kubernetes.io/proxy-body-size': env.ingress.maxBodySize.replace(/i$/, '').toLowerCase(),
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '300',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '300',
    };
    if (env.ingress.tls.mode !== 'none') annotations['nginx.ingress.kubernetes.io/force-ssl-redirect'] = 'true';

    let backend: { name: string; port: number };
    if (auth.mode === 'basic-auth') {
      Object.assign(annotations, {
        'nginx.ingress.kubernetes.io/auth-type': 'basic',
        'nginx.ingress.kubernetes.io/auth-secret': PLATFORM_SECRETS.basicAuth.name,
        'nginx.ingress.kubernetes.io/auth-secret-type': 'auth-file',
        'nginx.ingress.kubernetes.io/auth-realm': auth.realm,
      });
      backend = { name: TRACKING_NAME, port: TRACKING_PORT };
    } else {
      this.pods = new OAuth2Proxy(this, 'oauth2-proxy', {
        ctx: props.ctx,
        auth,
        replicas: props.oauth2ProxyReplicas,
        resources: props.oauth2ProxyResources,
      }).pods;
      backend = { name: OAUTH2_PROXY_NAME, port: OAUTH2_PROXY_PORT };
    }

    this.ingress = new k8s.KubeIngress(this, 'ingress', {
      metadata: { name: TRACKING_NAME, namespace: ns, labels: standardLabels(env, TRACKING_NAME, 'ingress'), annotations },
      spec: {
        ingressClassName: env.ingress.className,
        ...(tls.length ? { tls } : {}),
        rules: [
          {
            host,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: backend.name, port: { number: backend.port } } } }] },
          },
        ],
      },
    });

    const t = env.ingress.tls;
    if (t.mode === 'cert-manager' && t.acme) {
      customObject(this, 'cluster-issuer', {
        apiVersion: 'cert-manager.io/v1',
        kind: 'ClusterIssuer',
        metadata: { name: t.clusterIssuer, labels: standardLabels(env, t.clusterIssuer, 'certificate-issuer') },
        spec: {
          acme: {
            server: t.acme.server,
            email: t.acme.email,
            privateKeySecretRef: { name: `${t.clusterIssuer}-account-key` },
            solvers: [{ http01: { ingress: { ingressClassName: env.ingress.className } } }],
          },
        },
      });
    }
  }
}

export interface OAuth2ProxyProps {
  readonly ctx: PlatformContext;
  readonly auth: OidcAuth;
  /** @default 2 */
  readonly replicas?: number;
  /** @default 50m/64Mi requests, 128Mi limit */
  readonly resources?: EnvironmentConfig['tracking']['resources'];
}

/**
 * oauth2-proxy in front of the tracking server: OIDC sign-in (issuer, client, e-mail domains and groups
 * from the environment), secrets by reference, bearer JWTs from the same issuer accepted for API clients
 * (CI), and the upstream reached through the tracking Service.
 */
export class OAuth2Proxy extends Construct {
  /** The proxy's pods. */
  readonly pods: readonly PodGroup[];

  constructor(scope: Construct, id: string, props: OAuth2ProxyProps) {
    super(scope, id);
    const { env } = props.ctx;
    const { auth } = props;
    const ns = env.namespaces.platform;
    const name = OAUTH2_PROXY_NAME;
    const version = imageVersion(auth.image);
    const sec = restricted(RUNTIME_UID);
    const secret = PLATFORM_SECRETS.oauth2Proxy.name;

    serviceAccount(this, env, name, ns, 'auth-proxy');

    const workload = new ServingWorkload(this, 'proxy', {
      name,
      namespace: ns,
      labels: standardLabels(env, name, 'auth-proxy', version),
      selector: selectorLabels(env, name),
      replicas: Math.max(2, props.replicas ?? 2),
      serviceAccountName: name,
      securityContext: sec.pod,
      spreadTopologyKeys: spreadTopologyKeys(env),
      containers: [
        {
          name: 'oauth2-proxy',
          image: auth.image,
          imagePullPolicy: 'IfNotPresent',
          args: oauth2ProxyArgs(env, auth),
          ports: [
            { name: 'http', containerPort: OAUTH2_PROXY_PORT, protocol: 'TCP' },
            { name: 'metrics', containerPort: OAUTH2_PROXY_METRICS_PORT, protocol: 'TCP' },
          ],
          env: [secretEnv('OAUTH2_PROXY_CLIENT_SECRET', secret, 'client-secret'), secretEnv('OAUTH2_PROXY_COOKIE_SECRET', secret, 'cookie-secret')],
          securityContext: sec.container,
          resources: resources(props.resources ?? { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } }),
          readinessProbe: httpProbe('/ready', 'http', { period: 10 }),
          livenessProbe: httpProbe('/ping', OAUTH2_PROXY_PORT, { period: 20, failureThreshold: 6 }),
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [emptyDir('tmp', '16Mi')],
    });
    workload.exposeViaService({
      ports: [
        { name: 'http', port: OAUTH2_PROXY_PORT },
        { name: 'metrics', port: OAUTH2_PROXY_METRICS_PORT },
      ],
      beforeWorkload: true,
    });
    // The PDB carries the blueprint's version label, not the image's (as it always has).
    workload.limitDisruptions({ labels: standardLabels(env, name, 'auth-proxy') });
    this.pods = [workload.pods];

    if (env.monitoring.serviceMonitors) {
      serviceMonitor(this, env, { name, namespace: ns, component: 'auth-proxy', version }, { port: 'metrics', path: '/metrics', interval: '30s' });
    }
  }
}

/**
 * oauth2-proxy's flags: OIDC against the environment's issuer, the tracking Service upstream, bearer JWTs
 * accepted for API clients, and the client's Authorization header passed through untouched.
 */
function oauth2ProxyArgs(env: EnvironmentConfig, auth: OidcAuth): string[] {
  const scheme = env.ingress.tls.mode === 'none' ? 'http' : 'https';
  return [
    `--http-address=0.0.0.0:${OAUTH2_PROXY_PORT}`,
    `--metrics-address=0.0.0.0:${OAUTH2_PROXY_METRICS_PORT}`,
    '--provider=oidc',
    `--oidc-issuer-url=${auth.issuerUrl}`,
    `--client-id=${auth.clientId}`,
    `--redirect-url=${scheme}://${env.ingress.host}/oauth2/callback`,
    `--upstream=${trackingUrl(env)}/`,
    ...auth.emailDomains.map((d) => `--email-domain=${d}`),
    ...auth.allowedGroups.map((g) => `--allowed-group=${g}`),
    '--reverse-proxy=true',
    `--cookie-secure=${scheme === 'https'}`,
    '--cookie-samesite=lax',
    '--skip-provider-button=true',
    // API clients (CI, SDKs) present a JWT from the same issuer instead of a browser session.
    '--skip-jwt-bearer-tokens=true',
    // Leave the client's Authorization header alone: the tracking server authenticates its own users.
    '--pass-basic-auth=false',
    '--pass-authorization-header=false',
    '--silence-ping-logging=true',
  ];
}
