import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/*
 * The package as a team gets it: `npm pack` of this checkout (one pack per run), its file list, an install
 * of the tarball into an empty directory and into a temporary copy of examples/team-platform/ — from the
 * tarball, dependencies from the same registry as this checkout's, the optional native modules left out
 * (docs/adr/0022) — and the example's synth, Pulumi program under mocks and snapshot tests run there.
 * Then an export the example uses is removed from the installed package, and the example must fail.
 */
const ROOT = path.resolve(__dirname, '../..');
const EXAMPLE = path.join(ROOT, 'examples', 'team-platform');
const ENTRIES = ['.', './constructs', './environments', './policies', './synth', './stacks', './testing'];
const BUILD_FOLDERS = ['api', 'testing', 'cli', 'core', 'constructs', 'stacks', 'environments', 'policies', 'runtime'];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${String(r.status)}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Newest modification time of the TypeScript sources under the build's folders. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** lib/ as `npm run build:lib` makes it: reused when newer than every source (CI builds it before the tests). */
function ensureLib(): void {
  const marker = path.join(ROOT, 'lib', 'api', 'testing.js');
  const sources = Math.max(...BUILD_FOLDERS.map((f) => newestSource(path.join(ROOT, f))));
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= sources) return;
  ok(run('npx', ['tsc', '-p', 'tsconfig.build.json'], ROOT), 'tsc -p tsconfig.build.json');
}

function copyExample(to: string): void {
  fs.cpSync(EXAMPLE, to, { recursive: true, filter: (src) => !/[/\\](node_modules|dist)([/\\]|$)/.test(path.relative(EXAMPLE, src)) });
}

/**
 * `npm install` of the tarball in `cwd`, without the optional native modules; cached packages are used without
 * asking the registry again (`--prefer-offline`). Asynchronous, so the two installs of a run overlap.
 */
function npmInstall(cwd: string, tarball: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['install', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`npm install in ${cwd} exited ${String(code)}:\n${output}`));
    });
  });
}

describe('the packed package', () => {
  let work: string;
  let tarball: string;
  let files: string[];
  let empty: string;
  let team: string;

  // One pack per run; the tarball goes into an empty directory and into a copy of the example at once.
  beforeAll(async () => {
    ensureLib();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-pack-'));
    const [packed] = JSON.parse(ok(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT), 'npm pack')) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = path.join(work, packed.filename);
    files = packed.files.map((f) => f.path);
    empty = path.join(work, 'empty');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'package.json'), '{"name":"empty","version":"1.0.0","private":true}\n');
    team = path.join(work, 'team-platform');
    copyExample(team);
    await Promise.all([npmInstall(empty, tarball), npmInstall(team, tarball)]);
  }, 600_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('ships every entry with its types, the image lock and the CLI; no tests, sources or benchmarks', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string } | string>;
    };
    expect(Object.keys(manifest.exports).filter((k) => k !== './package.json')).toEqual(ENTRIES);
    for (const entry of ENTRIES) {
      const target = manifest.exports[entry] as { types: string; default: string };
      expect(files).toEqual(expect.arrayContaining([target.types.replace(/^\.\//, ''), target.default.replace(/^\.\//, '')]));
    }
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/mlops.js', 'environments/images.lock.json', 'CHANGELOG.md', 'lib/cli/main.js']));
    expect(files.filter((f) => /(^|\/)(test|bench|scripts)\//.test(f) || /\.test\.|\.snap$/.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual(
      [],
    );
  });

  test('installs into an empty directory, and every entry loads without dev or optional modules', () => {
    const script = `for (const e of ${JSON.stringify(ENTRIES)}) { const m = require(e === '.' ? 'mlops-blueprint' : 'mlops-blueprint/' + e.slice(2)); console.log(e, Object.keys(m).length); }`;
    const out = ok(run('node', ['-e', script], empty), 'require every entry');
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(ENTRIES);
    for (const native of ['better-sqlite3', 'onnxruntime-node', 'jest', 'typescript'])
      expect([native, fs.existsSync(path.join(empty, 'node_modules', native))]).toEqual([native, false]);
  }, 60_000);

  describe('in a copy of examples/team-platform', () => {
    test('its types check against the installed entries', () => {
      ok(run('npx', ['tsc', '-p', '.'], team), 'tsc in the example');
    }, 120_000);

    test('its synth writes the team environment through the gates, its own part included', () => {
      const out = ok(run('npm', ['run', 'synth'], team), 'npm run synth');
      expect(out).toMatch(/team-prod: \d+ objects in \d+ files/);
      // The README's "Use it in your repository" transcript is this output.
      const transcript = out
        .split('\n')
        .filter((l) => /^(team-prod: |  dist\/)/.test(l))
        .join('\n');
      expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(`$ npm run synth\n${transcript}\n\`\`\``);
      const written = fs.readdirSync(path.join(team, 'dist', 'team-prod'));
      expect(written).toEqual(expect.arrayContaining(['00-namespaces.k8s.yaml', 'mlops-environment']));
      expect(written.some((f) => /^\d\d-team-ingress\.k8s\.yaml$/.test(f))).toBe(true);
    }, 120_000);

    test('its snapshot tests and its Pulumi program under mocks pass', () => {
      const out = run('npx', ['jest', '--ci'], team, { CI: 'true' });
      expect([out.status, out.stderr]).toEqual([0, expect.stringMatching(/Tests:\s+4 passed, 4 total/)]);
    }, 180_000);

    test('removing an export the example uses makes it fail', () => {
      const manifestFile = path.join(team, 'node_modules', 'mlops-blueprint', 'package.json');
      const original = fs.readFileSync(manifestFile, 'utf8');
      const manifest = JSON.parse(original) as { exports: Record<string, unknown> };
      delete manifest.exports['./testing'];
      delete manifest.exports['./synth'];
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      try {
        const tests = run('npx', ['jest', '--ci', 'test/platform.test.ts'], team, { CI: 'true' });
        expect(tests.status).not.toBe(0);
        expect(tests.stderr).toMatch(/mlops-blueprint\/testing/);
        const synth = run('npm', ['run', 'synth'], team);
        expect(synth.status).not.toBe(0);
        expect(synth.stderr).toMatch(/ERR_PACKAGE_PATH_NOT_EXPORTED|Package subpath '\.\/synth' is not defined/);
      } finally {
        fs.writeFileSync(manifestFile, original);
      }
    }, 180_000);
  });
});
