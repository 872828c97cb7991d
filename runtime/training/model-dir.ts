import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import { FEATURES } from './data';
import { INPUT_NAME, OUTPUT_NAME } from './onnx';
import { REFERENCE_STATS_FILE, type ReferenceStats } from '../monitoring/stats';

/** Versions written into MLmodel and the environment files: the MLflow model format these files follow. */
export const MLFLOW_FORMAT_VERSION = '2.19.0';
export const ONNX_VERSION = '1.17.0';
export const ONNXRUNTIME_VERSION = '1.20.1';

export interface MlflowModelDirOptions {
  onnx: Uint8Array;
  reference: ReferenceStats;
  runId?: string;
  /** Path of the model under the run's artifacts. Default `model`. */
  artifactPath?: string;
  /** A few training rows (FEATURES order) saved as input_example.json (pandas split orient). */
  inputExample?: number[][];
}

/**
 * The files of an MLflow model directory for the ONNX model: MLmodel with the `onnx` and
 * `python_function` flavors and a column signature, model.onnx, the environment files MLflow writes, an
 * input example, and the training feature distribution (`reference_stats.json`) that serving compares
 * its inputs against. `mlflow.pyfunc.load_model` reads it as it reads a model logged by `mlflow.onnx`.
 */
export function mlflowModelFiles(opts: MlflowModelDirOptions): Map<string, Buffer> {
  const signature = {
    inputs: JSON.stringify(FEATURES.map((name) => ({ type: 'double', name, required: true }))),
    outputs: JSON.stringify([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, 2] } }]),
    params: null,
  };
  const mlmodel: Record<string, unknown> = {
    artifact_path: opts.artifactPath ?? 'model',
    flavors: {
      onnx: { code: null, data: 'model.onnx', onnx_version: ONNX_VERSION, providers: ['CPUExecutionProvider'] },
      python_function: {
        data: 'model.onnx',
        env: { conda: 'conda.yaml', virtualenv: 'python_env.yaml' },
        loader_module: 'mlflow.onnx',
        python_version: '3.11.0',
      },
    },
    metadata: { onnx_input: INPUT_NAME, onnx_output: OUTPUT_NAME, reference_stats: REFERENCE_STATS_FILE, producer: 'mlops-blueprint' },
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
  files.set('MLmodel', Buffer.from(stringify(mlmodel)));
  files.set('model.onnx', Buffer.from(opts.onnx));
  files.set(REFERENCE_STATS_FILE, Buffer.from(JSON.stringify(opts.reference, null, 2) + '\n'));
  files.set('requirements.txt', Buffer.from(requirements.join('\n') + '\n'));
  files.set('python_env.yaml', Buffer.from(stringify({ python: '3.11.0', build_dependencies: ['pip'], dependencies: ['-r requirements.txt'] })));
  files.set('conda.yaml', Buffer.from(stringify({ name: 'mlflow-env', channels: ['conda-forge'], dependencies: ['python=3.11.0', 'pip', { pip: requirements }] })));
  if (opts.inputExample) files.set('input_example.json', Buffer.from(JSON.stringify({ columns: [...FEATURES], data: opts.inputExample })));
  return files;
}
