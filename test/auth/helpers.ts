import { basicAuth, type BasicAuth, type BasicAuthOptions } from '../../runtime/tracking/auth';
import { startTestServer, type StoreKind, type TestServer } from '../tracking/helpers';

export const ADMIN = { username: 'admin', password: 'admin-password-0001' };

export interface Credentials {
  username: string;
  password: string;
}

export interface AuthTestServer extends TestServer {
  auth: BasicAuth;
}

/** A real tracking server on loopback with `--app-name basic-auth` wired as the CLI does. */
export async function startAuthServer(kind: StoreKind, options: Partial<BasicAuthOptions> = {}): Promise<AuthTestServer> {
  const auth = basicAuth({ adminUsername: ADMIN.username, adminPassword: ADMIN.password, ...options });
  const server = await startTestServer(kind, {
    beforeRoutes: auth.beforeRoutes,
    plugins: auth.plugins,
    ...(process.env.MLOPS_TEST_LOG ? { logger: { level: 'error' } } : {}),
  });
  return { ...server, auth };
}

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One REST call as `who` (or anonymously): GET with a query string, anything else with a JSON body. */
export async function call<T = any>(
  baseUrl: string,
  who: Credentials | null,
  method: string,
  route: string,
  payload?: unknown,
  prefix = '/api/2.0/mlflow',
): Promise<Res<T>> {
  let url = `${baseUrl}${prefix}${route}`;
  const headers: Record<string, string> = {};
  if (who) headers.authorization = `Basic ${Buffer.from(`${who.username}:${who.password}`).toString('base64')}`;
  const init: RequestInit = { method, headers };
  if (method === 'GET' && payload && typeof payload === 'object') {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(payload as Record<string, unknown>)) for (const item of Array.isArray(v) ? v : [v]) qs.append(k, String(item));
    url += `?${qs.toString()}`;
  } else if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // artifact bytes, /version
  }
  return { status: res.status, body, headers: res.headers };
}

/** A client bound to a server and a user. */
export function as(server: { url: string }, who: Credentials | null) {
  return <T = any>(method: string, route: string, payload?: unknown, prefix?: string) => call<T>(server.url, who, method, route, payload, prefix);
}

/** Creates a user through the admin API and returns its credentials. */
export async function createUser(server: { url: string }, username: string): Promise<Credentials> {
  const who = { username, password: `${username}-password-123` };
  const res = await call(server.url, ADMIN, 'POST', '/users/create', who);
  if (res.status !== 200) throw new Error(`users/create ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return who;
}
