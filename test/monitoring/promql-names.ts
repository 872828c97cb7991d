/*
 * The metric names a PromQL expression selects. promtool checks that expressions parse; this only needs to
 * find names, so it drops what cannot be one (string literals, label matchers, ranges, grouping clauses,
 * numbers) and the language's own words, and keeps the identifiers left.
 */

/** PromQL functions and aggregations the platform's expressions use, and its keywords. */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'topk',
  'bottomk',
  'quantile',
  'stddev',
  'group',
  'rate',
  'increase',
  'irate',
  'delta',
  'histogram_quantile',
  'time',
  'vector',
  'scalar',
  'abs',
  'clamp_min',
  'clamp_max',
  'max_over_time',
  'min_over_time',
  'avg_over_time',
  'count_over_time',
  'absent',
  'label_replace',
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' ');
  const names = [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)].map((m) => m[0]).filter((w) => !PROMQL_WORDS.has(w.toLowerCase()));
  return [...new Set(names)];
}

/** Names an exposition declares (`# TYPE`) or samples, histograms and summaries with their series suffixes. */
export function exportedNames(exposition: string): Set<string> {
  const out = new Set<string>();
  for (const line of exposition.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)/.exec(line);
    if (t) {
      out.add(t[1]);
      if (t[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(t[1] + s);
      if (t[2] === 'summary') for (const s of ['_sum', '_count']) out.add(t[1] + s);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}
