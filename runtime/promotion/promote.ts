import { MlflowApiError, MlflowClient, type ModelVersion } from '../mlflow';
import { evaluateGate, parseGate, type GateCondition } from './gate';

export interface PromoteOptions {
  /** Registered model name. */
  name: string;
  /** Version to promote. */
  version: string;
  /** Alias to move to it. Default `champion`. */
  alias?: string;
  /** Gate expressions (each may join conditions with `and`); all must hold on the version's run. */
  require?: string[];
  client?: MlflowClient;
}

export interface PromoteResult {
  version: ModelVersion;
  /** Version the alias pointed at before, if any. */
  previous?: string;
  conditions: GateCondition[];
}

/** Raised when a gate condition fails: the message names the condition and the actual value. */
export class PromotionRejected extends Error {
  override name = 'PromotionRejected';
}

const RESERVED_ALIAS = /^(latest|v\d+)$/i;

/**
 * Moves an alias to a model version after checking the gate against the run that produced it. Serving
 * deployments that follow the alias (`models:/<name>@<alias>`) pick the version up by polling the registry.
 */
export async function promote(opts: PromoteOptions): Promise<PromoteResult> {
  const alias = opts.alias ?? 'champion';
  if (!/^\d+$/.test(opts.version)) throw new Error(`--version must be a version number (got ${opts.version})`);
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(alias) || RESERVED_ALIAS.test(alias))
    throw new Error(`--alias ${alias}: use letters, digits, _ and - (not "latest" or v<number>, which MLflow reserves)`);
  // Parse every gate before any network call: a typo must not half-promote.
  const conditions = (opts.require ?? []).flatMap((r) => parseGate(r));
  const client = opts.client ?? new MlflowClient();
  let version: ModelVersion;
  try {
    version = await client.getModelVersion(opts.name, opts.version);
  } catch (err) {
    if (err instanceof MlflowApiError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') throw new Error(`model ${opts.name} has no version ${opts.version}`);
    throw err;
  }
  if (conditions.length) {
    if (!version.run_id) throw new PromotionRejected(`${opts.name} version ${opts.version} has no run to check "${conditions[0].text}" against`);
    const run = await client.getRun(version.run_id);
    const data = {
      metrics: Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value])),
      params: Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value])),
      tags: Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value])),
    };
    const failures = evaluateGate(conditions, data);
    if (failures.length) {
      const f = failures[0];
      throw new PromotionRejected(`gate "${f.condition.text}" failed for ${opts.name} version ${opts.version}: ${f.reason} (run ${version.run_id})`);
    }
  }
  let previous: string | undefined;
  try {
    previous = (await client.getModelVersionByAlias(opts.name, alias)).version;
  } catch (err) {
    if (!(err instanceof MlflowApiError && (err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || err.errorCode === 'INVALID_PARAMETER_VALUE'))) throw err;
  }
  await client.setAlias(opts.name, alias, opts.version);
  return { version, previous, conditions };
}
