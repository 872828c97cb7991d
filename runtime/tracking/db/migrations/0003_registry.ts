import type { Kysely } from 'kysely';
import { dialectOf } from '../connection';

/**
 * The model registry (registered models, versions, tags, aliases), its audit trail, and MLflow 3
 * logged models with their tags and params. Table and column names follow MLflow's SQL stores.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const pg = dialectOf(db) === 'postgres';
  await createRegistry(db, pg);
  await createLoggedModels(db);
}

/** registered_models, their tags, model_versions, their tags, aliases, registry_audit. */
async function createRegistry(db: Kysely<any>, pg: boolean): Promise<void> {
  // last_version: the highest version number ever handed out. Incrementing it with an UPDATE locks the
  // model's row, so concurrent creates of one model get distinct, gapless numbers on both stores, and
  // numbers of deleted versions are never reused (as MLflow's max(version)+1 over soft-deleted rows).
  await db.schema
    .createTable('registered_models')
    .addColumn('name', 'varchar(256)', (c) => c.primaryKey())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('last_updated_time', 'bigint', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('user_id', 'varchar(256)')
    .addColumn('last_version', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('registered_model_tags')
    .addColumn('name', 'varchar(256)', (c) => c.notNull())
    .addColumn('key', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'text')
    .addPrimaryKeyConstraint('registered_model_tag_pk', ['name', 'key'])
    .execute();

  await db.schema
    .createTable('model_versions')
    .addColumn('name', 'varchar(256)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('last_updated_time', 'bigint', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('user_id', 'varchar(256)')
    .addColumn('current_stage', 'varchar(20)', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('storage_location', 'text')
    .addColumn('run_id', 'varchar(32)')
    .addColumn('run_link', 'text')
    .addColumn('status', 'varchar(20)', (c) => c.notNull())
    .addColumn('status_message', 'text')
    .addColumn('model_id', 'varchar(64)')
    .addPrimaryKeyConstraint('model_version_pk', ['name', 'version'])
    .execute();
  await db.schema.createIndex('index_model_versions_run_id').on('model_versions').column('run_id').execute();

  await db.schema
    .createTable('model_version_tags')
    .addColumn('name', 'varchar(256)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('key', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'text')
    .addPrimaryKeyConstraint('model_version_tag_pk', ['name', 'version', 'key'])
    .execute();

  await db.schema
    .createTable('registered_model_aliases')
    .addColumn('name', 'varchar(256)', (c) => c.notNull())
    .addColumn('alias', 'varchar(256)', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('registered_model_alias_pk', ['name', 'alias'])
    .execute();

  // Append-only: rows outlive the versions and models they describe.
  await db.schema
    .createTable('registry_audit')
    .addColumn('id', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('user_id', 'varchar(256)')
    .addColumn('action', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(256)', (c) => c.notNull())
    .addColumn('version', 'integer')
    .addColumn('from_stage', 'varchar(20)')
    .addColumn('to_stage', 'varchar(20)')
    .addColumn('alias', 'varchar(256)')
    .addColumn('run_id', 'varchar(32)')
    .addColumn('source', 'text')
    .addColumn('previous_name', 'varchar(256)')
    .execute();
  await db.schema.createIndex('index_registry_audit_name').on('registry_audit').columns(['name', 'version', 'id']).execute();
}

/** logged_models, logged_model_tags, logged_model_params (MLflow 3). */
async function createLoggedModels(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('logged_models')
    .addColumn('model_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
    .addColumn('name', 'varchar(500)', (c) => c.notNull())
    .addColumn('artifact_location', 'varchar(1000)', (c) => c.notNull())
    .addColumn('creation_timestamp_ms', 'bigint', (c) => c.notNull())
    .addColumn('last_updated_timestamp_ms', 'bigint', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('lifecycle_stage', 'varchar(32)', (c) => c.notNull())
    .addColumn('model_type', 'varchar(500)')
    .addColumn('source_run_id', 'varchar(32)')
    .addColumn('status_message', 'text')
    .addColumn('creator_id', 'varchar(256)')
    .execute();
  await db.schema.createIndex('index_logged_models_experiment').on('logged_models').columns(['experiment_id', 'creation_timestamp_ms']).execute();

  await db.schema
    .createTable('logged_model_tags')
    .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('logged_models.model_id'))
    .addColumn('tag_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('tag_value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('logged_model_tag_pk', ['model_id', 'tag_key'])
    .execute();

  await db.schema
    .createTable('logged_model_params')
    .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('logged_models.model_id'))
    .addColumn('param_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('param_value', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('logged_model_param_pk', ['model_id', 'param_key'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'logged_model_params',
    'logged_model_tags',
    'logged_models',
    'registry_audit',
    'registered_model_aliases',
    'model_version_tags',
    'model_versions',
    'registered_model_tags',
    'registered_models',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
