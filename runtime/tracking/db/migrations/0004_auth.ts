import type { Kysely } from 'kysely';
import { dialectOf } from '../connection';

/** Users and per-experiment / per-registered-model permissions for `--app-name basic-auth`. */
export async function up(db: Kysely<any>): Promise<void> {
  const pg = dialectOf(db) === 'postgres';
  const id = (table: string) =>
    db.schema.createTable(table).addColumn('id', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()));

  await id('users')
    .addColumn('username', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  // Deleting a user removes their permissions with them (MLflow's store cascades the same way).
  await id('experiment_permissions')
    .addColumn('experiment_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('permission', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('unique_experiment_user', ['experiment_id', 'user_id'])
    .execute();
  await db.schema.createIndex('index_experiment_permissions_user').on('experiment_permissions').column('user_id').execute();

  await id('registered_model_permissions')
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('permission', 'varchar(255)', (c) => c.notNull())
    .addUniqueConstraint('unique_name_user', ['name', 'user_id'])
    .execute();
  await db.schema.createIndex('index_registered_model_permissions_user').on('registered_model_permissions').column('user_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['registered_model_permissions', 'experiment_permissions', 'users']) await db.schema.dropTable(table).execute();
}
