import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../helpers/cli';
import { findUiAssets } from '../../runtime/tracking/web/serve';

/** The built UI (`npm run build:ui`); builds it once when a fresh checkout has none yet. */
export function ensureUiBuilt(): string {
  const found = findUiAssets();
  if (found) return found;
  const vite = path.join(repoRoot, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', 'ui/tracking', '--logLevel', 'error'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building the web UI failed: ${r.stderr || r.stdout}`);
  const built = findUiAssets();
  if (!built) throw new Error('vite build finished but ui/tracking/dist/index.html is missing');
  return built;
}
