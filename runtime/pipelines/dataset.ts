import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { z } from 'zod';
import { FEATURES, LABEL, type ChurnRow } from '../training/data';

/*
 * The prepared data set a pipeline run passes from prepare-data to train and evaluate (the `dataset`
 * artifact): a directory with the rows as CSV and a small description of how they were made, so the
 * steps after it log the same dataset (name, digest, rows) without regenerating anything.
 */

export const DATASET_CSV = 'churn.csv';
export const DATASET_META = 'dataset.json';
const HEADER = [...FEATURES, LABEL].join(',');
/** Caps on a dataset read back (it is a path the operator gave; a huge or odd file is refused, not loaded). */
const MAX_CSV_BYTES = 256 * 1024 * 1024;
const MAX_ROWS = 2_000_000;

const datasetMeta = z
  .object({
    format: z.literal('mlops-blueprint/churn-dataset@1'),
    name: z.string().min(1).max(255),
    digest: z.string().regex(/^[0-9a-f]{16}$/),
    rows: z.number().int().min(1),
    seed: z.number().int().min(0),
    shift: z.number(),
  })
  .strict();
export type DatasetMeta = z.output<typeof datasetMeta>;

export interface PreparedDataset {
  meta: DatasetMeta;
  rows: ChurnRow[];
}

const digestOf = (csv: string): string => createHash('sha256').update(csv).digest('hex').slice(0, 16);

/** Writes the rows and their description under `dir` (created); returns the description. */
export async function writeDataset(dir: string, rows: readonly ChurnRow[], made: { seed: number; shift: number }): Promise<DatasetMeta> {
  const csv = [HEADER, ...rows.map((r) => [...FEATURES.map((f) => r[f]), r.churn].join(','))].join('\n') + '\n';
  const meta: DatasetMeta = { format: 'mlops-blueprint/churn-dataset@1', name: 'churn', digest: digestOf(csv), rows: rows.length, ...made };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, DATASET_CSV), csv);
  await writeFile(path.join(dir, DATASET_META), JSON.stringify(meta, null, 2) + '\n');
  return meta;
}

/** One CSV line as a row, or why not. */
function parseRow(line: string, n: number): ChurnRow {
  const cells = line.split(',');
  const values = cells.map(Number);
  if (cells.length !== FEATURES.length + 1 || cells.some((c) => c.trim() === '') || !values.every(Number.isFinite))
    throw new Error(`line ${n}: expected ${FEATURES.length + 1} numbers (${HEADER})`);
  const churn = values[FEATURES.length];
  if (churn !== 0 && churn !== 1) throw new Error(`line ${n}: churn must be 0 or 1`);
  return { age: values[0], tenure: values[1], monthly_charges: values[2], total_charges: values[3], churn };
}

async function readBounded(file: string, what: string): Promise<string> {
  const s = await stat(file).catch(() => undefined);
  if (!s?.isFile()) throw new Error(`${what} ${file} is missing`);
  if (s.size === 0) throw new Error(`${what} ${file} is empty`);
  if (s.size > MAX_CSV_BYTES) throw new Error(`${what} ${file} is larger than ${MAX_CSV_BYTES} bytes`);
  return readFile(file, 'utf8');
}

/** Reads a dataset directory back, checking its shape and that the rows are the ones described. */
export async function readDataset(dir: string): Promise<PreparedDataset> {
  const d = await stat(dir).catch(() => undefined);
  if (!d?.isDirectory()) throw new Error(`dataset ${dir} is not a directory written by prepare-data`);
  let meta: DatasetMeta;
  try {
    meta = datasetMeta.parse(JSON.parse(await readBounded(path.join(dir, DATASET_META), 'dataset description')));
  } catch (err) {
    throw new Error(`dataset ${dir}: ${DATASET_META} is not a dataset description (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const csv = await readBounded(path.join(dir, DATASET_CSV), 'dataset rows');
  if (digestOf(csv) !== meta.digest) throw new Error(`dataset ${dir}: ${DATASET_CSV} does not match the digest in ${DATASET_META}`);
  const lines = csv.split('\n').filter((l) => l !== '');
  if (lines[0] !== HEADER) throw new Error(`dataset ${dir}: ${DATASET_CSV} must start with the header ${HEADER}`);
  if (lines.length - 1 > MAX_ROWS) throw new Error(`dataset ${dir}: more than ${MAX_ROWS} rows`);
  const rows = lines.slice(1).map((l, i) => parseRow(l, i + 2));
  if (rows.length !== meta.rows) throw new Error(`dataset ${dir}: ${rows.length} rows, the description says ${meta.rows}`);
  return { meta, rows };
}

/** What MLflow's log-inputs takes for this dataset (mlflow.data's fields), in the given context. */
export function datasetInput(meta: DatasetMeta, source: string, context: 'training' | 'evaluation' | 'prepared') {
  return {
    tags: [{ key: 'mlflow.data.context', value: context }],
    dataset: {
      name: meta.name,
      digest: meta.digest,
      source_type: 'local',
      source: JSON.stringify({ uri: source }),
      schema: JSON.stringify({ mlflow_colspec: [...FEATURES.map((f) => ({ type: 'double', name: f })), { type: 'long', name: LABEL }] }),
      profile: JSON.stringify({ num_rows: meta.rows }),
    },
  };
}
