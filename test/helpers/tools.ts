import { spawnSync } from 'node:child_process';

/** Whether an outside tool a suite needs is here, and if not, why. */
export interface Availability {
  ok: boolean;
  reason: string;
}

/** True when running under CI: a missing tool is then a failure, never a skip. */
export const inCI = process.env.CI === 'true';

/** Checks that `cmd args…` runs and exits 0 (e.g. `python3 -c "import mlflow"`). */
export function commandAvailable(cmd: string, args: string[] = ['--version'], what = cmd): Availability {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return { ok: false, reason: `${what} is not installed (${r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: `${what} is not usable: ${(r.stderr || r.stdout).trim().split('\n').pop()}` };
  return { ok: true, reason: '' };
}

/**
 * `describe` that runs only when the tool is available. Locally a missing tool skips the suite with the
 * reason printed; under CI (`CI=true`) it fails the suite, so CI can never pass by skipping.
 */
export function describeWithTool(name: string, availability: Availability, fn: () => void): void {
  if (availability.ok) {
    describe(name, fn);
    return;
  }
  if (inCI) {
    describe(name, () => {
      test(`requires an outside tool: ${availability.reason}`, () => {
        throw new Error(`CI=true and ${availability.reason}; .ci/run must install it`);
      });
    });
    return;
  }
  process.stdout.write(`skipping "${name}": ${availability.reason}\n`);
  describe.skip(name, fn);
}
