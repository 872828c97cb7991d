import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { syncPlugin, type TrackingContext, type TrackingFeature, type TrackingPlugin } from '../plugin';
import { MlflowError } from '../http/errors';
import {
  findArtifactOwner,
  joinArtifactPath,
  requiredArtifactPath,
  safeArtifactPath,
  type ArtifactFileInfo,
  type ArtifactOwnerRef,
  type ArtifactRepository,
  type ResolvedRoot,
} from './index';
import { parseRequest, runIdOf } from '../http/request';

function requireArtifacts(ctx: TrackingContext): ArtifactRepository {
  if (!ctx.artifacts) {
    throw new MlflowError('ENDPOINT_NOT_FOUND', 'Artifact proxying is disabled: the server runs with --no-serve-artifacts.');
  }
  return ctx.artifacts;
}

/** A run's artifact root, checked (artifacts/roots.ts) before anything is read from it. */
export async function runArtifactRoot(ctx: TrackingContext, runId: string): Promise<ResolvedRoot> {
  return ctx.artifactRoots.resolveStored(await ctx.store.runArtifactUri(runId), { kind: 'run', id: runId });
}

/** Lists `rel` below a resolved root, with paths relative to the root (as ListArtifacts answers). */
export async function listBelow(root: ResolvedRoot, rel: string): Promise<ArtifactFileInfo[]> {
  const files = await root.repository.list(joinArtifactPath(root.base, rel));
  return root.base ? files.map((f) => ({ ...f, path: f.path.slice(root.base.length + 1) })) : files;
}

/** The run or logged model a proxied path belongs to: the proxy acts inside one owner's artifacts only. */
async function ownerOfProxiedPath(ctx: TrackingContext, rel: string): Promise<ArtifactOwnerRef> {
  const owner = await findArtifactOwner(ctx.connection.db, { scheme: 'mlflow-artifacts', bucket: '', segments: rel.split('/') });
  if (!owner) throw MlflowError.invalid(`Invalid path '${rel}': it is not inside the artifact directory of a run, logged model or trace.`);
  return owner;
}

const listSchema = z.object({ run_id: z.string().optional(), run_uuid: z.string().optional(), path: z.string().optional(), page_token: z.string().optional() });

/** GET /artifacts/list: a run's artifacts, paths relative to the run's artifact root (service.proto ListArtifacts). */
export const artifactRoutes: TrackingPlugin = syncPlugin((app, ctx) => {
  app.get('/artifacts/list', async (request) => {
    const req = parseRequest(request, listSchema);
    const rel = safeArtifactPath(req.path);
    const runId = runIdOf(req);
    const rootUri = await ctx.store.runArtifactUri(runId);
    return { root_uri: rootUri, files: await listBelow(await runArtifactRoot(ctx, runId), rel) };
  });
});

/**
 * /api/2.0/mlflow-artifacts: the artifact proxy MLflow clients use for `mlflow-artifacts:` URIs.
 * Bodies are streams: every content type is passed through unparsed (an uploaded .json stays bytes).
 * Every method needs a path inside one run's or logged model's artifact directory: the destination's
 * root, an experiment's directory or a stray path is a 400, so no request acts above one owner.
 */
export const proxiedArtifactRoutes: TrackingPlugin = syncPlugin((app, ctx) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  const ownedPath = async (raw: string | undefined) => {
    requireArtifacts(ctx);
    const rel = requiredArtifactPath(raw);
    await ownerOfProxiedPath(ctx, rel);
    return rel;
  };
  const pathParam = (request: FastifyRequest) => ownedPath((request.params as { '*': string })['*']);

  app.get('/artifacts', async (request) => {
    const req = parseRequest(request, z.object({ path: z.string().optional() }));
    const files = await requireArtifacts(ctx).list(await ownedPath(req.path));
    // This endpoint returns names relative to the listed directory (MLflow's handler takes the basename).
    return { files: files.map((f) => ({ ...f, path: f.path.slice(f.path.lastIndexOf('/') + 1) })) };
  });
  // The bare collection path has no artifact to write or delete.
  for (const method of ['PUT', 'POST', 'DELETE'] as const) {
    app.route({ method, url: '/artifacts', handler: () => requiredArtifactPath('') });
  }

  app.get('/artifacts/*', async (request, reply: FastifyReply) => {
    const rel = await pathParam(request);
    const { body, size } = await requireArtifacts(ctx).get(rel);
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-disposition', `attachment; filename="${encodeURIComponent(rel.split('/').pop() ?? 'artifact')}"`);
    if (size !== undefined) reply.header('content-length', size);
    return reply.send(body);
  });

  app.put('/artifacts/*', async (request) => {
    const rel = await pathParam(request);
    await requireArtifacts(ctx).put(rel, request.raw);
    return {};
  });

  app.delete('/artifacts/*', async (request) => {
    const rel = await pathParam(request);
    await requireArtifacts(ctx).delete(rel);
    return {};
  });
});

/** Run artifacts under the API prefixes, and the proxied artifact store (`mlflow-artifacts:`) under its own. */
export const artifactsFeature: TrackingFeature = { plugins: [artifactRoutes], artifactPlugins: [proxiedArtifactRoutes] };
