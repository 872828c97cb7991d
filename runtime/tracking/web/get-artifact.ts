import * as path from 'node:path';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { syncPlugin, type TrackingPlugin } from '../plugin';
import { joinArtifactPath, safeArtifactPath, type ResolvedRoot } from '../artifacts';
import { MlflowError } from '../http/errors';
import { runArtifactRoot } from '../artifacts/routes';
import { parseRequest, runIdOf } from '../http/request';

/**
 * GET /get-artifact?run_id=&path= — one run artifact by its path under the run's artifact root, as
 * MLflow's UI downloads and previews them. Works for `mlflow-artifacts:` roots (read through the
 * server's artifact destination) and for direct roots (file://, s3://) inside the server's configured
 * artifact roots; any other stored root is refused (artifacts/roots.ts). The content type follows the
 * file name so text and images preview in the browser; markup is sent as plain text (with nosniff),
 * so an uploaded HTML file can never run script in the UI's origin.
 */
const TEXT = new Set([
  '.txt',
  '.log',
  '.json',
  '.yaml',
  '.yml',
  '.csv',
  '.tsv',
  '.md',
  '.py',
  '.ts',
  '.js',
  '.sh',
  '.cfg',
  '.ini',
  '.toml',
  '.xml',
  '.html',
  '.htm',
  '.sql',
  '.svg',
]);
const IMAGE: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
};
const TEXT_NAMES = new Set(['MLmodel', 'Dockerfile', 'requirements.txt', 'conda.yaml', 'python_env.yaml']);

export function contentTypeOf(file: string): string {
  const ext = path.posix.extname(file).toLowerCase();
  if (IMAGE[ext]) return IMAGE[ext];
  if (TEXT.has(ext) || TEXT_NAMES.has(path.posix.basename(file))) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

const schema = z.object({ run_id: z.string().optional(), run_uuid: z.string().optional(), path: z.string().optional() });

/** A root plugin (mount with `rootPlugins`): MLflow serves this path outside /api. */
export const getArtifactRoute: TrackingPlugin = syncPlugin((app, ctx) => {
  app.get('/get-artifact', async (request, reply) => {
    const req = parseRequest(request, schema);
    const rel = safeArtifactPath(req.path);
    if (!rel) throw MlflowError.invalid("Missing value for required parameter 'path'.");
    return sendArtifactFile(reply, await runArtifactRoot(ctx, runIdOf(req)), rel);
  });
});

/** Sends `rel` under a resolved (containment-checked) root: the content type by name, markup as plain text, nosniff. */
export async function sendArtifactFile(reply: FastifyReply, root: ResolvedRoot, rel: string): Promise<FastifyReply> {
  const file = await root.repository.get(joinArtifactPath(root.base, rel));
  reply.header('content-type', contentTypeOf(rel));
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-disposition', `inline; filename="${encodeURIComponent(path.posix.basename(rel))}"`);
  if (file.size !== undefined) reply.header('content-length', file.size);
  return reply.send(file.body);
}
