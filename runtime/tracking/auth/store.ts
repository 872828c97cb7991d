import { MlflowError } from '../http/errors';
import { parseExperimentId } from '../http/validation';
import type { TrackingDb } from '../db/schema';
import { hashPassword } from './passwords';
import { parsePermission, type PermissionName } from './permissions';
import { MAX_USERNAME_LENGTH, usernameKey, validateUsername } from './usernames';

export { validateUsername } from './usernames';

/** JSON shapes of MLflow's auth entities (mlflow/server/auth/entities.py `to_json`). */
export interface ExperimentPermissionJson {
  experiment_id: string;
  user_id: number;
  permission: PermissionName;
}
export interface RegisteredModelPermissionJson {
  name: string;
  user_id: number;
  permission: PermissionName;
}
export interface UserJson {
  id: number;
  username: string;
  is_admin: boolean;
  experiment_permissions: ExperimentPermissionJson[];
  registered_model_permissions: RegisteredModelPermissionJson[];
}

export interface UserRow {
  id: number;
  username: string;
  password_hash: string;
  is_admin: boolean;
}

/** MLflow's current minimum (mlflow.utils.validation._validate_password). */
export const MIN_PASSWORD_LENGTH = 12;
/** Bounds the KDF input a request can make the server hash. */
const MAX_PASSWORD_LENGTH = 1024;

export function validatePassword(password: unknown): string {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH)
    throw MlflowError.invalid(`Password must be at least ${MIN_PASSWORD_LENGTH} characters.`);
  if (password.length > MAX_PASSWORD_LENGTH) throw MlflowError.invalid(`Password must be at most ${MAX_PASSWORD_LENGTH} characters.`);
  return password;
}

/** `1`, `01` and `1 ` must never be three experiments to the permission table: store the id as the tracking store reads it. */
export function canonicalExperimentId(id: unknown): string {
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  if (typeof id !== 'string') throw MlflowError.invalid(`Invalid experiment ID: '${String(id)}'`);
  return String(parseExperimentId(id));
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export interface AuthStoreOptions {
  /**
   * How long the request path reuses a user row or a permission it read (cachedUser,
   * cachedExperimentPermission, cachedRegisteredModelPermission). Writes through this store clear
   * the cache at once; writes made by another replica become visible within this time. 0 disables
   * the cache. Default 1000 ms.
   */
  readCacheTtlMs?: number;
  /** Most entries per cache; the oldest is evicted first. Default 10000. */
  readCacheMaxEntries?: number;
}

/**
 * A bounded TTL map whose fills are dropped when a write happened while they were being read (the
 * generation changed), so a slow read can never put a pre-write value back after the invalidation.
 */
class ReadCache<V> {
  private readonly map = new Map<string, { value: V; expiresAt: number }>();
  private generation = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) return load();
    const hit = this.map.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.value;
    const generation = this.generation;
    const value = await load();
    if (generation === this.generation) {
      this.map.delete(key);
      if (this.map.size >= this.maxEntries) this.map.delete(this.map.keys().next().value as string);
      this.map.set(key, { value, expiresAt: Date.now() + this.ttlMs });
    }
    return value;
  }

  clear(): void {
    this.generation++;
    this.map.clear();
  }
}

/** Users and permissions in the tracking database (tables from migration 0004_auth). */
export class AuthStore {
  readonly db: TrackingDb;
  private readonly users: ReadCache<UserRow | undefined>;
  private readonly permissions: ReadCache<PermissionName | undefined>;

  constructor(db: TrackingDb, options: AuthStoreOptions = {}) {
    this.db = db;
    const ttl = options.readCacheTtlMs ?? 1000;
    const max = options.readCacheMaxEntries ?? 10_000;
    this.users = new ReadCache(ttl, max);
    this.permissions = new ReadCache(ttl, max);
  }

  /**
   * Every write goes through here once it has committed: users and permissions are read on every
   * request, so they are served from memory between writes (see AuthStoreOptions.readCacheTtlMs).
   */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      this.users.clear();
      this.permissions.clear();
    }
  }

  // ── the request path (cached reads) ────────────────────────────────────────────────────────

  /** findUser through the read cache: the per-request lookup of the authenticating user. */
  cachedUser(username: string): Promise<UserRow | undefined> {
    return this.users.get(username, () => this.findUser(username));
  }

  cachedExperimentPermission(userId: number, experimentId: string): Promise<PermissionName | undefined> {
    return this.permissions.get(`e\0${userId}\0${experimentId}`, () => this.experimentPermission(userId, experimentId));
  }

  cachedRegisteredModelPermission(userId: number, name: string): Promise<PermissionName | undefined> {
    return this.permissions.get(`m\0${userId}\0${name}`, () => this.registeredModelPermission(userId, name));
  }

  // ── users ────────────────────────────────────────────────────────────────────────────────────

  async findUser(username: string): Promise<UserRow | undefined> {
    // No stored name holds NUL (PostgreSQL text cannot) or is this long: answer without asking the database.
    if (username.includes('\u0000') || username.length > 4 * MAX_USERNAME_LENGTH) return undefined;
    const row = await this.db.selectFrom('users').select(['id', 'username', 'password_hash', 'is_admin']).where('username', '=', username).executeTakeFirst();
    return row && { ...row, is_admin: Boolean(row.is_admin) };
  }

  async requireUser(username: string): Promise<UserRow> {
    const row = await this.findUser(username);
    if (!row) throw MlflowError.notFound(`User with username=${username} not found`);
    return row;
  }

  async createUser(username: string, password: string, isAdmin = false): Promise<UserJson> {
    return this.write(async () => {
      validateUsername(username);
      validatePassword(password);
      const key = usernameKey(username);
      const exists = (taken?: string) =>
        MlflowError.alreadyExists(
          taken === undefined || taken === username
            ? `User (username=${username}) already exists.`
            : `User (username=${username}) already exists as '${taken}': user names are unique regardless of case and look-alike letters.`,
        );
      const twin = await this.db
        .selectFrom('users')
        .select('username')
        .where((eb) => eb.or([eb('username', '=', username), eb('username_key', '=', key)]))
        .executeTakeFirst();
      if (twin) throw exists(twin.username);
      const passwordHash = await hashPassword(password);
      try {
        await this.db
          .insertInto('users')
          .values({ username, username_key: key, password_hash: passwordHash, is_admin: isAdmin ? 1 : 0 })
          .execute();
      } catch (err) {
        // Two concurrent creates (or two replicas bootstrapping the admin): the unique keys decide.
        if (isUniqueViolation(err)) throw exists();
        throw err;
      }
      return this.getUser(username);
    });
  }

  /**
   * Accounts created before names were unique case-insensitively (migration 0006) that look like an
   * older account: they keep working under their exact name, without the unique key. Reported at start.
   */
  async lookAlikeUsers(): Promise<string[]> {
    const rows = await this.db.selectFrom('users').select('username').where('username_key', 'is', null).orderBy('id').execute();
    return rows.map((r) => r.username);
  }

  async getUser(username: string): Promise<UserJson> {
    const user = await this.requireUser(username);
    const [experiments, models] = await Promise.all([
      this.db.selectFrom('experiment_permissions').select(['experiment_id', 'permission']).where('user_id', '=', user.id).orderBy('id').execute(),
      this.db.selectFrom('registered_model_permissions').select(['name', 'permission']).where('user_id', '=', user.id).orderBy('id').execute(),
    ]);
    return {
      id: user.id,
      username: user.username,
      is_admin: user.is_admin,
      experiment_permissions: experiments.map((e) => ({ experiment_id: e.experiment_id, user_id: user.id, permission: e.permission as PermissionName })),
      registered_model_permissions: models.map((m) => ({ name: m.name, user_id: user.id, permission: m.permission as PermissionName })),
    };
  }

  async updatePassword(username: string, password: string): Promise<void> {
    return this.write(async () => {
      validatePassword(password);
      const user = await this.requireUser(username);
      await this.db
        .updateTable('users')
        .set({ password_hash: await hashPassword(password) })
        .where('id', '=', user.id)
        .execute();
    });
  }

  async updateAdmin(username: string, isAdmin: boolean): Promise<void> {
    return this.write(async () => {
      const user = await this.requireUser(username);
      await this.db
        .updateTable('users')
        .set({ is_admin: isAdmin ? 1 : 0 })
        .where('id', '=', user.id)
        .execute();
    });
  }

  async deleteUser(username: string): Promise<void> {
    return this.write(async () => {
      const user = await this.requireUser(username);
      await this.db.transaction().execute(async (tx) => {
        // Explicit as well as ON DELETE CASCADE: SQLite enforces cascades only with foreign_keys on.
        await tx.deleteFrom('experiment_permissions').where('user_id', '=', user.id).execute();
        await tx.deleteFrom('registered_model_permissions').where('user_id', '=', user.id).execute();
        await tx.deleteFrom('users').where('id', '=', user.id).execute();
      });
    });
  }

  // ── experiment permissions ─────────────────────────────────────────────────────────────────

  async experimentPermission(userId: number, experimentId: string): Promise<PermissionName | undefined> {
    const row = await this.db
      .selectFrom('experiment_permissions')
      .select('permission')
      .where('user_id', '=', userId)
      .where('experiment_id', '=', experimentId)
      .executeTakeFirst();
    return row?.permission as PermissionName | undefined;
  }

  /** Every explicit experiment permission of a user (for filtering search results). */
  async experimentPermissions(userId: number): Promise<Map<string, PermissionName>> {
    const rows = await this.db.selectFrom('experiment_permissions').select(['experiment_id', 'permission']).where('user_id', '=', userId).execute();
    return new Map(rows.map((r) => [r.experiment_id, r.permission as PermissionName]));
  }

  async createExperimentPermission(experimentId: string, username: string, permission: unknown): Promise<ExperimentPermissionJson> {
    return this.write(async () => {
      const id = canonicalExperimentId(experimentId);
      const perm = parsePermission(permission);
      const user = await this.requireUser(username);
      const exists = () => MlflowError.alreadyExists(`Experiment permission (experiment_id=${id}, username=${username}) already exists.`);
      if (await this.experimentPermission(user.id, id)) throw exists();
      try {
        await this.db.insertInto('experiment_permissions').values({ experiment_id: id, user_id: user.id, permission: perm }).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw exists();
        throw err;
      }
      return { experiment_id: id, user_id: user.id, permission: perm };
    });
  }

  async getExperimentPermission(experimentId: string, username: string): Promise<ExperimentPermissionJson> {
    const id = canonicalExperimentId(experimentId);
    const user = await this.requireUser(username);
    const perm = await this.experimentPermission(user.id, id);
    if (!perm) throw MlflowError.notFound(`Experiment permission with experiment_id=${id} and username=${username} not found`);
    return { experiment_id: id, user_id: user.id, permission: perm };
  }

  async updateExperimentPermission(experimentId: string, username: string, permission: unknown): Promise<void> {
    return this.write(async () => {
      const perm = parsePermission(permission);
      const current = await this.getExperimentPermission(experimentId, username);
      await this.db
        .updateTable('experiment_permissions')
        .set({ permission: perm })
        .where('user_id', '=', current.user_id)
        .where('experiment_id', '=', current.experiment_id)
        .execute();
    });
  }

  async deleteExperimentPermission(experimentId: string, username: string): Promise<void> {
    return this.write(async () => {
      const current = await this.getExperimentPermission(experimentId, username);
      await this.db.deleteFrom('experiment_permissions').where('user_id', '=', current.user_id).where('experiment_id', '=', current.experiment_id).execute();
    });
  }

  /** The creator's MANAGE grant (after experiments/create); replaces any earlier row for the same id. */
  async grantExperiment(userId: number, experimentId: string, permission: PermissionName): Promise<void> {
    return this.write(async () => {
      await this.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('experiment_permissions').where('user_id', '=', userId).where('experiment_id', '=', experimentId).execute();
        await tx.insertInto('experiment_permissions').values({ experiment_id: experimentId, user_id: userId, permission }).execute();
      });
    });
  }

  // ── registered model permissions ───────────────────────────────────────────────────────────

  async registeredModelPermission(userId: number, name: string): Promise<PermissionName | undefined> {
    const row = await this.db
      .selectFrom('registered_model_permissions')
      .select('permission')
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.permission as PermissionName | undefined;
  }

  async registeredModelPermissions(userId: number): Promise<Map<string, PermissionName>> {
    const rows = await this.db.selectFrom('registered_model_permissions').select(['name', 'permission']).where('user_id', '=', userId).execute();
    return new Map(rows.map((r) => [r.name, r.permission as PermissionName]));
  }

  async createRegisteredModelPermission(name: string, username: string, permission: unknown): Promise<RegisteredModelPermissionJson> {
    return this.write(async () => {
      const perm = parsePermission(permission);
      const user = await this.requireUser(username);
      const exists = () => MlflowError.alreadyExists(`Registered model permission (name=${name}, username=${username}) already exists.`);
      if (await this.registeredModelPermission(user.id, name)) throw exists();
      try {
        await this.db.insertInto('registered_model_permissions').values({ name, user_id: user.id, permission: perm }).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw exists();
        throw err;
      }
      return { name, user_id: user.id, permission: perm };
    });
  }

  async getRegisteredModelPermission(name: string, username: string): Promise<RegisteredModelPermissionJson> {
    const user = await this.requireUser(username);
    const perm = await this.registeredModelPermission(user.id, name);
    if (!perm) throw MlflowError.notFound(`Registered model permission with name=${name} and username=${username} not found`);
    return { name, user_id: user.id, permission: perm };
  }

  async updateRegisteredModelPermission(name: string, username: string, permission: unknown): Promise<void> {
    return this.write(async () => {
      const perm = parsePermission(permission);
      const current = await this.getRegisteredModelPermission(name, username);
      await this.db
        .updateTable('registered_model_permissions')
        .set({ permission: perm })
        .where('user_id', '=', current.user_id)
        .where('name', '=', name)
        .execute();
    });
  }

  async deleteRegisteredModelPermission(name: string, username: string): Promise<void> {
    return this.write(async () => {
      const current = await this.getRegisteredModelPermission(name, username);
      await this.db.deleteFrom('registered_model_permissions').where('user_id', '=', current.user_id).where('name', '=', name).execute();
    });
  }

  async grantRegisteredModel(userId: number, name: string, permission: PermissionName): Promise<void> {
    return this.write(async () => {
      await this.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('registered_model_permissions').where('user_id', '=', userId).where('name', '=', name).execute();
        await tx.insertInto('registered_model_permissions').values({ name, user_id: userId, permission }).execute();
      });
    });
  }

  /** Registry names are keys: a renamed model keeps its grants, a deleted one takes them along (a later model of the same name starts clean). */
  async renameRegisteredModel(oldName: string, newName: string): Promise<void> {
    return this.write(async () => {
      await this.db.transaction().execute(async (tx) => {
        // Rows pre-granted on the new name would collide with the moved ones (unique name+user).
        await tx.deleteFrom('registered_model_permissions').where('name', '=', newName).execute();
        await tx.updateTable('registered_model_permissions').set({ name: newName }).where('name', '=', oldName).execute();
      });
    });
  }

  async forgetRegisteredModel(name: string): Promise<void> {
    return this.write(async () => {
      await this.db.deleteFrom('registered_model_permissions').where('name', '=', name).execute();
    });
  }
}
