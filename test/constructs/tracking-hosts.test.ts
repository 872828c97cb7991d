import * as http from 'node:http';
import { ENVIRONMENT_NAMES } from '../../environments';
import type { KubeObject } from '../../policies';
import { podTemplates } from '../../policies/kube/workloads';
import { synthEnvironment } from '../../stacks/gitops';
import { pinnedEnvironment } from '../helpers/image-lock';
import { startTestServer, type TestServer } from '../tracking/helpers';
import { ifStarted } from '../helpers/lifecycle';

/**
 * The tracking Deployment's Host allow-list (its DNS-rebinding guard) must admit every name the
 * platform's own clients use, or they would all get 403s in the cluster. The names are read from the
 * synthesized objects (training and inference MLFLOW_TRACKING_URI, oauth2-proxy's upstream, the
 * Ingress hosts in front of tracking), and a real tracking server configured with the list judges them.
 */
type Container = { name: string; env?: Array<{ name: string; value?: string }>; args?: string[] };

function containers(objects: KubeObject[]): Container[] {
  return podTemplates(objects).flatMap(({ tpl }) => (tpl.spec.containers ?? []) as Container[]);
}

function envValue(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

/** Host headers the platform's clients send to the tracking server. */
function clientHosts(objects: KubeObject[]): string[] {
  const hosts = new Set<string>();
  for (const c of containers(objects)) {
    const uri = envValue(c, 'MLFLOW_TRACKING_URI');
    if (uri) hosts.add(new URL(uri).host);
    const upstream = c.args?.find((a) => a.startsWith('--upstream='));
    if (upstream) hosts.add(new URL(upstream.slice('--upstream='.length)).host);
  }
  for (const o of objects.filter((x) => x.kind === 'Ingress') as Array<
    KubeObject & { spec: { rules?: Array<{ host?: string; http?: { paths: Array<{ backend: { service?: { name: string } } }> } }> } }
  >) {
    for (const rule of o.spec.rules ?? []) {
      const backends = rule.http?.paths.map((p) => p.backend.service?.name) ?? [];
      if (rule.host && backends.some((b) => b === 'tracking' || b === 'oauth2-proxy')) hosts.add(rule.host);
    }
  }
  return [...hosts];
}

function status(url: string, host: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: hostname, port, path: '/api/2.0/mlflow/experiments/search?max_results=1', headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe.each(ENVIRONMENT_NAMES)('%s: the tracking server admits the hosts its clients use', (name) => {
  const objects = synthEnvironment(pinnedEnvironment(name)).flatMap((f) => f.objects);
  const tracking = containers(objects).find((c) => c.name === 'tracking' && c.args?.includes('serve'));
  const allowed = envValue(tracking!, 'MLFLOW_SERVER_ALLOWED_HOSTS')!.split(',');
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', { browserGuards: { allowedHosts: allowed } });
  });
  afterAll(() => ifStarted(server)?.stop());

  test('every client host gets 200, kubectl port-forward too; a foreign name gets 403', async () => {
    const hosts = clientHosts(objects);
    // training's and the Ingress host at least; inference where the environment serves models
    expect(hosts.length).toBeGreaterThanOrEqual(2);
    for (const host of [...hosts, 'localhost:5000']) expect([host, await status(server.url, host)]).toEqual([host, 200]);
    expect(await status(server.url, 'evil.example')).toBe(403);
  });
});
