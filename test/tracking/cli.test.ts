import * as path from 'node:path';
import { runMlops } from '../helpers/cli';
import { tmpDir } from './helpers';

describe('mlops tracking CLI', () => {
  test('db upgrade applies the migrations once, then reports the schema current', () => {
    const dir = tmpDir('cli');
    const uri = `sqlite:///${path.join(dir, 'store.db')}`;
    const first = runMlops(['tracking', 'db', 'upgrade', '--backend-store-uri', uri]);
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^applied 0001_tracking, .*; schema at \d{4}_\w+\n$/);
    const again = runMlops(['tracking', 'db', 'upgrade', '--backend-store-uri', uri]);
    expect(again.stdout).toMatch(/^schema already at \d{4}_\w+\n$/);
  });

  test('bad store URIs and ports are one-line errors', () => {
    const unreachable = runMlops(['tracking', 'db', 'upgrade', '--backend-store-uri', 'postgresql://nobody:x@127.0.0.1:1/none']);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1);
    expect(unreachable.stderr).toMatch(/^mlops: .*127\.0\.0\.1/);
    expect(unreachable.stderr).not.toContain('nobody:x@');

    const badPort = runMlops(['tracking', 'serve', '--port', '70000']);
    expect(badPort.status).not.toBe(0);
    expect(badPort.stderr).toMatch(/port/);

    const badArtifacts = runMlops([
      'tracking',
      'serve',
      '--port',
      '0',
      '--backend-store-uri',
      `sqlite:///${path.join(tmpDir('cli'), 'x.db')}`,
      '--artifacts-destination',
      'ftp://host/x',
    ]);
    expect(badArtifacts.status).toBe(1);
    expect(badArtifacts.stderr).toMatch(/^mlops: cannot start the tracking server: unsupported artifact destination ftp:\/\/host\/x/);
  });

  test('--allowed-artifact-roots (or MLFLOW_SERVER_ALLOWED_ARTIFACT_ROOTS) is a comma-separated list checked at start', () => {
    const store = () => `sqlite:///${path.join(tmpDir('cli'), 'x.db')}`;
    const viaFlag = runMlops([
      'tracking',
      'serve',
      '--port',
      '0',
      '--backend-store-uri',
      store(),
      '--allowed-artifact-roots',
      's3://shared/prefix, gs://other/x',
    ]);
    expect(viaFlag.status).toBe(1);
    expect(viaFlag.stderr).toMatch(
      /^mlops: cannot start the tracking server: --allowed-artifact-roots: gs:\/\/other\/x is not an s3:\/\/ URI or an absolute local path$/m,
    );
    const viaEnv = runMlops(['tracking', 'serve', '--port', '0', '--backend-store-uri', store()], {
      env: { MLFLOW_SERVER_ALLOWED_ARTIFACT_ROOTS: '/srv/shared,relative/dir' },
    });
    expect(viaEnv.status).toBe(1);
    expect(viaEnv.stderr).toMatch(/--allowed-artifact-roots: relative\/dir is not/);
  });
});
