import * as http from 'node:http';
import type { Credentials } from '../auth/helpers';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export const basicHeader = (who: Credentials): string => `Basic ${Buffer.from(`${who.username}:${who.password}`).toString('base64')}`;

/**
 * One GET from a chosen loopback source address (127.0.0.2, 127.0.0.3 … all reach a server bound to
 * 127.0.0.1 on Linux), so a test can play several clients without a proxy. A fresh connection per
 * request (no keep-alive pool), as independent attackers would open.
 */
export function getFrom(localAddress: string, url: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'GET', headers, localAddress, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: any = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A login attempt (the cheapest authenticated endpoint) from `localAddress`. */
export function loginFrom(localAddress: string, url: string, who: Credentials, headers: Record<string, string> = {}): Promise<RawResponse> {
  return getFrom(localAddress, url, '/api/2.0/mlflow/users/current', { authorization: basicHeader(who), ...headers });
}

/** A sample of a Prometheus text exposition: `name{labels} value`, undefined when absent. */
export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{ ]+(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const found: Record<string, string> = {};
    for (const pair of (m.at(1) ?? '').match(/[a-zA-Z_]+="[^"]*"/g) ?? []) {
      const eq = pair.indexOf('=');
      found[pair.slice(0, eq)] = pair.slice(eq + 2, -1);
    }
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[2]);
  }
  return undefined;
}

export async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  return res.text();
}
