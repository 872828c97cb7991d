import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { exportLogisticRegressionToOnnx, IR_VERSION, OPSET, onnxModelProto, type LogisticRegressionModel } from '../../runtime/training';
import { pythonExecutable, pythonModulesAvailability } from '../helpers/python';
import { describeWithTool } from '../helpers/tools';

/** Every message and enum under `ns`, nested ones included. */
function definitions(ns: protobuf.NamespaceBase): Array<protobuf.Type | protobuf.Enum> {
  return ns.nestedArray.flatMap((n) => {
    if (n instanceof protobuf.Type) return [n, ...definitions(n)];
    if (n instanceof protobuf.Enum) return [n];
    return n instanceof protobuf.Namespace ? definitions(n) : [];
  });
}

/** What a field is on the wire and in which oneof it sits. */
const wire = (f: protobuf.Field) => ({ id: f.id, type: f.type, repeated: f.repeated, packed: f.repeated ? f.packed : undefined, oneof: f.partOf?.name });

/**
 * runtime/training/onnx.ts carries its own subset of onnx.proto (docs/adr/0010-onnx-protobuf.md says why).
 * The judge here is the onnx.proto that ships with the Python `onnx` package and that package's checker.
 */
describeWithTool('the ONNX exporter against the onnx package', pythonModulesAvailability(['onnx']), () => {
  const python = pythonExecutable();
  let upstream: protobuf.Root;
  let dir: string;
  beforeAll(() => {
    const protoPath = execFileSync(python, ['-c', 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "onnx.proto"))'], {
      encoding: 'utf8',
    }).trim();
    upstream = protobuf.parse(fs.readFileSync(protoPath, 'utf8'), { keepCase: true }).root;
    upstream.resolveAll();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-schema-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every message, field and enum value of the subset is upstream onnx.proto, with the same number, type, label and packing', () => {
    const ours = definitions(onnxModelProto().root.resolveAll());
    expect(ours.length).toBeGreaterThan(10);
    for (const def of ours) {
      const theirs = upstream.lookup(def.fullName);
      expect({ name: def.fullName, kind: theirs?.constructor.name }).toEqual({ name: def.fullName, kind: def.constructor.name });
      if (def instanceof protobuf.Enum) {
        for (const [name, value] of Object.entries(def.values))
          expect({ name: `${def.fullName}.${name}`, value: (theirs as protobuf.Enum).values[name] }).toEqual({ name: `${def.fullName}.${name}`, value });
        continue;
      }
      for (const field of def.fieldsArray) {
        const other = (theirs as protobuf.Type).fields[field.name] as protobuf.Field | undefined;
        expect({ field: `${def.fullName}.${field.name}`, ...(other ? wire(other) : {}) }).toEqual({ field: `${def.fullName}.${field.name}`, ...wire(field) });
      }
    }
  });

  test('the exported model passes onnx.checker (full check) at the IR version and opset it declares', () => {
    const model: LogisticRegressionModel = { mean: [40, 24, 70, 1500], scale: [12, 18, 30, 1200], weights: [0.5, -1.25, 2, 0.125], bias: -0.3 };
    const file = path.join(dir, 'model.onnx');
    fs.writeFileSync(file, exportLogisticRegressionToOnnx(model, { metadata: { run_id: 'abc' } }));
    const script = [
      'import json, sys, onnx',
      'm = onnx.load(sys.argv[1])',
      'onnx.checker.check_model(m, full_check=True)',
      'print(json.dumps({"ir": m.ir_version, "opsets": [[o.domain, o.version] for o in m.opset_import], "ops": [n.op_type for n in m.graph.node], "outputs": [o.name for o in m.graph.output]}))',
    ].join('\n');
    const checked = JSON.parse(execFileSync(python, ['-c', script, file], { encoding: 'utf8' }));
    expect(checked).toEqual({
      ir: IR_VERSION,
      opsets: [['', OPSET]],
      ops: ['Sub', 'Div', 'MatMul', 'Add', 'Sigmoid', 'Sub', 'Concat'],
      outputs: ['probabilities'],
    });
  });
});
