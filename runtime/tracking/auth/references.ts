import type { FastifyRequest } from 'fastify';
import { MlflowError } from '../http/errors';
import type { LoggedModelStore } from '../logged-models/store';
import { isUriWithinRoot, parseModelsUri, uriSegments } from '../registry/store';
import { rawFields } from '../http/request';
import type { TrackingStore } from '../runs/store';
import type { Action } from './permissions';

/**
 * Authorization of what a request points at besides its own target (issue 14, finding 4): a model
 * version's source run or logged model, a logged model's source run, the logged models a run links
 * as inputs/outputs or writes metrics onto. The route's own rule (rules.ts) already passed; every
 * reference must then allow the action to the caller too, or the request is a 403.
 *
 * Mirrors MLflow's auth app: validate_can_create_model_version needs READ on the run (run_id or the
 * runs:/ source) and on the logged model (model_id, models:/m-… source), or — when the source is
 * models:/<name>/… — READ on that registered model, the copied version's run then being lineage only;
 * writing metrics onto a logged model needs UPDATE on it (_validate_can_update_run_and_models).
 * A reference that does not exist is refused like an unreadable one, as MLflow does (no id oracle).
 */
export type Reference =
  | { type: 'run'; id: string; action: Action }
  | { type: 'logged_model'; id: string; action: Action }
  | { type: 'registered_model'; name: string; action: Action }
  | { type: 'experiment'; id: string; action: Action };

/** What a reference resolves to for the permission check. */
export type ReferenceTarget = { experiment: string } | { registeredModel: string };

const MAX_CACHED = 100_000;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const listOf = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => !!v && typeof v === 'object') : [];
const run = (id: string | undefined, action: Action): Reference[] => (id ? [{ type: 'run', id, action }] : []);
const loggedModel = (id: string | undefined, action: Action): Reference[] => (id ? [{ type: 'logged_model', id, action }] : []);
const modelIdsOf = (items: unknown, action: Action): Reference[] =>
  [...new Set(listOf(items).map((m) => text(m.model_id)))].flatMap((id) => loggedModel(id, action));

/** An experiment directory segment (decoded as the store decodes it) as a canonical id. */
const experimentSegment = (segment: string | undefined) => (segment !== undefined && /^\d{1,19}$/.test(segment) ? String(Number(segment)) : undefined);

/** `mlflow-artifacts:/<experiment>/…` (with or without an authority): the experiment directory it names. */
function proxiedExperiment(source: string): string | undefined {
  const uri = uriSegments(source);
  return uri.scheme === 'mlflow-artifacts' ? experimentSegment(uri.parts[0]) : undefined;
}

/**
 * A source inside a root the server lays out as `<root>/<experiment id>/…` (the artifacts
 * destination behind mlflow-artifacts:, the default artifact root): the experiment it names. Such a
 * URI (s3://bucket/prefix/7/…) is recorded as given, and whoever loads the version (the inference
 * server, with its own credentials) would read that experiment's files.
 */
function experimentUnder(source: string, roots: readonly string[]): string | undefined {
  for (const root of roots) {
    if (!isUriWithinRoot(source, root)) continue;
    const experiment = experimentSegment(uriSegments(source).parts[uriSegments(root).parts.length]);
    if (experiment !== undefined) return experiment;
  }
  return undefined;
}

/** CreateModelVersion: the source (runs:/, models:/, mlflow-artifacts:/, a path under an artifact root) and run_id / model_id. */
function modelVersionReferences(fields: Record<string, unknown>, roots: readonly string[]): Reference[] {
  const source = text(fields.source) ?? '';
  const runId = text(fields.run_id);
  const modelId = text(fields.model_id);
  if (/^models:\/(?!\/)/i.test(source)) {
    const parsed = parseModelsUri(source);
    // A copy: the registered model is the boundary and the copied run is lineage (MLflow). A model_id
    // is still checked: the registry records the new version on that logged model.
    if (parsed.name !== undefined) return [{ type: 'registered_model', name: parsed.name, action: 'read' }, ...loggedModel(modelId, 'read')];
    return [...loggedModel(parsed.modelId, 'read'), ...run(runId, 'read'), ...loggedModel(modelId, 'read')];
  }
  const sourceRun = /^runs:\/+([^/?#]+)/i.exec(source)?.[1];
  const experiment = proxiedExperiment(source) ?? experimentUnder(source, roots);
  return [
    ...run(sourceRun, 'read'),
    ...(experiment !== undefined ? [{ type: 'experiment', id: experiment, action: 'read' } as const] : []),
    ...run(runId, 'read'),
    ...loggedModel(modelId, 'read'),
  ];
}

/** Route (`METHOD key`, key as in rules.ts) → the references in its request. */
const EXTRACTORS: Partial<Record<string, (fields: Record<string, unknown>, roots: readonly string[]) => Reference[]>> = {
  'POST /model-versions/create': modelVersionReferences,
  'POST /logged-models': (f) => run(text(f.source_run_id), 'read'),
  'POST /runs/outputs': (f) => modelIdsOf(f.models, 'read'),
  'POST /runs/log-inputs': (f) => modelIdsOf(f.models, 'read'),
  'POST /runs/log-metric': (f) => loggedModel(text(f.model_id), 'update'),
  'POST /runs/log-batch': (f) => modelIdsOf(f.metrics, 'update'),
};

/** Whether a route's requests can carry references (so other routes skip the body walk). */
export function hasReferences(method: string, key: string): boolean {
  return EXTRACTORS[`${method} ${key}`] !== undefined;
}

/** Every reference in a request, as the handler will read its fields; `roots`: see experimentUnder. */
export function referencesOf(request: FastifyRequest, key: string, roots: readonly string[] = []): Reference[] {
  const extract = EXTRACTORS[`${request.method} ${key}`];
  return extract ? extract(rawFields(request), roots) : [];
}

export interface ReferenceStores {
  runs: Pick<TrackingStore, 'getRun'>;
  loggedModels: Pick<LoggedModelStore, 'get'>;
}

/** Resolves references through the tracking and logged-model stores; runs and models never change experiment, so that is cached. */
export class ReferenceResolver {
  private readonly experiments = new Map<string, string>();

  constructor(private readonly stores: ReferenceStores) {}

  /** Where the permission is looked up; undefined when the run or logged model does not exist. */
  async target(ref: Reference): Promise<ReferenceTarget | undefined> {
    if (ref.type === 'registered_model') return { registeredModel: ref.name };
    if (ref.type === 'experiment') return { experiment: ref.id };
    const key = `${ref.type}\0${ref.id}`;
    let experiment = this.experiments.get(key);
    if (experiment === undefined) {
      try {
        experiment =
          ref.type === 'run' ? (await this.stores.runs.getRun(ref.id)).info.experiment_id : (await this.stores.loggedModels.get(ref.id)).info.experiment_id;
      } catch (err) {
        if (err instanceof MlflowError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
        throw err;
      }
      if (this.experiments.size >= MAX_CACHED) this.experiments.delete(this.experiments.keys().next().value as string);
      this.experiments.set(key, experiment);
    }
    return { experiment };
  }
}
