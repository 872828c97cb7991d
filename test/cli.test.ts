import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runMlops } from './helpers/cli';
import { version } from '../package.json';

describe('mlops CLI frame', () => {
  test('--help lists the registered commands', () => {
    const r = runMlops(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: mlops/);
    expect(r.stdout).toMatch(/^\s+env\s/m);
  });

  test('--version prints the package version', () => {
    const r = runMlops(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  test('an unknown command exits non-zero with a one-line error', () => {
    const r = runMlops(['deploy-everything']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown command 'deploy-everything'/);
  });

  test('an unknown option exits non-zero with a one-line error', () => {
    const r = runMlops(['env', 'list', '--colour']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown option '--colour'/);
  });

  test('subcommand --help works', () => {
    const r = runMlops(['env', 'validate', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: mlops env validate/);
  });

  test('env validate passes the built-in environments', () => {
    const r = runMlops(['env', 'validate', 'dev', 'staging', 'prod']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('dev: valid\nstaging: valid\nprod: valid\n');
  });

  test('env validate reports each problem of a bad file with its field path and exits 1', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-cli-')), 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ name: 'dev', tracking: { image: 'x:latest' } }));
    const r = runMlops(['env', 'validate', file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tracking\.image: image "x:latest" uses the mutable tag "latest"/);
    expect(r.stderr).toMatch(/^  cluster: /m);
    expect(r.stderr.trim().split('\n').pop()).toBe('mlops: 1 of 1 environment(s) invalid');
  });

  test('env show prints a resolved environment as JSON', () => {
    const r = runMlops(['env', 'show', 'prod', '--format', 'json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).cluster.rds.multiAz).toBe(true);
  });

  test('a missing environment is a one-line error', () => {
    const r = runMlops(['env', 'show', 'nowhere']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('mlops: "nowhere" is neither a built-in environment nor a readable file\n');
  });
});
