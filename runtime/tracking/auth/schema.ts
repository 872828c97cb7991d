import type { Generated, Kysely } from 'kysely';
import type { Database } from '../store/schema';

/**
 * The basic-auth tables (migration 0004_auth), shaped like MLflow's auth store
 * (mlflow/server/auth/db/models.py): users, and one permission row per (user, experiment) and per
 * (user, registered model). They live in the tracking database rather than a second one, so one
 * backup and one migration job cover both.
 */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  /**
   * usernameKey(username) (usernames.ts), unique: names differing only in case or look-alike letters
   * collide. NULL only for accounts that already had such a twin when migration 0006 ran.
   */
  username_key: string | null;
  /** `scrypt$N$r$p$salt$hash` (base64 parts): see passwords.ts. */
  password_hash: string;
  /** 0/1 (SQLite has no boolean type; PostgreSQL stores the same integer). */
  is_admin: number;
}

export interface ExperimentPermissionsTable {
  id: Generated<number>;
  /** Canonical decimal id (`String(Number(id))`), so `01` can never name a second row for experiment 1. */
  experiment_id: string;
  user_id: number;
  permission: string;
}

export interface RegisteredModelPermissionsTable {
  id: Generated<number>;
  name: string;
  user_id: number;
  permission: string;
}

export interface AuthTables {
  users: UsersTable;
  experiment_permissions: ExperimentPermissionsTable;
  registered_model_permissions: RegisteredModelPermissionsTable;
}

export type AuthDatabase = Database & AuthTables;
export type AuthDb = Kysely<AuthDatabase>;
