import type { RunsTable, TrackingDb } from '../db/schema';
import { jsonDouble, type DatasetInput, type Metric, type Run, type RunInfo, type RunStatus } from './entities';

/** Run rows as MLflow's Run messages: their children fetched per table, then assembled (TrackingStore.getRun, searchRuns). */

export function metricJson(r: { key: string; value: number; timestamp: number; step: number; is_nan: number }): Metric {
  return { key: r.key, value: r.is_nan ? 'NaN' : jsonDouble(r.value), timestamp: r.timestamp, step: r.step };
}

export function runInfoJson(row: RunsTable): RunInfo {
  return {
    run_id: row.run_uuid,
    run_uuid: row.run_uuid,
    run_name: row.name ?? '',
    experiment_id: String(row.experiment_id),
    user_id: row.user_id ?? '',
    status: row.status as RunStatus,
    ...(row.start_time != null ? { start_time: row.start_time } : {}),
    ...(row.end_time != null ? { end_time: row.end_time } : {}),
    artifact_uri: row.artifact_uri ?? '',
    lifecycle_stage: row.lifecycle_stage,
  };
}

/** The rows `f` gives for each chunk of run ids, one chunk after another (never in parallel). */
async function inChunks<T>(chunks: string[][], f: (chunk: string[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (const c of chunks) out.push(...(await f(c)));
  return out;
}

/** Dataset inputs of the runs named, with their datasets. */
function selectDatasetInputs(db: TrackingDb, runIds: string[]) {
  return db
    .selectFrom('inputs')
    .innerJoin('datasets', 'datasets.dataset_uuid', 'inputs.source_id')
    .select([
      'inputs.destination_id as run_uuid',
      'inputs.input_uuid',
      'datasets.name',
      'datasets.digest',
      'datasets.dataset_source_type',
      'datasets.dataset_source',
      'datasets.dataset_schema',
      'datasets.dataset_profile',
    ])
    .where('inputs.source_type', '=', 'DATASET')
    .where('inputs.destination_type', '=', 'RUN')
    .where('inputs.destination_id', 'in', runIds)
    .execute();
}

/** Logged-model links of the runs named: models they took as input and models they output. */
function selectModelLinks(db: TrackingDb, runIds: string[]) {
  return db
    .selectFrom('inputs')
    .select(['source_type', 'source_id', 'destination_id', 'step'])
    .where((eb) =>
      eb.or([
        eb.and([eb('source_type', '=', 'RUN_INPUT'), eb('destination_id', 'in', runIds)]),
        eb.and([eb('source_type', '=', 'RUN_OUTPUT'), eb('source_id', 'in', runIds)]),
      ]),
    )
    .execute();
}

/** Latest metrics, params and tags of the runs named: one query per table (in process, no round trips). */
async function selectKeyValues(db: TrackingDb, chunks: string[][]) {
  const metrics = await inChunks(chunks, (c) =>
    db.selectFrom('latest_metrics').select(['run_uuid', 'key', 'value', 'timestamp', 'step', 'is_nan']).where('run_uuid', 'in', c).execute(),
  );
  const params = await inChunks(chunks, (c) => db.selectFrom('params').select(['run_uuid', 'key', 'value']).where('run_uuid', 'in', c).execute());
  const tags = await inChunks(chunks, (c) => db.selectFrom('tags').select(['run_uuid', 'key', 'value']).where('run_uuid', 'in', c).execute());
  return { metrics, params, tags };
}

/** SQLite: everything hydrateRuns attaches to run rows, queried in sequence on the one connection given (PostgreSQL: hydrate-pg.ts). */
export async function fetchRunChildren(db: TrackingDb, chunks: string[][]) {
  const { metrics, params, tags } = await selectKeyValues(db, chunks);
  const datasetInputs = await inChunks(chunks, (c) => selectDatasetInputs(db, c));
  const modelLinks = await inChunks(chunks, (c) => selectModelLinks(db, c));
  const inputTags = datasetInputs.length
    ? await db
        .selectFrom('input_tags')
        .select(['input_uuid', 'name', 'value'])
        .where(
          'input_uuid',
          'in',
          datasetInputs.map((d) => d.input_uuid),
        )
        .execute()
    : [];
  return { metrics, params, tags, datasetInputs, modelLinks, inputTags };
}

export type RunChildren = Awaited<ReturnType<typeof fetchRunChildren>>;

function groupByRun<T extends { run_uuid: string }>(items: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const list = m.get(it.run_uuid);
    if (list) list.push(it);
    else m.set(it.run_uuid, [it]);
  }
  return m;
}

function datasetInputJson(d: RunChildren['datasetInputs'][number], inputTags: RunChildren['inputTags']): DatasetInput {
  return {
    tags: inputTags.filter((t) => t.input_uuid === d.input_uuid).map((t) => ({ key: t.name, value: t.value })),
    dataset: {
      name: d.name,
      digest: d.digest,
      source_type: d.dataset_source_type,
      source: d.dataset_source,
      ...(d.dataset_schema != null ? { schema: d.dataset_schema } : {}),
      ...(d.dataset_profile != null ? { profile: d.dataset_profile } : {}),
    },
  };
}

/** Run rows and their children as MLflow's Run messages, in the rows' order. */
export function assembleRuns(rows: RunsTable[], { metrics, params, tags, datasetInputs, modelLinks, inputTags }: RunChildren): Run[] {
  const byRunMetrics = groupByRun(metrics);
  const byRunParams = groupByRun(params);
  const byRunTags = groupByRun(tags);
  const byRunDatasets = groupByRun(datasetInputs);
  return rows.map((row) => ({
    info: runInfoJson(row),
    data: {
      metrics: (byRunMetrics.get(row.run_uuid) ?? []).map(metricJson),
      params: (byRunParams.get(row.run_uuid) ?? []).map((p) => ({ key: p.key, value: p.value })),
      tags: (byRunTags.get(row.run_uuid) ?? []).map((t) => ({ key: t.key, value: t.value ?? '' })),
    },
    inputs: {
      dataset_inputs: (byRunDatasets.get(row.run_uuid) ?? []).map((d) => datasetInputJson(d, inputTags)),
      model_inputs: modelLinks.filter((l) => l.source_type === 'RUN_INPUT' && l.destination_id === row.run_uuid).map((l) => ({ model_id: l.source_id })),
    },
    outputs: {
      model_outputs: modelLinks
        .filter((l) => l.source_type === 'RUN_OUTPUT' && l.source_id === row.run_uuid)
        .map((l) => ({ model_id: l.destination_id, step: l.step ?? 0 })),
    },
  }));
}
