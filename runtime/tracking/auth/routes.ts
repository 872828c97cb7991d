import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MlflowError } from '../errors';
import type { AuthState } from './index';
import { optionalField, requiredField, requiredString } from './request-fields';

function booleanField(request: FastifyRequest, name: string): boolean {
  const body = (request.body ?? {}) as Record<string, unknown>;
  const value = name in body ? body[name] : (request.query as Record<string, unknown>)[name];
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (value === undefined) throw MlflowError.invalid(`Missing value for required parameter '${name}'.`);
  throw MlflowError.invalid(`Invalid value for parameter '${name}' supplied: expected true or false.`);
}

/**
 * /users/* and the experiment / registered-model permission endpoints of `mlflow server --app-name
 * basic-auth` (paths, methods and JSON shapes from mlflow/server/auth/routes.py and client.py).
 * Who may call each is decided by the auth hooks before these run (rules.ts).
 */
export function authRoutes(state: () => AuthState) {
  return async (app: FastifyInstance): Promise<void> => {
    const store = () => state().store;

    app.post('/users/create', async (request) => ({
      user: await store().createUser(requiredString(request, 'username'), requiredString(request, 'password')),
    }));

    app.get('/users/get', async (request) => ({ user: await store().getUser(requiredString(request, 'username')) }));

    // MLflow 3's shape: who the browser authenticated as, without permission lists (the UI asks this).
    app.get('/users/current', async (request) => {
      const user = await store().requireUser(request.user ?? '');
      return { user: { id: user.id, username: user.username, is_admin: user.is_admin }, is_basic_auth: true };
    });

    app.patch('/users/update-password', async (request) => {
      const username = requiredString(request, 'username');
      const password = requiredString(request, 'password');
      // MLflow 3's self-service rule: changing your own password re-asserts the current one (a
      // stolen session cannot silently rotate it); an admin changing someone else's does not.
      if (request.user === username) {
        const current = optionalField(request, 'current_password');
        if (!current) throw MlflowError.invalid('Current password is required when changing your own password.');
        await store().requireUser(username);
        // Through the verifier: wrong guesses count against the login limits and wait in its queue like logins.
        if (!(await state().verifier.verify(username, current, request.ip))) throw MlflowError.invalid('Current password does not match.');
        if (password === current) throw MlflowError.invalid('New password must differ from the current password.');
      }
      await store().updatePassword(username, password);
      state().verifier.forget(username);
      return {};
    });

    app.patch('/users/update-admin', async (request) => {
      await store().updateAdmin(requiredString(request, 'username'), booleanField(request, 'is_admin'));
      return {};
    });

    app.delete('/users/delete', async (request) => {
      const username = requiredString(request, 'username');
      // As MLflow: deleting yourself would leave the caller's own credentials dangling (every next request a 401).
      if (username === request.user) throw new MlflowError('BAD_REQUEST', 'Users cannot delete their own account. Ask another admin to delete this user instead.');
      await store().deleteUser(username);
      state().verifier.forget(username);
      return {};
    });

    app.post('/experiments/permissions/create', async (request) => ({
      experiment_permission: await store().createExperimentPermission(requiredField(request, 'experiment_id'), requiredString(request, 'username'), requiredField(request, 'permission')),
    }));
    app.get('/experiments/permissions/get', async (request) => ({
      experiment_permission: await store().getExperimentPermission(requiredField(request, 'experiment_id'), requiredString(request, 'username')),
    }));
    app.patch('/experiments/permissions/update', async (request) => {
      await store().updateExperimentPermission(requiredField(request, 'experiment_id'), requiredString(request, 'username'), requiredField(request, 'permission'));
      return {};
    });
    app.delete('/experiments/permissions/delete', async (request) => {
      await store().deleteExperimentPermission(requiredField(request, 'experiment_id'), requiredString(request, 'username'));
      return {};
    });

    app.post('/registered-models/permissions/create', async (request) => ({
      registered_model_permission: await store().createRegisteredModelPermission(requiredField(request, 'name'), requiredString(request, 'username'), requiredField(request, 'permission')),
    }));
    app.get('/registered-models/permissions/get', async (request) => ({
      registered_model_permission: await store().getRegisteredModelPermission(requiredField(request, 'name'), requiredString(request, 'username')),
    }));
    app.patch('/registered-models/permissions/update', async (request) => {
      await store().updateRegisteredModelPermission(requiredField(request, 'name'), requiredString(request, 'username'), requiredField(request, 'permission'));
      return {};
    });
    app.delete('/registered-models/permissions/delete', async (request) => {
      await store().deleteRegisteredModelPermission(requiredField(request, 'name'), requiredString(request, 'username'));
      return {};
    });
  };
}
