import { spawn } from 'node:child_process';
import { TUNABLE_PARAMETERS } from '../../environments/training-distributed';
import { currentMlopsCommand } from '../current-cli';
import { mulberry32 } from './data';

/*
 * `mlops tune run --local`: a random search run as Katib runs it — each trial a separate `mlops tune trial`
 * process with its parameters as flags, at most `parallel` at once, its objective read from its stdout with
 * Katib's StdOut collector filter — against the local tracking server.
 */

/** Katib v0.19.0's default metrics filter (pkg/metricscollector/v1beta1/common/const.go, DefaultFilter). */
export const KATIB_DEFAULT_FILTER = /([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)/;

/** The metrics in a trial's output, as Katib's collector reads them (the last value of each name wins). */
export function parseKatibMetrics(stdout: string, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const m = KATIB_DEFAULT_FILTER.exec(line.trim());
    if (m && names.includes(m[1]) && m[2] !== '' && Number.isFinite(Number(m[2]))) out[m[1]] = Number(m[2]);
  }
  return out;
}

export interface SearchRange {
  name: (typeof TUNABLE_PARAMETERS)[number];
  type: 'double' | 'int';
  min: number;
  max: number;
}

/** `learning-rate=0.05:1` or `epochs=50:400:int`. */
export function parseRange(spec: string): SearchRange {
  const m = /^([a-z][a-z0-9-]*)=([-+0-9.eE]+):([-+0-9.eE]+)(?::(int|double))?$/.exec(spec);
  const name = m?.[1] as SearchRange['name'] | undefined;
  if (!m || !name || !TUNABLE_PARAMETERS.includes(name))
    throw new Error(`--param "${spec}" must be <${TUNABLE_PARAMETERS.join('|')}>=<min>:<max>[:int|double]`);
  const [min, max] = [Number(m[2]), Number(m[3])];
  const type = ((m[4] as string | undefined) ?? 'double') as SearchRange['type'];
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new Error(`--param "${spec}": min must be a number ≤ max`);
  if (type === 'int' && (!Number.isInteger(min) || !Number.isInteger(max))) throw new Error(`--param "${spec}": an int range needs integer bounds`);
  return { name, type, min, max };
}

/** Random-search suggestions, as Katib's `random` algorithm draws them: uniform in each range. */
export function suggest(ranges: readonly SearchRange[], trials: number, seed: number): Array<Record<string, number>> {
  const rnd = mulberry32(seed);
  return Array.from({ length: trials }, () =>
    Object.fromEntries(
      ranges.map((r) => [
        r.name,
        r.type === 'int' ? r.min + Math.floor(rnd() * (r.max - r.min + 1)) : Number((r.min + rnd() * (r.max - r.min)).toPrecision(6)),
      ]),
    ),
  );
}

export interface TrialProcessResult {
  params: Record<string, number>;
  metrics: Record<string, number>;
  exitCode: number;
  stdout: string;
}

/** Runs one `mlops tune trial` process (the running CLI's own entry) with the parameters as flags. */
export function runTrialProcess(
  baseArgs: readonly string[],
  params: Record<string, number>,
  metricNames: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<TrialProcessResult> {
  // From lib/ (the installed package) as from source: __dirname-relative paths differ between the two.
  const [node, cli] = currentMlopsCommand();
  const args = [cli, 'tune', 'trial', ...baseArgs, ...Object.entries(params).map(([k, v]) => `--${k}=${v}`)];
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) process.stderr.write(stderr);
      resolve({ params, metrics: parseKatibMetrics(stdout, metricNames), exitCode: code ?? 1, stdout });
    });
  });
}

/** Runs the suggestions `parallel` at a time; results in suggestion order. */
export async function runTrials(
  suggestions: ReadonlyArray<Record<string, number>>,
  parallel: number,
  run: (params: Record<string, number>, index: number) => Promise<TrialProcessResult>,
): Promise<TrialProcessResult[]> {
  const results: TrialProcessResult[] = new Array<TrialProcessResult>(suggestions.length);
  let next = 0;
  const worker = async () => {
    while (next < suggestions.length) {
      const i = next++;
      results[i] = await run(suggestions[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, suggestions.length) }, worker));
  return results;
}
