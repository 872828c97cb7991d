/**
 * The `mlops` script as a container image runs it, for the benchmarks: a checkout compiled to lib/ (tsc,
 * incremental, its build info kept inside lib/ so deleting lib/ rebuilds it), started from a one-line
 * launcher. In a checkout bin/mlops.js runs the TypeScript sources through tsx instead, whose esbuild
 * output calls a `__name` helper for every closure it creates; on the inference request path that cost
 * up to a quarter of the HTTP thread's time, which no deployed server pays.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..');
const launchers = new Map<string, string>();

/** Path of a script that runs `root`'s compiled `mlops` (this checkout by default; another one for before/after runs). */
export function compiledMlops(root = repoRoot): string {
  const known = launchers.get(root);
  if (known) return known;
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const lib = path.join(root, 'lib');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--incremental', '--tsBuildInfoFile', path.join(lib, '.tsbuildinfo')], {
    cwd: root,
    stdio: 'inherit',
  });
  const dir = path.join(os.homedir(), '.cache', 'mlops-blueprint');
  fs.mkdirSync(dir, { recursive: true });
  const launcher = path.join(dir, `bench-mlops-${createHash('sha256').update(root).digest('hex').slice(0, 12)}.js`);
  // A file, not `node -e`: `mlops serve --listeners` forks this same script (process.argv[1]) as cluster workers.
  fs.writeFileSync(launcher, `require(${JSON.stringify(path.join(lib, 'cli', 'main.js'))}).main(process.argv);\n`);
  launchers.set(root, launcher);
  return launcher;
}
