import { MlflowApiError, MlflowClient } from '../mlflow';
import { runTraining, type TrainingOptions, type TrainingResult } from '../training';
import { promote } from '../promotion';
import { ownValue } from '../../core/records';
import { submitPipeline, type WorkflowApi } from '../pipelines/submit';

/** One sample of a Prometheus text exposition. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (0.0.4): enough for gauges and counters with labels. */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2])
      for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value });
  }
  return out;
}

export interface DriftReading {
  model: string;
  version: string;
  rows: number;
  psi: Record<string, number>;
  /** Features over the threshold. */
  drifted: string[];
}

/**
 * Reads the drift summary of one registered model from an inference server's /metrics: per version, the
 * PSI per feature (reported once the window holds enough rows) against `threshold`.
 */
export function driftFromMetrics(samples: readonly PromSample[], model: string, threshold: number): DriftReading[] {
  const byVersion = new Map<string, DriftReading>();
  const get = (version: string) => {
    let r = byVersion.get(version);
    if (!r) byVersion.set(version, (r = { model, version, rows: 0, psi: {}, drifted: [] }));
    return r;
  };
  for (const s of samples) {
    const version = ownValue(s.labels, 'version');
    if (s.labels.model !== model || version === undefined) continue;
    if (s.name === 'mlops_drift_window_rows') get(version).rows = s.value;
    if (s.name === 'mlops_feature_psi' && s.labels.feature) {
      const r = get(s.labels.version);
      r.psi[s.labels.feature] = s.value;
      if (s.value > threshold) r.drifted.push(s.labels.feature);
    }
  }
  return [...byVersion.values()];
}

export interface RetrainOptions {
  /** Inference server whose /metrics carries the drift summary (MLOPS_INFERENCE_URL). */
  inferenceUrl: string;
  /** Registered model to watch and to register the retrained version of. */
  registeredModel: string;
  experiment?: string;
  /** PSI above which a feature counts as drifted (the environment's monitoring.driftPsiThreshold). Default 0.2. */
  threshold?: number;
  /** Alias serving follows; its version is the one checked. Default `champion`. */
  alias?: string;
  /** Alias set on the retrained version. Default `challenger`. */
  candidateAlias?: string;
  /** When set, promote the retrained version to `alias` if this gate holds (e.g. `metrics.auc >= 0.8`). */
  promoteIf?: string;
  /** Train even without drift (a scheduled refresh). Default false. */
  force?: boolean;
  training?: Omit<TrainingOptions, 'experiment' | 'registeredModel' | 'alias' | 'client'>;
  /**
   * Start this pipeline (its WorkflowTemplate, through the Kubernetes API) instead of training in-process.
   * It gets `experiment`, `registered-model` and `alias`; its own steps train, evaluate, register and promote
   * under its gate, so `promoteIf` and `training` do not apply. @default train in-process
   */
  pipeline?: RetrainPipeline;
  client?: MlflowClient;
  log?: (line: string) => void;
}

/** The pipeline the drift trigger starts. */
export interface RetrainPipeline {
  readonly name: string;
  readonly namespace: string;
  readonly api: WorkflowApi;
}

export interface RetrainOutcome {
  drift: DriftReading | undefined;
  /** Retraining ran in-process, or its pipeline was submitted (`workflow`). */
  retrained: boolean;
  /** The submitted Workflow's name, with `pipeline`. */
  workflow?: string;
  training?: TrainingResult;
  promoted?: boolean;
}

/** The retraining CronJob's command: read drift, train and register when drifted, optionally promote. */
export async function retrainIfDrifted(opts: RetrainOptions): Promise<RetrainOutcome> {
  const log = opts.log ?? (() => undefined);
  const threshold = opts.threshold ?? 0.2;
  if (!(threshold > 0)) throw new Error(`--drift-threshold must be a positive number (got ${opts.threshold})`);
  const alias = opts.alias ?? 'champion';
  if (opts.pipeline && opts.promoteIf)
    throw new Error(`--promote-if does not apply with --pipeline: the pipeline "${opts.pipeline.name}" promotes under its own gate`);
  const client = opts.client ?? new MlflowClient();
  const metricsUrl = `${opts.inferenceUrl.replace(/\/+$/, '')}/metrics`;
  let text: string;
  try {
    const res = await fetch(metricsUrl);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    text = await res.text();
  } catch (err) {
    throw new Error(
      `cannot read drift metrics from ${metricsUrl}: ${err instanceof Error ? ((err as Error & { cause?: Error }).cause?.message ?? err.message) : String(err)}`,
    );
  }
  const readings = driftFromMetrics(parsePrometheusText(text), opts.registeredModel, threshold);
  let servingVersion: string | undefined;
  try {
    servingVersion = (await client.getModelVersionByAlias(opts.registeredModel, alias)).version;
  } catch (err) {
    if (!(err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST')) throw err;
  }
  // The alias's version when the server reports it; otherwise whatever version of the model it serves.
  const drift = readings.find((r) => r.version === servingVersion) ?? readings.at(0);
  if (drift && servingVersion !== undefined && drift.version !== servingVersion) {
    // Just after a promotion the server still serves the previous version until its next alias check.
    log(
      `${opts.registeredModel}@${alias} is version ${servingVersion}, not yet in ${metricsUrl}; reading version ${drift.version}, which sees the same traffic`,
    );
  }
  const worst =
    drift &&
    Object.entries(drift.psi)
      .sort((a, b) => b[1] - a[1])
      .at(0);
  if (!drift) log(`no drift summary for ${opts.registeredModel} on ${metricsUrl} (no traffic yet, or the model has no reference stats)`);
  else if (!worst) log(`${opts.registeredModel} version ${drift.version}: ${drift.rows} rows in the window, too few for PSI yet`);
  else {
    log(`${opts.registeredModel} version ${drift.version}: max PSI ${worst[1].toFixed(4)} (${worst[0]}) over ${drift.rows} rows; threshold ${threshold}`);
  }
  const drifted = !!drift && drift.drifted.length > 0;
  if (!drifted && !opts.force) {
    log('no drift: nothing to retrain');
    return { drift, retrained: false };
  }
  log(drifted ? `drift in ${drift.drifted.join(', ')}: retraining` : 'no drift, retraining anyway (--force)');
  if (opts.pipeline) return { drift, retrained: true, workflow: await startPipeline(opts.pipeline, opts, alias, log) };
  const training = await runTraining({
    ...opts.training,
    experiment: opts.experiment ?? 'churn',
    registeredModel: opts.registeredModel,
    alias: opts.candidateAlias ?? 'challenger',
    client,
    log,
  });
  let promoted: boolean | undefined;
  if (opts.promoteIf && training.version) {
    await promote({ name: opts.registeredModel, version: training.version.version, alias, require: [opts.promoteIf], client });
    promoted = true;
    log(`promoted ${opts.registeredModel} version ${training.version.version} to @${alias}`);
  }
  return { drift, retrained: true, training, promoted };
}

/** Submits the retraining pipeline with the watched model's names; returns the Workflow's name. */
async function startPipeline(p: RetrainPipeline, opts: RetrainOptions, alias: string, log: (line: string) => void): Promise<string> {
  const params = new Map([
    ['experiment', opts.experiment ?? 'churn'],
    ['registered-model', opts.registeredModel],
    ['alias', alias],
  ]);
  const wf = await submitPipeline(p.api, { name: p.name, namespace: p.namespace, params });
  const name = wf.metadata.name ?? '';
  log(`submitted pipeline ${p.name}: workflow ${p.namespace}/${name}`);
  return name;
}
