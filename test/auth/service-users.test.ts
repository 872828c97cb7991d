import * as path from 'node:path';
import { basicAuth } from '../../runtime/tracking/auth';
import { startTestServer, tmpDir, type TestServer } from '../tracking/helpers';
import { ADMIN, call } from './helpers';

/** The in-cluster clients' logins (MLOPS_AUTH_USER_* from Secrets), created by the server at start. */
describe('basic-auth service users', () => {
  const dir = tmpDir('auth-service-users');
  const store = `sqlite:///${path.join(dir, 'mlflow.db')}`;
  const start = (users: Array<{ username: string; password: string }>): Promise<TestServer> => {
    const auth = basicAuth({ adminUsername: ADMIN.username, adminPassword: ADMIN.password, serviceUsers: users });
    return startTestServer('sqlite', { backendStoreUri: store, beforeRoutes: auth.beforeRoutes, plugins: auth.plugins });
  };
  const whoAmI = async (server: TestServer, username: string, password: string) => {
    const res = await call(server.url, { username, password }, 'GET', '/users/current');
    return res.status === 200 ? res.body.user : res.status;
  };

  test('are created at first start as plain users, and follow a rotated Secret at the next start', async () => {
    let server = await start([
      { username: 'training', password: 'first-password-0001' },
      { username: 'inference', password: 'serving-password-01' },
    ]);
    try {
      expect(await whoAmI(server, 'training', 'first-password-0001')).toMatchObject({ username: 'training', is_admin: false });
      expect(await whoAmI(server, 'inference', 'serving-password-01')).toMatchObject({ username: 'inference', is_admin: false });
      // Created as the user it is: the training login owns what it creates.
      const exp = await call(server.url, { username: 'training', password: 'first-password-0001' }, 'POST', '/experiments/create', { name: 'churn' });
      expect(exp.status).toBe(200);
    } finally {
      await server.stop();
    }
    server = await start([{ username: 'training', password: 'rotated-password-02' }]);
    try {
      expect(await whoAmI(server, 'training', 'first-password-0001')).toBe(401);
      expect(await whoAmI(server, 'training', 'rotated-password-02')).toMatchObject({ username: 'training' });
      // A user no longer listed is left alone (deleting accounts is the admin's call).
      expect(await whoAmI(server, 'inference', 'serving-password-01')).toMatchObject({ username: 'inference' });
      // The experiment it created is still its own.
      const res = await call(server.url, { username: 'training', password: 'rotated-password-02' }, 'GET', '/experiments/get-by-name', {
        experiment_name: 'churn',
      });
      expect(res.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test('a service user may not be the admin account, and a short password names the user', async () => {
    expect(() =>
      basicAuth({ adminUsername: 'admin', adminPassword: ADMIN.password, serviceUsers: [{ username: 'admin', password: 'whatever-password-1' }] }),
    ).toThrow("service user 'admin' is the admin account: give the in-cluster clients their own logins");
    await expect(start([{ username: 'training', password: 'short' }])).rejects.toThrow(/^service user 'training': Password must be at least 12 characters/);
  });
});
