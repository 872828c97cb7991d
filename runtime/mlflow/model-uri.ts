import * as path from 'node:path';
import { trimTrailingSlashes } from '../slashes';

/** What `-m` names, parsed. Stages follow MLflow: None, Staging, Production, Archived (any case). */
export type ModelUri =
  | { kind: 'alias'; name: string; alias: string; uri: string }
  | { kind: 'version'; name: string; version: string; uri: string }
  | { kind: 'stage'; name: string; stage: string; uri: string }
  | { kind: 'latest'; name: string; uri: string }
  | { kind: 'run'; runId: string; path: string; uri: string }
  | { kind: 'local'; path: string; uri: string };

/** A `models:/` URI: resolved through the registry. */
export type RegistryModelUri = Extract<ModelUri, { name: string }>;

const STAGES = ['None', 'Staging', 'Production', 'Archived'];

function parseRegistryUri(uri: string): RegistryModelUri {
  const rest = uri.slice('models:/'.length);
  const at = rest.lastIndexOf('@');
  if (at > 0) {
    const name = rest.slice(0, at);
    const alias = rest.slice(at + 1);
    if (!alias || alias.includes('/')) throw new Error(`invalid model URI ${uri}: expected models:/<name>@<alias>`);
    return { kind: 'alias', name, alias, uri };
  }
  const parts = rest.split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new Error(`invalid model URI ${uri}: expected models:/<name>@<alias>, models:/<name>/<version> or models:/<name>/<stage>`);
  const [name, ref] = parts;
  if (/^\d+$/.test(ref)) return { kind: 'version', name, version: ref, uri };
  if (ref.toLowerCase() === 'latest') return { kind: 'latest', name, uri };
  const stage = STAGES.find((s) => s.toLowerCase() === ref.toLowerCase());
  if (!stage) throw new Error(`invalid model URI ${uri}: '${ref}' is not a version number, 'latest' or a stage (${STAGES.join(', ')})`);
  return { kind: 'stage', name, stage, uri };
}

/** Parses models:/, runs:/, file:// URIs and local paths; throws naming the expected forms. */
export function parseModelUri(uri: string): ModelUri {
  if (uri.startsWith('models:/')) return parseRegistryUri(uri);
  if (uri.startsWith('runs:/')) {
    const m = /^runs:\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) throw new Error(`invalid run URI ${uri}: expected runs:/<run_id>/<artifact path>`);
    return { kind: 'run', runId: m[1], path: trimTrailingSlashes(m[2]), uri };
  }
  if (uri.startsWith('file://')) return { kind: 'local', path: new URL(uri).pathname, uri };
  if (/^[a-z][a-z0-9+.-]*:\//i.test(uri)) throw new Error(`unsupported model URI scheme in ${uri}: use models:/, runs:/, a file:// URI or a local path`);
  return { kind: 'local', path: path.resolve(uri), uri };
}
