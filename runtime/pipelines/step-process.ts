import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** Where a line of a step's output goes: the runner's stdout or stderr, already prefixed. */
export type LineSink = (line: string, stream: 'stdout' | 'stderr') => void;

export interface AttemptOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Wall-clock limit of the attempt (the step's timeoutSeconds, or what is left of the pipeline's). */
  timeoutMs: number;
  /** Prefix of each output line, e.g. `[train]`. */
  prefix: string;
  out: LineSink;
  /** Aborting (Ctrl-C of the runner) stops the attempt as a timeout does. */
  signal?: AbortSignal;
}

export interface AttemptResult {
  /** Exit code, or undefined when a signal ended it. */
  code?: number;
  signal?: string;
  timedOut: boolean;
  aborted: boolean;
  /** Could not start (no such command). */
  spawnError?: string;
}

/** Time between SIGTERM and SIGKILL when an attempt is stopped. */
const KILL_GRACE_MS = 5000;

/** Signals the attempt's whole process group (it runs detached, so its children stop with it). */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Runs one attempt of a step as a child process, each line of its stdout and stderr passed on with the
 * prefix; stopped (SIGTERM, then SIGKILL) at the timeout or on abort.
 */
export function runAttempt(opts: AttemptOptions): Promise<AttemptResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = opts.argv;
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    for (const stream of ['stdout', 'stderr'] as const)
      createInterface({ input: child[stream], crlfDelay: Infinity }).on('line', (line) => opts.out(`${opts.prefix} ${line}`, stream));
    const done = (r: Omit<AttemptResult, 'timedOut' | 'aborted'>) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ ...r, timedOut, aborted });
    };
    child.once('error', (err) => done({ spawnError: err.message }));
    child.once('close', (code, signal) => done(code === null ? { signal: signal ?? 'unknown' } : { code }));
  });
}

/** One line saying how an attempt ended. */
export function describeAttempt(r: AttemptResult, timeoutMs: number): string {
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  if (r.aborted) return 'stopped';
  if (r.timedOut) return `timed out after ${Math.round(timeoutMs / 1000)} s`;
  return r.code === undefined ? `killed by ${r.signal}` : `exit code ${r.code}`;
}
