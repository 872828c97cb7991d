import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { TrackingContext, TrackingPlugin } from '../app';
import { MlflowError } from '../errors';
import { artifactRepositoryFor, safeArtifactPath, type ArtifactRepository } from '../artifacts';
import { parseRequest, runIdOf } from './request';
import { trimTrailingSlashes } from '../../slashes';

/** `mlflow-artifacts:/0/abc/artifacts` or `mlflow-artifacts://host:port/0/abc/artifacts` → `0/abc/artifacts`. */
export function proxiedPathOf(uri: string): string | undefined {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(uri);
  return m ? trimTrailingSlashes(m[1]) : undefined;
}

function requireArtifacts(ctx: TrackingContext): ArtifactRepository {
  if (!ctx.artifacts) {
    throw new MlflowError('ENDPOINT_NOT_FOUND', 'Artifact proxying is disabled: the server runs with --no-serve-artifacts.');
  }
  return ctx.artifacts;
}

const listSchema = z.object({ run_id: z.string().optional(), run_uuid: z.string().optional(), path: z.string().optional(), page_token: z.string().optional() });

/** GET /artifacts/list: a run's artifacts, paths relative to the run's artifact root (service.proto ListArtifacts). */
export const artifactRoutes: TrackingPlugin = async (app, ctx) => {
  app.get('/artifacts/list', async (request) => {
    const req = parseRequest(request, listSchema);
    const rel = safeArtifactPath(req.path);
    const rootUri = await ctx.store.runArtifactUri(runIdOf(req));
    const proxied = proxiedPathOf(rootUri);
    let files;
    if (proxied !== undefined) {
      const repo = requireArtifacts(ctx);
      files = (await repo.list([proxied, rel].filter(Boolean).join('/'))).map((f) => ({ ...f, path: f.path.slice(proxied.length + 1) }));
    } else {
      // --no-serve-artifacts: the run's own URI (file:// or s3://), opened for this listing only.
      const repo = artifactRepositoryFor(rootUri, { create: false });
      try {
        files = await repo.list(rel);
      } finally {
        repo.close?.();
      }
    }
    return { root_uri: rootUri, files };
  });
};

/**
 * /api/2.0/mlflow-artifacts: the artifact proxy MLflow clients use for `mlflow-artifacts:` URIs.
 * Bodies are streams: every content type is passed through unparsed (an uploaded .json stays bytes).
 */
export const proxiedArtifactRoutes: TrackingPlugin = async (app, ctx) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  const pathParam = (request: FastifyRequest) => safeArtifactPath((request.params as { '*': string })['*']);

  app.get('/artifacts', async (request) => {
    const req = parseRequest(request, z.object({ path: z.string().optional() }));
    const rel = safeArtifactPath(req.path);
    const files = await requireArtifacts(ctx).list(rel);
    // This endpoint returns names relative to the listed directory (MLflow's handler takes the basename).
    return { files: files.map((f) => ({ ...f, path: f.path.split('/').pop()! })) };
  });

  app.get('/artifacts/*', async (request, reply: FastifyReply) => {
    const rel = pathParam(request);
    const { body, size } = await requireArtifacts(ctx).get(rel);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-disposition', `attachment; filename="${encodeURIComponent(rel.split('/').pop() ?? 'artifact')}"`);
    if (size !== undefined) reply.header('content-length', size);
    return reply.send(body);
  });

  app.put('/artifacts/*', async (request) => {
    const rel = pathParam(request);
    await requireArtifacts(ctx).put(rel, request.raw);
    return {};
  });

  app.delete('/artifacts/*', async (request) => {
    const rel = pathParam(request);
    await requireArtifacts(ctx).delete(rel);
    return {};
  });
};
