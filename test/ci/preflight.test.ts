import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli';

/**
 * `.ci/preflight.sh`, the check .ci/run makes after installing Debian's packages. An old Go, a Python without
 * venv or an old Node cannot be installed on this machine just to be detected, so those are small stand-in
 * scripts first on PATH (the one place this suite fakes a tool); the last test runs the real machine's tools.
 */
const script = path.join(repoRoot, '.ci', 'preflight.sh');
const requiredGo = (() => {
  const mods = spawnSync('find', ['test', '-name', 'go.mod'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim().split('\n');
  const versions = mods.map((m) => [m, /^go (\S+)$/m.exec(fs.readFileSync(path.join(repoRoot, m), 'utf8'))![1]] as const);
  const cmp = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });
  // Equal versions: the greatest path, as preflight.sh's `sort -V | tail -1` breaks ties on the whole line.
  return versions.sort((a, b) => cmp(a[1], b[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).pop()!;
})();

let fakes: string;
beforeAll(() => (fakes = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-preflight-'))));
afterAll(() => fs.rmSync(fakes, { recursive: true, force: true }));

/** A directory with stand-ins `name: script body`, put before the system's own tools on PATH. */
function withTools(name: string, tools: Record<string, string>): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = path.join(fakes, name);
  fs.mkdirSync(dir);
  for (const [tool, body] of Object.entries(tools)) fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  const noGo = path.join(fakes, 'no-go-here'); // MLOPS_GO_BIN: keeps /usr/local/go/bin off PATH
  return { dir, env: { ...process.env, PATH: `${dir}:${path.dirname(process.execPath)}:/usr/bin:/bin`, MLOPS_GO_BIN: noGo } };
}

function preflight(env: NodeJS.ProcessEnv) {
  return spawnSync('bash', [script], { env, encoding: 'utf8', timeout: 60_000 });
}

const python = 'exec /usr/bin/python3 "$@"';

describe('.ci/preflight.sh', () => {
  test('no Go anywhere: one line naming Go, the version a module requires, and where it looked', () => {
    const { env } = withTools('no-go', { python3: python });
    const r = preflight(env);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 1,
      stderr: `.ci/run: Go >= ${requiredGo[1]} is required by ${requiredGo[0]} (found: none in ${env.MLOPS_GO_BIN} or on PATH; Debian bookworm's golang-go is 1.19): install it at /usr/local/go\n`,
    });
  });

  test('a Go older than the newest go directive: one line with both versions', () => {
    const { dir, env } = withTools('old-go', { go: '[ "$1 $2" = "env GOVERSION" ] && echo go1.19.8', python3: python });
    const r = preflight(env);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 1,
      stderr: `.ci/run: Go >= ${requiredGo[1]} is required by ${requiredGo[0]} (found: 1.19.8 at ${path.join(dir, 'go')}): install a newer one at /usr/local/go\n`,
    });
  });

  test('python3 without venv: one line naming python3-venv', () => {
    const go = `[ "$1 $2" = "env GOVERSION" ] && echo go${requiredGo[1]}`;
    const { env } = withTools('no-venv', { go, python3: 'case "$2" in *ensurepip*) exit 1;; esac; exec /usr/bin/python3 "$@"' });
    const r = preflight(env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^\.ci\/run: python3-venv is required for the test venvs \(python3 [\d.]+ has no ensurepip\/venv\); apt-get install python3-venv\n$/,
    );
  });

  test('a Node older than package.json engines: one line with both versions', () => {
    const { env } = withTools('old-node', { node: '[ "$1" = "-p" ] && echo 18.19.0' });
    const r = preflight(env);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: '.ci/run: Node.js >= 20 is required (found: 18.19.0)\n' });
  });

  test('the README names the Go version the modules require today', () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain(`Go ≥ the newest \`go\` directive of the repository's Go modules (${requiredGo[1]} today;`);
  });

  test("this machine's own tools pass", () => {
    const r = spawnSync('bash', [script], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^preflight: node [\d.]+, go [\d.]+ \(>= [\d.]+\), Python [\d.]+ with venv\n$/);
  });
});
