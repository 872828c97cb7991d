/*
 * `npm run lint:manifests [-- [--image-lock <file>] <dir>...]`: synthesizes every environment (both
 * secrets modes, images pinned by the image lock as synth pins them) into a temporary directory — or takes
 * already-synthesized directories — and runs kube-score, kube-linter and checkov on it, each where
 * installed. Prints every finding, marks the allowlisted ones with their reason, exits 1 on any other.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { commandAvailable } from './tool-availability';
import {
  auditKubeScoreIgnores,
  KUBE_LINTER_ALLOWLIST,
  KUBE_SCORE_ALLOWLIST,
  runKubeLinter,
  runKubeScore,
  toolPath,
  type LinterFinding,
} from './external-linters';
import { checkovPath, runCheckov } from './checkov';
import { environmentVariants, platformSynth } from './platform';
import { DEFAULT_IMAGE_LOCK, readImageLock, resolveImages } from '../environments/image-lock';

function synthesizeAll(imageLock: string | undefined): string[] {
  const synth = platformSynth();
  if (!synth) throw new Error('stacks/gitops.ts (synthEnvironment) does not exist yet: pass a directory of manifests instead');
  const lockFile = imageLock ?? DEFAULT_IMAGE_LOCK;
  const lock = readImageLock(lockFile, { missingOk: imageLock === undefined });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-lint-'));
  return environmentVariants().map(({ label, env: input }) => {
    // What synth would write: an environment that requires digests and lacks some is refused here too.
    const env = resolveImages(input, lock, lockFile);
    const dir = path.join(root, label.replace(/[^a-z0-9-]+/gi, '-').replace(/-+$/, ''));
    fs.mkdirSync(dir, { recursive: true });
    for (const file of synth(env)) {
      const name = path.basename(file.name).replace(/(\.k8s)?\.ya?ml$/, '') + '.k8s.yaml';
      fs.writeFileSync(path.join(dir, name), file.objects.map((o) => stringify(o)).join('---\n'));
    }
    return dir;
  });
}

function main(): number {
  const args = process.argv.slice(2);
  const lockAt = args.indexOf('--image-lock');
  const imageLock = lockAt >= 0 ? args.splice(lockAt, 2)[1] : undefined;
  if (lockAt >= 0 && !imageLock) throw new Error('--image-lock needs a file');
  const dirs = args.length ? args : synthesizeAll(imageLock);
  const findings: LinterFinding[] = [];
  // kube-score twice: as anyone runs it (the objects' ignore annotations honoured), and with them off to
  // check they hide only what they say (auditKubeScoreIgnores).
  const tools: Array<[string, string, (d: string) => LinterFinding[]]> = [
    ['kube-score', 'kube-score', runKubeScore],
    ['kube-score', 'kube-score (ignore annotations audited)', auditKubeScoreIgnores],
    ['kube-linter', 'kube-linter', runKubeLinter],
  ];
  for (const [tool, label, run] of tools) {
    const available = commandAvailable(toolPath(tool), ['version'], tool);
    if (!available.ok) {
      process.stdout.write(`${label}: not run — ${available.reason}\n`);
      continue;
    }
    for (const dir of dirs) findings.push(...run(dir).map((f) => ({ ...f, object: `${path.basename(dir)}: ${f.object}` })));
  }
  let failing = 0;
  for (const f of findings) {
    const reason = (f.tool === 'kube-score' ? KUBE_SCORE_ALLOWLIST : KUBE_LINTER_ALLOWLIST)[f.check];
    if (!reason) failing++;
    process.stdout.write(`${reason ? 'allowed' : 'FINDING'}  ${f.tool} ${f.check}  ${f.object}: ${f.message}${reason ? `\n         why: ${reason}` : ''}\n`);
  }
  failing += checkovFindings(dirs);
  process.stdout.write(
    `${findings.length} kube-score/kube-linter finding(s), ${failing} finding(s) in all not explained, over ${dirs.length} director${dirs.length === 1 ? 'y' : 'ies'}\n`,
  );
  return failing ? 1 : 0;
}

/** checkov over the directories: skipped checks (the objects' own annotations) listed with their reasons, failures counted. */
function checkovFindings(dirs: string[]): number {
  const available = commandAvailable(checkovPath(), ['--version'], 'checkov');
  if (!available.ok) {
    process.stdout.write(`checkov: not run — ${available.reason}\n`);
    return 0;
  }
  let failing = 0;
  for (const dir of dirs) {
    const r = runCheckov(dir);
    for (const f of r.failed) process.stdout.write(`FINDING  checkov ${f.check}  ${path.basename(dir)}: ${f.resource} (${f.file}): ${f.name}\n`);
    failing += r.failed.length;
    process.stdout.write(
      `checkov ${path.basename(dir)}: ${r.passed} passed, ${r.failed.length} failed, ${r.skipped.length} skipped by the objects' annotations\n`,
    );
  }
  return failing;
}

try {
  process.exitCode = main();
} catch (err) {
  process.stderr.write(`lint:manifests: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
