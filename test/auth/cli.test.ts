import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mlopsBin, runMlops } from '../helpers/cli';
import { tmpDir } from '../tracking/helpers';

/** `mlops tracking serve --app-name basic-auth`: the admin secret is required and read from a file or the environment. */
describe('mlops tracking serve --app-name basic-auth', () => {
  const env = { MLFLOW_AUTH_ADMIN_PASSWORD: '', MLFLOW_AUTH_ADMIN_PASSWORD_FILE: '' };

  test('no admin password is a one-line error, never a default', () => {
    const dir = tmpDir('auth-cli');
    const res = runMlops(['tracking', 'serve', '--app-name', 'basic-auth', '--port', '0', '--backend-store-uri', `sqlite:///${path.join(dir, 'x.db')}`], {
      env,
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe('mlops: --app-name basic-auth needs an admin password: set MLFLOW_AUTH_ADMIN_PASSWORD or --auth-admin-password-file <path>\n');
  });

  test('an unreadable password file and a too-short password name the problem in one line', () => {
    const dir = tmpDir('auth-cli');
    const store = `sqlite:///${path.join(dir, 'x.db')}`;
    const missing = runMlops(
      ['tracking', 'serve', '--app-name', 'basic-auth', '--port', '0', '--backend-store-uri', store, '--auth-admin-password-file', path.join(dir, 'nope')],
      { env },
    );
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^mlops: --auth-admin-password-file: cannot read .*nope \(ENOENT\)\n$/);
    const short = runMlops(['tracking', 'serve', '--app-name', 'basic-auth', '--port', '0', '--backend-store-uri', store], {
      env: { ...env, MLFLOW_AUTH_ADMIN_PASSWORD: 'short' },
    });
    expect(short.status).toBe(1);
    expect(short.stderr).toBe("mlops: cannot start the tracking server: admin user 'admin': Password must be at least 12 characters.\n");
    const badApp = runMlops(['tracking', 'serve', '--app-name', 'oauth', '--port', '0', '--backend-store-uri', store], { env });
    expect(badApp.status).not.toBe(0);
    expect(badApp.stderr).toMatch(/app-name/);
  });

  test('half of a MLOPS_AUTH_USER_<ID> pair is a one-line error naming the missing variable', () => {
    const dir = tmpDir('auth-cli');
    const res = runMlops(['tracking', 'serve', '--app-name', 'basic-auth', '--port', '0', '--backend-store-uri', `sqlite:///${path.join(dir, 'x.db')}`], {
      env: { ...env, MLFLOW_AUTH_ADMIN_PASSWORD: 'admin-password-0001', MLOPS_AUTH_USER_SERVING_USERNAME: 'inference' },
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toBe('mlops: MLOPS_AUTH_USER_SERVING_PASSWORD is not set (MLOPS_AUTH_USER_SERVING_USERNAME is)\n');
  });

  test('serves with the admin password from a mounted secret file', async () => {
    const dir = tmpDir('auth-cli');
    const secret = path.join(dir, 'admin-password');
    fs.writeFileSync(secret, 'from-a-secret-file\n');
    const child = spawn(
      process.execPath,
      [
        mlopsBin,
        'tracking',
        'serve',
        '--app-name',
        'basic-auth',
        '--auth-admin-password-file',
        secret,
        '--port',
        '0',
        '--backend-store-uri',
        `sqlite:///${path.join(dir, 'x.db')}`,
        '--artifacts-destination',
        path.join(dir, 'artifacts'),
      ],
      {
        env: {
          ...process.env,
          ...env,
          MLOPS_LOG_LEVEL: 'info',
          MLOPS_AUTH_USER_TRAINING_USERNAME: 'training',
          MLOPS_AUTH_USER_TRAINING_PASSWORD: 'training-login-0001',
        },
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no listening line in 60 s:\n${out}`)), 60_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = out.split('\n').find((l) => l.includes('tracking server listening'));
          if (line) {
            clearTimeout(timer);
            const parsed = JSON.parse(line) as { url: string; auth: string };
            expect(parsed.auth).toBe('basic-auth');
            resolve(parsed.url);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
      });
      const anonymous = await fetch(`${url}/api/2.0/mlflow/experiments/get?experiment_id=0`);
      expect(anonymous.status).toBe(401);
      // The trailing newline of the file is not part of the password.
      const admin = await fetch(`${url}/api/2.0/mlflow/users/current`, {
        headers: { authorization: `Basic ${Buffer.from('admin:from-a-secret-file').toString('base64')}` },
      });
      expect(admin.status).toBe(200);
      expect(((await admin.json()) as { user: { is_admin: boolean } }).user.is_admin).toBe(true);
      // The in-cluster client login from MLOPS_AUTH_USER_TRAINING_* exists, as a plain user.
      const training = await fetch(`${url}/api/2.0/mlflow/users/current`, {
        headers: { authorization: `Basic ${Buffer.from('training:training-login-0001').toString('base64')}` },
      });
      expect(training.status).toBe(200);
      expect(((await training.json()) as { user: { username: string; is_admin: boolean } }).user).toMatchObject({ username: 'training', is_admin: false });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
