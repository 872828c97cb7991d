import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Kysely, Selectable } from 'kysely';
import { trimTrailingSlashes } from '../../slashes';
import { MlflowError } from '../http/errors';
import type { KeyValue } from '../runs/entities';
import { decodePageToken, encodePageToken } from '../search/page-token';
import { joinUri } from '../runs/store';
import { excerpt, REGISTRY_LIMITS } from '../http/limits';
import { validateMaxResults, validateRunId } from '../http/validation';
import { ACTIVE_STAGES, type AuditAction, type AuditEntry, type ModelVersion, type RegisteredModel, type Stage } from './entities';
import type { ModelVersionsTable, RegisteredModelsTable as RegisteredModelsColumns, Database, TrackingDb } from '../db/schema';

type RegisteredModelsTable = Selectable<RegisteredModelsColumns>;
import { MODEL_VERSIONS_TAG, registrationsIn } from '../logged-models/store';
import { modelVersionFilter, modelVersionOrder, registeredModelFilter, registeredModelOrder } from '../search/registry';
import {
  canonicalStage,
  parseVersion,
  validateAliasName,
  validateAliasNotReserved,
  validateDescription,
  validateModelName,
  validateRegistryTag,
} from './validation';

type Db = Kysely<Database>;

/** Who made a change: the authenticated user (request.user), or null when the server runs without auth. */
export type Actor = string | null;

interface AuditInput {
  action: AuditAction;
  name: string;
  version?: number | null;
  fromStage?: string | null;
  toStage?: string | null;
  alias?: string | null;
  runId?: string | null;
  source?: string | null;
  previousName?: string | null;
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** Appends to the list under `key`, creating it on first use. */
function appendTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** True for a source that names a path on the server's file system (file: URIs and bare paths). */
function isLocalUri(uri: string): boolean {
  const m = SCHEME.exec(uri);
  return !m || m[1].toLowerCase() === 'file' || /^[a-zA-Z]:[\\/]/.test(uri);
}

function localPath(uri: string): string {
  return uri.startsWith('file:') ? fileURLToPath(uri.startsWith('file://') ? uri : `file://${uri.slice('file:'.length)}`) : uri;
}

/** Path segments of a URI after the scheme and authority, decoded until stable (so %2e%2e is `..`). */
/** A URI's scheme and authority (lower-cased) and its path segments, percent-decoded as the store compares them. */
export function uriSegments(uri: string): { scheme: string; authority: string; parts: string[] } {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):(?:\/\/([^/]*))?(.*)$/.exec(uri);
  const scheme = m ? m[1].toLowerCase() : '';
  const authority = m ? (m.at(2) ?? '').toLowerCase() : '';
  const rest = m ? m[3] : uri;
  const parts = rest
    .split('/')
    .filter(Boolean)
    .map((p) => {
      let v = p;
      for (let i = 0; i < 5; i++) {
        let d: string;
        try {
          d = decodeURIComponent(v);
        } catch {
          break;
        }
        if (d === v) break;
        v = d;
      }
      return v;
    });
  return { scheme, authority, parts };
}

/** Whether `source` lies at or under `root` (same scheme and authority, path prefix by whole segments). */
export function isUriWithinRoot(source: string, root: string): boolean {
  const s = uriSegments(source);
  const r = uriSegments(root);
  return s.scheme === r.scheme && s.authority === r.authority && r.parts.every((p, i) => s.parts[i] === p);
}

function invalidSource(source: string, idName: 'run_id' | 'model_id'): MlflowError {
  return MlflowError.invalid(`Invalid model version source: '${source}'. The ${idName} request parameter must identify the resource that contains the source.`);
}

/** `models:/name/3`, `models:/name/Production`, `models:/name@alias`, `models:/m-<id>` → their parts. */
export function parseModelsUri(uri: string): { modelId?: string; name?: string; version?: string; stage?: string; alias?: string } {
  const m = /^models:\/(?!\/)(.+)$/.exec(uri);
  if (!m)
    throw MlflowError.invalid(`Not a valid models:/ URI: '${uri}'. Expected models:/<name>/<version|stage>, models:/<name>@<alias> or models:/<model_id>.`);
  const rest = trimTrailingSlashes(m[1]);
  const at = rest.lastIndexOf('@');
  if (at > 0 && !rest.includes('/')) return { name: rest.slice(0, at), alias: rest.slice(at + 1) };
  const parts = rest.split('/');
  if (parts.length === 1) {
    if (/^m-[0-9a-f]{32}$/.test(parts[0])) return { modelId: parts[0] };
    throw MlflowError.invalid(`Not a valid models:/ URI: '${uri}'. Expected models:/<name>/<version|stage>, models:/<name>@<alias> or models:/<model_id>.`);
  }
  if (parts.length !== 2) throw MlflowError.invalid(`Not a valid models:/ URI: '${uri}'.`);
  return /^\d+$/.test(parts[1])
    ? { name: parts[0], version: parts[1] }
    : parts[1].toLowerCase() === 'latest'
      ? { name: parts[0], stage: 'latest' }
      : { name: parts[0], stage: parts[1] };
}

/** Registered-model and version tag marking a prompt (mlflow/prompt/constants.py IS_PROMPT_TAG_KEY). */
export const IS_PROMPT_TAG = 'mlflow.prompt.is_prompt';
/** The sources MLflow's own senders use for prompt versions (_PROMPT_SOURCE_PLACEHOLDERS); the server accepts no other. */
const PROMPT_SOURCE_PLACEHOLDERS = new Set(['dummy-source', 'prompt-template']);

/** Whether a create-model-version request is a prompt version: its tags, the last value of a key winning, as MLflow reads them. */
function isPromptVersion(tags: readonly KeyValue[]): boolean {
  const value = tags.filter((t) => t.key === IS_PROMPT_TAG).pop()?.value;
  return (value ?? 'false').toLowerCase() === 'true';
}

/** Where a new version's artifacts are, as resolveSource works it out. */
interface ResolvedSource {
  source: string;
  storage: string;
  runId: string | null;
  modelId: string | null;
}

/** A create-model-version source and the run and logged model the request names (null when not named). */
interface NamedSource {
  db: Db;
  source: string;
  runId: string | null;
  modelId: string | null;
}

/** The active logged model `id`; naming any other is an invalid source. */
async function sourceLoggedModel({ db, source }: Pick<NamedSource, 'db' | 'source'>, id: string) {
  const m = await db.selectFrom('logged_models').selectAll().where('model_id', '=', id).where('lifecycle_stage', '=', 'active').executeTakeFirst();
  if (!m) throw invalidSource(source, 'model_id');
  return m;
}

/** The run `id`; naming a missing one is an invalid source. */
async function sourceRun({ db, source }: Pick<NamedSource, 'db' | 'source'>, id: string) {
  const r = await db.selectFrom('runs').select(['run_uuid', 'artifact_uri']).where('run_uuid', '=', id).executeTakeFirst();
  if (!r) throw invalidSource(source, 'run_id');
  return r;
}

/** A prompt version has no artifacts: only MLflow's placeholders are accepted, and nothing is resolved. */
function promptSource(source: string, runId: string | null, modelId: string | null): ResolvedSource {
  if (!PROMPT_SOURCE_PLACEHOLDERS.has(source))
    throw MlflowError.invalid(`Invalid prompt source: '${excerpt(source)}'. Prompt sources must use an MLflow placeholder.`);
  if (modelId) throw MlflowError.invalid('A prompt version cannot name a logged model (model_id).');
  if (runId) validateRunId(runId);
  return { source, storage: source, runId, modelId: null };
}

/** A server-side path is only accepted inside the artifact directory of the run (or logged model) named. */
async function localSource(named: NamedSource): Promise<ResolvedSource> {
  const { source, runId, modelId } = named;
  const owner = modelId
    ? (await sourceLoggedModel(named, modelId)).artifact_location
    : runId
      ? ((await sourceRun(named, runId)).artifact_uri ?? '')
      : undefined;
  if (owner && isLocalUri(owner)) {
    const dir = path.resolve(localPath(owner));
    const target = path.resolve(localPath(source));
    if (target === dir || target.startsWith(dir + path.sep)) return { source, storage: source, runId, modelId };
  }
  throw MlflowError.invalid(
    `Invalid model version source: '${source}'. To use a local path as a model version source, the ${modelId ? 'model_id' : 'run_id'} request parameter has to be specified and the local path has to be contained within the artifact directory of the ${modelId ? 'model' : 'run'} specified by the ${modelId ? 'model_id' : 'run_id'}.`,
  );
}

/** A `runs:/<run_id>/<path>` source: the run must be the one the request names (and no logged model). */
async function runsSource(named: NamedSource): Promise<ResolvedSource> {
  const { source, runId, modelId } = named;
  const m = /^runs:\/([^/]+)(?:\/(.*))?$/.exec(source);
  if (!m || source.startsWith('runs://')) throw invalidSource(source, 'run_id');
  if (modelId || !runId || m[1] !== runId) throw invalidSource(source, 'run_id');
  const r = await sourceRun(named, runId);
  return { source, storage: joinUri(r.artifact_uri ?? '', m.at(2) ?? ''), runId, modelId };
}

/** An `mlflow-artifacts:` source: it must lie inside the named logged model's (or else run's) artifacts. */
async function mlflowArtifactsSource(named: NamedSource): Promise<ResolvedSource> {
  const { source, runId, modelId } = named;
  if (modelId) {
    const m = await sourceLoggedModel(named, modelId);
    if (isUriWithinRoot(source, m.artifact_location)) return { source, storage: source, runId: runId ?? m.source_run_id, modelId };
    throw invalidSource(source, 'model_id');
  }
  if (runId && isUriWithinRoot(source, (await sourceRun(named, runId)).artifact_uri ?? '')) return { source, storage: source, runId, modelId };
  throw invalidSource(source, 'run_id');
}

export interface CreateModelVersionInput {
  name: string;
  source: string;
  runId?: string;
  modelId?: string;
  runLink?: string;
  description?: string;
  tags: KeyValue[];
}

/**
 * The model registry on SQLite or PostgreSQL: registered models, versions, tags, aliases and an
 * append-only audit trail written in the same transaction as the change it records.
 */
export class RegistryStore {
  constructor(readonly db: TrackingDb) {}

  // ── audit ──────────────────────────────────────────────────────────────────────────────────────

  private async audit(db: Db, user: Actor, e: AuditInput): Promise<void> {
    await db
      .insertInto('registry_audit')
      .values({
        timestamp: Date.now(),
        user_id: user,
        action: e.action,
        name: e.name,
        version: e.version ?? null,
        from_stage: e.fromStage ?? null,
        to_stage: e.toStage ?? null,
        alias: e.alias ?? null,
        run_id: e.runId ?? null,
        source: e.source ?? null,
        previous_name: e.previousName ?? null,
      })
      .execute();
  }

  /** Audit entries of one model (optionally one version), oldest first. Readable after the model is deleted. */
  async auditTrail(name: string, version?: string): Promise<AuditEntry[]> {
    validateModelName(name);
    let q = this.db.selectFrom('registry_audit').selectAll().where('name', '=', name);
    if (version !== undefined && version !== '') q = q.where('version', '=', parseVersion(version));
    const rows = await q.orderBy('id').execute();
    return rows.map((r) => ({
      id: r.id,
      timestamp: r.timestamp,
      user_id: r.user_id,
      action: r.action as AuditAction,
      name: r.name,
      version: r.version == null ? null : String(r.version),
      from_stage: r.from_stage,
      to_stage: r.to_stage,
      alias: r.alias,
      run_id: r.run_id,
      source: r.source,
      previous_name: r.previous_name,
    }));
  }

  // ── registered models ──────────────────────────────────────────────────────────────────────────

  private async modelRow(db: Db, name: string): Promise<RegisteredModelsTable> {
    validateModelName(name);
    const row = await db.selectFrom('registered_models').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Registered Model with name=${name} not found`);
    return row;
  }

  async createRegisteredModel(req: { name: string; description?: string; tags: KeyValue[] }, user: Actor): Promise<RegisteredModel> {
    validateModelName(req.name);
    validateDescription(req.description);
    req.tags.forEach((t, i) => validateRegistryTag(t.key, t.value, `tags[${i}].key`));
    const now = Date.now();
    try {
      await this.db.transaction().execute(async (tx) => {
        const existing = await tx.selectFrom('registered_models').select('name').where('name', '=', req.name).executeTakeFirst();
        if (existing) throw MlflowError.alreadyExists(`Registered Model (name=${req.name}) already exists.`);
        await tx
          .insertInto('registered_models')
          .values({ name: req.name, creation_time: now, last_updated_time: now, description: req.description ?? null, user_id: user })
          .execute();
        const tags = dedupe(req.tags);
        if (tags.length)
          await tx
            .insertInto('registered_model_tags')
            .values(tags.map((t) => ({ name: req.name, key: t.key, value: t.value })))
            .execute();
        await this.audit(tx, user, { action: 'create_registered_model', name: req.name });
      });
    } catch (err) {
      // Two concurrent creates of one name: the primary key decides, reported as MLflow does.
      if (isUniqueViolation(err)) throw MlflowError.alreadyExists(`Registered Model (name=${req.name}) already exists.`);
      throw err;
    }
    return this.getRegisteredModel(req.name);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const row = await this.modelRow(this.db, name);
    const [model] = await this.hydrateModels(this.db, [row]);
    return model;
  }

  async renameRegisteredModel(name: string, newName: string, user: Actor): Promise<RegisteredModel> {
    validateModelName(name);
    if (!newName || newName.trim() === '') throw MlflowError.invalid("Missing value for required parameter 'new_name'.");
    validateModelName(newName, 'new_name');
    try {
      await this.db.transaction().execute(async (tx) => {
        await this.modelRow(tx, name);
        if (newName === name) return;
        const clash = await tx.selectFrom('registered_models').select('name').where('name', '=', newName).executeTakeFirst();
        if (clash) throw MlflowError.alreadyExists(`Registered Model (name=${newName}) already exists.`);
        const now = Date.now();
        // The row moves under its new key; children follow (no ON UPDATE CASCADE on SQLite's side of things).
        await tx.updateTable('registered_models').set({ name: newName, last_updated_time: now }).where('name', '=', name).execute();
        await tx.updateTable('registered_model_tags').set({ name: newName }).where('name', '=', name).execute();
        await tx.updateTable('model_versions').set({ name: newName, last_updated_time: now }).where('name', '=', name).execute();
        await tx.updateTable('model_version_tags').set({ name: newName }).where('name', '=', name).execute();
        await tx.updateTable('registered_model_aliases').set({ name: newName }).where('name', '=', name).execute();
        // The trail follows the model, so `audit?name=<new>` shows its whole history; the rename itself is recorded.
        await tx.updateTable('registry_audit').set({ name: newName }).where('name', '=', name).execute();
        await this.audit(tx, user, { action: 'rename_registered_model', name: newName, previousName: name });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw MlflowError.alreadyExists(`Registered Model (name=${newName}) already exists.`);
      throw err;
    }
    return this.getRegisteredModel(newName);
  }

  async updateRegisteredModel(name: string, description: string | undefined): Promise<RegisteredModel> {
    validateDescription(description);
    await this.db.transaction().execute(async (tx) => {
      await this.modelRow(tx, name);
      await tx
        .updateTable('registered_models')
        .set({ description: description ?? null, last_updated_time: Date.now() })
        .where('name', '=', name)
        .execute();
    });
    return this.getRegisteredModel(name);
  }

  /** Deletes the model with its versions, tags and aliases; its audit trail stays. */
  async deleteRegisteredModel(name: string, user: Actor): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await this.modelRow(tx, name);
      await tx.deleteFrom('registered_model_aliases').where('name', '=', name).execute();
      await tx.deleteFrom('model_version_tags').where('name', '=', name).execute();
      await tx.deleteFrom('model_versions').where('name', '=', name).execute();
      await tx.deleteFrom('registered_model_tags').where('name', '=', name).execute();
      await tx.deleteFrom('registered_models').where('name', '=', name).execute();
      await this.audit(tx, user, { action: 'delete_registered_model', name });
    });
  }

  async searchRegisteredModels(req: {
    filter?: string;
    maxResults?: number;
    orderBy: string[];
    pageToken?: string;
  }): Promise<{ registered_models: RegisteredModel[]; next_page_token?: string }> {
    const limit =
      validateMaxResults(req.maxResults, REGISTRY_LIMITS.SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD) ??
      REGISTRY_LIMITS.SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT;
    const offset = decodePageToken(req.pageToken);
    const predicates = registeredModelFilter(req.filter);
    const order = registeredModelOrder(req.orderBy);
    let q = this.db.selectFrom('registered_models').selectAll();
    for (const p of predicates) q = q.where(p);
    for (const o of order) q = q.orderBy(o);
    const rows = await q
      .limit(limit + 1)
      .offset(offset)
      .execute();
    const page = rows.slice(0, limit);
    return {
      registered_models: await this.hydrateModels(this.db, page),
      ...(rows.length > limit ? { next_page_token: encodePageToken(offset + limit) } : {}),
    };
  }

  /** The latest version in each requested stage (every stage when none is given). */
  async getLatestVersions(name: string, stages: string[]): Promise<ModelVersion[]> {
    const wanted = new Set<string>(stages.map(canonicalStage));
    await this.modelRow(this.db, name);
    const rows = await this.db.selectFrom('model_versions').selectAll().where('name', '=', name).orderBy('version').execute();
    const latest = new Map<string, ModelVersionsTable>();
    for (const r of rows) latest.set(r.current_stage, r);
    const picked = [...latest.values()].filter((r) => wanted.size === 0 || wanted.has(r.current_stage)).sort((a, b) => a.version - b.version);
    return this.hydrateVersions(this.db, picked);
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    validateRegistryTag(key, value);
    await this.db.transaction().execute(async (tx) => {
      await this.modelRow(tx, name);
      await tx
        .insertInto('registered_model_tags')
        .values({ name, key, value })
        .onConflict((oc) => oc.columns(['name', 'key']).doUpdateSet({ value }))
        .execute();
      await tx.updateTable('registered_models').set({ last_updated_time: Date.now() }).where('name', '=', name).execute();
    });
  }

  /** As MLflow: deleting a tag that is not there is not an error (the model must exist). */
  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    validateRegistryTag(key, '');
    await this.db.transaction().execute(async (tx) => {
      await this.modelRow(tx, name);
      await tx.deleteFrom('registered_model_tags').where('name', '=', name).where('key', '=', key).execute();
    });
  }

  // ── model versions ─────────────────────────────────────────────────────────────────────────────

  private async versionRow(db: Db, name: string, version: string | number): Promise<ModelVersionsTable> {
    validateModelName(name);
    const v = parseVersion(version);
    const row = await db.selectFrom('model_versions').selectAll().where('name', '=', name).where('version', '=', v).executeTakeFirst();
    if (!row) throw MlflowError.notFound(`Model Version (name=${name}, version=${version}) not found`);
    return row;
  }

  /**
   * Checks a version's source as MLflow's server does (a caller must not register artifacts it cannot
   * name through its own run or logged model) and works out where the artifacts are.
   */
  private async resolveSource(db: Db, req: CreateModelVersionInput): Promise<ResolvedSource> {
    const { source } = req;
    let runId = req.runId || null;
    const modelId = req.modelId || null;
    if (!source) throw MlflowError.invalid("Missing value for required parameter 'source'.");
    if (isPromptVersion(req.tags)) return promptSource(source, runId, modelId);
    const named: NamedSource = { db, source, runId, modelId };
    if (isLocalUri(source)) return localSource(named);
    if (uriSegments(source).parts.includes('..'))
      throw MlflowError.invalid(
        `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
      );
    // A source without a scheme is local (isLocalUri), handled above.
    const schemeMatch = SCHEME.exec(source);
    if (!schemeMatch) throw MlflowError.invalid(`Invalid model version source: '${excerpt(source)}'.`);
    const scheme = schemeMatch[1].toLowerCase();
    if (scheme === 'models') return this.modelsSource(named);
    if (scheme === 'runs') return runsSource(named);
    if (scheme === 'mlflow-artifacts') return mlflowArtifactsSource(named);
    // Object stores and other remote URIs: the store cannot look inside; recorded as given.
    if (modelId) runId = runId ?? (await sourceLoggedModel(named, modelId)).source_run_id;
    return { source, storage: source, runId, modelId };
  }

  /** A `models:/` source: a logged model's (`models:/m-<id>`), or a new version of (or copy from) a registered one. */
  private async modelsSource({ db, source, runId, modelId }: NamedSource): Promise<ResolvedSource> {
    if (source.startsWith('models://'))
      throw MlflowError.invalid(`Invalid model version source: '${source}'. Registered model sources must use the active model registry.`);
    const parsed = parseModelsUri(source);
    if (parsed.modelId) {
      if (modelId !== parsed.modelId) throw invalidSource(source, 'model_id');
      const m = await sourceLoggedModel({ db, source }, parsed.modelId);
      return { source, storage: m.artifact_location, runId: runId ?? m.source_run_id, modelId };
    }
    // models:/<name>/<version|stage> or @alias: a new version of (or copy from) an existing one.
    const from = await this.resolveModelsUri(db, parsed);
    return {
      source: `models:/${from.name}/${from.version}`,
      storage: from.storage_location ?? from.source,
      runId: runId ?? from.run_id,
      modelId: modelId ?? from.model_id,
    };
  }

  private async resolveModelsUri(db: Db, p: { name?: string; version?: string; stage?: string; alias?: string }): Promise<ModelVersionsTable> {
    const name = p.name;
    // parseModelsUri gives a name to every URI without a model id (the only ones resolved here).
    if (name === undefined) throw MlflowError.invalid('Not a valid models:/ URI: it names no registered model.');
    await this.modelRow(db, name);
    if (p.version) return this.versionRow(db, name, p.version);
    if (p.alias !== undefined) return this.aliasRow(db, name, p.alias);
    let q = db.selectFrom('model_versions').selectAll().where('name', '=', name);
    if (p.stage && p.stage !== 'latest') q = q.where('current_stage', '=', canonicalStage(p.stage));
    const row = await q.orderBy('version', 'desc').executeTakeFirst();
    if (!row) throw MlflowError.notFound(`No versions of model ${name}${p.stage && p.stage !== 'latest' ? ` in stage ${p.stage}` : ''} exist.`);
    return row;
  }

  async createModelVersion(req: CreateModelVersionInput, user: Actor): Promise<ModelVersion> {
    validateModelName(req.name);
    validateDescription(req.description);
    req.tags.forEach((t, i) => validateRegistryTag(t.key, t.value, `tags[${i}].key`));
    const { name, version } = await this.db.transaction().execute(async (tx) => {
      const resolved = await this.resolveSource(tx, req);
      const now = Date.now();
      // Locks the model's row until commit: concurrent creates of one model queue here and each gets the next number.
      const bumped = await tx
        .updateTable('registered_models')
        .set((eb) => ({ last_version: eb('last_version', '+', 1), last_updated_time: now }))
        .where('name', '=', req.name)
        .returning('last_version')
        .executeTakeFirst();
      if (!bumped) throw MlflowError.notFound(`Registered Model with name=${req.name} not found`);
      const version = bumped.last_version;
      await tx
        .insertInto('model_versions')
        .values({
          name: req.name,
          version,
          creation_time: now,
          last_updated_time: now,
          description: req.description || null,
          user_id: user,
          current_stage: 'None',
          source: resolved.source,
          storage_location: resolved.storage,
          run_id: resolved.runId,
          run_link: req.runLink || null,
          // Registration is synchronous here: a version is READY when created (the client would poll PENDING for minutes).
          status: 'READY',
          status_message: null,
          model_id: resolved.modelId,
        })
        .execute();
      const tags = dedupe(req.tags);
      if (tags.length)
        await tx
          .insertInto('model_version_tags')
          .values(tags.map((t) => ({ name: req.name, version, key: t.key, value: t.value })))
          .execute();
      if (resolved.modelId) await this.recordRegistration(tx, resolved.modelId, req.name, version);
      await this.audit(tx, user, { action: 'create_model_version', name: req.name, version, toStage: 'None', runId: resolved.runId, source: resolved.source });
      return { name: req.name, version };
    });
    return this.getModelVersion(name, String(version));
  }

  /** Appends {name, version} to the logged model's `mlflow.modelVersions` tag, as MLflow's tracking store does. */
  private async recordRegistration(tx: Db, modelId: string, name: string, version: number): Promise<void> {
    const tag = await tx
      .selectFrom('logged_model_tags')
      .select('tag_value')
      .where('model_id', '=', modelId)
      .where('tag_key', '=', MODEL_VERSIONS_TAG)
      .executeTakeFirst();
    const list = registrationsIn(tag?.tag_value);
    list.push({ name, version: String(version) });
    const value = JSON.stringify(list);
    await tx
      .insertInto('logged_model_tags')
      .values({ model_id: modelId, tag_key: MODEL_VERSIONS_TAG, tag_value: value })
      .onConflict((oc) => oc.columns(['model_id', 'tag_key']).doUpdateSet({ tag_value: value }))
      .execute();
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const row = await this.versionRow(this.db, name, version);
    const [mv] = await this.hydrateVersions(this.db, [row]);
    return mv;
  }

  async updateModelVersion(name: string, version: string, description: string | undefined): Promise<ModelVersion> {
    validateDescription(description);
    await this.db.transaction().execute(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      await tx
        .updateTable('model_versions')
        .set({ description: description ?? null, last_updated_time: Date.now() })
        .where('name', '=', name)
        .where('version', '=', row.version)
        .execute();
    });
    return this.getModelVersion(name, version);
  }

  /** Deletes the version, its tags and the aliases pointing at it; the number is never handed out again. */
  async deleteModelVersion(name: string, version: string, user: Actor): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      const aliases = await tx.selectFrom('registered_model_aliases').select('alias').where('name', '=', name).where('version', '=', row.version).execute();
      for (const a of aliases) await this.audit(tx, user, { action: 'delete_alias', name, version: row.version, alias: a.alias, runId: row.run_id });
      await tx.deleteFrom('registered_model_aliases').where('name', '=', name).where('version', '=', row.version).execute();
      await tx.deleteFrom('model_version_tags').where('name', '=', name).where('version', '=', row.version).execute();
      await tx.deleteFrom('model_versions').where('name', '=', name).where('version', '=', row.version).execute();
      await tx.updateTable('registered_models').set({ last_updated_time: Date.now() }).where('name', '=', name).execute();
      await this.audit(tx, user, {
        action: 'delete_model_version',
        name,
        version: row.version,
        fromStage: row.current_stage,
        runId: row.run_id,
        source: row.source,
      });
    });
  }

  async searchModelVersions(req: {
    filter?: string;
    maxResults?: number;
    orderBy: string[];
    pageToken?: string;
  }): Promise<{ model_versions: ModelVersion[]; next_page_token?: string }> {
    const limit =
      validateMaxResults(req.maxResults, REGISTRY_LIMITS.SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD) ??
      REGISTRY_LIMITS.SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT;
    const offset = decodePageToken(req.pageToken);
    const predicates = modelVersionFilter(req.filter);
    const order = modelVersionOrder(req.orderBy);
    let q = this.db.selectFrom('model_versions').selectAll();
    for (const p of predicates) q = q.where(p);
    for (const o of order) q = q.orderBy(o);
    const rows = await q
      .limit(limit + 1)
      .offset(offset)
      .execute();
    const page = rows.slice(0, limit);
    return {
      model_versions: await this.hydrateVersions(this.db, page),
      ...(rows.length > limit ? { next_page_token: encodePageToken(offset + limit) } : {}),
    };
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const row = await this.versionRow(this.db, name, version);
    return row.storage_location || row.source;
  }

  /**
   * Moves a version to a stage; with archive_existing_versions (Staging/Production only) every other
   * version in that stage moves to Archived. Each move is an audit entry.
   */
  async transitionStage(name: string, version: string, stage: string, archiveExisting: boolean, user: Actor): Promise<ModelVersion> {
    const target: Stage = canonicalStage(stage);
    if (archiveExisting && !ACTIVE_STAGES.includes(target)) {
      throw MlflowError.invalid(
        `Model version transition cannot archive existing model versions because '${target}' is not an Active stage. Valid stages are ${ACTIVE_STAGES.join(', ')}`,
      );
    }
    await this.db.transaction().execute(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      const now = Date.now();
      // Serialises concurrent transitions of one model (row lock on PostgreSQL) so archiving sees a settled state.
      await tx.updateTable('registered_models').set({ last_updated_time: now }).where('name', '=', name).execute();
      if (archiveExisting) {
        const others = await tx
          .selectFrom('model_versions')
          .select(['version', 'run_id'])
          .where('name', '=', name)
          .where('current_stage', '=', target)
          .where('version', '!=', row.version)
          .execute();
        for (const o of others) {
          await tx
            .updateTable('model_versions')
            .set({ current_stage: 'Archived', last_updated_time: now })
            .where('name', '=', name)
            .where('version', '=', o.version)
            .execute();
          await this.audit(tx, user, { action: 'transition_stage', name, version: o.version, fromStage: target, toStage: 'Archived', runId: o.run_id });
        }
      }
      await tx
        .updateTable('model_versions')
        .set({ current_stage: target, last_updated_time: now })
        .where('name', '=', name)
        .where('version', '=', row.version)
        .execute();
      await this.audit(tx, user, { action: 'transition_stage', name, version: row.version, fromStage: row.current_stage, toStage: target, runId: row.run_id });
    });
    return this.getModelVersion(name, version);
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    validateRegistryTag(key, value);
    await this.db.transaction().execute(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      await tx
        .insertInto('model_version_tags')
        .values({ name, version: row.version, key, value })
        .onConflict((oc) => oc.columns(['name', 'version', 'key']).doUpdateSet({ value }))
        .execute();
    });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    validateRegistryTag(key, '');
    await this.db.transaction().execute(async (tx) => {
      const row = await this.versionRow(tx, name, version);
      await tx.deleteFrom('model_version_tags').where('name', '=', name).where('version', '=', row.version).where('key', '=', key).execute();
    });
  }

  // ── aliases ────────────────────────────────────────────────────────────────────────────────────

  async setAlias(name: string, alias: string, version: string, user: Actor): Promise<void> {
    validateAliasName(alias);
    validateAliasNotReserved(alias);
    await this.db.transaction().execute(async (tx) => {
      await this.modelRow(tx, name);
      const row = await this.versionRow(tx, name, version);
      const previous = await tx.selectFrom('registered_model_aliases').select('version').where('name', '=', name).where('alias', '=', alias).executeTakeFirst();
      await tx
        .insertInto('registered_model_aliases')
        .values({ name, alias, version: row.version })
        .onConflict((oc) => oc.columns(['name', 'alias']).doUpdateSet({ version: row.version }))
        .execute();
      await tx.updateTable('registered_models').set({ last_updated_time: Date.now() }).where('name', '=', name).execute();
      await this.audit(tx, user, {
        action: 'set_alias',
        name,
        version: row.version,
        alias,
        runId: row.run_id,
        // Where the alias pointed before, so a rollback can be read off the trail.
        source: previous ? `models:/${name}/${previous.version}` : null,
      });
    });
  }

  /** As MLflow: deleting an alias that is not set is a no-op (the model must exist). */
  async deleteAlias(name: string, alias: string, user: Actor): Promise<void> {
    validateAliasName(alias);
    await this.db.transaction().execute(async (tx) => {
      await this.modelRow(tx, name);
      const existing = await tx.selectFrom('registered_model_aliases').select('version').where('name', '=', name).where('alias', '=', alias).executeTakeFirst();
      if (!existing) return;
      await tx.deleteFrom('registered_model_aliases').where('name', '=', name).where('alias', '=', alias).execute();
      await tx.updateTable('registered_models').set({ last_updated_time: Date.now() }).where('name', '=', name).execute();
      await this.audit(tx, user, { action: 'delete_alias', name, version: existing.version, alias });
    });
  }

  private async aliasRow(db: Db, name: string, alias: string): Promise<ModelVersionsTable> {
    if (alias.toLowerCase() === 'latest') {
      const row = await db.selectFrom('model_versions').selectAll().where('name', '=', name).orderBy('version', 'desc').executeTakeFirst();
      if (!row) throw MlflowError.notFound(`Latest version not found for model ${name}.`);
      return row;
    }
    const a = await db.selectFrom('registered_model_aliases').select('version').where('name', '=', name).where('alias', '=', alias).executeTakeFirst();
    // MLflow answers INVALID_PARAMETER_VALUE (400) for an unknown alias of an existing model.
    if (!a) throw MlflowError.invalid(`Registered model alias ${alias} not found.`);
    return this.versionRow(db, name, a.version);
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    validateAliasName(alias);
    await this.modelRow(this.db, name);
    const row = await this.aliasRow(this.db, name, alias);
    const [mv] = await this.hydrateVersions(this.db, [row]);
    return mv;
  }

  // ── JSON ───────────────────────────────────────────────────────────────────────────────────────

  private async hydrateVersions(db: Db, rows: ModelVersionsTable[]): Promise<ModelVersion[]> {
    if (!rows.length) return [];
    const names = [...new Set(rows.map((r) => r.name))];
    const tags: { name: string; version: number; key: string; value: string | null }[] = [];
    const aliases: { name: string; version: number; alias: string }[] = [];
    for (let i = 0; i < names.length; i += 500) {
      const chunk = names.slice(i, i + 500);
      tags.push(...(await db.selectFrom('model_version_tags').selectAll().where('name', 'in', chunk).orderBy('key').execute()));
      aliases.push(...(await db.selectFrom('registered_model_aliases').selectAll().where('name', 'in', chunk).orderBy('alias').execute()));
    }
    const keyOf = (n: string, v: number) => `${n}\u0000${v}`;
    const tagsBy = new Map<string, KeyValue[]>();
    for (const t of tags) appendTo(tagsBy, keyOf(t.name, t.version), { key: t.key, value: t.value ?? '' });
    const aliasesBy = new Map<string, string[]>();
    for (const a of aliases) appendTo(aliasesBy, keyOf(a.name, a.version), a.alias);
    return rows.map((r) => versionJson(r, tagsBy.get(keyOf(r.name, r.version)) ?? [], aliasesBy.get(keyOf(r.name, r.version)) ?? []));
  }

  private async hydrateModels(db: Db, rows: RegisteredModelsTable[]): Promise<RegisteredModel[]> {
    if (!rows.length) return [];
    const names = rows.map((r) => r.name);
    const tags: { name: string; key: string; value: string | null }[] = [];
    const aliases: { name: string; alias: string; version: number }[] = [];
    const versions: ModelVersionsTable[] = [];
    for (let i = 0; i < names.length; i += 500) {
      const chunk = names.slice(i, i + 500);
      tags.push(...(await db.selectFrom('registered_model_tags').selectAll().where('name', 'in', chunk).orderBy('key').execute()));
      aliases.push(...(await db.selectFrom('registered_model_aliases').selectAll().where('name', 'in', chunk).orderBy('alias').execute()));
      // Latest version per (model, stage): what MLflow returns as latest_versions.
      versions.push(
        ...(await db
          .selectFrom('model_versions as mv')
          .selectAll('mv')
          .where('mv.name', 'in', chunk)
          .where((eb) =>
            eb(
              'mv.version',
              '=',
              eb
                .selectFrom('model_versions as o')
                .select((e) => e.fn.max('o.version').as('v'))
                .whereRef('o.name', '=', 'mv.name')
                .whereRef('o.current_stage', '=', 'mv.current_stage'),
            ),
          )
          .orderBy('mv.version')
          .execute()),
      );
    }
    const latest = await this.hydrateVersions(db, versions);
    return rows.map((r) => ({
      name: r.name,
      creation_timestamp: r.creation_time,
      last_updated_timestamp: r.last_updated_time,
      ...(r.user_id ? { user_id: r.user_id } : {}),
      ...(r.description != null ? { description: r.description } : {}),
      latest_versions: latest.filter((v) => v.name === r.name),
      tags: tags.filter((t) => t.name === r.name).map((t) => ({ key: t.key, value: t.value ?? '' })),
      aliases: aliases.filter((a) => a.name === r.name).map((a) => ({ alias: a.alias, version: String(a.version) })),
    }));
  }
}

function versionJson(r: ModelVersionsTable, tags: KeyValue[], aliases: string[]): ModelVersion {
  return {
    name: r.name,
    version: String(r.version),
    creation_timestamp: r.creation_time,
    last_updated_timestamp: r.last_updated_time,
    ...(r.user_id ? { user_id: r.user_id } : {}),
    current_stage: r.current_stage,
    ...(r.description != null ? { description: r.description } : {}),
    source: r.source,
    ...(r.run_id ? { run_id: r.run_id } : {}),
    status: r.status as ModelVersion['status'],
    ...(r.status_message ? { status_message: r.status_message } : {}),
    tags,
    ...(r.run_link ? { run_link: r.run_link } : {}),
    aliases,
    ...(r.model_id ? { model_id: r.model_id } : {}),
  };
}

function dedupe(items: KeyValue[]): KeyValue[] {
  return [...new Map(items.map((t) => [t.key, t])).values()];
}
