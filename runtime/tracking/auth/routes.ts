import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MlflowError } from '../http/errors';
import { boolish, parseBodyAndQuery as parse } from '../http/request';
import { syncPlugin } from '../plugin';
import type { AuthState } from './state';

/** Fields as every route parses them (http/request.ts): user names and passwords are JSON strings, ids may be numbers. */
const text = z.string().min(1, 'a value is required');
const id = z.union([text, z.number().transform(String)]);
const username = text;
const userSchema = z.object({ username });
const credentialsSchema = z.object({ username, password: text });
const updatePasswordSchema = z.object({ username, password: text, current_password: z.string().optional() });
const updateAdminSchema = z.object({ username, is_admin: boolish });
const experimentSchema = z.object({ experiment_id: id, username });
const experimentGrantSchema = z.object({ experiment_id: id, username, permission: id });
const modelSchema = z.object({ name: id, username });
const modelGrantSchema = z.object({ name: id, username, permission: id });

/**
 * /users/* and the experiment / registered-model permission endpoints of `mlflow server --app-name
 * basic-auth` (paths, methods and JSON shapes from mlflow/server/auth/routes.py and client.py).
 * Who may call each is decided by the auth hooks before these run (rules.ts).
 */
export function authRoutes(state: () => AuthState) {
  return syncPlugin((app) => {
    userRoutes(app, state);
    permissionRoutes(app, () => state().store);
  });
}

function userRoutes(app: FastifyInstance, state: () => AuthState): void {
  const store = () => state().store;

  app.post('/users/create', async (request) => {
    const req = parse(request, credentialsSchema);
    return { user: await store().createUser(req.username, req.password) };
  });

  app.get('/users/get', async (request) => ({ user: await store().getUser(parse(request, userSchema).username) }));

  // MLflow 3's shape: who the browser authenticated as, without permission lists (the UI asks this).
  app.get('/users/current', async (request) => {
    const user = await store().requireUser(request.user ?? '');
    return { user: { id: user.id, username: user.username, is_admin: user.is_admin }, is_basic_auth: true };
  });

  app.patch('/users/update-password', async (request) => {
    const { username, password, current_password: current } = parse(request, updatePasswordSchema);
    // MLflow 3's self-service rule: changing your own password re-asserts the current one (a
    // stolen session cannot silently rotate it); an admin changing someone else's does not.
    if (request.user === username) {
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
    const req = parse(request, updateAdminSchema);
    await store().updateAdmin(req.username, req.is_admin);
    return {};
  });

  app.delete('/users/delete', async (request) => {
    const { username } = parse(request, userSchema);
    // As MLflow: deleting yourself would leave the caller's own credentials dangling (every next request a 401).
    if (username === request.user)
      throw new MlflowError('BAD_REQUEST', 'Users cannot delete their own account. Ask another admin to delete this user instead.');
    await store().deleteUser(username);
    state().verifier.forget(username);
    return {};
  });
}

function permissionRoutes(app: FastifyInstance, store: () => AuthState['store']): void {
  app.post('/experiments/permissions/create', async (request) => {
    const req = parse(request, experimentGrantSchema);
    return { experiment_permission: await store().createExperimentPermission(req.experiment_id, req.username, req.permission) };
  });
  app.get('/experiments/permissions/get', async (request) => {
    const req = parse(request, experimentSchema);
    return { experiment_permission: await store().getExperimentPermission(req.experiment_id, req.username) };
  });
  app.patch('/experiments/permissions/update', async (request) => {
    const req = parse(request, experimentGrantSchema);
    await store().updateExperimentPermission(req.experiment_id, req.username, req.permission);
    return {};
  });
  app.delete('/experiments/permissions/delete', async (request) => {
    const req = parse(request, experimentSchema);
    await store().deleteExperimentPermission(req.experiment_id, req.username);
    return {};
  });

  app.post('/registered-models/permissions/create', async (request) => {
    const req = parse(request, modelGrantSchema);
    return { registered_model_permission: await store().createRegisteredModelPermission(req.name, req.username, req.permission) };
  });
  app.get('/registered-models/permissions/get', async (request) => {
    const req = parse(request, modelSchema);
    return { registered_model_permission: await store().getRegisteredModelPermission(req.name, req.username) };
  });
  app.patch('/registered-models/permissions/update', async (request) => {
    const req = parse(request, modelGrantSchema);
    await store().updateRegisteredModelPermission(req.name, req.username, req.permission);
    return {};
  });
  app.delete('/registered-models/permissions/delete', async (request) => {
    const req = parse(request, modelSchema);
    await store().deleteRegisteredModelPermission(req.name, req.username);
    return {};
  });
}
