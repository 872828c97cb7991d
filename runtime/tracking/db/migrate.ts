import { Migrator, type Kysely, type Migration, type MigrationResult } from 'kysely';
import { migrations as trackingMigrations } from './migrations';

export interface MigrationOutcome {
  applied: string[];
  current: string | undefined;
}

/** Brings the schema to the latest version; safe to run repeatedly and from several processes (kysely locks). */
export async function migrateToLatest(db: Kysely<any>, migrations: Record<string, Migration> = trackingMigrations): Promise<MigrationOutcome> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  const all = await migrator.getMigrations();
  const done = all.filter((m) => m.executedAt);
  return { applied, current: done[done.length - 1]?.name };
}

/** Names of migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations(db: Kysely<any>, migrations: Record<string, Migration> = trackingMigrations): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  return (await migrator.getMigrations()).filter((m) => !m.executedAt).map((m) => m.name);
}
