import * as fs from 'node:fs';
import * as path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TrackingPlugin } from '../plugin';

/**
 * Serves the prebuilt web UI (`npm run build` → ui/tracking/dist) at `/`. Registered without
 * fastify-plugin on purpose: the `sendFile` decoration and the catch-all route stay inside this plugin.
 * The UI routes with the URL fragment, so `index.html` is the only document; any other browser GET that
 * no API route claims (an old bookmark such as `/experiments`) gets `index.html` too, while API, artifact
 * and non-browser requests keep the server's own 404.
 */
export interface WebUiOptions {
  /** Folder with the built `index.html` and `assets/`; default: the first built copy found (see `findUiAssets`). */
  root?: string;
}

/**
 * Where a build put the assets (`ui/tracking/dist` at the package root): found from this file in the
 * source tree (runtime/tracking/web) and from the compiled copy (lib/runtime/tracking/web, as in the image).
 */
export function findUiAssets(): string | undefined {
  const candidates = [
    path.resolve(__dirname, '..', '..', '..', 'ui', 'tracking', 'dist'),
    path.resolve(__dirname, '..', '..', '..', '..', 'ui', 'tracking', 'dist'),
  ];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
}

const API_PATH = /^\/(api|ajax-api)\/|^\/get-artifact\b|^\/(health|version|metrics)\b/;

export async function webUi(app: FastifyInstance, opts: WebUiOptions): Promise<void> {
  const root = opts.root ?? findUiAssets();
  if (!root || !fs.existsSync(path.join(root, 'index.html'))) {
    // A server started from a source checkout before the first build: say so instead of a bare 404.
    app.get('/', async (_req, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The web UI is not built. Run `npm run build` (it builds ui/tracking) and restart the server.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false, // one route per built file; unknown paths fall to the handler below
    cacheControl: false,
    setHeaders: (res, file) => {
      // Vite puts a content hash in every asset name: cache those forever, revalidate the page itself.
      res.setHeader('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.get('/*', async (request: FastifyRequest, reply: FastifyReply) => {
    const wantsPage = (request.headers.accept ?? '').includes('text/html');
    if (!wantsPage || API_PATH.test(request.url)) {
      reply.callNotFound();
      return;
    }
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html');
  });
}

/** The UI as a tracking-app root plugin (`rootPlugins`), with the built assets found automatically. */
export const webUiPlugin: TrackingPlugin = async (app) => webUi(app, {});
