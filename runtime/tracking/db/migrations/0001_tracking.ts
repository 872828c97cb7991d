import { sql, type Kysely } from 'kysely';
import { dialectOf } from '../connection';

/** Experiments, runs, metrics (history + latest), params, tags, datasets and run inputs/outputs. */
export async function up(db: Kysely<any>): Promise<void> {
  const pg = dialectOf(db) === 'postgres';
  await createExperimentsAndRuns(db, pg);
  await createRunData(db);
  await createInputs(db);
  // MLflow's "Default" experiment has id 0 and always exists.
  await db
    .insertInto('experiments')
    .values({ experiment_id: 0, name: 'Default', artifact_location: null, lifecycle_stage: 'active', creation_time: Date.now(), last_update_time: Date.now() })
    .execute();
  if (pg) await sql`SELECT setval(pg_get_serial_sequence('experiments', 'experiment_id'), 1, false)`.execute(db);
}

/** experiments, experiment_tags, runs. */
async function createExperimentsAndRuns(db: Kysely<any>, pg: boolean): Promise<void> {
  await db.schema
    .createTable('experiments')
    .addColumn('experiment_id', pg ? 'serial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('name', 'varchar(500)', (c) => c.notNull().unique())
    .addColumn('artifact_location', 'varchar(1000)')
    .addColumn('lifecycle_stage', 'varchar(32)', (c) => c.notNull().defaultTo('active'))
    .addColumn('creation_time', 'bigint')
    .addColumn('last_update_time', 'bigint')
    .execute();

  await db.schema
    .createTable('experiment_tags')
    .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
    .addColumn('key', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'varchar(20000)')
    .addPrimaryKeyConstraint('experiment_tag_pk', ['key', 'experiment_id'])
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('run_uuid', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(250)')
    .addColumn('source_type', 'varchar(20)')
    .addColumn('source_name', 'varchar(500)')
    .addColumn('entry_point_name', 'varchar(50)')
    .addColumn('user_id', 'varchar(256)')
    .addColumn('status', 'varchar(9)', (c) => c.notNull())
    .addColumn('start_time', 'bigint')
    .addColumn('end_time', 'bigint')
    .addColumn('deleted_time', 'bigint')
    .addColumn('source_version', 'varchar(50)')
    .addColumn('lifecycle_stage', 'varchar(20)', (c) => c.notNull().defaultTo('active'))
    .addColumn('artifact_uri', 'varchar(1000)')
    .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
    .execute();
  await db.schema.createIndex('index_runs_experiment_start').on('runs').columns(['experiment_id', 'start_time']).execute();
}

/** metrics (history), latest_metrics, params, tags. */
async function createRunData(db: Kysely<any>): Promise<void> {
  // Every column is in the key, as in MLflow: re-sending the same point (client retry) is a no-op.
  await db.schema
    .createTable('metrics')
    .addColumn('key', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull().references('runs.run_uuid'))
    .addColumn('step', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('is_nan', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('metric_pk', ['run_uuid', 'key', 'timestamp', 'step', 'value', 'is_nan'])
    .execute();

  await db.schema
    .createTable('latest_metrics')
    .addColumn('key', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('timestamp', 'bigint', (c) => c.notNull())
    .addColumn('step', 'bigint', (c) => c.notNull())
    .addColumn('is_nan', 'integer', (c) => c.notNull())
    .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull().references('runs.run_uuid'))
    .addPrimaryKeyConstraint('latest_metric_pk', ['key', 'run_uuid'])
    .execute();
  await db.schema.createIndex('index_latest_metrics_run_uuid').on('latest_metrics').column('run_uuid').execute();

  await db.schema
    .createTable('params')
    .addColumn('key', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'varchar(8000)', (c) => c.notNull())
    .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull().references('runs.run_uuid'))
    .addPrimaryKeyConstraint('param_pk', ['key', 'run_uuid'])
    .execute();
  await db.schema.createIndex('index_params_run_uuid').on('params').column('run_uuid').execute();

  await db.schema
    .createTable('tags')
    .addColumn('key', 'varchar(250)', (c) => c.notNull())
    .addColumn('value', 'varchar(8000)')
    .addColumn('run_uuid', 'varchar(32)', (c) => c.notNull().references('runs.run_uuid'))
    .addPrimaryKeyConstraint('tag_pk', ['key', 'run_uuid'])
    .execute();
  await db.schema.createIndex('index_tags_run_uuid').on('tags').column('run_uuid').execute();
}

/** datasets, inputs (datasets and models into runs, runs' outputs), input_tags. */
async function createInputs(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('datasets')
    .addColumn('dataset_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
    .addColumn('name', 'varchar(500)', (c) => c.notNull())
    .addColumn('digest', 'varchar(36)', (c) => c.notNull())
    .addColumn('dataset_source_type', 'varchar(36)', (c) => c.notNull())
    .addColumn('dataset_source', 'text', (c) => c.notNull())
    .addColumn('dataset_schema', 'text')
    .addColumn('dataset_profile', 'text')
    .addPrimaryKeyConstraint('dataset_pk', ['experiment_id', 'name', 'digest'])
    .execute();

  await db.schema
    .createTable('inputs')
    .addColumn('input_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('source_type', 'varchar(36)', (c) => c.notNull())
    .addColumn('source_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('destination_type', 'varchar(36)', (c) => c.notNull())
    .addColumn('destination_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('step', 'bigint')
    .addPrimaryKeyConstraint('inputs_pk', ['source_type', 'source_id', 'destination_type', 'destination_id'])
    .execute();
  await db.schema.createIndex('index_inputs_destination').on('inputs').columns(['destination_type', 'destination_id']).execute();

  await db.schema
    .createTable('input_tags')
    .addColumn('input_uuid', 'varchar(36)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('value', 'varchar(500)', (c) => c.notNull())
    .addPrimaryKeyConstraint('input_tags_pk', ['input_uuid', 'name'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['input_tags', 'inputs', 'datasets', 'tags', 'params', 'latest_metrics', 'metrics', 'runs', 'experiment_tags', 'experiments']) {
    await db.schema.dropTable(table).execute();
  }
}
