import type { FastifyReply, FastifyRequest } from 'fastify';
import { toMlflowError } from '../http/errors';
import { allows, type Action, type PermissionName } from './permissions';
import { placeOf, routeOf, ruleOf } from './places';
import { ReferenceResolver, hasReferences, referencesOf, type ReferenceStores } from './references';
import { forbidden } from './replies';
import { listField, requiredField } from './request-fields';
import type { Target } from './rules';
import type { Identities } from './authenticate';
import type { AuthState } from './state';
import { canonicalExperimentId, type UserRow } from './store';
import { TargetResolver, type TargetStores } from './targets';

/** The permission questions every step asks: a user's permission on an experiment or a registered model. */
export class Permissions {
  constructor(private readonly state: AuthState) {}

  async onExperiment(user: UserRow, experimentId: string): Promise<PermissionName> {
    return (await this.state.store.cachedExperimentPermission(user.id, experimentId)) ?? this.state.defaultPermission;
  }

  async onModel(user: UserRow, name: string): Promise<PermissionName> {
    return (await this.state.store.cachedRegisteredModelPermission(user.id, name)) ?? this.state.defaultPermission;
  }

  /** A predicate on experiment ids the user may read (one permission read for a whole page). */
  async readableExperiments(user: UserRow): Promise<(id: string) => boolean> {
    const explicit = await this.state.store.experimentPermissions(user.id);
    return (id) => allows(explicit.get(id) ?? this.state.defaultPermission, 'read');
  }

  async readableModels(user: UserRow): Promise<(name: string) => boolean> {
    const explicit = await this.state.store.registeredModelPermissions(user.id);
    return (name) => allows(explicit.get(name) ?? this.state.defaultPermission, 'read');
  }

  get defaultPermission(): PermissionName {
    return this.state.defaultPermission;
  }
}

export interface AuthorizeOptions {
  stores: TargetStores & ReferenceStores;
  /** Artifact roots laid out as `<root>/<experiment id>/…` (references.ts experimentUnder). */
  artifactRoots: readonly string[];
}

/**
 * Step 2, preHandler (the body is parsed): the route's rule (rules.ts) for non-admins. A check
 * resolves the request's targets and references through the stores; every one must allow the action.
 */
export function authorize(identities: Identities, permissions: Permissions, options: AuthorizeOptions) {
  const targets = new TargetResolver(options.stores);
  const references = new ReferenceResolver(options.stores);

  const allowed = async (request: FastifyRequest, user: UserRow, action: Action, target: Target): Promise<boolean> => {
    const { experiments, models } = await targets.resolve(request, target);
    if (!experiments && !models) return allows(permissions.defaultPermission, action);
    for (const id of experiments ?? []) if (!allows(await permissions.onExperiment(user, id), action)) return false;
    for (const name of models ?? []) if (!allows(await permissions.onModel(user, name), action)) return false;
    return true;
  };

  const referencesAllowed = async (request: FastifyRequest, user: UserRow, key: string): Promise<boolean> => {
    if (!hasReferences(request.method, key)) return true;
    for (const ref of referencesOf(request, key, options.artifactRoots)) {
      const target = await references.target(ref);
      if (!target) return false;
      const permission =
        'experiment' in target ? await permissions.onExperiment(user, target.experiment) : await permissions.onModel(user, target.registeredModel);
      if (!allows(permission, ref.action)) return false;
    }
    return true;
  };

  /** MLflow's search_runs / search_logged_models rule: the experiment list narrowed to readable ones. */
  const narrowExperiments = async (request: FastifyRequest, reply: FastifyReply, user: UserRow): Promise<unknown> => {
    const body = request.body as Record<string, unknown> | undefined;
    const ids = listField(request, 'experiment_ids');
    if (!ids.length || !body || typeof body !== 'object') return;
    const canRead = await permissions.readableExperiments(user);
    const narrowed = ids.filter((id) => canRead(canonicalExperimentId(id)));
    if (!narrowed.length) return reply.send(routeOf(request)?.includes('logged-models') ? { models: [] } : { runs: [] });
    body.experiment_ids = narrowed;
  };

  const decide = async (request: FastifyRequest, reply: FastifyReply, user: UserRow, key: string): Promise<unknown> => {
    const rule = ruleOf(request);
    if (!rule) return forbidden(reply);
    switch (rule.kind) {
      case 'authenticated':
      case 'filter':
        return;
      case 'admin':
        return forbidden(reply);
      case 'self':
        if (requiredField(request, 'username') !== user.username) return forbidden(reply);
        return;
      case 'check':
        if (!(await allowed(request, user, rule.action, rule.target)) || !(await referencesAllowed(request, user, key))) return forbidden(reply);
        return;
      case 'narrow_experiments':
        return narrowExperiments(request, reply, user);
    }
  };

  return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const user = identities.get(request);
    if (!user || user.is_admin) return;
    // Routes outside the rule tables (the UI's `/*` fallback answering 404 for API paths) decide nothing here.
    const place = placeOf(request);
    if (place === undefined) return;
    try {
      return await decide(request, reply, user, place.key);
    } catch (err) {
      const e = toMlflowError(err);
      return reply.code(e.status).send(e.toJSON());
    }
  };
}
