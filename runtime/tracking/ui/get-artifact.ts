import * as path from 'node:path';
import { z } from 'zod';
import type { TrackingPlugin } from '../app';
import { artifactRepositoryFor, safeArtifactPath } from '../artifacts';
import { MlflowError } from '../errors';
import { proxiedPathOf } from '../routes/artifacts';
import { parseRequest, runIdOf } from '../routes/request';

/**
 * GET /get-artifact?run_id=&path= — one run artifact by its path under the run's artifact root, as
 * MLflow's UI downloads and previews them. Works for `mlflow-artifacts:` roots (read through the
 * server's artifact destination) and for direct roots (file://, s3://). The content type follows the
 * file name so text and images preview in the browser; markup is sent as plain text (with nosniff),
 * so an uploaded HTML file can never run script in the UI's origin.
 */
const TEXT = new Set(['.txt', '.log', '.json', '.yaml', '.yml', '.csv', '.tsv', '.md', '.py', '.ts', '.js', '.sh', '.cfg', '.ini', '.toml', '.xml', '.html', '.htm', '.sql', '.svg']);
const IMAGE: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.bmp': 'image/bmp' };
const TEXT_NAMES = new Set(['MLmodel', 'Dockerfile', 'requirements.txt', 'conda.yaml', 'python_env.yaml']);

export function contentTypeOf(file: string): string {
  const ext = path.posix.extname(file).toLowerCase();
  if (IMAGE[ext]) return IMAGE[ext];
  if (TEXT.has(ext) || TEXT_NAMES.has(path.posix.basename(file))) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

const schema = z.object({ run_id: z.string().optional(), run_uuid: z.string().optional(), path: z.string().optional() });

/** A root plugin (mount with `rootPlugins`): MLflow serves this path outside /api. */
export const getArtifactRoute: TrackingPlugin = async (app, ctx) => {
  app.get('/get-artifact', async (request, reply) => {
    const req = parseRequest(request, schema);
    const rel = safeArtifactPath(req.path);
    if (!rel) throw MlflowError.invalid("Missing value for required parameter 'path'.");
    const rootUri = await ctx.store.runArtifactUri(runIdOf(req));
    const proxied = proxiedPathOf(rootUri);
    let file;
    if (proxied !== undefined) {
      if (!ctx.artifacts) throw new MlflowError('ENDPOINT_NOT_FOUND', 'Artifact proxying is disabled: the server runs with --no-serve-artifacts.');
      file = await ctx.artifacts.get([proxied, rel].filter(Boolean).join('/'));
    } else {
      // The run's own URI (file:// or s3://), opened for this one download and closed once it is sent.
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
  });
};
