/**
 * `npx tsx bench/security/json-prescan.ts`: what the inference server's depth pre-check (runtime/json-shape.ts)
 * adds to parsing a request body, as a ratio to JSON.parse of the same body in the same run: a single-row
 * v2 request and a 100,000-row dataframe_split.
 */
import { jsonShapeProblem } from '../../runtime/json-shape';
const rows = Array.from({ length: 100_000 }, () => [49, 33, 57.79, 1874.92]);
const single = JSON.stringify({ inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: [49, 33, 57.79, 1874.92] }] });
const big = JSON.stringify({ dataframe_split: { columns: ['a', 'b', 'c', 'd'], data: rows } });
const lim = { maxDepth: 40, maxTokens: Infinity };
function t(f: () => void, n: number) {
  const s = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - s) / 1e6 / n;
}
for (const [name, body, n] of [
  ['single-row v2', single, 20000],
  ['100k-row split (4.3 MB)', big, 10],
] as const) {
  t(() => jsonShapeProblem(body, lim), n);
  t(() => JSON.parse(body), n);
  const a = t(() => jsonShapeProblem(body, lim), n),
    b = t(() => JSON.parse(body), n);
  console.log(`${name}: pre-scan ${(a * 1000).toFixed(2)} µs, JSON.parse ${(b * 1000).toFixed(2)} µs, ratio ${(a / b).toFixed(2)}`);
}
