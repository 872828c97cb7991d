import * as path from 'node:path';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { TrackingContext, TrackingPlugin } from '../app';
import { artifactRepositoryFor, safeArtifactPath } from '../artifacts';
import { MlflowError } from '../errors';
import { LoggedModelStore, type RegistryDb } from '../registry';
import { proxiedPathOf } from '../routes/artifacts';
import { parseRequest } from '../routes/request';
import { contentTypeOf } from './get-artifact';

/**
 * GET logged-models/<model_id>/artifacts/files?artifact_file_path= — one file of an MLflow 3 logged
 * model, as MLflow's server defines it (server/__init__.py, `get_logged_model_artifact_handler`): MLflow 3
 * keeps a model's files under the logged model's own location, not under the run, so the run page needs
 * this to preview and download them. Permission: READ on the model's experiment (the auth rules key
 * `/logged-models/:/artifacts/files`). Same content-type rules as /get-artifact: markup as plain text.
 */
const schema = z.object({ artifact_file_path: z.string().optional() });

/** Sends `rel` under `rootUri`: through the proxied destination for `mlflow-artifacts:` roots, else the root's own repository. */
export async function sendArtifactFile(ctx: TrackingContext, reply: FastifyReply, rootUri: string, rel: string): Promise<FastifyReply> {
  const proxied = proxiedPathOf(rootUri);
  let file;
  if (proxied !== undefined) {
    if (!ctx.artifacts) throw new MlflowError('ENDPOINT_NOT_FOUND', 'Artifact proxying is disabled: the server runs with --no-serve-artifacts.');
    file = await ctx.artifacts.get([proxied, rel].filter(Boolean).join('/'));
  } else {
    const repo = artifactRepositoryFor(rootUri, { create: false });
    try {
      file = await repo.get(rel);
    } catch (err) {
      repo.close?.();
      throw err;
    }
    reply.raw.once('close', () => repo.close?.());
  }
  reply.header('content-type', contentTypeOf(rel));
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-disposition', `inline; filename="${encodeURIComponent(path.posix.basename(rel))}"`);
  if (file.size !== undefined) reply.header('content-length', file.size);
  return reply.send(file.body);
}

/** A tracking-app resource plugin: mounted under each API prefix, beside logged-models/<id>/artifacts/directories. */
export const loggedModelArtifactRoute: TrackingPlugin = async (app, ctx) => {
  const store = new LoggedModelStore(ctx.connection.db as unknown as RegistryDb);
  app.get('/logged-models/:model_id/artifacts/files', async (request, reply) => {
    const req = parseRequest(request, schema);
    const rel = safeArtifactPath(req.artifact_file_path);
    if (!rel) throw new MlflowError('BAD_REQUEST', 'Request must include the "artifact_file_path" query parameter.');
    const root = await store.artifactLocation((request.params as { model_id: string }).model_id);
    return sendArtifactFile(ctx, reply, root, rel);
  });
};
