import type { Kysely } from 'kysely';

/**
 * MLflow 3 traces (issue 15): one row per trace with its TraceInfoV3 fields, its tags and request
 * metadata, the assessments (feedback, expectations) logged on it, and the runs it was linked to.
 * Table and column names follow MLflow's SQL store (trace_info, trace_tags, trace_request_metadata,
 * assessments); the span data stays where the client uploads it (`traces.json` under the trace's
 * artifact location), as MLflow's server keeps it for clients that upload spans as artifacts.
 * Children reference trace_info with ON DELETE CASCADE, so deleting traces never leaves orphans.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('trace_info')
    .addColumn('request_id', 'varchar(50)', (c) => c.primaryKey())
    .addColumn('experiment_id', 'integer', (c) => c.notNull().references('experiments.experiment_id'))
    .addColumn('timestamp_ms', 'bigint', (c) => c.notNull())
    .addColumn('execution_time_ms', 'bigint')
    .addColumn('status', 'varchar(50)', (c) => c.notNull())
    .addColumn('client_request_id', 'varchar(50)')
    .addColumn('request_preview', 'varchar(1000)')
    .addColumn('response_preview', 'varchar(1000)')
    .execute();
  // search_traces: one experiment's traces newest first.
  await db.schema.createIndex('index_trace_info_experiment_id_timestamp_ms').on('trace_info').columns(['experiment_id', 'timestamp_ms']).execute();

  for (const table of ['trace_tags', 'trace_request_metadata']) {
    await db.schema
      .createTable(table)
      .addColumn('key', 'varchar(250)', (c) => c.notNull())
      .addColumn('value', 'varchar(8000)')
      .addColumn('request_id', 'varchar(50)', (c) => c.notNull().references('trace_info.request_id').onDelete('cascade'))
      .addPrimaryKeyConstraint(`${table}_pk`, ['request_id', 'key'])
      .execute();
    // filters such as tags.`mlflow.traceName` = '…' look rows up by key and value.
    await db.schema.createIndex(`index_${table}_key_value`).on(table).columns(['key', 'value']).execute();
  }

  await db.schema
    .createTable('assessments')
    .addColumn('assessment_id', 'varchar(50)', (c) => c.primaryKey())
    .addColumn('trace_id', 'varchar(50)', (c) => c.notNull().references('trace_info.request_id').onDelete('cascade'))
    .addColumn('name', 'varchar(250)', (c) => c.notNull())
    /** 'feedback' or 'expectation'. */
    .addColumn('assessment_type', 'varchar(20)', (c) => c.notNull())
    /** The proto JSON of the Feedback or Expectation message (value, error / serialized_value). */
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_timestamp', 'bigint', (c) => c.notNull())
    .addColumn('last_updated_timestamp', 'bigint', (c) => c.notNull())
    .addColumn('source_type', 'varchar(50)', (c) => c.notNull())
    .addColumn('source_id', 'varchar(250)')
    .addColumn('span_id', 'varchar(50)')
    .addColumn('rationale', 'text')
    .addColumn('overrides', 'varchar(50)')
    .addColumn('valid', 'integer', (c) => c.notNull().defaultTo(1))
    /** JSON object of string metadata. */
    .addColumn('assessment_metadata', 'text')
    .execute();
  await db.schema.createIndex('index_assessments_trace_id').on('assessments').column('trace_id').execute();

  // LinkTracesToRun (MLflow keeps these in entity_associations).
  await db.schema
    .createTable('trace_run_links')
    .addColumn('request_id', 'varchar(50)', (c) => c.notNull().references('trace_info.request_id').onDelete('cascade'))
    .addColumn('run_id', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('trace_run_links_pk', ['request_id', 'run_id'])
    .execute();
  await db.schema.createIndex('index_trace_run_links_run_id').on('trace_run_links').column('run_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['trace_run_links', 'assessments', 'trace_request_metadata', 'trace_tags', 'trace_info']) await db.schema.dropTable(table).execute();
}
