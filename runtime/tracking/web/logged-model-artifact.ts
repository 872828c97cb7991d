import { z } from 'zod';
import { syncPlugin, type TrackingPlugin } from '../plugin';
import { safeArtifactPath } from '../artifacts';
import { MlflowError } from '../http/errors';
import { parseRequest } from '../http/request';
import { sendArtifactFile } from './get-artifact';

/**
 * GET logged-models/<model_id>/artifacts/files?artifact_file_path= — one file of an MLflow 3 logged
 * model, as MLflow's server defines it (server/__init__.py, `get_logged_model_artifact_handler`): MLflow 3
 * keeps a model's files under the logged model's own location, not under the run, so the run page needs
 * this to preview and download them. Permission: READ on the model's experiment (the auth rules key
 * `/logged-models/:/artifacts/files`). Same content-type rules as /get-artifact: markup as plain text.
 */
const schema = z.object({ artifact_file_path: z.string().optional() });

/** A tracking-app resource plugin: mounted under each API prefix, beside logged-models/<id>/artifacts/directories. */
export const loggedModelArtifactRoute: TrackingPlugin = syncPlugin((app, ctx) => {
  const store = ctx.loggedModels;
  app.get('/logged-models/:model_id/artifacts/files', async (request, reply) => {
    const req = parseRequest(request, schema);
    const rel = safeArtifactPath(req.artifact_file_path);
    if (!rel) throw new MlflowError('BAD_REQUEST', 'Request must include the "artifact_file_path" query parameter.');
    const modelId = (request.params as { model_id: string }).model_id;
    // Checked like a run's root: a stored location outside the model's own directory is refused.
    const root = ctx.artifactRoots.resolveStored(await store.artifactLocation(modelId), { kind: 'logged_model', id: modelId });
    return sendArtifactFile(reply, root, rel);
  });
});
