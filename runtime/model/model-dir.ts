import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { REFERENCE_STATS_FILE, type ReferenceStats } from './reference-stats';

/** Versions written into MLmodel and the environment files: the MLflow model format these files follow. */
export const MLFLOW_FORMAT_VERSION = '2.19.0';
export const ONNX_VERSION = '1.17.0';
export const ONNXRUNTIME_VERSION = '1.20.1';

/** The MLmodel file of a model directory and the flavor's data file. */
export const MLMODEL_FILE = 'MLmodel';
export const ONNX_MODEL_FILE = 'model.onnx';

export interface MlflowModelDirOptions {
  /** The serialized ONNX model (written as model.onnx). */
  onnx: Uint8Array;
  /** Name of the model's input tensor (a float matrix with one column per signature column). */
  onnxInput: string;
  /** Name of the model's output tensor. */
  onnxOutput: string;
  /** The signature's input columns (all `double`), in the order of the input tensor's columns. */
  columns: readonly string[];
  /** The signature's output tensor. */
  output: { dtype: string; shape: number[] };
  reference: ReferenceStats;
  runId?: string;
  /** Path of the model under the run's artifacts. Default `model`. */
  artifactPath?: string;
  /** A few training rows (`columns` order) saved as input_example.json (pandas split orient). */
  inputExample?: number[][];
}

/**
 * The files of an MLflow model directory for an ONNX model over a table of numbers: MLmodel with the
 * `onnx` and `python_function` flavors and a column signature, model.onnx, the environment files MLflow
 * writes, an input example, and the training feature distribution (`reference_stats.json`) that serving
 * compares its inputs against. `mlflow.pyfunc.load_model` reads it as it reads a model logged by
 * `mlflow.onnx`.
 */
export function mlflowModelFiles(opts: MlflowModelDirOptions): Map<string, Buffer> {
  const signature = {
    inputs: JSON.stringify(opts.columns.map((name) => ({ type: 'double', name, required: true }))),
    outputs: JSON.stringify([{ type: 'tensor', 'tensor-spec': { dtype: opts.output.dtype, shape: opts.output.shape } }]),
    params: null,
  };
  const mlmodel: Record<string, unknown> = {
    artifact_path: opts.artifactPath ?? 'model',
    flavors: {
      onnx: { code: null, data: ONNX_MODEL_FILE, onnx_version: ONNX_VERSION, providers: ['CPUExecutionProvider'] },
      python_function: {
        data: ONNX_MODEL_FILE,
        env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
        loader_module: 'mlflow.onnx',
        python_version: '3.11.0',
      },
    },
    metadata: { onnx_input: opts.onnxInput, onnx_output: opts.onnxOutput, reference_stats: REFERENCE_STATS_FILE, producer: 'mlops-blueprint' },
    mlflow_version: MLFLOW_FORMAT_VERSION,
    model_size_bytes: opts.onnx.byteLength,
    model_uuid: randomUUID().replace(/-/g, ''),
    ...(opts.runId ? { run_id: opts.runId } : {}),
    ...(opts.inputExample ? { saved_input_example_info: { artifact_path: 'input_example.json', type: 'dataframe', pandas_orient: 'split' } } : {}),
    signature,
    utc_time_created: new Date().toISOString().replace('T', ' ').replace('Z', ''),
  };
  const requirements = [`mlflow==${MLFLOW_FORMAT_VERSION}`, `onnx==${ONNX_VERSION}`, `onnxruntime==${ONNXRUNTIME_VERSION}`];
  const files = new Map<string, Buffer>();
  files.set(MLMODEL_FILE, Buffer.from(stringify(mlmodel)));
  files.set(ONNX_MODEL_FILE, Buffer.from(opts.onnx));
  files.set(REFERENCE_STATS_FILE, Buffer.from(JSON.stringify(opts.reference, null, 2) + '\n'));
  files.set('requirements.txt', Buffer.from(requirements.join('\n') + '\n'));
  files.set('python_env.yaml', Buffer.from(stringify({ python: '3.11.0', build_dependencies: ['pip'], dependencies: ['-r requirements.txt'] })));
  files.set(
    'conda.yaml',
    Buffer.from(stringify({ name: 'mlflow-env', channels: ['conda-forge'], dependencies: ['python=3.11.0', 'pip', { pip: requirements }] })),
  );
  if (opts.inputExample) files.set('input_example.json', Buffer.from(JSON.stringify({ columns: [...opts.columns], data: opts.inputExample })));
  return files;
}
