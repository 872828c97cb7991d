import type { FastifyRequest } from 'fastify';
import { safeArtifactPath } from '../artifacts';
import { MlflowError } from '../http/errors';
import type { LoggedModelStore } from '../logged-models/store';
import type { TrackingStore } from '../runs/store';
import { experimentsOfTraceRequest } from '../traces/request-experiments';
import type { TraceStore } from '../traces/store';
import { routeOf } from './places';
import { fieldCandidates, listField, requiredField } from './request-fields';
import type { Target } from './rules';
import { canonicalExperimentId } from './store';

const MAX_CACHED_IDS = 100_000;

/** A bounded id → experiment id map for immutable relations (a run or logged model never changes experiment). */
class IdCache {
  private readonly map = new Map<string, string>();

  async get(id: string, load: (id: string) => Promise<string>): Promise<string> {
    const cached = this.map.get(id);
    if (cached !== undefined) return cached;
    const value = await load(id);
    if (this.map.size >= MAX_CACHED_IDS) this.map.delete(this.map.keys().next().value as string);
    this.map.set(id, value);
    return value;
  }
}

/** What a request targets: experiment ids or registered model names; neither means the default permission applies. */
export interface Targets {
  experiments?: string[];
  models?: string[];
}

export interface TargetStores {
  runs: Pick<TrackingStore, 'experimentIdOfRun' | 'experimentIdByName'>;
  loggedModels: Pick<LoggedModelStore, 'experimentIdOf'>;
  /** MLflow 3 traces (a trace's experiment; see traces/request-experiments.ts). */
  traces: Pick<TraceStore, 'experimentIdOf' | 'experimentIdsOf'>;
}

/** Resolves a rule's target (rules.ts) in a request to what the permission is looked up on, through the stores. */
export class TargetResolver {
  private readonly runExperiments = new IdCache();
  private readonly loggedModelExperiments = new IdCache();

  constructor(private readonly stores: TargetStores) {}

  async resolve(request: FastifyRequest, target: Target): Promise<Targets> {
    switch (target.type) {
      case 'experiment': {
        const raw = fieldCandidates(request, target.field);
        if (!raw.length && target.default) raw.push(target.default);
        if (!raw.length) throw MlflowError.invalid(`Missing value for required parameter '${target.field}'.`);
        return { experiments: [...new Set(raw.map(canonicalExperimentId))] };
      }
      case 'experiment_name':
        return { experiments: [await this.stores.runs.experimentIdByName(requiredField(request, 'experiment_name'))] };
      case 'experiments': {
        const ids = listField(request, 'experiment_ids');
        if (!ids.length) throw MlflowError.invalid("Missing value for required parameter 'experiment_ids'.");
        return { experiments: ids.map(canonicalExperimentId) };
      }
      case 'run':
        return { experiments: await this.experimentsOfRuns([...fieldCandidates(request, 'run_id'), ...fieldCandidates(request, 'run_uuid')], 'run_id') };
      case 'runs':
        return { experiments: await this.experimentsOfRuns(listField(request, target.field), target.field) };
      case 'registered_model': {
        const names = fieldCandidates(request, 'name');
        if (!names.length) throw MlflowError.invalid("Missing value for required parameter 'name'.");
        return { models: names };
      }
      case 'logged_model':
        return { experiments: [await this.experimentOfLoggedModel(request)] };
      case 'artifact_path':
        return artifactPathTargets(request);
      case 'trace':
        return { experiments: [...new Set((await experimentsOfTraceRequest(request, target.from, this.stores.traces)).map(canonicalExperimentId))] };
    }
  }

  private async experimentsOfRuns(runIds: string[], field: string): Promise<string[]> {
    if (!runIds.length) throw MlflowError.invalid(`Missing value for required parameter '${field}'.`);
    const experiments = new Set<string>();
    for (const id of new Set(runIds)) experiments.add(await this.runExperiments.get(id, (runId) => this.stores.runs.experimentIdOfRun(runId)));
    return [...experiments];
  }

  /** The logged model named by the route's first path parameter. */
  private async experimentOfLoggedModel(request: FastifyRequest): Promise<string> {
    const params = (request.params ?? {}) as Record<string, string>;
    const first = /:([^/]+)/.exec(routeOf(request) ?? '')?.[1];
    const modelId = first ? params[first] : undefined;
    if (!modelId) throw MlflowError.invalid("Missing value for required parameter 'model_id'.");
    return this.loggedModelExperiments.get(modelId, (id) => this.stores.loggedModels.experimentIdOf(id));
  }
}

/** `mlflow-artifacts` paths `<experiment_id>/…`, decoded as the artifact handlers decode them, so the id checked is the directory served. */
function artifactPathTargets(request: FastifyRequest): Targets {
  const raws = routeOf(request)?.endsWith('*') ? [(request.params as Record<string, string>)['*']] : fieldCandidates(request, 'path');
  const experiments: string[] = [];
  for (const raw of raws.length ? raws : ['']) {
    const m = /^(\d{1,19})(?:\/|$)/.exec(safeArtifactPath(raw));
    // Paths outside any experiment's directory fall back to the default permission, as in MLflow.
    if (!m) return {};
    experiments.push(String(Number(m[1])));
  }
  return { experiments };
}
