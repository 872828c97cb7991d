import * as protobuf from 'protobufjs';
import { FEATURES } from './data';
import type { LogisticRegressionModel } from './logistic';

/**
 * The part of ONNX's `onnx.proto` (github.com/onnx/onnx, Apache-2.0) that a dense graph of standard
 * operators needs: field names and numbers exactly as upstream, fields this exporter never sets left out
 * (protobuf skips unknown fields, so a model written with this subset is a valid ModelProto). Why not a
 * package's generated bindings: docs/adr/0010-onnx-protobuf.md; test/training/onnx-schema.test.ts holds
 * the subset to upstream onnx.proto.
 */
const ONNX_PROTO_SUBSET = `
syntax = "proto2";
package onnx;
message AttributeProto {
  enum AttributeType { UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7; STRINGS = 8; }
  optional string name = 1;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
}
message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}
message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}
message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}
message TensorProto {
  enum DataType { UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7; STRING = 8; BOOL = 9; FLOAT16 = 10; DOUBLE = 11; }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
}
message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  optional string denotation = 6;
}
message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

let modelProto: protobuf.Type | undefined;
/** The ModelProto type, parsed once. */
export function onnxModelProto(): protobuf.Type {
  if (!modelProto) modelProto = protobuf.parse(ONNX_PROTO_SUBSET, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelProto;
}

const FLOAT = 1;
/** IR version 8 / opset 13: read by every onnxruntime since 1.10 and by the onnx Python package. */
export const IR_VERSION = 8;
export const OPSET = 13;
export const INPUT_NAME = 'input';
export const OUTPUT_NAME = 'probabilities';

function floatTensor(name: string, dims: number[], values: number[]) {
  return { name, dims, data_type: FLOAT, float_data: values };
}

function tensorType(dims: (number | string)[]) {
  return {
    tensor_type: {
      elem_type: FLOAT,
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  };
}

export interface OnnxExportOptions {
  /** Written to the model's doc_string and metadata (e.g. the run id). */
  docString?: string;
  metadata?: Record<string, string>;
  producerVersion?: string;
}

/**
 * Encodes the logistic regression as an ONNX ModelProto: input `input` float[N, 4] (columns in FEATURES
 * order), output `probabilities` float[N, 2] (class 0, class 1) — a plain tensor, no ZipMap, so
 * onnxruntime-node and MLflow's onnx flavor both read it.
 */
export function exportLogisticRegressionToOnnx(model: LogisticRegressionModel, opts: OnnxExportOptions = {}): Uint8Array {
  const d = model.weights.length;
  if (d !== FEATURES.length) throw new Error(`the churn model has ${FEATURES.length} features, this one has ${d}`);
  const nodes = [
    { op_type: 'Sub', input: [INPUT_NAME, 'mean'], output: ['centered'], name: 'standardize_center' },
    { op_type: 'Div', input: ['centered', 'scale'], output: ['standardized'], name: 'standardize_scale' },
    { op_type: 'MatMul', input: ['standardized', 'weights'], output: ['linear'], name: 'linear' },
    { op_type: 'Add', input: ['linear', 'bias'], output: ['logit'], name: 'bias' },
    { op_type: 'Sigmoid', input: ['logit'], output: ['p1'], name: 'sigmoid' },
    { op_type: 'Sub', input: ['one', 'p1'], output: ['p0'], name: 'complement' },
    { op_type: 'Concat', input: ['p0', 'p1'], output: [OUTPUT_NAME], name: 'probabilities', attribute: [{ name: 'axis', type: 2, i: 1 }] },
  ];
  const graph = {
    name: 'churn_logistic_regression',
    node: nodes,
    initializer: [
      floatTensor('mean', [d], model.mean),
      floatTensor('scale', [d], model.scale),
      floatTensor('weights', [d, 1], model.weights),
      floatTensor('bias', [1], [model.bias]),
      floatTensor('one', [1], [1]),
    ],
    input: [{ name: INPUT_NAME, type: tensorType(['N', d]), doc_string: `columns: ${FEATURES.join(', ')}` }],
    output: [{ name: OUTPUT_NAME, type: tensorType(['N', 2]), doc_string: 'probability of no churn, of churn' }],
  };
  const message = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: OPSET }],
    producer_name: 'mlops-blueprint',
    producer_version: opts.producerVersion ?? '0.1.0',
    doc_string: opts.docString ?? 'Churn logistic regression',
    model_version: 1,
    graph,
    metadata_props: Object.entries({ features: FEATURES.join(','), ...(opts.metadata ?? {}) }).map(([key, value]) => ({ key, value })),
  };
  const type = onnxModelProto();
  const problem = type.verify(message);
  if (problem) throw new Error(`invalid ONNX model: ${problem}`);
  return type.encode(type.fromObject(message)).finish();
}

/** Decodes an ONNX file with the same schema subset (tests and diagnostics). */
export function decodeOnnxModel(bytes: Uint8Array): Record<string, unknown> {
  const type = onnxModelProto();
  return type.toObject(type.decode(bytes), { longs: Number, defaults: false });
}
