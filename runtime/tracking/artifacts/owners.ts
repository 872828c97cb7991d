import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { isWithin, parseArtifactLocation, type ArtifactLocation } from './locations';
import { ownerSuffix, type ArtifactOwnerRef } from './roots';

/**
 * The run, logged model or trace whose artifact directory (`…/<run_id>/artifacts`, `…/models/<model_id>/artifacts`,
 * `…/traces/<trace_id>/artifacts`, the trace's `mlflow.artifactLocation` tag)
 * contains `location`, looked up by the ids the location's own segments name (at most a few primary-key
 * reads). The proxy uses it to act only inside one run's or model's artifacts; experiment creation uses it
 * so that no new location lies inside an existing run's directory.
 */
export async function findArtifactOwner(db: Kysely<Database>, location: ArtifactLocation): Promise<ArtifactOwnerRef | undefined> {
  const runIds = new Set<string>();
  const modelIds = new Set<string>();
  const traceIds = new Set<string>();
  const segs = location.segments;
  for (let i = 1; i < segs.length; i++) {
    if (segs[i] !== 'artifacts') continue;
    runIds.add(segs[i - 1]);
    if (i >= 2 && segs[i - 2] === 'models') modelIds.add(segs[i - 1]);
    if (i >= 2 && segs[i - 2] === 'traces') traceIds.add(segs[i - 1]);
  }
  const owners: Array<{ ref: ArtifactOwnerRef; root: string | null }> = [];
  if (runIds.size) {
    const rows = await db
      .selectFrom('runs')
      .select(['run_uuid', 'artifact_uri'])
      .where('run_uuid', 'in', [...runIds])
      .execute();
    owners.push(...rows.map((r) => ({ ref: { kind: 'run' as const, id: r.run_uuid }, root: r.artifact_uri })));
  }
  if (modelIds.size) {
    const { rows } = await sql<{
      model_id: string;
      artifact_location: string;
    }>`SELECT model_id, artifact_location FROM logged_models WHERE model_id IN (${sql.join([...modelIds])})`.execute(db);
    owners.push(...rows.map((r) => ({ ref: { kind: 'logged_model' as const, id: r.model_id }, root: r.artifact_location })));
  }
  if (traceIds.size) {
    const rows = await db
      .selectFrom('trace_tags')
      .select(['request_id', 'value'])
      .where('key', '=', 'mlflow.artifactLocation')
      .where('request_id', 'in', [...traceIds])
      .execute();
    owners.push(...rows.map((r) => ({ ref: { kind: 'trace' as const, id: r.request_id }, root: r.value })));
  }
  return owners.find((o) => o.root !== null && contains(o.root, o.ref, location))?.ref;
}

/** Whether `location` is inside a stored root that really is its owner's directory (ends in `<id>/artifacts`). */
function contains(rootUri: string, ref: ArtifactOwnerRef, location: ArtifactLocation): boolean {
  let root: ArtifactLocation;
  try {
    root = parseArtifactLocation(rootUri);
  } catch {
    // A stored root that does not parse owns nothing.
    return false;
  }
  const suffix = ownerSuffix(ref);
  const tail = root.segments.slice(-suffix.length);
  return tail.length === suffix.length && tail.every((s, i) => s === suffix[i]) && isWithin(location, root);
}
