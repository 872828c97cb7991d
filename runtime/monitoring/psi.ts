/** The population stability index (PSI): how far a window of inputs has moved from the training reference. */

/** Floor for empty buckets so PSI stays finite (the usual 1e-4 smoothing). */
export const PSI_EPSILON = 1e-4;

/**
 * PSI = Σ (actual_i − expected_i) · ln(actual_i / expected_i) over buckets. Rules of thumb: < 0.1 stable,
 * 0.1–0.25 moderate shift, > 0.25 significant shift.
 */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new Error(`PSI needs the same buckets (expected ${expected.length}, actual ${actual.length})`);
  const norm = (xs: readonly number[]) => {
    const total = xs.reduce((s, v) => s + v, 0);
    return xs.map((v) => Math.max(total > 0 ? v / total : 0, PSI_EPSILON));
  };
  const e = norm(expected);
  const a = norm(actual);
  return e.reduce((s, ei, i) => s + (a[i] - ei) * Math.log(a[i] / ei), 0);
}
