/**
 * `npm run bench:scale` (second half): `mlops serve`'s memory against the size of the model it
 * serves. Dense two-layer models (input [N, 4] → MatMul [4, H] → MatMul [H, 1] → Sigmoid, 5·H
 * weights; MLOPS_SCALE_WEIGHTS, default 10,1000,100000,1000000,10000000) are written
 * deterministically to a temp dir; each is served alone, and the server's RSS (VmRSS, summed over
 * its process tree) is read after start, after load and after 2 s idle.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startOurs, stopServer, fixtures } from '../inference/servers';
import { rowsOf } from '../inference/targets';
import { call, load } from '../tracking/load';
import { writeResults } from '../measure';
import { IR_VERSION, onnxModelProto, OPSET } from '../../runtime/training/onnx';
import { markdownTable, mib, ratio } from './table';
import type { MemoryPoint } from './results';

const WEIGHTS = (process.env.MLOPS_SCALE_WEIGHTS ?? '10,1000,100000,1000000,10000000').split(',').map(Number);
const WORKERS = 2;

/** Deterministic weights in [-0.5, 0.5): a fixed-seed LCG, so every run serves the same bytes. */
function weights(n: number, seed: number): Buffer {
  const a = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) a[i] = ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.1;
  return Buffer.from(a.buffer);
}

const tensorType = (dims: (number | string)[]) => ({
  tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } },
});

/** The ONNX bytes of the dense model with `hidden` units (raw_data initializers, float32). */
export function denseModel(hidden: number): Uint8Array {
  const message = {
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: OPSET }],
    producer_name: 'mlops-blueprint bench/scale',
    graph: {
      name: `dense_${hidden}`,
      node: [
        { op_type: 'MatMul', input: ['input', 'w1'], output: ['hidden'], name: 'layer1' },
        { op_type: 'MatMul', input: ['hidden', 'w2'], output: ['logit'], name: 'layer2' },
        { op_type: 'Sigmoid', input: ['logit'], output: ['probability'], name: 'sigmoid' },
      ],
      initializer: [
        { name: 'w1', dims: [4, hidden], data_type: 1, raw_data: weights(4 * hidden, 1) },
        { name: 'w2', dims: [hidden, 1], data_type: 1, raw_data: weights(hidden, 2) },
      ],
      input: [{ name: 'input', type: tensorType(['N', 4]) }],
      output: [{ name: 'probability', type: tensorType(['N', 1]) }],
    },
  };
  const type = onnxModelProto();
  return type.encode(type.fromObject(message)).finish();
}

/** VmRSS in bytes of `pid` and all its descendants (Linux /proc). */
function treeRss(pid: number): number {
  let kb = 0;
  try {
    kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    for (const t of fs.readdirSync(`/proc/${pid}/task`))
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) kb += treeRss(Number(c)) / 1024;
  } catch {
    // exited
  }
  return kb * 1024;
}

async function measure(dir: string, hidden: number): Promise<MemoryPoint> {
  const modelDir = path.join(dir, `dense-${hidden}`);
  fs.mkdirSync(modelDir, { recursive: true });
  const file = path.join(modelDir, 'model.onnx');
  fs.writeFileSync(file, denseModel(hidden));
  // startOurs serves a folder under the fixtures; a relative path reaches the temp dir from there.
  const served = await startOurs(path.relative(fixtures, modelDir), ['--workers', String(WORKERS)]);
  try {
    const pid = served.child.pid!;
    const rssStart = treeRss(pid);
    const url = `http://127.0.0.1:${served.port}`;
    const body = { inputs: [{ name: 'input', shape: [16, 4], datatype: 'FP32', data: rowsOf(16).flat() }] };
    const r = await load(`${5 * hidden} weights`, 'infer(16 rows), 8 clients', 400, () => call(url, 'POST', '/v2/models/churn/infer', body), 8);
    const rssLoaded = treeRss(pid);
    await new Promise((res) => setTimeout(res, 2000));
    return { weights: 5 * hidden, fileBytes: fs.statSync(file).size, rssStart, rssLoaded, rssIdle: treeRss(pid), p50: r.p50 };
  } finally {
    await stopServer(served);
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-scale-models-'));
  const load0 = os.loadavg();
  console.log(`scale benchmark (inference memory): mlops serve --workers ${WORKERS}, load average ${load0.map((l) => l.toFixed(2)).join(' ')}`);
  try {
    // The first server of a run starts colder (page cache, allocator); a throw-away one first.
    await measure(dir, 1);
    const curve: MemoryPoint[] = [];
    for (const w of WEIGHTS) curve.push(await measure(dir, Math.max(1, Math.round(w / 5))));
    const base = curve[0];
    console.log(`\nmlops serve memory vs model size (RSS of the process tree, --workers ${WORKERS})\n`);
    const rows = curve.map((p) => [
      p.weights,
      Math.round(p.fileBytes / 1024),
      mib(p.rssStart),
      mib(p.rssLoaded),
      mib(p.rssIdle),
      ratio(p.rssLoaded - base.rssLoaded, p.fileBytes),
      p.p50,
    ]);
    console.log(
      markdownTable(['weights', 'model KiB', 'RSS started MiB', 'RSS after load MiB', 'RSS idle MiB', `(RSS − RSS at ${base.weights}) / file`, 'p50 ms'], rows),
    );
    const load1 = os.loadavg();
    console.log(`load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
    writeResults('scale-inference', { workers: WORKERS, loadAverage: { start: load0, end: load1 }, curve });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module)
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
