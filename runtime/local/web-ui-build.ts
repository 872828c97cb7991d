import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * `npm start` builds the web UI itself when a checkout has no bundle yet, or when its sources are newer than
 * the bundle (after a `git pull`). Chosen over npm's `prepare` script, which also runs in `npm ci
 * --omit=dev` (the image's dependency stage: no sources, no vite) and not at all under `--ignore-scripts`,
 * and over committing the bundle (build output in Git, stale after any UI change). The build takes ~5 s.
 */
export interface WebUiBuildOptions {
  /** The UI's source folder (index.html, vite.config.ts, src/). @default ui/tracking of this checkout */
  uiDir?: string;
  log?: (line: string) => void;
}

/** What the tracking server will serve at `/`. */
export type WebUiState =
  | { status: 'built'; dist: string; seconds: number }
  | { status: 'current'; dist: string }
  /** No UI sources here (an installed package or image ships `dist/` prebuilt, or nothing). */
  | { status: 'no-sources' }
  | { status: 'failed'; reason: string };

// From runtime/local (tsx) or lib/runtime/local (compiled), as findUiAssets looks for the bundle.
const DEFAULT_UI_DIR =
  [path.resolve(__dirname, '..', '..', 'ui', 'tracking'), path.resolve(__dirname, '..', '..', '..', 'ui', 'tracking')].find((dir) =>
    fs.existsSync(path.join(dir, 'index.html')),
  ) ?? path.resolve(__dirname, '..', '..', 'ui', 'tracking');

/** Newest modification time (ms) of the files under `p`, or of `p` itself. */
function newestMtime(p: string): number {
  const stat = fs.statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(p).reduce((max, entry) => Math.max(max, newestMtime(path.join(p, entry))), 0);
}

/** Why the bundle must be (re)built, or undefined when it is current. */
export function staleReason(uiDir: string): string | undefined {
  const index = path.join(uiDir, 'dist', 'index.html');
  if (!fs.existsSync(index)) return 'first start: no bundle yet';
  const built = fs.statSync(index).mtimeMs;
  const sources = ['index.html', 'vite.config.ts', 'src'].map((f) => path.join(uiDir, f)).filter((f) => fs.existsSync(f));
  return sources.some((f) => newestMtime(f) > built) ? 'its sources changed since the last build' : undefined;
}

function runVite(vite: string, uiDir: string, outDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vite, 'build', uiDir, '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (err) => resolve({ code: null, output: err.message }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** Builds the UI when it is missing or stale (printing what it does), so the server started next serves it. */
export async function ensureWebUi(opts: WebUiBuildOptions = {}): Promise<WebUiState> {
  const uiDir = opts.uiDir ?? DEFAULT_UI_DIR;
  const log = opts.log ?? (() => undefined);
  const dist = path.join(uiDir, 'dist');
  if (!fs.existsSync(path.join(uiDir, 'vite.config.ts'))) return { status: 'no-sources' };
  const reason = staleReason(uiDir);
  if (!reason) return { status: 'current', dist };
  let vite: string;
  try {
    // vite's `exports` hide bin/; its package.json is exported and names the bin.
    const manifest = require.resolve('vite/package.json', { paths: [uiDir] });
    vite = path.join(path.dirname(manifest), (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { bin: { vite: string } }).bin.vite);
  } catch {
    return { status: 'failed', reason: 'vite is not installed (npm install installs it; npm ci --omit=dev does not)' };
  }
  log(`building the web UI (${reason}) ...`);
  const started = Date.now();
  // Built beside dist/ and swapped in: a failed build keeps the old bundle, and a server (or test) reading
  // dist/ meanwhile never sees it half-written.
  const next = path.join(uiDir, `.dist-${process.pid}`);
  const { code, output } = await runVite(vite, uiDir, next);
  if (code !== 0 || !fs.existsSync(path.join(next, 'index.html'))) {
    fs.rmSync(next, { recursive: true, force: true });
    const last = output.trim().split('\n').filter(Boolean).slice(-1)[0] ?? `vite exited with ${code}`;
    return { status: 'failed', reason: `vite build failed: ${last}` };
  }
  const old = `${next}-old`;
  if (fs.existsSync(dist)) fs.renameSync(dist, old);
  fs.renameSync(next, dist);
  fs.rmSync(old, { recursive: true, force: true });
  const seconds = (Date.now() - started) / 1000;
  log(`built the web UI in ${seconds.toFixed(1)} s (${path.relative(process.cwd(), dist) || dist})`);
  return { status: 'built', dist, seconds };
}
