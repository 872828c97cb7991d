import type { TraceRequestSource } from '../traces/request-experiments';
import type { Action } from './permissions';

/**
 * MLflow's endpoint → permission mapping (mlflow/server/auth/__init__.py BEFORE_REQUEST_HANDLERS,
 * BEFORE_REQUEST_VALIDATORS, the proxied-artifact and logged-model validators, AFTER_REQUEST
 * handlers), keyed by the route the server matched, with the API prefix removed and path parameters
 * written `:`. Runs, run artifacts and logged models are checked against their experiment; model
 * versions, aliases and tags against their registered model. Admins pass every check.
 *
 * A protected route that is in no table is refused to non-admins (fail closed): a new endpoint
 * needs a line here before ordinary users can call it.
 */
export type Target =
  /** `experiment_id` in the request (runs/create and logged-models: the experiment the new object goes into). */
  | { type: 'experiment'; field: 'experiment_id'; default?: string }
  | { type: 'experiment_name' }
  /** `run_id`, else `run_uuid` (the precedence the handlers use). */
  | { type: 'run' }
  /** Every run listed in `field` (repeated query key or JSON array). */
  | { type: 'runs'; field: string }
  /** Every experiment listed in `experiment_ids`. */
  | { type: 'experiments' }
  | { type: 'registered_model' }
  /** The logged model named by the route's first path parameter, checked on its experiment. */
  | { type: 'logged_model' }
  /** `mlflow-artifacts` paths: `<experiment_id>/…`, from the path or the `path` query field. */
  | { type: 'artifact_path' }
  /** MLflow 3 traces, checked on their experiments (traces/request-experiments.ts says where each route names them). */
  | { type: 'trace'; from: TraceRequestSource };

export type Rule =
  | { kind: 'authenticated' }
  | { kind: 'admin' }
  /** The user named in `username`, or an admin (users/get, users/update-password). */
  | { kind: 'self' }
  | { kind: 'check'; action: Action; target: Target }
  /** Allowed; the response's list is filtered to readable items (after-request filtering). */
  | { kind: 'filter'; list: 'experiments' | 'registered_models' | 'model_versions'; by: 'experiment' | 'registered_model' }
  /** Allowed; `experiment_ids` in the request is narrowed to readable experiments before the handler runs. */
  | { kind: 'narrow_experiments' };

type MethodRules = Rule | Partial<Record<'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', Rule>>;

const check = (action: Action, target: Target): Rule => ({ kind: 'check', action, target });
const exp = { type: 'experiment', field: 'experiment_id' } as const;
const run = { type: 'run' } as const;
const model = { type: 'registered_model' } as const;
const logged = { type: 'logged_model' } as const;

const trace = (from: TraceRequestSource) => ({ type: 'trace', from }) as const;

/** Routes under /api/2.0/mlflow and /ajax-api/2.0/mlflow (and the 3.0 prefixes, whose routes share these keys). */
export const API_RULES: Partial<Record<string, MethodRules>> = {
  // experiments
  '/experiments/create': { kind: 'authenticated' },
  '/experiments/get': check('read', exp),
  '/experiments/get-by-name': check('read', { type: 'experiment_name' }),
  '/experiments/search': { kind: 'filter', list: 'experiments', by: 'experiment' },
  '/experiments/update': check('update', exp),
  '/experiments/delete': check('delete', exp),
  '/experiments/restore': check('delete', exp),
  '/experiments/set-experiment-tag': check('update', exp),
  '/experiments/delete-experiment-tag': check('update', exp),
  '/experiments/search-datasets': check('read', { type: 'experiments' }),
  // runs (inherit the experiment's permission)
  '/runs/create': check('update', { type: 'experiment', field: 'experiment_id', default: '0' }),
  '/runs/get': check('read', run),
  '/runs/update': check('update', run),
  '/runs/delete': check('delete', run),
  '/runs/restore': check('delete', run),
  '/runs/log-metric': check('update', run),
  '/runs/log-parameter': check('update', run),
  '/runs/set-tag': check('update', run),
  '/runs/delete-tag': check('update', run),
  '/runs/log-batch': check('update', run),
  '/runs/log-model': check('update', run),
  '/runs/log-inputs': check('update', run),
  '/runs/outputs': check('update', run),
  '/runs/search': { kind: 'narrow_experiments' },
  '/metrics/get-history': check('read', run),
  '/metrics/get-history-bulk': check('read', { type: 'runs', field: 'run_id' }),
  '/metrics/get-history-bulk-interval': check('read', { type: 'runs', field: 'run_ids' }),
  '/artifacts/list': check('read', run),
  // MLflow 3 logged models (experiment permission of the model's experiment)
  '/logged-models': check('update', exp),
  '/logged-models/search': { kind: 'narrow_experiments' },
  '/logged-models/:': { GET: check('read', logged), PATCH: check('update', logged), DELETE: check('delete', logged) },
  '/logged-models/:/tags': check('update', logged),
  '/logged-models/:/tags/:': check('delete', logged),
  '/logged-models/:/params': check('update', logged),
  '/logged-models/:/artifacts/directories': check('read', logged),
  '/logged-models/:/artifacts/files': check('read', logged),
  // MLflow 3 traces (their experiment's permission; 3.x clients call /api/3.0, 2.x and 3.1 the 2.0 StartTrace/EndTrace/GetTraceInfo/SearchTraces)
  '/server-info': { kind: 'authenticated' },
  '/traces': { POST: check('update', trace('start')), GET: check('read', { type: 'experiments' }) },
  '/traces/:': { GET: check('read', trace('path')), PATCH: check('update', trace('path')) },
  '/traces/:/info': check('read', trace('path')),
  '/traces/batchGetInfos': check('read', trace('trace_ids')),
  '/traces/search': check('read', trace('locations')),
  '/traces/:/tags': { PATCH: check('update', trace('path')), DELETE: check('update', trace('path')) },
  '/traces/delete-traces': check('delete', exp),
  '/traces/link-to-run': check('update', run),
  '/traces/:/assessments': { POST: check('update', trace('path')) },
  '/traces/:/assessments/:': { GET: check('read', trace('path')), PATCH: check('update', trace('path')), DELETE: check('update', trace('path')) },
  // model registry (by registered model name)
  '/registered-models/create': { kind: 'authenticated' },
  '/registered-models/get': check('read', model),
  '/registered-models/update': check('update', model),
  '/registered-models/rename': check('update', model),
  '/registered-models/delete': check('delete', model),
  '/registered-models/search': { kind: 'filter', list: 'registered_models', by: 'registered_model' },
  '/registered-models/get-latest-versions': check('read', model),
  '/registered-models/set-tag': check('update', model),
  '/registered-models/delete-tag': check('update', model),
  '/registered-models/alias': { GET: check('read', model), POST: check('update', model), DELETE: check('delete', model) },
  '/model-versions/create': check('update', model),
  '/model-versions/get': check('read', model),
  '/model-versions/update': check('update', model),
  '/model-versions/delete': check('delete', model),
  '/model-versions/search': { kind: 'filter', list: 'model_versions', by: 'registered_model' },
  '/model-versions/get-download-uri': check('read', model),
  '/model-versions/transition-stage': check('update', model),
  '/model-versions/set-tag': check('update', model),
  '/model-versions/delete-tag': check('delete', model),
  '/model-versions/audit': check('read', model),
  // users and permissions (mlflow/server/auth/routes.py)
  '/users/create': { kind: 'admin' },
  '/users/get': { kind: 'self' },
  '/users/current': { kind: 'authenticated' },
  '/users/update-password': { kind: 'self' },
  '/users/update-admin': { kind: 'admin' },
  '/users/delete': { kind: 'admin' },
  '/experiments/permissions/create': check('manage', exp),
  '/experiments/permissions/get': check('manage', exp),
  '/experiments/permissions/update': check('manage', exp),
  '/experiments/permissions/delete': check('manage', exp),
  '/registered-models/permissions/create': check('manage', model),
  '/registered-models/permissions/get': check('manage', model),
  '/registered-models/permissions/update': check('manage', model),
  '/registered-models/permissions/delete': check('manage', model),
};

/** Routes under /api/2.0/mlflow-artifacts (MLflow: read to download/list, update to upload, manage to delete). */
export const ARTIFACT_RULES: Partial<Record<string, MethodRules>> = {
  '/artifacts': check('read', { type: 'artifact_path' }),
  '/artifacts/*': {
    GET: check('read', { type: 'artifact_path' }),
    PUT: check('update', { type: 'artifact_path' }),
    POST: check('update', { type: 'artifact_path' }),
    DELETE: check('manage', { type: 'artifact_path' }),
  },
};

/** Routes at the root that carry data (the UI's downloads). */
export const ROOT_RULES: Partial<Record<string, MethodRules>> = {
  '/get-artifact': check('read', run),
  '/model-versions/get-artifact': check('read', model),
};

export function ruleFor(table: Partial<Record<string, MethodRules>>, route: string, method: string): Rule | undefined {
  const entry = table[route];
  if (!entry) return undefined;
  if ('kind' in entry) return entry;
  const m = (method === 'HEAD' ? 'GET' : method) as keyof typeof entry;
  return (entry as Record<string, Rule>)[m];
}

/** What happens after a successful write: the creator's MANAGE grant and registry renames/deletes. */
export type AfterAction = 'grant_experiment' | 'grant_registered_model' | 'rename_registered_model' | 'forget_registered_model';

export const AFTER_ACTIONS: Partial<Record<string, AfterAction>> = {
  'POST /experiments/create': 'grant_experiment',
  'POST /registered-models/create': 'grant_registered_model',
  'POST /registered-models/rename': 'rename_registered_model',
  'DELETE /registered-models/delete': 'forget_registered_model',
};
