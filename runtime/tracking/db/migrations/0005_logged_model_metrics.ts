import type { Kysely } from 'kysely';

/**
 * MLflow 3 logged-model metrics: every point logged with a `model_id` (log-metric / log-batch), as
 * MLflow's `logged_model_metrics` table, plus `is_nan` as our `metrics` table has it.
 * Absent dataset name/digest are stored as '' (not NULL) so they can be part of the primary key: a
 * retried request adds nothing, and one key evaluated on two datasets at the same step and time keeps
 * both points.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('logged_model_metrics')
    .addColumn('model_id', 'varchar(64)', (c) => c.notNull().references('logged_models.model_id'))
    .addColumn('metric_name', 'varchar(250)', (c) => c.notNull())
    .addColumn('metric_timestamp_ms', 'bigint', (c) => c.notNull())
    .addColumn('metric_step', 'bigint', (c) => c.notNull())
    .addColumn('metric_value', 'double precision', (c) => c.notNull())
    .addColumn('is_nan', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('experiment_id', 'integer', (c) => c.notNull())
    .addColumn('run_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('dataset_name', 'varchar(500)', (c) => c.notNull().defaultTo(''))
    .addColumn('dataset_digest', 'varchar(36)', (c) => c.notNull().defaultTo(''))
    .addPrimaryKeyConstraint('logged_model_metric_pk', [
      'model_id',
      'metric_name',
      'metric_timestamp_ms',
      'metric_step',
      'run_id',
      'dataset_name',
      'dataset_digest',
      'metric_value',
      'is_nan',
    ])
    .execute();
  // search by `metrics.<key> <op> <value>` across models.
  await db.schema.createIndex('index_logged_model_metrics_name_value').on('logged_model_metrics').columns(['metric_name', 'metric_value']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('logged_model_metrics').execute();
}
