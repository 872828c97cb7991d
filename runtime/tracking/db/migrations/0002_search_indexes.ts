import type { Kysely } from 'kysely';

/** Indexes for search filters on metric/param/tag values (`metrics.acc > 0.9 AND params.lr = '0.01'`). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('index_latest_metrics_key_value').on('latest_metrics').columns(['key', 'value']).execute();
  await db.schema.createIndex('index_params_key_value').on('params').columns(['key', 'value']).execute();
  await db.schema.createIndex('index_tags_key').on('tags').columns(['key', 'run_uuid']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('index_tags_key').execute();
  await db.schema.dropIndex('index_params_key_value').execute();
  await db.schema.dropIndex('index_latest_metrics_key_value').execute();
}
