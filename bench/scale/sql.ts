/**
 * Server-side fills for the scale benchmark: `INSERT ... SELECT generate_series` statements that put
 * runs and their rows straight into the tracking schema (runtime/tracking/db/migrations/0001_tracking.ts),
 * so millions of points take seconds instead of hours of log_batch calls. Run ids are md5 of a label:
 * 32 hex characters like the server's own, and the same on every run of the bench.
 */

/** The `runs` rows `[from, to)` of `experimentId`, ids md5(`<label>-<i>`). */
export function insertRunsSql(experimentId: number, label: string, from: number, to: number, artifactRoot: string): string {
  const id = `md5('${label}-' || r)`;
  return `INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time,
      source_version, lifecycle_stage, artifact_uri, experiment_id)
    SELECT ${id}, '${label}-' || r, 'LOCAL', '', '', 'bench', 'FINISHED', 1700000000000 + r, 1700000000001 + r,
      '', 'active', '${artifactRoot.replaceAll("'", "''")}/' || ${id} || '/artifacts', ${experimentId}
    FROM generate_series(${from}, ${to - 1}) AS r`;
}

export interface HistoryShape {
  /** Metric keys per run (`m0` … `m<keys-1>`) and logged steps per key. */
  keys: number;
  steps: number;
}

/**
 * The metric history of runs `[from, to)` (ids as insertRunsSql): `keys × steps` points per run, a
 * decaying loss-like value, and the matching latest_metrics row per (run, key).
 */
export function insertHistorySql(label: string, from: number, to: number, shape: HistoryShape): string[] {
  const id = `md5('${label}-' || r)`;
  const runs = `generate_series(${from}, ${to - 1}) AS r, generate_series(0, ${shape.keys - 1}) AS k`;
  return [
    `INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan)
      SELECT 'm' || k, 1.0 / (s + 1 + k), 1700000000000 + s, ${id}, s, 0
      FROM ${runs}, generate_series(0, ${shape.steps - 1}) AS s`,
    `INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)
      SELECT 'm' || k, 1.0 / (${shape.steps} + k), ${1_700_000_000_000 + shape.steps - 1}, ${shape.steps - 1}, 0, ${id}
      FROM ${runs}`,
  ];
}

/**
 * What bench/tracking/bench.ts seeds for its search workload, for runs `[from, to)`: metric accuracy
 * (i % 100) / 100 (history and latest), param lr '0.01' on odd runs, tag team t<i % 7> — so
 * `metrics.accuracy > 0.9 and params.lr = '0.01'` matches 4.5% of the runs at any size.
 */
export function insertSearchRowsSql(label: string, from: number, to: number): string[] {
  const id = `md5('${label}-' || r)`;
  const runs = `generate_series(${from}, ${to - 1}) AS r`;
  return [
    `INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) SELECT 'accuracy', (r % 100) / 100.0, 1, ${id}, 0, 0 FROM ${runs}`,
    `INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) SELECT 'accuracy', (r % 100) / 100.0, 1, 0, 0, ${id} FROM ${runs}`,
    `INSERT INTO params (key, value, run_uuid) SELECT 'lr', CASE WHEN r % 2 = 1 THEN '0.01' ELSE '0.1' END, ${id} FROM ${runs}`,
    `INSERT INTO tags (key, value, run_uuid) SELECT 'team', 't' || (r % 7), ${id} FROM ${runs}`,
  ];
}

/** Sizes on disk (table + indexes, and indexes alone) of the tracking tables that grow. */
export const RELATION_SIZES_SQL = `SELECT relname AS table, pg_total_relation_size(c.oid) AS total, pg_indexes_size(c.oid) AS indexes
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = current_schema() AND relname IN ('metrics', 'latest_metrics', 'runs', 'params', 'tags') ORDER BY relname`;
