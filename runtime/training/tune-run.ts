import { parseRange, runTrialProcess, runTrials, suggest } from './tune-local';
import { registerBestTrial, type Goal } from './tune';
import { MlflowClient } from '../mlflow';

export interface LocalSearchOptions {
  tuning: string;
  experiment: string;
  metric: string;
  goal: Goal;
  registeredModel: string;
  alias?: string;
  param: string[];
  trials: number;
  parallel: number;
  searchSeed: number;
  rows: number;
  trackingUri?: string;
  out: (line: string) => void;
}

/** `mlops tune run --local`: the trials as processes (Katib's way), a table of their objectives, then the best registered. */
export async function runLocalSearch(opts: LocalSearchOptions): Promise<void> {
  const ranges = opts.param.map(parseRange);
  const suggestions = suggest(ranges, opts.trials, opts.searchSeed);
  const base = ['--tuning', opts.tuning, '--experiment', opts.experiment, '--metric', opts.metric, '--goal', opts.goal, '--rows', String(opts.rows)];
  const env = { ...process.env, ...(opts.trackingUri ? { MLFLOW_TRACKING_URI: opts.trackingUri } : {}) };
  opts.out(`search ${opts.tuning}: ${opts.trials} trials, ${opts.parallel} at a time, objective ${opts.goal} ${opts.metric}`);
  const results = await runTrials(suggestions, opts.parallel, async (params, i) => {
    const r = await runTrialProcess(base, params, [opts.metric], env);
    const shown = Object.entries(params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const value = r.metrics[opts.metric] as number | undefined;
    opts.out(`trial ${i + 1}: ${shown} → ${r.exitCode === 0 ? `${opts.metric}=${value?.toFixed(4) ?? '?'}` : `failed (exit ${r.exitCode})`}`);
    return r;
  });
  const failed = results.filter((r) => r.exitCode !== 0).length;
  if (failed === results.length) throw new Error('every trial failed');
  const best = await registerBestTrial({ ...opts, client: new MlflowClient({ trackingUri: opts.trackingUri }) });
  opts.out(`best of ${best.trials} trials (${failed} failed): run ${best.bestRunId} ${opts.metric}=${best.value.toFixed(4)}`);
  opts.out(`registered ${best.version.name} version ${best.version.version}; parent run ${best.parentRunId} finished`);
}
